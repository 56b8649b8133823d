//! Where nodes keep their logs.

use super::StorageKind;
use raft_core::{
    ConfState, Entry, EntryId, InitialState, LogStorage, LogWrite, MemStorage, StorageError,
};
use raft_storage_rocks::RocksStorage;
use tempfile::TempDir;

/// A fresh log for a node, starting after `base` with `conf_state`.
pub fn new_storage(
    kind: StorageKind,
    node: u64,
    conf_state: ConfState,
    base: EntryId,
) -> Result<Box<dyn LogStorage>, String> {
    match kind {
        StorageKind::Memory => Ok(Box::new(MemStorage::with_base(conf_state, base))),
        StorageKind::Rocks => Ok(Box::new(TempRocks::create(node, conf_state, base)?)),
    }
}

/// A RocksDB log in a temporary directory that lives exactly as long as
/// the log: the node owns both, and the directory is removed when the
/// environment drops the node.
struct TempRocks {
    // Field order matters: the database closes before its directory goes.
    log: RocksStorage,
    _dir: TempDir,
}

impl TempRocks {
    fn create(node: u64, conf_state: ConfState, base: EntryId) -> Result<TempRocks, String> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("raft-script-node{node}-"))
            .tempdir()
            .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        // A script's log lines are the protocol's, as in etcd's harness. The
        // storage's own (which name the random directory) would make this
        // storage print differently from the in-memory one.
        let log =
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
                RocksStorage::create(dir.path(), conf_state, base)
            })
            .map_err(|e| e.to_string())?;
        Ok(TempRocks { log, _dir: dir })
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
}
