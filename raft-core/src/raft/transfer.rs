//! Leadership transfer: the leader brings the transferee's log up to date,
//! then tells it to campaign at once (`MsgTimeoutNow`). The transferee
//! skips pre-vote and marks its vote requests as a transfer, so voters that
//! still hear from the current leader grant them anyway (the leader asked
//! for it). While a transfer runs the leader accepts no proposals, so the
//! transferee's log cannot fall behind again; if the transfer has not
//! happened within an election timeout, the leader gives up and goes on
//! leading.

use super::Raft;
use crate::error::Result;
use crate::message::{Message, MessageType};
use crate::storage::LogStorage;
use crate::types::{NodeId, NO_NODE};

/// The context of a vote request sent for a leadership transfer: voters
/// let it through their lease. etcd's exact bytes, for wire compatibility.
pub(crate) const CAMPAIGN_TRANSFER: &[u8] = b"CampaignTransfer";

impl<S: LogStorage> Raft<S> {
    /// A leader's handling of `MsgTransferLeader` (the transferee is
    /// `from`, whose progress the caller has checked exists).
    pub(crate) fn transfer_leader(&mut self, transferee: NodeId) -> Result<()> {
        if !self.trk.voters().contains(transferee) {
            // A learner (anything that is not a voter) cannot win a vote.
            tracing::debug!("{:x} is learner. Ignored transferring leadership", self.id);
            return Ok(());
        }
        let last_transferee = self.lead_transferee;
        if last_transferee != NO_NODE {
            if last_transferee == transferee {
                tracing::info!(
                    "{:x} [term {}] transfer leadership to {:x} is in progress, ignores request to same node {:x}",
                    self.id, self.term, transferee, transferee
                );
                return Ok(());
            }
            self.abort_leader_transfer();
            tracing::info!(
                "{:x} [term {}] abort previous transferring leadership to {:x}",
                self.id,
                self.term,
                last_transferee
            );
        }
        if transferee == self.id {
            tracing::debug!(
                "{:x} is already leader. Ignored transferring leadership to self",
                self.id
            );
            return Ok(());
        }
        tracing::info!(
            "{:x} [term {}] starts to transfer leadership to {:x}",
            self.id,
            self.term,
            transferee
        );
        // The transfer gets one election timeout to complete.
        self.election_elapsed = 0;
        self.lead_transferee = transferee;
        let last = self.raft_log.last_index()?;
        let caught_up = self
            .trk
            .progress
            .get(&transferee)
            .is_some_and(|pr| pr.matched == last);
        if caught_up {
            self.send_timeout_now(transferee);
            tracing::info!(
                "{:x} sends MsgTimeoutNow to {:x} immediately as {:x} already has up-to-date log",
                self.id,
                transferee,
                transferee
            );
        } else {
            self.send_append(transferee)?;
        }
        Ok(())
    }

    /// After an append response from `from`: if it is the transferee and now
    /// holds our whole log, it may campaign.
    pub(crate) fn maybe_finish_transfer(&mut self, from: NodeId) -> Result<()> {
        if from != self.lead_transferee || from == NO_NODE {
            return Ok(());
        }
        let last = self.raft_log.last_index()?;
        if self
            .trk
            .progress
            .get(&from)
            .is_some_and(|pr| pr.matched == last)
        {
            tracing::info!(
                "{:x} sent MsgTimeoutNow to {:x} after received MsgAppResp",
                self.id,
                from
            );
            self.send_timeout_now(from);
        }
        Ok(())
    }

    fn send_timeout_now(&mut self, to: NodeId) {
        self.send(Message {
            to,
            ..Message::new(MessageType::MsgTimeoutNow)
        });
    }

    pub(crate) fn abort_leader_transfer(&mut self) {
        self.lead_transferee = NO_NODE;
    }
}
