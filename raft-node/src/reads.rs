//! Linearizable reads: the runtime's side of raft-core's ReadIndex.
//!
//! A read goes through three stages:
//!
//! 1. **queued** — [`crate::NodeHandle::read_index`] callers that arrived
//!    since the last round. Once per pass of the Raft loop, every queued
//!    caller is folded into one `read_index` call with one fresh context,
//!    so a burst of reads costs one heartbeat round, not one each (etcd's
//!    server batches the same way);
//! 2. **confirming** — the round waits for its [`raft_core::ReadState`]:
//!    the leader has confirmed it still leads (a quorum's heartbeat
//!    acknowledgements, or its lease under lease reads) and answered with
//!    its commit index as of the request. A follower's round travels to the
//!    leader and back. A round whose leader or term changes is failed at
//!    once, since raft drops it; one unanswered within the read timeout
//!    fails too, which is what a leader cut off from its quorum gets;
//! 3. **applying** — the read index is known; callers resolve as soon as
//!    this node's state machine has applied up to it.
//!
//! Reading the state machine after `read_index` resolves thus sees every
//! write acknowledged before the call.

use crate::driver::Driver;
use crate::error::{NodeError, ReadError};
use crate::state_machine::StateMachine;
use bytes::{BufMut, Bytes, BytesMut};
use raft_core::{LogStorage, NodeId, ReadState, NO_NODE};
use std::collections::HashMap;
use tokio::sync::oneshot;

pub(crate) type ReadReply = oneshot::Sender<Result<u64, ReadError>>;

/// One ReadIndex request on its way, with everyone it answers.
struct Round {
    waiters: Vec<ReadReply>,
    deadline: u64,
    /// The leader and term the request went to; a change means raft
    /// dropped it.
    leader: NodeId,
    term: u64,
}

/// Callers whose read index is known, waiting for it to be applied here.
struct Confirmed {
    index: u64,
    waiters: Vec<ReadReply>,
    deadline: u64,
}

/// The reads of one node, in their three stages.
pub(crate) struct Reads {
    queued: Vec<ReadReply>,
    rounds: HashMap<Bytes, Round>,
    confirmed: Vec<Confirmed>,
    next_ctx: u64,
    pub(crate) rounds_issued: u64,
}

impl Reads {
    pub(crate) fn new(first_ctx: u64) -> Reads {
        Reads {
            queued: Vec::new(),
            rounds: HashMap::new(),
            confirmed: Vec::new(),
            next_ctx: first_ctx,
            rounds_issued: 0,
        }
    }

    pub(crate) fn enqueue(&mut self, reply: ReadReply) {
        self.queued.push(reply);
    }

    /// Reads waiting in any stage.
    pub(crate) fn len(&self) -> usize {
        self.queued.len()
            + self.rounds.values().map(|r| r.waiters.len()).sum::<usize>()
            + self.confirmed.iter().map(|c| c.waiters.len()).sum::<usize>()
    }

    pub(crate) fn fail_all(&mut self, error: ReadError) {
        let rounds = self.rounds.drain().flat_map(|(_, r)| r.waiters);
        let confirmed = self.confirmed.drain(..).flat_map(|c| c.waiters);
        for reply in self.queued.drain(..).chain(rounds).chain(confirmed) {
            let _ = reply.send(Err(error.clone()));
        }
    }
}

fn fail(waiters: Vec<ReadReply>, error: &ReadError) {
    for reply in waiters {
        let _ = reply.send(Err(error.clone()));
    }
}

impl<S, M> Driver<S, M>
where
    S: LogStorage + Send + 'static,
    M: StateMachine,
{
    /// Sends one ReadIndex request for every read queued since the last.
    pub(crate) fn issue_reads(&mut self) -> Result<(), NodeError> {
        if self.reads.queued.is_empty() {
            return Ok(());
        }
        let waiters = std::mem::take(&mut self.reads.queued);
        let soft = self.raw.soft_state();
        if soft.leader == NO_NODE {
            fail(waiters, &ReadError::NoLeader);
            return Ok(());
        }
        // Only this node sees its contexts come back (a leader answers a
        // forwarded request to its sender alone); the counter starts from
        // the clock so that a restarted node never reuses one still in
        // flight.
        let mut ctx = BytesMut::with_capacity(16);
        ctx.put_u64(self.raw.id());
        ctx.put_u64(self.reads.next_ctx);
        self.reads.next_ctx = self.reads.next_ctx.wrapping_add(1);
        let ctx = ctx.freeze();
        match self.raw.read_index(ctx.clone()) {
            Ok(()) => {
                let round = Round {
                    waiters,
                    deadline: self.ticks + self.config.read_timeout_ticks,
                    leader: soft.leader,
                    term: self.raw.hard_state().term,
                };
                self.reads.rounds.insert(ctx, round);
                self.reads.rounds_issued += 1;
                Ok(())
            }
            Err(raft_core::Error::Storage(e)) => Err(raft_core::Error::Storage(e).into()),
            Err(e) => {
                let reason = e.to_string();
                fail(waiters, &ReadError::Dropped { reason });
                Ok(())
            }
        }
    }

    /// Takes the read states of the Readies just handled, then resolves
    /// what the state machine has caught up with and fails the rounds raft
    /// dropped when leadership changed.
    pub(crate) fn settle_reads(&mut self, states: Vec<ReadState>) {
        let deadline = self.ticks + self.config.read_timeout_ticks;
        for state in states {
            if let Some(round) = self.reads.rounds.remove(&state.request_ctx) {
                self.reads.confirmed.push(Confirmed {
                    index: state.index,
                    waiters: round.waiters,
                    deadline,
                });
            }
        }
        let applied = self.snapshots.applied;
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads.confirmed)
            .into_iter()
            .partition(|c| c.index <= applied);
        self.reads.confirmed = waiting;
        for c in done {
            for reply in c.waiters {
                let _ = reply.send(Ok(c.index));
            }
        }
        if self.reads.rounds.is_empty() {
            return;
        }
        let leader = self.raw.soft_state().leader;
        let term = self.raw.hard_state().term;
        let dropped: Vec<Bytes> = self
            .reads
            .rounds
            .iter()
            .filter(|(_, r)| r.leader != leader || r.term != term)
            .map(|(ctx, _)| ctx.clone())
            .collect();
        for ctx in dropped {
            if let Some(round) = self.reads.rounds.remove(&ctx) {
                let reason = format!(
                    "leadership changed (leader {} term {} -> leader {leader} term {term})",
                    round.leader, round.term
                );
                fail(round.waiters, &ReadError::Dropped { reason });
            }
        }
    }

    /// Fails the reads that waited past the read timeout.
    pub(crate) fn expire_reads(&mut self) {
        let now = self.ticks;
        let timeout = ReadError::Timeout {
            ticks: self.config.read_timeout_ticks,
        };
        let expired: Vec<Bytes> = self
            .reads
            .rounds
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(ctx, _)| ctx.clone())
            .collect();
        for ctx in expired {
            if let Some(round) = self.reads.rounds.remove(&ctx) {
                fail(round.waiters, &timeout);
            }
        }
        let (expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads.confirmed)
            .into_iter()
            .partition(|c| c.deadline <= now);
        self.reads.confirmed = waiting;
        for c in expired {
            fail(c.waiters, &timeout);
        }
    }
}
