//! A follower's message handling.

use super::Raft;
use crate::error::Result;
use crate::message::{Message, MessageType};
use crate::storage::LogStorage;
use crate::types::NO_NODE;

impl<S: LogStorage> Raft<S> {
    pub(crate) fn step_follower(&mut self, m: Message) -> Result<()> {
        match m.msg_type {
            MessageType::MsgProp => self.forward_proposal(m),
            MessageType::MsgApp => {
                // Hearing from the leader restarts the election clock.
                self.election_elapsed = 0;
                self.lead = m.from;
                self.handle_append_entries(m)
            }
            MessageType::MsgHeartbeat => {
                self.election_elapsed = 0;
                self.lead = m.from;
                self.handle_heartbeat(&m)
            }
            MessageType::MsgSnap => {
                self.election_elapsed = 0;
                self.lead = m.from;
                self.handle_snapshot(m)
            }
            MessageType::MsgForgetLeader
                if self.read_only_option == crate::config::ReadOnlyOption::LeaseBased =>
            {
                // Lease-based reads assume no other leader can be elected
                // while this node still follows its leader; forgetting it
                // would let this node vote one in early.
                tracing::error!("ignoring MsgForgetLeader due to ReadOnlyLeaseBased");
                Ok(())
            }
            MessageType::MsgForgetLeader => {
                // Without a known leader the lease no longer holds, so this
                // node grants (pre-)votes at once, e.g. when the application
                // knows the leader is gone.
                if self.lead != NO_NODE {
                    tracing::info!(
                        "{:x} forgetting leader {:x} at term {}",
                        self.id,
                        self.lead,
                        self.term
                    );
                    self.lead = NO_NODE;
                }
                Ok(())
            }
            MessageType::MsgTransferLeader => self.forward_to_leader(m, "leader transfer"),
            MessageType::MsgTimeoutNow => {
                tracing::info!(
                    "{:x} [term {}] received MsgTimeoutNow from {:x} and starts an election to get leadership.",
                    self.id,
                    self.term,
                    m.from
                );
                // No pre-vote: the leader asked for this election, so there
                // is no partitioned node to protect the group from.
                self.hup(super::CampaignType::Transfer)
            }
            MessageType::MsgReadIndex => self.forward_to_leader(m, "index reading"),
            MessageType::MsgReadIndexResp => self.handle_read_index_response(m),
            _ => Ok(()),
        }
    }

    /// Passes a request only the leader can answer (a read, a transfer) on
    /// to it. Without a known leader it is dropped, as etcd does; the
    /// application retries after its own timeout.
    fn forward_to_leader(&mut self, mut m: Message, what: &str) -> Result<()> {
        if self.lead == NO_NODE {
            tracing::info!(
                "{:x} no leader at term {}; dropping {what} msg",
                self.id,
                self.term
            );
            return Ok(());
        }
        m.to = self.lead;
        self.send(m);
        Ok(())
    }
}
