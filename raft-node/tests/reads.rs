//! Linearizable reads and leadership transfer on the in-memory transport.

use raft_core::{NodeId, Role};
use raft_node::{NodeConfigError, NodeHandle, ReadError, ReadMode, TransferError};
use std::time::Duration;

#[macro_use]
mod common;

use common::{config, start, start_with, timeout, Cluster, Mode};

in_both_modes!(
    a_read_after_an_acknowledged_write_sees_it_on_every_node,
    concurrent_reads_share_rounds,
    a_cut_off_leader_refuses_reads_instead_of_answering_stale,
    a_node_without_a_leader_says_so,
    lease_reads_need_check_quorum_and_then_work,
    leadership_moves_where_asked_and_the_caller_hears_it,
    transfers_that_cannot_happen_fail_with_a_reason,
    shutdown_fails_waiting_reads,
);

/// Waits until every node knows `leader` leads.
async fn settled(c: &Cluster, leader: NodeId) {
    for node in &c.nodes {
        timeout(node.wait_for(|m| m.leader == Some(leader)))
            .await
            .unwrap()
            .unwrap();
    }
}

async fn a_read_after_an_acknowledged_write_sees_it_on_every_node(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap();
    settled(&c, leader.id()).await;
    for round in 0..5u8 {
        let write = [b'w', round];
        let written = leader.propose(write.to_vec()).await.unwrap();
        for node in &c.nodes {
            // Followers may not have applied it yet when the leader
            // acknowledges; the barrier is what makes them wait.
            let index = timeout(node.read_index()).await.unwrap().unwrap();
            assert!(
                index >= written,
                "read index {index} before write {written}"
            );
            assert!(node.metrics().applied >= index);
            assert!(c.saw(node.id(), &write), "node {} read stale", node.id());
        }
    }
}

async fn concurrent_reads_share_rounds(mode: Mode) {
    let c = start_with(mode, 3, 3, |id| {
        let mut cfg = config(id);
        cfg.read_timeout_ticks = 100_000;
        cfg
    });
    let leader = timeout(c.leader()).await.unwrap().clone();
    settled(&c, leader.id()).await;
    let written = leader.propose(&b"x"[..]).await.unwrap();
    let before = leader.metrics().read_rounds;
    // Cut off, the leader cannot finish a round, so the reads pile up
    // behind the first one; healed, they need at most one more.
    c.isolate(leader.id());
    let reads: Vec<_> = (0..200)
        .map(|_| {
            let node = leader.clone();
            tokio::spawn(async move { node.read_index().await })
        })
        .collect();
    timeout(leader.wait_for(|m| m.pending_reads == 200))
        .await
        .unwrap()
        .unwrap();
    c.net.heal();
    for read in reads {
        let index = timeout(read).await.unwrap().unwrap().unwrap();
        assert!(index >= written);
    }
    let rounds = leader.metrics().read_rounds - before;
    assert!((1..=2).contains(&rounds), "{rounds} rounds for 200 reads");
}

async fn a_cut_off_leader_refuses_reads_instead_of_answering_stale(mode: Mode) {
    let c = start(mode, 3);
    let old = timeout(c.leader()).await.unwrap().clone();
    settled(&c, old.id()).await;
    c.isolate(old.id());
    // The majority elects a new leader and acknowledges a write the old
    // leader never sees.
    let others: Vec<&NodeHandle> = c.nodes.iter().filter(|n| n.id() != old.id()).collect();
    let new = timeout(async {
        loop {
            if let Some(l) = others.iter().find(|n| n.metrics().role == Role::Leader) {
                break (*l).clone();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    new.propose(&b"fresh"[..]).await.unwrap();
    assert_eq!(
        old.metrics().role,
        Role::Leader,
        "without check_quorum it keeps leading"
    );
    let err = timeout(old.read_index()).await.unwrap().unwrap_err();
    assert!(
        matches!(err, ReadError::Timeout { .. } | ReadError::Dropped { .. }),
        "{err:?}"
    );
    assert!(!c.saw(old.id(), b"fresh"));
    // Healed, it steps down, catches up, and reads the write.
    c.net.heal();
    let index = loop {
        match timeout(old.read_index()).await.unwrap() {
            Ok(index) => break index,
            Err(ReadError::Timeout { .. } | ReadError::Dropped { .. } | ReadError::NoLeader) => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert!(old.metrics().applied >= index);
    assert!(c.saw(old.id(), b"fresh"));
}

async fn a_node_without_a_leader_says_so(mode: Mode) {
    // Only node 1 of three runs: no election can succeed.
    let c = start_with(mode, 3, 1, config);
    let err = c.node(1).read_index().await.unwrap_err();
    assert_eq!(err, ReadError::NoLeader);
    let err = c.node(1).transfer_leader(2).await.unwrap_err();
    assert_eq!(err, TransferError::NoLeader);
}

async fn lease_reads_need_check_quorum_and_then_work(mode: Mode) {
    let mut bad = config(1);
    bad.read_mode = ReadMode::Lease;
    assert!(matches!(
        bad.validate(),
        Err(NodeConfigError::LeaseReadsNeedCheckQuorum)
    ));
    let mut conflict = config(1);
    conflict.raft.check_quorum = true;
    conflict.raft.read_only_option = raft_core::ReadOnlyOption::LeaseBased;
    assert!(matches!(
        conflict.validate(),
        Err(NodeConfigError::ReadModeConflict)
    ));

    let c = start_with(mode, 3, 3, |id| {
        let mut cfg = config(id);
        cfg.raft.check_quorum = true;
        cfg.read_mode = ReadMode::Lease;
        cfg
    });
    let leader = timeout(c.leader()).await.unwrap();
    settled(&c, leader.id()).await;
    let written = leader.propose(&b"leased"[..]).await.unwrap();
    for node in &c.nodes {
        let index = timeout(node.read_index()).await.unwrap().unwrap();
        assert!(index >= written);
        assert!(c.saw(node.id(), b"leased"));
    }
}

async fn leadership_moves_where_asked_and_the_caller_hears_it(mode: Mode) {
    let c = start(mode, 3);
    let first = timeout(c.leader()).await.unwrap().id();
    settled(&c, first).await;
    let to = first % 3 + 1;
    timeout(c.node(first).transfer_leader(to))
        .await
        .unwrap()
        .unwrap();
    // The old leader may hear of the new one before the new one's own
    // metrics are published.
    timeout(c.node(to).wait_for(|m| m.role == Role::Leader))
        .await
        .unwrap()
        .unwrap();
    c.node(to).propose(&b"after"[..]).await.unwrap();

    // Asked through a follower, the request is forwarded to the leader.
    settled(&c, to).await;
    let back = to % 3 + 1;
    let via = 6 - to - back;
    timeout(c.node(via).transfer_leader(back))
        .await
        .unwrap()
        .unwrap();
    timeout(c.node(back).wait_for(|m| m.role == Role::Leader))
        .await
        .unwrap()
        .unwrap();
    // Asking for the current leader is already done.
    timeout(c.node(back).transfer_leader(back))
        .await
        .unwrap()
        .unwrap();
}

async fn transfers_that_cannot_happen_fail_with_a_reason(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap().clone();
    settled(&c, leader.id()).await;
    assert_eq!(
        leader.transfer_leader(9).await.unwrap_err(),
        TransferError::NotVoter { to: 9 }
    );
    // A transferee nobody can reach never campaigns; the old leader takes
    // proposals again once raft gives the transfer up.
    let to = leader.id() % 3 + 1;
    c.isolate(to);
    let err = timeout(leader.transfer_leader(to))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, TransferError::Timeout { .. }), "{err:?}");
    assert_eq!(leader.metrics().role, Role::Leader);
    leader.propose(&b"still"[..]).await.unwrap();
}

async fn shutdown_fails_waiting_reads(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap().clone();
    settled(&c, leader.id()).await;
    c.isolate(leader.id());
    let waiting = {
        let leader = leader.clone();
        tokio::spawn(async move { leader.read_index().await })
    };
    timeout(leader.wait_for(|m| m.pending_reads > 0))
        .await
        .unwrap()
        .unwrap();
    leader.shutdown().await.unwrap();
    let err = timeout(waiting).await.unwrap().unwrap().unwrap_err();
    assert_eq!(err, ReadError::ShuttingDown);
    assert_eq!(leader.read_index().await, Err(ReadError::ShuttingDown));
}
