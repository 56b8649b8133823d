//! Log replication (Raft paper §5.3) and etcd's fast backtracking.

mod common;

use common::*;
use raft_core::{HardState, Message, MessageType, RawNode};

/// A follower (node 2 of 3) whose log has the given terms, at the last term.
fn follower(terms: &[u64]) -> RawNode<raft_core::MemStorage> {
    let term = terms.last().copied().unwrap_or(0);
    RawNode::new(&config(2), log_store(&[1, 2, 3], terms, hs_term(term))).unwrap()
}

/// Steps `m` into `node`, handles the Ready and returns it.
fn step_ready(node: &mut RawNode<raft_core::MemStorage>, m: Message) -> raft_core::Ready {
    node.step(m).unwrap();
    let rd = handle_ready(node).expect("an append is always answered");
    assert!(!node.has_ready());
    rd
}

/// The single MsgAppResp of a Ready.
fn only_app_resp(rd: &raft_core::Ready) -> &Message {
    assert_eq!(rd.messages.len(), 1, "{:?}", rd.messages);
    let m = &rd.messages[0];
    assert_eq!(m.msg_type, MessageType::MsgAppResp);
    m
}

#[test]
fn append_not_following_a_matching_entry_is_rejected_with_a_hint() {
    // (prev of the append, rejected index, hint index, hint term)
    let cases = [((3, 3), 3, 3, 2), ((3, 5), 5, 3, 2), ((1, 3), 3, 1, 1)];
    for (prev, index, hint, hint_term) in cases {
        let mut node = follower(&[1, 2, 2]);
        let rd = step_ready(
            &mut node,
            append(1, 2, 3, prev, vec![ent(3, prev.1 + 1)], 0),
        );
        let resp = only_app_resp(&rd);
        assert!(resp.reject, "prev {prev:?}");
        assert_eq!(
            (resp.index, resp.reject_hint, resp.log_term),
            (index, hint, hint_term),
            "prev {prev:?}"
        );
        assert!(rd.entries.is_empty(), "prev {prev:?}");
        assert_eq!(log_terms(&node), vec![1, 2, 2], "prev {prev:?}");
    }

    let mut node = follower(&[1, 2, 2]);
    let rd = step_ready(&mut node, append(1, 2, 3, (2, 3), vec![ent(3, 4)], 0));
    let resp = only_app_resp(&rd);
    assert!(!resp.reject);
    assert_eq!(resp.index, 4);
    assert_eq!(log_terms(&node), vec![1, 2, 2, 3]);
}

#[test]
fn a_conflicting_suffix_is_replaced() {
    let mut node = follower(&[1, 1, 1]);
    let new = vec![ent(2, 2), ent(2, 3)];
    let rd = step_ready(&mut node, append(1, 2, 2, (1, 1), new.clone(), 0));
    assert_eq!(rd.entries, new);
    assert_eq!(only_app_resp(&rd).index, 3);
    assert_eq!(log_terms(&node), vec![1, 2, 2]);

    // A shorter conflicting append removes everything after it too.
    let mut node = follower(&[1, 1, 1, 1]);
    let rd = step_ready(&mut node, append(1, 2, 2, (1, 1), vec![ent(2, 2)], 0));
    assert_eq!(only_app_resp(&rd).index, 2);
    assert_eq!(log_terms(&node), vec![1, 2]);
}

#[test]
fn only_missing_entries_are_appended_and_matching_ones_are_kept() {
    let mut node = follower(&[1, 1]);
    let all = vec![ent(1, 1), ent(1, 2), ent(1, 3)];
    let rd = step_ready(&mut node, append(1, 2, 1, (0, 0), all.clone(), 0));
    assert_eq!(rd.entries, vec![ent(1, 3)]);
    assert_eq!(only_app_resp(&rd).index, 3);

    // A duplicate changes nothing.
    let rd = step_ready(&mut node, append(1, 2, 1, (0, 0), all, 0));
    assert!(rd.entries.is_empty());
    assert_eq!(only_app_resp(&rd).index, 3);

    // A delayed, shorter append must not cut off the entries after it.
    let rd = step_ready(&mut node, append(1, 2, 1, (0, 0), vec![ent(1, 1)], 0));
    assert!(rd.entries.is_empty());
    assert_eq!(only_app_resp(&rd).index, 1);
    assert_eq!(log_terms(&node), vec![1, 1, 1]);
}

#[test]
fn an_append_below_the_commit_index_is_answered_with_the_commit_index() {
    let hs = HardState {
        term: 2,
        vote: 0,
        commit: 3,
    };
    let mut node = RawNode::new(&config(2), log_store(&[1, 2, 3], &[1, 2, 2, 2], hs)).unwrap();
    // It even claims to replace committed entries; a correct leader never
    // sends that, and the follower must not act on it.
    let rd = step_ready(&mut node, append(1, 2, 3, (1, 1), vec![ent(3, 2)], 3));
    let resp = only_app_resp(&rd);
    assert!(!resp.reject);
    assert_eq!(resp.index, 3);
    assert!(rd.entries.is_empty());
    assert_eq!(log_terms(&node), vec![1, 2, 2, 2]);
}

#[test]
fn the_leader_overwrites_a_followers_divergent_uncommitted_suffix() {
    let voters = [1, 2, 3];
    let mut c = Cluster::from_nodes(vec![
        (config(1), log_store(&voters, &[1, 1, 3], hs_term(3))),
        (config(2), log_store(&voters, &[1, 1, 2, 2, 2], hs_term(2))),
        (config(3), log_store(&voters, &[1, 1, 3], hs_term(3))),
    ]);
    c.elect(1);
    assert_eq!(c.term(1), 4);
    for id in 1..=3 {
        assert_eq!(log_terms(c.node(id)), vec![1, 1, 3, 4], "node {id}");
        assert_eq!(c.commit(id), 4, "node {id}");
    }
}

/// The prev indexes of the appends node 1 sent node 2, and how many of them
/// node 2 rejected.
fn probes_to_node2(c: &Cluster) -> (Vec<u64>, usize) {
    let probes = c
        .delivered_of(MessageType::MsgApp, 1, 2)
        .iter()
        .map(|m| m.index)
        .collect();
    let rejections = c
        .delivered_of(MessageType::MsgAppResp, 2, 1)
        .iter()
        .filter(|m| m.reject)
        .count();
    (probes, rejections)
}

#[test]
fn a_rejection_hint_lets_the_leader_skip_a_whole_term() {
    // Node 2 holds six entries of term 2 that the leader never had; probing
    // entry by entry would take six round trips.
    let voters = [1, 2, 3];
    let leader_log = [1, 1, 1, 4, 4, 4, 4, 4];
    let mut c = Cluster::from_nodes(vec![
        (config(1), log_store(&voters, &leader_log, hs_term(4))),
        (
            config(2),
            log_store(&voters, &[1, 1, 1, 2, 2, 2, 2, 2, 2], hs_term(2)),
        ),
        (config(3), log_store(&voters, &leader_log, hs_term(4))),
    ]);
    c.elect(1);
    let (probes, rejections) = probes_to_node2(&c);
    assert_eq!(rejections, 1);
    assert_eq!(&probes[..2], &[8, 3]);
    assert_eq!(log_terms(c.node(2)), vec![1, 1, 1, 4, 4, 4, 4, 4, 5]);
}

#[test]
fn hints_from_both_logs_combine_to_skip_terms_on_either_side() {
    let voters = [1, 2, 3];
    let leader_log = [1, 1, 1, 2, 2, 2, 2, 4];
    let mut c = Cluster::from_nodes(vec![
        (config(1), log_store(&voters, &leader_log, hs_term(4))),
        (
            config(2),
            log_store(&voters, &[1, 1, 1, 3, 3, 3, 3, 3, 3], hs_term(3)),
        ),
        (config(3), log_store(&voters, &leader_log, hs_term(4))),
    ]);
    c.elect(1);
    // 8: the follower's term there (3) lets the leader jump to its last
    // entry of term <= 3 (index 7); 7: the follower skips its whole term-3
    // run and points at 3, where the logs agree.
    let (probes, rejections) = probes_to_node2(&c);
    assert_eq!(rejections, 2);
    assert_eq!(&probes[..3], &[8, 7, 3]);
    assert_eq!(log_terms(c.node(2)), vec![1, 1, 1, 2, 2, 2, 2, 4, 5]);
}

#[test]
fn a_lagging_follower_catches_up_once_reachable() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(3);
    for data in [&b"a"[..], b"b", b"c"] {
        c.propose(1, data).unwrap();
        c.stabilize();
    }
    assert_eq!(c.last_index(3), 1);
    c.heal();
    // The appends in flight were lost; a heartbeat answer prompts a resend.
    c.tick(1, HEARTBEAT_TICK);
    c.stabilize();
    assert_eq!(log_terms(c.node(3)), vec![1, 1, 1, 1]);
    assert_eq!(
        c.applied_data(3),
        vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
    );
}
