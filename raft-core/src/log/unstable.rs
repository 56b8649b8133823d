//! The tail of the log that the application has not yet confirmed durable:
//! entries, and a snapshot received from the leader that replaces
//! everything before them.

use crate::snapshot::Snapshot;
use crate::types::{Entry, EntryId};

/// A snapshot not yet known to be in storage, then entries from `offset`
/// on, not yet known to be in storage.
///
/// `offset_in_progress` splits the entries in two: entries below it were
/// already handed out in a Ready (their write is "in progress"); entries
/// from it on still have to be handed out. `snapshot_in_progress` says the
/// same of the snapshot.
#[derive(Clone, Debug)]
pub(crate) struct Unstable {
    /// When set, the log restarts after it: `offset` is its index + 1.
    pub(crate) snapshot: Option<Snapshot>,
    pub(crate) snapshot_in_progress: bool,
    pub(crate) entries: Vec<Entry>,
    pub(crate) offset: u64,
    pub(crate) offset_in_progress: u64,
}

impl Unstable {
    pub(crate) fn new(offset: u64) -> Unstable {
        Unstable {
            snapshot: None,
            snapshot_in_progress: false,
            entries: Vec::new(),
            offset,
            offset_in_progress: offset,
        }
    }

    /// The first index of the log, if a pending snapshot decides it.
    pub(crate) fn maybe_first_index(&self) -> Option<u64> {
        self.snapshot.as_ref().map(|s| s.index() + 1)
    }

    pub(crate) fn maybe_last_index(&self) -> Option<u64> {
        if !self.entries.is_empty() {
            return Some(self.offset + self.entries.len() as u64 - 1);
        }
        self.snapshot.as_ref().map(Snapshot::index)
    }

    pub(crate) fn maybe_term(&self, index: u64) -> Option<u64> {
        if index < self.offset {
            return self
                .snapshot
                .as_ref()
                .filter(|s| s.index() == index)
                .map(Snapshot::term);
        }
        self.entries
            .get((index - self.offset) as usize)
            .map(|e| e.term)
    }

    /// Entries not yet handed out for writing.
    pub(crate) fn next_entries(&self) -> &[Entry] {
        let in_progress = (self.offset_in_progress - self.offset) as usize;
        &self.entries[in_progress.min(self.entries.len())..]
    }

    /// The snapshot, if it has not been handed out for writing yet.
    pub(crate) fn next_snapshot(&self) -> Option<&Snapshot> {
        self.snapshot
            .as_ref()
            .filter(|_| !self.snapshot_in_progress)
    }

    /// Marks everything handed out so far as being written.
    pub(crate) fn accept_in_progress(&mut self) {
        if let Some(last) = self.entries.last() {
            self.offset_in_progress = last.index + 1;
        }
        if self.snapshot.is_some() {
            self.snapshot_in_progress = true;
        }
    }

    /// Forgets the snapshot at `index` now that it is durable (a newer one
    /// received meanwhile stays).
    pub(crate) fn stable_snap_to(&mut self, index: u64) {
        if self.snapshot.as_ref().is_some_and(|s| s.index() == index) {
            self.snapshot = None;
            self.snapshot_in_progress = false;
        }
    }

    /// Replaces everything with `snapshot`: the log restarts after it.
    pub(crate) fn restore(&mut self, snapshot: Snapshot) {
        self.offset = snapshot.index() + 1;
        self.offset_in_progress = self.offset;
        self.entries = Vec::new();
        self.snapshot = Some(snapshot);
        self.snapshot_in_progress = false;
    }

    /// Drops entries up to `id` now that they are durable, unless the entry
    /// at that index has since been replaced (then the write that finished
    /// was for entries that no longer exist here).
    pub(crate) fn stable_to(&mut self, id: EntryId) {
        let Some(term) = self.maybe_term(id.index) else {
            tracing::info!(
                "entry at index {} missing from unstable log; ignoring",
                id.index
            );
            return;
        };
        if id.index < self.offset {
            tracing::info!(
                "entry at index {} matched unstable snapshot; ignoring",
                id.index
            );
            return;
        }
        if term != id.term {
            tracing::info!(
                "entry at (index,term)=({},{}) mismatched with entry at ({},{}) in unstable log; ignoring",
                id.index,
                id.term,
                id.index,
                term
            );
            return;
        }
        let num = (id.index + 1 - self.offset) as usize;
        self.entries.drain(..num);
        self.offset = id.index + 1;
        self.offset_in_progress = self.offset_in_progress.max(self.offset);
    }

    /// Appends `entries`, first cutting off anything from their first index on.
    pub(crate) fn truncate_and_append(&mut self, entries: Vec<Entry>) {
        let Some(first) = entries.first() else {
            return;
        };
        let from = first.index;
        let end = self.offset + self.entries.len() as u64;
        if from == end {
            self.entries.extend(entries);
        } else if from <= self.offset {
            // Replaces everything unstable, and part of the stable log too:
            // the next write truncates storage from `from`.
            tracing::info!("replace the unstable entries from index {from}");
            self.entries = entries;
            self.offset = from;
            self.offset_in_progress = from;
        } else {
            tracing::info!("truncate the unstable entries before index {from}");
            self.entries.truncate((from - self.offset) as usize);
            self.entries.extend(entries);
            self.offset_in_progress = self.offset_in_progress.min(from);
        }
    }

    /// Entries in `[lo, hi)`; the caller keeps the bounds within the tail.
    pub(crate) fn slice(&self, lo: u64, hi: u64) -> &[Entry] {
        let start = (lo.max(self.offset) - self.offset) as usize;
        let end = ((hi.max(self.offset) - self.offset) as usize).min(self.entries.len());
        &self.entries[start.min(end)..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ents(term: u64, range: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
        range
            .map(|index| Entry {
                term,
                index,
                ..Entry::default()
            })
            .collect()
    }

    #[test]
    fn append_truncate_and_replace() {
        let mut u = Unstable::new(5);
        u.truncate_and_append(ents(1, 5..=7));
        assert_eq!(u.maybe_last_index(), Some(7));
        u.accept_in_progress();
        assert!(u.next_entries().is_empty());
        // A conflict inside the tail cuts it and rewinds what must be written.
        u.truncate_and_append(ents(2, 6..=6));
        assert_eq!(u.maybe_last_index(), Some(6));
        assert_eq!(u.offset_in_progress, 6);
        assert_eq!(u.next_entries().len(), 1);
        // A conflict below the tail replaces it entirely.
        u.truncate_and_append(ents(3, 4..=4));
        assert_eq!((u.offset, u.offset_in_progress), (4, 4));
        assert_eq!(u.maybe_term(4), Some(3));
        assert_eq!(u.maybe_term(5), None);
    }

    #[test]
    fn a_snapshot_bounds_the_tail_until_it_is_stable() {
        let mut u = Unstable::new(3);
        u.truncate_and_append(ents(1, 3..=4));
        u.restore(Snapshot::new(
            10,
            2,
            Default::default(),
            bytes::Bytes::new(),
        ));
        assert_eq!(u.maybe_first_index(), Some(11));
        assert_eq!(u.maybe_last_index(), Some(10));
        assert_eq!(u.maybe_term(10), Some(2));
        assert_eq!(u.maybe_term(4), None, "the entries went with the restore");
        assert!(u.next_snapshot().is_some());
        u.truncate_and_append(ents(2, 11..=11));
        u.accept_in_progress();
        assert!(u.next_snapshot().is_none(), "handed out once");
        assert_eq!(u.maybe_last_index(), Some(11));
        u.stable_to(EntryId { term: 2, index: 10 });
        assert_eq!(u.offset, 11, "the snapshot index is not an entry");
        u.stable_snap_to(9);
        assert!(u.snapshot.is_some(), "another snapshot's index");
        u.stable_snap_to(10);
        assert!(u.snapshot.is_none());
        assert_eq!(u.maybe_first_index(), None);
        assert_eq!(u.maybe_last_index(), Some(11));
    }

    #[test]
    fn stable_to_ignores_replaced_entries() {
        let mut u = Unstable::new(1);
        u.truncate_and_append(ents(1, 1..=3));
        u.accept_in_progress();
        u.stable_to(EntryId { term: 2, index: 2 });
        assert_eq!(u.offset, 1, "term mismatch: nothing became stable");
        u.stable_to(EntryId { term: 1, index: 2 });
        assert_eq!(u.offset, 3);
        assert_eq!(u.entries.len(), 1);
        u.stable_to(EntryId { term: 1, index: 9 });
        assert_eq!(u.offset, 3, "index beyond the tail: ignored");
    }
}
