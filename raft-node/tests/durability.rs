//! The background mode on RocksDB: every proposal acknowledged before the
//! whole group stopped is still there, at the index it was acknowledged
//! with, after every node reopens its log. The stop is clean (each append
//! thread finishes the writes queued to it), so this shows that nothing
//! queued is dropped and that reopened logs agree with what was
//! acknowledged; it does not crash a node between a write and its sync.

use bytes::Bytes;
use raft_core::{ConfState, Config, EntryId, MemNetwork, NodeId, Role};
use raft_node::{spawn, NodeConfig, NodeHandle, ProposeError, SnapshotPolicy, StorageWrites};
use raft_storage_rocks::RocksStorage;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Applied = Arc<Mutex<BTreeMap<u64, Bytes>>>;

fn start_node(net: &MemNetwork, dir: &Path, id: NodeId, fresh: bool) -> (NodeHandle, Applied) {
    let path = dir.join(format!("node-{id}"));
    let storage = match fresh {
        true => RocksStorage::create(&path, ConfState::with_voters([1, 2, 3]), EntryId::default()),
        false => RocksStorage::open(&path),
    }
    .unwrap();
    let mut raft = Config::new(id);
    raft.random_seed = Some(id);
    raft.pre_vote = true;
    let mut config = NodeConfig::new(raft);
    config.tick_interval = Duration::from_millis(5);
    config.proposal_timeout_ticks = 2_000;
    // The state machine starts empty after a restart and replays the log.
    config.snapshot = SnapshotPolicy::disabled();
    config.storage_writes = StorageWrites::Background;
    let applied: Applied = Arc::default();
    let sink = applied.clone();
    let sm = move |index: u64, data: &Bytes| {
        sink.lock().unwrap().insert(index, data.clone());
    };
    (spawn(config, storage, net.join(id), sm).unwrap(), applied)
}

async fn leader(nodes: &[NodeHandle]) -> NodeHandle {
    loop {
        if let Some(n) = nodes.iter().find(|n| n.metrics().role == Role::Leader) {
            return n.clone();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn timeout<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(Duration::from_secs(30), f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_proposals_survive_a_clean_stop_of_the_whole_group_mid_load() {
    let dir = tempfile::tempdir().unwrap();
    let net = MemNetwork::new(4096);
    let mut nodes = Vec::new();
    for id in 1..=3 {
        nodes.push(start_node(&net, dir.path(), id, true).0);
    }
    let lead = timeout(leader(&nodes)).await.unwrap();
    // Closed-loop proposers keep the append thread busy with groups of
    // writes; the group is stopped under them.
    let acked: Arc<Mutex<Vec<(u64, Bytes)>>> = Arc::default();
    let mut proposers = Vec::new();
    for p in 0..16u32 {
        let (lead, acked) = (lead.clone(), acked.clone());
        proposers.push(tokio::spawn(async move {
            for i in 0.. {
                let data = Bytes::from(format!("p{p}-{i}"));
                match lead.propose(data.clone()).await {
                    Ok(index) => acked.lock().unwrap().push((index, data)),
                    Err(ProposeError::ShuttingDown) => return,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    timeout(async {
        while acked.lock().unwrap().len() < 300 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    for node in &nodes {
        node.shutdown().await.unwrap();
    }
    for p in proposers {
        timeout(p).await.unwrap().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    // Every node reopens its log; the group commits one more entry, which
    // carries the commit index past everything acknowledged before.
    let mut nodes = Vec::new();
    let mut applied = Vec::new();
    for id in 1..=3 {
        let (node, log) = start_node(&net, dir.path(), id, false);
        nodes.push(node);
        applied.push(log);
    }
    let after = loop {
        let lead = timeout(leader(&nodes)).await.unwrap();
        match timeout(lead.propose(&b"after"[..])).await.unwrap() {
            Ok(index) => break index,
            Err(ProposeError::NotLeader { .. } | ProposeError::Dropped { .. }) => continue,
            Err(e) => panic!("{e}"),
        }
    };
    let last_acked = acked.iter().map(|(i, _)| *i).max().unwrap();
    assert!(after > last_acked);
    for (node, log) in nodes.iter().zip(&applied) {
        timeout(node.wait_for(|m| m.applied >= after))
            .await
            .unwrap()
            .unwrap();
        let log = log.lock().unwrap();
        for (index, data) in &acked {
            assert_eq!(
                log.get(index),
                Some(data),
                "node {}: acknowledged entry {index} lost or changed",
                node.id()
            );
        }
    }
    for node in &nodes {
        node.shutdown().await.unwrap();
    }
}
