//! A group of nodes in one process: each with its own log (in memory or a
//! RocksDB directory) and its own endpoint (in-process or QUIC on
//! 127.0.0.1 with development certificates).

use crate::state::{Checksum, ChecksumMachine};
use raft_core::{ConfState, EntryId, MemNetwork, MemStorage, NodeId, Role};
use raft_node::{spawn, NodeHandle, SnapshotPolicy, StorageWrites};
use raft_storage_rocks::RocksStorage;
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::QuicTransport;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

pub use raft_host::{StorageKind, TransportKind};

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
    /// There is no node with this id.
    #[error("no node {0} in this cluster")]
    NoSuchNode(NodeId),
    /// In-memory logs do not survive a stop, so the node cannot restart.
    #[error("node {0} keeps its log in memory: it cannot restart after a stop")]
    CannotRestart(NodeId),
    /// The stopped node's address stayed taken.
    #[error("cannot bind node {id}'s address {addr} again: {source}")]
    Rebind {
        /// The node.
        id: NodeId,
        /// Its address.
        addr: SocketAddr,
        /// Why, the last time.
        source: raft_transport_quic::TransportError,
    },
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
    /// Each node's state machine (shared with it), node 1 first.
    states: Vec<ChecksumMachine>,
    snapshot: SnapshotPolicy,
    writes: StorageWrites,
    links: Links,
}

/// What a restarted node needs to rejoin the others.
enum Links {
    Memory(MemNetwork),
    Quic {
        ca: Box<DevCa>,
        addrs: Vec<SocketAddr>,
    },
}

/// The configuration every node here starts from (it lives in
/// [`raft_host`], shared with `raft-kv`).
pub use raft_host::node_config;

impl LocalCluster {
    /// Starts `n` voters with the runtime's default snapshot policy. With
    /// RocksDB, logs go under `data_dir` (one directory per node,
    /// `node-<id>`) or a temporary directory.
    pub async fn start(
        n: u64,
        storage: StorageKind,
        transport: TransportKind,
        data_dir: Option<PathBuf>,
    ) -> Result<LocalCluster, ClusterError> {
        let policy = node_config(1).snapshot;
        LocalCluster::start_with(n, storage, transport, data_dir, policy).await
    }

    /// [`LocalCluster::start`] with the snapshot policy `snapshot`.
    pub async fn start_with(
        n: u64,
        storage: StorageKind,
        transport: TransportKind,
        data_dir: Option<PathBuf>,
        snapshot: SnapshotPolicy,
    ) -> Result<LocalCluster, ClusterError> {
        LocalCluster::start_with_writes(
            n,
            storage,
            transport,
            data_dir,
            snapshot,
            StorageWrites::default(),
        )
        .await
    }

    /// [`LocalCluster::start_with`], the nodes writing their logs as
    /// `writes` says (the benchmarks compare the modes).
    pub async fn start_with_writes(
        n: u64,
        storage: StorageKind,
        transport: TransportKind,
        data_dir: Option<PathBuf>,
        snapshot: SnapshotPolicy,
        writes: StorageWrites,
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
        let states: Vec<ChecksumMachine> = (1..=n).map(|_| ChecksumMachine::new()).collect();
        let mut nodes = Vec::new();
        let node = |id: NodeId| Start {
            id,
            voters: &voters,
            storage,
            data: data.as_ref(),
            snapshot: &snapshot,
            writes,
            restart: false,
        };
        let state = |id: NodeId| states[id as usize - 1].clone();
        let links = match transport {
            TransportKind::InProcess => {
                let net = MemNetwork::new(65_536);
                for id in 1..=n {
                    nodes.push(node(id).spawn(net.join(id), state(id))?);
                }
                Links::Memory(net)
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
                    let control = endpoint.control();
                    let handle = node(id).spawn(endpoint, state(id))?;
                    crate::membership::follow(&handle, control);
                    nodes.push(handle);
                }
                Links::Quic {
                    ca: Box::new(ca),
                    addrs,
                }
            }
        };
        Ok(LocalCluster {
            nodes,
            storage,
            transport,
            data,
            states,
            snapshot,
            writes,
            links,
        })
    }

    /// What node `id`'s state machine holds now.
    pub fn state(&self, id: NodeId) -> Option<Checksum> {
        let i = (id as usize).checked_sub(1)?;
        self.states.get(i).map(ChecksumMachine::current)
    }

    fn index_of(&self, id: NodeId) -> Result<usize, ClusterError> {
        (id as usize)
            .checked_sub(1)
            .filter(|i| *i < self.nodes.len())
            .ok_or(ClusterError::NoSuchNode(id))
    }

    /// Stops node `id` (its log stays on disk) and waits for its loop to end.
    pub async fn stop_node(&self, id: NodeId) -> Result<(), ClusterError> {
        let i = self.index_of(id)?;
        self.nodes[i].shutdown().await?;
        Ok(())
    }

    /// Starts a stopped node again on the log it left (RocksDB only), with
    /// an empty state machine: the runtime restores its stored snapshot,
    /// if any, then applies the rest. Over QUIC it binds its old address
    /// again, waiting up to 5 s for the old socket to be released.
    pub async fn restart_node(&mut self, id: NodeId) -> Result<&NodeHandle, ClusterError> {
        let i = self.index_of(id)?;
        if self.storage != StorageKind::Rocks {
            return Err(ClusterError::CannotRestart(id));
        }
        let voters: Vec<NodeId> = (1..=self.nodes.len() as NodeId).collect();
        let state = ChecksumMachine::new();
        let node = Start {
            id,
            voters: &voters,
            storage: self.storage,
            data: self.data.as_ref(),
            snapshot: &self.snapshot,
            writes: self.writes,
            restart: true,
        };
        let handle = match &self.links {
            Links::Memory(net) => node.spawn(net.join(id), state.clone())?,
            Links::Quic { ca, addrs } => {
                let endpoint = rebind(id, ca, addrs).await?;
                let control = endpoint.control();
                let handle = node.spawn(endpoint, state.clone())?;
                crate::membership::follow(&handle, control);
                handle
            }
        };
        self.nodes[i] = handle;
        self.states[i] = state;
        Ok(&self.nodes[i])
    }

    /// Starts node `nodes.len() + 1` with an empty log and no membership,
    /// knowing the other nodes' addresses: it waits for the leader to add
    /// it (see [`NodeHandle::add_learner`]) and catches up by snapshot.
    /// Returns its id and the address to add it with.
    pub async fn add_node(&mut self) -> Result<(NodeId, String), ClusterError> {
        let id = self.nodes.len() as NodeId + 1;
        let state = ChecksumMachine::new();
        let node = Start {
            id,
            voters: &[],
            storage: self.storage,
            data: self.data.as_ref(),
            snapshot: &self.snapshot,
            writes: self.writes,
            restart: false,
        };
        let (handle, address) = match &mut self.links {
            Links::Memory(net) => (
                node.spawn(net.join(id), state.clone())?,
                format!("mem:{id}"),
            ),
            Links::Quic { ca, addrs } => {
                let any = SocketAddr::from(([127, 0, 0, 1], 0));
                let config = raft_transport_quic::Config::new(id, any, ca.node_cert(id)?);
                let endpoint = QuicTransport::bind(config)?;
                for (i, addr) in addrs.iter().enumerate() {
                    endpoint.set_peer(i as NodeId + 1, *addr);
                }
                let address = endpoint.local_addr();
                addrs.push(address);
                let control = endpoint.control();
                let handle = node.spawn(endpoint, state.clone())?;
                crate::membership::follow(&handle, control);
                (handle, address.to_string())
            }
        };
        self.nodes.push(handle);
        self.states.push(state);
        Ok((id, address))
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

/// Binds node `id`'s QUIC endpoint at its old address, retrying while the
/// stopped endpoint still holds the socket.
async fn rebind(
    id: NodeId,
    ca: &DevCa,
    addrs: &[SocketAddr],
) -> Result<QuicTransport, ClusterError> {
    let addr = *(id as usize)
        .checked_sub(1)
        .and_then(|i| addrs.get(i))
        .ok_or(ClusterError::NoSuchNode(id))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let endpoint = loop {
        let config = raft_transport_quic::Config::new(id, addr, ca.node_cert(id)?);
        match QuicTransport::bind(config) {
            Ok(endpoint) => break endpoint,
            Err(source @ raft_transport_quic::TransportError::Bind { .. }) => {
                if Instant::now() > deadline {
                    return Err(ClusterError::Rebind { id, addr, source });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    for (i, peer_addr) in addrs.iter().enumerate() {
        let peer = i as NodeId + 1;
        if peer != id {
            endpoint.set_peer(peer, *peer_addr);
        }
    }
    Ok(endpoint)
}

/// How to start one node.
struct Start<'a> {
    id: NodeId,
    voters: &'a [NodeId],
    storage: StorageKind,
    data: Option<&'a DataDir>,
    snapshot: &'a SnapshotPolicy,
    writes: StorageWrites,
    /// Open the node's existing log rather than create a fresh one.
    restart: bool,
}

impl Start<'_> {
    fn spawn<T>(&self, transport: T, sm: ChecksumMachine) -> Result<NodeHandle, ClusterError>
    where
        T: raft_core::Transport + Send + 'static,
    {
        let mut config = node_config(self.id);
        config.snapshot = self.snapshot.clone();
        config.storage_writes = self.writes;
        let handle = match (self.storage, self.data) {
            (StorageKind::Rocks, Some(data)) => {
                let dir = node_dir(data.path(), self.id);
                let store = if self.restart {
                    RocksStorage::open(&dir)?
                } else {
                    // A fresh log per run: `create` refuses a directory that
                    // already holds one, so a stale --data-dir is reported,
                    // not reused.
                    let conf = ConfState::with_voters(self.voters.iter().copied());
                    RocksStorage::create(&dir, conf, EntryId::default())?
                };
                spawn(config, store, transport, sm)?
            }
            _ => spawn(
                config,
                MemStorage::with_voters(self.voters.iter().copied()),
                transport,
                sm,
            )?,
        };
        Ok(handle)
    }
}
