//! An in-memory [`LogStorage`]: for tests, simulations and as the reference
//! the durable backends are compared against.

use super::{
    check_entries_range, clone_within_size, InitialState, LogStorage, LogWrite, StorageError,
    WriteKind,
};
use crate::snapshot::Snapshot;
use crate::types::{ConfState, Entry, EntryId, HardState};
use bytes::Bytes;

/// A log kept in a `Vec`. Nothing survives the process; `sync` is a no-op.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    hard_state: HardState,
    conf_state: ConfState,
    /// The entry just before `entries[0]`: `(0, 0)` for a fresh log.
    base: EntryId,
    entries: Vec<Entry>,
    /// The latest snapshot installed or created (index 0: none yet).
    snapshot: Snapshot,
}

impl MemStorage {
    /// An empty log with no members (first index 1, last index 0).
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    /// An empty log for a group of `voters`.
    pub fn with_voters(voters: impl IntoIterator<Item = u64>) -> MemStorage {
        MemStorage::with_base(ConfState::with_voters(voters), EntryId::default())
    }

    /// A log that starts after `base`: entries up to `base.index` are taken as
    /// committed and applied elsewhere (the way etcd bootstraps a node from an
    /// initial snapshot). A node started on it begins with its commit index
    /// at `base.index`, since nothing before the first index can be missing.
    ///
    /// Like etcd's harness, which bootstraps by applying a snapshot at the
    /// base, the base is also the stored snapshot (with no data).
    pub fn with_base(conf_state: ConfState, base: EntryId) -> MemStorage {
        MemStorage {
            hard_state: HardState::default(),
            snapshot: Snapshot::new(base.index, base.term, conf_state.clone(), Bytes::new()),
            conf_state,
            base,
            entries: Vec::new(),
        }
    }

    /// The hard state last written.
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }

    /// Replaces the log with `snapshot` (etcd's `ApplySnapshot`): every
    /// entry goes, and the log continues after the snapshot's index. A
    /// snapshot not newer than the stored one is
    /// [`StorageError::SnapshotOutOfDate`], and nothing changes.
    pub fn apply_snapshot(&mut self, snapshot: Snapshot) -> Result<(), StorageError> {
        self.check_snapshot_is_newer(&snapshot)?;
        self.install(snapshot);
        Ok(())
    }

    /// Records a snapshot of the application state `data` as of `index`
    /// (etcd's `CreateSnapshot`), with the membership `conf_state` if given
    /// (else the stored one), and returns it. `index` must be newer than
    /// the stored snapshot ([`StorageError::SnapshotOutOfDate`]) and within
    /// the log ([`StorageError::Compacted`], [`StorageError::Unavailable`]).
    /// The log itself is untouched: call [`LogStorage::compact`] to drop
    /// the entries the snapshot covers.
    pub fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<ConfState>,
        data: impl Into<Bytes>,
    ) -> Result<Snapshot, StorageError> {
        if index <= self.snapshot.index() {
            return Err(StorageError::SnapshotOutOfDate);
        }
        let term = self.term(index)?;
        // A restart resumes applying after the snapshot: it must start
        // from the snapshot's configuration.
        let conf_state = conf_state.unwrap_or_else(|| self.conf_state.clone());
        // A restart comes back in the snapshot's membership (etcd's
        // InitialState reads it from the snapshot): the changes applied up
        // to `index` are not in the log after it to be applied again.
        self.conf_state = conf_state.clone();
        self.snapshot = Snapshot::new(index, term, conf_state, data);
        Ok(self.snapshot.clone())
    }

    fn check_snapshot_is_newer(&self, snapshot: &Snapshot) -> Result<(), StorageError> {
        let stored = self.snapshot.index();
        if stored != 0 && stored >= snapshot.index() {
            return Err(StorageError::SnapshotOutOfDate);
        }
        Ok(())
    }

    fn install(&mut self, snapshot: Snapshot) {
        self.entries.clear();
        self.base = EntryId {
            term: snapshot.term(),
            index: snapshot.index(),
        };
        self.conf_state = snapshot.metadata.conf_state.clone();
        self.snapshot = snapshot;
    }

    /// All stored entries, oldest first.
    pub fn all_entries(&self) -> &[Entry] {
        &self.entries
    }

    fn first(&self) -> u64 {
        self.base.index + 1
    }

    fn last(&self) -> u64 {
        self.base.index + self.entries.len() as u64
    }
}

impl LogStorage for MemStorage {
    fn write_kind(&self) -> WriteKind {
        WriteKind::Memory
    }

    fn initial_state(&self) -> Result<InitialState, StorageError> {
        Ok(InitialState {
            hard_state: self.hard_state,
            conf_state: self.conf_state.clone(),
        })
    }

    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
        check_entries_range(lo, hi, self.first(), self.last())?;
        let from = (lo - self.first()) as usize;
        let to = (hi - self.first()) as usize;
        Ok(clone_within_size(&self.entries[from..to], max_size))
    }

    fn term(&self, index: u64) -> Result<u64, StorageError> {
        if index < self.base.index {
            return Err(StorageError::Compacted);
        }
        if index == self.base.index {
            return Ok(self.base.term);
        }
        self.entries
            .get((index - self.first()) as usize)
            .map(|e| e.term)
            .ok_or(StorageError::Unavailable)
    }

    fn first_index(&self) -> Result<u64, StorageError> {
        Ok(self.first())
    }

    fn last_index(&self) -> Result<u64, StorageError> {
        Ok(self.last())
    }

    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        check_contiguous(&write.entries)?;
        // Everything is checked before anything changes, so that a refused
        // write leaves the log as it was.
        if let Some(snapshot) = &write.snapshot {
            self.check_snapshot_is_newer(snapshot)?;
            let after = snapshot.index() + 1;
            if let Some(head) = write.entries.first().filter(|e| e.index > after) {
                return Err(StorageError::InvalidWrite(format!(
                    "append at index {} would leave a gap after snapshot index {}",
                    head.index,
                    snapshot.index()
                )));
            }
        }
        if let Some(snapshot) = write.snapshot {
            self.install(snapshot);
        }
        let mut new_entries = write.entries;
        // Entries at or below the base are already part of the state the log
        // was started from; etcd's MemoryStorage skips them the same way.
        let first = self.first();
        if let Some(pos) = new_entries.iter().position(|e| e.index >= first) {
            new_entries.drain(..pos);
        } else {
            new_entries.clear();
        }
        if let Some(head) = new_entries.first() {
            if head.index > self.last() + 1 {
                return Err(StorageError::InvalidWrite(format!(
                    "append at index {} would leave a gap after last index {}",
                    head.index,
                    self.last()
                )));
            }
            self.entries.truncate((head.index - first) as usize);
            self.entries.extend(new_entries);
        }
        if let Some(hs) = write.hard_state {
            self.hard_state = hs;
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Snapshot, StorageError> {
        Ok(self.snapshot.clone())
    }

    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<ConfState>,
        data: Bytes,
    ) -> Result<Snapshot, StorageError> {
        MemStorage::create_snapshot(self, index, conf_state, data)
    }

    fn compact(&mut self, compact_index: u64) -> Result<(), StorageError> {
        if compact_index <= self.base.index {
            return Err(StorageError::Compacted);
        }
        let term = self.term(compact_index)?;
        self.entries
            .drain(..(compact_index - self.base.index) as usize);
        self.base = EntryId {
            term,
            index: compact_index,
        };
        Ok(())
    }
}

/// Refuses a batch whose entries do not follow each other by index.
pub(crate) fn check_contiguous(entries: &[Entry]) -> Result<(), StorageError> {
    for pair in entries.windows(2) {
        if pair[1].index != pair[0].index + 1 {
            return Err(StorageError::InvalidWrite(format!(
                "entries are not contiguous: index {} follows {}",
                pair[1].index, pair[0].index
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(term: u64, index: u64) -> Entry {
        Entry {
            term,
            index,
            ..Entry::default()
        }
    }

    fn append(s: &mut MemStorage, entries: Vec<Entry>) -> Result<(), StorageError> {
        s.write(LogWrite::new(entries, None, true))
    }

    #[test]
    fn append_truncates_a_conflicting_suffix() {
        let mut s = MemStorage::new();
        append(&mut s, vec![ent(1, 1), ent(1, 2), ent(1, 3)]).unwrap();
        append(&mut s, vec![ent(2, 2)]).unwrap();
        assert_eq!(s.last_index().unwrap(), 2);
        assert_eq!(s.term(2).unwrap(), 2);
        assert_eq!(s.term(1).unwrap(), 1);
    }

    #[test]
    fn gaps_and_disorder_are_refused_without_change() {
        let mut s = MemStorage::new();
        append(&mut s, vec![ent(1, 1)]).unwrap();
        assert!(matches!(
            append(&mut s, vec![ent(1, 3)]),
            Err(StorageError::InvalidWrite(_))
        ));
        assert!(matches!(
            append(&mut s, vec![ent(1, 2), ent(1, 4)]),
            Err(StorageError::InvalidWrite(_))
        ));
        assert_eq!(s.last_index().unwrap(), 1);
    }

    #[test]
    fn a_restart_comes_back_in_the_membership_of_the_latest_snapshot() {
        let mut s = MemStorage::with_voters([1, 2, 3]);
        append(&mut s, vec![ent(1, 1), ent(1, 2)]).unwrap();
        let joint = ConfState {
            voters_outgoing: vec![1, 2, 3],
            auto_leave: true,
            ..ConfState::with_voters([1, 2])
        };
        s.create_snapshot(2, Some(joint.clone()), Bytes::new())
            .unwrap();
        // The change that led to `joint` is in the snapshot, not after it:
        // nothing would apply it again.
        assert_eq!(s.initial_state().unwrap().conf_state, joint);
    }

    #[test]
    fn base_bounds_reads() {
        let s = MemStorage::with_base(ConfState::with_voters([1]), EntryId { term: 1, index: 10 });
        assert_eq!(s.first_index().unwrap(), 11);
        assert_eq!(s.last_index().unwrap(), 10);
        assert_eq!(s.term(10).unwrap(), 1);
        assert!(matches!(s.term(9), Err(StorageError::Compacted)));
        assert!(matches!(s.term(11), Err(StorageError::Unavailable)));
        assert!(matches!(
            s.entries(10, 11, u64::MAX),
            Err(StorageError::Compacted)
        ));
    }

    #[test]
    fn entries_respect_size_but_return_at_least_one() {
        let mut s = MemStorage::new();
        append(&mut s, (1..=5).map(|i| ent(1, i)).collect()).unwrap();
        assert_eq!(s.entries(1, 6, 0).unwrap().len(), 1);
        assert_eq!(s.entries(1, 6, 8).unwrap().len(), 2);
        assert_eq!(s.entries(1, 6, u64::MAX).unwrap().len(), 5);
        assert!(matches!(
            s.entries(1, 7, u64::MAX),
            Err(StorageError::Unavailable)
        ));
    }
}
