//! Heartbeats: the leader's periodic assertion of leadership.

mod common;

use bytes::Bytes;
use common::*;
use raft_core::{Message, MessageType};

#[test]
fn the_leader_sends_heartbeats_every_heartbeat_tick() {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.heartbeat_tick = 3;
        cfg
    });
    c.elect(1);
    for _ in 0..2 {
        c.tick(1, 1);
        assert!(c.take_messages().is_empty(), "heartbeat before its time");
    }
    c.tick(1, 1);
    let beats = c.take_messages();
    let targets: Vec<u64> = beats.iter().map(|m| m.to).collect();
    assert_eq!(targets, vec![2, 3]);
    for m in &beats {
        assert_eq!(
            (m.msg_type, m.from, m.term),
            (MessageType::MsgHeartbeat, 1, 1)
        );
        assert!(m.entries.is_empty());
    }
}

#[test]
fn a_follower_answers_a_heartbeat_at_its_term_echoing_the_context() {
    let mut c = Cluster::new(3);
    c.elect(1);
    let beat = {
        let mut m = msg(MessageType::MsgHeartbeat, 1, 2, 1);
        m.context = Bytes::from_static(b"ctx");
        m
    };
    c.node_mut(2).step(beat).unwrap();
    let msgs = c.take_messages();
    assert_eq!(msgs.len(), 1);
    let resp = &msgs[0];
    assert_eq!(
        (resp.msg_type, resp.from, resp.to, resp.term),
        (MessageType::MsgHeartbeatResp, 2, 1, 1)
    );
    assert_eq!(resp.context, Bytes::from_static(b"ctx"));
}

/// Ticks the leader once and runs one heartbeat round trip; returns what the
/// leader sent in answer to the responses.
fn heartbeat_round(c: &mut Cluster) -> Vec<Message> {
    c.tick(1, HEARTBEAT_TICK);
    for m in c.take_messages() {
        assert_eq!(m.msg_type, MessageType::MsgHeartbeat);
        c.deliver(m).unwrap().unwrap();
    }
    for m in c.take_messages() {
        assert_eq!(m.msg_type, MessageType::MsgHeartbeatResp);
        c.deliver(m).unwrap().unwrap();
    }
    c.take_messages()
}

#[test]
fn an_up_to_date_follower_gets_nothing_more_than_heartbeats() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.propose(1, b"x").unwrap();
    c.stabilize();
    assert!(heartbeat_round(&mut c).is_empty());
}

#[test]
fn a_heartbeat_response_from_a_lagging_follower_prompts_an_append() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.propose(1, b"x").unwrap();
    // The appends to node 2 are lost; node 3 acknowledges and the entry
    // commits without node 2.
    c.set_filter(|m| m.to != 2);
    c.stabilize();
    c.clear_filter();
    assert_eq!(c.commit(1), 2);
    assert_eq!(c.last_index(2), 1);

    let sent = heartbeat_round(&mut c);
    let apps = of_type(&sent, MessageType::MsgApp);
    assert_eq!(apps.len(), 1, "{sent:?}");
    assert_eq!(apps[0].to, 2);
    c.send(sent);
    c.stabilize();
    assert_eq!(c.last_index(2), 2);
    assert_eq!(c.applied_data(2), vec![b"x".to_vec()]);
}
