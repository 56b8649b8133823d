//! How a storage's writes meet the thread that makes them: whether they
//! wait for a disk at all, and, for those that do, splitting a write into
//! the part readers must see at once and the I/O another thread can do.
//!
//! A runtime whose Raft loop must never wait (raft-node with background
//! writes) asks [`LogStorage::write_kind`](super::LogStorage::write_kind):
//! a [`WriteKind::Memory`] storage is written inline, a
//! [`WriteKind::Staged`] one through
//! [`LogStorage::stage_write`](super::LogStorage::stage_write), whose
//! [`PendingWrite`] goes to a writer thread.

use super::StorageError;

/// What calling [`LogStorage::write`](super::LogStorage::write) costs the
/// calling thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteKind {
    /// Writes touch memory only and return at once: nothing to hand off.
    Memory,
    /// Writes wait for I/O (a disk, an fsync) on the calling thread.
    Blocking,
    /// Writes wait for I/O, but
    /// [`LogStorage::stage_write`](super::LogStorage::stage_write) splits
    /// them: the in-memory view changes at once, the I/O is a
    /// [`PendingWrite`] for another thread.
    Staged,
}

/// The disk half of a staged write: the in-memory half is done, this makes
/// it durable.
///
/// Pending writes of one storage must run in the order they were staged,
/// one at a time. A write run with `sync` makes every write of the same
/// storage that ran before it durable too (as a write-ahead log's fsync
/// does), so a writer that has several at hand runs them all and syncs
/// only the last: group commit.
pub trait PendingWrite: Send {
    /// Writes; durable when this returns if `sync`. A failure leaves the
    /// storage's in-memory view ahead of its disk: the node must stop and
    /// restart from what the disk holds.
    fn run(self: Box<Self>, sync: bool) -> Result<(), StorageError>;
}

/// What [`LogStorage::stage_write`](super::LogStorage::stage_write) left to
/// do.
pub enum Staged {
    /// Nothing: the write is as durable as it asked already.
    Done,
    /// The I/O, to run on a writer thread.
    Pending(Box<dyn PendingWrite>),
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Staged::Done => f.write_str("Done"),
            Staged::Pending(_) => f.write_str("Pending(..)"),
        }
    }
}
