//! Simulated disks: a durable backend under a volatile layer of unsynced
//! writes, so that a crash loses exactly what a real one may lose.
//!
//! raft-core asks for `sync` whenever a write carries entries or a new term
//! or vote; a write with only a new commit index may skip the fsync. A
//! [`Disk`] keeps such writes in memory until the next synced write flushes
//! them (an fsync makes every earlier write durable, as a write-ahead log
//! does), and a crash keeps only a prefix of them, chosen by the seed. The
//! backend itself only ever sees writes that are durable by this model, so
//! it can be anything that persists: a [`MemBackend`], RocksDB, or any
//! storage plugged in through [`crate::backend::SimStorage`].
//!
//! The disk also remembers everything that was made durable (hard state,
//! snapshot, where the log starts and every entry after that), and checks
//! after each reopen that the backend gives all of it back. Snapshot
//! installs come in a [`LogWrite`], which raft-core always syncs;
//! `create_snapshot` and `compact` sync too, which makes every earlier
//! unsynced write durable with them.

use crate::rng::Rng;
use bytes::Bytes;
use raft_core::{ConfState, Entry, HardState, InitialState, LogStorage, LogWrite, MemStorage};
use raft_core::{EntryId, Snapshot, StorageError, WrapsLog};
use std::cell::RefCell;
use std::rc::Rc;

/// Durable storage under a simulated disk: a [`LogStorage`] that can be
/// closed and opened again.
pub trait Backend: LogStorage {
    /// The crash: drop whatever the process held and read the state back
    /// from the medium. A storage that keeps nothing outside the process
    /// (an in-memory one) does nothing here, which is sound because the
    /// [`Disk`] above it only ever hands it durable writes.
    fn reopen(&mut self) -> Result<(), StorageError>;
}

/// A backend in memory: what it holds is by construction what was durable,
/// so a reopen changes nothing. Reads are MemStorage's, which copies only
/// the size-limited prefix of a range
/// ([`raft_core::storage::clone_within_size`]).
pub struct MemBackend(MemStorage);

impl MemBackend {
    /// An empty in-memory log for a group of `voters`.
    pub fn new(voters: impl IntoIterator<Item = u64>) -> MemBackend {
        MemBackend(MemStorage::with_voters(voters))
    }
}

impl WrapsLog for MemBackend {
    type Log = MemStorage;
    fn wrapped(&self) -> Result<&MemStorage, StorageError> {
        Ok(&self.0)
    }
    fn wrapped_mut(&mut self) -> Result<&mut MemStorage, StorageError> {
        Ok(&mut self.0)
    }
}

impl Backend for MemBackend {
    fn reopen(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// What a crash did to a disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashLoss {
    /// Unsynced writes that reached the medium anyway.
    pub survived: usize,
    /// Unsynced writes that were lost.
    pub lost: usize,
}

/// A node's disk: outlives the node's crashes.
pub struct Disk {
    backend: Box<dyn Backend>,
    /// Unsynced writes, oldest first; each is atomic, and a crash keeps a
    /// prefix of them.
    pending: Vec<LogWrite>,
    /// Reads when `pending` holds entries or a snapshot (raft-core never
    /// writes those unsynced, but nothing in the contract forbids it): the
    /// backend's content with the pending writes on top. Rebuilt on demand.
    overlay: Option<MemBackend>,
    /// What the backend must return after a reopen (see [`Durable`]).
    durable: Durable,
}

/// The disk model's record of what was made durable: the backend must give
/// all of it back after a reopen.
struct Durable {
    /// The latest snapshot installed or created.
    snapshot: Snapshot,
    /// The entry just before the first stored one: where the last install
    /// or compaction cut the log.
    base: EntryId,
    /// The stored entries, from index `base.index + 1`.
    log: Vec<Entry>,
    hard_state: HardState,
}

impl Durable {
    fn last_index(&self) -> u64 {
        self.base.index + self.log.len() as u64
    }

    /// Follows one write the backend accepted, in [`LogWrite`]'s order:
    /// snapshot, entries, hard state.
    fn follow(&mut self, snapshot: Option<Snapshot>, entries: Vec<Entry>, hs: Option<HardState>) {
        if let Some(snap) = snapshot {
            self.base = EntryId {
                index: snap.index(),
                term: snap.term(),
            };
            self.log.clear();
            self.snapshot = snap;
        }
        // Entries the snapshot already covers are skipped, as LogStorage's
        // backends do.
        let fresh: Vec<Entry> = entries
            .into_iter()
            .filter(|e| e.index > self.base.index)
            .collect();
        if let Some(first) = fresh.first() {
            let keep = ((first.index - self.base.index - 1) as usize).min(self.log.len());
            self.log.truncate(keep);
            self.log.extend(fresh);
        }
        if let Some(hs) = hs {
            self.hard_state = hs;
        }
    }

    /// Follows a compaction the backend accepted.
    fn compact(&mut self, index: u64) {
        if index <= self.base.index {
            return;
        }
        let drop = ((index - self.base.index) as usize).min(self.log.len());
        let term = self.log.get(drop.wrapping_sub(1)).map_or(0, |e| e.term);
        self.log.drain(..drop);
        self.base = EntryId { index, term };
    }
}

impl Disk {
    /// A disk on `backend` (which holds the group's initial membership).
    pub fn new(backend: Box<dyn Backend>) -> Disk {
        Disk {
            backend,
            pending: Vec::new(),
            overlay: None,
            durable: Durable {
                snapshot: Snapshot::default(),
                base: EntryId::default(),
                log: Vec::new(),
                hard_state: HardState::default(),
            },
        }
    }

    /// The hard state a restart would find.
    pub fn durable_hard_state(&self) -> HardState {
        self.durable.hard_state
    }

    /// The index of the snapshot a restart would find (0: none).
    pub fn durable_snapshot_index(&self) -> u64 {
        self.durable.snapshot.index()
    }

    /// Unsynced writes a crash could lose right now.
    pub fn pending_writes(&self) -> usize {
        self.pending.len()
    }

    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        if write.is_empty() {
            return Ok(());
        }
        if !write.sync {
            self.overlay = None;
            self.pending.push(write);
            return Ok(());
        }
        self.flush()?;
        self.persist(write)
    }

    /// Makes every pending write durable, as an fsync of a write-ahead log
    /// does for all that came before it.
    fn flush(&mut self) -> Result<(), StorageError> {
        for earlier in std::mem::take(&mut self.pending) {
            self.persist(earlier)?;
        }
        self.overlay = None;
        Ok(())
    }

    fn persist(&mut self, write: LogWrite) -> Result<(), StorageError> {
        let (snapshot, entries, hard_state) = (
            write.snapshot.clone(),
            write.entries.clone(),
            write.hard_state,
        );
        self.backend.write(write)?;
        self.durable.follow(snapshot, entries, hard_state);
        Ok(())
    }

    /// Records a snapshot; durable when it returns, and since it syncs, so
    /// is every earlier write (its commit index in particular, which a
    /// restart needs to be at least the snapshot's index).
    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<ConfState>,
        data: Bytes,
    ) -> Result<Snapshot, StorageError> {
        self.flush()?;
        let snap = self.backend.create_snapshot(index, conf_state, data)?;
        self.durable.snapshot = snap.clone();
        Ok(snap)
    }

    /// Drops the log up to `index`. Modelled as durable at once (a range
    /// delete that syncs with the rest of the log): a crash never brings
    /// the dropped entries back.
    fn compact(&mut self, index: u64) -> Result<(), StorageError> {
        self.flush()?;
        self.backend.compact(index)?;
        self.durable.compact(index);
        Ok(())
    }

    /// The process dies: a prefix of the unsynced writes (its length drawn
    /// from `rng`) reaches the medium, the rest is lost, and the backend is
    /// reopened. Fails if the backend then does not hold what was durable.
    pub fn crash(&mut self, rng: &mut Rng) -> Result<CrashLoss, StorageError> {
        let pending = std::mem::take(&mut self.pending);
        let survived = rng.below(pending.len() as u64 + 1) as usize;
        let lost = pending.len() - survived;
        for w in pending.into_iter().take(survived) {
            self.persist(w)?;
        }
        self.overlay = None;
        self.backend.reopen()?;
        self.verify_durable()?;
        Ok(CrashLoss { survived, lost })
    }

    /// Compares the reopened backend with what was made durable: the same
    /// hard state and snapshot; the log starting where the last install or
    /// compaction cut it, never after the snapshot's index (a gap would
    /// lose entries nothing else holds); every durable entry above it.
    fn verify_durable(&self) -> Result<(), StorageError> {
        let corrupted = |what: String| Err(StorageError::Corrupted(what));
        let d = &self.durable;
        let state = self.backend.initial_state()?;
        if state.hard_state != d.hard_state {
            return corrupted(format!(
                "durable hard state {:?} came back as {:?}",
                d.hard_state, state.hard_state
            ));
        }
        let snap = stored_snapshot(&*self.backend)?;
        if (snap.index(), snap.term(), &snap.data)
            != (d.snapshot.index(), d.snapshot.term(), &d.snapshot.data)
        {
            return corrupted(format!(
                "durable snapshot at index {} term {} came back at index {} term {}{}",
                d.snapshot.index(),
                d.snapshot.term(),
                snap.index(),
                snap.term(),
                if snap.data == d.snapshot.data {
                    ""
                } else {
                    " with other data"
                }
            ));
        }
        let first = self.backend.first_index()?;
        if first != d.base.index + 1 {
            return corrupted(format!(
                "durable log started at {} but came back starting at {first}",
                d.base.index + 1
            ));
        }
        if first > snap.index() + 1 {
            return corrupted(format!(
                "log starts at {first} but the snapshot ends at {}: a gap",
                snap.index()
            ));
        }
        if self.backend.term(first - 1)? != d.base.term {
            return corrupted(format!(
                "term at the log's base {} came back different",
                first - 1
            ));
        }
        let last = self.backend.last_index()?;
        if last != d.last_index() {
            return corrupted(format!(
                "durable log ended at {} but came back ending at {last}",
                d.last_index()
            ));
        }
        if last >= first && self.backend.entries(first, last + 1, u64::MAX)? != d.log {
            return corrupted("durable entries came back different".to_string());
        }
        Ok(())
    }

    fn reader(&mut self) -> Result<&dyn Backend, StorageError> {
        let overlaid = |w: &LogWrite| !w.entries.is_empty() || w.snapshot.is_some();
        if !self.pending.iter().any(overlaid) {
            return Ok(&*self.backend);
        }
        if self.overlay.is_none() {
            let first = self.backend.first_index()?;
            let base = EntryId {
                index: first - 1,
                term: self.backend.term(first - 1)?,
            };
            let conf = self.backend.initial_state()?.conf_state;
            let mut view = MemStorage::with_base(conf, base);
            let last = self.backend.last_index()?;
            let entries = if last >= first {
                self.backend.entries(first, last + 1, u64::MAX)?
            } else {
                Vec::new()
            };
            view.write(LogWrite::new(entries, None, true))?;
            for w in &self.pending {
                view.write(w.clone())?;
            }
            self.overlay = Some(MemBackend(view));
        }
        match &self.overlay {
            Some(view) => Ok(view),
            None => Err(StorageError::Corrupted("overlay vanished".to_string())),
        }
    }
}

/// The snapshot a log holds, for a process starting on it: a log that
/// keeps no snapshots answers `SnapshotTemporarilyUnavailable` forever,
/// which at a start means none.
pub fn stored_snapshot(log: &dyn LogStorage) -> Result<Snapshot, StorageError> {
    match log.snapshot() {
        Err(StorageError::SnapshotTemporarilyUnavailable) => Ok(Snapshot::default()),
        r => r,
    }
}

/// The node's handle on its disk. The simulator keeps another, which is how
/// the disk survives the node.
#[derive(Clone)]
pub struct DiskHandle(pub Rc<RefCell<Disk>>);

impl DiskHandle {
    fn read<T>(
        &self,
        f: impl FnOnce(&dyn Backend) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut disk = self.0.borrow_mut();
        f(disk.reader()?)
    }
}

impl LogStorage for DiskHandle {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        // Unsynced hard states are visible to the running process too.
        let mut state = self.read(|s| s.initial_state())?;
        if let Some(hs) = self
            .0
            .borrow()
            .pending
            .iter()
            .rev()
            .find_map(|w| w.hard_state)
        {
            state.hard_state = hs;
        }
        Ok(state)
    }
    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
        self.read(|s| s.entries(lo, hi, max_size))
    }
    fn term(&self, index: u64) -> Result<u64, StorageError> {
        self.read(|s| s.term(index))
    }
    fn first_index(&self) -> Result<u64, StorageError> {
        self.read(|s| s.first_index())
    }
    fn last_index(&self) -> Result<u64, StorageError> {
        self.read(|s| s.last_index())
    }
    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        self.0.borrow_mut().write(write)
    }
    fn snapshot(&self) -> Result<Snapshot, StorageError> {
        // Not through the overlay, whose base carries no snapshot data: the
        // newest pending install, else the backend's.
        let disk = self.0.borrow();
        match disk.pending.iter().rev().find_map(|w| w.snapshot.clone()) {
            Some(snap) => Ok(snap),
            None => disk.backend.snapshot(),
        }
    }
    fn compact(&mut self, compact_index: u64) -> Result<(), StorageError> {
        self.0.borrow_mut().compact(compact_index)
    }
    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<ConfState>,
        data: Bytes,
    ) -> Result<Snapshot, StorageError> {
        self.0.borrow_mut().create_snapshot(index, conf_state, data)
    }
}

#[cfg(test)]
mod tests;
