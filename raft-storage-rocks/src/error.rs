//! Errors of opening, creating and using a RocksDB log.

use raft_core::StorageError;
use std::path::PathBuf;
use thiserror::Error;

/// Why a log could not be created, opened, read or written.
///
/// The [`raft_core::LogStorage`] methods report these as
/// [`StorageError`]s (see the `From` impl): corruption stays
/// [`StorageError::Corrupted`], failures of the operating system become
/// [`StorageError::Io`], everything else [`StorageError::Other`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RocksError {
    /// `create` found data at the path; it never overwrites anything.
    #[error("{path}: already holds data; refusing to create a log over it")]
    AlreadyExists {
        /// The directory.
        path: PathBuf,
    },
    /// `open` found no database at the path.
    #[error("{path}: no Raft log here")]
    NotFound {
        /// The directory.
        path: PathBuf,
    },
    /// The path holds something that is not a log of this crate: another
    /// RocksDB database, or files of some other program.
    #[error("{path}: not a raft-storage-rocks log: {reason}")]
    Foreign {
        /// The directory.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// A log written by a build with a newer on-disk format.
    #[error("{path}: log format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The log's directory.
        path: PathBuf,
        /// The version the log was written with.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// Stored records do not decode, or break the log's invariants (a gap,
    /// a commit index beyond the last entry).
    #[error("log is corrupted: {0}")]
    Corrupted(String),
    /// A write asked for something the log cannot hold.
    #[error("invalid log write: {0}")]
    InvalidWrite(String),
    /// A snapshot to install or create is not newer than the stored one.
    #[error("requested index is older than the existing snapshot")]
    SnapshotOutOfDate,
    /// A compaction or snapshot named an index the log no longer holds.
    #[error("requested index is unavailable due to compaction")]
    Compacted,
    /// A compaction or snapshot named an index beyond the last entry.
    #[error("requested entry at index is unavailable")]
    Unavailable,
    /// RocksDB refused an operation.
    #[error("RocksDB: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A file-system operation of this crate itself (not RocksDB's) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

impl RocksError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> RocksError {
        RocksError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<RocksError> for StorageError {
    fn from(e: RocksError) -> StorageError {
        match e {
            RocksError::Corrupted(msg) => StorageError::Corrupted(msg),
            RocksError::InvalidWrite(msg) => StorageError::InvalidWrite(msg),
            RocksError::SnapshotOutOfDate => StorageError::SnapshotOutOfDate,
            RocksError::Compacted => StorageError::Compacted,
            RocksError::Unavailable => StorageError::Unavailable,
            RocksError::Io { source, .. } => StorageError::Io(source),
            RocksError::Rocks(r) => match r.kind() {
                rocksdb::ErrorKind::Corruption => StorageError::Corrupted(r.into_string()),
                rocksdb::ErrorKind::IOError => StorageError::Io(std::io::Error::other(r)),
                _ => StorageError::Other(Box::new(r)),
            },
            other => StorageError::Other(Box::new(other)),
        }
    }
}
