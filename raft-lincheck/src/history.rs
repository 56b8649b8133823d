//! Recording what clients did: each operation's call and return, in the
//! order a single observer saw them.

use thiserror::Error;

/// One operation as a client saw it: what it asked, what it got back, and
/// the observer's clock when it was called and when it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// Who issued it (operations of one client never overlap).
    pub client: u64,
    /// The request.
    pub input: I,
    /// The answer, or `None` when the client never learnt the outcome
    /// (timeout, connection lost, node killed): the operation may or may
    /// not have taken effect, at any time after its call.
    pub output: Option<O>,
    /// When it was called.
    pub call: u64,
    /// When it returned; ignored when `output` is `None` (it may take
    /// effect at any time after `call`).
    pub ret: u64,
}

/// Why a history cannot be checked at all.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// An operation returned before it was called.
    #[error("operation {index} of client {client} returns at {ret}, before its call at {call}")]
    ReturnBeforeCall {
        /// Its position in the history.
        index: usize,
        /// Its client.
        client: u64,
        /// Its call time.
        call: u64,
        /// Its return time.
        ret: u64,
    },
    /// A return with no matching call (a bug in whatever recorded it).
    #[error("client {client} returned with no operation pending")]
    UnmatchedReturn {
        /// The client.
        client: u64,
    },
    /// A client called again before its previous operation returned.
    #[error("client {client} called again while an operation was pending")]
    OverlappingCall {
        /// The client.
        client: u64,
    },
}

/// Builds a history from events as they happen, stamping them with a
/// logical clock so the recorder needs no wall time.
#[derive(Clone, Debug)]
pub struct Recorder<I, O> {
    clock: u64,
    done: Vec<Operation<I, O>>,
    pending: Vec<(u64, I, u64)>,
}

impl<I, O> Default for Recorder<I, O> {
    fn default() -> Self {
        Recorder {
            clock: 0,
            done: Vec::new(),
            pending: Vec::new(),
        }
    }
}

impl<I, O> Recorder<I, O> {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// `client` sends `input`.
    pub fn call(&mut self, client: u64, input: I) -> Result<(), HistoryError> {
        if self.pending.iter().any(|(c, _, _)| *c == client) {
            return Err(HistoryError::OverlappingCall { client });
        }
        let at = self.tick();
        self.pending.push((client, input, at));
        Ok(())
    }

    /// `client`'s pending operation returned `output`.
    pub fn ret(&mut self, client: u64, output: O) -> Result<(), HistoryError> {
        self.finish(client, Some(output))
    }

    /// `client` gave up on its pending operation without an answer.
    pub fn unknown(&mut self, client: u64) -> Result<(), HistoryError> {
        self.finish(client, None)
    }

    fn finish(&mut self, client: u64, output: Option<O>) -> Result<(), HistoryError> {
        let pos = self
            .pending
            .iter()
            .position(|(c, _, _)| *c == client)
            .ok_or(HistoryError::UnmatchedReturn { client })?;
        let (client, input, call) = self.pending.swap_remove(pos);
        let ret = self.tick();
        self.done.push(Operation {
            client,
            input,
            output,
            call,
            ret,
        });
        Ok(())
    }

    /// The history: completed operations, and those still pending counted
    /// as having an unknown outcome.
    pub fn finish_all(mut self) -> Vec<Operation<I, O>> {
        let end = self.tick();
        for (client, input, call) in self.pending.drain(..) {
            self.done.push(Operation {
                client,
                input,
                output: None,
                call,
                ret: end,
            });
        }
        self.done
    }
}

/// Checks that every operation returns no earlier than it is called.
pub(crate) fn validate<I, O>(history: &[Operation<I, O>]) -> Result<(), HistoryError> {
    for (index, op) in history.iter().enumerate() {
        if op.output.is_some() && op.ret < op.call {
            return Err(HistoryError::ReturnBeforeCall {
                index,
                client: op.client,
                call: op.call,
                ret: op.ret,
            });
        }
    }
    Ok(())
}
