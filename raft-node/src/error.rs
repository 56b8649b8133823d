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

/// Why a linearizable read ([`crate::NodeHandle::read_index`]) gave no read
/// point. Every variant but `ShuttingDown` is worth retrying, after a pause
/// or on the leader the error names.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadError {
    /// This node knows no leader to confirm the read with (an election is
    /// running, or this node is cut off).
    #[error("no leader known to confirm the read")]
    NoLeader,
    /// The leader or term changed while the read was being confirmed; raft
    /// drops such requests, so no answer will come.
    #[error("read dropped: {reason}")]
    Dropped {
        /// Why, in words.
        reason: String,
    },
    /// No confirmation (or not applied that far here) within the read
    /// timeout: the leader may be cut off from its quorum. Serving the read
    /// anyway could return stale state, so the runtime refuses.
    #[error("read not confirmed within {ticks} ticks")]
    Timeout {
        /// The timeout, in ticks.
        ticks: u64,
    },
    /// The node is shutting down or has stopped.
    #[error("node is shutting down")]
    ShuttingDown,
}

/// Why a leadership transfer ([`crate::NodeHandle::transfer_leader`]) did
/// not complete.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferError {
    /// This node knows no leader that could hand over.
    #[error("no leader known to transfer leadership from")]
    NoLeader,
    /// The target is not a voter of the current configuration (a learner,
    /// or not a member): it could never win.
    #[error("node {to} is not a voter and cannot take leadership")]
    NotVoter {
        /// The requested transferee.
        to: NodeId,
    },
    /// Another node won leadership instead of the transferee.
    #[error("leadership went to {leader} instead of {to}")]
    Aborted {
        /// The requested transferee.
        to: NodeId,
        /// The node that leads now.
        leader: NodeId,
    },
    /// The transferee did not take over in time (raft gives up a transfer
    /// after an election timeout, e.g. when the transferee is unreachable).
    #[error("leadership did not move to {to} within {ticks} ticks")]
    Timeout {
        /// The requested transferee.
        to: NodeId,
        /// The timeout, in ticks.
        ticks: u64,
    },
    /// The node is shutting down or has stopped.
    #[error("node is shutting down")]
    ShuttingDown,
}
