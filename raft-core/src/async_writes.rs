//! etcd's asynchronous storage writes (`Config::async_storage_writes`).
//!
//! In this mode a [`Ready`] hands its I/O to two local "threads" of the
//! application as messages instead of expecting it done before
//! [`RawNode::advance`](crate::RawNode::advance) (which is then not used):
//!
//! - `MsgStorageAppend` to [`LOCAL_APPEND_THREAD`]: entries, hard state
//!   (in `term`, `vote`, `commit`) and snapshot to make durable, in order,
//!   then its `responses` to deliver: the messages that vouch for that
//!   durable state (votes, append acknowledgements, to peers or to this
//!   node) and a `MsgStorageAppendResp` back to this node;
//! - `MsgStorageApply` to [`LOCAL_APPLY_THREAD`]: committed entries to
//!   apply, then a `MsgStorageApplyResp` to deliver back.
//!
//! The responses are stepped like any message. An append response carries
//! the term it was issued in: if the term moved on meanwhile, a newer
//! leader may have replaced the entries it vouches for, so only its
//! snapshot part counts (etcd's "ABA" race, see `stable_to`). Committed
//! entries are handed out only once they are durable locally.
//!
//! The synchronous mode runs the same bookkeeping on `advance`, through
//! [`Raft::storage_appended`] and [`Raft::storage_applied`].

use crate::error::Result;
use crate::message::{Message, MessageType, LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD};
use crate::raft::Raft;
use crate::raw_node::Ready;
use crate::storage::{entries_size, LogStorage};
use crate::types::{Entry, EntryId};

/// The `MsgStorageAppend` for `rd`, when it has anything to write or there
/// are responses waiting for earlier writes. Takes the waiting responses.
pub(crate) fn append_message<S: LogStorage>(
    r: &mut Raft<S>,
    rd: &Ready,
) -> Result<Option<Message>> {
    let hard_state = rd.hard_state.filter(|hs| !hs.is_empty());
    if rd.entries.is_empty()
        && hard_state.is_none()
        && rd.snapshot.is_none()
        && r.msgs_after_append.is_empty()
    {
        return Ok(None);
    }
    let mut m = Message {
        from: r.id,
        to: LOCAL_APPEND_THREAD,
        entries: rd.entries.clone(),
        snapshot: rd.snapshot.clone().map(Box::new),
        ..Message::new(MessageType::MsgStorageAppend)
    };
    // Without a hard state change the fields stay zero, so that the hard
    // state read back from them is empty.
    if let Some(hs) = hard_state {
        (m.term, m.vote, m.commit) = (hs.term, hs.vote, hs.commit);
    }
    // The node's own acknowledgements come before the append response: a
    // leader counting its own MsgAppResp can still read the new entries'
    // terms from the unstable log.
    m.responses = std::mem::take(&mut r.msgs_after_append);
    if let Some(resp) = append_response(r, rd)? {
        m.responses.push(resp);
    }
    Ok(Some(m))
}

/// The response that tells the node its writes are durable, when it needs
/// to hear it: there are unstable entries (attested as the whole log's last
/// entry, so that a response lost with an earlier term is made up for by
/// any later one) or a snapshot.
fn append_response<S: LogStorage>(r: &Raft<S>, rd: &Ready) -> Result<Option<Message>> {
    let unstable = r.raft_log.has_next_or_in_progress_unstable_entries();
    if !unstable && rd.snapshot.is_none() {
        return Ok(None);
    }
    let mut m = Message {
        from: LOCAL_APPEND_THREAD,
        to: r.id,
        term: r.term,
        snapshot: rd.snapshot.clone().map(Box::new),
        ..Message::new(MessageType::MsgStorageAppendResp)
    };
    if unstable {
        let last = r.raft_log.last_entry_id()?;
        (m.index, m.log_term) = (last.index, last.term);
    }
    Ok(Some(m))
}

/// The `MsgStorageApply` for `committed`, if any.
pub(crate) fn apply_message<S: LogStorage>(r: &Raft<S>, committed: &[Entry]) -> Option<Message> {
    if committed.is_empty() {
        return None;
    }
    // Committed entries apply under no particular term: both carry term 0.
    let resp = Message {
        from: LOCAL_APPLY_THREAD,
        to: r.id,
        entries: committed.to_vec(),
        ..Message::new(MessageType::MsgStorageApplyResp)
    };
    Some(Message {
        from: r.id,
        to: LOCAL_APPLY_THREAD,
        entries: committed.to_vec(),
        responses: vec![resp],
        ..Message::new(MessageType::MsgStorageApply)
    })
}

impl<S: LogStorage> Raft<S> {
    /// The writes issued at `term` are durable: entries up to `last`, and
    /// the snapshot at `snapshot`.
    pub(crate) fn storage_appended(
        &mut self,
        term: u64,
        last: Option<EntryId>,
        snapshot: Option<u64>,
    ) -> Result<()> {
        match last {
            // The entries written may since have been replaced in memory by
            // a newer leader's, which are still on their way to the disk.
            Some(_) if term < self.term => tracing::info!(
                "{:x} [term: {}] ignored entry appends from a MsgStorageAppendResp message with lower term [term: {}]",
                self.id,
                self.term,
                term
            ),
            Some(last) => self.raft_log.stable_to(last),
            None => {}
        }
        // A snapshot is what it is whatever the term: installed means
        // applied.
        if let Some(index) = snapshot {
            self.raft_log.stable_snap_to(index);
            self.applied_to(index, 0, 0)?;
        }
        Ok(())
    }

    /// The committed `entries` are applied.
    pub(crate) fn storage_applied(&mut self, entries: &[Entry]) -> Result<()> {
        if let Some(last) = entries.last() {
            let payload = entries.iter().map(Entry::payload_size).sum();
            self.applied_to(last.index, entries_size(entries), payload)?;
        }
        Ok(())
    }

    /// Steps a response of the local storage threads.
    pub(crate) fn step_storage_response(&mut self, m: &Message) -> Result<()> {
        match m.msg_type {
            MessageType::MsgStorageAppendResp => {
                let last = (m.index != 0).then_some(EntryId {
                    term: m.log_term,
                    index: m.index,
                });
                let snapshot = m.snapshot.as_deref().map(|s| s.index());
                self.storage_appended(m.term, last, snapshot)
            }
            MessageType::MsgStorageApplyResp => self.storage_applied(&m.entries),
            _ => Ok(()),
        }
    }
}
