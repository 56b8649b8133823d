//! A group of nodes in one process: each with its own log (in memory or a
//! RocksDB directory) and its own endpoint (in-process or QUIC on
//! 127.0.0.1 with development certificates).

use raft_core::{ConfState, Config, EntryId, MemNetwork, MemStorage, NodeId, Role};
use raft_node::{spawn, NodeConfig, NodeHandle, NullStateMachine};
use raft_storage_rocks::RocksStorage;
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::QuicTransport;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Where the nodes' logs live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    /// raft-core's `MemStorage`: nothing survives the process.
    Memory,
    /// A RocksDB log per node, fsynced.
    Rocks,
}

/// How the nodes' messages travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// raft-core's `MemNetwork`, inside the process.
    InProcess,
    /// QUIC with mutual TLS on 127.0.0.1, development certificates.
    Quic,
}

/// Why a local cluster could not start or stop.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The data directory could not be prepared.
    #[error("cannot prepare {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A RocksDB log could not be created.
    #[error(transparent)]
    Storage(#[from] raft_storage_rocks::RocksError),
    /// The development certificates could not be made.
    #[error(transparent)]
    Tls(#[from] raft_transport_quic::TlsError),
    /// A QUIC endpoint could not start.
    #[error(transparent)]
    Transport(#[from] raft_transport_quic::TransportError),
    /// A node could not start, or failed.
    #[error(transparent)]
    Node(#[from] raft_node::NodeError),
    /// No node became leader in time.
    #[error("no leader was elected within {0:?}")]
    NoLeader(Duration),
}

/// Where the nodes' logs live: a temporary directory removed on drop, or
/// one the user chose (kept).
enum DataDir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl DataDir {
    fn path(&self) -> &Path {
        match self {
            DataDir::Temp(t) => t.path(),
            DataDir::Kept(p) => p,
        }
    }
}

/// The running group.
pub struct LocalCluster {
    /// The nodes, node 1 first.
    pub nodes: Vec<NodeHandle>,
    /// Where their logs live.
    pub storage: StorageKind,
    /// How their messages travel.
    pub transport: TransportKind,
    data: Option<DataDir>,
}

/// Timing that suits one machine: 10 ms ticks, elections after 100–200 ms
/// of silence, CheckQuorum and pre-vote on as in production.
pub fn node_config(id: NodeId) -> NodeConfig {
    let mut config = NodeConfig::new({
        let mut cfg = Config::new(id);
        cfg.check_quorum = true;
        cfg.max_inflight_msgs = 1024;
        cfg
    });
    config.tick_interval = Duration::from_millis(10);
    config.proposal_timeout_ticks = 500;
    config.proposal_queue = 65_536;
    config
}

impl LocalCluster {
    /// Starts `n` voters. With RocksDB, logs go under `data_dir` (one
    /// directory per node, `node-<id>`) or a temporary directory.
    pub async fn start(
        n: u64,
        storage: StorageKind,
        transport: TransportKind,
        data_dir: Option<PathBuf>,
    ) -> Result<LocalCluster, ClusterError> {
        let data = match (storage, data_dir) {
            (StorageKind::Memory, _) => None,
            (StorageKind::Rocks, Some(path)) => Some(DataDir::Kept(path)),
            (StorageKind::Rocks, None) => {
                let temp = tempfile::Builder::new()
                    .prefix("raft-cluster-")
                    .tempdir()
                    .map_err(|source| ClusterError::Dir {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                Some(DataDir::Temp(temp))
            }
        };
        let voters: Vec<NodeId> = (1..=n).collect();
        let mut nodes = Vec::new();
        match transport {
            TransportKind::InProcess => {
                let net = MemNetwork::new(65_536);
                for id in 1..=n {
                    let endpoint = net.join(id);
                    nodes.push(spawn_node(id, &voters, storage, data.as_ref(), endpoint)?);
                }
            }
            TransportKind::Quic => {
                let ca = DevCa::new()?;
                let any: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
                let mut endpoints = Vec::new();
                for id in 1..=n {
                    let config = raft_transport_quic::Config::new(id, any, ca.node_cert(id)?);
                    endpoints.push(QuicTransport::bind(config)?);
                }
                let addrs: Vec<SocketAddr> = endpoints.iter().map(|e| e.local_addr()).collect();
                for endpoint in &endpoints {
                    for (i, addr) in addrs.iter().enumerate() {
                        let peer = i as NodeId + 1;
                        if peer != endpoint.id() {
                            endpoint.set_peer(peer, *addr);
                        }
                    }
                }
                for (i, endpoint) in endpoints.into_iter().enumerate() {
                    let id = i as NodeId + 1;
                    nodes.push(spawn_node(id, &voters, storage, data.as_ref(), endpoint)?);
                }
            }
        }
        Ok(LocalCluster {
            nodes,
            storage,
            transport,
            data,
        })
    }

    /// The directory holding node `id`'s log (RocksDB only).
    pub fn log_dir(&self, id: NodeId) -> Option<PathBuf> {
        self.data.as_ref().map(|d| node_dir(d.path(), id))
    }

    /// The node that currently leads, if any node thinks it does.
    pub fn leader(&self) -> Option<&NodeHandle> {
        self.nodes.iter().find(|n| n.metrics().role == Role::Leader)
    }

    /// Waits until some node leads, polling every millisecond.
    pub async fn wait_for_leader(&self, limit: Duration) -> Result<&NodeHandle, ClusterError> {
        let start = Instant::now();
        loop {
            if let Some(leader) = self.leader() {
                return Ok(leader);
            }
            if start.elapsed() > limit {
                return Err(ClusterError::NoLeader(limit));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Stops every node.
    pub async fn shutdown(&self) -> Result<(), ClusterError> {
        for node in &self.nodes {
            node.shutdown().await?;
        }
        Ok(())
    }
}

fn node_dir(root: &Path, id: NodeId) -> PathBuf {
    root.join(format!("node-{id}"))
}

fn spawn_node<T>(
    id: NodeId,
    voters: &[NodeId],
    storage: StorageKind,
    data: Option<&DataDir>,
    transport: T,
) -> Result<NodeHandle, ClusterError>
where
    T: raft_core::Transport + Send + 'static,
{
    let config = node_config(id);
    let sm = NullStateMachine::default();
    let handle = match (storage, data) {
        (StorageKind::Rocks, Some(data)) => {
            // A fresh log per run: `create` refuses a directory that already
            // holds one, so a stale --data-dir is reported, not reused.
            let dir = node_dir(data.path(), id);
            let conf = ConfState::with_voters(voters.iter().copied());
            let store = RocksStorage::create(&dir, conf, EntryId::default())?;
            spawn(config, store, transport, sm)?
        }
        _ => spawn(
            config,
            MemStorage::with_voters(voters.iter().copied()),
            transport,
            sm,
        )?,
    };
    Ok(handle)
}
