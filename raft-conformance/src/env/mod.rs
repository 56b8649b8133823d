//! The interaction environment: a group of in-process nodes driven command by
//! command, printing what etcd's `rafttest.InteractionEnv` prints.
//!
//! One file per family of commands, as etcd keeps one per handler:
//! `nodes.rs` (add-nodes), `confchange.rs` (propose-conf-change), `ready.rs` (process-ready, stabilize,
//! deliver-msgs), `control.rs` (campaign, propose, ticks, forget-leader,
//! report-unreachable, timeouts), `inspect.rs` (raft-log, raft-state,
//! status, log-level), `snapshot.rs` (compact, send-snapshot, and each
//! node's applied state, which is the snapshot it sends),
//! `storage_threads.rs` (process-append-thread, process-apply-thread: the
//! application's threads under async storage writes), `transfer.rs`
//! (transfer-leadership), `read_index.rs` (read-index, an extension of
//! etcd's format: see the crate documentation).

mod confchange;
mod control;
mod inspect;
mod nodes;
#[cfg(feature = "quic")]
mod quic;
mod read_index;
mod ready;
mod snapshot;
mod storage;
mod storage_threads;
mod transfer;
mod wire;

#[cfg(feature = "quic")]
pub use quic::{QuicWire, QUIC_CARRY_TIMEOUT};
pub use snapshot::{AppliedState, AppliedStateStorage};
pub use storage::{MemoryFactory, StorageSource, UnknownBackend};
pub use wire::{MemoryWire, TransportWire, Wire, WireError, WireSource};

use crate::datadriven::{ArgError, Directive};
use crate::output::Output;
use raft_core::{Config, LogStorage, Message, RawNode};
use thiserror::Error;

/// Choices that do not change the protocol output, only what stores and
/// carries it: every combination must print the same.
#[derive(Clone, Debug, Default)]
pub struct EnvOptions {
    /// Where each node's log lives.
    pub storage: StorageSource,
    /// What carries each delivered message.
    pub transport: WireSource,
}

impl EnvOptions {
    /// `storage=NAME transport=NAME`, as reports name a combination.
    pub fn describe(&self) -> String {
        format!(
            "storage={} transport={}",
            self.storage.name(),
            self.transport.name()
        )
    }
}

/// A node of the environment.
pub struct Node {
    /// The node itself.
    pub raw: RawNode<Box<dyn LogStorage>>,
    /// The configuration it was started with.
    pub config: Config,
    /// What the node has applied, which is also the snapshot it sends.
    pub applied: AppliedState,
    /// With async storage writes: `MsgStorageAppend`s waiting for the
    /// node's append thread, oldest first.
    pub append_work: std::collections::VecDeque<Message>,
    /// With async storage writes: `MsgStorageApply`s waiting for the node's
    /// apply thread, oldest first.
    pub apply_work: std::collections::VecDeque<Message>,
}

/// Why a command could not run at all (as opposed to a command whose
/// result is an error message, which is printed as its output).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EnvError {
    /// A command argument is unusable.
    #[error(transparent)]
    Arg(#[from] ArgError),
    /// A command is invalid as written.
    #[error("line {line}: {reason}")]
    Invalid {
        /// The directive's line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The storage or transport of the environment could not be set up.
    #[error("cannot set up the environment: {0}")]
    Setup(String),
    /// raft-core failed where a script cannot go on.
    #[error("line {line}: raft error: {source}")]
    Raft {
        /// The directive's line.
        line: usize,
        /// raft-core's error.
        #[source]
        source: raft_core::Error,
    },
}

/// What a command handler returns: `Ok`, an error printed as the command's
/// output (as etcd prints a handler's error), or a fatal [`EnvError`].
pub(crate) enum Failure {
    Printed(String),
    Fatal(EnvError),
}

impl From<EnvError> for Failure {
    fn from(e: EnvError) -> Failure {
        Failure::Fatal(e)
    }
}

impl From<ArgError> for Failure {
    fn from(e: ArgError) -> Failure {
        Failure::Fatal(e.into())
    }
}

pub(crate) type CmdResult = Result<(), Failure>;

/// The environment: nodes, the messages in flight between them, and the
/// output of the command being run.
pub struct Env {
    pub(crate) options: EnvOptions,
    pub(crate) nodes: Vec<Node>,
    /// Messages sent and not yet delivered or dropped, in sending order.
    pub(crate) messages: Vec<Message>,
    pub(crate) wire: Box<dyn Wire>,
    pub(crate) out: Output,
    /// Where every node's protocol events go, when tracing.
    #[cfg(feature = "trace")]
    pub(crate) trace: Option<crate::trace::sink::TraceSink>,
}

impl Env {
    /// An environment with no nodes, printing to `out`; fails when the
    /// transport of `options` cannot be set up.
    pub fn new(options: EnvOptions, out: Output) -> Result<Env, EnvError> {
        let wire = options
            .transport
            .create()
            .map_err(|e| EnvError::Setup(format!("transport {}: {e}", options.transport.name())))?;
        Ok(Env {
            options,
            nodes: Vec::new(),
            messages: Vec::new(),
            wire,
            out,
            #[cfg(feature = "trace")]
            trace: None,
        })
    }

    /// Records every node's protocol events, and the messages the
    /// environment drops, into `sink` (nodes created from now on).
    #[cfg(feature = "trace")]
    pub fn trace_into(&mut self, sink: crate::trace::sink::TraceSink) {
        self.trace = Some(sink);
    }

    /// Runs one directive and returns its output, `ok` when it printed
    /// nothing.
    pub fn handle(&mut self, d: &Directive) -> Result<String, EnvError> {
        self.out.take();
        let result = match d.cmd.as_str() {
            "_breakpoint" => Ok(()),
            "add-nodes" => self.add_nodes(d),
            "campaign" => self.campaign(d),
            "compact" => self.compact(d),
            "deliver-msgs" => self.deliver_msgs(d),
            "forget-leader" => self.forget_leader(d),
            "log-level" => self.log_level(d),
            "process-append-thread" => self.process_append_thread_cmd(d),
            "process-apply-thread" => self.process_apply_thread_cmd(d),
            "process-ready" => self.process_ready_cmd(d),
            "propose-conf-change" => self.propose_conf_change(d),
            "propose" => self.propose(d),
            "raft-log" => self.raft_log(d),
            "raft-state" => self.raft_state(),
            "read-index" => self.read_index(d),
            "report-unreachable" => self.report_unreachable(d),
            "send-snapshot" => self.send_snapshot(d),
            "set-randomized-election-timeout" => self.set_randomized_election_timeout(d),
            "stabilize" => self.stabilize_cmd(d),
            "status" => self.status(d),
            "tick-election" => self.tick(d, |c| c.election_tick),
            "tick-heartbeat" => self.tick(d, |c| c.heartbeat_tick),
            "transfer-leadership" => self.transfer_leadership(d),
            _ => Err(Failure::Printed("unknown command".to_string())),
        };
        match result {
            Ok(()) => {}
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Printed(msg)) => {
                if self.out.quiet() {
                    return Ok(msg);
                }
                self.out.write(&msg);
            }
        }
        let text = self.out.take();
        Ok(if text.is_empty() {
            "ok".to_string()
        } else {
            text
        })
    }

    /// The node index (0-based) named by the first argument (1-based).
    pub(crate) fn first_node(&self, d: &Directive) -> Result<usize, EnvError> {
        let Some(first) = d.args.first().filter(|a| a.vals.is_empty()) else {
            return Err(invalid(d, "expected a node id as first argument"));
        };
        let id = first
            .key
            .parse()
            .map_err(|_| invalid(d, format!("not a node id: {}", first.key)))?;
        self.node_index(d, id)
    }

    pub(crate) fn node_index(&self, d: &Directive, id: u64) -> Result<usize, EnvError> {
        if id == 0 || id as usize > self.nodes.len() {
            return Err(invalid(
                d,
                format!("no node {id} (there are {})", self.nodes.len()),
            ));
        }
        Ok(id as usize - 1)
    }

    /// All positional node ids, as 0-based indexes.
    pub(crate) fn node_indexes(&self, d: &Directive) -> Result<Vec<usize>, EnvError> {
        d.positional_u64s()?
            .into_iter()
            .map(|id| self.node_index(d, id))
            .collect()
    }
}

pub(crate) fn invalid(d: &Directive, reason: impl Into<String>) -> EnvError {
    EnvError::Invalid {
        line: d.line,
        reason: format!("{}: {}", d.cmd, reason.into()),
    }
}

/// A raft-core error that etcd's harness would not print but fail on.
pub(crate) fn raft_failure(d: &Directive, source: raft_core::Error) -> Failure {
    Failure::Fatal(EnvError::Raft {
        line: d.line,
        source,
    })
}
