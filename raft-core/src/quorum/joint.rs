//! Joint majorities: while a membership change is in flight, every decision
//! needs a majority of the incoming voters and, separately, one of the
//! outgoing voters (Raft thesis §4.3). Outside a joint configuration the
//! outgoing half is empty, and an empty half agrees with anything.

use super::{MajorityConfig, VoteResult};
use crate::types::NodeId;
use std::collections::BTreeSet;
use std::fmt;

/// Two voter sets that must both agree: `incoming` (the configuration being
/// entered) and `outgoing` (the one being left; empty when not joint).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JointConfig {
    /// The voters of the configuration being entered (or the only one).
    pub incoming: MajorityConfig,
    /// The voters of the configuration being left; empty unless joint.
    pub outgoing: MajorityConfig,
}

impl JointConfig {
    /// A configuration that is not joint: `voters` alone.
    pub fn simple(voters: MajorityConfig) -> JointConfig {
        JointConfig {
            incoming: voters,
            outgoing: MajorityConfig::default(),
        }
    }

    /// Whether a membership change is in flight (the outgoing half has
    /// voters).
    pub fn is_joint(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// Whether `id` votes in either half.
    pub fn contains(&self, id: NodeId) -> bool {
        self.incoming.contains(id) || self.outgoing.contains(id)
    }

    /// Every voter of either half, ascending, each once.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        let union: BTreeSet<NodeId> = self.incoming.ids().chain(self.outgoing.ids()).collect();
        union.into_iter()
    }

    /// The highest index both halves have committed: the smaller of the two
    /// majorities' indexes (an empty half never holds the other back).
    pub fn committed_index(&self, acked: impl Fn(NodeId) -> Option<u64>) -> u64 {
        let incoming = self.incoming.committed_index(&acked);
        let outgoing = self.outgoing.committed_index(&acked);
        incoming.min(outgoing)
    }

    /// Won only if both halves won, lost as soon as either lost.
    pub fn vote_result(&self, votes: impl Fn(NodeId) -> Option<bool>) -> VoteResult {
        let incoming = self.incoming.vote_result(&votes);
        let outgoing = self.outgoing.vote_result(&votes);
        if incoming == outgoing {
            return incoming;
        }
        if incoming == VoteResult::Lost || outgoing == VoteResult::Lost {
            return VoteResult::Lost;
        }
        VoteResult::Pending
    }
}

/// etcd's rendering: `(1 2 3)`, or `(1 2 3)&&(1)` while joint.
impl fmt::Display for JointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_joint() {
            write!(f, "{}&&{}", self.incoming, self.outgoing)
        } else {
            write!(f, "{}", self.incoming)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// One table row: incoming voters, outgoing voters, what each voter
    /// said, and the expected outcome.
    type Case<'a, T, R> = (&'a [u64], &'a [u64], &'a [(u64, T)], R);

    fn joint(incoming: &[u64], outgoing: &[u64]) -> JointConfig {
        JointConfig {
            incoming: MajorityConfig::new(incoming.iter().copied()),
            outgoing: MajorityConfig::new(outgoing.iter().copied()),
        }
    }

    #[test]
    fn committed_index_table() {
        // (incoming, outgoing, acked indexes by id, expected)
        let cases: &[Case<u64, u64>] = &[
            // Not joint: the plain majority.
            (&[1, 2, 3], &[], &[(1, 9), (2, 5), (3, 1)], 5),
            // The outgoing half lags: it decides.
            (
                &[1, 2, 3],
                &[1, 4, 5],
                &[(1, 9), (2, 8), (3, 7), (4, 2), (5, 1)],
                2,
            ),
            // The incoming half lags: it decides.
            (
                &[1, 2, 3],
                &[1, 4, 5],
                &[(1, 9), (4, 8), (5, 7), (2, 2), (3, 1)],
                2,
            ),
            // Overlapping halves: (1 2)&&(1 2 3) needs 1 and 2, and two of three.
            (&[1, 2], &[1, 2, 3], &[(1, 6), (2, 4), (3, 9)], 4),
            // A voter missing from the map counts as 0.
            (&[1, 2], &[3], &[(1, 6), (2, 4)], 0),
            // Single voters on both sides.
            (&[1], &[2], &[(1, 6), (2, 4)], 4),
        ];
        for (incoming, outgoing, acked, want) in cases {
            let acked: HashMap<u64, u64> = acked.iter().copied().collect();
            let c = joint(incoming, outgoing);
            assert_eq!(
                c.committed_index(|id| acked.get(&id).copied()),
                *want,
                "{c} with {acked:?}"
            );
        }
        assert_eq!(JointConfig::default().committed_index(|_| None), u64::MAX);
    }

    #[test]
    fn vote_result_table() {
        use VoteResult::*;
        // (incoming, outgoing, votes, expected)
        let cases: &[Case<bool, VoteResult>] = &[
            (&[1, 2, 3], &[], &[(1, true), (2, true)], Won),
            // Incoming won, outgoing still open.
            (&[1, 2, 3], &[1, 4, 5], &[(1, true), (2, true)], Pending),
            // Both won.
            (
                &[1, 2, 3],
                &[1, 4, 5],
                &[(1, true), (2, true), (4, true)],
                Won,
            ),
            // Outgoing lost: the whole vote is lost, whatever the incoming says.
            (
                &[1, 2, 3],
                &[1, 4, 5],
                &[(1, true), (2, true), (4, false), (5, false)],
                Lost,
            ),
            // Incoming lost, outgoing pending.
            (
                &[1, 2, 3],
                &[4, 5, 6],
                &[(1, false), (2, false), (4, true)],
                Lost,
            ),
            // Both pending.
            (&[1, 2, 3], &[4, 5, 6], &[(1, true), (4, true)], Pending),
            // Votes from non-members do not count.
            (&[1, 2, 3], &[], &[(7, true), (8, true), (1, true)], Pending),
        ];
        for (incoming, outgoing, votes, want) in cases {
            let votes: HashMap<u64, bool> = votes.iter().copied().collect();
            let c = joint(incoming, outgoing);
            assert_eq!(
                c.vote_result(|id| votes.get(&id).copied()),
                *want,
                "{c} with {votes:?}"
            );
        }
    }

    #[test]
    fn display_and_ids_follow_etcd() {
        let c = joint(&[1, 2, 3], &[1]);
        assert_eq!(c.to_string(), "(1 2 3)&&(1)");
        assert!(c.is_joint());
        assert_eq!(joint(&[10, 11], &[]).to_string(), "(a b)");
        assert_eq!(
            joint(&[3, 1], &[2, 3]).ids().collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    proptest! {
        /// A joint index is committed exactly when each half, on its own,
        /// would commit it.
        #[test]
        fn joint_commit_is_the_min_of_the_halves(
            acks in proptest::collection::vec(0u64..20, 1..9),
            split in 0usize..9,
            overlap in 0usize..3,
        ) {
            let n = acks.len();
            let split = split.min(n);
            let ids: Vec<u64> = (1..=n as u64).collect();
            let incoming = &ids[..split.max(1)];
            let start = split.saturating_sub(overlap);
            let outgoing = &ids[start.min(n)..];
            let c = joint(incoming, outgoing);
            let get = |id: u64| Some(acks[(id - 1) as usize]);
            let got = c.committed_index(get);
            let half = |m: &MajorityConfig| m.committed_index(get);
            prop_assert_eq!(got, half(&c.incoming).min(half(&c.outgoing)));
            // And it is reached by a majority of each non-empty half.
            for m in [&c.incoming, &c.outgoing] {
                if !m.is_empty() {
                    let reached = m.ids().filter(|id| acks[(*id - 1) as usize] >= got).count();
                    prop_assert!(reached > m.len() / 2);
                }
            }
        }
    }
}
