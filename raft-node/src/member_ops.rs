//! The Raft loop's side of a membership request: proposing it, between
//! Readies, as raft-core would accept it.

use crate::driver::Driver;
use crate::envelope::ProposalId;
use crate::error::NodeError;
use crate::membership::{self, to_conf_change, MemberChange, MembershipError};
use crate::state_machine::StateMachine;
use raft_core::{LogStorage, Role};

impl<S, M> Driver<S, M>
where
    S: LogStorage + Send + 'static,
    M: StateMachine,
{
    /// Proposes the membership requests taken in since the last call, at
    /// most one of which can be in flight. Runs after the Readies were
    /// handled, so the store holds the whole log and the change's index is
    /// the store's last index plus one.
    pub(crate) fn start_membership_changes(&mut self) -> Result<(), NodeError> {
        for (changes, reply) in std::mem::take(&mut self.membership_requests) {
            let soft = self.raw.soft_state();
            if soft.role != Role::Leader {
                let leader = (soft.leader != raft_core::NO_NODE).then_some(soft.leader);
                let _ = reply.send(Err(MembershipError::NotLeader { leader }));
                continue;
            }
            let last = self
                .raw
                .store()
                .last_index()
                .map_err(raft_core::Error::from)?;
            // raft-core's own rule, asked before proposing so that the
            // refusal is a typed error rather than an empty entry.
            let unapplied = self.raw.pending_conf_index() > self.raw.applied();
            if let Err(e) = self.membership.check(&changes, unapplied) {
                let _ = reply.send(Err(e));
                continue;
            }
            if self.adds_member(&changes) && !self.log_past_bootstrap()? {
                self.awaiting_compaction.push((changes, reply));
                continue;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            let id = ProposalId {
                node: self.raw.id(),
                seq,
            };
            let cc = to_conf_change(id, &changes);
            tracing::info!(id = self.raw.id(), index = last + 1, changes = %cc.tokens(), "proposing a membership change");
            match self.raw.propose_conf_change(cc) {
                Ok(()) => {
                    let term = self.raw.hard_state().term;
                    let deadline = self.ticks + self.config.proposal_timeout_ticks;
                    self.membership
                        .proposed(seq, last + 1, term, deadline, reply);
                }
                Err(raft_core::Error::Storage(e)) => {
                    return Err(raft_core::Error::Storage(e).into())
                }
                Err(e) => {
                    let _ = reply.send(Err(MembershipError::Dropped {
                        reason: e.to_string(),
                    }));
                }
            }
        }
        Ok(())
    }

    /// Whether `changes` bring in a node that is not a member yet: it will
    /// start with an empty log and must join from a snapshot.
    fn adds_member(&self, changes: &[MemberChange]) -> bool {
        let current = self.membership.conf_state();
        changes.iter().any(|c| match c {
            MemberChange::AddVoter { id, .. } | MemberChange::AddLearner { id, .. } => {
                !membership::is_member(current, *id)
            }
            MemberChange::Promote(_) | MemberChange::Remove(_) => false,
        })
    }

    /// Whether the log no longer starts at index 1, so that a new member
    /// (whose log is empty) is sent a snapshot rather than entries.
    ///
    /// The group's bootstrap configuration lives in storage, not in log
    /// entries. Fed the log from index 1, a new member would replay the
    /// change adding it on top of an empty configuration, which raft-core
    /// refuses (`RemovedAllVoters`), stopping that node. So before the first
    /// change that adds a member, the log is compacted: at once to the
    /// stored snapshot if there is one past the bootstrap point, otherwise
    /// after a snapshot made for this purpose, the requests waiting until
    /// then in `awaiting_compaction`.
    fn log_past_bootstrap(&mut self) -> Result<bool, NodeError> {
        let first = self
            .raw
            .store()
            .first_index()
            .map_err(raft_core::Error::from)?;
        if first > 1 {
            return Ok(true);
        }
        let stored = self.snapshots.metrics.last_index;
        if stored >= first {
            self.compact_to(stored)?;
            return Ok(true);
        }
        if self.awaiting_compaction.is_empty() {
            tracing::info!(
                id = self.raw.id(),
                "compacting the log before adding a member, so that it joins from a snapshot"
            );
        }
        self.snapshots.force_full_compaction();
        Ok(false)
    }

    /// Hands the requests that waited for the log's first compaction back
    /// to the loop, which proposes them between the next Readies.
    pub(crate) fn resume_awaiting_compaction(&mut self) {
        let waiting = std::mem::take(&mut self.awaiting_compaction);
        self.membership_requests.extend(waiting);
    }

    /// Fails the requests waiting for a compaction that will not come.
    pub(crate) fn fail_awaiting_compaction(&mut self, reason: &str) {
        for (_, reply) in self.awaiting_compaction.drain(..) {
            let _ = reply.send(Err(MembershipError::Dropped {
                reason: format!("the log could not be compacted before adding a member: {reason}"),
            }));
        }
    }
}
