//! Membership changes through the client port, as `raft-cluster member`
//! makes them: RocksDB logs, QUIC on loopback, a client port per node, and
//! a [`Client`] that follows the leader. Node 4 starts empty, is added as a
//! learner, catches up (by snapshot), is promoted; node 1 is removed; the
//! group still commits.

use raft_cluster::client::{Client, ClientError, Endpoint};
use raft_cluster::client_port::ClientPort;
use raft_cluster::cluster::{LocalCluster, StorageKind, TransportKind};
use raft_cluster::load::{run_load, LoadSpec};
use raft_cluster::member_wire::{MemberRefusal, MemberRequest};
use raft_node::{NodeHandle, SnapshotPolicy};
use std::time::Duration;
use tokio::net::TcpListener;

async fn open_port(node: &NodeHandle) -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    ClientPort::new(node.clone()).spawn(listener);
    Endpoint {
        id: Some(node.id()),
        addr,
    }
}

async fn caught_up(node: &NodeHandle, index: u64) {
    tokio::time::timeout(
        Duration::from_secs(30),
        node.wait_for(|m| m.applied >= index),
    )
    .await
    .expect("caught up in time")
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_added_promoted_and_removed_through_the_client_port() {
    let mut policy = SnapshotPolicy::every_entries(50);
    policy.catch_up_entries = 10;
    let mut cluster =
        LocalCluster::start_with(3, StorageKind::Rocks, TransportKind::Quic, None, policy)
            .await
            .unwrap();
    let mut endpoints = Vec::new();
    for node in &cluster.nodes {
        endpoints.push(open_port(node).await);
    }
    let mut client = Client::new(endpoints.clone(), 50).unwrap();

    let list = client.member(&MemberRequest::List).await.unwrap();
    assert_eq!(list.voters, vec![1, 2, 3]);
    assert!(list.learners.is_empty() && !list.is_joint(), "{list}");

    // Enough entries that the leader compacts past what node 4 could get
    // from the log.
    let spec = LoadSpec {
        entries: 200,
        entry_size: 16,
        proposers: 4,
    };
    run_load(&cluster, &spec, None).await.unwrap();

    let (id, address) = cluster.add_node().await.unwrap();
    assert_eq!(id, 4);
    let four = cluster.nodes[3].clone();
    endpoints.push(open_port(&four).await);
    let mut client = Client::new(endpoints, 50).unwrap();

    let refused = client
        .member(&MemberRequest::AddLearner {
            id: 4,
            address: "nowhere".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ClientError::Refused(MemberRefusal::Invalid(ref r)) if r.contains("IP:PORT")),
        "{refused}"
    );
    let refused = client.member(&MemberRequest::Promote(9)).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::Refused(MemberRefusal::Invalid(_))),
        "{refused}"
    );

    let list = client
        .member(&MemberRequest::AddLearner {
            id: 4,
            address: address.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        (list.voters.clone(), list.learners.clone()),
        (vec![1, 2, 3], vec![4])
    );
    assert_eq!(list.addresses.get(&4), Some(&address));

    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .await
        .unwrap()
        .clone();
    caught_up(&four, leader.metrics().commit).await;
    assert!(
        four.metrics().snapshots.restored >= 1,
        "node 4 caught up by snapshot"
    );

    let list = client.member(&MemberRequest::Promote(4)).await.unwrap();
    assert_eq!(list.voters, vec![1, 2, 3, 4]);
    assert!(list.learners.is_empty());

    let list = client.member(&MemberRequest::Remove(1)).await.unwrap();
    assert_eq!(list.voters, vec![2, 3, 4]);

    // Whoever leads now (node 1 may have led and stepped down) lists the
    // same members, node 4's address among them.
    let list = client.member(&MemberRequest::List).await.unwrap();
    assert_eq!(list.voters, vec![2, 3, 4], "{list}");
    assert!(list.learners.is_empty() && !list.is_joint(), "{list}");
    // Node 4 itself may lead now: restored from a snapshot, it knows no
    // address for the members added before it (these ports are given no
    // transport to ask), so only "not node 1" holds on every leader.
    assert!(!list.addresses.contains_key(&1));

    let committed = client.propose(b"after the replacement").await.unwrap();
    assert_ne!(committed.endpoint.id, Some(1));
    caught_up(&four, committed.index).await;
    let read = client.read().await.unwrap();
    assert!(read.index >= committed.index);
    cluster.shutdown().await.unwrap();
}
