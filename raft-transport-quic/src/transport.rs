//! The node-facing half: [`QuicTransport`] implements raft-core's
//! [`Transport`] by handing messages to per-peer tasks and collecting what
//! the connection readers deliver.

use crate::config::{Config, ConfigError};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::peer::{self, Link};
use crate::tls::TlsError;
use crate::{inbound, CloseCode};
use raft_core::{Message, NodeId, SnapshotStatus, Transport, TransportEvent};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::mpsc;

/// Why a transport could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS material is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// `bind` was called outside a tokio runtime.
    #[error("QuicTransport::bind must run inside a tokio runtime")]
    NoRuntime,
    /// The UDP socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Snapshot streams a peer may have open on one connection at once.
const MAX_SNAPSHOT_STREAMS: u32 = 2;

/// Settings the tasks read, copied out of [`Config`].
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub queue_size: usize,
    pub max_frame_size: u32,
    pub max_snapshot_size: u64,
    pub snapshot_timeout: Duration,
    pub backoff: crate::config::Backoff,
    pub connect_timeout: Duration,
}

/// A peer's outbound task, as seen from outside it.
struct LinkHandle {
    queue: mpsc::Sender<Message>,
    conns: mpsc::UnboundedSender<Link>,
}

/// Reports not yet taken by the node: peers reported unreachable, in
/// order, each at most once; snapshot outcomes, one per `MsgSnap`.
#[derive(Default)]
struct Pending {
    peers: VecDeque<NodeId>,
    snapshots: VecDeque<(NodeId, SnapshotStatus)>,
    waker: Option<Waker>,
}

impl Pending {
    fn pop(&mut self) -> Option<TransportEvent> {
        if let Some(peer) = self.peers.pop_front() {
            return Some(TransportEvent::Unreachable(peer));
        }
        self.snapshots
            .pop_front()
            .map(|(peer, status)| TransportEvent::SnapshotReport(peer, status))
    }
}

/// State shared by the transport and its tasks.
pub(crate) struct Shared {
    pub id: NodeId,
    endpoint: Mutex<Option<quinn::Endpoint>>,
    pub client_config: quinn::ClientConfig,
    pub settings: Settings,
    pub metrics: Metrics,
    pub inbox: mpsc::Sender<Message>,
    runtime: tokio::runtime::Handle,
    peers: RwLock<HashMap<NodeId, SocketAddr>>,
    links: Mutex<HashMap<NodeId, LinkHandle>>,
    pending: Mutex<Pending>,
    closed: AtomicBool,
}

/// Locks a mutex whose data stays consistent even if a holder panicked
/// (plain maps and queues), so poisoning is ignored rather than propagated.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn endpoint(&self) -> Option<quinn::Endpoint> {
        lock(&self.endpoint).clone()
    }

    pub fn peer_addr(&self, id: NodeId) -> Option<SocketAddr> {
        self.peers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub fn report_unreachable(&self, peer: NodeId) {
        let mut pending = lock(&self.pending);
        if !pending.peers.contains(&peer) {
            pending.peers.push_back(peer);
        }
        if let Some(w) = pending.waker.take() {
            w.wake();
        }
    }

    /// Records how sending one `MsgSnap` to `peer` ended; never merged with
    /// other reports, so the node hears exactly once per snapshot.
    pub fn report_snapshot(&self, peer: NodeId, status: SnapshotStatus) {
        let mut pending = lock(&self.pending);
        pending.snapshots.push_back((peer, status));
        if let Some(w) = pending.waker.take() {
            w.wake();
        }
    }

    /// Hands a new connection with `peer` to its outbound task, starting
    /// the task if needed.
    pub fn adopt(self: &Arc<Self>, peer: NodeId, link: Link) {
        let mut links = lock(&self.links);
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let handle = self.link(&mut links, peer);
        if handle.conns.send(link).is_err() {
            tracing::debug!(peer, "outbound task gone; connection not adopted");
        }
    }

    fn link<'a>(
        self: &Arc<Self>,
        links: &'a mut HashMap<NodeId, LinkHandle>,
        peer: NodeId,
    ) -> &'a LinkHandle {
        links.entry(peer).or_insert_with(|| {
            let (queue, queue_rx) = mpsc::channel(self.settings.queue_size);
            let (conns, conns_rx) = mpsc::unbounded_channel();
            self.runtime
                .spawn(peer::run(self.clone(), peer, queue_rx, conns_rx));
            LinkHandle { queue, conns }
        })
    }

    pub fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(task);
    }
}

/// Asks for `size`-byte receive and send buffers on `socket` and logs what
/// the kernel granted (it caps the request silently).
fn size_socket_buffers(socket: &std::net::UdpSocket, size: usize) -> std::io::Result<()> {
    let state = quinn::udp::UdpSocketState::new(socket.into())?;
    state.set_recv_buffer_size(socket.into(), size)?;
    state.set_send_buffer_size(socket.into(), size)?;
    let (recv, send) = (
        state.recv_buffer_size(socket.into())?,
        state.send_buffer_size(socket.into())?,
    );
    if recv < size || send < size {
        tracing::info!(
            requested = size,
            recv,
            send,
            "UDP socket buffers capped by the kernel"
        );
    } else {
        tracing::debug!(recv, send, "UDP socket buffers sized");
    }
    Ok(())
}

/// raft-core's [`Transport`] over QUIC. See the crate docs.
pub struct QuicTransport {
    shared: Arc<Shared>,
    inbox: mpsc::Receiver<Message>,
    local_addr: SocketAddr,
}

impl QuicTransport {
    /// Validates `config`, binds the UDP socket and starts accepting peers.
    /// Must be called inside a tokio runtime, whose tasks then do all I/O.
    pub fn bind(config: Config) -> Result<QuicTransport, TransportError> {
        config.validate()?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| TransportError::NoRuntime)?;
        let mut transport = quinn::TransportConfig::default();
        transport
            .max_idle_timeout(quinn::IdleTimeout::try_from(config.idle_timeout).ok())
            .keep_alive_interval(Some(config.keep_alive))
            // One stream per direction; a spare lets a replacement open
            // before the old one is fully acknowledged.
            .max_concurrent_uni_streams(4u32.into())
            // Snapshot streams. Raft sends one snapshot at a time per
            // follower; the spare covers a new leader's snapshot overlapping
            // an old one. A further one waits for credit (then times out).
            .max_concurrent_bidi_streams(MAX_SNAPSHOT_STREAMS.into())
            // quinn's default window (1.25 MB, sized for 100 Mbit/s at
            // 100 ms) would cap a single stream, i.e. a snapshot, at
            // window/RTT; see `Config::stream_receive_window`.
            .stream_receive_window(config.stream_receive_window.into())
            .send_window(config.send_window)
            .datagram_receive_buffer_size(None)
            .enable_segmentation_offload(config.segmentation_offload);
        let mut mtu = quinn::MtuDiscoveryConfig::default();
        mtu.upper_bound(config.max_udp_payload);
        transport.mtu_discovery_config(Some(mtu));
        let transport = Arc::new(transport);
        let server_config = config.tls.quic_server_config(transport.clone())?;
        let client_config = config.tls.quic_client_config(transport)?;
        let bind_err = |source| TransportError::Bind {
            addr: config.listen,
            source,
        };
        let socket = std::net::UdpSocket::bind(config.listen).map_err(bind_err)?;
        if let Some(size) = config.socket_buffer_size {
            size_socket_buffers(&socket, size).map_err(bind_err)?;
        }
        let (reset_key, cid_key) = config.tls.endpoint_secrets();
        let mut endpoint_config = quinn::EndpointConfig::new(Arc::new(reset_key));
        // The payload size this node advertises also caps the peer's MTU
        // discovery, so it follows the same setting (quinn's default, 1,480,
        // would hold a larger bound down).
        endpoint_config
            .max_udp_payload_size(config.max_udp_payload)
            .map_err(|_| ConfigError::UdpPayload(config.max_udp_payload))?;
        endpoint_config.cid_generator(move || {
            Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key))
        });
        let endpoint = quinn::Endpoint::new(
            endpoint_config,
            Some(server_config),
            socket,
            Arc::new(quinn::TokioRuntime),
        )
        .map_err(bind_err)?;
        let local_addr = endpoint.local_addr().map_err(bind_err)?;
        let (inbox_tx, inbox) = mpsc::channel(config.inbox_size);
        let shared = Arc::new(Shared {
            id: config.id,
            endpoint: Mutex::new(Some(endpoint.clone())),
            client_config,
            settings: Settings {
                queue_size: config.queue_size,
                max_frame_size: config.max_frame_size,
                max_snapshot_size: config.max_snapshot_size,
                snapshot_timeout: config.snapshot_timeout,
                backoff: config.backoff,
                connect_timeout: config.connect_timeout,
            },
            metrics: Metrics::default(),
            inbox: inbox_tx,
            runtime,
            peers: RwLock::new(config.peers),
            links: Mutex::new(HashMap::new()),
            pending: Mutex::new(Pending::default()),
            closed: AtomicBool::new(false),
        });
        shared.spawn(inbound::accept_loop(shared.clone(), endpoint));
        tracing::info!(id = config.id, addr = %local_addr, "QUIC transport listening");
        Ok(QuicTransport {
            shared,
            inbox,
            local_addr,
        })
    }

    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.shared.id
    }

    /// Adds or moves a peer. Connections already open stay until they fail.
    pub fn set_peer(&self, id: NodeId, addr: SocketAddr) {
        self.control().set_peer(id, addr);
    }

    /// A handle that changes the peer set after the transport was handed
    /// to a node (which owns it from then on): what an application calls
    /// when the group's membership changes.
    pub fn control(&self) -> PeerControl {
        PeerControl {
            shared: self.shared.clone(),
        }
    }

    /// Removes a peer (a member removed from the group): its address is
    /// forgotten, its outbound task stops and closes every connection with
    /// it, and whatever it still sends on a connection is refused (counted
    /// in `refused_removed_peer`) and closes that connection; a new
    /// connection from it is refused as from any unknown peer. Messages
    /// for it are dropped from now on (`dropped_unknown_peer`). Returns
    /// whether it was a peer. [`QuicTransport::set_peer`] adds it back.
    pub fn remove_peer(&self, id: NodeId) -> bool {
        self.control().remove_peer(id)
    }

    /// The transport's counters now.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot()
    }

    /// The next event, waiting for one: for nodes driven from async code.
    pub async fn recv(&mut self) -> Option<TransportEvent> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Closes every connection and stops the tasks. Dropping the transport
    /// does the same without waiting.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        // Dropping the queue senders ends the outbound tasks.
        lock(&self.shared.links).clear();
        if let Some(endpoint) = lock(&self.shared.endpoint).take() {
            endpoint.close(CloseCode::Shutdown.into(), b"shutdown");
        }
        if let Some(w) = lock(&self.shared.pending).waker.take() {
            w.wake();
        }
    }

    /// [`QuicTransport::close`], then waits until peers have been told and
    /// the socket is released, so the address can be bound again.
    pub async fn shutdown(self) {
        let endpoint = self.shared.endpoint();
        self.close();
        if let Some(endpoint) = endpoint {
            endpoint.wait_idle().await;
        }
    }
}

/// Changes a [`QuicTransport`]'s peers while a node owns the transport;
/// cloneable, and cheap to keep (see [`QuicTransport::control`]).
#[derive(Clone)]
pub struct PeerControl {
    shared: Arc<Shared>,
}

impl PeerControl {
    /// Adds or moves a peer. Connections already open stay until they fail.
    pub fn set_peer(&self, id: NodeId, addr: SocketAddr) {
        if id != self.shared.id && id != raft_core::NO_NODE {
            self.shared
                .peers
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, addr);
        }
    }

    /// Removes a peer; see [`QuicTransport::remove_peer`].
    pub fn remove_peer(&self, id: NodeId) -> bool {
        let known = self
            .shared
            .peers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .is_some();
        // Dropping its queue and connection senders ends the outbound task,
        // which closes the connections once it sees the address gone.
        let had_link = lock(&self.shared.links).remove(&id).is_some();
        if known || had_link {
            tracing::info!(id = self.shared.id, peer = id, "peer removed");
        }
        known
    }

    /// The peers with an address now, and where.
    pub fn peers(&self) -> Vec<(NodeId, SocketAddr)> {
        let peers = self.shared.peers.read().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<_> = peers.iter().map(|(id, a)| (*id, *a)).collect();
        list.sort();
        list
    }
}

impl Drop for QuicTransport {
    fn drop(&mut self) {
        self.close();
    }
}

impl Transport for QuicTransport {
    fn send(&mut self, messages: Vec<Message>) {
        let shared = &self.shared;
        let mut links = lock(&shared.links);
        for m in messages {
            let to = m.to;
            let snapshot = crate::snapshot_send::is_snapshot(&m);
            if shared.closed.load(Ordering::Acquire) {
                Metrics::inc(&shared.metrics.dropped_connection);
                shared.report_unreachable(to);
                if snapshot {
                    crate::snapshot_send::fail(shared, to, "transport closed");
                }
                continue;
            }
            if shared.peer_addr(to).is_none() {
                tracing::debug!(to, msg_type = %m.msg_type, "no address for peer; message dropped");
                Metrics::inc(&shared.metrics.dropped_unknown_peer);
                shared.report_unreachable(to);
                if snapshot {
                    crate::snapshot_send::fail(shared, to, "no address for peer");
                }
                continue;
            }
            let handle = shared.link(&mut links, to);
            let dropped = match handle.queue.try_send(m) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(m)) => {
                    tracing::debug!(to, msg_type = %m.msg_type, "send queue full; message dropped");
                    Metrics::inc(&shared.metrics.dropped_queue_full);
                    Some("send queue full")
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    Metrics::inc(&shared.metrics.dropped_connection);
                    Some("peer task gone")
                }
            };
            if let Some(why) = dropped {
                shared.report_unreachable(to);
                if snapshot {
                    crate::snapshot_send::fail(shared, to, why);
                }
            }
        }
    }

    fn try_recv(&mut self) -> Option<TransportEvent> {
        if let Some(event) = lock(&self.shared.pending).pop() {
            return Some(event);
        }
        self.inbox.try_recv().ok().map(TransportEvent::Message)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<TransportEvent>> {
        {
            let mut pending = lock(&self.shared.pending);
            if let Some(event) = pending.pop() {
                return Poll::Ready(Some(event));
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return Poll::Ready(None);
            }
            pending.waker = Some(cx.waker().clone());
        }
        self.inbox
            .poll_recv(cx)
            .map(|m| m.map(TransportEvent::Message))
    }
}
