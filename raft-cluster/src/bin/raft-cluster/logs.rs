//! Reading the logs back from disk after a run, and the checks made on them.

use crate::AnyError;
use raft_cluster::failover::Log;
use raft_core::LogStorage;
use raft_storage_rocks::RocksStorage;
use std::path::Path;

/// Opens a stopped node's RocksDB log and reads all of it.
pub fn read_log(dir: &Path) -> Result<Log, AnyError> {
    let store = RocksStorage::open(dir)?;
    let first = store.first_index()?;
    let last = store.last_index()?;
    let entries = if last >= first {
        store.entries(first, last + 1, u64::MAX)?
    } else {
        Vec::new()
    };
    Ok(Log {
        hard_state: store.initial_state()?.hard_state,
        entries,
    })
}
