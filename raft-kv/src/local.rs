//! A local cluster serving the HTTP API: every node in this process, each
//! with its own RocksDB log (or an in-memory one), its Raft messages over
//! QUIC on 127.0.0.1 (or in-process channels), and its HTTP service on
//! 127.0.0.1. Nodes can be stopped and restarted on their logs, and links
//! cut through each node's [`LinkFaults`] (over either transport), which is
//! how the tests inject leader failures and partitions.

use crate::http::ServiceConfig;
use crate::machine::KvMachine;
use crate::server::KvServer;
use raft_core::{FaultyTransport, LinkFaults, NodeId, Role};
use raft_host::local::{node_log, AnyTransport, LocalData, LocalLinks};
use raft_host::{node_config, SetupError};
pub use raft_host::{StorageKind, TransportKind};
use raft_node::NodeHandle;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use thiserror::Error;

/// How to start a [`LocalKv`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LocalOptions {
    /// How many voters.
    pub nodes: u64,
    /// Where the logs live; only RocksDB logs survive a stop.
    pub storage: StorageKind,
    /// How Raft messages travel.
    pub transport: TransportKind,
    /// Where RocksDB logs go (`node-<id>` each); a temporary directory,
    /// removed at the end, when `None`.
    pub data_dir: Option<PathBuf>,
    /// Node `i` serves HTTP on `127.0.0.1:(http_port + i - 1)`; `0` picks
    /// free ports.
    pub http_port: u16,
    /// The services' limits and switches.
    pub service: ServiceConfig,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            nodes: 3,
            storage: StorageKind::Rocks,
            transport: TransportKind::Quic,
            data_dir: None,
            http_port: 0,
            service: ServiceConfig::default(),
        }
    }
}

/// Why the local cluster could not start, stop or restart a node.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LocalError {
    /// A directory or socket could not be prepared.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A log, the data directory, certificates or a QUIC endpoint could
    /// not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A node could not start, or stopped on an error.
    #[error(transparent)]
    Node(#[from] raft_node::NodeError),
    /// There is no node with this id.
    #[error("no node {0} in this cluster")]
    NoSuchNode(NodeId),
    /// In-memory logs do not survive a stop.
    #[error("node {0} keeps its log in memory and cannot restart")]
    CannotRestart(NodeId),
    /// No leader within the time given.
    #[error("no leader was elected within {0:?}")]
    NoLeader(Duration),
}

/// The running cluster. Dropping it without [`LocalKv::shutdown`] leaves
/// the tasks to end with the runtime.
pub struct LocalKv {
    options: LocalOptions,
    running: Vec<Option<KvServer>>,
    http: HashMap<NodeId, SocketAddr>,
    links: LocalLinks,
    /// Each node's fault hook, kept across restarts.
    faults: Vec<LinkFaults>,
    data: Option<LocalData>,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LocalError {
    let what = what.into();
    move |source| LocalError::Io { what, source }
}

impl LocalKv {
    /// Starts the nodes and their services.
    pub async fn start(options: LocalOptions) -> Result<LocalKv, LocalError> {
        let data = LocalData::new(options.storage, options.data_dir.clone(), "raft-kv-")?;
        let ids: Vec<NodeId> = (1..=options.nodes).collect();
        let mut listeners = Vec::new();
        let mut http = HashMap::new();
        for &id in &ids {
            let port = match options.http_port {
                0 => 0,
                base => base.saturating_add((id - 1) as u16),
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(io(format!("binding node {id}'s HTTP port {addr}")))?;
            let local = listener
                .local_addr()
                .map_err(io("reading the HTTP address"))?;
            http.insert(id, local);
            listeners.push(listener);
        }
        let (links, endpoints) = LocalLinks::start(options.transport, options.nodes)?;
        let mut transports: Vec<AnyTransport> =
            endpoints.into_iter().map(|e| e.transport).collect();
        let mut cluster = LocalKv {
            options,
            running: Vec::new(),
            http,
            links,
            faults: ids.iter().map(|_| LinkFaults::new()).collect(),
            data,
        };
        for (listener, &id) in listeners.into_iter().zip(&ids).rev() {
            let transport = transports.pop().ok_or(LocalError::NoSuchNode(id))?;
            let running = cluster.start_node(id, listener, transport, false)?;
            cluster.running.insert(0, Some(running));
        }
        Ok(cluster)
    }

    fn start_node(
        &self,
        id: NodeId,
        listener: tokio::net::TcpListener,
        transport: AnyTransport,
        restart: bool,
    ) -> Result<KvServer, LocalError> {
        let voters: Vec<NodeId> = (1..=self.options.nodes).collect();
        let storage = node_log(self.data.as_ref(), id, &voters, restart)?;
        // Not `slot`: during `start` the nodes are not all in `running` yet.
        let faults = (id as usize)
            .checked_sub(1)
            .and_then(|i| self.faults.get(i))
            .cloned()
            .ok_or(LocalError::NoSuchNode(id))?;
        Ok(KvServer::start(
            node_config(id),
            storage,
            FaultyTransport::new(transport, faults),
            listener,
            self.http.clone(),
            self.options.service.clone(),
        )?)
    }

    fn slot(&self, id: NodeId) -> Result<usize, LocalError> {
        (id as usize)
            .checked_sub(1)
            .filter(|i| *i < self.running.len())
            .ok_or(LocalError::NoSuchNode(id))
    }

    /// Node `id`'s HTTP address.
    pub fn http_addr(&self, id: NodeId) -> Option<SocketAddr> {
        self.http.get(&id).copied()
    }

    /// Every node's HTTP address, node 1 first.
    pub fn http_addrs(&self) -> Vec<SocketAddr> {
        (1..=self.options.nodes)
            .filter_map(|id| self.http_addr(id))
            .collect()
    }

    /// Node `id`'s Raft node, if it runs.
    pub fn node(&self, id: NodeId) -> Option<&NodeHandle> {
        self.slot(id)
            .ok()
            .and_then(|i| self.running[i].as_ref())
            .map(KvServer::node)
    }

    /// Node `id`'s store, if it runs.
    pub fn machine(&self, id: NodeId) -> Option<&KvMachine> {
        self.slot(id)
            .ok()
            .and_then(|i| self.running[i].as_ref())
            .map(KvServer::machine)
    }

    /// The running node that thinks it leads, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.running
            .iter()
            .flatten()
            .find(|r| r.node().metrics().role == Role::Leader)
            .map(|r| r.node().id())
    }

    /// Waits until some running node leads.
    pub async fn wait_for_leader(&self, limit: Duration) -> Result<NodeId, LocalError> {
        let start = Instant::now();
        loop {
            if let Some(id) = self.leader() {
                return Ok(id);
            }
            if start.elapsed() > limit {
                return Err(LocalError::NoLeader(limit));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops node `id`'s service and Raft node (its log stays).
    pub async fn stop_node(&mut self, id: NodeId) -> Result<(), LocalError> {
        let i = self.slot(id)?;
        if let Some(server) = self.running[i].take() {
            server.stop().await?;
        }
        Ok(())
    }

    /// Starts a stopped node again on its log, with its old addresses.
    pub async fn restart_node(&mut self, id: NodeId) -> Result<(), LocalError> {
        let i = self.slot(id)?;
        if self.running[i].is_some() {
            return Ok(());
        }
        if self.data.is_none() {
            return Err(LocalError::CannotRestart(id));
        }
        let addr = self.http_addr(id).ok_or(LocalError::NoSuchNode(id))?;
        let listener = retry(|| async {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(io(format!("binding {addr} again")))
        })
        .await?;
        let transport = self.links.rejoin(id).await?.transport;
        let running = self.start_node(id, listener, transport, true)?;
        self.running[i] = Some(running);
        Ok(())
    }

    /// Drops every Raft message between `a` and `b`, both ways, until
    /// [`LocalKv::heal`].
    pub fn cut(&self, a: NodeId, b: NodeId) -> Result<(), LocalError> {
        let (fa, fb) = (self.slot(a)?, self.slot(b)?);
        self.faults[fa].block(b);
        self.faults[fb].block(a);
        Ok(())
    }

    /// Restores every cut link.
    pub fn heal(&self) -> Result<(), LocalError> {
        self.faults.iter().for_each(LinkFaults::heal);
        Ok(())
    }

    /// Node `id`'s fault hook (it survives the node's restarts).
    pub fn link_faults(&self, id: NodeId) -> Option<&LinkFaults> {
        self.slot(id).ok().map(|i| &self.faults[i])
    }

    /// Stops every node.
    pub async fn shutdown(&mut self) -> Result<(), LocalError> {
        for id in 1..=self.options.nodes {
            self.stop_node(id).await?;
        }
        Ok(())
    }
}

/// Retries `f` for up to 5 s while a stopped node's socket is released.
async fn retry<T, F, Fut>(mut f: F) -> Result<T, LocalError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, LocalError>>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
