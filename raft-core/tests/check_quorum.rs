//! CheckQuorum and the leader lease, stale leaders, MsgForgetLeader.

mod common;

use common::*;
use raft_core::{Config, MessageType, RawNode, Role, NO_NODE};

fn check_quorum_config(id: u64) -> Config {
    let mut cfg = config(id);
    cfg.check_quorum = true;
    cfg
}

#[test]
fn a_leader_that_hears_from_no_quorum_for_an_election_timeout_steps_down() {
    let mut c = Cluster::with_config(3, check_quorum_config);
    c.elect(1);
    c.isolate(1);
    // The followers' answers during the election count for the first period.
    for _ in 0..2 * ELECTION_TICK - 1 {
        c.tick(1, 1);
        c.stabilize();
    }
    assert_eq!(c.role(1), Role::Leader);
    c.tick(1, 1);
    assert_eq!(c.role(1), Role::Follower);
    assert_eq!(c.term(1), 1, "stepping down does not start a new term");
    assert_eq!(c.leader(1), NO_NODE);
}

#[test]
fn a_leader_that_hears_from_a_quorum_stays() {
    let mut c = Cluster::with_config(3, check_quorum_config);
    c.elect(1);
    // One follower is enough for a quorum of three.
    c.isolate(3);
    c.tick_and_stabilize(1, 5 * ELECTION_TICK);
    assert_eq!(c.role(1), Role::Leader);
    assert_eq!(c.term(1), 1);
}

#[test]
fn without_check_quorum_an_isolated_leader_stays_leader() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(1);
    c.tick_and_stabilize(1, 5 * ELECTION_TICK);
    assert_eq!(c.role(1), Role::Leader);
}

#[test]
fn a_follower_within_its_lease_ignores_higher_term_votes() {
    let mut c = Cluster::with_config(3, check_quorum_config);
    c.elect(1);
    for t in [MessageType::MsgVote, MessageType::MsgPreVote] {
        c.node_mut(2)
            .step(vote_request(t, 3, 2, 5, (9, 9)))
            .unwrap();
        assert!(c.take_messages().is_empty(), "{t} was answered");
        assert_eq!(c.term(2), 1, "{t} moved the term");
        assert_eq!(c.leader(2), 1);
    }
    // Once an election timeout passes without the leader, the lease is over.
    c.node_mut(2)
        .set_randomized_election_timeout(2 * ELECTION_TICK - 1);
    c.tick(2, ELECTION_TICK);
    c.node_mut(2)
        .step(vote_request(MessageType::MsgVote, 3, 2, 5, (9, 9)))
        .unwrap();
    let msgs = c.take_messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].msg_type, MessageType::MsgVoteResp);
    assert!(!msgs[0].reject);
    assert_eq!(c.term(2), 5);
}

#[test]
fn without_check_quorum_there_is_no_lease() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.node_mut(2)
        .step(vote_request(MessageType::MsgVote, 3, 2, 5, (9, 9)))
        .unwrap();
    let msgs = c.take_messages();
    assert_eq!(msgs.len(), 1);
    assert!(!msgs[0].reject);
    assert_eq!(c.term(2), 5);
}

#[test]
fn a_stale_leaders_append_is_answered_only_with_check_quorum_or_pre_vote() {
    for (check_quorum, pre_vote) in [(false, false), (true, false), (false, true), (true, true)] {
        for t in [MessageType::MsgApp, MessageType::MsgHeartbeat] {
            let cfg = {
                let mut cfg = config(2);
                cfg.check_quorum = check_quorum;
                cfg.pre_vote = pre_vote;
                cfg
            };
            let store = log_store(&[1, 2, 3], &[1], hs_term(3));
            let mut node = RawNode::new(&cfg, store).unwrap();
            node.step(msg(t, 1, 2, 2)).unwrap();
            let msgs = drain(&mut node);
            let case = format!("{t}, check_quorum={check_quorum}, pre_vote={pre_vote}");
            if check_quorum || pre_vote {
                assert_eq!(msgs.len(), 1, "{case}");
                let m = &msgs[0];
                assert_eq!(
                    (m.msg_type, m.to, m.term),
                    (MessageType::MsgAppResp, 1, 3),
                    "{case}"
                );
            } else {
                assert!(msgs.is_empty(), "{case}: {msgs:?}");
            }
            assert_eq!(node.status().hard_state.term, 3, "{case}");
            assert_eq!(node.status().soft_state.leader, NO_NODE, "{case}");
        }
    }
}

#[test]
fn a_stale_leader_learns_the_new_term_from_the_answer_to_its_heartbeat() {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.pre_vote = true;
        cfg
    });
    c.elect(1);
    c.isolate(1);
    c.elect(2);
    assert_eq!(c.term(2), 2);
    assert_eq!(c.role(1), Role::Leader, "the old leader has not noticed");
    c.heal();
    c.tick(1, HEARTBEAT_TICK);
    c.stabilize();
    assert_eq!(c.role(1), Role::Follower);
    assert_eq!(c.term(1), 2);
    assert_eq!(c.role(2), Role::Leader);
}

fn response_to(request: MessageType) -> MessageType {
    match request {
        MessageType::MsgPreVote => MessageType::MsgPreVoteResp,
        _ => MessageType::MsgVoteResp,
    }
}

#[test]
fn a_follower_that_forgets_its_leader_votes_within_the_lease() {
    for t in [MessageType::MsgVote, MessageType::MsgPreVote] {
        let mut c = Cluster::with_config(3, check_quorum_config);
        c.elect(1);
        c.node_mut(2).forget_leader().unwrap();
        assert_eq!(c.leader(2), NO_NODE);
        assert_eq!(c.role(2), Role::Follower);
        c.node_mut(2)
            .step(vote_request(t, 3, 2, 2, (1, 1)))
            .unwrap();
        let msgs = c.take_messages();
        assert_eq!(msgs.len(), 1, "{t}");
        assert_eq!(msgs[0].msg_type, response_to(t), "{t}");
        assert!(!msgs[0].reject, "{t}");
    }
}

#[test]
fn forget_leader_is_a_no_op_on_the_leader() {
    let mut c = Cluster::with_config(3, check_quorum_config);
    c.elect(1);
    let before = c.status(1);
    c.node_mut(1).forget_leader().unwrap();
    assert!(!c.node(1).has_ready());
    assert_eq!(c.status(1), before);
}
