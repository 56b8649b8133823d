//! Errors of the runtime.

use raft_core::NodeId;
use thiserror::Error;

/// Why a proposal did not (or may not) commit.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProposeError {
    /// This node does not lead; propose to the leader (when known).
    #[error("not the leader{}", .leader.map(|l| format!(" (leader is {l})")).unwrap_or_default())]
    NotLeader {
        /// The leader this node knows of, if any.
        leader: Option<NodeId>,
    },
    /// Raft refused it (e.g. the uncommitted-size limit), or it did not
    /// commit within the proposal timeout. It may still commit later.
    #[error("proposal dropped: {reason}")]
    Dropped {
        /// Why, in words.
        reason: String,
    },
    /// The node is shutting down or has stopped.
    #[error("node is shutting down")]
    ShuttingDown,
}

/// Why the node's loop stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The configuration was refused at start.
    #[error(transparent)]
    Config(#[from] crate::config::NodeConfigError),
    /// raft-core failed, most likely its storage: restart the node from storage.
    #[error(transparent)]
    Raft(#[from] raft_core::Error),
    /// The state machine could not restore a snapshot: its state is no
    /// longer the log's, so the node stops rather than diverge.
    #[error("state machine restore at index {index} failed: {source}")]
    Restore {
        /// The snapshot's index.
        index: u64,
        /// Why.
        source: crate::state_machine::SnapshotError,
    },
    /// The node's task panicked or was cancelled.
    #[error("the node task failed: {0}")]
    Task(String),
}
