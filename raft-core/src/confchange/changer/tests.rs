use super::*;
use crate::confchange::ConfChangeV2;

fn tracker(cs: &ConfState) -> ProgressTracker {
    let empty = ProgressTracker::new(8, u64::MAX);
    let (config, progress) = Changer::restore(&empty, 10, cs).unwrap();
    let mut t = empty;
    t.config = config;
    t.progress = progress;
    t
}

fn changes(tokens: &str) -> Vec<ConfChangeSingle> {
    ConfChangeV2::changes_from_tokens(tokens).unwrap()
}

fn install(t: &mut ProgressTracker, outcome: Outcome) {
    t.config = outcome.0;
    t.progress = outcome.1;
}

#[test]
fn simple_changes_one_voter_at_a_time() {
    let mut t = tracker(&ConfState::with_voters([1]));
    let c = Changer::new(&t, 10);
    let outcome = c.simple(&changes("v2")).unwrap();
    install(&mut t, outcome);
    assert_eq!(t.config.to_string(), "voters=(1 2)");
    let pr = &t.progress[&2];
    assert_eq!((pr.matched, pr.next, pr.recent_active), (0, 10, true));
    // Two voters at once need a joint configuration.
    let c = Changer::new(&t, 10);
    assert_eq!(
        c.simple(&changes("v3 v4")),
        Err(ConfChangeError::TooManyVoterChanges)
    );
    // Learners do not count as voter changes.
    let outcome = Changer::new(&t, 10).simple(&changes("l3 l4 v5")).unwrap();
    install(&mut t, outcome);
    assert_eq!(t.config.to_string(), "voters=(1 2 5) learners=(3 4)");
    // Promoting a learner keeps its progress.
    t.progress.get_mut(&3).unwrap().matched = 7;
    let outcome = Changer::new(&t, 10).simple(&changes("v3")).unwrap();
    install(&mut t, outcome);
    assert_eq!(t.config.to_string(), "voters=(1 2 3 5) learners=(4)");
    assert_eq!(
        (t.progress[&3].matched, t.progress[&3].is_learner),
        (7, false)
    );
    // Removing and updating; a change for node 0 is a no-op.
    let outcome = Changer::new(&t, 10).simple(&changes("r4 u1 r0")).unwrap();
    install(&mut t, outcome);
    assert_eq!(t.config.to_string(), "voters=(1 2 3 5)");
    assert!(!t.progress.contains_key(&4));
}

#[test]
fn refusals_leave_nothing_changed() {
    let t = tracker(&ConfState::with_voters([1]));
    let c = Changer::new(&t, 10);
    assert_eq!(
        c.simple(&changes("r1")),
        Err(ConfChangeError::RemovedAllVoters)
    );
    assert_eq!(c.leave_joint(), Err(ConfChangeError::NotJoint));
    assert_eq!(
        c.enter_joint(false, &changes("r1")),
        Err(ConfChangeError::RemovedAllVoters)
    );
    let empty = ProgressTracker::new(8, u64::MAX);
    assert_eq!(
        Changer::new(&empty, 10).enter_joint(false, &changes("v1")),
        Err(ConfChangeError::ZeroVoterJoint)
    );
    assert_eq!(
        t.config.to_string(),
        "voters=(1)",
        "the tracker is untouched"
    );
}

#[test]
fn joint_round_trip_with_a_demotion() {
    let mut t = tracker(&ConfState::with_voters([1, 2, 3]));
    // Replace 3 by 4 and demote 2, all at once.
    let c = Changer::new(&t, 10);
    let outcome = c.enter_joint(true, &changes("r3 v4 l2")).unwrap();
    install(&mut t, outcome);
    assert_eq!(
        t.config.to_string(),
        "voters=(1 4)&&(1 2 3) learners_next=(2) autoleave"
    );
    // 2 and 3 still vote in the outgoing half, so they keep their progress.
    assert!(t.progress.contains_key(&3) && !t.progress[&2].is_learner);
    let c = Changer::new(&t, 10);
    assert_eq!(
        c.enter_joint(false, &changes("v5")),
        Err(ConfChangeError::AlreadyJoint)
    );
    assert_eq!(
        c.simple(&changes("v5")),
        Err(ConfChangeError::SimpleWhileJoint)
    );
    // The joint configuration restores from its ConfState.
    let cs = t.config.conf_state();
    assert_eq!(tracker(&cs).config, t.config);
    let outcome = Changer::new(&t, 10).leave_joint().unwrap();
    install(&mut t, outcome);
    assert_eq!(t.config.to_string(), "voters=(1 4) learners=(2)");
    assert!(t.progress[&2].is_learner);
    assert!(!t.progress.contains_key(&3));
}

#[test]
fn restore_rebuilds_every_shape() {
    let cases = [
        ConfState::with_voters([1, 2, 3]),
        ConfState::with_voters_and_learners([1, 2], [3, 4]),
        ConfState {
            voters: vec![1, 2, 3],
            voters_outgoing: vec![1, 2, 4, 6],
            learners: vec![5],
            learners_next: vec![4],
            auto_leave: true,
        },
    ];
    for cs in cases {
        let t = tracker(&cs);
        assert!(t.config.conf_state().equivalent(&cs), "{cs:?}");
        let members = cs.voters.len()
            + cs.learners.len()
            + cs.voters_outgoing
                .iter()
                .filter(|id| !cs.voters.contains(id))
                .count();
        assert_eq!(t.progress.len(), members, "{cs:?}");
    }
    // A learner that is also a voter cannot be restored.
    let bad = ConfState::with_voters_and_learners([1, 2], [2]);
    let empty = ProgressTracker::new(8, u64::MAX);
    let restored = Changer::restore(&empty, 1, &bad).unwrap();
    assert_eq!(
        restored.0.conf_state(),
        ConfState::with_voters_and_learners([1], [2]),
        "as in etcd, the learner change is applied last and demotes the voter"
    );
}
