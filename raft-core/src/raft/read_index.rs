//! ReadIndex: answering reads without appending them to the log.
//!
//! A read is linearizable when served from a state machine that has applied
//! at least the leader's commit index as of the moment the read arrived,
//! provided that leader really was the leader then. `ReadOnlySafe` proves
//! that with a heartbeat round acknowledged by a quorum (see
//! `read_only.rs`); `ReadOnlyLeaseBased` trusts the CheckQuorum lease.
//! Either way a new leader first has to commit an entry of its own term:
//! until then its commit index may lag what earlier leaders committed.

use super::Raft;
use crate::config::ReadOnlyOption;
use crate::error::Result;
use crate::message::{Message, MessageType};
use crate::read_only::ReadState;
use crate::storage::LogStorage;
use crate::types::{NodeId, NO_NODE};

impl<S: LogStorage> Raft<S> {
    /// A leader's handling of `MsgReadIndex`, its own or a follower's.
    pub(crate) fn read_index_as_leader(&mut self, m: Message) -> Result<()> {
        if self.trk.is_singleton() {
            // The only voter: nobody else can have been elected.
            let committed = self.raft_log.committed;
            self.respond_to_read(m, committed);
            return Ok(());
        }
        if !self.committed_entry_in_current_term()? {
            self.pending_read_index.push(m);
            return Ok(());
        }
        self.confirm_read(m);
        Ok(())
    }

    /// Answers, or queues for confirmation, a read at the current commit
    /// index (which is known to be at least every earlier leader's).
    fn confirm_read(&mut self, m: Message) {
        let committed = self.raft_log.committed;
        #[cfg(feature = "fault-injection")]
        if self.fault == Some(crate::config::Fault::ReadWithoutHeartbeat) {
            self.respond_to_read(m, committed);
            return;
        }
        match self.read_only_option {
            ReadOnlyOption::Safe => {
                self.read_only.add_request(committed, m);
                // The leader's own acknowledgement counts towards the quorum.
                let ctx = self.read_only.heartbeat_ctx();
                self.read_only.recv_ack(self.id, &ctx);
                self.bcast_heartbeat();
            }
            ReadOnlyOption::LeaseBased => self.respond_to_read(m, committed),
        }
    }

    /// Whether the entry at the commit index is of our term: only then is
    /// our commit index known to cover everything committed before us.
    pub(crate) fn committed_entry_in_current_term(&self) -> Result<bool> {
        Ok(self.raft_log.term_or_zero(self.raft_log.committed)? == self.term)
    }

    /// Lets through the reads that waited for this leader's first commit.
    /// Called when the commit index moves.
    pub(crate) fn release_pending_read_index(&mut self) -> Result<()> {
        if self.pending_read_index.is_empty() {
            return Ok(());
        }
        if !self.committed_entry_in_current_term()? {
            tracing::error!(
                "pending MsgReadIndex should be released only after first commit in current term"
            );
            return Ok(());
        }
        for m in std::mem::take(&mut self.pending_read_index) {
            self.confirm_read(m);
        }
        Ok(())
    }

    /// A heartbeat response echoed a read-only context: maybe a quorum now
    /// confirms some queued reads.
    pub(crate) fn ack_read_heartbeat(&mut self, from: NodeId, ctx: &[u8]) {
        if self.read_only_option != ReadOnlyOption::Safe || ctx.is_empty() {
            return;
        }
        self.read_only.recv_ack(from, ctx);
        for read in self.read_only.maybe_advance(self.trk.voters()) {
            self.respond_to_read(read.req, read.index);
        }
    }

    /// A read state for our own request, a `MsgReadIndexResp` for a
    /// follower's.
    fn respond_to_read(&mut self, req: Message, index: u64) {
        if req.from == NO_NODE || req.from == self.id {
            let request_ctx = req.entries.first().map(|e| e.data.clone());
            self.read_states
                .push(ReadState::new(index, request_ctx.unwrap_or_default()));
            return;
        }
        self.send(Message {
            to: req.from,
            index,
            entries: req.entries,
            ..Message::new(MessageType::MsgReadIndexResp)
        });
    }

    /// A follower's handling of the leader's answer to a forwarded read.
    pub(crate) fn handle_read_index_response(&mut self, m: Message) -> Result<()> {
        let [entry] = m.entries.as_slice() else {
            tracing::error!(
                "{:x} invalid format of MsgReadIndexResp from {:x}, entries count: {}",
                self.id,
                m.from,
                m.entries.len()
            );
            return Ok(());
        };
        self.read_states
            .push(ReadState::new(m.index, entry.data.clone()));
        Ok(())
    }
}
