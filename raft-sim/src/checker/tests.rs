//! The checker catches each property's violation, hand-built.

use super::*;
use raft_core::ConfState;

fn e(term: u64, index: u64, data: &str) -> Entry {
    Entry {
        term,
        index,
        data: Bytes::from(data.to_string()),
        ..Entry::default()
    }
}

fn prop(r: Checked) -> Option<Property> {
    r.err().map(|v| v.property)
}

#[test]
fn two_leaders_in_one_term_break_election_safety() {
    let mut c = Checker::new(3);
    assert_eq!(prop(c.on_leader(1, 2)), None);
    assert_eq!(
        prop(c.on_leader(1, 2)),
        None,
        "the same leader again is fine"
    );
    assert_eq!(prop(c.on_leader(2, 3)), None);
    assert_eq!(prop(c.on_leader(3, 2)), Some(Property::ElectionSafety));
}

#[test]
fn same_id_with_different_history_breaks_log_matching() {
    let mut c = Checker::new(3);
    c.on_write(1, &[e(1, 1, "a"), e(2, 2, "b")]).unwrap();
    // Same (2, 2), same payload, but a different predecessor term.
    c.on_write(2, &[e(3, 1, "x")]).unwrap();
    assert_eq!(
        prop(c.on_write(2, &[e(2, 2, "b")])),
        Some(Property::LogMatching)
    );
    // Same id with another payload.
    assert_eq!(
        prop(c.on_write(3, &[e(1, 1, "z")])),
        Some(Property::LogMatching)
    );
}

#[test]
fn overwriting_a_committed_entry_on_a_majority_is_caught() {
    let mut c = Checker::new(3);
    for n in 1..=2 {
        c.on_write(n, &[e(1, 1, "a")]).unwrap();
    }
    c.on_commit(1, 1, 0, 1).unwrap();
    c.on_write(3, &[e(2, 1, "b")]).unwrap();
    assert_eq!(
        prop(c.on_write(2, &[e(2, 1, "b")])),
        Some(Property::CommittedDurability)
    );
}

#[test]
fn committing_on_a_minority_or_disagreeing_is_caught() {
    let mut c = Checker::new(3);
    c.on_write(1, &[e(1, 1, "a")]).unwrap();
    assert_eq!(
        prop(c.on_commit(1, 1, 0, 1)),
        Some(Property::CommittedDurability)
    );
    let mut c = Checker::new(3);
    c.on_write(1, &[e(1, 1, "a")]).unwrap();
    c.on_write(2, &[e(1, 1, "a")]).unwrap();
    c.on_write(3, &[e(2, 1, "b")]).unwrap();
    c.on_commit(1, 1, 0, 1).unwrap();
    assert_eq!(
        prop(c.on_commit(3, 2, 0, 1)),
        Some(Property::StateMachineSafety)
    );
}

#[test]
fn applies_must_match_what_was_committed_and_each_other() {
    let mut c = Checker::new(3);
    for n in 1..=3 {
        c.on_write(n, &[e(1, 1, "a"), e(1, 2, "b")]).unwrap();
    }
    assert_eq!(
        prop(c.on_apply(1, &e(1, 1, "a"))),
        Some(Property::StateMachineSafety),
        "not committed yet"
    );
    c.on_commit(1, 1, 0, 2).unwrap();
    c.on_apply(1, &e(1, 1, "a")).unwrap();
    assert!(c.is_acked(&Bytes::from("a")));
    assert_eq!(
        prop(c.on_apply(2, &e(1, 1, "q"))),
        Some(Property::StateMachineSafety)
    );
    c.check_logs(false).unwrap();
}

#[test]
fn a_leader_without_a_committed_entry_breaks_completeness() {
    let mut c = Checker::new(3);
    for n in 1..=2 {
        c.on_write(n, &[e(1, 1, "a")]).unwrap();
    }
    c.on_commit(1, 1, 0, 1).unwrap();
    c.on_write(3, &[e(2, 1, "b")]).unwrap();
    assert_eq!(prop(c.on_leader(3, 3)), Some(Property::LeaderCompleteness));
}

#[test]
fn an_electable_node_lacking_a_committed_entry_is_caught_early() {
    // Figure 8 of the Raft paper: index 2 of term 2 committed by
    // counting replicas in term 4, while n3 holds a term 3 entry there.
    let mut c = Checker::new(3);
    c.on_write(1, &[e(1, 1, "a"), e(2, 2, "b")]).unwrap();
    c.on_write(2, &[e(1, 1, "a"), e(2, 2, "b")]).unwrap();
    c.on_write(3, &[e(1, 1, "a"), e(3, 2, "c")]).unwrap();
    c.on_commit(1, 1, 0, 1).unwrap();
    c.check_electability().unwrap();
    c.on_commit(1, 4, 1, 2).unwrap();
    assert_eq!(
        prop(c.check_electability()),
        Some(Property::LeaderCompleteness)
    );
    // Had the leader's own term-4 entry reached the majority first, n3
    // could not win, and the state is safe.
    c.on_write(1, &[e(4, 3, "")]).unwrap();
    c.on_write(2, &[e(4, 3, "")]).unwrap();
    c.check_electability().unwrap();
}

#[test]
fn terms_commits_and_votes_must_not_go_back() {
    let c = Checker::new(3);
    let hs = |term, vote, commit| HardState { term, vote, commit };
    assert!(c
        .on_hard_state(1, "in memory", hs(2, 1, 5), hs(3, 0, 5))
        .is_ok());
    assert!(c
        .on_hard_state(1, "in memory", hs(2, 0, 5), hs(2, 3, 5))
        .is_ok());
    for (old, new) in [
        (hs(3, 1, 5), hs(2, 1, 5)),
        (hs(3, 1, 5), hs(3, 1, 4)),
        (hs(3, 1, 5), hs(3, 2, 5)),
    ] {
        assert_eq!(
            prop(c.on_hard_state(1, "in memory", old, new)),
            Some(Property::Monotonicity)
        );
    }
}

/// Three nodes holding `a`, `b`, `c` at 1..=3, committed by n1 in term 1.
fn committed_abc() -> Checker {
    let mut c = Checker::new(3);
    let entries = [e(1, 1, "a"), e(1, 2, "b"), e(1, 3, "c")];
    for node in 1..=3 {
        c.on_write(node, &entries).unwrap();
    }
    c.on_commit(1, 1, 0, 3).unwrap();
    c
}

#[test]
fn a_restored_state_must_be_the_committed_log_applied() {
    let c = committed_abc();
    let mut good = StateMachine::default();
    for x in [e(1, 1, "a"), e(1, 2, "b")] {
        good.apply(&x);
    }
    assert_eq!(prop(c.check_restored(2, "here", good)), None);
    // The state of index 1, labelled index 2: a stale snapshot.
    let mut stale = StateMachine::default();
    stale.apply(&e(1, 1, "a"));
    stale.index = 2;
    assert_eq!(
        prop(c.check_restored(2, "here", stale)),
        Some(Property::SnapshotState)
    );
    // A state beyond what was committed.
    good.apply(&e(1, 3, "c"));
    good.apply(&e(1, 4, "d"));
    assert_eq!(
        prop(c.check_restored(2, "here", good)),
        Some(Property::SnapshotState)
    );
}

#[test]
fn an_install_must_be_of_a_committed_entry_and_keeps_the_log_mirror() {
    let mut c = committed_abc();
    assert_eq!(prop(c.on_install(3, 2, 2)), Some(Property::SnapshotState));
    assert_eq!(prop(c.on_install(3, 4, 1)), Some(Property::SnapshotState));
    // A good install drops n3's entry 3 (still on n1 and n2: a quorum), and
    // the log continues after the snapshot.
    assert_eq!(prop(c.on_install(3, 2, 1)), None);
    assert_eq!(c.stored_log_len(3), 2);
    assert_eq!(prop(c.on_write(3, &[e(1, 3, "c")])), None);
    c.check_logs(false).unwrap();
    // Dropping committed index 3 from a second disk leaves it on one.
    assert_eq!(
        prop(c.on_install(2, 2, 1)),
        None,
        "n3 holds index 3 again, so n1 and n3 still make a quorum"
    );
    assert_eq!(
        prop(c.on_install(1, 2, 1)),
        Some(Property::CommittedDurability)
    );
}

#[test]
fn a_joint_commit_needs_a_majority_of_both_halves() {
    let mut joint = ConfState::with_voters([1, 2]);
    joint.voters_outgoing = vec![1, 3, 4];
    let mut c = Checker::new(4);
    c.on_conf(1, &joint);
    c.on_leader(1, 1).unwrap();
    for node in [1, 2] {
        c.on_write(node, &[e(1, 1, "a")]).unwrap();
    }
    // {1,2} is all of the incoming half but one of three outgoing voters.
    assert_eq!(
        prop(c.on_commit(1, 1, 0, 1)),
        Some(Property::CommittedDurability)
    );
    c.on_write(3, &[e(1, 1, "a")]).unwrap();
    assert_eq!(prop(c.on_commit(1, 1, 0, 1)), None);
    assert!(c.membership_changed());
}

#[test]
fn a_read_older_than_an_acknowledged_write_is_caught() {
    let mut c = Checker::new(3);
    for node in [1, 2] {
        c.on_write(node, &[e(1, 1, "a"), e(1, 2, "b")]).unwrap();
    }
    c.on_leader(1, 1).unwrap();
    c.on_commit(1, 1, 0, 2).unwrap();
    c.on_apply(1, &e(1, 1, "a")).unwrap();
    c.begin_read(Bytes::from_static(b"early"));
    c.on_apply(1, &e(1, 2, "b")).unwrap();
    c.begin_read(Bytes::from_static(b"late"));
    // The early read may see index 1; the late one must see index 2.
    assert_eq!(
        prop(c.on_read_served(2, &Bytes::from_static(b"early"), 1)),
        None
    );
    assert_eq!(
        prop(c.on_read_served(2, &Bytes::from_static(b"late"), 1)),
        Some(Property::LinearizableRead)
    );
    // A duplicate answer to a served read is not a second read.
    assert_eq!(
        prop(c.on_read_served(2, &Bytes::from_static(b"late"), 0)),
        None
    );
    assert_eq!(c.op_counts().reads_served, 2);
}
