//! Membership and reads in the checker.
//!
//! Quorums follow the configuration: an index a leader commits must be on
//! the disks of a majority of the voters it counts, and while joint of a
//! majority of each half (the outgoing voters too), which is what makes a
//! later leader of either configuration hold it.
//!
//! Reads: a read served at a state older than the newest entry some node
//! had applied (acknowledged to its client) when the read began is not
//! linearizable.

use super::{Checked, Checker, Property, Slot};
use bytes::Bytes;
use raft_core::{ConfState, NodeId};

/// The voters a node counts: incoming, and outgoing while joint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Voters {
    pub(super) incoming: Vec<NodeId>,
    pub(super) outgoing: Vec<NodeId>,
}

impl Voters {
    fn of(cs: &ConfState) -> Voters {
        Voters {
            incoming: cs.voters.clone(),
            outgoing: cs.voters_outgoing.clone(),
        }
    }
}

/// What the checker counted about membership changes and reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpCounts {
    /// Membership changes applied (by some node; each index once).
    pub conf_changes_applied: u64,
    /// Of those, the ones that left the cluster in a joint configuration.
    pub joint_entered: u64,
    /// Reads served and checked.
    pub reads_served: u64,
}

impl Checker {
    /// `node` now works with configuration `cs` (at boot, or restored from
    /// a snapshot).
    pub fn on_conf(&mut self, node: NodeId, cs: &ConfState) {
        let voters = Voters::of(cs);
        if let Some(v) = self.voters.get_mut(Self::slot(node)) {
            *v = voters;
        }
        let all = self.logs.len();
        if cs.voters.len() != all || !cs.voters_outgoing.is_empty() {
            self.membership_changed = true;
        }
        // An overwritten committed entry is judged against the smallest
        // quorum any configuration needed.
        if !cs.voters.is_empty() {
            self.quorum = self.quorum.min(cs.voters.len() / 2 + 1);
        }
    }

    /// `node` applied the membership change at `index`, which led to `cs`.
    pub fn on_conf_applied(&mut self, node: NodeId, index: u64, cs: &ConfState) {
        self.on_conf(node, cs);
        if index > self.last_conf_index {
            self.last_conf_index = index;
            self.new_confs.push((index, cs.clone()));
            self.ops.conf_changes_applied += 1;
            self.ops.joint_entered += u64::from(!cs.voters_outgoing.is_empty());
        }
    }

    /// Configurations applied for the first time since the last call, by
    /// index: the cluster's membership as it changes.
    pub fn take_new_confs(&mut self) -> Vec<(u64, ConfState)> {
        std::mem::take(&mut self.new_confs)
    }

    /// Watches one more node, with an empty log and no configuration; its
    /// id is the next one.
    pub fn add_node(&mut self) -> NodeId {
        self.logs.push(Vec::new());
        self.agree.push(0);
        self.leading.push(None);
        self.voters.push(Voters::default());
        self.retired.push(false);
        self.logs.len() as NodeId
    }

    /// `node` was removed for good: its process is gone, it never votes
    /// again and its state need not converge. Its disk still counts as
    /// holding what it holds.
    pub fn retire(&mut self, node: NodeId) {
        if let Some(r) = self.retired.get_mut((node as usize).wrapping_sub(1)) {
            *r = true;
        }
    }

    /// At the end of a run: every one of `members` stored exactly the
    /// applied log.
    pub fn check_converged(&self, members: &[NodeId]) -> Checked {
        for &id in members {
            let log = self.logs.get((id as usize).wrapping_sub(1));
            if log != Some(&self.applied) {
                return Err(self.fail(
                    Property::Liveness,
                    format!(
                        "n{id} holds {} entries, but {} were applied: logs did not converge",
                        log.map_or(0, Vec::len),
                        self.applied.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What was counted so far.
    pub fn op_counts(&self) -> OpCounts {
        self.ops
    }

    /// Whether some node ever worked with other voters than all nodes.
    pub fn membership_changed(&self) -> bool {
        self.membership_changed
    }

    /// `node`, which reported index `i` committed in `term`, holds `slot`
    /// there: check that the voters that decided it hold it too.
    pub(super) fn check_commit_quorum(
        &self,
        node: NodeId,
        term: u64,
        i: u64,
        slot: &Slot,
    ) -> Checked {
        let n = Self::slot(node);
        let holds = |id: &NodeId| {
            self.logs
                .get((*id as usize).wrapping_sub(1))
                .is_some_and(|l| l.get(i as usize - 1) == Some(slot))
        };
        if self.leading[n] != Some(term) {
            // A follower learns commits from a leader whose configuration
            // may be newer than its own; only without membership changes
            // is the quorum known regardless of who reports.
            let holders = self
                .logs
                .iter()
                .filter(|l| l.get(i as usize - 1) == Some(slot))
                .count();
            if !self.membership_changed && holders < self.quorum {
                return Err(self.fail(
                    Property::CommittedDurability,
                    format!("n{node} committed index {i} held by only {holders} disks"),
                ));
            }
            return Ok(());
        }
        let v = &self.voters[n];
        for (half, ids) in [("incoming", &v.incoming), ("outgoing", &v.outgoing)] {
            if ids.is_empty() {
                continue;
            }
            let holders: Vec<String> = ids
                .iter()
                .filter(|id| holds(id))
                .map(|id| format!("n{id}"))
                .collect();
            if holders.len() < ids.len() / 2 + 1 {
                let all: Vec<String> = ids.iter().map(|id| format!("n{id}")).collect();
                return Err(self.fail(
                    Property::CommittedDurability,
                    format!(
                        "leader n{node} committed index {i} in term {term}, held by only {{{}}} of the {half} voters {{{}}}{}",
                        holders.join(","),
                        all.join(","),
                        if v.outgoing.is_empty() { "" } else { " (joint configuration)" }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A client's read with context `ctx` begins: it must see at least
    /// every entry applied anywhere by now.
    pub fn begin_read(&mut self, ctx: Bytes) {
        let floor = self.applied.len() as u64;
        self.reads.insert(ctx, floor);
    }

    /// `node` served the read `ctx` from its state at `index`.
    pub fn on_read_served(&mut self, node: NodeId, ctx: &Bytes, index: u64) -> Checked {
        // A duplicated response serves a read twice; the first counts.
        let Some(floor) = self.reads.remove(ctx) else {
            return Ok(());
        };
        self.ops.reads_served += 1;
        if index < floor {
            return Err(self.fail(
                Property::LinearizableRead,
                format!(
                    "n{node} served read {ctx:?} from its state at index {index}, but index {floor} was applied (acknowledged) before the read began"
                ),
            ));
        }
        Ok(())
    }
}
