//! The liveness phase's view of the cluster: its current members (those
//! of the latest configuration applied, less the ones removed for good),
//! whether one of them leads with all of them following, the client's live
//! proposals, and whether the members converged.

use super::{Sim, RETRY_TICKS};
use crate::checker::Violation;
use crate::node::Input;
use crate::schedule::TICK;
use raft_core::{NodeId, Role};

impl Sim {
    /// A leader whose term every member is in and whose leadership every
    /// member knows.
    pub(super) fn stable_leader(&self) -> Option<(NodeId, u64)> {
        let members = self.members.live();
        let member = |id: &NodeId| self.nodes.get((*id as usize).wrapping_sub(1));
        let leader = members
            .iter()
            .filter_map(member)
            .find(|n| n.role() == Some(Role::Leader))?;
        let (id, term) = (leader.id, leader.term());
        members
            .iter()
            .all(|m| member(m).is_some_and(|n| n.is_up() && n.term() == term && n.lead() == id))
            .then_some((id, term))
    }

    pub(super) fn propose_live(&mut self) -> Result<(), Violation> {
        for k in 0..self.live.len() {
            let (data, accepted_at) = self.live[k].clone();
            let waited = accepted_at.map(|t| self.now - t);
            if self.chk.is_acked(&data) || waited.is_some_and(|w| w < RETRY_TICKS * TICK) {
                continue;
            }
            let node = self.client_rng.pick(&self.members.live()).unwrap_or(1);
            let accepted = self.feed(node, Input::Propose(data.clone()))?;
            self.log(format!(
                "live proposal {:?} to n{node}{}: {}",
                data,
                if waited.is_some() { " (retry)" } else { "" },
                if accepted {
                    "accepted"
                } else {
                    "refused, will retry"
                }
            ));
            self.live[k].1 = if accepted { Some(self.now) } else { None };
        }
        Ok(())
    }

    pub(super) fn converged(&self) -> bool {
        let applied = self.chk.committed_len();
        self.live.iter().all(|(data, _)| self.chk.is_acked(data))
            && self.members.live().iter().all(|&id| {
                self.nodes
                    .get((id as usize).wrapping_sub(1))
                    .is_some_and(|n| n.applied() == applied)
                    && self.chk.stored_log_len(id) == applied
            })
    }
}
