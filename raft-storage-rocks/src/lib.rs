//! # raft-storage-rocks
//!
//! A crash-safe Raft log and hard state on RocksDB: [`RocksStorage`]
//! implements raft-core's [`LogStorage`](raft_core::LogStorage) with the
//! same observable behaviour as [`MemStorage`](raft_core::MemStorage), and
//! keeps it across restarts.
//!
//! * **Layout** ([`format`](mod@format)): entries in their own column family under
//!   big-endian index keys, so a range read is one ordered scan; hard state,
//!   membership, the base `(index, term)` and a format/version marker in a
//!   second column family. Every value carries a version byte.
//! * **Writes**: one `WriteBatch` per [`LogWrite`](raft_core::LogWrite) —
//!   the new entries, a range tombstone for the conflicting suffix they
//!   replace, the hard state — fdatasync'd when `LogWrite::sync` is set. A
//!   batch is all-or-nothing across a crash; a failed write changes nothing,
//!   on disk or in memory.
//! * **Snapshots and compaction** ([`RocksStorage::compact_to`],
//!   [`RocksStorage::create_snapshot`], and a [`LogWrite`](raft_core::LogWrite)
//!   carrying a snapshot): the snapshot's metadata and data are one record;
//!   installing one cuts the whole log in the same batch, compaction is a
//!   range tombstone plus the new base in one batch, so the first index is
//!   never behind a durable snapshot and the log never has a gap. A
//!   snapshot record that does not decode, or that lies beyond the log's
//!   end, is a typed error at open.
//! * **Reads**: first and last index live in memory. A tail cache holds the
//!   newest entries (4096 / 8 MiB by default, [`StorageOptions`]), so the
//!   hot reads of the Raft loop — terms of recent entries, entries for
//!   followers that are slightly behind — never call into RocksDB; older
//!   entries come from RocksDB's 64 MiB memtable while recent, then from
//!   SSTs. `benches/append.rs` measures both paths. Entries of a staged
//!   write stay cached, beyond the bounds, until its batch has run, so a
//!   read never finds a gap between the view and the disk.
//! * **Open** ([`RocksStorage::open`]) recovers hard state, membership, base,
//!   first and last index, checks the format marker, and refuses foreign or
//!   corrupted data with a [`RocksError`], never a panic: another program's
//!   database, a newer format version, a record that does not decode, a gap
//!   at either end of the log or inside the cached tail, a commit index past
//!   the last entry. A gap further back is reported by the read that meets
//!   it ([`StorageError::Corrupted`](raft_core::StorageError::Corrupted)).
//! * **Options** ([`options`], with the reasons): WAL on with
//!   point-in-time recovery and fdatasync; LZ4 on the entries' SST blocks,
//!   no compression for metadata or the WAL; two background jobs, no
//!   statistics dumps, info log at WARN; a 64 MiB memtable.
//!
//! ```
//! use raft_core::{ConfState, Entry, EntryId, HardState, LogStorage, LogWrite};
//! use raft_storage_rocks::RocksStorage;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("node-1");
//! let mut log = RocksStorage::create(&path, ConfState::with_voters([1, 2, 3]), EntryId::default())?;
//! let mut write = LogWrite::default();
//! write.entries = vec![
//!     Entry { term: 1, index: 1, ..Entry::new(&b"x=1"[..]) },
//!     Entry { term: 1, index: 2, ..Entry::new(&b"y=2"[..]) },
//! ];
//! write.hard_state = Some(HardState { term: 1, vote: 1, commit: 1 });
//! write.sync = true;
//! log.write(write)?;
//! drop(log);
//!
//! // A restarted node continues where it stopped.
//! let log = RocksStorage::open(&path)?;
//! assert_eq!(log.last_index()?, 2);
//! assert_eq!(log.initial_state()?.hard_state.commit, 1);
//! assert_eq!(log.entries(1, 3, u64::MAX)?[1].data, &b"y=2"[..]);
//! // Creating over an existing log is refused.
//! assert!(RocksStorage::create(&path, ConfState::default(), EntryId::default()).is_err());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod error;
pub mod format;
pub mod options;
mod setup;
mod snapshot;
mod storage;
mod tail;
mod temp;

pub use error::RocksError;
pub use options::StorageOptions;
pub use storage::RocksStorage;
pub use temp::TempRocks;
