//! How the kit obtains logs: [`StorageFactory`], implemented by the user for
//! their own [`LogStorage`], and by closures for storages that cannot reopen.

use raft_core::{ConfState, EntryId, LogStorage, NodeId};

/// The error a factory returns when it cannot create or reopen a log.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Makes fresh logs for the kit, and optionally reopens them.
///
/// `create` is called once per node of each interaction script, and once
/// or more per case of the contract suite: every call must return a new,
/// independent, empty log (temporary directories are the usual way). The
/// log starts after `base`: its first index is `base.index + 1`, the term at
/// `base.index` is `base.term`, and `initial_state()` returns `conf_state`
/// with an empty hard state — what [`raft_core::MemStorage::with_base`]
/// does.
///
/// A storage that persists implements [`reopen`](StorageFactory::reopen)
/// and returns true from [`can_reopen`](StorageFactory::can_reopen); the
/// contract suite then also checks that everything written with `sync`
/// survives closing and opening the log again.
///
/// Any closure `Fn(NodeId, ConfState, EntryId) -> Result<S, E>` is a factory
/// that cannot reopen:
///
/// ```
/// use raft_conformance::kit::StorageFactory;
/// use raft_core::{ConfState, EntryId, MemStorage};
///
/// let factory = |_node, conf_state, base| Ok::<_, String>(MemStorage::with_base(conf_state, base));
/// assert!(!factory.can_reopen());
/// ```
pub trait StorageFactory: Send + Sync {
    /// The log this factory makes.
    type Storage: LogStorage + 'static;

    /// A new, empty log for `node` of a group whose membership is
    /// `conf_state`, starting after `base`.
    fn create(
        &self,
        node: NodeId,
        conf_state: ConfState,
        base: EntryId,
    ) -> Result<Self::Storage, BoxError>;

    /// Whether [`reopen`](StorageFactory::reopen) works. False by default.
    fn can_reopen(&self) -> bool {
        false
    }

    /// Closes `storage` (dropping whatever it held in memory) and opens what
    /// it persisted, as a restarted process would. Called only when
    /// [`can_reopen`](StorageFactory::can_reopen) is true.
    fn reopen(&self, storage: Self::Storage) -> Result<Self::Storage, BoxError> {
        drop(storage);
        Err("this storage factory cannot reopen a log".into())
    }
}

impl<S, E, C> StorageFactory for C
where
    C: Fn(NodeId, ConfState, EntryId) -> Result<S, E> + Send + Sync,
    S: LogStorage + 'static,
    E: Into<BoxError>,
{
    type Storage = S;

    fn create(&self, node: NodeId, conf_state: ConfState, base: EntryId) -> Result<S, BoxError> {
        self(node, conf_state, base).map_err(Into::into)
    }
}
