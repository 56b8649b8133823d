//! Errors of the runtime.

use raft_core::NodeId;
use thiserror::Error;

/// Why a proposal did not (or may not) commit.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProposeError {
    /// This node does not lead; propose to the leader (when known).
    #[error("not the leader{}", .leader.map(|l| format!(" (leader is {l})")).unwrap_or_default())]
    NotLeader { leader: Option<NodeId> },
    /// Raft refused it (e.g. the uncommitted-size limit), or it did not
    /// commit within the proposal timeout. It may still commit later.
    #[error("proposal dropped: {reason}")]
    Dropped { reason: String },
    /// The node is shutting down or has stopped.
    #[error("node is shutting down")]
    ShuttingDown,
}

/// Why the node's loop stopped.
#[derive(Debug, Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] crate::config::NodeConfigError),
    #[error(transparent)]
    Raft(#[from] raft_core::Error),
    #[error("the node task failed: {0}")]
    Task(String),
}
