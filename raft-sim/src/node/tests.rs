use super::*;
use crate::storage::MemBackend;
use raft_core::MessageType;

fn group() -> (Vec<SimNode>, Checker) {
    let mut chk = Checker::new(3);
    let nodes = (1..=3)
        .map(|id| {
            let mut config = Config::new(id);
            config.random_seed = Some(id);
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
