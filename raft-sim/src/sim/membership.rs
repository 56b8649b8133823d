//! Members that join empty and members removed for good.
//!
//! A spare node starts, when the schedule first adds it, on a disk with an
//! empty log and no configuration, as a new member's process does; the
//! leader's snapshot (every node snapshots once it applies a membership
//! change) brings it the log and the membership. A member whose removal
//! is applied (by any node: it is committed then) stops for good: no more
//! ticks, messages to it lost, its id never added again. From then on the
//! liveness checks ask for the current members only.
//!
//! A removal is only proposed once every member has the previous
//! membership change durably committed, so that no member can come back
//! from a crash into a configuration two changes old, which may count
//! voters that are gone for good (two removals from four voters leave two
//! that are not a majority of the four). Voters are removed down to two at
//! least, never the leader.

use super::Sim;
use crate::checker::Violation;
use crate::rng::Rng;
use crate::schedule::{stream, JoinOp, RemoveOp};
use crate::storage::Backend;
use raft_core::{
    AnyConfChange, ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType,
    ConfChangeV2, ConfState, NodeId,
};
use std::collections::BTreeSet;

/// Who is a member, who joined, who is gone.
pub(super) struct Members {
    /// Backends of the spares not started yet, in id order.
    spare_backends: Vec<Option<Box<dyn Backend>>>,
    first_spare: NodeId,
    /// The members of the latest configuration applied anywhere.
    current: BTreeSet<NodeId>,
    /// Its index (0: the initial configuration).
    current_index: u64,
    /// Removed for good.
    removed: BTreeSet<NodeId>,
    /// Spares that caught up with their own addition.
    joined: BTreeSet<NodeId>,
}

fn members_of(cs: &ConfState) -> BTreeSet<NodeId> {
    cs.voters
        .iter()
        .chain(&cs.learners)
        .chain(&cs.voters_outgoing)
        .chain(&cs.learners_next)
        .copied()
        .collect()
}

impl Members {
    pub(super) fn new(voters: &[NodeId], spare_backends: Vec<Box<dyn Backend>>) -> Members {
        Members {
            spare_backends: spare_backends.into_iter().map(Some).collect(),
            first_spare: voters.len() as NodeId + 1,
            current: voters.iter().copied().collect(),
            current_index: 0,
            removed: BTreeSet::new(),
            joined: BTreeSet::new(),
        }
    }

    pub(super) fn is_removed(&self, id: NodeId) -> bool {
        self.removed.contains(&id)
    }

    /// The members the liveness checks wait for.
    pub(super) fn live(&self) -> Vec<NodeId> {
        self.current.difference(&self.removed).copied().collect()
    }
}

impl Sim {
    /// Adds a spare (see [`JoinOp`]), starting its process first.
    pub(super) fn join(&mut self, op: JoinOp) -> Result<(), Violation> {
        let Some(leader) = self.current_leader() else {
            return Ok(());
        };
        let Some(node) = self.node(leader) else {
            return Ok(());
        };
        if !node.has_compacted() {
            self.log("   no join: the leader has no snapshot to bring a new node".to_string());
            return Ok(());
        }
        let conf = node.conf.clone();
        if !conf.voters_outgoing.is_empty() {
            return Ok(());
        }
        let in_conf = members_of(&conf);
        let m = &self.members;
        let spares = m.first_spare..m.first_spare + m.spare_backends.len() as NodeId;
        let Some(id) = spares
            .into_iter()
            .find(|id| !m.removed.contains(id) && !m.current.contains(id) && !in_conf.contains(id))
        else {
            return Ok(());
        };
        self.start_spares_up_to(id)?;
        let add = |t| ConfChange::new(t, id);
        let cc = match op {
            JoinOp::LearnerV1 => AnyConfChange::V1(add(ConfChangeType::AddLearnerNode)),
            JoinOp::VoterV1 => AnyConfChange::V1(add(ConfChangeType::AddNode)),
            JoinOp::VoterV2 { explicit } => AnyConfChange::V2(ConfChangeV2::new(
                transition(explicit),
                [ConfChangeSingle::new(ConfChangeType::AddNode, id)],
            )),
        };
        self.propose_change(leader, cc)
    }

    /// Removes a follower for good (see [`RemoveOp`]).
    pub(super) fn remove(&mut self, op: RemoveOp) -> Result<(), Violation> {
        let Some((leader, conf)) = self.leader_outside_joint() else {
            return Ok(());
        };
        let settled = self.members.current_index;
        let lagging = members_of(&conf).into_iter().find(|&id| {
            !self.members.is_removed(id)
                && self
                    .nodes
                    .get((id as usize).wrapping_sub(1))
                    .is_some_and(|n| n.durable_commit() < settled)
        });
        if let Some(id) = lagging {
            self.log(format!(
                "   no removal: n{id} has not durably committed the change at {settled}"
            ));
            return Ok(());
        }
        let mut candidates: Vec<NodeId> = conf.learners.clone();
        if conf.voters.len() > 2 {
            candidates.extend(conf.voters.iter().copied().filter(|&id| id != leader));
        }
        let Some(id) = self.client_rng.pick(&candidates) else {
            return Ok(());
        };
        let cc = match op {
            RemoveOp::V1 => AnyConfChange::V1(ConfChange::new(ConfChangeType::RemoveNode, id)),
            RemoveOp::V2 { explicit } => AnyConfChange::V2(ConfChangeV2::new(
                transition(explicit),
                [ConfChangeSingle::new(ConfChangeType::RemoveNode, id)],
            )),
        };
        self.propose_change(leader, cc)
    }

    /// Starts every spare up to `id` not started yet, in id order (a node's
    /// id is its place in `nodes`).
    fn start_spares_up_to(&mut self, id: NodeId) -> Result<(), Violation> {
        while (self.nodes.len() as NodeId) < id {
            let next = self.nodes.len() as NodeId + 1;
            let slot = (next - self.members.first_spare) as usize;
            let Some(backend) = self
                .members
                .spare_backends
                .get_mut(slot)
                .and_then(Option::take)
            else {
                return Ok(());
            };
            let added = self.chk.add_node();
            debug_assert_eq!(added, next);
            self.launch(next, backend)?;
            self.log(format!("   n{next} started, empty and in no configuration"));
        }
        Ok(())
    }

    /// After each step: members whose removal was applied stop for good,
    /// and spares that caught up with their addition count as joined.
    pub(super) fn track_members(&mut self) -> Result<(), Violation> {
        for (index, cs) in self.chk.take_new_confs() {
            let now = members_of(&cs);
            let gone: Vec<NodeId> = self.members.current.difference(&now).copied().collect();
            self.members.current = now;
            self.members.current_index = index;
            for id in gone {
                self.stop_for_good(id, index)?;
            }
        }
        let first = self.members.first_spare as usize;
        for i in first.saturating_sub(1)..self.nodes.len() {
            let node = &self.nodes[i];
            let id = node.id;
            if self.members.joined.contains(&id) || !members_of(&node.conf).contains(&id) {
                continue;
            }
            let by_snapshot = node.snaps.installed > 0;
            self.members.joined.insert(id);
            self.stats.joins += 1;
            self.stats.joins_by_snapshot += u64::from(by_snapshot);
            self.log(format!(
                "   n{id} caught up with its addition{}",
                if by_snapshot { " by snapshot" } else { "" }
            ));
        }
        Ok(())
    }

    fn stop_for_good(&mut self, id: NodeId, index: u64) -> Result<(), Violation> {
        if !self.members.removed.insert(id) {
            return Ok(());
        }
        self.chk.retire(id);
        self.stats.removals += 1;
        let key = self.seed ^ index.rotate_left(32);
        if let Some(node) = self.nodes.get_mut((id as usize).wrapping_sub(1)) {
            if node.is_up() {
                let mut rng = Rng::stream(key, stream::CRASH + id);
                node.crash(&mut rng, &mut self.chk)?;
            }
        }
        self.log(format!(
            "   n{id} removed at index {index}: stopped for good"
        ));
        Ok(())
    }
}

fn transition(explicit: bool) -> ConfChangeTransition {
    if explicit {
        ConfChangeTransition::JointExplicit
    } else {
        ConfChangeTransition::JointImplicit
    }
}
