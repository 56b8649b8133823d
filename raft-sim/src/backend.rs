//! What the simulated disks sit on: a [`SimStorage`] names a
//! [`BackendFactory`] that makes one durable [`Backend`] per node.
//!
//! Memory is built in; RocksDB comes with the `rocks` feature
//! (`--storage rocks`); any other storage is plugged in with
//! [`SimStorage::new`] (raft-conformance's kit does this for a user's
//! `LogStorage`).
//!
//! A crash closes the backend and opens it again ([`Backend::reopen`]).
//! RocksDB keeps a write that went through its WAL across a close even
//! without an fsync, so a backend alone cannot lose an unsynced write when
//! the process only pretends to die. The loss is modelled one level up
//! instead: [`Disk`] holds unsynced writes in memory and hands the backend
//! only what its model has made durable, with the crash deciding what of
//! the rest gets through. What a backend is then tested for is that it
//! gives back, after a close and reopen, everything it was given, and that
//! raft-core runs correctly on it.
//!
//! [`Disk`]: crate::storage::Disk

use crate::sim::SimError;
use crate::storage::{Backend, MemBackend};
use raft_core::NodeId;
use std::fmt;
use std::sync::Arc;

/// Makes the durable backend under one node's simulated disk.
///
/// Called once per node when a run starts, with the node's id and the
/// group's voters; the log starts empty at index 1. Runs of different seeds
/// may call it from several threads at once. Any closure
/// `Fn(NodeId, &[NodeId]) -> Result<Box<dyn Backend>, String>` is one.
pub trait BackendFactory: Send + Sync {
    /// A fresh, empty backend for `node` of a group of `voters`.
    fn create(&self, node: NodeId, voters: &[NodeId]) -> Result<Box<dyn Backend>, String>;
}

impl<C> BackendFactory for C
where
    C: Fn(NodeId, &[NodeId]) -> Result<Box<dyn Backend>, String> + Send + Sync,
{
    fn create(&self, node: NodeId, voters: &[NodeId]) -> Result<Box<dyn Backend>, String> {
        self(node, voters)
    }
}

/// A named backend factory, as [`crate::SimOptions::storage`] holds it.
#[derive(Clone)]
pub struct SimStorage {
    name: String,
    factory: Arc<dyn BackendFactory>,
}

impl SimStorage {
    /// Backends made by `factory`, called `name` in traces and replay
    /// commands.
    pub fn new(name: impl Into<String>, factory: impl BackendFactory + 'static) -> SimStorage {
        SimStorage {
            name: name.into(),
            factory: Arc::new(factory),
        }
    }

    /// In-memory backends.
    pub fn memory() -> SimStorage {
        SimStorage::new("mem", |_: NodeId, voters: &[NodeId]| {
            Ok(Box::new(MemBackend::new(voters.iter().copied())) as Box<dyn Backend>)
        })
    }

    /// RocksDB in a temporary directory per node (see [`rocks`]).
    #[cfg(feature = "rocks")]
    pub fn rocks() -> SimStorage {
        SimStorage::new("rocks", |_: NodeId, voters: &[NodeId]| {
            rocks::create(voters)
        })
    }

    /// The storage `--storage NAME` means: `mem`, or `rocks` in builds with
    /// the `rocks` feature.
    pub fn by_name(name: &str) -> Result<SimStorage, SimError> {
        match name {
            "mem" => Ok(SimStorage::memory()),
            #[cfg(feature = "rocks")]
            "rocks" => Ok(SimStorage::rocks()),
            #[cfg(not(feature = "rocks"))]
            "rocks" => Err(SimError::RocksUnavailable),
            other => Err(SimError::Setup(format!(
                "--storage must be mem or rocks, not {other}"
            ))),
        }
    }

    /// The name given at construction.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh backend for `node` of a group of `voters`.
    pub fn create(&self, node: NodeId, voters: &[NodeId]) -> Result<Box<dyn Backend>, String> {
        self.factory.create(node, voters)
    }
}

impl Default for SimStorage {
    fn default() -> SimStorage {
        SimStorage::memory()
    }
}

impl fmt::Debug for SimStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// RocksDB under the simulated disk (`--storage rocks`).
#[cfg(feature = "rocks")]
pub mod rocks {
    use crate::storage::Backend;
    use raft_core::{ConfState, EntryId, StorageError};
    use raft_storage_rocks::TempRocks;
    use std::path::PathBuf;

    impl Backend for TempRocks {
        fn reopen(&mut self) -> Result<(), StorageError> {
            Ok(TempRocks::reopen(self)?)
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

    /// A fresh RocksDB log for a group of `voters`.
    pub fn create(voters: &[u64]) -> Result<Box<dyn Backend>, String> {
        let conf = ConfState::with_voters(voters.iter().copied());
        let log = TempRocks::create(Some(&parent_dir()), "raft-sim-", conf, EntryId::default())
            .map_err(|e| e.to_string())?;
        Ok(Box::new(log))
    }
}
