//! Storages that wrap another: one implementation of [`LogStorage`] for all
//! of them, so that a wrapper cannot forget a method (a wrapper that did not
//! forward [`LogStorage::stage_write`] would silently turn a staging log
//! into a blocking one).

use super::{InitialState, LogStorage, LogWrite, Staged, StorageError, WriteKind};
use crate::snapshot::Snapshot;
use crate::types::{ConfState, Entry};
use bytes::Bytes;

/// A storage that is another [`LogStorage`] underneath: a temporary
/// directory around a database, a log that may be closed while reopening,
/// a test double that changes one answer. Implementing this trait makes the
/// type a [`LogStorage`] that forwards every call to [`wrapped`]
/// (or [`wrapped_mut`]); only the snapshot it hands out can be changed
/// ([`wrapped_snapshot`]).
///
/// [`wrapped`]: WrapsLog::wrapped
/// [`wrapped_mut`]: WrapsLog::wrapped_mut
/// [`wrapped_snapshot`]: WrapsLog::wrapped_snapshot
///
/// ```
/// use raft_core::{LogStorage, MemStorage, StorageError, WrapsLog};
///
/// /// A log that counts nothing but says who it is.
/// struct Named(&'static str, MemStorage);
///
/// impl WrapsLog for Named {
///     type Log = MemStorage;
///     fn wrapped(&self) -> Result<&MemStorage, StorageError> {
///         Ok(&self.1)
///     }
///     fn wrapped_mut(&mut self) -> Result<&mut MemStorage, StorageError> {
///         Ok(&mut self.1)
///     }
/// }
///
/// let log = Named("n1", MemStorage::with_voters([1, 2, 3]));
/// assert_eq!(log.last_index()?, 0);
/// # Ok::<(), StorageError>(())
/// ```
pub trait WrapsLog {
    /// The storage underneath.
    type Log: LogStorage + ?Sized;

    /// The storage underneath, or why it cannot be reached now (for
    /// example, closed by a reopen that failed).
    fn wrapped(&self) -> Result<&Self::Log, StorageError>;

    /// [`wrapped`](WrapsLog::wrapped), to write through.
    fn wrapped_mut(&mut self) -> Result<&mut Self::Log, StorageError>;

    /// The snapshot [`LogStorage::snapshot`] hands out; by default the
    /// wrapped storage's.
    fn wrapped_snapshot(&self) -> Result<Snapshot, StorageError> {
        self.wrapped()?.snapshot()
    }
}

impl<S: LogStorage + ?Sized> WrapsLog for Box<S> {
    type Log = S;
    fn wrapped(&self) -> Result<&S, StorageError> {
        Ok(self)
    }
    fn wrapped_mut(&mut self) -> Result<&mut S, StorageError> {
        Ok(self)
    }
}

impl<W: WrapsLog> LogStorage for W {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        self.wrapped()?.initial_state()
    }
    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
        self.wrapped()?.entries(lo, hi, max_size)
    }
    fn term(&self, index: u64) -> Result<u64, StorageError> {
        self.wrapped()?.term(index)
    }
    fn first_index(&self) -> Result<u64, StorageError> {
        self.wrapped()?.first_index()
    }
    fn last_index(&self) -> Result<u64, StorageError> {
        self.wrapped()?.last_index()
    }
    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        self.wrapped_mut()?.write(write)
    }
    fn write_kind(&self) -> WriteKind {
        // Unreachable storage fails its writes; how they would cost is moot,
        // and blocking is the safe guess.
        self.wrapped()
            .map_or(WriteKind::Blocking, |log| log.write_kind())
    }
    fn stage_write(&mut self, write: LogWrite) -> Result<Staged, StorageError> {
        self.wrapped_mut()?.stage_write(write)
    }
    fn snapshot(&self) -> Result<Snapshot, StorageError> {
        self.wrapped_snapshot()
    }
    fn compact(&mut self, compact_index: u64) -> Result<(), StorageError> {
        self.wrapped_mut()?.compact(compact_index)
    }
    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<ConfState>,
        data: Bytes,
    ) -> Result<Snapshot, StorageError> {
        self.wrapped_mut()?.create_snapshot(index, conf_state, data)
    }
}
