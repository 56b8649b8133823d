//! Pre-vote (Raft thesis §9.6, etcd's `PreVote`).

mod common;

use common::*;
use raft_core::{Config, HardState, Message, MessageType, RawNode, Role};

fn pre_vote_config(id: u64) -> Config {
    let mut cfg = config(id);
    cfg.pre_vote = true;
    cfg
}

fn pre_vote_resp(from: u64, term: u64, reject: bool) -> Message {
    let mut m = msg(MessageType::MsgPreVoteResp, from, 1, term);
    m.reject = reject;
    m
}

#[test]
fn config_new_turns_pre_vote_on() {
    let cfg = {
        let mut cfg = Config::new(1);
        cfg.random_seed = Some(1);
        cfg
    };
    assert!(cfg.pre_vote);
    let mut node = RawNode::new(&cfg, raft_core::MemStorage::with_voters([1, 2, 3])).unwrap();
    node.campaign().unwrap();
    assert_eq!(node.status().soft_state.role, Role::PreCandidate);
    let msgs = drain(&mut node);
    assert!(!msgs.is_empty());
    assert!(msgs.iter().all(|m| m.msg_type == MessageType::MsgPreVote));
}

#[test]
fn pre_candidate_keeps_its_term_and_vote_and_asks_for_the_next_term() {
    let hs = HardState {
        term: 2,
        vote: 3,
        commit: 0,
    };
    let store = log_store(&[1, 2, 3], &[1, 2], hs);
    let mut node = RawNode::new(&pre_vote_config(1), store).unwrap();
    node.campaign().unwrap();
    assert_eq!(node.status().soft_state.role, Role::PreCandidate);
    assert_eq!(node.status().hard_state, hs);
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(rd.hard_state, None, "nothing durable changed");
    assert!(!rd.must_sync);
    let targets: Vec<u64> = rd.messages.iter().map(|m| m.to).collect();
    assert_eq!(targets, vec![2, 3]);
    for m in &rd.messages {
        assert_eq!(m.msg_type, MessageType::MsgPreVote);
        assert_eq!((m.term, m.log_term, m.index), (3, 2, 2));
    }
    // Its own pre-vote, counted on advance, does not move the term either.
    assert_eq!(node.status().hard_state, hs);
}

#[test]
fn granting_a_pre_vote_changes_neither_term_nor_vote() {
    let hs = HardState {
        term: 1,
        vote: 1,
        commit: 0,
    };
    let mut node = RawNode::new(&pre_vote_config(2), log_store(&[1, 2, 3], &[1], hs)).unwrap();
    node.step(vote_request(MessageType::MsgPreVote, 3, 2, 2, (1, 1)))
        .unwrap();
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(rd.hard_state, None);
    assert_eq!(rd.messages.len(), 1);
    let resp = &rd.messages[0];
    assert_eq!(resp.msg_type, MessageType::MsgPreVoteResp);
    assert!(!resp.reject, "a pre-vote for a future term may be granted");
    assert_eq!(resp.term, 2, "the answer echoes the requested term");
    assert_eq!(node.status().hard_state, hs);
}

#[test]
fn granted_pre_vote_answers_keep_the_term_and_a_rejection_from_a_higher_term_adopts_it() {
    let mut c = Cluster::with_config(5, pre_vote_config);
    c.node_mut(1).campaign().unwrap();
    c.take_messages();
    c.node_mut(1).step(pre_vote_resp(2, 1, false)).unwrap();
    c.flush(1);
    assert_eq!(c.role(1), Role::PreCandidate, "two of five is no quorum");
    assert_eq!(c.term(1), 0);
    c.node_mut(1).step(pre_vote_resp(3, 5, true)).unwrap();
    c.flush(1);
    assert_eq!(c.role(1), Role::Follower);
    assert_eq!(c.term(1), 5);
}

#[test]
fn a_node_whose_log_is_behind_gets_no_pre_vote() {
    for (last, granted) in [((1, 1), false), ((1, 2), true)] {
        let store = log_store(&[1, 2, 3], &[1, 1], hs_term(1));
        let mut node = RawNode::new(&pre_vote_config(2), store).unwrap();
        node.step(vote_request(MessageType::MsgPreVote, 3, 2, 2, last))
            .unwrap();
        let msgs = drain(&mut node);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].reject, !granted, "candidate last {last:?}");
        let want_term = if granted { 2 } else { 1 };
        assert_eq!(msgs[0].term, want_term, "candidate last {last:?}");
        assert_eq!(node.status().hard_state.term, 1);
    }
}

#[test]
fn a_lagging_node_cannot_disrupt_the_leader() {
    let mut c = Cluster::with_config(3, pre_vote_config);
    c.elect(1);
    c.isolate(3);
    c.propose(1, b"x").unwrap();
    c.stabilize();
    assert_eq!(c.commit(1), 2);
    c.heal();
    c.node_mut(3).campaign().unwrap();
    c.stabilize();
    assert_eq!(c.role(1), Role::Leader);
    assert_eq!(c.term(1), 1);
    assert_eq!(c.term(3), 1, "a lost pre-vote leaves the term alone");
    assert_ne!(c.role(3), Role::Candidate);
}

#[test]
fn winning_the_pre_vote_starts_a_real_election_at_the_next_term() {
    let mut c = Cluster::with_config(3, pre_vote_config);
    c.node_mut(1).campaign().unwrap();
    c.take_messages();
    c.node_mut(1).step(pre_vote_resp(2, 1, false)).unwrap();
    assert_eq!(c.role(1), Role::Candidate);
    let rd = c.ready(1).unwrap();
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 1,
            vote: 1,
            commit: 0
        })
    );
    let votes = of_type(&rd.messages, MessageType::MsgVote);
    assert_eq!(votes.len(), 2);
    assert!(votes.iter().all(|m| m.term == 1));
    c.send(rd.messages);
    c.stabilize();
    assert_eq!(c.role(1), Role::Leader);
    assert_eq!(c.term(1), 1);
}

#[test]
fn a_stale_pre_vote_is_rejected_with_the_receivers_term() {
    let mut node =
        RawNode::new(&pre_vote_config(2), log_store(&[1, 2, 3], &[], hs_term(5))).unwrap();
    node.step(vote_request(MessageType::MsgPreVote, 3, 2, 3, (9, 9)))
        .unwrap();
    let msgs = drain(&mut node);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.msg_type, MessageType::MsgPreVoteResp);
    assert!(m.reject);
    assert_eq!(m.term, 5);
    assert_eq!(node.status().hard_state.term, 5);
}

#[test]
fn an_isolated_node_does_not_inflate_its_term() {
    let mut c = Cluster::with_config(3, pre_vote_config);
    c.elect(1);
    c.isolate(3);
    c.tick_and_stabilize(3, 5 * ELECTION_TICK);
    assert_eq!(c.term(3), 1);
    c.heal();
    c.tick(1, 1);
    c.stabilize();
    assert_eq!(c.role(1), Role::Leader);
    assert_eq!(c.term(1), 1);
    assert_eq!(c.role(3), Role::Follower);
    assert_eq!(c.leader(3), 1);
}
