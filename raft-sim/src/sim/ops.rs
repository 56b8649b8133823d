//! Client operations beyond proposals: linearizable reads, leader
//! transfers and membership changes, resolved against the cluster as it
//! is when they happen.

use super::Sim;
use crate::checker::Violation;
use crate::node::Input;
use crate::schedule::{Event, MemberOp};
use bytes::Bytes;
use raft_core::{
    AnyConfChange, ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType,
    ConfChangeV2, NodeId,
};

impl Sim {
    pub(super) fn client_op(&mut self, index: usize, event: Event) -> Result<(), Violation> {
        match event {
            Event::Read { node } => {
                if !self.node(node).is_some_and(|n| n.is_up()) {
                    return Ok(());
                }
                let ctx = Bytes::from(format!("r{index}"));
                self.chk.begin_read(ctx.clone());
                self.stats.reads_asked += 1;
                self.feed(node, Input::Read(ctx))?;
            }
            Event::TransferLeader { to } => {
                let Some(leader) = self.current_leader() else {
                    return Ok(());
                };
                self.stats.transfers_asked += 1;
                let term = self.node(leader).map_or(0, |n| n.term());
                self.transfer = Some((to, term));
                self.feed(leader, Input::Transfer(to))?;
            }
            Event::Membership(op) => self.change_membership(op)?,
            Event::Kv(req) => self.kv_request(req)?,
            Event::Join(op) => self.join(op)?,
            Event::Remove(op) => self.remove(op)?,
            Event::LeaveJoint => {
                let Some(leader) = self.current_leader() else {
                    return Ok(());
                };
                let joint = self
                    .node(leader)
                    .is_some_and(|n| !n.conf.voters_outgoing.is_empty());
                if joint {
                    let cc = ConfChangeV2::new(ConfChangeTransition::Auto, []);
                    self.propose_change(leader, AnyConfChange::V2(cc))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The current leader and the configuration it applied, unless that
    /// configuration is joint: a change is then already under way, and the
    /// schedule's membership events wait for it.
    pub(super) fn leader_outside_joint(&self) -> Option<(NodeId, raft_core::ConfState)> {
        let leader = self.current_leader()?;
        let conf = self
            .nodes
            .get((leader as usize).wrapping_sub(1))?
            .conf
            .clone();
        conf.voters_outgoing.is_empty().then_some((leader, conf))
    }

    /// Resolves `op` against the leader's configuration and proposes it.
    /// The leader itself is never demoted: a demoted leader keeps leading
    /// (etcd's default), which says nothing more about safety.
    fn change_membership(&mut self, op: MemberOp) -> Result<(), Violation> {
        let Some((leader, conf)) = self.leader_outside_joint() else {
            return Ok(());
        };
        let pick = |ids: Vec<NodeId>, rng: &mut crate::rng::Rng| rng.pick(&ids);
        let followers: Vec<NodeId> = conf
            .voters
            .iter()
            .copied()
            .filter(|&id| id != leader)
            .collect();
        // Two voters at least: a lone voter makes every fault fatal to
        // progress until it heals, and exercises nothing more.
        let demote = if conf.voters.len() > 2 {
            pick(followers, &mut self.client_rng)
        } else {
            None
        };
        let promote = pick(conf.learners.clone(), &mut self.client_rng);
        let change = |t, id| ConfChangeSingle::new(t, id);
        let cc = match op {
            MemberOp::DemoteV1 => demote
                .map(|id| AnyConfChange::V1(ConfChange::new(ConfChangeType::AddLearnerNode, id))),
            MemberOp::PromoteV1 => {
                promote.map(|id| AnyConfChange::V1(ConfChange::new(ConfChangeType::AddNode, id)))
            }
            MemberOp::SwapV2 { explicit } => {
                let mut changes = Vec::new();
                if let Some(id) = demote {
                    changes.push(change(ConfChangeType::AddLearnerNode, id));
                }
                if let Some(id) = promote {
                    changes.push(change(ConfChangeType::AddNode, id));
                }
                let transition = if explicit {
                    ConfChangeTransition::JointExplicit
                } else {
                    ConfChangeTransition::JointImplicit
                };
                (!changes.is_empty())
                    .then(|| AnyConfChange::V2(ConfChangeV2::new(transition, changes)))
            }
        };
        match cc {
            Some(cc) => self.propose_change(leader, cc),
            None => Ok(()),
        }
    }

    pub(super) fn propose_change(
        &mut self,
        leader: NodeId,
        cc: AnyConfChange,
    ) -> Result<(), Violation> {
        let what = format!("{cc:?}");
        let accepted = self.feed(leader, Input::ConfChange(cc))?;
        self.stats.conf_changes_proposed += u64::from(accepted);
        self.log(format!(
            "   n{leader} {} {what}",
            if accepted { "proposed" } else { "refused" }
        ));
        Ok(())
    }

    /// `id` became leader of `term`: the transfer asked for it, if one was,
    /// is done.
    pub(super) fn on_new_leader(&mut self, id: NodeId, term: u64) {
        if let Some((to, asked_in)) = self.transfer {
            if term > asked_in {
                self.transfer = None;
                if to == id {
                    self.stats.transfers_done += 1;
                    self.log(format!("   transfer to n{id} done"));
                }
            }
        }
    }
}
