//! The log storage contract between raft-core and a durable log.
//!
//! raft-core never writes: it reads entries it no longer holds in memory
//! through the read side of [`LogStorage`], and hands new entries and hard
//! state to the application in a [`crate::Ready`]. The application (or the
//! node runtime) writes them with [`LogStorage::write`] and then calls
//! [`crate::RawNode::advance`].
//!
//! The trait is synchronous on purpose. raft-core is a plain state machine
//! that must read the log in the middle of handling a message (to build an
//! append, to check a term), and it cannot await. Durable logs are
//! synchronous underneath anyway (RocksDB's API is blocking; an `fsync` is a
//! blocking syscall). A runtime that must not wait for the disk asks
//! [`LogStorage::write_kind`]: in-memory logs are written inline, and a log
//! that stages its writes ([`LogStorage::stage_write`]) hands the I/O to a
//! writer thread as a [`PendingWrite`] while its reads already see the
//! write. See ARCHITECTURE.md.

mod forward;
mod memory;
mod staged;

pub use forward::WrapsLog;
pub use memory::MemStorage;
pub use staged::{PendingWrite, Staged, WriteKind};

use crate::snapshot::Snapshot;
use crate::types::{ConfState, Entry, HardState};
use bytes::Bytes;
use thiserror::Error;

/// What a node recovers from its storage when it starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitialState {
    /// The last durable term, vote and commit index.
    pub hard_state: HardState,
    /// The group's membership.
    pub conf_state: ConfState,
}

/// One atomic write: the content of a Ready that must reach the log.
///
/// Applied in this order, all or nothing: the snapshot, if present, replaces
/// the whole log (every entry goes, the snapshot's index and term become the
/// point the log starts after, its membership the stored one); then entries
/// overwrite any existing entries at the same or higher indexes (the
/// conflicting suffix a new leader replaced); then the hard state, if
/// present, replaces the stored one. `sync` asks for durability before
/// `write` returns (an fsync); raft-core sets it when etcd's `MustSync`
/// would, and also for a snapshot (etcd's server syncs snapshot files too).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogWrite {
    /// New entries, contiguous by index.
    pub entries: Vec<Entry>,
    /// The hard state to store, if it changed.
    pub hard_state: Option<HardState>,
    /// A snapshot from the leader to install in place of the log.
    pub snapshot: Option<Snapshot>,
    /// Whether the write must be durable when `write` returns.
    pub sync: bool,
}

impl LogWrite {
    /// A write of `entries` and `hard_state`, durable if `sync`, without a
    /// snapshot.
    pub fn new(entries: Vec<Entry>, hard_state: Option<HardState>, sync: bool) -> LogWrite {
        LogWrite {
            entries,
            hard_state,
            snapshot: None,
            sync,
        }
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.hard_state.is_none() && self.snapshot.is_none()
    }
}

/// A Raft log with its hard state: read by raft-core, written by the runtime.
///
/// Indexes are contiguous from [`first_index`](LogStorage::first_index) to
/// [`last_index`](LogStorage::last_index); the entry just before the first
/// (index `first_index - 1`) is no longer stored but its term is still known
/// (for a fresh log that is index 0, term 0; for a log bootstrapped at index
/// `n`, the bootstrap point; after a compaction, the compaction point; after
/// a snapshot was installed, the snapshot's index).
///
/// Snapshots and compaction are required methods, so that a wrapper around
/// another storage cannot forget to forward them. A log that keeps no
/// snapshots answers [`snapshot`](LogStorage::snapshot) with
/// [`StorageError::SnapshotTemporarilyUnavailable`] (a leader then waits
/// instead of sending one) and refuses [`compact`](LogStorage::compact) and
/// [`create_snapshot`](LogStorage::create_snapshot) with
/// [`StorageError::Unsupported`].
pub trait LogStorage {
    /// The hard state and membership persisted so far.
    fn initial_state(&self) -> Result<InitialState, StorageError>;

    /// Entries in `[lo, hi)`, stopping before the total encoded size would
    /// exceed `max_size` but always returning at least one entry when the
    /// range is non-empty. `lo` below the first index is
    /// [`StorageError::Compacted`]; `hi` beyond `last_index + 1` is
    /// [`StorageError::Unavailable`].
    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError>;

    /// The term of the entry at `index`, for any index from
    /// `first_index - 1` to `last_index`.
    fn term(&self, index: u64) -> Result<u64, StorageError>;

    /// The index of the first stored entry.
    fn first_index(&self) -> Result<u64, StorageError>;

    /// The index of the last stored entry (`first_index - 1` when empty).
    fn last_index(&self) -> Result<u64, StorageError>;

    /// Applies `write` atomically: either all of it is visible afterwards, or
    /// none of it and an error is returned. With `write.sync`, it is durable
    /// when this returns. A snapshot older than (or as old as) the stored
    /// one is [`StorageError::SnapshotOutOfDate`].
    fn write(&mut self, write: LogWrite) -> Result<(), StorageError>;

    /// What [`write`](LogStorage::write) costs the calling thread. By
    /// default [`WriteKind::Blocking`], the safe assumption for a log
    /// that does I/O.
    fn write_kind(&self) -> WriteKind {
        WriteKind::Blocking
    }

    /// Makes `write` visible to reads at once and returns the I/O still to
    /// do, for a writer thread (see [`PendingWrite`]: in staging order, one
    /// at a time). Until that has run a crash may lose the write, and the
    /// caller must not vouch for it. Last index, hard state and snapshot
    /// reflect it at once; its entries need not be readable until their
    /// I/O has run (a storage may serve older ones from disk only), which
    /// raft-core never asks for: they are still in its unstable log. Refused writes are refused here,
    /// changing nothing, as by `write`.
    ///
    /// By default the whole write happens here ([`Staged::Done`]); a
    /// storage that says [`WriteKind::Staged`] splits it.
    fn stage_write(&mut self, write: LogWrite) -> Result<Staged, StorageError> {
        self.write(write).map(|()| Staged::Done)
    }

    /// The most recent snapshot (etcd's `Storage.Snapshot`): what a leader
    /// sends a follower that needs entries the log no longer holds. It may
    /// be [`StorageError::SnapshotTemporarilyUnavailable`] while one is
    /// being made; the leader then tries again later.
    fn snapshot(&self) -> Result<Snapshot, StorageError>;

    /// Discards every entry up to and including `compact_index` (etcd's
    /// `MemoryStorage.Compact`): the first index becomes `compact_index + 1`
    /// and the term at `compact_index` stays known. The application calls
    /// it once its state up to that index is safe in a snapshot. An index
    /// already compacted is [`StorageError::Compacted`]; one beyond the last
    /// entry is [`StorageError::Unavailable`].
    fn compact(&mut self, compact_index: u64) -> Result<(), StorageError>;

    /// Records `data`, the application's state as of the applied entry
    /// `index`, as the latest snapshot (etcd's
    /// `MemoryStorage.CreateSnapshot`), with membership `conf_state` if
    /// given, else the stored one; durable when it returns. The log is
    /// untouched: call [`compact`](LogStorage::compact) afterwards to drop
    /// the entries it covers. `index` not newer than the stored snapshot is
    /// [`StorageError::SnapshotOutOfDate`]; outside the log,
    /// [`StorageError::Compacted`] or [`StorageError::Unavailable`].
    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<ConfState>,
        data: Bytes,
    ) -> Result<Snapshot, StorageError>;
}

/// Why a storage call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The index is below the first stored entry.
    #[error("requested index is unavailable due to compaction")]
    Compacted,
    /// The index is beyond the last stored entry.
    #[error("requested entry at index is unavailable")]
    Unavailable,
    /// A snapshot (to install or to create) is not newer than the stored one.
    #[error("requested index is older than the existing snapshot")]
    SnapshotOutOfDate,
    /// No snapshot can be handed out right now (one is being made); the
    /// leader tries again later.
    #[error("snapshot is temporarily unavailable")]
    SnapshotTemporarilyUnavailable,
    /// The storage does not do this (e.g. a log that never compacts).
    #[error("log storage does not support {0}")]
    Unsupported(&'static str),
    /// A write would leave a gap or rewrite entries that cannot change.
    #[error("invalid log write: {0}")]
    InvalidWrite(String),
    /// The stored bytes do not decode, or break the log's invariants.
    #[error("log storage is corrupted: {0}")]
    Corrupted(String),
    /// The operating system refused an operation (disk full, read-only, ...).
    #[error("log storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// Any other failure of a storage backend.
    #[error("log storage failed: {0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// The range rule of [`LogStorage::entries`] for a log holding
/// `[first, last]`: `lo` below `first` is [`StorageError::Compacted`], `hi`
/// beyond `last + 1` or an inverted range is [`StorageError::Unavailable`].
/// Backends call it so that they all refuse the same ranges the same way.
pub fn check_entries_range(lo: u64, hi: u64, first: u64, last: u64) -> Result<(), StorageError> {
    if lo < first {
        return Err(StorageError::Compacted);
    }
    if hi > last + 1 || lo > hi {
        return Err(StorageError::Unavailable);
    }
    Ok(())
}

/// Keeps the longest prefix of `entries` whose total encoded size stays within
/// `max_size`, but never fewer than one entry: a single oversized entry must
/// still be sendable, or replication would stall on it.
pub fn limit_size(entries: &mut Vec<Entry>, max_size: u64) {
    let keep = prefix_within_size(entries, max_size);
    entries.truncate(keep);
}

/// Copies the prefix [`limit_size`] would keep, and only that: a follower far
/// behind is sent one size-limited append at a time, and copying the whole
/// rest of the log for each would make catching up quadratic.
pub fn clone_within_size(entries: &[Entry], max_size: u64) -> Vec<Entry> {
    entries[..prefix_within_size(entries, max_size)].to_vec()
}

/// How many leading entries fit in `max_size` (at least one, if any).
fn prefix_within_size(entries: &[Entry], max_size: u64) -> usize {
    // The first entry is kept whatever its size, so a single one (every
    // append a leader streams one proposal at a time) needs no sizing.
    let [first, _, ..] = entries else {
        return entries.len();
    };
    let mut size = first.encoded_size();
    let mut keep = 1;
    while keep < entries.len() {
        size = size.saturating_add(entries[keep].encoded_size());
        if size > max_size {
            break;
        }
        keep += 1;
    }
    keep
}

/// Total encoded size of `entries`, as etcd counts it.
pub(crate) fn entries_size(entries: &[Entry]) -> u64 {
    entries.iter().map(Entry::encoded_size).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Copying only the kept prefix gives exactly what copying everything
        /// and then cutting gives.
        #[test]
        fn clone_within_size_keeps_what_limit_size_keeps(
            sizes in proptest::collection::vec(0usize..40, 0..12),
            max_size in 0u64..200,
        ) {
            let entries: Vec<Entry> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| Entry {
                    term: 1,
                    index: i as u64 + 1,
                    data: bytes::Bytes::from(vec![7u8; n]),
                    ..Entry::default()
                })
                .collect();
            let mut cut = entries.clone();
            limit_size(&mut cut, max_size);
            prop_assert_eq!(clone_within_size(&entries, max_size), cut);
        }
    }
}
