//! The in-memory group the runtime's integration tests share: nodes on one
//! `MemNetwork`, each applying to a log of what it applied.

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

use bytes::Bytes;
use raft_core::{Config, MemNetwork, MemStorage, NodeId, Role};
use raft_node::{spawn, NodeConfig, NodeHandle};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a node's state machine applied, in order: (index, payload).
pub type Applied = Arc<Mutex<Vec<(u64, Bytes)>>>;

pub struct Cluster {
    pub net: MemNetwork,
    pub nodes: Vec<NodeHandle>,
    pub applied: Vec<Applied>,
}

/// Seeded jitter and 5 ms ticks, so elections come quickly.
pub fn config(id: NodeId) -> NodeConfig {
    let mut raft = Config::new(id);
    raft.random_seed = Some(id);
    let mut c = NodeConfig::new(raft);
    c.tick_interval = Duration::from_millis(5);
    c
}

pub fn start(n: u64) -> Cluster {
    start_with(n, n, config)
}

/// A group of `n` voters of which nodes `1..=spawned` are started.
pub fn start_with(n: u64, spawned: u64, make: impl Fn(NodeId) -> NodeConfig) -> Cluster {
    let net = MemNetwork::new(4096);
    let mut nodes = Vec::new();
    let mut applied = Vec::new();
    for id in 1..=spawned {
        let log: Applied = Arc::default();
        let sink = log.clone();
        let sm = move |index: u64, data: &Bytes| sink.lock().unwrap().push((index, data.clone()));
        let storage = MemStorage::with_voters(1..=n);
        nodes.push(spawn(make(id), storage, net.join(id), sm).unwrap());
        applied.push(log);
    }
    Cluster {
        net,
        nodes,
        applied,
    }
}

impl Cluster {
    pub async fn leader(&self) -> &NodeHandle {
        loop {
            for node in &self.nodes {
                if node.metrics().role == Role::Leader {
                    return node;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn node(&self, id: NodeId) -> &NodeHandle {
        &self.nodes[(id - 1) as usize]
    }

    /// Whether node `id` applied `data`.
    pub fn saw(&self, id: NodeId, data: &[u8]) -> bool {
        self.applied[(id - 1) as usize]
            .lock()
            .unwrap()
            .iter()
            .any(|(_, d)| &d[..] == data)
    }

    /// Cuts every link to and from node `id`.
    pub fn isolate(&self, id: NodeId) {
        for other in 1..=self.nodes.len() as u64 {
            if other != id {
                self.net.cut(id, other);
                self.net.cut(other, id);
            }
        }
    }
}

pub fn timeout<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(Duration::from_secs(20), f)
}
