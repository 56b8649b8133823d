//! One node of the service on a host of its own (the multi-host mode), as
//! `raft-kv node` and `raft-cluster node --kv-http` both start it: the
//! node's QUIC endpoint and RocksDB log from [`raft_host::NodeArgs`] (the
//! log reopened, snapshot and all, when `--data` already holds one), a
//! [`KvServer`] on them, and the link fault hook wrapped around the QUIC
//! transport for tests that partition processes.

use crate::http::ServiceConfig;
use crate::server::KvServer;
use raft_core::{FaultyTransport, LinkFaults, NodeId};
use raft_host::{NodeArgs, SetupError};
use raft_node::{NodeError, NodeHandle};
use raft_transport_quic::PeerControl;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use thiserror::Error;

/// What a hosted node needs beyond its [`NodeArgs`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HostOptions {
    /// Where this node serves the HTTP API (port 0: any free one).
    pub http: SocketAddr,
    /// Every other node's HTTP API, so followers can redirect clients to
    /// the leader and transfers can name it.
    pub peer_http: Vec<(NodeId, SocketAddr)>,
    /// The Raft tick; elections take about ten.
    pub tick: Duration,
    /// Serve `GET`/`POST /admin/faults`, which drops Raft messages to and
    /// from the listed peers. For fault-injection tests only: anyone who
    /// can reach the HTTP port can then partition this node.
    pub fault_injection: bool,
    /// Join a running cluster: a new log starts with no members (the peers
    /// are only where to find them) and the node waits to be added.
    pub join: bool,
}

impl HostOptions {
    /// Serve on `http`, with a 100 ms tick, no peers' HTTP addresses, no
    /// fault injection, as a member of the initial configuration.
    pub fn new(http: SocketAddr) -> HostOptions {
        HostOptions {
            http,
            peer_http: Vec::new(),
            tick: Duration::from_millis(100),
            fault_injection: false,
            join: false,
        }
    }
}

/// Why a hosted node could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HostError {
    /// Its QUIC endpoint or its log could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The HTTP address could not be bound.
    #[error("cannot serve HTTP on {addr}: {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The node could not start.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A running hosted node: the [`KvServer`], and a handle on its QUIC
/// peers for callers that follow membership changes or list members.
pub struct HostedKv {
    server: KvServer,
    control: PeerControl,
    quic_addr: SocketAddr,
    http_addr: SocketAddr,
}

impl HostedKv {
    /// Binds QUIC and HTTP, opens or creates the log, and starts the node
    /// and its service.
    pub async fn start(node: &NodeArgs, options: HostOptions) -> Result<HostedKv, HostError> {
        let quic = node.bind_quic()?;
        let (control, quic_addr) = (quic.control(), quic.local_addr());
        let voters = if options.join {
            Vec::new()
        } else {
            node.voters()
        };
        let log = raft_host::open_or_create(&node.data, &voters)?;
        let listener = tokio::net::TcpListener::bind(options.http)
            .await
            .map_err(|source| HostError::Http {
                addr: options.http,
                source,
            })?;
        let http_addr = listener.local_addr().map_err(|source| HostError::Http {
            addr: options.http,
            source,
        })?;
        let faults = LinkFaults::new();
        let mut service = ServiceConfig::default();
        if options.fault_injection {
            service.link_faults = Some(faults.clone());
        }
        let mut peers: HashMap<NodeId, SocketAddr> = options.peer_http.into_iter().collect();
        peers.insert(node.id, http_addr);
        let mut config = raft_host::node_config(node.id);
        // A zero tick would spin the node's loop.
        config.tick_interval = options.tick.max(Duration::from_millis(1));
        let server = KvServer::start(
            config,
            log,
            FaultyTransport::new(quic, faults),
            listener,
            peers,
            service,
        )?;
        Ok(HostedKv {
            server,
            control,
            quic_addr,
            http_addr,
        })
    }

    /// The node and its service.
    pub fn server(&self) -> &KvServer {
        &self.server
    }

    /// The Raft node.
    pub fn node(&self) -> &NodeHandle {
        self.server.node()
    }

    /// The QUIC transport's peers, which stay changeable while the node
    /// owns the transport.
    pub fn peer_control(&self) -> &PeerControl {
        &self.control
    }

    /// Where QUIC listens.
    pub fn quic_addr(&self) -> SocketAddr {
        self.quic_addr
    }

    /// Where the HTTP API listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Stops the service and the node (the log stays).
    pub async fn stop(self) -> Result<(), NodeError> {
        self.server.stop().await
    }
}
