//! Snapshots between leader and follower, rule by rule as etcd raft v3.7
//! (its raft_snap_test.go and the snapshot cases of raft_test.go).

mod common;

use common::*;
use raft_core::tracker::ProgressState;
use raft_core::{
    ConfState, LogStorage, Message, MessageType, NodeId, RawNode, Role, Snapshot, SnapshotStatus,
    WrapsLog,
};

/// A three-node group led by 1, with node 3 cut off while 1 and 2 commit
/// three entries (indexes 2..=4); node 1 then snapshots at 4 and compacts
/// its log through it, so node 3 can only be caught up by a snapshot.
fn leader_compacted_past_follower_3() -> Cluster {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(3);
    for data in [&b"a"[..], b"b", b"c"] {
        c.propose(1, data).unwrap();
    }
    c.stabilize();
    assert_eq!(c.commit(1), 4);
    let leader = c.node_mut(1);
    leader
        .store_mut()
        .create_snapshot(4, None, &b"abc"[..])
        .unwrap();
    leader.store_mut().compact(4).unwrap();
    c.heal();
    c
}

fn progress_of(c: &Cluster, leader: NodeId, id: NodeId) -> raft_core::tracker::Progress {
    c.status(leader).progress.expect("a leader")[&id].clone()
}

/// Lets a heartbeat timeout pass on node 1 and runs the exchange with node
/// 3 that follows (the heartbeat, the probe and its rejection) until node 1
/// sends a snapshot, which is returned undelivered. `None` if the exchange
/// ends without one.
fn heartbeat_round(c: &mut Cluster) -> Option<Message> {
    c.tick(1, HEARTBEAT_TICK);
    loop {
        let msgs: Vec<Message> = c
            .take_messages()
            .into_iter()
            .filter(|m| m.to == 3 || m.from == 3)
            .collect();
        if msgs.is_empty() {
            return None;
        }
        for m in msgs {
            if m.msg_type == MessageType::MsgSnap {
                return Some(m);
            }
            c.deliver(m);
        }
    }
}

#[test]
fn leader_sends_a_snapshot_when_the_follower_needs_compacted_entries() {
    let mut c = leader_compacted_past_follower_3();
    let m = heartbeat_round(&mut c).expect("a snapshot for node 3");
    let snap = m.snapshot.as_deref().expect("MsgSnap carries it");
    assert_eq!(
        (snap.index(), snap.term(), &snap.data[..]),
        (4, 1, &b"abc"[..])
    );
    assert_eq!(m.term, 1);
    let pr = progress_of(&c, 1, 3);
    assert_eq!(pr.state, ProgressState::Snapshot);
    assert_eq!((pr.pending_snapshot, pr.next), (4, 5));
    assert!(
        pr.is_paused(),
        "nothing else goes out while a snapshot is pending"
    );
    // Heartbeat responses do not resend while the snapshot is pending.
    assert!(heartbeat_round(&mut c)
        .iter()
        .all(|m| m.msg_type != MessageType::MsgSnap));
}

#[test]
fn a_follower_not_recently_active_gets_no_snapshot() {
    let mut c = leader_compacted_past_follower_3();
    // A proposal makes the leader try node 3 without having heard from it.
    c.propose(1, b"d").unwrap();
    let out = c.take_messages();
    assert!(of_type(&out, MessageType::MsgSnap).is_empty(), "{out:?}");
    assert_ne!(progress_of(&c, 1, 3).state, ProgressState::Snapshot);
}

#[test]
fn the_follower_restores_and_the_leader_resumes_replication() {
    let mut c = leader_compacted_past_follower_3();
    c.tick_and_stabilize(1, HEARTBEAT_TICK);
    assert!(!c.delivered_of(MessageType::MsgSnap, 1, 3).is_empty());
    let follower = c.node(3);
    assert_eq!(follower.hard_state().commit, 4);
    assert_eq!(follower.applied(), 4, "installing the snapshot applies it");
    assert_eq!(
        raft_core::LogStorage::first_index(follower.store()).unwrap(),
        5
    );
    assert_eq!(
        raft_core::LogStorage::snapshot(follower.store())
            .unwrap()
            .data,
        &b"abc"[..]
    );
    let pr = progress_of(&c, 1, 3);
    assert_eq!(
        (pr.state, pr.matched, pr.next),
        (ProgressState::Replicate, 4, 5)
    );
    // Entries after the snapshot replicate and apply as usual.
    c.propose(1, b"d").unwrap();
    c.stabilize();
    assert_eq!(c.commit(3), 5);
    assert_eq!(c.applied_data(3), vec![b"d".to_vec()]);
}

#[test]
fn a_reported_failure_forgets_the_snapshot_and_probes_from_the_match() {
    let mut c = leader_compacted_past_follower_3();
    heartbeat_round(&mut c).expect("a snapshot for node 3");
    let before = progress_of(&c, 1, 3);
    c.node_mut(1)
        .report_snapshot(3, SnapshotStatus::Failure)
        .unwrap();
    let pr = progress_of(&c, 1, 3);
    assert_eq!(pr.state, ProgressState::Probe);
    assert_eq!((pr.pending_snapshot, pr.next), (0, before.matched + 1));
    assert!(
        pr.is_paused(),
        "the next try waits for a heartbeat response"
    );
}

#[test]
fn a_reported_success_probes_after_the_snapshot() {
    let mut c = leader_compacted_past_follower_3();
    heartbeat_round(&mut c).expect("a snapshot for node 3");
    c.node_mut(1)
        .report_snapshot(3, SnapshotStatus::Finish)
        .unwrap();
    let pr = progress_of(&c, 1, 3);
    assert_eq!(
        (pr.state, pr.pending_snapshot, pr.next),
        (ProgressState::Probe, 0, 5)
    );
    assert!(pr.is_paused(), "waits for the follower's append response");
    // A status for a follower not in the snapshot state changes nothing.
    c.node_mut(1)
        .report_snapshot(3, SnapshotStatus::Failure)
        .unwrap();
    assert_eq!(progress_of(&c, 1, 3), pr);
}

#[test]
fn an_append_response_that_lets_the_log_catch_up_ends_the_snapshot_state() {
    let mut c = leader_compacted_past_follower_3();
    heartbeat_round(&mut c).expect("a snapshot for node 3");
    // The follower answers from an index the log can continue from (as if it
    // had applied another snapshot), not the pending one.
    let mut resp = msg(MessageType::MsgAppResp, 3, 1, 1);
    resp.index = 4;
    c.node_mut(1).step(resp).unwrap();
    let pr = progress_of(&c, 1, 3);
    assert_eq!(
        (pr.state, pr.matched, pr.next),
        (ProgressState::Replicate, 4, 5)
    );
    assert_eq!(pr.pending_snapshot, 0);
}

#[test]
fn an_append_response_the_log_cannot_continue_from_keeps_the_snapshot_state() {
    let mut c = leader_compacted_past_follower_3();
    heartbeat_round(&mut c).expect("a snapshot for node 3");
    let mut resp = msg(MessageType::MsgAppResp, 3, 1, 1);
    resp.index = 2;
    c.node_mut(1).step(resp).unwrap();
    let pr = progress_of(&c, 1, 3);
    assert_eq!(
        (pr.state, pr.matched, pr.pending_snapshot),
        (ProgressState::Snapshot, 2, 4)
    );
}

/// A follower (node 2 of 1..=3) at term 1 whose log has entries of the given
/// terms, committed through `commit`.
fn follower_with(terms: &[u64], commit: u64) -> RawNode<raft_core::MemStorage> {
    let mut hs = hs_term(1);
    hs.commit = commit;
    RawNode::new(&config(2), log_store(&[1, 2, 3], terms, hs)).unwrap()
}

fn msg_snap(index: u64, term: u64, voters: &[NodeId]) -> Message {
    let mut m = msg(MessageType::MsgSnap, 1, 2, 1.max(term));
    m.snapshot = Some(Box::new(Snapshot::new(
        index,
        term,
        ConfState::with_voters(voters.iter().copied()),
        &b"state"[..],
    )));
    m
}

/// The one MsgAppResp a node sends in answer, from its next Ready.
fn app_resp(node: &mut RawNode<raft_core::MemStorage>) -> (raft_core::Ready, Message) {
    let rd = handle_ready(node).expect("a snapshot is always answered");
    let resps: Vec<Message> = of_type(&rd.messages, MessageType::MsgAppResp)
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(resps.len(), 1, "{:?}", rd.messages);
    let resp = resps[0].clone();
    (rd, resp)
}

#[test]
fn a_follower_restores_a_newer_snapshot_in_place_of_its_log() {
    let mut node = follower_with(&[1, 1, 1], 1);
    let applied_before = node.applied();
    node.step(msg_snap(11, 1, &[1, 2, 3])).unwrap();
    assert!(node.has_ready());
    let rd = node.ready().unwrap();
    let snap = rd
        .snapshot
        .as_ref()
        .expect("the Ready hands out the snapshot");
    assert_eq!(snap.index(), 11);
    assert!(
        rd.committed_entries.is_empty(),
        "nothing applies before the snapshot"
    );
    assert!(!rd.must_sync, "etcd's MustSync ignores the snapshot");
    assert!(rd.log_write().sync, "but its write is synced");
    assert_eq!(rd.hard_state.unwrap().commit, 11);
    let resp = rd.messages.last().unwrap();
    assert_eq!(
        (resp.msg_type, resp.index, resp.reject),
        (MessageType::MsgAppResp, 11, false)
    );
    node.store_mut().write(rd.log_write()).unwrap();
    assert_eq!(
        node.applied(),
        applied_before,
        "applied moves only once the snapshot is installed"
    );
    node.advance().unwrap();
    assert_eq!(node.applied(), 11);
    assert!(!node.has_ready(), "handed out once");
    assert_eq!(
        raft_core::LogStorage::first_index(node.store()).unwrap(),
        12
    );
    assert_eq!(raft_core::LogStorage::last_index(node.store()).unwrap(), 11);
    assert_eq!(raft_core::LogStorage::term(node.store(), 11).unwrap(), 1);
}

#[test]
fn entries_received_after_a_snapshot_apply_after_it() {
    let mut node = follower_with(&[], 0);
    node.step(msg_snap(5, 1, &[1, 2, 3])).unwrap();
    let mut m = append(1, 2, 1, (1, 5), vec![ent(1, 6)], 6);
    m.commit = 6;
    node.step(m).unwrap();
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(rd.snapshot.as_ref().map(Snapshot::index), Some(5));
    assert_eq!(rd.entries.len(), 1);
    assert!(rd.committed_entries.is_empty());
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(
        rd.committed_entries
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        vec![6]
    );
    assert_eq!(node.applied(), 6);
}

#[test]
fn a_snapshot_not_newer_than_the_commit_index_is_ignored() {
    let mut node = follower_with(&[1, 1, 1], 3);
    node.step(msg_snap(2, 1, &[1, 2, 3])).unwrap();
    let (rd, resp) = app_resp(&mut node);
    assert!(rd.snapshot.is_none());
    assert_eq!(resp.index, 3, "answered with the commit index");
    assert_eq!(log_terms(&node), vec![1, 1, 1]);
}

#[test]
fn a_snapshot_the_log_already_holds_only_fast_forwards_the_commit() {
    let mut node = follower_with(&[1, 1, 1], 1);
    node.step(msg_snap(2, 1, &[1, 2, 3])).unwrap();
    let (rd, resp) = app_resp(&mut node);
    assert!(rd.snapshot.is_none(), "the log is kept");
    assert_eq!(node.hard_state().commit, 2);
    assert_eq!(resp.index, 2, "answered with the new commit index");
    assert_eq!(log_terms(&node), vec![1, 1, 1]);
}

#[test]
fn a_snapshot_at_a_known_index_with_another_term_replaces_the_log() {
    let mut node = follower_with(&[1, 1, 1], 1);
    node.step(msg_snap(3, 2, &[1, 2, 3])).unwrap();
    let (rd, resp) = app_resp(&mut node);
    assert_eq!(rd.snapshot.as_ref().map(Snapshot::term), Some(2));
    assert_eq!(resp.index, 3);
    assert!(log_terms(&node).is_empty());
    assert_eq!(raft_core::LogStorage::term(node.store(), 3).unwrap(), 2);
}

#[test]
fn a_snapshot_whose_membership_leaves_us_out_is_declined() {
    let mut node = follower_with(&[1], 1);
    node.step(msg_snap(5, 1, &[1, 3])).unwrap();
    let (rd, resp) = app_resp(&mut node);
    assert!(rd.snapshot.is_none());
    assert_eq!(resp.index, 1);
}

#[test]
fn the_restored_membership_replaces_the_old_one() {
    let mut node = follower_with(&[1], 1);
    node.step(msg_snap(5, 1, &[1, 2, 3, 4, 5])).unwrap();
    handle_ready(&mut node).unwrap();
    assert_eq!(node.status().voters, vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_candidate_that_receives_a_snapshot_follows_its_sender() {
    let mut node = follower_with(&[1], 1);
    node.campaign().unwrap();
    assert_eq!(node.status().soft_state.role, Role::Candidate);
    let term = node.hard_state().term;
    node.step(msg_snap(5, 1, &[1, 2, 3]).with_term(term))
        .unwrap();
    let st = node.status();
    assert_eq!(
        (st.soft_state.role, st.soft_state.leader),
        (Role::Follower, 1)
    );
    assert_eq!(node.hard_state().commit, 5);
}

#[test]
fn a_node_installing_a_snapshot_does_not_campaign() {
    let mut node = follower_with(&[1], 1);
    node.step(msg_snap(5, 1, &[1, 2, 3])).unwrap();
    let rd = node.ready().unwrap();
    node.campaign().unwrap();
    assert_eq!(node.status().soft_state.role, Role::Follower);
    node.store_mut().write(rd.log_write()).unwrap();
    node.advance().unwrap();
    node.campaign().unwrap();
    assert_ne!(
        node.status().soft_state.role,
        Role::Follower,
        "installed: it may"
    );
}

#[test]
fn impossible_snapshots_from_peers_are_refused() {
    let mut node = follower_with(&[1], 1);
    // Newer than the leader's own term.
    let bad = msg_snap(5, 3, &[1, 2, 3]).with_term(2);
    assert!(matches!(
        node.step(bad),
        Err(raft_core::Error::InvalidMessage { .. })
    ));
    // A term without an index.
    let bad = msg_snap(0, 1, &[1, 2, 3]);
    assert!(matches!(
        node.step(bad),
        Err(raft_core::Error::InvalidMessage { .. })
    ));
    // The status of a snapshot is only ever reported locally.
    let status = msg(MessageType::MsgSnapStatus, 1, 2, 1);
    assert!(matches!(
        node.step(status),
        Err(raft_core::Error::StepLocalMsg)
    ));
    assert_eq!(node.hard_state().term, 1, "nothing changed");
}

trait WithTerm {
    fn with_term(self, term: u64) -> Self;
}

impl WithTerm for Message {
    fn with_term(mut self, term: u64) -> Message {
        self.term = term;
        self
    }
}

/// MemStorage whose snapshot can be made temporarily unavailable, as while
/// the application is still writing one.
struct SlowSnapshots {
    log: raft_core::MemStorage,
    available: bool,
}

impl WrapsLog for SlowSnapshots {
    type Log = raft_core::MemStorage;
    fn wrapped(&self) -> Result<&raft_core::MemStorage, raft_core::StorageError> {
        Ok(&self.log)
    }
    fn wrapped_mut(&mut self) -> Result<&mut raft_core::MemStorage, raft_core::StorageError> {
        Ok(&mut self.log)
    }
    fn wrapped_snapshot(&self) -> Result<Snapshot, raft_core::StorageError> {
        match self.available {
            true => self.log.snapshot(),
            false => Err(raft_core::StorageError::SnapshotTemporarilyUnavailable),
        }
    }
}

fn persist(node: &mut RawNode<SlowSnapshots>) -> Vec<Message> {
    let mut out = Vec::new();
    while node.has_ready() {
        let rd = node.ready().unwrap();
        node.store_mut().write(rd.log_write()).unwrap();
        out.extend(rd.messages);
        node.advance().unwrap();
    }
    out
}

#[test]
fn a_temporarily_unavailable_snapshot_makes_the_leader_wait() {
    let store = SlowSnapshots {
        log: raft_core::MemStorage::with_voters([1, 2, 3]),
        available: false,
    };
    let mut leader = RawNode::new(&config(1), store).unwrap();
    leader.campaign().unwrap();
    persist(&mut leader);
    let mut vote = msg(MessageType::MsgVoteResp, 2, 1, 1);
    vote.term = leader.hard_state().term;
    leader.step(vote).unwrap();
    persist(&mut leader);
    leader.propose(&b"x"[..]).unwrap();
    persist(&mut leader);
    let mut ack = msg(MessageType::MsgAppResp, 2, 1, leader.hard_state().term);
    ack.index = 2;
    leader.step(ack).unwrap();
    persist(&mut leader);
    assert_eq!(leader.hard_state().commit, 2);
    leader
        .store_mut()
        .log
        .create_snapshot(2, None, &b"x"[..])
        .unwrap();
    leader.store_mut().compact(2).unwrap();

    // Node 3 is heard from, but no snapshot can be had: nothing is sent.
    let heard = msg(
        MessageType::MsgHeartbeatResp,
        3,
        1,
        leader.hard_state().term,
    );
    leader.step(heard.clone()).unwrap();
    let out = persist(&mut leader);
    assert!(of_type(&out, MessageType::MsgSnap).is_empty(), "{out:?}");
    let st = leader.status().progress.unwrap()[&3].clone();
    assert_eq!(st.state, ProgressState::Probe);

    leader.store_mut().available = true;
    leader.step(heard).unwrap();
    let out = persist(&mut leader);
    assert_eq!(of_type(&out, MessageType::MsgSnap).len(), 1, "{out:?}");
    let st = leader.status().progress.unwrap()[&3].clone();
    assert_eq!(
        (st.state, st.pending_snapshot),
        (ProgressState::Snapshot, 2)
    );
}
