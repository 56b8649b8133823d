//! Three-node groups on the in-memory transport: elections, proposals, group
//! commit, errors, failover.

use bytes::Bytes;
use raft_core::{Config, MemNetwork, MemStorage, Role};
use raft_node::{spawn, NodeConfig, NodeHandle, ProposeError};
use std::time::Duration;

#[macro_use]
mod common;

use common::{config, start, start_with, timeout, Mode};

in_both_modes!(
    proposals_commit_and_apply_everywhere_in_order,
    status_reports_the_leaders_view_of_every_peer,
    followers_refuse_proposals_and_name_the_leader,
    concurrent_proposals_share_readies,
    a_leader_cut_off_times_out_its_proposals,
    after_the_leader_stops_a_new_one_keeps_committed_entries,
    shutdown_fails_pending_and_later_proposals,
    the_proposer_gets_the_state_machines_answer,
);

async fn proposals_commit_and_apply_everywhere_in_order(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap();
    let mut indexes = Vec::new();
    for i in 0..20u32 {
        indexes.push(leader.propose(i.to_be_bytes().to_vec()).await.unwrap());
    }
    assert!(indexes.windows(2).all(|w| w[0] < w[1]), "{indexes:?}");
    let last = *indexes.last().unwrap();
    for node in &c.nodes {
        timeout(node.wait_for(|m| m.applied >= last))
            .await
            .unwrap()
            .unwrap();
    }
    let reference = c.applied[0].lock().unwrap().clone();
    assert_eq!(reference.len(), 20);
    for (k, (index, data)) in reference.iter().enumerate() {
        assert_eq!(*index, indexes[k]);
        assert_eq!(&data[..], &(k as u32).to_be_bytes());
    }
    for log in &c.applied[1..] {
        assert_eq!(*log.lock().unwrap(), reference);
    }
}

async fn status_reports_the_leaders_view_of_every_peer(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap();
    let index = leader.propose(&b"x"[..]).await.unwrap();
    let status = leader.status().await.unwrap();
    assert_eq!(status.soft_state.role, Role::Leader);
    assert!(status.hard_state.commit >= index);
    let progress = status.progress.expect("a leader tracks progress");
    assert_eq!(progress.len(), 3);
    assert!(progress[&leader.id()].matched >= index);
}

async fn followers_refuse_proposals_and_name_the_leader(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap();
    let leader_id = leader.id();
    let follower = c.nodes.iter().find(|n| n.id() != leader_id).unwrap();
    timeout(follower.wait_for(|m| m.leader == Some(leader_id)))
        .await
        .unwrap()
        .unwrap();
    let err = follower.propose(&b"x"[..]).await.unwrap_err();
    assert_eq!(
        err,
        ProposeError::NotLeader {
            leader: Some(leader_id)
        }
    );
}

async fn concurrent_proposals_share_readies(mode: Mode) {
    // Proposals do not time out while the leader is cut off.
    let c = start_with(mode, 3, 3, |id| {
        let mut c = config(id);
        c.proposal_timeout_ticks = 1_000_000;
        c
    });
    let leader = timeout(c.leader()).await.unwrap().clone();
    // Cut off, the leader takes all 200 in but can commit none of them;
    // healed, it commits them together, in far fewer Readies than one per
    // proposal (how many Readies taking them in needs depends on when the
    // loop wakes, so that part is not counted).
    c.isolate(leader.id());
    let tasks: Vec<_> = (0..200u32)
        .map(|i| {
            let leader = leader.clone();
            tokio::spawn(async move { leader.propose(i.to_be_bytes().to_vec()).await })
        })
        .collect();
    timeout(leader.wait_for(|m| m.pending_proposals == 200))
        .await
        .unwrap()
        .unwrap();
    let before = leader.metrics().readies;
    c.net.heal();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let readies = leader.metrics().readies - before;
    assert!(readies < 50, "{readies} readies to commit 200 proposals");
}

async fn a_leader_cut_off_times_out_its_proposals(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap();
    let id = leader.id();
    for other in 1..=3 {
        if other != id {
            c.net.cut(id, other);
            c.net.cut(other, id);
        }
    }
    let err = timeout(leader.propose(&b"lost"[..]))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ProposeError::Dropped { .. }), "{err}");
}

async fn after_the_leader_stops_a_new_one_keeps_committed_entries(mode: Mode) {
    let c = start(mode, 3);
    let old = timeout(c.leader()).await.unwrap().clone();
    let first = old.propose(&b"before"[..]).await.unwrap();
    old.shutdown().await.unwrap();
    let survivors: Vec<&NodeHandle> = c.nodes.iter().filter(|n| n.id() != old.id()).collect();
    let new_leader = timeout(async {
        loop {
            if let Some(n) = survivors.iter().find(|n| n.metrics().role == Role::Leader) {
                return *n;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let second = new_leader.propose(&b"after"[..]).await.unwrap();
    assert!(second > first);
    for n in &survivors {
        timeout(n.wait_for(|m| m.applied >= second))
            .await
            .unwrap()
            .unwrap();
        let log = c.applied[(n.id() - 1) as usize].lock().unwrap().clone();
        let payloads: Vec<&[u8]> = log.iter().map(|(_, d)| &d[..]).collect();
        assert_eq!(payloads, vec![&b"before"[..], &b"after"[..]]);
    }
}

async fn shutdown_fails_pending_and_later_proposals(mode: Mode) {
    // Proposals do not time out within the test (5,000 s), so only the
    // shutdown can end the pending one.
    let c = start_with(mode, 3, 3, |id| {
        let mut c = config(id);
        c.proposal_timeout_ticks = 1_000_000;
        c
    });
    let leader = timeout(c.leader()).await.unwrap().clone();
    let id = leader.id();
    for other in 1..=3 {
        if other != id {
            c.net.cut(id, other);
            c.net.cut(other, id);
        }
    }
    let pending = tokio::spawn({
        let leader = leader.clone();
        async move { leader.propose(&b"pending"[..]).await }
    });
    timeout(leader.wait_for(|m| m.pending_proposals == 1))
        .await
        .unwrap()
        .unwrap();
    assert!(!pending.is_finished(), "a cut-off leader cannot commit");
    leader.shutdown().await.unwrap();
    assert_eq!(
        timeout(pending).await.unwrap().unwrap().unwrap_err(),
        ProposeError::ShuttingDown
    );
    assert_eq!(
        leader.propose(&b"late"[..]).await.unwrap_err(),
        ProposeError::ShuttingDown
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_configs_are_refused() {
    let net = MemNetwork::new(8);
    let mut c = config(1);
    c.tick_interval = Duration::ZERO;
    let err = spawn(
        c,
        MemStorage::with_voters([1]),
        net.join(1),
        |_: u64, _: &Bytes| {},
    );
    assert!(err.is_err());
    let bad_raft = NodeConfig::new({
        let mut cfg = Config::new(1);
        cfg.election_tick = 1;
        cfg
    });
    assert!(spawn(
        bad_raft,
        MemStorage::with_voters([1]),
        net.join(1),
        |_: u64, _: &Bytes| {}
    )
    .is_err());
}

/// Answers each proposal with a running count of the bytes applied so far.
struct Counter(u64);

impl raft_node::StateMachine for Counter {
    fn apply(&mut self, _index: u64, data: &Bytes) -> Bytes {
        self.0 += data.len() as u64;
        Bytes::from(self.0.to_string())
    }
}

async fn the_proposer_gets_the_state_machines_answer(mode: Mode) {
    let net = MemNetwork::new(64);
    let node = mode
        .spawn(
            config(1),
            MemStorage::with_voters([1]),
            net.join(1),
            Counter(0),
        )
        .unwrap();
    while node.metrics().role != Role::Leader {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first = timeout(node.propose_with_response("abc"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.response, Bytes::from("3"));
    let second = timeout(node.propose_with_response("de"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.response, Bytes::from("5"));
    assert_eq!(second.index, first.index + 1);
}
