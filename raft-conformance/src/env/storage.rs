//! Where nodes keep their logs.

use super::StorageKind;
use raft_core::{ConfState, EntryId, LogStorage, MemStorage};

/// A fresh log for a node, starting after `base` with `conf_state`.
pub fn new_storage(
    kind: StorageKind,
    _node: u64,
    conf_state: ConfState,
    base: EntryId,
) -> Result<Box<dyn LogStorage>, String> {
    match kind {
        StorageKind::Memory => Ok(Box::new(MemStorage::with_base(conf_state, base))),
    }
}
