//! Proposals: appending at the leader, forwarding from followers, and the
//! limit on how much uncommitted data a leader accepts.

use super::Raft;
use crate::error::{Error, Result};
use crate::message::{Message, MessageType};
use crate::storage::LogStorage;
use crate::types::{Entry, NO_NODE};

impl<S: LogStorage> Raft<S> {
    /// A leader's handling of `MsgProp`.
    pub(crate) fn propose_as_leader(&mut self, mut m: Message) -> Result<()> {
        if m.entries.is_empty() {
            return Err(Error::InvalidMessage {
                from: m.from,
                reason: "empty MsgProp".to_string(),
            });
        }
        if !self.trk.progress.contains_key(&self.id) {
            // Not a member any more: nothing it appends could commit.
            return Err(Error::ProposalDropped);
        }
        if self.lead_transferee != NO_NODE {
            // Whatever we append now the transferee would have to catch up
            // on first.
            tracing::debug!(
                "{:x} [term {}] transfer leadership to {:x} is in progress; dropping proposal",
                self.id,
                self.term,
                self.lead_transferee
            );
            return Err(Error::ProposalDropped);
        }
        self.check_conf_changes(&mut m.entries, m.from)?;
        if !self.append_entry(m.entries)? {
            return Err(Error::ProposalDropped);
        }
        self.bcast_append()
    }

    /// A follower's handling of `MsgProp`: forward it to the leader.
    pub(crate) fn forward_proposal(&mut self, mut m: Message) -> Result<()> {
        if self.lead == NO_NODE {
            tracing::info!(
                "{:x} no leader at term {}; dropping proposal",
                self.id,
                self.term
            );
            return Err(Error::ProposalDropped);
        }
        if self.disable_proposal_forwarding {
            tracing::info!(
                "{:x} not forwarding to leader {:x} at term {}; dropping proposal",
                self.id,
                self.lead,
                self.term
            );
            return Err(Error::ProposalDropped);
        }
        m.to = self.lead;
        self.send(m);
        Ok(())
    }

    /// Appends `entries` at the end of a leader's log in the current term.
    /// Returns false (and appends nothing) if the uncommitted-size limit
    /// refuses them.
    ///
    /// The leader acknowledges its own append with a response to itself,
    /// which is stepped once the entries are durable: a leader's entry counts
    /// towards a quorum only when it is on its own disk.
    pub(crate) fn append_entry(&mut self, mut entries: Vec<Entry>) -> Result<bool> {
        let last = self.raft_log.last_index()?;
        for (i, e) in entries.iter_mut().enumerate() {
            e.term = self.term;
            e.index = last + 1 + i as u64;
        }
        if !self.increase_uncommitted_size(&entries) {
            tracing::warn!(
                "{:x} appending new entries to log would exceed uncommitted entry size limit; dropping proposal",
                self.id
            );
            return Ok(false);
        }
        traced! { self.emit(&crate::trace::TraceEvent::Append { entries: &entries }); }
        let last = self.raft_log.append(entries)?;
        self.send(Message {
            to: self.id,
            index: last,
            ..Message::new(MessageType::MsgAppResp)
        });
        Ok(true)
    }

    /// Charges `entries` against the uncommitted budget. An empty tail always
    /// accepts (so one proposal larger than the limit can still go through),
    /// and empty payloads always pass (a new leader's no-op entry).
    fn increase_uncommitted_size(&mut self, entries: &[Entry]) -> bool {
        let size: u64 = entries.iter().map(Entry::payload_size).sum();
        if self.uncommitted_size > 0
            && size > 0
            && self.uncommitted_size.saturating_add(size) > self.max_uncommitted_size
        {
            return false;
        }
        self.uncommitted_size += size;
        true
    }

    /// Releases budget for applied entries. The estimate may undercount
    /// (it is reset on term changes), so it saturates at zero.
    pub(crate) fn reduce_uncommitted_size(&mut self, size: u64) {
        self.uncommitted_size = self.uncommitted_size.saturating_sub(size);
    }
}
