//! Where nodes keep their logs: a [`StorageSource`] names a
//! [`StorageFactory`] and makes each node's log through it.

use crate::kit::{BoxError, StorageFactory};
use raft_core::{ConfState, EntryId, LogStorage, MemStorage, NodeId};
use std::fmt;
use std::sync::Arc;

/// A named, shareable source of fresh logs: the environment asks it for one
/// log per node it creates. Cloning shares the factory.
#[derive(Clone)]
pub struct StorageSource {
    name: String,
    factory: Arc<dyn MakeLog>,
}

/// The object-safe part of a [`StorageFactory`]: creating boxed logs.
trait MakeLog: Send + Sync {
    fn make(
        &self,
        node: NodeId,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<Box<dyn LogStorage>, BoxError>;
}

/// Adapts any factory to [`MakeLog`].
struct Boxing<F>(F);

impl<F: StorageFactory> MakeLog for Boxing<F> {
    fn make(
        &self,
        node: NodeId,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<Box<dyn LogStorage>, BoxError> {
        Ok(Box::new(self.0.create(node, conf_state, base)?))
    }
}

impl StorageSource {
    /// Logs made by `factory`, called `name` in reports.
    pub fn new(name: impl Into<String>, factory: impl StorageFactory + 'static) -> StorageSource {
        StorageSource {
            name: name.into(),
            factory: Arc::new(Boxing(factory)),
        }
    }

    /// [`MemStorage`], the reference every other storage is compared with.
    pub fn memory() -> StorageSource {
        StorageSource::new("memory", MemoryFactory)
    }

    /// [`raft_storage_rocks::RocksStorage`], one database per node in a
    /// temporary directory removed with the log.
    #[cfg(feature = "rocks")]
    pub fn rocks() -> StorageSource {
        StorageSource::new("rocks", crate::kit::rocks::RocksFactory)
    }

    /// The storage `raft-script --storage NAME` means: `mem` (or `memory`),
    /// or `rocks` (or `rocksdb`) when built with the `rocks` feature.
    pub fn by_name(name: &str) -> Result<StorageSource, UnknownBackend> {
        match name {
            "mem" | "memory" => Ok(StorageSource::memory()),
            #[cfg(feature = "rocks")]
            "rocks" | "rocksdb" => Ok(StorageSource::rocks()),
            #[cfg(not(feature = "rocks"))]
            "rocks" | "rocksdb" => Err(UnknownBackend::NotBuilt {
                kind: "storage",
                name: name.to_string(),
                feature: "rocks",
            }),
            _ => Err(UnknownBackend::Unknown {
                kind: "storage",
                name: name.to_string(),
            }),
        }
    }

    /// The name given at construction.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh log for `node`, starting after `base` with `conf_state`.
    pub fn create(
        &self,
        node: NodeId,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<Box<dyn LogStorage>, BoxError> {
        self.factory.make(node, conf_state, base)
    }
}

impl Default for StorageSource {
    fn default() -> StorageSource {
        StorageSource::memory()
    }
}

impl fmt::Debug for StorageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageSource({})", self.name)
    }
}

/// Makes [`MemStorage`] logs (which cannot be reopened: nothing persists).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryFactory;

impl StorageFactory for MemoryFactory {
    type Storage = MemStorage;

    fn create(
        &self,
        _: NodeId,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<MemStorage, BoxError> {
        Ok(MemStorage::with_base(conf_state, base))
    }
}

/// A storage or transport name that this build cannot provide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownBackend {
    /// No backend has this name.
    #[error("unknown {kind} {name:?}")]
    Unknown {
        /// `storage` or `transport`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// The backend exists but this build left it out.
    #[error(
        "{kind} {name:?} is not built in: rebuild raft-conformance with `--features {feature}`"
    )]
    NotBuilt {
        /// `storage` or `transport`.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The cargo feature that adds it.
        feature: &'static str,
    },
}
