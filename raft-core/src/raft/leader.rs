//! A leader's message handling, including CheckQuorum.

use super::Raft;
use crate::error::Result;
use crate::message::{Message, MessageType};
use crate::storage::LogStorage;
use crate::tracker::ProgressState;
use crate::types::NO_NODE;

impl<S: LogStorage> Raft<S> {
    pub(crate) fn step_leader(&mut self, m: Message) -> Result<()> {
        // Messages that need no progress of their sender.
        match m.msg_type {
            MessageType::MsgBeat => {
                self.bcast_heartbeat();
                return Ok(());
            }
            MessageType::MsgCheckQuorum => return self.check_quorum_active(),
            MessageType::MsgProp => return self.propose_as_leader(m),
            MessageType::MsgForgetLeader => return Ok(()),
            MessageType::MsgReadIndex => return self.read_index_as_leader(m),
            _ => {}
        }
        if !self.trk.progress.contains_key(&m.from) {
            tracing::debug!("{:x} no progress available for {:x}", self.id, m.from);
            return Ok(());
        }
        match m.msg_type {
            MessageType::MsgAppResp => self.handle_append_response(&m),
            MessageType::MsgHeartbeatResp => {
                self.handle_heartbeat_response(m.from)?;
                self.ack_read_heartbeat(m.from, &m.context);
                Ok(())
            }
            MessageType::MsgTransferLeader => self.transfer_leader(m.from),
            MessageType::MsgSnapStatus => {
                self.handle_snapshot_status(&m);
                Ok(())
            }
            MessageType::MsgUnreachable => {
                if let Some(pr) = self.trk.progress.get_mut(&m.from) {
                    // In optimistic replication a lost append is likely;
                    // probe to find out where the follower really is.
                    if pr.state == ProgressState::Replicate {
                        pr.become_probe();
                    }
                    tracing::debug!(
                        "{:x} failed to send message to {:x} because it is unreachable [{}]",
                        self.id,
                        m.from,
                        pr
                    );
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Steps down unless a quorum was heard from during the last election
    /// timeout, then starts a new period. A leader cut off from the majority
    /// thus stops accepting proposals it could never commit, and the rest of
    /// the group can elect a new leader without it.
    fn check_quorum_active(&mut self) -> Result<()> {
        if !self.trk.quorum_active() {
            tracing::warn!(
                "{:x} stepped down to follower since quorum is not active",
                self.id
            );
            self.become_follower(self.term, NO_NODE)?;
        }
        let me = self.id;
        for (id, pr) in self.trk.progress.iter_mut() {
            if *id != me {
                pr.recent_active = false;
            }
        }
        Ok(())
    }
}
