//! A group of nodes in one process: each with its own log (in memory or a
//! RocksDB directory) and its own endpoint (in-process or QUIC on
//! 127.0.0.1 with development certificates).

use crate::state::{Checksum, ChecksumMachine};
use raft_core::{NodeId, Role};
use raft_host::local::{node_log, LocalData, LocalEndpoint, LocalLinks};
use raft_host::SetupError;
use raft_node::{spawn, NodeHandle, SnapshotPolicy, StorageWrites};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use thiserror::Error;

pub use raft_host::{StorageKind, TransportKind};

/// Why a local cluster could not start or stop.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A log, a data directory, certificates or an endpoint could not be
    /// set up (a restarted node's address staying taken among them).
    #[error(transparent)]
    Setup(#[from] SetupError),
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
}

/// The running group.
pub struct LocalCluster {
    /// The nodes, node 1 first.
    pub nodes: Vec<NodeHandle>,
    /// Where their logs live.
    pub storage: StorageKind,
    /// How their messages travel.
    pub transport: TransportKind,
    data: Option<LocalData>,
    /// Each node's state machine (shared with it), node 1 first.
    states: Vec<ChecksumMachine>,
    snapshot: SnapshotPolicy,
    writes: StorageWrites,
    links: LocalLinks,
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
        let data = LocalData::new(storage, data_dir, "raft-cluster-")?;
        let voters: Vec<NodeId> = (1..=n).collect();
        let states: Vec<ChecksumMachine> = (1..=n).map(|_| ChecksumMachine::new()).collect();
        let (links, endpoints) = LocalLinks::start(transport, n)?;
        let mut nodes = Vec::new();
        for ((id, endpoint), state) in (1..=n).zip(endpoints).zip(&states) {
            let node = Start {
                id,
                voters: &voters,
                data: data.as_ref(),
                snapshot: &snapshot,
                writes,
                restart: false,
            };
            nodes.push(node.spawn(endpoint, state.clone())?);
        }
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
            data: self.data.as_ref(),
            snapshot: &self.snapshot,
            writes: self.writes,
            restart: true,
        };
        let handle = node.spawn(self.links.rejoin(id).await?, state.clone())?;
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
            data: self.data.as_ref(),
            snapshot: &self.snapshot,
            writes: self.writes,
            restart: false,
        };
        let endpoint = self.links.join_next(id)?;
        let address = endpoint.address.clone();
        let handle = node.spawn(endpoint, state.clone())?;
        self.nodes.push(handle);
        self.states.push(state);
        Ok((id, address))
    }

    /// The directory holding node `id`'s log (RocksDB only).
    pub fn log_dir(&self, id: NodeId) -> Option<PathBuf> {
        self.data.as_ref().map(|d| d.node_dir(id))
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

/// How to start one node.
struct Start<'a> {
    id: NodeId,
    voters: &'a [NodeId],
    data: Option<&'a LocalData>,
    snapshot: &'a SnapshotPolicy,
    writes: StorageWrites,
    /// Open the node's existing log rather than create a fresh one.
    restart: bool,
}

impl Start<'_> {
    /// Spawns the node on `endpoint`; over QUIC its peers then follow the
    /// group's membership.
    fn spawn(
        &self,
        endpoint: LocalEndpoint,
        sm: ChecksumMachine,
    ) -> Result<NodeHandle, ClusterError> {
        let mut config = node_config(self.id);
        config.snapshot = self.snapshot.clone();
        config.storage_writes = self.writes;
        let log = node_log(self.data, self.id, self.voters, self.restart)?;
        let handle = spawn(config, log, endpoint.transport, sm)?;
        if let Some(control) = endpoint.control {
            crate::membership::follow(&handle, control);
        }
        Ok(handle)
    }
}
