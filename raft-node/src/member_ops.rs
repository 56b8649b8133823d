//! The Raft loop's side of a membership request: proposing it, between
//! Readies, as raft-core would accept it.

use crate::driver::Driver;
use crate::envelope::ProposalId;
use crate::error::NodeError;
use crate::membership::{to_conf_change, MembershipError};
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
            let unapplied = self.unapplied_change_in_log(last)?;
            if let Err(e) = self.membership.check(&changes, unapplied) {
                let _ = reply.send(Err(e));
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

    /// Whether the log holds a membership change not applied yet (one
    /// another leader proposed, say): raft-core would refuse a second.
    fn unapplied_change_in_log(&self, last: u64) -> Result<bool, NodeError> {
        let applied = self.raw.applied();
        if last <= applied {
            return Ok(false);
        }
        let entries = self
            .raw
            .store()
            .entries(applied + 1, last + 1, u64::MAX)
            .map_err(raft_core::Error::from)?;
        Ok(entries.iter().any(|e| e.entry_type.is_conf_change()))
    }
}
