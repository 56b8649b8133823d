//! The Ready contract between raft-core and the application.

mod common;

use common::*;
use raft_core::{Config, HardState, LogStorage, MemStorage, MessageType, RawNode, Role};

fn single_node(cfg: Config) -> RawNode<MemStorage> {
    RawNode::new(&cfg, MemStorage::with_voters([cfg.id])).unwrap()
}

fn single_leader(cfg: Config) -> RawNode<MemStorage> {
    let mut node = single_node(cfg);
    node.campaign().unwrap();
    drain(&mut node);
    assert_eq!(node.status().soft_state.role, Role::Leader);
    node
}

#[test]
fn must_sync_is_set_for_new_entries_or_a_new_term_or_vote_only() {
    // A new term and vote.
    let mut c = Cluster::new(3);
    c.node_mut(1).campaign().unwrap();
    let rd = c.ready(1).unwrap();
    assert!(rd.entries.is_empty());
    assert!(rd.must_sync, "campaign: term and vote changed");
    c.send(rd.messages);
    c.stabilize();

    // New entries.
    c.propose(1, b"x").unwrap();
    let rd = c.ready(1).unwrap();
    assert!(rd.hard_state.is_none());
    assert!(rd.must_sync, "entries to persist");
    c.send(rd.messages);
    c.stabilize();

    // Messages only.
    c.tick(1, HEARTBEAT_TICK);
    let rd = c.ready(1).unwrap();
    assert!(!rd.messages.is_empty());
    assert!(rd.hard_state.is_none() && rd.entries.is_empty());
    assert!(!rd.must_sync, "heartbeats only");

    // A commit index change alone can be learnt again from the leader.
    let store = log_store(&[1, 2, 3], &[1, 1], hs_term(1));
    let mut follower = RawNode::new(&config(2), store).unwrap();
    follower
        .step({
            let mut m = msg(MessageType::MsgHeartbeat, 1, 2, 1);
            m.commit = 2;
            m
        })
        .unwrap();
    let rd = handle_ready(&mut follower).unwrap();
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 1,
            vote: 0,
            commit: 2
        })
    );
    assert_eq!(rd.committed_entries.len(), 2);
    assert!(!rd.must_sync, "commit-only change");

    // A vote alone, in the current term (a node knowing no leader).
    let store = log_store(&[1, 2, 3], &[1, 1], hs_term(1));
    let mut voter = RawNode::new(&config(3), store).unwrap();
    voter
        .step(vote_request(MessageType::MsgVote, 1, 3, 1, (1, 2)))
        .unwrap();
    let rd = handle_ready(&mut voter).unwrap();
    assert_eq!(rd.hard_state.map(|hs| (hs.term, hs.vote)), Some((1, 1)));
    assert!(rd.must_sync, "vote changed");

    // A term alone.
    follower
        .step(msg(MessageType::MsgHeartbeat, 1, 2, 2))
        .unwrap();
    let rd = handle_ready(&mut follower).unwrap();
    assert_eq!(rd.hard_state.map(|hs| (hs.term, hs.vote)), Some((2, 0)));
    assert!(rd.must_sync, "term changed");
}

#[test]
fn responses_that_promise_durable_state_come_last() {
    let mut node = RawNode::new(&config(2), MemStorage::with_voters([1, 2, 3])).unwrap();
    node.step(append(1, 2, 1, (0, 0), vec![ent(1, 1)], 0))
        .unwrap();
    node.step(msg(MessageType::MsgHeartbeat, 1, 2, 1)).unwrap();
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(
        message_types(&rd),
        vec![MessageType::MsgHeartbeatResp, MessageType::MsgAppResp]
    );

    node.step(vote_request(MessageType::MsgPreVote, 3, 2, 2, (1, 1)))
        .unwrap();
    node.step(msg(MessageType::MsgHeartbeat, 1, 2, 1)).unwrap();
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(
        message_types(&rd),
        vec![MessageType::MsgHeartbeatResp, MessageType::MsgPreVoteResp]
    );
}

#[test]
fn a_nodes_answers_to_itself_are_not_sent_and_count_on_advance() {
    let mut node = single_node(config(1));
    node.campaign().unwrap();
    let rd = node.ready().unwrap();
    assert!(rd.messages.is_empty(), "its own vote is not a message");
    node.store_mut().write(rd.log_write()).unwrap();
    assert_eq!(node.status().soft_state.role, Role::Candidate);
    node.advance().unwrap();
    assert_eq!(
        node.status().soft_state.role,
        Role::Leader,
        "the vote counts once durable"
    );

    let rd = node.ready().unwrap();
    assert_eq!(rd.entries, vec![ent(1, 1)]);
    assert!(rd.messages.is_empty());
    node.store_mut().write(rd.log_write()).unwrap();
    assert_eq!(node.status().hard_state.commit, 0);
    node.advance().unwrap();
    assert_eq!(node.status().hard_state.commit, 1);
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(rd.committed_entries, vec![ent(1, 1)]);
}

#[test]
fn has_ready_is_false_once_everything_is_handled() {
    let fresh = single_node(config(1));
    assert!(!fresh.has_ready());

    let mut leader = single_leader(config(1));
    assert!(!leader.has_ready());
    leader.tick().unwrap();
    assert!(!leader.has_ready(), "a lone leader has nobody to beat for");

    let mut c = Cluster::new(3);
    c.elect(1);
    c.tick(2, 1);
    assert!(!c.node(2).has_ready(), "one tick changes nothing visible");
}

#[test]
fn a_leaders_own_entry_counts_towards_commit_only_after_advance() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.propose(1, b"x").unwrap();
    let rd = c.node_mut(1).ready().unwrap();
    c.node_mut(1).store_mut().write(rd.log_write()).unwrap();
    let app = rd.messages.into_iter().find(|m| m.to == 2).unwrap();
    c.deliver(app).unwrap().unwrap();
    c.flush(2);
    let ack = c.in_flight.pop_front().unwrap();
    assert_eq!((ack.msg_type, ack.index), (MessageType::MsgAppResp, 2));
    c.deliver(ack).unwrap().unwrap();
    assert_eq!(c.commit(1), 1, "the leader's copy is not known durable yet");
    c.node_mut(1).advance().unwrap();
    assert_eq!(c.commit(1), 2);
}

#[test]
fn max_committed_size_per_ready_limits_each_ready() {
    let mut node = single_leader({
        let mut cfg = config(1);
        cfg.max_committed_size_per_ready = 20;
        cfg
    });
    for _ in 0..5 {
        // 10 bytes encoded each.
        node.propose(&b"aaaa"[..]).unwrap();
    }
    let mut batches = Vec::new();
    while let Some(rd) = handle_ready(&mut node) {
        if !rd.committed_entries.is_empty() {
            batches.push(
                rd.committed_entries
                    .iter()
                    .map(|e| e.index)
                    .collect::<Vec<_>>(),
            );
        }
    }
    assert_eq!(batches, vec![vec![2, 3], vec![4, 5], vec![6]]);
}

#[test]
fn max_size_per_msg_zero_does_not_stall_application() {
    let mut node = single_leader({
        let mut cfg = config(1);
        cfg.max_size_per_msg = 0;
        cfg
    });
    node.propose(&b"a"[..]).unwrap();
    node.propose(&b"b"[..]).unwrap();
    let mut applied = Vec::new();
    while let Some(rd) = handle_ready(&mut node) {
        applied.extend(rd.committed_entries.iter().map(|e| e.index));
    }
    assert_eq!(node.status().hard_state.commit, 3);
    assert_eq!(
        applied,
        vec![2, 3],
        "committed entries were never handed out"
    );
}

#[test]
fn config_applied_skips_entries_applied_before_a_restart() {
    let mut node = single_leader(config(1));
    for data in [&b"a"[..], b"b", b"c"] {
        node.propose(data).unwrap();
    }
    drain(&mut node);
    assert_eq!(node.status().hard_state.commit, 4);
    let store = node.store().clone();

    for (applied, want) in [(0, vec![1, 2, 3, 4]), (2, vec![3, 4]), (4, vec![])] {
        let cfg = {
            let mut cfg = config(1);
            cfg.applied = applied;
            cfg
        };
        let mut restarted = RawNode::new(&cfg, store.clone()).unwrap();
        assert_eq!(restarted.status().applied, applied);
        let mut handed_out = Vec::new();
        while let Some(rd) = handle_ready(&mut restarted) {
            handed_out.extend(rd.committed_entries.iter().map(|e| e.index));
        }
        assert_eq!(handed_out, want, "applied = {applied}");
    }
}

fn message_types(rd: &raft_core::Ready) -> Vec<MessageType> {
    rd.messages.iter().map(|m| m.msg_type).collect()
}
