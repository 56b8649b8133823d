//! A read-only snapshot of a node's state, for operators and tests.

use crate::raft::Raft;
use crate::storage::LogStorage;
use crate::tracker::Progress;
use crate::types::{ConfState, HardState, NodeId, SoftState};
use std::collections::BTreeMap;

/// What [`crate::RawNode::status`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The node's id.
    pub id: NodeId,
    /// Term, vote and commit index.
    pub hard_state: HardState,
    /// Role and known leader.
    pub soft_state: SoftState,
    /// The highest index the application has applied (as acknowledged through `advance`).
    pub applied: u64,
    /// Voters of the current configuration (of both halves while joint),
    /// ascending.
    pub voters: Vec<NodeId>,
    /// The configuration the node applied, learners and joint halves
    /// included.
    pub conf_state: ConfState,
    /// Each peer's replication progress; only a leader tracks it.
    pub progress: Option<BTreeMap<NodeId, Progress>>,
    /// The voter a leadership transfer in progress hands over to; 0 when
    /// none runs (etcd's `LeadTransferee`).
    pub lead_transferee: NodeId,
}

impl Status {
    pub(crate) fn of<S: LogStorage>(raft: &Raft<S>) -> Status {
        let soft_state = raft.soft_state();
        Status {
            id: raft.id,
            hard_state: raft.hard_state(),
            soft_state,
            applied: raft.raft_log.applied,
            voters: raft.trk.voters().ids().collect(),
            conf_state: raft.trk.config.conf_state(),
            progress: (soft_state.role == crate::types::Role::Leader)
                .then(|| raft.trk.progress.clone()),
            lead_transferee: raft.lead_transferee,
        }
    }
}
