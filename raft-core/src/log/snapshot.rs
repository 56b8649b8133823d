//! The log's side of snapshots: restoring from one received from the leader,
//! handing it out in a Ready, and forgetting it once it is durable.

use super::RaftLog;
use crate::error::Result;
use crate::snapshot::Snapshot;
use crate::storage::LogStorage;

impl<S: LogStorage> RaftLog<S> {
    /// Replaces the whole log by `snapshot`: everything up to its index is
    /// committed, and nothing after it is held any more.
    pub(crate) fn restore(&mut self, snapshot: Snapshot) {
        tracing::info!(
            "log [committed={}, applied={}, applying={}, unstable.offset={}, unstable.offsetInProgress={}, len(unstable.Entries)={}] starts to restore snapshot [index: {}, term: {}]",
            self.committed,
            self.applied,
            self.applying,
            self.unstable.offset,
            self.unstable.offset_in_progress,
            self.unstable.entries.len(),
            snapshot.index(),
            snapshot.term()
        );
        self.committed = snapshot.index();
        self.unstable.restore(snapshot);
    }

    /// The snapshot a leader sends: the one it is itself installing, if any,
    /// else the storage's latest.
    pub(crate) fn snapshot(&self) -> Result<Snapshot> {
        match &self.unstable.snapshot {
            Some(s) => Ok(s.clone()),
            None => Ok(self.store.snapshot()?),
        }
    }

    pub(crate) fn next_unstable_snapshot(&self) -> Option<&Snapshot> {
        self.unstable.next_snapshot()
    }

    pub(crate) fn has_next_unstable_snapshot(&self) -> bool {
        self.unstable.next_snapshot().is_some()
    }

    /// A snapshot is pending, handed out or not: nothing applies until the
    /// application has it.
    pub(crate) fn has_next_or_in_progress_snapshot(&self) -> bool {
        self.unstable.snapshot.is_some()
    }

    pub(crate) fn stable_snap_to(&mut self, index: u64) {
        self.unstable.stable_snap_to(index)
    }
}
