//! The leader's bookkeeping: each peer's replication progress, and the votes
//! collected in an election.

mod inflights;
mod progress;

pub use inflights::Inflights;
pub use progress::{Progress, ProgressState};

use crate::quorum::{MajorityConfig, VoteResult};
use crate::types::NodeId;
use std::collections::BTreeMap;

/// Progress of every voter, the voter set, and the current election's votes.
///
/// Maps are ordered by id so that every broadcast visits peers in ascending
/// order, as etcd does; message order in a Ready depends on it.
#[derive(Clone, Debug)]
pub struct ProgressTracker {
    /// The voters of the current configuration.
    pub voters: MajorityConfig,
    /// Every peer's progress, the leader's own included, by id.
    pub progress: BTreeMap<NodeId, Progress>,
    votes: BTreeMap<NodeId, bool>,
    pub(crate) max_inflight: usize,
    pub(crate) max_inflight_bytes: u64,
}

impl ProgressTracker {
    pub(crate) fn new(
        voters: MajorityConfig,
        max_inflight: usize,
        max_inflight_bytes: u64,
        next: u64,
    ) -> ProgressTracker {
        let progress = voters
            .ids()
            .map(|id| (id, Progress::new(next, max_inflight, max_inflight_bytes)))
            .collect();
        ProgressTracker {
            voters,
            progress,
            votes: BTreeMap::new(),
            max_inflight,
            max_inflight_bytes,
        }
    }

    /// The highest index a majority of voters has in its log.
    pub fn committed(&self) -> u64 {
        // Every voter has a progress and nothing else does (learners will
        // change that), so the matches can be read off the map in one pass
        // instead of one lookup per voter: this runs on every append
        // response a leader receives.
        if self.progress.len() == self.voters.len() {
            return crate::quorum::majority_index(self.progress.values().map(|p| p.matched));
        }
        self.voters
            .committed_index(|id| self.progress.get(&id).map(|p| p.matched))
    }

    /// Whether a majority (counting the leader) was heard from recently.
    pub fn quorum_active(&self) -> bool {
        self.voters
            .vote_result(|id| self.progress.get(&id).map(|p| p.recent_active))
            == VoteResult::Won
    }

    /// Forgets the votes of the last election.
    pub fn reset_votes(&mut self) {
        self.votes.clear();
    }

    /// Records `id`'s vote; only the first answer from a voter counts.
    pub fn record_vote(&mut self, id: NodeId, granted: bool) {
        self.votes.entry(id).or_insert(granted);
    }

    /// Granted and rejected votes so far, and what they add up to.
    pub fn tally_votes(&self) -> (usize, usize, VoteResult) {
        let (mut granted, mut rejected) = (0, 0);
        for id in self.progress.keys() {
            match self.votes.get(id) {
                Some(true) => granted += 1,
                Some(false) => rejected += 1,
                None => {}
            }
        }
        let result = self.voters.vote_result(|id| self.votes.get(&id).copied());
        (granted, rejected, result)
    }

    /// Fills `out` with the ids of peers other than `me`, ascending. The
    /// caller keeps `out` between broadcasts: a leader broadcasts once per
    /// proposal, and a fresh `Vec` each time shows in profiles.
    pub(crate) fn peers_except(&self, me: NodeId, out: &mut Vec<NodeId>) {
        out.clear();
        out.extend(self.progress.keys().copied().filter(|id| *id != me));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_vote_counts() {
        let mut t = ProgressTracker::new(MajorityConfig::new([1, 2, 3]), 8, u64::MAX, 1);
        t.record_vote(1, true);
        t.record_vote(2, false);
        t.record_vote(2, true);
        assert_eq!(t.tally_votes(), (1, 1, VoteResult::Pending));
        t.record_vote(3, true);
        assert_eq!(t.tally_votes(), (2, 1, VoteResult::Won));
    }

    #[test]
    fn committed_follows_the_majority_match() {
        let mut t = ProgressTracker::new(MajorityConfig::new([1, 2, 3]), 8, u64::MAX, 1);
        for (id, m) in [(1, 7), (2, 5), (3, 2)] {
            t.progress.get_mut(&id).unwrap().matched = m;
        }
        assert_eq!(t.committed(), 5);
    }
}
