//! Heartbeats: how a leader asserts itself and spreads the commit index
//! between appends, and learns which followers are alive.

use super::Raft;
use crate::error::Result;
use crate::message::{Message, MessageType};
use crate::storage::LogStorage;
use crate::tracker::ProgressState;
use crate::types::NodeId;

impl<S: LogStorage> Raft<S> {
    /// `ctx` is the read-only position to confirm, if reads wait.
    fn send_heartbeat(&mut self, to: NodeId, ctx: bytes::Bytes) {
        let Some(pr) = self.trk.progress.get_mut(&to) else {
            return;
        };
        // Never tell a follower a commit index beyond what it is known to
        // hold: it might hold a different entry there, and would commit it.
        let commit = pr.matched.min(self.raft_log.committed);
        pr.sent_commit(commit);
        self.send(Message {
            to,
            commit,
            context: ctx,
            ..Message::new(MessageType::MsgHeartbeat)
        });
    }

    pub(crate) fn bcast_heartbeat(&mut self) {
        let ctx = self.read_only.heartbeat_ctx();
        for i in 0..self.peers.len() {
            self.send_heartbeat(self.peers[i], ctx.clone());
        }
    }

    /// A follower's handling of a heartbeat from its leader.
    pub(crate) fn handle_heartbeat(&mut self, m: &Message) -> Result<()> {
        let from = m.from;
        self.raft_log
            .commit_to(m.commit)
            .map_err(Self::blame(from))?;
        traced! { self.emit_commit(); }
        self.send(Message {
            to: from,
            context: m.context.clone(),
            ..Message::new(MessageType::MsgHeartbeatResp)
        });
        Ok(())
    }

    /// A leader's handling of a heartbeat response: the follower is alive,
    /// so unpause it and send it whatever it still lacks.
    pub(crate) fn handle_heartbeat_response(&mut self, from: NodeId) -> Result<()> {
        let last = self.raft_log.last_index()?;
        let Some(pr) = self.trk.progress.get_mut(&from) else {
            return Ok(());
        };
        pr.recent_active = true;
        pr.msg_app_flow_paused = false;
        // A paused window still gets an (empty) append, which recovers
        // replication if everything in flight was lost; a probing follower
        // gets one so that its answer can move it back to replicating.
        if pr.matched < last || pr.state == ProgressState::Probe {
            self.send_append(from)?;
        }
        Ok(())
    }
}
