//! Proposals: at the leader, forwarded by followers, refused elsewhere, and
//! the limit on a leader's uncommitted tail.

mod common;

use bytes::Bytes;
use common::*;
use raft_core::{Error, MemStorage, Message, MessageType, RawNode, Role};

#[test]
fn the_leader_appends_a_proposal_and_sends_it_to_every_follower() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.propose(1, b"x").unwrap();
    let rd = c.ready(1).unwrap();
    assert_eq!(rd.entries, vec![ent_data(1, 2, b"x")]);
    let apps = of_type(&rd.messages, MessageType::MsgApp);
    assert_eq!(apps.iter().map(|m| m.to).collect::<Vec<_>>(), vec![2, 3]);
    for m in apps {
        assert_eq!((m.index, m.log_term), (1, 1));
        assert_eq!(m.entries, vec![ent_data(1, 2, b"x")]);
    }
    c.send(rd.messages);
    c.stabilize();
    for id in 1..=3 {
        assert_eq!(c.applied_data(id), vec![b"x".to_vec()], "node {id}");
    }
}

#[test]
fn a_follower_forwards_a_proposal_to_the_leader_without_a_term() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.propose(2, b"fwd").unwrap();
    let msgs = c.take_messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!((m.msg_type, m.from, m.to), (MessageType::MsgProp, 2, 1));
    assert_eq!(m.term, 0, "a forwarded proposal asserts no term");
    assert_eq!(m.entries.len(), 1);
    assert_eq!(m.entries[0].data, Bytes::from_static(b"fwd"));
    c.send(msgs);
    c.stabilize();
    for id in 1..=3 {
        assert_eq!(c.applied_data(id), vec![b"fwd".to_vec()], "node {id}");
    }
}

#[test]
fn a_follower_with_forwarding_disabled_drops_the_proposal() {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.disable_proposal_forwarding = true;
        cfg
    });
    c.elect(1);
    assert!(matches!(c.propose(2, b"x"), Err(Error::ProposalDropped)));
    assert!(c.take_messages().is_empty());
    c.propose(1, b"y").unwrap();
    c.stabilize();
    assert_eq!(
        c.applied_data(2),
        vec![b"y".to_vec()],
        "the leader still accepts"
    );
}

#[test]
fn without_a_leader_a_proposal_is_dropped() {
    let mut node = RawNode::new(&config(1), MemStorage::with_voters([1, 2, 3])).unwrap();
    assert!(matches!(
        node.propose(&b"x"[..]),
        Err(Error::ProposalDropped)
    ));
    assert!(drain(&mut node).is_empty());
}

#[test]
fn candidates_drop_proposals() {
    for pre_vote in [false, true] {
        let mut c = Cluster::with_config(3, |id| {
            let mut cfg = config(id);
            cfg.pre_vote = pre_vote;
            cfg
        });
        c.node_mut(1).campaign().unwrap();
        c.take_messages();
        let want = if pre_vote {
            Role::PreCandidate
        } else {
            Role::Candidate
        };
        assert_eq!(c.role(1), want);
        assert!(matches!(c.propose(1, b"x"), Err(Error::ProposalDropped)));
        c.flush(1);
        assert!(c.take_messages().is_empty());
    }
}

fn limited_cluster(limit: u64) -> Cluster {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.max_uncommitted_entries_size = limit;
        cfg
    });
    // Electing under the limit works: the leader's empty entry is free.
    c.elect(1);
    c
}

#[test]
fn proposals_beyond_the_uncommitted_size_limit_are_dropped() {
    let mut c = limited_cluster(10);
    c.isolate(2);
    c.isolate(3);
    c.propose(1, b"123456").unwrap();
    c.propose(1, b"7890").unwrap();
    assert!(matches!(c.propose(1, b"x"), Err(Error::ProposalDropped)));
    c.propose(1, b"").unwrap();
    c.stabilize();
    assert_eq!(c.last_index(1), 4);
    assert_eq!(c.commit(1), 1);

    // Once the tail commits and is applied, the budget is free again.
    c.heal();
    c.tick(1, HEARTBEAT_TICK);
    c.stabilize();
    assert_eq!(c.commit(1), 4);
    c.propose(1, b"abcdefghij").unwrap();
}

#[test]
fn an_empty_uncommitted_tail_accepts_a_proposal_larger_than_the_limit() {
    let mut c = limited_cluster(10);
    c.isolate(2);
    c.isolate(3);
    c.propose(1, &[b'a'; 100]).unwrap();
    assert!(matches!(c.propose(1, b"x"), Err(Error::ProposalDropped)));
    c.stabilize();
    assert_eq!(c.last_index(1), 2);
}

#[test]
fn proposals_from_every_node_apply_in_the_same_order_everywhere() {
    let mut c = Cluster::new(3);
    c.elect(1);
    for (id, data) in [(1, &b"a"[..]), (2, b"b"), (3, b"c"), (1, b"d")] {
        c.propose(id, data).unwrap();
    }
    c.stabilize();
    let first = c.applied_data(1);
    assert_eq!(first.len(), 4);
    for id in [2, 3] {
        assert_eq!(c.applied_data(id), first, "node {id}");
    }
}

/// A proposal keeps its proposer as `from` while forwarded. If leadership
/// moved while it travelled, the old leader forwards it on to the new one,
/// which may be the proposer itself: it must be appended, not refused as a
/// message "from" the node itself. (Found by raft-sim, seed 139.)
#[test]
fn a_proposal_forwarded_back_to_its_proposer_is_appended() {
    let mut c = Cluster::new(3);
    c.elect(1);
    // Node 3 forwards a proposal to its leader, node 1...
    c.propose(3, b"round trip").unwrap();
    let forwarded: Vec<Message> = c
        .take_messages()
        .into_iter()
        .filter(|m| m.msg_type == MessageType::MsgProp)
        .collect();
    assert_eq!(forwarded.len(), 1);
    assert_eq!((forwarded[0].from, forwarded[0].to), (3, 1));
    // ...but node 3 has become the leader meanwhile.
    c.elect(3);
    let mut back = forwarded[0].clone();
    back.to = 3;
    let before = c.last_index(3);
    assert!(matches!(c.deliver(back), Some(Ok(()))));
    c.stabilize();
    assert_eq!(c.last_index(3), before + 1);
    assert!(c.applied_data(3).iter().any(|d| d == b"round trip"));
}
