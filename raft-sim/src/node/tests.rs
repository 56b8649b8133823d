use super::*;
use crate::storage::MemBackend;
use raft_core::MessageType;

fn group() -> (Vec<SimNode>, Checker) {
    group_with(false)
}

fn group_with(async_writes: bool) -> (Vec<SimNode>, Checker) {
    let mut chk = Checker::new(3);
    let nodes = (1..=3)
        .map(|id| {
            let mut config = Config::new(id);
            config.random_seed = Some(id);
            config.async_storage_writes = async_writes;
            let disk = Disk::new(Box::new(MemBackend::new([1, 2, 3])));
            SimNode::start(config, disk, 0, &mut chk).unwrap()
        })
        .collect();
    (nodes, chk)
}

/// The last index on the node's disk, as a restart would find it.
fn stored_last(node: &SimNode) -> u64 {
    DiskHandle(node.disk.clone()).last_index().unwrap()
}

/// Delivers `out` and everything it causes, on a perfect network.
fn deliver_all(nodes: &mut [SimNode], chk: &mut Checker, mut out: Vec<Message>) {
    while let Some(m) = out.pop() {
        let mut more = Vec::new();
        let to = m.to as usize - 1;
        nodes[to].input(Input::Step(m), chk, &mut more).unwrap();
        out.extend(more);
    }
}

fn elect_one(nodes: &mut [SimNode], chk: &mut Checker) {
    for _ in 0..100 {
        let mut out = Vec::new();
        nodes[0].input(Input::Tick, chk, &mut out).unwrap();
        deliver_all(nodes, chk, out);
        if nodes[0].role() == Some(Role::Leader) {
            return;
        }
    }
    panic!("n1 never became leader");
}

#[test]
fn a_leader_crashing_in_its_write_has_sent_its_appends_but_not_stored_them() {
    let (mut nodes, mut chk) = group();
    elect_one(&mut nodes, &mut chk);
    let last = stored_last(&nodes[0]);

    nodes[0].crash_at_next_write(Rng::new(7));
    let mut out = Vec::new();
    let accepted = nodes[0]
        .input(Input::Propose(Bytes::from_static(b"x")), &mut chk, &mut out)
        .unwrap();
    assert!(accepted);
    assert!(!nodes[0].is_up());
    let (_, sent) = nodes[0]
        .take_crash_at_write()
        .expect("crashed in its write");
    assert_eq!(sent, 2);
    let appends: Vec<&Message> = out
        .iter()
        .filter(|m| m.msg_type == MessageType::MsgApp && !m.entries.is_empty())
        .collect();
    assert_eq!(appends.len(), 2, "{out:?}");
    assert_eq!(appends[0].entries[0].data, Bytes::from_static(b"x"));
    assert_eq!(stored_last(&nodes[0]), last);

    // The followers store what the crashed leader never did, and the
    // checker takes the crash like any other.
    for m in out.into_iter().filter(|m| m.to != 1) {
        let to = m.to as usize - 1;
        let mut replies = Vec::new();
        nodes[to]
            .input(Input::Step(m), &mut chk, &mut replies)
            .unwrap();
    }
    assert_eq!(stored_last(&nodes[1]), last + 1);
    nodes[0].restart(&mut chk).unwrap();
    assert_eq!(stored_last(&nodes[0]), last);
    chk.check_logs(false).unwrap();
}

#[test]
fn a_disarmed_node_writes_as_usual() {
    let (mut nodes, mut chk) = group();
    elect_one(&mut nodes, &mut chk);
    nodes[0].crash_at_next_write(Rng::new(7));
    assert!(nodes[0].disarm());
    assert!(!nodes[0].disarm());
    let mut out = Vec::new();
    nodes[0]
        .input(Input::Propose(Bytes::from_static(b"x")), &mut chk, &mut out)
        .unwrap();
    assert!(nodes[0].is_up());
    assert!(nodes[0].take_crash_at_write().is_none());
}

/// Delivers `out` and everything it causes on a perfect network, syncing
/// every append thread whenever no message is left.
fn settle(nodes: &mut [SimNode], chk: &mut Checker, mut out: Vec<Message>) {
    loop {
        deliver_all(nodes, chk, std::mem::take(&mut out));
        for node in nodes.iter_mut().filter(|n| n.has_pending_appends()) {
            node.input(Input::Sync, chk, &mut out).unwrap();
        }
        if out.is_empty() && nodes.iter().all(|n| !n.has_pending_appends()) {
            return;
        }
    }
}

#[test]
fn async_writes_wait_for_the_sync_and_die_with_a_crash() {
    let (mut nodes, mut chk) = group_with(true);
    for _ in 0..100 {
        let mut out = Vec::new();
        nodes[0].input(Input::Tick, &mut chk, &mut out).unwrap();
        settle(&mut nodes, &mut chk, out);
        if nodes[0].role() == Some(Role::Leader) {
            break;
        }
    }
    assert_eq!(nodes[0].role(), Some(Role::Leader));
    let (last, commit) = (stored_last(&nodes[0]), nodes[0].commit());
    assert_eq!(commit, last);

    // The leader's appends leave at once; its own write waits.
    let mut out = Vec::new();
    nodes[0]
        .input(Input::Propose(Bytes::from_static(b"x")), &mut chk, &mut out)
        .unwrap();
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out.iter().all(|m| m.msg_type == MessageType::MsgApp));
    assert!(nodes[0].has_pending_appends());
    assert_eq!(stored_last(&nodes[0]), last);

    // Followers queue the entry and say nothing until it is durable.
    for m in out {
        let to = m.to as usize - 1;
        let mut replies = Vec::new();
        nodes[to]
            .input(Input::Step(m), &mut chk, &mut replies)
            .unwrap();
        assert!(replies.is_empty(), "{replies:?}");
        assert_eq!(stored_last(&nodes[to]), last);
    }
    let mut acks = Vec::new();
    nodes[1].input(Input::Sync, &mut chk, &mut acks).unwrap();
    assert_eq!(stored_last(&nodes[1]), last + 1);
    assert!(
        acks.iter()
            .any(|m| m.msg_type == MessageType::MsgAppResp && m.index == last + 1),
        "{acks:?}"
    );

    // n3 crashes before its sync: the entry and its acknowledgement are gone.
    nodes[2].crash(&mut Rng::new(3), &mut chk).unwrap();
    assert_eq!(nodes[2].async_counts().writes_lost, 1);
    nodes[2].restart(&mut chk).unwrap();
    assert_eq!(stored_last(&nodes[2]), last);

    // One follower's disk is no quorum of three: the leader's own write
    // counts once its append thread has synced it.
    let mut more = Vec::new();
    for m in acks {
        nodes[0].input(Input::Step(m), &mut chk, &mut more).unwrap();
    }
    assert_eq!(nodes[0].commit(), last);
    nodes[0].input(Input::Sync, &mut chk, &mut more).unwrap();
    assert_eq!(stored_last(&nodes[0]), last + 1);
    assert_eq!(nodes[0].commit(), last + 1);
    settle(&mut nodes, &mut chk, more);
    assert_eq!(stored_last(&nodes[2]), last + 1);
    assert!(nodes[0].async_counts().syncs >= 1);
    chk.check_logs(false).unwrap();
}
