//! [`RocksFactory`]: RocksStorage logs in temporary directories, reopenable,
//! for scripts (`--storage rocks`), the contract suite and the simulator.

use super::{BoxError, StorageFactory};
use raft_core::{
    ConfState, Entry, EntryId, InitialState, LogStorage, LogWrite, NodeId, StorageError,
};
use raft_storage_rocks::RocksStorage;
use tempfile::TempDir;

/// Makes [`TempRocks`] logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct RocksFactory;

/// A RocksDB log in a temporary directory that lives exactly as long as
/// the log: whoever owns the log owns both, and the directory is removed
/// when the log is dropped.
pub struct TempRocks {
    // Field order matters: the database closes before its directory goes.
    log: RocksStorage,
    dir: TempDir,
}

impl TempRocks {
    /// The database itself.
    pub fn rocks(&self) -> &RocksStorage {
        &self.log
    }
}

/// Runs `f` with this thread's logging silenced. A script's log lines are
/// the protocol's, as in etcd's harness; the storage's own (which name the
/// random directory) would make RocksDB print differently from memory.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), f)
}

impl StorageFactory for RocksFactory {
    type Storage = TempRocks;

    fn create(
        &self,
        node: NodeId,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<TempRocks, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("raft-conformance-node{node}-"))
            .tempdir()?;
        let log = quietly(|| RocksStorage::create(dir.path(), conf_state, base))?;
        Ok(TempRocks { log, dir })
    }

    fn can_reopen(&self) -> bool {
        true
    }

    fn reopen(&self, storage: TempRocks) -> Result<TempRocks, BoxError> {
        let TempRocks { log, dir } = storage;
        // RocksDB holds a lock on its directory until closed.
        drop(log);
        let log = quietly(|| RocksStorage::open(dir.path()))?;
        Ok(TempRocks { log, dir })
    }
}

impl LogStorage for TempRocks {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        self.log.initial_state()
    }
    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
        self.log.entries(lo, hi, max_size)
    }
    fn term(&self, index: u64) -> Result<u64, StorageError> {
        self.log.term(index)
    }
    fn first_index(&self) -> Result<u64, StorageError> {
        self.log.first_index()
    }
    fn last_index(&self) -> Result<u64, StorageError> {
        self.log.last_index()
    }
    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        self.log.write(write)
    }
    fn snapshot(&self) -> Result<raft_core::Snapshot, StorageError> {
        self.log.snapshot()
    }
    fn compact(&mut self, compact_index: u64) -> Result<(), StorageError> {
        self.log.compact(compact_index)
    }
    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<raft_core::ConfState>,
        data: bytes::Bytes,
    ) -> Result<raft_core::Snapshot, StorageError> {
        LogStorage::create_snapshot(&mut self.log, index, conf_state, data)
    }
}
