//! Membership changes across a restart: a RocksDB node comes back in the
//! configuration it last applied, and the added member is served.

use raft_cluster::cluster::{LocalCluster, StorageKind, TransportKind};
use raft_cluster::load::{run_load, LoadSpec};
use raft_node::SnapshotPolicy;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_the_membership_it_applied() {
    let mut policy = SnapshotPolicy::every_entries(50);
    policy.catch_up_entries = 10;
    let mut cluster =
        LocalCluster::start_with(3, StorageKind::Rocks, TransportKind::Quic, None, policy)
            .await
            .unwrap();
    let spec = LoadSpec {
        entries: 200,
        entry_size: 16,
        proposers: 4,
    };
    run_load(&cluster, &spec, None).await.unwrap();
    let (id, address) = cluster.add_node().await.unwrap();
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .await
        .unwrap()
        .clone();
    let m = leader.add_learner(id, address.clone()).await.unwrap();
    assert_eq!(m.conf_state.learners, vec![id]);
    let follower = (1..=3).find(|n| *n != leader.id()).unwrap();
    let target = leader.metrics().commit;
    for n in &cluster.nodes {
        tokio::time::timeout(Duration::from_secs(20), n.wait_for(|m| m.applied >= target))
            .await
            .unwrap()
            .unwrap();
    }
    cluster.stop_node(follower).await.unwrap();
    let restarted = cluster.restart_node(follower).await.unwrap().clone();
    // It starts from its stored snapshot's configuration and replays the
    // changes after it with the rest of the log.
    tokio::time::timeout(
        Duration::from_secs(20),
        restarted.wait_for(|m| m.applied >= target),
    )
    .await
    .unwrap()
    .unwrap();
    let m = restarted.membership();
    assert_eq!(m.conf_state.learners, vec![id], "{m:?}");
    assert_eq!(m.conf_state.voters.len(), 3);
    // The group still works with the learner in it, and the learner keeps up.
    run_load(&cluster, &spec, None).await.unwrap();
    let target = cluster
        .wait_for_leader(Duration::from_secs(10))
        .await
        .unwrap()
        .metrics()
        .commit;
    let learner = &cluster.nodes[id as usize - 1];
    tokio::time::timeout(
        Duration::from_secs(20),
        learner.wait_for(|m| m.applied >= target),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(learner.metrics().snapshots.restored >= 1);
    cluster.shutdown().await.unwrap();
}
