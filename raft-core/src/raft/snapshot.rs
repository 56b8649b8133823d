//! Snapshots between leader and follower: when a leader sends one, how a
//! follower installs (or declines) it, and how the leader learns the outcome.

use super::Raft;
use crate::error::{Error, Result};
use crate::message::{Message, MessageType};
use crate::snapshot::Snapshot;
use crate::storage::{LogStorage, StorageError};
use crate::tracker::ProgressState;
use crate::types::{EntryId, NodeId, Role, NO_NODE};

impl<S: LogStorage> Raft<S> {
    /// Sends `to` the latest snapshot, because the entries it needs are
    /// compacted. Returns whether a snapshot left. Nothing is sent to a
    /// follower not heard from lately (a snapshot is expensive and may go
    /// nowhere), nor while storage has no snapshot to give.
    pub(crate) fn maybe_send_snapshot(&mut self, to: NodeId) -> Result<bool> {
        let active = self
            .trk
            .progress
            .get(&to)
            .is_some_and(|pr| pr.recent_active);
        if !active {
            tracing::debug!("ignore sending snapshot to {to:x} since it is not recently active");
            return Ok(false);
        }
        let snapshot = match self.raft_log.snapshot() {
            Ok(s) => s,
            Err(Error::Storage(StorageError::SnapshotTemporarilyUnavailable)) => {
                tracing::debug!(
                    "{:x} failed to send snapshot to {:x} because snapshot is temporarily unavailable",
                    self.id,
                    to
                );
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        if snapshot.is_empty() {
            // etcd panics here. A storage that compacted its log without
            // keeping a snapshot can only wait for one to be made.
            tracing::warn!(
                "{:x} cannot catch up {:x}: the log is compacted but the storage has no snapshot",
                self.id,
                to
            );
            return Ok(false);
        }
        let first = self.raft_log.first_index()?;
        let committed = self.raft_log.committed;
        let Some(pr) = self.trk.progress.get_mut(&to) else {
            return Ok(false);
        };
        let (index, term) = (snapshot.index(), snapshot.term());
        tracing::debug!(
            "{:x} [firstindex: {}, commit: {}] sent snapshot[index: {}, term: {}] to {:x} [{}]",
            self.id,
            first,
            committed,
            index,
            term,
            to,
            pr
        );
        pr.become_snapshot(index);
        tracing::debug!(
            "{:x} paused sending replication messages to {:x} [{}]",
            self.id,
            to,
            pr
        );
        self.send(Message {
            to,
            snapshot: Some(Box::new(snapshot)),
            ..Message::new(MessageType::MsgSnap)
        });
        Ok(true)
    }

    /// A follower's (or candidate's) handling of a leader's snapshot. The
    /// answer is an append response: with the new last index if the
    /// snapshot was installed, else with the commit index, which tells the
    /// leader where to continue from.
    pub(crate) fn handle_snapshot(&mut self, mut m: Message) -> Result<()> {
        let snapshot = m.snapshot.take().map(|s| *s).unwrap_or_default();
        let (index, term) = (snapshot.index(), snapshot.term());
        let restored = self.restore(snapshot).map_err(Self::blame(m.from))?;
        let answer = if restored {
            tracing::info!(
                "{:x} [commit: {}] restored snapshot [index: {}, term: {}]",
                self.id,
                self.raft_log.committed,
                index,
                term
            );
            self.raft_log.last_index()?
        } else {
            tracing::info!(
                "{:x} [commit: {}] ignored snapshot [index: {}, term: {}]",
                self.id,
                self.raft_log.committed,
                index,
                term
            );
            self.raft_log.committed
        };
        self.send(Message {
            to: m.from,
            index: answer,
            ..Message::new(MessageType::MsgAppResp)
        });
        Ok(())
    }

    /// Installs `snapshot` in place of the log and the membership. Returns
    /// false if it was declined: nothing newer than our commit index, not
    /// addressed to a member, or already held in our log (then only the
    /// commit index moves up to it).
    fn restore(&mut self, snapshot: Snapshot) -> Result<bool> {
        if snapshot.index() <= self.raft_log.committed {
            return Ok(false);
        }
        if self.role != Role::Follower {
            // Only followers get here (a candidate becomes one first); a
            // leader that did would have to step down at once.
            tracing::warn!(
                "{:x} attempted to restore snapshot as leader; should never happen",
                self.id
            );
            self.become_follower(self.term + 1, NO_NODE)?;
            return Ok(false);
        }
        let cs = &snapshot.metadata.conf_state;
        // `learners_next` need not be checked: its members are outgoing
        // voters too.
        let member = cs.voters.contains(&self.id)
            || cs.learners.contains(&self.id)
            || cs.voters_outgoing.contains(&self.id);
        if !member {
            tracing::warn!(
                "{:x} attempted to restore snapshot but it is not in the ConfState {:?}; should never happen",
                self.id,
                snapshot.metadata.conf_state
            );
            return Ok(false);
        }
        let id = EntryId {
            term: snapshot.term(),
            index: snapshot.index(),
        };
        if self.raft_log.match_term(id)? {
            // Our log already holds the snapshot's last entry, so it holds
            // everything before it too: keep the log, and learn the commit.
            let last = self.raft_log.last_entry_id()?;
            tracing::info!(
                "{:x} [commit: {}, lastindex: {}, lastterm: {}] fast-forwarded commit to snapshot [index: {}, term: {}]",
                self.id,
                self.raft_log.committed,
                last.index,
                last.term,
                id.index,
                id.term
            );
            self.raft_log.commit_to(id.index)?;
            traced! { self.emit_commit(); }
            return Ok(false);
        }
        let cs = snapshot.metadata.conf_state.clone();
        self.raft_log.restore(snapshot);
        let last = self.raft_log.last_entry_id()?;
        self.restore_config(&cs, last.index)?;
        traced! { self.emit_commit(); }
        tracing::info!(
            "{:x} [commit: {}, lastindex: {}, lastterm: {}] restored snapshot [index: {}, term: {}]",
            self.id,
            self.raft_log.committed,
            last.index,
            last.term,
            id.index,
            id.term
        );
        Ok(true)
    }

    /// A leader learns how sending a snapshot to `from` ended. Either way it
    /// waits before sending again: after a success for the follower's
    /// append response, after a failure for the next heartbeat response.
    pub(crate) fn handle_snapshot_status(&mut self, m: &Message) {
        let Some(pr) = self.trk.progress.get_mut(&m.from) else {
            return;
        };
        if pr.state != ProgressState::Snapshot {
            return;
        }
        if m.reject {
            // Forget the snapshot first, or probing would start after it.
            pr.pending_snapshot = 0;
            pr.become_probe();
            tracing::debug!(
                "{:x} snapshot failed, resumed sending replication messages to {:x} [{}]",
                self.id,
                m.from,
                pr
            );
        } else {
            pr.become_probe();
            tracing::debug!(
                "{:x} snapshot succeeded, resumed sending replication messages to {:x} [{}]",
                self.id,
                m.from,
                pr
            );
        }
        pr.msg_app_flow_paused = true;
    }
}
