//! The two clocks: followers and candidates count towards an election,
//! leaders towards heartbeats and CheckQuorum.

use super::Raft;
use crate::error::Result;
use crate::message::{Message, MessageType};
use crate::storage::LogStorage;
use crate::types::Role;

impl<S: LogStorage> Raft<S> {
    pub(crate) fn tick(&mut self) -> Result<()> {
        #[cfg(feature = "trace")]
        if self.opens_traced_step() {
            self.emit(&crate::trace::TraceEvent::Tick);
            return self.run_traced_step(|r| r.tick_untraced());
        }
        self.tick_untraced()
    }

    fn tick_untraced(&mut self) -> Result<()> {
        match self.role {
            Role::Leader => self.tick_heartbeat(),
            _ => self.tick_election(),
        }
    }

    fn tick_election(&mut self) -> Result<()> {
        self.election_elapsed += 1;
        if self.promotable() && self.past_election_timeout() {
            self.election_elapsed = 0;
            let hup = Message {
                from: self.id,
                ..Message::new(MessageType::MsgHup)
            };
            self.step_logging_drops(hup)?;
        }
        Ok(())
    }

    fn tick_heartbeat(&mut self) -> Result<()> {
        self.heartbeat_elapsed += 1;
        self.election_elapsed += 1;
        if self.election_elapsed >= self.election_timeout {
            self.election_elapsed = 0;
            if self.check_quorum {
                let check = Message {
                    from: self.id,
                    ..Message::new(MessageType::MsgCheckQuorum)
                };
                self.step_logging_drops(check)?;
            }
            // A transfer that took a whole election timeout has failed
            // (the transferee is down or cannot win); lead on.
            if self.role == Role::Leader && self.lead_transferee != crate::types::NO_NODE {
                self.abort_leader_transfer();
            }
        }
        // CheckQuorum may just have deposed us.
        if self.role != Role::Leader {
            return Ok(());
        }
        if self.heartbeat_elapsed >= self.heartbeat_timeout {
            self.heartbeat_elapsed = 0;
            let beat = Message {
                from: self.id,
                ..Message::new(MessageType::MsgBeat)
            };
            self.step_logging_drops(beat)?;
        }
        Ok(())
    }

    /// Steps a timer-generated message. Storage failures propagate; any other
    /// refusal is only worth a debug line, as in etcd.
    fn step_logging_drops(&mut self, m: Message) -> Result<()> {
        let msg_type = m.msg_type;
        match self.step(m) {
            Err(crate::Error::Storage(e)) => Err(e.into()),
            Err(e) => {
                tracing::debug!("error occurred during {}: {}", msg_type, e);
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}
