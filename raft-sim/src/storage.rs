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
//! The disk also remembers everything that was made durable, and checks
//! after each reopen that the backend gives all of it back.

use crate::rng::Rng;
use raft_core::{ConfState, Entry, HardState, InitialState, LogStorage, LogWrite, MemStorage};
use raft_core::{EntryId, StorageError};
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

impl LogStorage for MemBackend {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        self.0.initial_state()
    }
    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
        self.0.entries(lo, hi, max_size)
    }
    fn term(&self, index: u64) -> Result<u64, StorageError> {
        self.0.term(index)
    }
    fn first_index(&self) -> Result<u64, StorageError> {
        self.0.first_index()
    }
    fn last_index(&self) -> Result<u64, StorageError> {
        self.0.last_index()
    }
    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        self.0.write(write)
    }
    fn snapshot(&self) -> Result<raft_core::Snapshot, StorageError> {
        self.0.snapshot()
    }
    fn compact(&mut self, compact_index: u64) -> Result<(), StorageError> {
        self.0.compact(compact_index)
    }
    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<raft_core::ConfState>,
        data: bytes::Bytes,
    ) -> Result<raft_core::Snapshot, StorageError> {
        LogStorage::create_snapshot(&mut self.0, index, conf_state, data)
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
    /// Reads when `pending` holds entries (raft-core never writes entries
    /// unsynced, but nothing in the contract forbids it): the backend's
    /// content with the pending writes on top. Rebuilt on demand.
    overlay: Option<MemBackend>,
    /// What the backend must return after a reopen: every durable entry and
    /// the durable hard state.
    durable_log: Vec<Entry>,
    durable_hard_state: HardState,
    voters: Vec<u64>,
}

impl Disk {
    /// A disk on `backend`, for a group of `voters`.
    pub fn new(backend: Box<dyn Backend>, voters: &[u64]) -> Disk {
        Disk {
            backend,
            pending: Vec::new(),
            overlay: None,
            durable_log: Vec::new(),
            durable_hard_state: HardState::default(),
            voters: voters.to_vec(),
        }
    }

    /// The hard state a restart would find.
    pub fn durable_hard_state(&self) -> HardState {
        self.durable_hard_state
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
        for earlier in std::mem::take(&mut self.pending) {
            self.persist(earlier)?;
        }
        self.overlay = None;
        self.persist(write)
    }

    fn persist(&mut self, write: LogWrite) -> Result<(), StorageError> {
        let entries = write.entries.clone();
        let hard_state = write.hard_state;
        self.backend.write(write)?;
        if let Some(first) = entries.first() {
            let keep = (first.index.saturating_sub(1) as usize).min(self.durable_log.len());
            self.durable_log.truncate(keep);
            self.durable_log.extend(entries);
        }
        if let Some(hs) = hard_state {
            self.durable_hard_state = hs;
        }
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

    /// Compares the reopened backend with what was made durable.
    fn verify_durable(&self) -> Result<(), StorageError> {
        let state = self.backend.initial_state()?;
        if state.hard_state != self.durable_hard_state {
            return Err(StorageError::Corrupted(format!(
                "durable hard state {:?} came back as {:?}",
                self.durable_hard_state, state.hard_state
            )));
        }
        let last = self.backend.last_index()?;
        if last != self.durable_log.len() as u64 {
            return Err(StorageError::Corrupted(format!(
                "durable log ended at {} but came back ending at {}",
                self.durable_log.len(),
                last
            )));
        }
        if last > 0 {
            let stored = self.backend.entries(1, last + 1, u64::MAX)?;
            if stored != self.durable_log {
                return Err(StorageError::Corrupted(
                    "durable entries came back different".to_string(),
                ));
            }
        }
        Ok(())
    }

    fn reader(&mut self) -> Result<&dyn Backend, StorageError> {
        if !self.pending.iter().any(|w| !w.entries.is_empty()) {
            return Ok(&*self.backend);
        }
        if self.overlay.is_none() {
            let mut view = MemStorage::with_base(
                ConfState::with_voters(self.voters.iter().copied()),
                EntryId::default(),
            );
            let last = self.backend.last_index()?;
            let entries = if last > 0 {
                self.backend.entries(1, last + 1, u64::MAX)?
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
    fn snapshot(&self) -> Result<raft_core::Snapshot, StorageError> {
        self.read(|s| s.snapshot())
    }
    // The disk model's record of what is durable (`durable_log`) assumes a
    // log that starts at index 1, so the simulated disk refuses to compact
    // until that model follows snapshots.
    fn compact(&mut self, _compact_index: u64) -> Result<(), StorageError> {
        Err(StorageError::Unsupported(
            "compaction on the simulated disk",
        ))
    }
    fn create_snapshot(
        &mut self,
        _index: u64,
        _conf_state: Option<raft_core::ConfState>,
        _data: bytes::Bytes,
    ) -> Result<raft_core::Snapshot, StorageError> {
        Err(StorageError::Unsupported("snapshots on the simulated disk"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(term: u64, index: u64) -> Entry {
        Entry {
            term,
            index,
            data: bytes::Bytes::from(format!("e{index}")),
            ..Entry::default()
        }
    }

    fn hs(term: u64, commit: u64) -> HardState {
        HardState {
            term,
            vote: 1,
            commit,
        }
    }

    fn disk() -> DiskHandle {
        DiskHandle(Rc::new(RefCell::new(Disk::new(
            Box::new(MemBackend::new([1, 2, 3])),
            &[1, 2, 3],
        ))))
    }

    #[test]
    fn unsynced_commit_is_lost_and_synced_state_survives() {
        let mut d = disk();
        d.write(LogWrite::new(
            vec![ent(1, 1), ent(1, 2)],
            Some(hs(1, 0)),
            true,
        ))
        .unwrap();
        d.write(LogWrite::new(vec![], Some(hs(1, 2)), false))
            .unwrap();
        // The running process sees its own unsynced write.
        assert_eq!(d.initial_state().unwrap().hard_state, hs(1, 2));
        // A seed whose first draw keeps nothing of the pending write.
        let mut rng = (0..)
            .map(Rng::new)
            .find(|r| r.clone().below(2) == 0)
            .unwrap();
        let loss = d.0.borrow_mut().crash(&mut rng).unwrap();
        assert_eq!(
            loss,
            CrashLoss {
                survived: 0,
                lost: 1
            }
        );
        assert_eq!(d.initial_state().unwrap().hard_state, hs(1, 0));
        assert_eq!(d.last_index().unwrap(), 2);
    }

    #[test]
    fn a_sync_flushes_earlier_unsynced_writes() {
        let mut d = disk();
        d.write(LogWrite::new(vec![], Some(hs(1, 0)), false))
            .unwrap();
        d.write(LogWrite::new(vec![ent(1, 1)], None, true)).unwrap();
        assert_eq!(d.0.borrow().pending_writes(), 0);
        d.0.borrow_mut().crash(&mut Rng::new(1)).unwrap();
        assert_eq!(d.initial_state().unwrap().hard_state, hs(1, 0));
    }

    #[test]
    fn unsynced_entries_are_readable_until_a_crash_drops_them() {
        let mut d = disk();
        d.write(LogWrite::new(vec![ent(1, 1), ent(1, 2)], None, true))
            .unwrap();
        d.write(LogWrite::new(vec![ent(2, 2), ent(2, 3)], None, false))
            .unwrap();
        assert_eq!(d.last_index().unwrap(), 3);
        assert_eq!(d.term(2).unwrap(), 2);
        let mut rng = (0..)
            .map(Rng::new)
            .find(|r| r.clone().below(2) == 0)
            .unwrap();
        d.0.borrow_mut().crash(&mut rng).unwrap();
        assert_eq!(d.last_index().unwrap(), 2);
        assert_eq!(d.term(2).unwrap(), 1);
    }
}
