//! What a node needs to know to talk to its peers, checked up front.

use crate::tls::{TlsError, TlsMaterial};
use raft_core::{NodeId, NO_NODE};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use thiserror::Error;

/// The smallest frame limit accepted: enough for any message without
/// entries, so heartbeats and votes always fit.
pub const MIN_FRAME_SIZE: u32 = 1024;
/// The largest frame limit accepted; far above any sane batch, and it keeps
/// a single frame's buffer well inside memory.
pub const MAX_FRAME_SIZE: u32 = 1 << 30;

/// The largest snapshot limit accepted (64 GiB): a received snapshot is held
/// in memory whole, so a larger one is a deployment mistake.
pub const MAX_SNAPSHOT_SIZE: u64 = 64 << 30;

/// The largest queue or inbox accepted (messages). Queues are allocated
/// lazily, so this only keeps a typo from meaning "unbounded".
pub const MAX_QUEUE: usize = 1 << 24;

/// The longest backoff accepted: beyond it a peer that came back would
/// stay unused for longer than any Raft timeout could tolerate.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The smallest UDP payload QUIC allows (RFC 9000 requires every path to
/// carry 1,200 bytes), and so the smallest `max_udp_payload` accepted.
pub const MIN_UDP_PAYLOAD: u16 = 1200;
/// The largest UDP payload IPv4 can carry (65,535 minus the IP and UDP
/// headers); quinn clamps it further to what the socket reports.
pub const MAX_UDP_PAYLOAD: u16 = 65_507;

/// Reconnection delays after a failed attempt: doubling from `initial` up to
/// `max`, reset by a successful connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

/// The default `max_udp_payload`: quinn's own bound (1,452 bytes, what a
/// 1,500-byte Ethernet path carries under IPv6). Larger bounds measured no
/// faster on loopback (README, "QUIC on loopback"), and off loopback they
/// cost probes on paths that cannot carry them.
pub const DEFAULT_UDP_PAYLOAD: u16 = 1452;

/// The smallest flow-control window accepted (stream receive window, send
/// window): below it a connection could not keep one full-size packet
/// burst in flight.
pub const MIN_WINDOW: u64 = 64 << 10;
/// The largest flow-control window accepted: a window is memory a peer may
/// make this node buffer, so a larger one is a deployment mistake.
pub const MAX_WINDOW: u64 = 1 << 30;
/// The default per-stream receive window (8 MiB): a snapshot or a burst of
/// appends is not capped at window ÷ RTT on a fast link, and memory is only
/// used when a reader falls behind.
pub const DEFAULT_STREAM_WINDOW: u32 = 8 << 20;
/// The default send window: two full stream windows in flight.
pub const DEFAULT_SEND_WINDOW: u64 = 2 * DEFAULT_STREAM_WINDOW as u64;
/// The smallest UDP socket buffer that may be asked for.
pub const MIN_SOCKET_BUFFER: usize = 64 << 10;
/// The largest UDP socket buffer that may be asked for.
pub const MAX_SOCKET_BUFFER: usize = 1 << 30;

/// A node's transport configuration. Build with [`Config::new`], adjust the
/// public fields, and [`crate::QuicTransport::bind`] validates it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// This node's id; its certificate must name it.
    pub id: NodeId,
    /// UDP address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where each peer listens. Peers not listed can neither be sent to nor
    /// connect in.
    pub peers: HashMap<NodeId, SocketAddr>,
    /// The trusted CA and this node's certificate and key.
    pub tls: TlsMaterial,
    /// Messages waiting per peer; when full, `send` drops and reports the
    /// peer unreachable.
    pub queue_size: usize,
    /// Received messages waiting for the node; when full, readers stop
    /// reading and QUIC flow control pushes back on the senders.
    pub inbox_size: usize,
    /// Largest frame body sent or accepted, in bytes. Must be the same on
    /// every node: a larger frame closes the connection that carried it.
    pub max_frame_size: u32,
    /// Largest snapshot (`MsgSnap` data) sent or accepted, in bytes. A larger
    /// one is refused by the sender (reported as a failed snapshot) and by the
    /// receiver (that snapshot's stream is stopped; the connection stays).
    pub max_snapshot_size: u64,
    /// Longest a snapshot transfer may go without progress (a chunk written
    /// or read, the receiver's acknowledgement) before it fails. Bounds how
    /// long a stalled peer keeps a snapshot's memory and the leader waiting.
    pub snapshot_timeout: Duration,
    /// Delays between reconnection attempts to a peer.
    pub backoff: Backoff,
    /// How long a dial may take, handshake and certificate checks included.
    pub connect_timeout: Duration,
    /// A connection silent this long is dead.
    pub idle_timeout: Duration,
    /// Pings keep a quiet connection alive; must be below `idle_timeout`.
    pub keep_alive: Duration,
    /// Upper bound of path MTU discovery: the largest UDP payload a packet
    /// may grow to once the path has been probed to carry it. Connections
    /// start at 1,200 bytes and probe upwards; a bound above the path's MTU
    /// only costs some lost probes. Within
    /// [`MIN_UDP_PAYLOAD`]`..=`[`MAX_UDP_PAYLOAD`].
    pub max_udp_payload: u16,
    /// Send a burst of packets in one system call (UDP generic segmentation
    /// offload) where the kernel supports it; quinn falls back by itself
    /// where it does not.
    pub segmentation_offload: bool,
    /// Bytes a peer may send on one stream beyond what this node has read:
    /// what one stream (the message stream, a snapshot) can have in flight
    /// per round trip. Within [`MIN_WINDOW`]`..=`[`MAX_WINDOW`].
    pub stream_receive_window: u32,
    /// Bytes this node buffers for sending per connection, unacknowledged
    /// data included. Within [`MIN_WINDOW`]`..=`[`MAX_WINDOW`].
    pub send_window: u64,
    /// Size asked of the kernel for the UDP socket's receive and send
    /// buffers; `None` keeps the system default. A burst larger than the
    /// receive buffer is dropped by the kernel and costs a loss recovery;
    /// the kernel caps the value (`net.core.rmem_max`/`wmem_max` on Linux)
    /// and the size obtained is logged. Within
    /// [`MIN_SOCKET_BUFFER`]`..=`[`MAX_SOCKET_BUFFER`].
    pub socket_buffer_size: Option<usize>,
}

impl Config {
    /// A configuration with defaults: 4096-message queues, 16 MiB frames,
    /// 1 GiB snapshots with a 30 s stall timeout, 100 ms–5 s backoff, 3 s
    /// connect timeout, 10 s idle timeout.
    pub fn new(id: NodeId, listen: SocketAddr, tls: TlsMaterial) -> Config {
        Config {
            id,
            listen,
            peers: HashMap::new(),
            tls,
            queue_size: 4096,
            inbox_size: 4096,
            max_frame_size: 16 << 20,
            max_snapshot_size: 1 << 30,
            snapshot_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(1),
            max_udp_payload: DEFAULT_UDP_PAYLOAD,
            segmentation_offload: true,
            stream_receive_window: DEFAULT_STREAM_WINDOW,
            send_window: DEFAULT_SEND_WINDOW,
            socket_buffer_size: None,
        }
    }

    /// Adds or replaces a peer's address.
    pub fn with_peer(mut self, id: NodeId, addr: SocketAddr) -> Config {
        self.peers.insert(id, addr);
        self
    }

    /// Checks every field; [`crate::QuicTransport::bind`] calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id == NO_NODE {
            return Err(ConfigError::ZeroId);
        }
        for &peer in self.peers.keys() {
            if peer == NO_NODE {
                return Err(ConfigError::ZeroId);
            }
            if peer == self.id {
                return Err(ConfigError::SelfAsPeer(peer));
            }
        }
        if self.queue_size == 0 {
            return Err(ConfigError::Zero("queue_size"));
        }
        if self.inbox_size == 0 {
            return Err(ConfigError::Zero("inbox_size"));
        }
        for (name, value) in [
            ("queue_size", self.queue_size),
            ("inbox_size", self.inbox_size),
        ] {
            if value > MAX_QUEUE {
                return Err(ConfigError::TooLarge {
                    name,
                    max: MAX_QUEUE,
                });
            }
        }
        if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&self.max_frame_size) {
            return Err(ConfigError::FrameSize(self.max_frame_size));
        }
        if self.max_snapshot_size == 0 || self.max_snapshot_size > MAX_SNAPSHOT_SIZE {
            return Err(ConfigError::SnapshotSize(self.max_snapshot_size));
        }
        for (name, d) in [
            ("snapshot_timeout", self.snapshot_timeout),
            ("backoff.initial", self.backoff.initial),
            ("connect_timeout", self.connect_timeout),
            ("idle_timeout", self.idle_timeout),
            ("keep_alive", self.keep_alive),
        ] {
            if d.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.backoff.initial > self.backoff.max || self.backoff.max > MAX_BACKOFF {
            return Err(ConfigError::Backoff(self.backoff));
        }
        if self.keep_alive >= self.idle_timeout {
            return Err(ConfigError::KeepAlive {
                keep_alive: self.keep_alive,
                idle_timeout: self.idle_timeout,
            });
        }
        if !(MIN_UDP_PAYLOAD..=MAX_UDP_PAYLOAD).contains(&self.max_udp_payload) {
            return Err(ConfigError::UdpPayload(self.max_udp_payload));
        }
        for (name, value) in [
            (
                "stream_receive_window",
                u64::from(self.stream_receive_window),
            ),
            ("send_window", self.send_window),
        ] {
            if !(MIN_WINDOW..=MAX_WINDOW).contains(&value) {
                return Err(ConfigError::Window { name, value });
            }
        }
        if let Some(size) = self.socket_buffer_size {
            if !(MIN_SOCKET_BUFFER..=MAX_SOCKET_BUFFER).contains(&size) {
                return Err(ConfigError::SocketBuffer(size));
            }
        }
        if quinn::IdleTimeout::try_from(self.idle_timeout).is_err() {
            return Err(ConfigError::IdleTimeoutTooLong(self.idle_timeout));
        }
        let named = self.tls.node_id()?;
        if named != self.id {
            return Err(ConfigError::CertificateId {
                configured: self.id,
                certificate: named,
            });
        }
        Ok(())
    }
}

/// A configuration that cannot work.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `id` is 0.
    #[error("node id 0 is reserved for \"no node\"")]
    ZeroId,
    /// The peer map names this node itself.
    #[error("node {0} lists itself as a peer")]
    SelfAsPeer(NodeId),
    /// The named setting is zero.
    #[error("{0} must not be zero")]
    Zero(&'static str),
    /// The named setting is over its limit.
    #[error("{name} must be at most {max}")]
    TooLarge {
        /// The setting.
        name: &'static str,
        /// Its limit.
        max: usize,
    },
    /// `max_frame_size` is outside the range the wire format allows.
    #[error("max_frame_size {0} is outside {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE}")]
    FrameSize(u32),
    /// `max_snapshot_size` is zero or over [`MAX_SNAPSHOT_SIZE`].
    #[error("max_snapshot_size {0} is outside 1..={MAX_SNAPSHOT_SIZE}")]
    SnapshotSize(u64),
    /// The backoff is empty, inverted or too long.
    #[error("backoff must satisfy 0 < initial <= max <= {MAX_BACKOFF:?}: {0:?}")]
    Backoff(Backoff),
    /// Keep-alive pings would come too late to keep the connection open.
    #[error("keep_alive {keep_alive:?} must be shorter than idle_timeout {idle_timeout:?}")]
    KeepAlive {
        /// The configured ping interval.
        keep_alive: Duration,
        /// The configured idle timeout.
        idle_timeout: Duration,
    },
    /// `max_udp_payload` is outside what QUIC and UDP allow.
    #[error("max_udp_payload {0} is outside {MIN_UDP_PAYLOAD}..={MAX_UDP_PAYLOAD}")]
    UdpPayload(u16),
    /// A flow-control window is outside [`MIN_WINDOW`]`..=`[`MAX_WINDOW`].
    #[error("{name} {value} is outside {MIN_WINDOW}..={MAX_WINDOW}")]
    Window {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: u64,
    },
    /// `socket_buffer_size` is outside
    /// [`MIN_SOCKET_BUFFER`]`..=`[`MAX_SOCKET_BUFFER`].
    #[error("socket_buffer_size {0} is outside {MIN_SOCKET_BUFFER}..={MAX_SOCKET_BUFFER}")]
    SocketBuffer(usize),
    /// `idle_timeout` is beyond what QUIC's transport parameter can carry.
    #[error("idle_timeout {0:?} is longer than QUIC can express")]
    IdleTimeoutTooLong(Duration),
    /// The certificate is for another node than `id`.
    #[error("this node is {configured} but its certificate names node {certificate}")]
    CertificateId {
        /// The id in the configuration.
        configured: NodeId,
        /// The id the certificate names.
        certificate: NodeId,
    },
    /// The TLS material is unusable.
    #[error("TLS material: {0}")]
    Tls(#[from] TlsError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev_certs::DevCa;

    fn base() -> Config {
        let ca = DevCa::new().unwrap();
        Config::new(1, "127.0.0.1:0".parse().unwrap(), ca.node_cert(1).unwrap())
            .with_peer(2, "127.0.0.1:9".parse().unwrap())
    }

    #[test]
    fn defaults_validate() {
        base().validate().unwrap();
    }

    #[test]
    fn each_bad_field_has_its_error() {
        let check = |f: fn(&mut Config), want: fn(&ConfigError) -> bool| {
            let mut c = base();
            f(&mut c);
            let err = c.validate().unwrap_err();
            assert!(want(&err), "unexpected {err}");
        };
        check(|c| c.id = 0, |e| matches!(e, ConfigError::ZeroId));
        check(
            |c| {
                c.peers.insert(1, "127.0.0.1:1".parse().unwrap());
            },
            |e| matches!(e, ConfigError::SelfAsPeer(1)),
        );
        check(
            |c| c.queue_size = 0,
            |e| matches!(e, ConfigError::Zero("queue_size")),
        );
        check(
            |c| c.max_frame_size = 10,
            |e| matches!(e, ConfigError::FrameSize(10)),
        );
        check(
            |c| c.max_snapshot_size = 0,
            |e| matches!(e, ConfigError::SnapshotSize(0)),
        );
        check(
            |c| c.max_snapshot_size = MAX_SNAPSHOT_SIZE + 1,
            |e| matches!(e, ConfigError::SnapshotSize(_)),
        );
        check(
            |c| c.snapshot_timeout = Duration::ZERO,
            |e| matches!(e, ConfigError::Zero("snapshot_timeout")),
        );
        check(
            |c| c.backoff.initial = Duration::from_secs(60),
            |e| matches!(e, ConfigError::Backoff(_)),
        );
        check(
            |c| c.backoff.max = Duration::from_secs(86_400),
            |e| matches!(e, ConfigError::Backoff(_)),
        );
        check(
            |c| c.keep_alive = Duration::from_secs(20),
            |e| matches!(e, ConfigError::KeepAlive { .. }),
        );
        check(
            |c| c.connect_timeout = Duration::ZERO,
            |e| matches!(e, ConfigError::Zero("connect_timeout")),
        );
        check(
            |c| c.max_udp_payload = 1199,
            |e| matches!(e, ConfigError::UdpPayload(1199)),
        );
        check(
            |c| c.max_udp_payload = u16::MAX,
            |e| matches!(e, ConfigError::UdpPayload(u16::MAX)),
        );
        check(
            |c| c.stream_receive_window = 1000,
            |e| {
                matches!(
                    e,
                    ConfigError::Window {
                        name: "stream_receive_window",
                        value: 1000
                    }
                )
            },
        );
        check(
            |c| c.send_window = MAX_WINDOW + 1,
            |e| {
                matches!(
                    e,
                    ConfigError::Window {
                        name: "send_window",
                        ..
                    }
                )
            },
        );
        check(
            |c| c.socket_buffer_size = Some(1),
            |e| matches!(e, ConfigError::SocketBuffer(1)),
        );
    }

    #[test]
    fn the_certificate_must_name_this_node() {
        let ca = DevCa::new().unwrap();
        let c = Config::new(1, "127.0.0.1:0".parse().unwrap(), ca.node_cert(2).unwrap());
        assert!(matches!(
            c.validate(),
            Err(ConfigError::CertificateId {
                configured: 1,
                certificate: 2
            })
        ));
    }
}
