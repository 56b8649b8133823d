//! The changer: from the configuration in force and a list of changes, the
//! configuration they lead to, with every invariant checked. It works on
//! copies, so a refused change leaves the tracker as it was.

use super::{ConfChangeError, ConfChangeSingle, ConfChangeType};
use crate::quorum::MajorityConfig;
use crate::tracker::{Progress, ProgressTracker, TrackerConfig};
use crate::types::{ConfState, NodeId};
use std::collections::{BTreeMap, BTreeSet};

/// A configuration and the progress of its members, as the changer hands
/// them back.
pub(crate) type Outcome = (TrackerConfig, BTreeMap<NodeId, Progress>);

/// Computes new configurations from the one in `tracker`. `last_index` is
/// the log's last index: new members are probed from there.
pub struct Changer<'a> {
    tracker: &'a ProgressTracker,
    last_index: u64,
}

impl<'a> Changer<'a> {
    /// A changer for the configuration in `tracker`.
    pub fn new(tracker: &'a ProgressTracker, last_index: u64) -> Changer<'a> {
        Changer {
            tracker,
            last_index,
        }
    }

    /// Enters a joint configuration: the current voters become the outgoing
    /// half, and `changes` apply to the incoming one. With `auto_leave`,
    /// raft-core leaves it by itself once it is applied.
    pub(crate) fn enter_joint(
        &self,
        auto_leave: bool,
        changes: &[ConfChangeSingle],
    ) -> Result<Outcome, ConfChangeError> {
        let (mut cfg, mut prs) = self.check_and_copy()?;
        if cfg.voters.is_joint() {
            return Err(ConfChangeError::AlreadyJoint);
        }
        if cfg.voters.incoming.is_empty() {
            // Adding to an empty configuration is allowed (bootstrap), but
            // there is nothing to be joint with.
            return Err(ConfChangeError::ZeroVoterJoint);
        }
        cfg.voters.outgoing = cfg.voters.incoming.clone();
        self.apply(&mut cfg, &mut prs, changes)?;
        cfg.auto_leave = auto_leave;
        check_invariants(&cfg, &prs)?;
        Ok((cfg, prs))
    }

    /// Leaves a joint configuration: the outgoing half goes, staged learners
    /// become learners, and members left in no role lose their progress.
    pub(crate) fn leave_joint(&self) -> Result<Outcome, ConfChangeError> {
        let (mut cfg, mut prs) = self.check_and_copy()?;
        if !cfg.voters.is_joint() {
            return Err(ConfChangeError::NotJoint);
        }
        for id in std::mem::take(&mut cfg.learners_next) {
            cfg.learners.insert(id);
            if let Some(pr) = prs.get_mut(&id) {
                pr.is_learner = true;
            }
        }
        let outgoing = std::mem::take(&mut cfg.voters.outgoing);
        for id in outgoing.ids() {
            if !cfg.voters.incoming.contains(id) && !cfg.learners.contains(&id) {
                prs.remove(&id);
            }
        }
        cfg.auto_leave = false;
        check_invariants(&cfg, &prs)?;
        Ok((cfg, prs))
    }

    /// Applies `changes` directly, without a joint configuration: allowed
    /// only when at most one voter changes (any two majorities of the old
    /// and new voters then overlap).
    pub(crate) fn simple(&self, changes: &[ConfChangeSingle]) -> Result<Outcome, ConfChangeError> {
        let (mut cfg, mut prs) = self.check_and_copy()?;
        if cfg.voters.is_joint() {
            return Err(ConfChangeError::SimpleWhileJoint);
        }
        self.apply(&mut cfg, &mut prs, changes)?;
        let before = &self.tracker.config.voters.incoming;
        let after = &cfg.voters.incoming;
        let changed = before.ids().filter(|id| !after.contains(*id)).count()
            + after.ids().filter(|id| !before.contains(*id)).count();
        if changed > 1 {
            return Err(ConfChangeError::TooManyVoterChanges);
        }
        check_invariants(&cfg, &prs)?;
        Ok((cfg, prs))
    }

    fn apply(
        &self,
        cfg: &mut TrackerConfig,
        prs: &mut BTreeMap<NodeId, Progress>,
        changes: &[ConfChangeSingle],
    ) -> Result<(), ConfChangeError> {
        for c in changes {
            // etcd's server zeroes the node of a change it decided not to
            // make: such a change is a no-op.
            if c.node_id == 0 {
                continue;
            }
            match c.change_type {
                ConfChangeType::AddNode => self.make_voter(cfg, prs, c.node_id),
                ConfChangeType::AddLearnerNode => self.make_learner(cfg, prs, c.node_id),
                ConfChangeType::RemoveNode => remove(cfg, prs, c.node_id),
                ConfChangeType::UpdateNode => {}
            }
        }
        if cfg.voters.incoming.is_empty() {
            return Err(ConfChangeError::RemovedAllVoters);
        }
        Ok(())
    }

    fn make_voter(
        &self,
        cfg: &mut TrackerConfig,
        prs: &mut BTreeMap<NodeId, Progress>,
        id: NodeId,
    ) {
        let Some(pr) = prs.get_mut(&id) else {
            self.init_progress(cfg, prs, id, false);
            return;
        };
        pr.is_learner = false;
        cfg.learners.remove(&id);
        cfg.learners_next.remove(&id);
        insert_voter(&mut cfg.voters.incoming, id);
    }

    fn make_learner(
        &self,
        cfg: &mut TrackerConfig,
        prs: &mut BTreeMap<NodeId, Progress>,
        id: NodeId,
    ) {
        let Some(pr) = prs.get(&id) else {
            self.init_progress(cfg, prs, id, true);
            return;
        };
        if pr.is_learner {
            return;
        }
        // A demoted voter keeps its progress, which `remove` would drop.
        let saved = pr.clone();
        remove(cfg, prs, id);
        let pr = prs.entry(id).or_insert(saved);
        // While it still votes in the outgoing half it cannot be a learner
        // too: it becomes one when the joint configuration is left.
        if cfg.voters.outgoing.contains(id) {
            cfg.learners_next.insert(id);
        } else {
            pr.is_learner = true;
            cfg.learners.insert(id);
        }
    }

    fn init_progress(
        &self,
        cfg: &mut TrackerConfig,
        prs: &mut BTreeMap<NodeId, Progress>,
        id: NodeId,
        is_learner: bool,
    ) {
        if is_learner {
            cfg.learners.insert(id);
        } else {
            insert_voter(&mut cfg.voters.incoming, id);
        }
        // Probed from the leader's last index: a new member most likely has
        // no log and is caught up by snapshot once the probe is refused.
        let mut pr = Progress::new(
            self.last_index.max(1),
            self.tracker.max_inflight,
            self.tracker.max_inflight_bytes,
        );
        pr.is_learner = is_learner;
        // Counted as active, or CheckQuorum could depose the leader before
        // the new member had a chance to answer.
        pr.recent_active = true;
        prs.insert(id, pr);
    }

    fn check_and_copy(&self) -> Result<Outcome, ConfChangeError> {
        let cfg = self.tracker.config.clone();
        let prs = self.tracker.progress.clone();
        check_invariants(&cfg, &prs)?;
        Ok((cfg, prs))
    }

    /// The configuration `cs` describes, built from an empty tracker by
    /// replaying changes (etcd's `confchange.Restore`): first the outgoing
    /// voters one by one, then, if joint, entering the joint configuration
    /// with the incoming voters and learners.
    pub(crate) fn restore(
        empty: &ProgressTracker,
        last_index: u64,
        cs: &ConfState,
    ) -> Result<Outcome, ConfChangeError> {
        let single = |t, ids: &[NodeId]| -> Vec<ConfChangeSingle> {
            ids.iter().map(|id| ConfChangeSingle::new(t, *id)).collect()
        };
        let mut incoming = single(ConfChangeType::RemoveNode, &cs.voters_outgoing);
        incoming.extend(single(ConfChangeType::AddNode, &cs.voters));
        incoming.extend(single(ConfChangeType::AddLearnerNode, &cs.learners));
        incoming.extend(single(ConfChangeType::AddLearnerNode, &cs.learners_next));

        let mut tracker = empty.clone();
        fn step(tracker: &mut ProgressTracker, outcome: Outcome) {
            tracker.config = outcome.0;
            tracker.progress = outcome.1;
        }
        if cs.voters_outgoing.is_empty() {
            for c in &incoming {
                let outcome = Changer::new(&tracker, last_index).simple(std::slice::from_ref(c))?;
                step(&mut tracker, outcome);
            }
        } else {
            for id in &cs.voters_outgoing {
                let c = ConfChangeSingle::new(ConfChangeType::AddNode, *id);
                let outcome = Changer::new(&tracker, last_index).simple(&[c])?;
                step(&mut tracker, outcome);
            }
            let outcome =
                Changer::new(&tracker, last_index).enter_joint(cs.auto_leave, &incoming)?;
            step(&mut tracker, outcome);
        }
        Ok((tracker.config, tracker.progress))
    }
}

fn insert_voter(voters: &mut MajorityConfig, id: NodeId) {
    if !voters.contains(id) {
        *voters = MajorityConfig::new(voters.ids().chain(std::iter::once(id)));
    }
}

fn remove_voter(voters: &mut MajorityConfig, id: NodeId) {
    if voters.contains(id) {
        *voters = MajorityConfig::new(voters.ids().filter(|v| *v != id));
    }
}

fn remove(cfg: &mut TrackerConfig, prs: &mut BTreeMap<NodeId, Progress>, id: NodeId) {
    if !prs.contains_key(&id) {
        return;
    }
    remove_voter(&mut cfg.voters.incoming, id);
    cfg.learners.remove(&id);
    cfg.learners_next.remove(&id);
    // An outgoing voter still votes until the joint configuration is left.
    if !cfg.voters.outgoing.contains(id) {
        prs.remove(&id);
    }
}

fn check_invariants(
    cfg: &TrackerConfig,
    prs: &BTreeMap<NodeId, Progress>,
) -> Result<(), ConfChangeError> {
    let fail = |s: String| Err(ConfChangeError::Invariant(s));
    let members: BTreeSet<NodeId> = cfg
        .voters
        .ids()
        .chain(cfg.learners.iter().copied())
        .chain(cfg.learners_next.iter().copied())
        .collect();
    for id in &members {
        if !prs.contains_key(id) {
            return fail(format!("no progress for {id}"));
        }
    }
    for id in &cfg.learners_next {
        if !cfg.voters.outgoing.contains(*id) {
            return fail(format!("{id} is in LearnersNext, but not Voters[1]"));
        }
        if prs.get(id).is_some_and(|p| p.is_learner) {
            return fail(format!(
                "{id} is in LearnersNext, but is already marked as learner"
            ));
        }
    }
    for id in &cfg.learners {
        if cfg.voters.outgoing.contains(*id) {
            return fail(format!("{id} is in Learners and Voters[1]"));
        }
        if cfg.voters.incoming.contains(*id) {
            return fail(format!("{id} is in Learners and Voters[0]"));
        }
        if !prs.get(id).is_some_and(|p| p.is_learner) {
            return fail(format!("{id} is in Learners, but is not marked as learner"));
        }
    }
    if !cfg.voters.is_joint() {
        if !cfg.learners_next.is_empty() {
            return fail("cfg.LearnersNext must be empty when not joint".to_string());
        }
        if cfg.auto_leave {
            return fail("AutoLeave must be false when not joint".to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
