//! Log replication: building appends from each follower's progress, the
//! follower's consistency check, the leader's handling of the answers (with
//! fast backtracking), and commitment.

use super::Raft;
use crate::error::Result;
use crate::log::LogSlice;
use crate::message::{Message, MessageType};
use crate::storage::{LogStorage, StorageError};
use crate::tracker::ProgressState;
use crate::types::{EntryId, NodeId};

impl<S: LogStorage> Raft<S> {
    /// Sends `to` an append with whatever it lacks, even if that is nothing
    /// (an empty append still carries the commit index).
    pub(crate) fn send_append(&mut self, to: NodeId) -> Result<()> {
        self.maybe_send_append(to, true).map(|_| ())
    }

    /// Sends `to` an append unless its progress is paused, or there is
    /// nothing to send and `send_if_empty` is false. Returns whether it sent.
    pub(crate) fn maybe_send_append(&mut self, to: NodeId, send_if_empty: bool) -> Result<bool> {
        // One lookup: the progress and the log are separate fields, so the
        // borrow of one does not stop reads of the other.
        let Some(pr) = self.trk.progress.get_mut(&to) else {
            return Ok(false);
        };
        if pr.is_paused() {
            return Ok(false);
        }
        // Caught up: the append would be empty (the entry it follows is the
        // last one, whose term is always known), so skip reading the log.
        // A leader asks this after every response it gets.
        if !send_if_empty && pr.next == self.raft_log.last_index()? + 1 {
            return Ok(false);
        }
        let prev_index = pr.next - 1;
        let prev_term = match self.raft_log.term(prev_index) {
            Ok(t) => t,
            // The entry the append would follow is compacted away: only a
            // snapshot can catch this follower up.
            Err(StorageError::Compacted | StorageError::Unavailable) => {
                return self.maybe_send_snapshot(to);
            }
            Err(e) => return Err(e.into()),
        };
        // A full window in replicate state only gets empty appends: if every
        // message in flight was lost, an empty one still gets an answer that
        // frees the window (heartbeat responses trigger it).
        let entries = if pr.state != ProgressState::Replicate || !pr.inflights.full() {
            match self.raft_log.entries_from(pr.next, self.max_msg_size) {
                Ok(entries) => entries,
                // As etcd: an append that may be skipped when empty is
                // skipped, rather than replaced by a snapshot.
                Err(crate::Error::Storage(StorageError::Compacted)) if !send_if_empty => {
                    return Ok(false);
                }
                Err(crate::Error::Storage(StorageError::Compacted)) => {
                    return self.maybe_send_snapshot(to);
                }
                Err(e) => return Err(e),
            }
        } else {
            Vec::new()
        };
        if entries.is_empty() && !send_if_empty {
            return Ok(false);
        }
        let commit = self.raft_log.committed;
        pr.sent_entries(
            entries.len(),
            entries.iter().map(|e| e.payload_size()).sum(),
        );
        pr.sent_commit(commit);
        self.send(Message {
            to,
            index: prev_index,
            log_term: prev_term,
            entries,
            commit,
            ..Message::new(MessageType::MsgApp)
        });
        Ok(true)
    }

    /// Sends every peer what it lacks.
    pub(crate) fn bcast_append(&mut self) -> Result<()> {
        // Indexed: sending borrows the node mutably; the list only changes
        // with the configuration, which sending never does.
        for i in 0..self.peers.len() {
            self.send_append(self.peers[i])?;
        }
        Ok(())
    }

    /// A follower's (or candidate's) handling of an append.
    pub(crate) fn handle_append_entries(&mut self, m: Message) -> Result<()> {
        if m.index < self.raft_log.committed {
            // Everything up to our commit index is settled; tell the leader
            // where we are so it can move on.
            let committed = self.raft_log.committed;
            self.send(Message {
                to: m.from,
                index: committed,
                ..Message::new(MessageType::MsgAppResp)
            });
            return Ok(());
        }
        let from = m.from;
        let slice = LogSlice {
            term: m.term,
            prev: EntryId {
                term: m.log_term,
                index: m.index,
            },
            entries: m.entries,
        };
        slice
            .validate()
            .map_err(|reason| crate::Error::InvalidMessage { from, reason })?;
        // What maybe_append will write: the entries from the first one the
        // log does not hold (a conflict, or simply new) on.
        #[cfg(feature = "trace")]
        let written = self.entries_to_write(&slice)?;
        let appended = self
            .raft_log
            .maybe_append(slice, m.commit)
            .map_err(Self::blame(from))?;
        traced! {
            if appended.is_some() && !written.is_empty() {
                self.emit(&crate::trace::TraceEvent::Append { entries: &written });
            }
            self.emit_commit();
        }
        if let Some(last) = appended {
            self.send(Message {
                to: from,
                index: last,
                ..Message::new(MessageType::MsgAppResp)
            });
            return Ok(());
        }
        tracing::debug!(
            "{:x} [logterm: {}, index: {}] rejected MsgApp [logterm: {}, index: {}] from {:x}",
            self.id,
            self.raft_log.term_or_zero(m.index)?,
            m.index,
            m.log_term,
            m.index,
            from
        );
        // Hint where our logs may match: the last index at or below the
        // probe whose term is at most the probe's term. That skips every
        // entry of ours from a term the leader's log cannot have there.
        let hint = m.index.min(self.raft_log.last_index()?);
        let (hint_index, hint_term) = self.raft_log.find_conflict_by_term(hint, m.log_term)?;
        self.send(Message {
            to: from,
            index: m.index,
            reject: true,
            reject_hint: hint_index,
            log_term: hint_term,
            ..Message::new(MessageType::MsgAppResp)
        });
        Ok(())
    }

    /// A leader's handling of an append response (including its own, stepped
    /// after its entries are durable).
    pub(crate) fn handle_append_response(&mut self, m: &Message) -> Result<()> {
        let from = m.from;
        // Read only when needed: whether the log can now catch up a follower
        // that was sent a snapshot.
        let first_index = match self.trk.progress.get(&from) {
            Some(pr) if pr.state == ProgressState::Snapshot && !m.reject => {
                self.raft_log.first_index()?
            }
            _ => 0,
        };
        let Some(pr) = self.trk.progress.get_mut(&from) else {
            return Ok(());
        };
        pr.recent_active = true;
        if m.reject {
            return self.handle_append_rejection(m);
        }
        let updated = pr.maybe_update(m.index);
        // An answer equal to the match still moves a probing follower back to
        // replicating (e.g. after a report of unreachability). Not so in the
        // snapshot state: a match that did not move says the follower still
        // lacks what the log would send next.
        if !(updated || (pr.matched == m.index && pr.state == ProgressState::Probe)) {
            return Ok(());
        }
        match pr.state {
            ProgressState::Probe => pr.become_replicate(),
            ProgressState::Snapshot if pr.matched + 1 >= first_index => {
                // Whatever snapshot the follower applied (the one pending
                // or another), the log can take it from here. Going through
                // probe accounts for the pending snapshot; going on to
                // replicate at once keeps the status honest until the next
                // round of appends.
                tracing::debug!(
                    "{:x} recovered from needing snapshot, resumed sending replication messages to {:x} [{}]",
                    self.id,
                    from,
                    pr
                );
                pr.become_probe();
                pr.become_replicate();
            }
            ProgressState::Snapshot => {}
            ProgressState::Replicate => pr.inflights.free_le(m.index),
        }
        if self.maybe_commit()? {
            // An entry of our term is committed now: held reads may go.
            self.release_pending_read_index()?;
            self.bcast_append()?;
        } else if from != self.id {
            let committed = self.raft_log.committed;
            let behind = self
                .trk
                .progress
                .get(&from)
                .is_some_and(|pr| pr.can_bump_commit(committed));
            if behind {
                // Not strictly needed (heartbeats carry the commit index
                // too), but this reaches the follower sooner.
                self.send_append(from)?;
            }
        }
        // The window may have opened for more than one message; send what
        // fits, without empty commit-only appends.
        if from != self.id {
            while self.maybe_send_append(from, false)? {}
        }
        self.maybe_finish_transfer(from)
    }

    fn handle_append_rejection(&mut self, m: &Message) -> Result<()> {
        let from = m.from;
        tracing::debug!(
            "{:x} received MsgAppResp(rejected, hint: (index {}, term {})) from {:x} for index {}",
            self.id,
            m.reject_hint,
            m.log_term,
            from,
            m.index
        );
        let mut next_probe = m.reject_hint;
        if m.log_term > 0 {
            // The follower's entry at the hint has term `log_term`. Every
            // index of ours above the last entry with a term at most that one
            // must mismatch too, so probe there directly: at most one round
            // trip per term in our log instead of one per entry.
            next_probe = self
                .raft_log
                .find_conflict_by_term(m.reject_hint, m.log_term)?
                .0;
        }
        let Some(pr) = self.trk.progress.get_mut(&from) else {
            return Ok(());
        };
        if pr.maybe_decr_to(m.index, next_probe) {
            tracing::debug!("{:x} decreased progress of {:x} to [{}]", self.id, from, pr);
            if pr.state == ProgressState::Replicate {
                pr.become_probe();
            }
            self.send_append(from)?;
        }
        Ok(())
    }

    /// Advances the commit index to what a majority holds, if that entry is
    /// from our term (Raft §5.4.2: older entries commit only indirectly).
    pub(crate) fn maybe_commit(&mut self) -> Result<bool> {
        let at = EntryId {
            term: self.term,
            index: self.trk.committed(),
        };
        #[cfg(feature = "fault-injection")]
        let at = if self.fault == Some(crate::config::Fault::JointCommitIncomingOnly) {
            EntryId {
                index: self.trk.committed_by_incoming(),
                ..at
            }
        } else {
            at
        };
        #[cfg(feature = "fault-injection")]
        let at = if self.fault == Some(crate::config::Fault::CommitOldTermEntries) {
            EntryId {
                term: self.raft_log.term_or_zero(at.index)?,
                ..at
            }
        } else {
            at
        };
        let committed = self.raft_log.maybe_commit(at)?;
        traced! { self.emit_commit(); }
        Ok(committed)
    }

    /// The entries of `slice` a successful append writes: those from the
    /// first one the log does not hold with the same term on (none if the
    /// log holds them all, or if `slice` does not follow an entry we hold).
    #[cfg(feature = "trace")]
    fn entries_to_write(&self, slice: &LogSlice) -> Result<Vec<crate::types::Entry>> {
        let mut rest = slice.entries.as_slice();
        while let Some(first) = rest.first() {
            let held = self.raft_log.match_term(EntryId {
                term: first.term,
                index: first.index,
            })?;
            if !held {
                break;
            }
            rest = &rest[1..];
        }
        Ok(rest.to_vec())
    }
}
