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
            _ => Ok(()),
        }
    }
}
