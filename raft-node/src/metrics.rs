//! What a running node reports about itself.

use raft_core::{NodeId, Role};

/// A snapshot of a node's state, refreshed after every Ready.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// The node's id.
    pub id: NodeId,
    /// Its current role.
    pub role: Role,
    /// Its current term.
    pub term: u64,
    /// The leader this node knows of, if any.
    pub leader: Option<NodeId>,
    /// The highest index known to be committed.
    pub commit: u64,
    /// The highest index applied to the state machine.
    pub applied: u64,
    /// Each peer's highest known matching index; only a leader tracks them.
    pub peer_match: Vec<(NodeId, u64)>,
    /// Readies handled so far (each one write and at most one fsync).
    pub readies: u64,
    /// Proposals waiting to commit.
    pub pending_proposals: usize,
}
