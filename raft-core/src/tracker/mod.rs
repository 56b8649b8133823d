//! The leader's bookkeeping: the configuration in force (voters, joint or
//! not, and learners), each peer's replication progress, and the votes
//! collected in an election.

mod inflights;
mod progress;

pub use inflights::Inflights;
pub use progress::{Progress, ProgressState};

use crate::quorum::{JointConfig, VoteResult};
use crate::types::{ConfState, NodeId};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The membership a node works with: etcd's `tracker.Config`.
///
/// Invariants (checked by the changer in [`crate::confchange`]): learners
/// and voters (of either half) never intersect; `learners_next` holds only
/// outgoing voters and is empty, like `auto_leave` is false, unless joint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerConfig {
    /// The voters: the incoming configuration and, while joint, the
    /// outgoing one.
    pub voters: JointConfig,
    /// Leave the joint configuration as soon as it is applied.
    pub auto_leave: bool,
    /// Members that are replicated to but do not vote.
    pub learners: BTreeSet<NodeId>,
    /// Outgoing voters to turn into learners when the joint configuration
    /// is left (a demotion: the node cannot be voter and learner at once).
    pub learners_next: BTreeSet<NodeId>,
}

impl TrackerConfig {
    /// The configuration as a [`ConfState`], as stored in snapshots and
    /// returned by `apply_conf_change`.
    pub fn conf_state(&self) -> ConfState {
        ConfState {
            voters: self.voters.incoming.ids().collect(),
            learners: self.learners.iter().copied().collect(),
            voters_outgoing: self.voters.outgoing.ids().collect(),
            learners_next: self.learners_next.iter().copied().collect(),
            auto_leave: self.auto_leave,
        }
    }
}

/// etcd's rendering: `voters=(1 2 3)&&(1) learners=(4) learners_next=(5) autoleave`.
impl fmt::Display for TrackerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn set(f: &mut fmt::Formatter<'_>, name: &str, ids: &BTreeSet<NodeId>) -> fmt::Result {
            if ids.is_empty() {
                return Ok(());
            }
            write!(f, " {name}=(")?;
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{id:x}")?;
            }
            f.write_str(")")
        }
        write!(f, "voters={}", self.voters)?;
        set(f, "learners", &self.learners)?;
        set(f, "learners_next", &self.learners_next)?;
        if self.auto_leave {
            f.write_str(" autoleave")?;
        }
        Ok(())
    }
}

/// The configuration, the progress of every member, and the current
/// election's votes.
///
/// Maps are ordered by id so that every broadcast visits peers in ascending
/// order, as etcd does; message order in a Ready depends on it.
#[derive(Clone, Debug)]
pub struct ProgressTracker {
    /// The configuration in force.
    pub config: TrackerConfig,
    /// Every member's progress, the leader's own included, by id: voters of
    /// either half and learners, nobody else.
    pub progress: BTreeMap<NodeId, Progress>,
    votes: BTreeMap<NodeId, bool>,
    pub(crate) max_inflight: usize,
    pub(crate) max_inflight_bytes: u64,
}

impl ProgressTracker {
    /// An empty tracker (no members), as the changer starts from.
    pub(crate) fn new(max_inflight: usize, max_inflight_bytes: u64) -> ProgressTracker {
        ProgressTracker {
            config: TrackerConfig::default(),
            progress: BTreeMap::new(),
            votes: BTreeMap::new(),
            max_inflight,
            max_inflight_bytes,
        }
    }

    /// The voters, joint or not.
    pub fn voters(&self) -> &JointConfig {
        &self.config.voters
    }

    /// The highest index a majority of voters (of both halves, while joint)
    /// has in its log. Learners never count.
    pub fn committed(&self) -> u64 {
        let voters = &self.config.voters;
        // Outside joint configurations and without learners every progress
        // is a voter's, so the matches can be read off the map in one pass
        // instead of one lookup per voter: this runs on every append
        // response a leader receives.
        if !voters.is_joint() && self.progress.len() == voters.incoming.len() {
            return crate::quorum::majority_index(self.progress.values().map(|p| p.matched));
        }
        voters.committed_index(|id| self.progress.get(&id).map(|p| p.matched))
    }

    /// What a majority of the incoming voters alone holds: the broken
    /// commit rule of `Fault::JointCommitIncomingOnly`.
    #[cfg(feature = "fault-injection")]
    pub(crate) fn committed_by_incoming(&self) -> u64 {
        let voters = &self.config.voters.incoming;
        voters.committed_index(|id| self.progress.get(&id).map(|p| p.matched))
    }

    /// Whether a quorum of voters (counting the leader) was heard from
    /// recently.
    pub fn quorum_active(&self) -> bool {
        self.config.voters.vote_result(|id| {
            self.progress
                .get(&id)
                .filter(|p| !p.is_learner)
                .map(|p| p.recent_active)
        }) == VoteResult::Won
    }

    /// Whether the configuration is a single voter (and not joint).
    pub fn is_singleton(&self) -> bool {
        let v = &self.config.voters;
        v.incoming.len() == 1 && !v.is_joint()
    }

    /// Forgets the votes of the last election.
    pub fn reset_votes(&mut self) {
        self.votes.clear();
    }

    /// Records `id`'s vote; only the first answer from a voter counts.
    pub fn record_vote(&mut self, id: NodeId, granted: bool) {
        self.votes.entry(id).or_insert(granted);
    }

    /// Granted and rejected votes of members that vote, and what the votes
    /// add up to.
    pub fn tally_votes(&self) -> (usize, usize, VoteResult) {
        let (mut granted, mut rejected) = (0, 0);
        for (id, pr) in &self.progress {
            if pr.is_learner {
                continue;
            }
            match self.votes.get(id) {
                Some(true) => granted += 1,
                Some(false) => rejected += 1,
                None => {}
            }
        }
        let result = self
            .config
            .voters
            .vote_result(|id| self.votes.get(&id).copied());
        (granted, rejected, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::MajorityConfig;

    fn tracker(voters: &[u64], outgoing: &[u64], learners: &[u64]) -> ProgressTracker {
        let mut t = ProgressTracker::new(8, u64::MAX);
        t.config.voters = JointConfig {
            incoming: MajorityConfig::new(voters.iter().copied()),
            outgoing: MajorityConfig::new(outgoing.iter().copied()),
        };
        t.config.learners = learners.iter().copied().collect();
        for id in voters.iter().chain(outgoing).chain(learners) {
            let mut pr = Progress::new(1, 8, u64::MAX);
            pr.is_learner = learners.contains(id);
            t.progress.insert(*id, pr);
        }
        t
    }

    #[test]
    fn only_the_first_vote_counts() {
        let mut t = tracker(&[1, 2, 3], &[], &[]);
        t.record_vote(1, true);
        t.record_vote(2, false);
        t.record_vote(2, true);
        assert_eq!(t.tally_votes(), (1, 1, VoteResult::Pending));
        t.record_vote(3, true);
        assert_eq!(t.tally_votes(), (2, 1, VoteResult::Won));
    }

    #[test]
    fn committed_follows_the_majority_match() {
        let mut t = tracker(&[1, 2, 3], &[], &[]);
        for (id, m) in [(1, 7), (2, 5), (3, 2)] {
            t.progress.get_mut(&id).unwrap().matched = m;
        }
        assert_eq!(t.committed(), 5);
    }

    #[test]
    fn learners_never_count_towards_commit_or_votes() {
        let mut t = tracker(&[1, 2, 3], &[], &[4, 5]);
        for (id, m) in [(1, 7), (2, 2), (3, 1), (4, 9), (5, 9)] {
            t.progress.get_mut(&id).unwrap().matched = m;
        }
        assert_eq!(
            t.committed(),
            2,
            "two learners ahead do not make a majority"
        );
        t.record_vote(4, true);
        t.record_vote(5, true);
        t.record_vote(1, true);
        assert_eq!(t.tally_votes(), (1, 0, VoteResult::Pending));
        for id in [1, 4, 5] {
            t.progress.get_mut(&id).unwrap().recent_active = true;
        }
        assert!(!t.quorum_active(), "active learners make no quorum");
    }

    #[test]
    fn joint_commit_needs_both_halves() {
        let mut t = tracker(&[1, 2, 3], &[1, 4, 5], &[]);
        for (id, m) in [(1, 9), (2, 9), (3, 9), (4, 3), (5, 1)] {
            t.progress.get_mut(&id).unwrap().matched = m;
        }
        assert_eq!(t.committed(), 3, "the outgoing half holds the commit back");
    }

    #[test]
    fn config_renders_like_etcd() {
        let mut t = tracker(&[1, 2, 3], &[1], &[]);
        t.config.auto_leave = true;
        assert_eq!(t.config.to_string(), "voters=(1 2 3)&&(1) autoleave");
        let t = tracker(&[1], &[], &[2, 3]);
        assert_eq!(t.config.to_string(), "voters=(1) learners=(2 3)");
        let mut cs = t.config.conf_state();
        assert_eq!(cs.learners, vec![2, 3]);
        cs.learners.clear();
        assert_eq!(cs, ConfState::with_voters([1]));
    }
}
