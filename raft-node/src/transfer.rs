//! Leadership transfer as the runtime sees it: raft-core promises nothing
//! about a transfer, so the runtime watches who leads and answers the
//! caller once the transferee does, another node does, or time runs out.

use crate::driver::Driver;
use crate::error::{NodeError, TransferError};
use crate::state_machine::StateMachine;
use raft_core::{LogStorage, NodeId, NO_NODE};
use tokio::sync::oneshot;

pub(crate) type TransferReply = oneshot::Sender<Result<(), TransferError>>;

/// A caller waiting for leadership to reach `to`.
pub(crate) struct Transfer {
    to: NodeId,
    /// Who led when the transfer was asked for: leadership passing through
    /// nobody is expected on the way, but not landing on a third node.
    from: NodeId,
    deadline: u64,
    reply: TransferReply,
}

impl<S, M> Driver<S, M>
where
    S: LogStorage + Send + 'static,
    M: StateMachine,
{
    pub(crate) fn transfer_leader(
        &mut self,
        to: NodeId,
        reply: TransferReply,
    ) -> Result<(), NodeError> {
        let leader = self.raw.soft_state().leader;
        if leader == to {
            let _ = reply.send(Ok(()));
            return Ok(());
        }
        if leader == NO_NODE {
            let _ = reply.send(Err(TransferError::NoLeader));
            return Ok(());
        }
        // raft-core ignores a transfer to a learner or a stranger without a
        // word; checking here turns that into an answer.
        if !self.raw.status().voters.contains(&to) {
            let _ = reply.send(Err(TransferError::NotVoter { to }));
            return Ok(());
        }
        self.raw.transfer_leader(to)?;
        self.transfers.push(Transfer {
            to,
            from: leader,
            deadline: self.ticks + self.transfer_timeout_ticks(),
            reply,
        });
        Ok(())
    }

    /// raft-core aborts a transfer after an election timeout; twice that
    /// leaves the transferee's campaign time to finish.
    fn transfer_timeout_ticks(&self) -> u64 {
        2 * self.config.raft.election_tick as u64
    }

    /// Answers the transfers that leadership changes have decided.
    pub(crate) fn settle_transfers(&mut self) {
        if self.transfers.is_empty() {
            return;
        }
        let leader = self.raw.soft_state().leader;
        let (decided, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.transfers)
            .into_iter()
            .partition(|t| leader == t.to || (leader != NO_NODE && leader != t.from));
        self.transfers = waiting;
        for t in decided {
            let answer = if leader == t.to {
                Ok(())
            } else {
                Err(TransferError::Aborted { to: t.to, leader })
            };
            let _ = t.reply.send(answer);
        }
    }

    /// Fails the transfers that ran out of time.
    pub(crate) fn expire_transfers(&mut self) {
        let now = self.ticks;
        let ticks = self.transfer_timeout_ticks();
        let (expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.transfers)
            .into_iter()
            .partition(|t| t.deadline <= now);
        self.transfers = waiting;
        for t in expired {
            let _ = t
                .reply
                .send(Err(TransferError::Timeout { to: t.to, ticks }));
        }
    }

    pub(crate) fn fail_transfers(&mut self, error: TransferError) {
        for t in self.transfers.drain(..) {
            let _ = t.reply.send(Err(error.clone()));
        }
    }
}
