//! A log that lives exactly as long as its directory: for tests, the
//! conformance kit and the simulator, which make many short-lived logs and
//! reopen them to model crashes.

use crate::{RocksError, RocksStorage};
use raft_core::{ConfState, EntryId, StorageError, WrapsLog};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A [`RocksStorage`] in a fresh temporary directory, removed when this is
/// dropped. [`reopen`](TempRocks::reopen) closes the database and opens it
/// again, as a restarted process would; should that fail, every call
/// afterwards is an error rather than a panic.
///
/// ```
/// use raft_core::{ConfState, EntryId, LogStorage};
/// use raft_storage_rocks::TempRocks;
///
/// let mut log = TempRocks::create(None, "doc-", ConfState::with_voters([1]), EntryId::default())?;
/// log.reopen()?;
/// assert_eq!(log.last_index()?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TempRocks {
    /// `None` only after a reopen failed.
    log: Option<RocksStorage>,
    path: PathBuf,
    // Declared last: the database closes before its directory goes.
    _dir: TempDir,
}

impl TempRocks {
    /// A new log under `parent` (the system's temporary directory when
    /// `None`), in a directory named `prefix…`, holding only a snapshot
    /// point `base` with membership `conf_state`.
    pub fn create(
        parent: Option<&Path>,
        prefix: &str,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<TempRocks, RocksError> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&parent)
            .map_err(|e| RocksError::io(&parent, e))?;
        let path = dir.path().join("log");
        let log = RocksStorage::create(&path, conf_state, base)?;
        Ok(TempRocks {
            log: Some(log),
            path,
            _dir: dir,
        })
    }

    /// Closes the database and opens it again from its files.
    pub fn reopen(&mut self) -> Result<(), RocksError> {
        // Closed first: RocksDB holds a lock on its directory.
        self.log = None;
        self.log = Some(RocksStorage::open(&self.path)?);
        Ok(())
    }

    /// The database, unless the last reopen failed.
    pub fn rocks(&self) -> Option<&RocksStorage> {
        self.log.as_ref()
    }

    /// The database's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn closed() -> StorageError {
    StorageError::Other("the log is closed: reopening it failed".into())
}

impl WrapsLog for TempRocks {
    type Log = RocksStorage;
    fn wrapped(&self) -> Result<&RocksStorage, StorageError> {
        self.log.as_ref().ok_or_else(closed)
    }
    fn wrapped_mut(&mut self) -> Result<&mut RocksStorage, StorageError> {
        self.log.as_mut().ok_or_else(closed)
    }
}
