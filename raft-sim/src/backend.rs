//! RocksDB under the simulated disk (`--storage rocks`).
//!
//! A crash closes the database and opens it again. RocksDB keeps a write
//! that went through its WAL across a close even without an fsync, so
//! RocksDB alone cannot lose an unsynced write when the process only
//! pretends to die. The loss is modelled one level up instead: [`Disk`]
//! (in `storage.rs`) holds unsynced writes in memory and hands RocksDB only
//! what its model has made durable, with the crash deciding what of the
//! rest gets through. What this backend then tests is that RocksStorage
//! gives back, after a close and reopen, everything it was given, and that
//! raft-core runs correctly on it.
//!
//! [`Disk`]: crate::storage::Disk

#[cfg(feature = "rocks")]
mod imp {
    use crate::storage::Backend;
    use raft_core::{ConfState, Entry, EntryId, InitialState, LogStorage, LogWrite, StorageError};
    use raft_storage_rocks::RocksStorage;
    use std::path::PathBuf;

    pub use tempfile::TempDir;

    /// A RocksDB log whose reopen closes the database and opens it again.
    pub struct RocksBackend {
        path: PathBuf,
        /// `None` only between closing and reopening.
        log: Option<RocksStorage>,
    }

    impl RocksBackend {
        fn log(&self) -> Result<&RocksStorage, StorageError> {
            self.log
                .as_ref()
                .ok_or_else(|| StorageError::Corrupted("database is closed".to_string()))
        }
    }

    impl LogStorage for RocksBackend {
        fn initial_state(&self) -> Result<InitialState, StorageError> {
            self.log()?.initial_state()
        }
        fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
            self.log()?.entries(lo, hi, max_size)
        }
        fn term(&self, index: u64) -> Result<u64, StorageError> {
            self.log()?.term(index)
        }
        fn first_index(&self) -> Result<u64, StorageError> {
            self.log()?.first_index()
        }
        fn last_index(&self) -> Result<u64, StorageError> {
            self.log()?.last_index()
        }
        fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
            match self.log.as_mut() {
                Some(log) => log.write(write),
                None => Err(StorageError::Corrupted("database is closed".to_string())),
            }
        }
    }

    impl Backend for RocksBackend {
        fn reopen(&mut self) -> Result<(), StorageError> {
            // Closing first: RocksDB holds a lock on the directory.
            self.log = None;
            self.log = Some(RocksStorage::open(&self.path)?);
            Ok(())
        }
    }

    /// Where the databases go: `RAFT_SIM_DIR`, else /dev/shm when present
    /// (fsyncs are free there and durability is modelled, not measured),
    /// else the system's temporary directory.
    fn parent_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("RAFT_SIM_DIR") {
            return dir.into();
        }
        let shm = PathBuf::from("/dev/shm");
        if shm.is_dir() {
            return shm;
        }
        std::env::temp_dir()
    }

    /// A fresh RocksDB log for a group of `voters`, in a directory removed
    /// when the returned guard drops.
    pub fn rocks(voters: &[u64]) -> Result<(Box<dyn Backend>, TempDir), String> {
        let dir = tempfile::Builder::new()
            .prefix("raft-sim-")
            .tempdir_in(parent_dir())
            .map_err(|e| format!("temporary directory: {e}"))?;
        let path = dir.path().join("log");
        let log = RocksStorage::create(
            &path,
            ConfState::with_voters(voters.iter().copied()),
            EntryId::default(),
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((
            Box::new(RocksBackend {
                path,
                log: Some(log),
            }),
            dir,
        ))
    }
}

#[cfg(feature = "rocks")]
pub use imp::{rocks, TempDir};

#[cfg(not(feature = "rocks"))]
mod imp {
    use crate::storage::Backend;

    /// Stands in for the directory guard when RocksDB is not compiled in.
    pub struct TempDir;

    /// Always an error: RocksDB is not compiled in.
    pub fn rocks(_voters: &[u64]) -> Result<(Box<dyn Backend>, TempDir), String> {
        Err("this build has no RocksDB support (build with --features rocks)".to_string())
    }
}

#[cfg(not(feature = "rocks"))]
pub use imp::{rocks, TempDir};

/// Whether `--storage rocks` can work in this build.
pub const ROCKS_AVAILABLE: bool = cfg!(feature = "rocks");
