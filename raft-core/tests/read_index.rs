//! ReadIndex, after etcd's read-only tests in `raft_test.go`
//! (`TestReadOnlyOptionSafe`, `TestReadOnlyOptionLease`,
//! `TestReadOnlyForNewLeader`, ...), written against the public API.

mod common;

use bytes::Bytes;
use common::*;
use raft_core::{
    Config, ConfigError, Error, MemStorage, Message, MessageType, RawNode, ReadOnlyOption, Role,
};

fn safe_cluster() -> Cluster {
    let mut c = Cluster::new(3);
    c.elect(1);
    c
}

fn lease_config(id: u64) -> Config {
    let mut cfg = config(id);
    cfg.check_quorum = true;
    cfg.read_only_option = ReadOnlyOption::LeaseBased;
    cfg
}

fn read(c: &mut Cluster, id: u64, ctx: &'static [u8]) {
    c.node_mut(id)
        .read_index(Bytes::from_static(ctx))
        .expect("read_index");
}

/// Reads at any node, with writes in between, come back with their own
/// context at the commit index they were issued at (etcd's
/// TestReadOnlyOptionSafe / TestReadOnlyOptionLease).
fn reads_return_the_commit_index_at_request_time(mut c: Cluster) {
    let cases: [(u64, usize, &'static [u8]); 6] = [
        (1, 10, b"ctx1"),
        (2, 10, b"ctx2"),
        (3, 10, b"ctx3"),
        (1, 5, b"ctx4"),
        (2, 5, b"ctx5"),
        (3, 5, b"ctx6"),
    ];
    for (id, proposals, ctx) in cases {
        for _ in 0..proposals {
            c.propose(1, b"w").expect("leader accepts");
        }
        c.stabilize();
        let committed = c.commit(1);
        read(&mut c, id, ctx);
        c.stabilize();
        let states = c.read_states.remove(&id).unwrap_or_default();
        assert_eq!(states.len(), 1, "one answer for {ctx:?} at node {id}");
        assert_eq!(states[0].index, committed);
        assert_eq!(states[0].request_ctx.as_ref(), ctx);
    }
}

#[test]
fn safe_reads_answer_at_the_commit_index_of_the_request() {
    reads_return_the_commit_index_at_request_time(safe_cluster());
}

#[test]
fn lease_reads_answer_at_the_commit_index_of_the_request() {
    let mut c = Cluster::with_config(3, lease_config);
    c.elect(1);
    reads_return_the_commit_index_at_request_time(c);
}

#[test]
fn a_safe_read_waits_for_a_quorum_of_heartbeat_echoes() {
    let mut c = safe_cluster();
    read(&mut c, 1, b"r");
    let beats = c.take_messages();
    let beats = of_type(&beats, MessageType::MsgHeartbeat);
    assert_eq!(beats.len(), 2, "a heartbeat round starts at once");
    let ctx = beats[0].context.clone();
    assert_eq!(ctx.len(), 8, "the read position, as etcd encodes it");
    assert!(c.read_states.get(&1).is_none_or(Vec::is_empty));

    // A response without the context confirms nothing.
    let mut plain = msg(MessageType::MsgHeartbeatResp, 2, 1, 1);
    c.deliver(plain.clone());
    c.flush(1);
    assert!(c.read_states.get(&1).is_none_or(Vec::is_empty));

    // Nor does a context this leader never handed out.
    plain.context = Bytes::copy_from_slice(&99u64.to_le_bytes());
    c.deliver(plain.clone());
    plain.context = Bytes::from_static(b"junk");
    c.deliver(plain.clone());
    c.flush(1);
    assert!(c.read_states.get(&1).is_none_or(Vec::is_empty));

    // The echo of one follower plus the leader's own ack is a quorum.
    plain.context = ctx;
    c.deliver(plain);
    c.flush(1);
    let states = &c.read_states[&1];
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].request_ctx.as_ref(), b"r");
}

#[test]
fn a_lease_read_needs_no_round_trip() {
    let mut c = Cluster::with_config(3, lease_config);
    c.elect(1);
    read(&mut c, 1, b"r");
    let msgs = c.take_messages();
    assert!(msgs.is_empty(), "no heartbeat for a lease read: {msgs:?}");
    assert_eq!(c.read_states[&1].len(), 1);
}

#[test]
fn a_follower_forwards_reads_and_gets_a_read_index_response() {
    let mut c = safe_cluster();
    read(&mut c, 2, b"f");
    let fwd = c.take_messages();
    let [m] = fwd.as_slice() else {
        panic!("one forwarded read, got {fwd:?}");
    };
    assert_eq!(m.msg_type, MessageType::MsgReadIndex);
    assert_eq!((m.from, m.to, m.term), (2, 1, 0), "no term on a forward");
    assert_eq!(m.entries[0].data.as_ref(), b"f");
    c.send(fwd);
    c.stabilize();
    let resp = c.delivered_of(MessageType::MsgReadIndexResp, 1, 2);
    assert_eq!(resp.len(), 1);
    assert_eq!(resp[0].index, c.commit(1));
    assert_eq!(c.read_states[&2][0].request_ctx.as_ref(), b"f");
    assert!(c.read_states.get(&1).is_none_or(Vec::is_empty));
}

#[test]
fn reads_without_a_leader_are_dropped() {
    let mut c = Cluster::new(3);
    read(&mut c, 2, b"lost");
    read(&mut c, 1, b"lost");
    assert!(c.take_messages().is_empty());
    assert!(c.read_states.values().all(Vec::is_empty));
}

/// etcd's TestReadOnlyForNewLeader: a new leader whose commit index is
/// behind the entry of its term holds reads, and answers them once that
/// entry commits, at the new commit index.
#[test]
fn a_new_leader_holds_reads_until_it_commits_in_its_term() {
    let mut c = Cluster::new(3);
    c.elect(1);
    // Node 2 wins, but none of its appends arrives: its term's entry
    // stays uncommitted.
    c.set_filter(|m| m.msg_type != MessageType::MsgApp);
    c.elect(2);
    c.clear_filter();
    let commit_before = c.commit(2);
    let entry_of_term = c.last_index(2);
    assert!(commit_before < entry_of_term);
    // Hold back everything, issue the read: nothing may answer it yet.
    let held = c.take_messages();
    read(&mut c, 2, b"new");
    let extra = c.take_messages();
    assert!(
        of_type(&extra, MessageType::MsgHeartbeat).is_empty(),
        "no confirmation round before the commit: {extra:?}"
    );
    assert!(c.read_states.get(&2).is_none_or(Vec::is_empty));
    c.send(held);
    c.send(extra);
    c.stabilize();
    assert!(c.read_states.get(&2).is_none_or(Vec::is_empty));
    // A heartbeat's answer brings the lost append back; it commits.
    c.tick_and_stabilize(2, 1);
    assert_eq!(c.commit(2), entry_of_term);
    let states = &c.read_states[&2];
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].index, entry_of_term);
}

#[test]
fn a_single_voter_answers_at_once() {
    let mut c = Cluster::new(1);
    c.elect(1);
    read(&mut c, 1, b"solo");
    assert!(c.take_messages().is_empty());
    let states = &c.read_states[&1];
    assert_eq!(
        (states[0].index, states[0].request_ctx.as_ref()),
        (c.commit(1), &b"solo"[..])
    );
}

#[test]
fn a_leader_that_steps_down_forgets_unconfirmed_reads() {
    let mut c = safe_cluster();
    read(&mut c, 1, b"stale");
    let beats = c.take_messages();
    // A higher term deposes node 1 before any echo arrives.
    c.deliver(msg(MessageType::MsgAppResp, 3, 1, 5));
    assert_eq!(c.role(1), Role::Follower);
    for m in of_type(&beats, MessageType::MsgHeartbeat) {
        let mut echo = msg(MessageType::MsgHeartbeatResp, m.to, 1, 1);
        echo.context = m.context.clone();
        c.deliver(echo);
    }
    c.flush(1);
    assert!(
        c.read_states.get(&1).is_none_or(Vec::is_empty),
        "a deposed leader must not confirm reads"
    );
}

#[test]
fn forget_leader_is_ignored_under_lease_reads() {
    let mut c = Cluster::with_config(3, lease_config);
    c.elect(1);
    c.node_mut(2).forget_leader().expect("ignored, not refused");
    assert_eq!(c.leader(2), 1, "the lease still stands");
    let mut safe = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.check_quorum = true;
        cfg
    });
    safe.elect(1);
    safe.node_mut(2).forget_leader().expect("forget");
    assert_eq!(safe.leader(2), 0);
}

#[test]
fn lease_reads_require_check_quorum() {
    let mut cfg = config(1);
    cfg.read_only_option = ReadOnlyOption::LeaseBased;
    let err = RawNode::new(&cfg, MemStorage::with_voters([1]))
        .err()
        .expect("refused");
    assert!(matches!(
        err,
        Error::Config(ConfigError::LeaseBasedReadsWithoutCheckQuorum)
    ));
}

#[test]
fn malformed_read_messages_from_peers_are_refused() {
    let mut c = safe_cluster();
    let mut no_ctx = msg(MessageType::MsgReadIndex, 2, 1, 0);
    no_ctx.entries.clear();
    assert!(matches!(
        c.node_mut(1).step(no_ctx),
        Err(Error::InvalidMessage { .. })
    ));
    let mut two = msg(MessageType::MsgReadIndexResp, 1, 2, 1);
    two.entries = vec![ent(0, 0), ent(0, 0)];
    assert!(matches!(
        c.node_mut(2).step(two),
        Err(Error::InvalidMessage { .. })
    ));
    // A well-formed forwarded read is accepted without a term.
    let mut ok: Message = msg(MessageType::MsgReadIndex, 2, 1, 0);
    ok.entries = vec![ent_data(0, 0, b"x")];
    c.node_mut(1).step(ok).expect("a forwarded read");
}
