//! [`RocksFactory`]: RocksStorage logs in temporary directories, reopenable,
//! for scripts (`--storage rocks`), the contract suite and the simulator.

use super::{BoxError, StorageFactory};
use raft_core::{ConfState, EntryId, NodeId};
pub use raft_storage_rocks::TempRocks;

/// Makes [`TempRocks`] logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct RocksFactory;

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
        let prefix = format!("raft-conformance-node{node}-");
        Ok(quietly(|| {
            TempRocks::create(None, &prefix, conf_state, base)
        })?)
    }

    fn can_reopen(&self) -> bool {
        true
    }

    fn reopen(&self, mut storage: TempRocks) -> Result<TempRocks, BoxError> {
        quietly(|| storage.reopen())?;
        Ok(storage)
    }
}
