//! Leader completeness, looking ahead: a node whose disk lacks a committed
//! entry must not be able to win an election in the configuration it has
//! applied.
//!
//! A voter grants its vote to a candidate whose log is at least as up to
//! date as its own, whatever configuration the voter itself is in
//! (learners and members of other configurations vote too); the candidate
//! counts the grants of the voters it knows, and wins with a majority of
//! its incoming voters and, while joint, of its outgoing ones as well. So
//! a node that lacks a committed entry and finds such majorities among the
//! disks (its own included) could become a leader without that entry.
//! Raft rules it out: the entry is on a majority of the configuration that
//! committed it, with an entry of the committing term after it, and a
//! candidate's configuration is at most one change behind that one (the
//! leader proposes a change only once the previous one is applied, and
//! whoever stores the next change also stores the commit of the previous
//! one), so the two majorities overlap in a node that refuses. Breaking
//! the commit rule (figure 8 of the Raft paper) or a joint quorum breaks
//! this before any overwrite happens.
//!
//! Nodes removed for good neither vote nor campaign any more. Crashed
//! nodes do: they come back with the same disk.

use super::{Checked, Checker, Property, Slot};
use raft_core::NodeId;

/// The (last term, last index) of a stored log: what the vote compares.
fn last(log: &[Slot]) -> (u64, usize) {
    (log.last().map_or(0, |s| s.term), log.len())
}

impl Checker {
    /// Fails if some node lacking a committed entry could win an election
    /// now (see the module documentation).
    pub fn check_electability(&self) -> Checked {
        let committed = self.committed.len();
        for (n, log) in self.logs.iter().enumerate() {
            if self.agree[n] >= committed || self.retired[n] {
                continue;
            }
            let id = n as NodeId + 1;
            let conf = &self.voters[n];
            // A learner, or a node outside its own configuration (a spare
            // that has not caught up, a removed node), never campaigns.
            if !conf.incoming.contains(&id) && !conf.outgoing.contains(&id) {
                continue;
            }
            let mine = last(log);
            let grants = |v: &NodeId| {
                let i = (*v as usize).wrapping_sub(1);
                !self.retired.get(i).copied().unwrap_or(true)
                    && self.logs.get(i).is_some_and(|l| mine >= last(l))
            };
            let mut winning = Vec::new();
            let wins = [&conf.incoming, &conf.outgoing].iter().all(|half| {
                if half.is_empty() {
                    return true;
                }
                let granted: Vec<NodeId> = half.iter().copied().filter(grants).collect();
                let won = granted.len() > half.len() / 2;
                winning.extend(granted);
                won
            });
            if wins {
                winning.sort_unstable();
                winning.dedup();
                let names: Vec<String> = winning.iter().map(|v| format!("n{v}")).collect();
                let missing = self.agree[n] + 1;
                let c = &self.committed[missing - 1];
                return Err(self.fail(
                    Property::LeaderCompleteness,
                    format!(
                        "n{id} lacks committed index {missing} (term {}, committed in term {}) but its log (last term {}, index {}) would win the votes of {} in its configuration {conf:?}",
                        c.slot.term, c.term, mine.0, mine.1, names.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use raft_core::{ConfState, Entry};

    fn e(term: u64, index: u64, data: &str) -> Entry {
        Entry {
            term,
            index,
            data: Bytes::from(data.to_string()),
            ..Entry::default()
        }
    }

    fn joint(incoming: &[NodeId], outgoing: &[NodeId]) -> ConfState {
        let mut cs = ConfState::with_voters(incoming.iter().copied());
        cs.voters_outgoing = outgoing.to_vec();
        cs
    }

    fn prop(r: Checked) -> Option<Property> {
        r.err().map(|v| v.property)
    }

    /// Five nodes; index 2 committed on n1, n2 and n3; n4 and n5 lack it.
    fn n4_behind() -> Checker {
        let mut c = Checker::new(5);
        for n in 1..=5 {
            c.on_write(n, &[e(1, 1, "a")]).unwrap();
        }
        for n in 1..=3 {
            c.on_write(n, &[e(2, 2, "b")]).unwrap();
        }
        c.on_commit(1, 2, 0, 2).unwrap();
        c
    }

    #[test]
    fn a_joint_candidate_must_win_both_halves() {
        let mut c = n4_behind();
        c.check_electability().unwrap();
        // n4 and n5 are all of the incoming half but one of three outgoing.
        c.on_conf(4, &joint(&[4, 5], &[1, 2, 4]));
        c.check_electability().unwrap();
        // Two of three outgoing: n4 could lead without index 2.
        c.on_conf(4, &joint(&[4, 5], &[1, 4, 5]));
        assert_eq!(
            prop(c.check_electability()),
            Some(Property::LeaderCompleteness)
        );
        // A learner never campaigns.
        let mut learner = ConfState::with_voters([5]);
        learner.learners = vec![4];
        c.on_conf(4, &learner);
        c.check_electability().unwrap();
    }

    #[test]
    fn a_node_removed_for_good_votes_no_more() {
        let mut c = n4_behind();
        c.on_conf(4, &ConfState::with_voters([3, 4, 5]));
        assert_eq!(
            prop(c.check_electability()),
            Some(Property::LeaderCompleteness)
        );
        c.retire(5);
        c.check_electability().unwrap();
    }

    #[test]
    fn a_spare_campaigns_only_once_it_is_in_its_own_configuration() {
        let mut c = n4_behind();
        let spare = c.add_node();
        assert_eq!(spare, 6);
        c.check_electability().unwrap();
        // Had it taken a configuration without the snapshot that carries
        // the real one (say, replaying the log from index 1 on an empty
        // membership), it would elect itself.
        c.on_conf(spare, &ConfState::with_voters([spare]));
        assert_eq!(
            prop(c.check_electability()),
            Some(Property::LeaderCompleteness)
        );
    }
}
