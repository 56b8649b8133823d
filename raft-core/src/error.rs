//! The errors `RawNode` returns.

use crate::config::ConfigError;
use crate::storage::StorageError;
use thiserror::Error;

/// Why a call into the state machine failed.
///
/// The first three display exactly as etcd's errors do, because the
/// interaction scripts print them.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The proposal was not appended: no leader known, forwarding disabled,
    /// or the uncommitted-size limit reached. Retrying later may succeed.
    #[error("raft proposal dropped")]
    ProposalDropped,
    /// A message type only a node generates for itself arrived from outside.
    #[error("raft: cannot step raft local message")]
    StepLocalMsg,
    /// A response came from a node that is not in the group.
    #[error("raft: cannot step as peer not found")]
    StepPeerNotFound,
    /// `RawNode::advance` was called on a node with
    /// `Config::async_storage_writes`, where the storage threads' responses
    /// take its place.
    #[error("advance must not be called when using async storage writes")]
    AdvanceWithAsyncStorageWrites,
    /// A message broke a protocol invariant that a correct peer never breaks
    /// (e.g. entries that do not follow each other). It was not applied.
    #[error("raft: invalid message from {from:x}: {reason}")]
    InvalidMessage {
        /// The sender the message claimed.
        from: u64,
        /// What was wrong with it.
        reason: String,
    },
    /// A membership change could not be decoded or applied.
    #[error(transparent)]
    ConfChange(#[from] crate::confchange::ConfChangeError),
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The log storage failed. The node's in-memory state may be ahead of what
    /// it could read; stop it and restart it from storage.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// `Result` with this crate's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;
