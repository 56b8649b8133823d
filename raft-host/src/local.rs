//! The parts of a group run inside one process that do not depend on what
//! the nodes serve: where their logs live ([`LocalData`]: a temporary
//! directory or one the user chose, `node-<id>` per node) and how their
//! messages travel ([`LocalLinks`]: in-process channels, or QUIC endpoints
//! on 127.0.0.1 with development certificates that know each other's
//! addresses). `raft-cluster`'s `LocalCluster` and `raft-kv`'s `LocalKv`
//! both start, restart and add nodes through them.

use crate::config::{StorageKind, TransportKind};
use crate::multihost::SetupError;
use raft_core::{ConfState, EntryId, LogStorage, MemNetwork, MemStorage, NodeId, Transport};
use raft_storage_rocks::RocksStorage;
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{PeerControl, QuicTransport, TransportError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A node's log, whichever kind it is.
pub type AnyStorage = Box<dyn LogStorage + Send>;
/// A node's endpoint, whichever kind it is.
pub type AnyTransport = Box<dyn Transport + Send>;

/// How long a restarted node waits for its stopped endpoint's socket.
const REBIND_FOR: Duration = Duration::from_secs(5);

/// Where the RocksDB logs of a local group live.
#[derive(Debug)]
pub enum LocalData {
    /// A temporary directory, removed when this is dropped.
    Temp(tempfile::TempDir),
    /// A directory the user chose, kept.
    Kept(PathBuf),
}

impl LocalData {
    /// The data directory for `storage`: none for in-memory logs, `dir` if
    /// given, otherwise a fresh temporary directory named `prefix…`.
    pub fn new(
        storage: StorageKind,
        dir: Option<PathBuf>,
        prefix: &str,
    ) -> Result<Option<LocalData>, SetupError> {
        match (storage, dir) {
            (StorageKind::Memory, _) => Ok(None),
            (StorageKind::Rocks, Some(path)) => Ok(Some(LocalData::Kept(path))),
            (StorageKind::Rocks, None) => tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .map(|temp| Some(LocalData::Temp(temp)))
                .map_err(|source| SetupError::Io {
                    path: std::env::temp_dir(),
                    source,
                }),
        }
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        match self {
            LocalData::Temp(t) => t.path(),
            LocalData::Kept(p) => p,
        }
    }

    /// Node `id`'s log directory.
    pub fn node_dir(&self, id: NodeId) -> PathBuf {
        self.path().join(format!("node-{id}"))
    }
}

/// Node `id`'s log: in memory when `data` is `None`, otherwise RocksDB in
/// its directory, reopened when `restart`, else created for a group of
/// `voters` (`create` refuses a directory that already holds a log, so a
/// stale data directory is reported, not reused).
pub fn node_log(
    data: Option<&LocalData>,
    id: NodeId,
    voters: &[NodeId],
    restart: bool,
) -> Result<AnyStorage, SetupError> {
    let voters = voters.iter().copied();
    Ok(match data {
        None => Box::new(MemStorage::with_voters(voters)),
        Some(data) if restart => Box::new(RocksStorage::open(data.node_dir(id))?),
        Some(data) => Box::new(RocksStorage::create(
            data.node_dir(id),
            ConfState::with_voters(voters),
            EntryId::default(),
        )?),
    })
}

/// One node's endpoint and, over QUIC, the handle that changes its peers
/// (to follow membership changes).
pub struct LocalEndpoint {
    /// The endpoint.
    pub transport: AnyTransport,
    /// Adds and removes QUIC peers; `None` in process.
    pub control: Option<PeerControl>,
    /// The address another node reaches it at: `mem:<id>` in process, the
    /// socket address over QUIC.
    pub address: String,
}

/// How the nodes of a local group reach each other, kept so that nodes can
/// be restarted and added.
pub enum LocalLinks {
    /// In-process channels.
    Memory(MemNetwork),
    /// QUIC on 127.0.0.1: the development CA and every node's address,
    /// node 1 first.
    Quic {
        /// Issues each node's certificate.
        ca: Box<DevCa>,
        /// Where node `i + 1` listens.
        addrs: Vec<SocketAddr>,
    },
}

impl LocalLinks {
    /// Endpoints for nodes `1..=n`, each knowing the others.
    pub fn start(
        kind: TransportKind,
        n: u64,
    ) -> Result<(LocalLinks, Vec<LocalEndpoint>), SetupError> {
        match kind {
            TransportKind::InProcess => {
                let net = MemNetwork::new(65_536);
                let endpoints = (1..=n).map(|id| memory_endpoint(&net, id)).collect();
                Ok((LocalLinks::Memory(net), endpoints))
            }
            TransportKind::Quic => {
                let ca = DevCa::new()?;
                let mut quic = Vec::new();
                for id in 1..=n {
                    quic.push(bind(&ca, id, loopback_any())?);
                }
                let addrs: Vec<SocketAddr> = quic.iter().map(QuicTransport::local_addr).collect();
                let endpoints = quic
                    .into_iter()
                    .map(|endpoint| quic_endpoint(endpoint, &addrs))
                    .collect();
                let ca = Box::new(ca);
                Ok((LocalLinks::Quic { ca, addrs }, endpoints))
            }
        }
    }

    /// A new endpoint for node `id`, which stopped, at its old address;
    /// over QUIC this retries for up to 5 s while the old socket is
    /// released.
    pub async fn rejoin(&self, id: NodeId) -> Result<LocalEndpoint, SetupError> {
        match self {
            LocalLinks::Memory(net) => Ok(memory_endpoint(net, id)),
            LocalLinks::Quic { ca, addrs } => {
                let addr = *(id as usize)
                    .checked_sub(1)
                    .and_then(|i| addrs.get(i))
                    .ok_or(SetupError::UnknownNode(id))?;
                let deadline = Instant::now() + REBIND_FOR;
                loop {
                    match bind(ca, id, addr) {
                        Ok(endpoint) => return Ok(quic_endpoint(endpoint, addrs)),
                        Err(SetupError::Transport(TransportError::Bind { .. }))
                            if Instant::now() < deadline =>
                        {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// An endpoint for a node joining the group with the next id
    /// (`id`, which must be one past the last), knowing every other node.
    pub fn join_next(&mut self, id: NodeId) -> Result<LocalEndpoint, SetupError> {
        match self {
            LocalLinks::Memory(net) => Ok(memory_endpoint(net, id)),
            LocalLinks::Quic { ca, addrs } => {
                let endpoint = bind(ca, id, loopback_any())?;
                addrs.push(endpoint.local_addr());
                Ok(quic_endpoint(endpoint, addrs))
            }
        }
    }
}

fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn bind(ca: &DevCa, id: NodeId, addr: SocketAddr) -> Result<QuicTransport, SetupError> {
    let config = raft_transport_quic::Config::new(id, addr, ca.node_cert(id)?);
    Ok(QuicTransport::bind(config)?)
}

fn memory_endpoint(net: &MemNetwork, id: NodeId) -> LocalEndpoint {
    LocalEndpoint {
        transport: Box::new(net.join(id)),
        control: None,
        address: format!("mem:{id}"),
    }
}

/// `endpoint`, told where every other node (node `i + 1` at `addrs[i]`)
/// listens.
fn quic_endpoint(endpoint: QuicTransport, addrs: &[SocketAddr]) -> LocalEndpoint {
    for (i, addr) in addrs.iter().enumerate() {
        let peer = i as NodeId + 1;
        if peer != endpoint.id() {
            endpoint.set_peer(peer, *addr);
        }
    }
    LocalEndpoint {
        address: endpoint.local_addr().to_string(),
        control: Some(endpoint.control()),
        transport: Box::new(endpoint),
    }
}
