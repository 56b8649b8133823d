//! Membership changes and learners, rule by rule, through the public API:
//! one change at a time, joint configurations and how they are left,
//! removing the leader, learners that replicate but never campaign nor
//! count, and restoring a configuration from storage.

mod common;

use common::{config, Cluster};
use raft_core::{
    AnyConfChange, ConfChange, ConfChangeError, ConfChangeTransition, ConfChangeType, ConfChangeV2,
    ConfState, Config, EntryId, EntryType, Error, LogStorage, MemStorage, MessageType, NodeId,
    RawNode, Role,
};

fn v2(transition: ConfChangeTransition, tokens: &str) -> ConfChangeV2 {
    ConfChangeV2::new(
        transition,
        ConfChangeV2::changes_from_tokens(tokens).unwrap(),
    )
}

fn auto(tokens: &str) -> ConfChangeV2 {
    v2(ConfChangeTransition::Auto, tokens)
}

/// Nodes `1..=n` sharing the membership `cs`.
fn cluster(n: u64, cs: &ConfState, make: impl Fn(NodeId) -> Config) -> Cluster {
    Cluster::from_nodes(
        (1..=n)
            .map(|id| {
                (
                    make(id),
                    MemStorage::with_base(cs.clone(), EntryId::default()),
                )
            })
            .collect(),
    )
}

/// Adds node `id` with an empty log and the membership `cs`, as an
/// application that tells a new node the group it joins.
fn join(c: &mut Cluster, id: NodeId, cs: &ConfState) {
    let store = MemStorage::with_base(cs.clone(), EntryId::default());
    let node = RawNode::new(&config(id), store).unwrap();
    c.nodes.insert(id, node);
    c.applied.insert(id, Vec::new());
}

fn conf(c: &Cluster, id: NodeId) -> ConfState {
    c.status(id).conf_state
}

/// The types of the entries in `id`'s log from `lo` on.
fn entry_types(c: &Cluster, id: NodeId, lo: u64) -> Vec<EntryType> {
    let store = c.node(id).store();
    let hi = store.last_index().unwrap() + 1;
    store
        .entries(lo, hi, u64::MAX)
        .unwrap()
        .iter()
        .map(|e| e.entry_type)
        .collect()
}

#[test]
fn a_v1_change_adds_a_voter_who_catches_up_by_snapshot_and_counts() {
    let mut c = cluster(1, &ConfState::with_voters([1]), config);
    c.elect(1);
    c.node_mut(1)
        .propose_conf_change(ConfChange::new(ConfChangeType::AddNode, 2))
        .unwrap();
    c.flush(1);
    // The leader applied the change alone; it snapshots and compacts, so
    // the new node (which knows nothing) can only catch up by snapshot.
    let applied = c.node(1).applied();
    let cs = conf(&c, 1);
    assert_eq!(cs, ConfState::with_voters([1, 2]));
    let store = c.node_mut(1).store_mut();
    store
        .create_snapshot(applied, Some(cs.clone()), Vec::new())
        .unwrap();
    store.compact(applied).unwrap();
    let node = RawNode::new(&config(2), MemStorage::new()).unwrap();
    c.nodes.insert(2, node);
    c.applied.insert(2, Vec::new());
    c.tick_and_stabilize(1, 1);
    assert!(!c.delivered_of(MessageType::MsgSnap, 1, 2).is_empty());
    assert_eq!(conf(&c, 1), ConfState::with_voters([1, 2]));
    assert_eq!(
        conf(&c, 2),
        ConfState::with_voters([1, 2]),
        "the new node applied it too"
    );
    // From now on node 1 alone cannot commit.
    c.isolate(2);
    let commit = c.commit(1);
    c.propose(1, b"x").unwrap();
    c.stabilize();
    assert_eq!(c.commit(1), commit, "one of two voters is no majority");
    c.heal();
    c.tick_and_stabilize(1, 1);
    assert_eq!(c.commit(1), commit + 1);
}

#[test]
fn one_change_at_a_time_the_second_becomes_an_empty_entry() {
    let mut c = Cluster::new(3);
    c.elect(1);
    let last = c.last_index(1);
    // Keep the first change from committing (and so from applying).
    c.isolate(1);
    c.node_mut(1).propose_conf_change(auto("l4")).unwrap();
    c.node_mut(1).propose_conf_change(auto("l5")).unwrap();
    c.flush(1);
    let types = entry_types(&c, 1, last + 1);
    assert_eq!(
        types,
        vec![EntryType::EntryConfChangeV2, EntryType::EntryNormal]
    );
    let store = c.node(1).store();
    let refused = &store.entries(last + 2, last + 3, u64::MAX).unwrap()[0];
    assert!(
        refused.data.is_empty(),
        "the refused change carries nothing"
    );
    c.heal();
    c.tick_and_stabilize(1, 1);
    assert_eq!(conf(&c, 1).learners, vec![4]);
    // Applied: a new change is accepted again.
    c.node_mut(1).propose_conf_change(auto("l5")).unwrap();
    c.stabilize();
    assert_eq!(conf(&c, 1).learners, vec![4, 5]);
}

#[test]
fn a_new_leader_accepts_no_change_before_its_log_is_applied() {
    let mut c = Cluster::new(3);
    c.elect(1);
    // 2 and 3 get an entry that never commits.
    c.set_filter(|m| m.msg_type != MessageType::MsgAppResp);
    c.propose(1, b"x").unwrap();
    c.stabilize();
    // 2 wins, and while its log is not all applied (its entry of the term
    // cannot commit: appends are dropped) it takes no change.
    c.set_filter(|m| m.msg_type != MessageType::MsgApp);
    c.elect(2);
    let last = c.last_index(2);
    c.node_mut(2).propose_conf_change(auto("l4")).unwrap();
    c.flush(2);
    assert_eq!(entry_types(&c, 2, last + 1), vec![EntryType::EntryNormal]);
}

#[test]
fn joint_changes_must_be_left_before_the_next_and_only_when_joint() {
    let mut c = Cluster::new(3);
    c.elect(1);
    // Leaving a configuration that is not joint is refused.
    let last = c.last_index(1);
    c.node_mut(1)
        .propose_conf_change(ConfChangeV2::leave_joint())
        .unwrap();
    c.stabilize();
    assert_eq!(entry_types(&c, 1, last + 1), vec![EntryType::EntryNormal]);
    // An explicit transition stays joint until asked to leave.
    c.node_mut(1)
        .propose_conf_change(v2(ConfChangeTransition::JointExplicit, "l4"))
        .unwrap();
    c.stabilize();
    let joint = conf(&c, 1);
    assert_eq!(joint.voters_outgoing, vec![1, 2, 3]);
    assert_eq!(joint.learners, vec![4]);
    assert!(!joint.auto_leave);
    // While joint, only the leave is accepted.
    let last = c.last_index(1);
    c.node_mut(1).propose_conf_change(auto("l5")).unwrap();
    c.stabilize();
    assert_eq!(entry_types(&c, 1, last + 1), vec![EntryType::EntryNormal]);
    assert_eq!(conf(&c, 1), joint);
    c.node_mut(2)
        .propose_conf_change(ConfChangeV2::leave_joint())
        .unwrap();
    c.stabilize();
    for id in 1..=3 {
        assert_eq!(
            conf(&c, id),
            ConfState::with_voters_and_learners([1, 2, 3], [4])
        );
    }
}

#[test]
fn the_leader_leaves_an_auto_joint_configuration_by_itself() {
    for transition in [
        ConfChangeTransition::Auto,
        ConfChangeTransition::JointImplicit,
    ] {
        let mut c = Cluster::new(3);
        c.elect(1);
        c.node_mut(1)
            .propose_conf_change(v2(transition, "r3 l3"))
            .unwrap();
        c.stabilize();
        // Demoting 3 went through learners_next, then the automatic leave.
        for id in 1..=3 {
            assert_eq!(
                conf(&c, id),
                ConfState::with_voters_and_learners([1, 2], [3]),
                "{transition:?}"
            );
        }
        let last = c.last_index(1);
        let types = entry_types(&c, 1, last - 1);
        assert_eq!(
            types,
            vec![EntryType::EntryConfChangeV2; 2],
            "{transition:?}"
        );
    }
}

#[test]
fn joint_quorums_need_both_halves() {
    let mut c = Cluster::new(3);
    c.elect(1);
    join(&mut c, 4, &ConfState::with_voters([1, 2, 3]));
    join(&mut c, 5, &ConfState::with_voters([1, 2, 3]));
    c.node_mut(1)
        .propose_conf_change(v2(ConfChangeTransition::JointExplicit, "r2 r3 v4 v5"))
        .unwrap();
    c.stabilize();
    assert_eq!(conf(&c, 1).voters, vec![1, 4, 5]);
    assert_eq!(conf(&c, 1).voters_outgoing, vec![1, 2, 3]);
    // The incoming majority (1 4 5) alone does not commit.
    c.isolate(2);
    c.isolate(3);
    let commit = c.commit(1);
    c.propose(1, b"x").unwrap();
    c.stabilize();
    assert_eq!(c.commit(1), commit);
    // Once the outgoing half has it too, x commits; y, which only the
    // outgoing half gets, does not.
    c.heal();
    c.isolate(4);
    c.isolate(5);
    c.propose(1, b"y").unwrap();
    c.stabilize();
    assert_eq!(c.commit(1), commit + 1);
    c.heal();
    c.tick_and_stabilize(1, 1);
    assert_eq!(c.commit(1), commit + 2);
}

#[test]
fn learners_replicate_but_never_campaign_nor_count() {
    let cs = ConfState::with_voters_and_learners([1, 2], [3]);
    let mut c = cluster(3, &cs, config);
    // A learner's election timer never fires a campaign.
    c.tick(3, 100);
    c.node_mut(3).campaign().unwrap();
    let msgs = c.take_messages();
    assert!(msgs.is_empty(), "{msgs:?}");
    assert_eq!(c.role(3), Role::Follower);
    c.elect(1);
    c.propose(1, b"x").unwrap();
    c.stabilize();
    assert_eq!(
        c.applied_data(3),
        vec![b"x".to_vec()],
        "learners are replicated to"
    );
    // With the other voter gone, the learner's acknowledgement commits nothing.
    c.isolate(2);
    let commit = c.commit(1);
    c.propose(1, b"y").unwrap();
    c.stabilize();
    assert_eq!(c.commit(1), commit);
    assert_eq!(
        c.last_index(3),
        c.last_index(1),
        "the learner has it all the same"
    );
    let status = c.status(1);
    let pr = &status.progress.unwrap()[&3];
    assert!(pr.is_learner);
    assert!(pr.to_string().contains(" learner"));
}

#[test]
fn a_learner_votes_when_a_candidate_counts_it_as_a_voter() {
    // 1 and 2 promoted 3; 3 has not heard of it and still thinks itself a
    // learner. 2's vote request must still be answered, or with 1 gone
    // nobody could be elected.
    let cs = ConfState::with_voters_and_learners([1, 2], [3]);
    let mut c = cluster(3, &cs, config);
    c.elect(1);
    c.isolate(3);
    c.node_mut(1).propose_conf_change(auto("v3")).unwrap();
    c.stabilize();
    assert_eq!(conf(&c, 2).voters, vec![1, 2, 3]);
    assert_eq!(conf(&c, 3).learners, vec![3]);
    c.heal();
    c.isolate(1);
    c.node_mut(2).campaign().unwrap();
    c.stabilize();
    assert!(!c.delivered_of(MessageType::MsgVoteResp, 3, 2).is_empty());
    assert_eq!(c.role(2), Role::Leader);
    assert_eq!(
        conf(&c, 3).voters,
        vec![1, 2, 3],
        "3 learns it was promoted"
    );
}

#[test]
fn a_removed_leader_steps_down_only_when_configured_to() {
    for step_down in [false, true] {
        let mut c = Cluster::with_config(3, |id| {
            let mut cfg = config(id);
            cfg.step_down_on_removal = step_down;
            cfg
        });
        c.elect(1);
        c.node_mut(1)
            .propose_conf_change(ConfChange::new(ConfChangeType::RemoveNode, 1))
            .unwrap();
        c.stabilize();
        assert_eq!(conf(&c, 2).voters, vec![2, 3]);
        let role = c.role(1);
        if step_down {
            assert_eq!(role, Role::Follower);
        } else {
            assert_eq!(role, Role::Leader, "etcd's default: keeps leading");
            assert!(matches!(c.propose(1, b"x"), Err(Error::ProposalDropped)));
        }
        // Either way it may never campaign again.
        c.node_mut(1).campaign().unwrap();
        assert!(c
            .take_messages()
            .iter()
            .all(|m| m.msg_type != MessageType::MsgVote));
        // And the others carry on without it.
        c.isolate(1);
        c.elect(2);
    }
}

#[test]
fn responses_from_removed_peers_are_refused() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(3);
    c.node_mut(1).propose_conf_change(auto("r3")).unwrap();
    c.stabilize();
    assert_eq!(conf(&c, 1).voters, vec![1, 2]);
    let mut resp = common::msg(MessageType::MsgAppResp, 3, 1, c.term(1));
    resp.index = 1;
    assert!(matches!(
        c.node_mut(1).step(resp),
        Err(Error::StepPeerNotFound)
    ));
}

#[test]
fn no_campaign_while_a_committed_change_is_unapplied() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.node_mut(1).propose_conf_change(auto("l4")).unwrap();
    // The change commits; 2 hears of the commit but handles no Ready.
    for _ in 0..2 {
        let msgs = c.take_messages();
        for m in msgs {
            c.deliver(m);
        }
    }
    c.flush(1);
    let msgs: Vec<_> = c.in_flight.drain(..).filter(|m| m.to == 2).collect();
    for m in msgs {
        c.node_mut(2).step(m).unwrap();
    }
    let mut ready = c.node_mut(2).ready().unwrap();
    let committed = std::mem::take(&mut ready.committed_entries);
    assert!(committed
        .iter()
        .any(|e| e.entry_type == EntryType::EntryConfChangeV2));
    // Persisted but neither applied nor advanced: the change is pending.
    c.node_mut(2)
        .store_mut()
        .write(ready.take_log_write())
        .unwrap();
    c.node_mut(2).campaign().unwrap();
    assert_eq!(c.role(2), Role::Follower, "refused to campaign");
}

#[test]
fn an_invalid_change_is_refused_when_applied_and_changes_nothing() {
    let mut c = Cluster::new(3);
    let node = c.node_mut(1);
    let before = node.status().conf_state;
    let err = node.apply_conf_change(auto("r1 r2 r3")).unwrap_err();
    assert!(matches!(
        err,
        Error::ConfChange(ConfChangeError::RemovedAllVoters)
    ));
    let err = node
        .apply_conf_change(ConfChangeV2::leave_joint())
        .unwrap_err();
    assert!(matches!(err, Error::ConfChange(ConfChangeError::NotJoint)));
    assert_eq!(node.status().conf_state, before);
    // A valid one returns the new configuration.
    let cs = node.apply_conf_change(AnyConfChange::V1(ConfChange::new(
        ConfChangeType::AddLearnerNode,
        4,
    )));
    assert_eq!(
        cs.unwrap(),
        ConfState::with_voters_and_learners([1, 2, 3], [4])
    );
}

#[test]
fn disabled_validation_lets_any_change_into_the_log() {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.disable_conf_change_validation = true;
        cfg
    });
    c.elect(1);
    let last = c.last_index(1);
    c.isolate(1);
    c.node_mut(1).propose_conf_change(auto("l4")).unwrap();
    c.node_mut(1).propose_conf_change(auto("l5")).unwrap();
    c.flush(1);
    assert_eq!(
        entry_types(&c, 1, last + 1),
        vec![EntryType::EntryConfChangeV2; 2],
        "the second change was not replaced"
    );
}

#[test]
fn a_node_restarts_in_its_stored_joint_configuration() {
    let mut cs = ConfState::with_voters_and_learners([1, 2, 3], [5]);
    cs.voters_outgoing = vec![1, 2, 4];
    cs.learners_next = vec![4];
    cs.auto_leave = true;
    let node = RawNode::new(
        &config(1),
        MemStorage::with_base(cs.clone(), EntryId::default()),
    )
    .unwrap();
    let status = node.status();
    assert_eq!(status.conf_state, cs);
    assert_eq!(status.voters, vec![1, 2, 3, 4], "both halves vote");
    // A membership no changer can produce is refused, not half-restored.
    let bad = ConfState::with_voters_and_learners([1, 2], [2]);
    let err = RawNode::new(&config(1), MemStorage::with_base(bad, EntryId::default()));
    assert!(matches!(
        err,
        Err(Error::ConfChange(ConfChangeError::Invariant(_)))
    ));
}

#[test]
fn a_joint_candidate_needs_votes_from_both_halves() {
    let mut cs = ConfState::with_voters([1, 4, 5]);
    cs.voters_outgoing = vec![1, 2, 3];
    let mut c = cluster(5, &cs, config);
    // Only the outgoing half answers: no majority of (1 4 5).
    c.isolate(4);
    c.isolate(5);
    c.node_mut(1).campaign().unwrap();
    c.stabilize();
    assert_ne!(c.role(1), Role::Leader);
    assert!(
        c.delivered_of(MessageType::MsgVote, 1, 4).is_empty(),
        "cut off"
    );
    c.heal();
    c.tick_and_stabilize(1, 30);
    let leaders = (1..=5).filter(|id| c.role(*id) == Role::Leader).count();
    assert_eq!(leaders, 1);
}
