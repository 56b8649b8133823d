//! etcd's per-follower flow control: probe and replicate states, the
//! in-flight window, MsgUnreachable, and the size of each append.

mod common;

use common::*;
use raft_core::tracker::ProgressState;
use raft_core::{Message, MessageType, Role};

/// Entries carried by each append from node 1 to `to` among `msgs`.
fn entries_sent_to(msgs: &[Message], to: u64) -> Vec<Vec<u64>> {
    msgs.iter()
        .filter(|m| m.msg_type == MessageType::MsgApp && m.to == to)
        .map(|m| m.entries.iter().map(|e| e.index).collect())
        .collect()
}

/// Elects node 1 without delivering its first appends, so that every
/// follower is still probing; returns those appends.
fn fresh_leader(c: &mut Cluster) -> Vec<Message> {
    c.node_mut(1).campaign().unwrap();
    for _ in 0..2 {
        for m in c.take_messages() {
            c.deliver(m).unwrap().unwrap();
        }
    }
    assert_eq!(c.role(1), Role::Leader);
    c.take_messages()
}

#[test]
fn unreachable_moves_a_replicating_follower_back_to_probe() {
    let mut c = Cluster::new(3);
    c.elect(1);
    let pr = &c.status(1).progress.unwrap()[&2];
    assert_eq!(pr.state, ProgressState::Replicate);
    assert_eq!((pr.matched, pr.next), (1, 2));
    c.propose(1, b"x").unwrap();
    c.take_messages();

    c.node_mut(1).report_unreachable(2).unwrap();
    let pr = &c.status(1).progress.unwrap()[&2];
    assert_eq!(pr.state, ProgressState::Probe);
    assert_eq!(pr.next, 2, "probing restarts after the last known match");
    assert_eq!(
        c.status(1).progress.unwrap()[&3].state,
        ProgressState::Replicate
    );

    // On a follower the report means nothing.
    let before = c.status(2);
    c.node_mut(2).report_unreachable(3).unwrap();
    assert_eq!(c.status(2), before);
}

#[test]
fn a_probing_follower_gets_one_append_at_a_time() {
    let mut c = Cluster::new(3);
    let first = fresh_leader(&mut c);
    assert_eq!(entries_sent_to(&first, 2), vec![vec![1]]);
    assert!(c.status(1).progress.unwrap()[&2].msg_app_flow_paused);
    for data in [&b"a"[..], b"b", b"c"] {
        c.propose(1, data).unwrap();
    }
    assert!(
        c.take_messages().is_empty(),
        "a paused probe must wait for its answer"
    );

    // The answer moves node 2 to replicate and releases the backlog.
    let probe = first.into_iter().find(|m| m.to == 2).unwrap();
    c.deliver(probe).unwrap().unwrap();
    c.flush(2);
    let ack = c.in_flight.pop_front().unwrap();
    c.deliver(ack).unwrap().unwrap();
    let sent = c.take_messages();
    assert_eq!(entries_sent_to(&sent, 2), vec![vec![2, 3, 4]]);
    assert_eq!(
        c.status(1).progress.unwrap()[&2].state,
        ProgressState::Replicate
    );
}

#[test]
fn a_heartbeat_response_unpauses_a_probe_whose_append_was_lost() {
    let mut c = Cluster::new(3);
    let first = fresh_leader(&mut c);
    c.send(first.into_iter().filter(|m| m.to != 2));
    c.stabilize();
    assert!(c.status(1).progress.unwrap()[&2].msg_app_flow_paused);
    c.tick(1, HEARTBEAT_TICK);
    c.stabilize();
    assert_eq!(log_terms(c.node(2)), vec![1]);
    assert_eq!(c.commit(2), 1);
    assert_eq!(
        c.status(1).progress.unwrap()[&2].state,
        ProgressState::Replicate
    );
}

fn windowed_cluster() -> Cluster {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.max_inflight_msgs = 3;
        cfg
    });
    c.elect(1);
    c
}

#[test]
fn a_replicating_follower_gets_at_most_max_inflight_msgs_appends() {
    let mut c = windowed_cluster();
    for data in [&b"a"[..], b"b", b"c", b"d", b"e"] {
        c.propose(1, data).unwrap();
    }
    let sent = c.take_messages();
    assert_eq!(entries_sent_to(&sent, 2), vec![vec![2], vec![3], vec![4]]);
    let pr = &c.status(1).progress.unwrap()[&2];
    assert!(pr.inflights.full());
    assert!(pr.msg_app_flow_paused);

    // Acknowledging the first frees one slot, filled with all that waits.
    let first = sent.into_iter().find(|m| m.to == 2).unwrap();
    c.deliver(first).unwrap().unwrap();
    c.flush(2);
    let ack = c.in_flight.pop_front().unwrap();
    assert_eq!((ack.msg_type, ack.index), (MessageType::MsgAppResp, 2));
    c.deliver(ack).unwrap().unwrap();
    let sent = c.take_messages();
    assert_eq!(entries_sent_to(&sent, 2), vec![vec![5, 6]]);
    assert!(entries_sent_to(&sent, 3).is_empty(), "node 3 is still full");
}

#[test]
fn a_full_window_gets_an_empty_append_on_heartbeat_response() {
    let mut c = windowed_cluster();
    for data in [&b"a"[..], b"b", b"c"] {
        c.propose(1, data).unwrap();
    }
    // All three appends are lost.
    c.take_messages();
    c.tick(1, HEARTBEAT_TICK);
    for m in c.take_messages() {
        c.deliver(m).unwrap().unwrap();
    }
    for m in c.take_messages() {
        c.deliver(m).unwrap().unwrap();
    }
    let sent = c.take_messages();
    let apps = of_type(&sent, MessageType::MsgApp);
    assert_eq!(apps.len(), 2, "{sent:?}");
    assert!(apps.iter().all(|m| m.entries.is_empty()));
    // Its rejection restarts replication from the match.
    c.send(sent);
    c.stabilize();
    for id in [2, 3] {
        assert_eq!(log_terms(c.node(id)), vec![1; 4], "node {id}");
    }
}

fn entries_per_append_after_catch_up(max_size_per_msg: u64) -> Vec<usize> {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.max_size_per_msg = max_size_per_msg;
        cfg.max_committed_size_per_ready = u64::MAX;
        cfg
    });
    c.elect(1);
    c.isolate(2);
    for _ in 0..5 {
        // Each entry encodes to 10 bytes: tags, term, index, 4 data bytes.
        c.propose(1, b"aaaa").unwrap();
    }
    c.stabilize();
    c.node_mut(1).report_unreachable(2).unwrap();
    c.heal();
    let mark = c.delivered.len();
    c.tick(1, HEARTBEAT_TICK);
    c.stabilize();
    assert_eq!(c.last_index(2), 6);
    c.delivered[mark..]
        .iter()
        .filter(|m| m.msg_type == MessageType::MsgApp && m.to == 2 && !m.entries.is_empty())
        .map(|m| m.entries.len())
        .collect()
}

#[test]
fn max_size_per_msg_bounds_the_entries_of_each_append() {
    assert_eq!(entries_per_append_after_catch_up(20), vec![2, 2, 1]);
    assert_eq!(entries_per_append_after_catch_up(29), vec![2, 2, 1]);
    assert_eq!(entries_per_append_after_catch_up(30), vec![3, 2]);
    assert_eq!(entries_per_append_after_catch_up(0), vec![1, 1, 1, 1, 1]);
    assert_eq!(entries_per_append_after_catch_up(u64::MAX), vec![5]);
}

#[test]
fn an_entry_larger_than_max_size_per_msg_is_still_sent() {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.max_size_per_msg = 8;
        cfg.max_committed_size_per_ready = u64::MAX;
        cfg
    });
    c.elect(1);
    c.propose(1, &[b'x'; 100]).unwrap();
    let sent = c.take_messages();
    assert_eq!(entries_sent_to(&sent, 2), vec![vec![2]]);
    c.send(sent);
    c.stabilize();
    assert_eq!(c.commit(2), 2);
}
