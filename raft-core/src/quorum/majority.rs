//! Simple majority over one voter set.

use super::VoteResult;
use crate::types::NodeId;
use std::collections::BTreeSet;
use std::fmt;

/// A set of voters decided by simple majority (`n / 2 + 1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MajorityConfig {
    voters: BTreeSet<NodeId>,
}

impl MajorityConfig {
    /// The voters `voters` (duplicates collapse).
    pub fn new(voters: impl IntoIterator<Item = NodeId>) -> MajorityConfig {
        MajorityConfig {
            voters: voters.into_iter().collect(),
        }
    }

    /// How many voters there are.
    pub fn len(&self) -> usize {
        self.voters.len()
    }

    /// True with no voters, where every vote is won and nothing can commit.
    pub fn is_empty(&self) -> bool {
        self.voters.is_empty()
    }

    /// Whether `id` is one of the voters.
    pub fn contains(&self, id: NodeId) -> bool {
        self.voters.contains(&id)
    }

    /// Voter ids in ascending order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.voters.iter().copied()
    }

    /// The highest index that a majority of voters has acknowledged, given
    /// each voter's acknowledged index (`None` counts as 0).
    ///
    /// An empty set returns `u64::MAX`, so that in a joint configuration an
    /// empty half never holds the other back.
    pub fn committed_index(&self, acked: impl Fn(NodeId) -> Option<u64>) -> u64 {
        majority_index(self.voters.iter().map(|id| acked(*id).unwrap_or(0)))
    }

    /// Counts `votes` (`None`: not answered) towards a majority.
    pub fn vote_result(&self, votes: impl Fn(NodeId) -> Option<bool>) -> VoteResult {
        if self.voters.is_empty() {
            // By convention an empty configuration wins, like etcd: it lets a
            // joint configuration with an empty half decide on the other.
            return VoteResult::Won;
        }
        let (mut granted, mut missing) = (0, 0);
        for id in &self.voters {
            match votes(*id) {
                Some(true) => granted += 1,
                Some(false) => {}
                None => missing += 1,
            }
        }
        let quorum = self.voters.len() / 2 + 1;
        if granted >= quorum {
            VoteResult::Won
        } else if granted + missing >= quorum {
            VoteResult::Pending
        } else {
            VoteResult::Lost
        }
    }
}

/// The highest index that a majority of `acked` (one value per voter)
/// reaches; `u64::MAX` for no voters. Callers that can list the voters'
/// indexes directly skip [`MajorityConfig::committed_index`]'s lookups.
pub(crate) fn majority_index(mut acked: impl ExactSizeIterator<Item = u64>) -> u64 {
    let n = acked.len();
    // Groups of one and three are the common cases and are answered without
    // sorting: a leader asks this on every append response.
    match n {
        0 => return u64::MAX,
        1 => return acked.next().unwrap_or(0),
        3 => {
            let (a, b, c) = (
                acked.next().unwrap_or(0),
                acked.next().unwrap_or(0),
                acked.next().unwrap_or(0),
            );
            // The median: reached by itself and the larger of the others.
            return a.max(b).min(a.min(b).max(c));
        }
        _ => {}
    }
    // Small groups are the norm; avoid a heap allocation for them.
    let mut stack = [0u64; 7];
    let mut heap;
    let sorted: &mut [u64] = if n <= stack.len() {
        &mut stack[..n]
    } else {
        heap = vec![0u64; n];
        &mut heap
    };
    for (slot, index) in sorted.iter_mut().zip(acked) {
        *slot = index;
    }
    sorted.sort_unstable();
    // The value at this position is reached by itself and every voter above
    // it: exactly a majority.
    sorted[n - (n / 2 + 1)]
}

/// etcd's rendering: `(1 2 3)` with ids in hex.
impl fmt::Display for MajorityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, id) in self.voters.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{id:x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn committed_index_examples() {
        let c = MajorityConfig::new([1, 2, 3]);
        let acked: HashMap<u64, u64> = [(1, 5), (2, 3), (3, 1)].into();
        assert_eq!(c.committed_index(|id| acked.get(&id).copied()), 3);
        let only_one: HashMap<u64, u64> = [(1, 9)].into();
        assert_eq!(c.committed_index(|id| only_one.get(&id).copied()), 0);
        assert_eq!(
            MajorityConfig::default().committed_index(|_| None),
            u64::MAX
        );
    }

    #[test]
    fn vote_result_examples() {
        let c = MajorityConfig::new([1, 2, 3]);
        assert_eq!(c.vote_result(|_| None), VoteResult::Pending);
        assert_eq!(
            c.vote_result(|id| (id <= 2).then_some(true)),
            VoteResult::Won
        );
        assert_eq!(
            c.vote_result(|id| (id <= 2).then_some(false)),
            VoteResult::Lost
        );
        assert_eq!(
            MajorityConfig::default().vote_result(|_| None),
            VoteResult::Won
        );
        assert_eq!(c.to_string(), "(1 2 3)");
        assert_eq!(MajorityConfig::new([10, 11]).to_string(), "(a b)");
    }

    proptest! {
        /// The unsorted fast paths agree with sorting.
        #[test]
        fn majority_index_fast_paths_agree_with_sorting(acks in proptest::collection::vec(0u64..50, 1..6)) {
            let mut sorted = acks.clone();
            sorted.sort_unstable();
            let n = acks.len();
            prop_assert_eq!(majority_index(acks.iter().copied()), sorted[n - (n / 2 + 1)]);
        }

        /// The committed index is the largest index that at least a majority
        /// has reached: checked against a brute-force count.
        #[test]
        fn committed_index_is_the_majority_watermark(
            acks in proptest::collection::vec(proptest::option::of(0u64..20), 1..10)
        ) {
            let c = MajorityConfig::new(1..=acks.len() as u64);
            let get = |id: u64| acks[(id - 1) as usize];
            let got = c.committed_index(get);
            let quorum = acks.len() / 2 + 1;
            let reached = |idx: u64| acks.iter().filter(|a| a.unwrap_or(0) >= idx).count();
            prop_assert!(reached(got) >= quorum);
            prop_assert!(reached(got + 1) < quorum);
        }

        /// Won and Lost are final: no way of filling in the missing votes
        /// changes them, and Pending means both outcomes are still possible.
        #[test]
        fn vote_result_matches_its_definition(
            votes in proptest::collection::vec(proptest::option::of(any::<bool>()), 1..10)
        ) {
            let c = MajorityConfig::new(1..=votes.len() as u64);
            let result = c.vote_result(|id| votes[(id - 1) as usize]);
            let yes = votes.iter().filter(|v| **v == Some(true)).count();
            let missing = votes.iter().filter(|v| v.is_none()).count();
            let quorum = votes.len() / 2 + 1;
            let can_win = yes + missing >= quorum;
            let has_won = yes >= quorum;
            let expected = if has_won {
                VoteResult::Won
            } else if can_win {
                VoteResult::Pending
            } else {
                VoteResult::Lost
            };
            prop_assert_eq!(result, expected);
        }
    }
}
