//! # raft-transport-quic
//!
//! raft-core's [`Transport`](raft_core::Transport) over QUIC (quinn) with
//! mutual TLS (rustls, ring): how the nodes of a real cluster talk across
//! hosts.
//!
//! - **Never blocks Raft.** [`send`](raft_core::Transport::send) only puts
//!   messages on a bounded per-peer queue; tokio tasks do the I/O. A full
//!   queue drops the message and reports
//!   [`TransportEvent::Unreachable`](raft_core::TransportEvent::Unreachable),
//!   as does a failed connection attempt.
//! - **One connection per pair**, opened lazily by whichever node first has
//!   something to say, reopened with exponential backoff after failures.
//!   Each direction is one long-lived unidirectional stream, so messages to
//!   a peer arrive in order; whatever is queued when the stream is free goes
//!   out as one batch in one write.
//! - **Snapshots on streams of their own.** A `MsgSnap` goes on a QUIC
//!   bidirectional stream opened for it, at a lower priority than the
//!   message stream, so heartbeats and appends to that peer are never stuck
//!   behind hundreds of MiB. The data is written in chunks (slices of the
//!   snapshot's `Bytes`) after a small head ([`codec::snapshot`]); the
//!   receiver collects it into one buffer of the announced size, hands the
//!   `MsgSnap` to its node (possibly before or after messages sent around
//!   it, which Raft tolerates) and answers with one byte. That answer, and
//!   only it, makes the sender report
//!   [`TransportEvent::SnapshotReport`](raft_core::TransportEvent::SnapshotReport)`(peer, Finish)`;
//!   anything else (over `max_snapshot_size` on either side, refused, reset,
//!   connection lost, stalled past `snapshot_timeout`) reports `Failure`.
//!   Exactly one report per `MsgSnap`; pass it to `report_snapshot`.
//! - **Wire format v1** ([`codec`], `WIRE.md`): a versioned stream header,
//!   then length-prefixed frames of message batches. Garbage, truncation,
//!   oversized frames, unknown types or versions close that connection, with
//!   a log line and a [`metrics`] counter; the other peers carry on. Bad
//!   snapshot streams are treated the same way, except that a snapshot which
//!   is merely too large or stalls stops only its own stream.
//! - **Mutual TLS**: each certificate names its node as a DNS SAN
//!   `node-<id>` ([`tls`]); a node refuses peers without a certificate from
//!   its CA, and drops any message whose `from` is not the certificate's
//!   node. [`dev_certs::DevCa`] makes a throwaway CA for tests;
//!   production loads PEM files with [`TlsMaterial::from_pem_files`].
//!
//! ## Example: two nodes on loopback
//!
//! ```
//! use raft_core::{Message, MessageType, Transport, TransportEvent};
//! use raft_transport_quic::{dev_certs::DevCa, Config, QuicTransport};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let rt = tokio::runtime::Runtime::new()?;
//! rt.block_on(async {
//!     let ca = DevCa::new()?;
//!     let any: std::net::SocketAddr = "127.0.0.1:0".parse()?;
//!     let mut a = QuicTransport::bind(Config::new(1, any, ca.node_cert(1)?))?;
//!     let mut b = QuicTransport::bind(Config::new(2, any, ca.node_cert(2)?))?;
//!     a.set_peer(2, b.local_addr());
//!     b.set_peer(1, a.local_addr());
//!
//!     let mut hb = Message::new(MessageType::MsgHeartbeat);
//!     (hb.from, hb.to, hb.term) = (1, 2, 5);
//!     a.send(vec![hb.clone()]); // returns at once
//!     assert_eq!(b.recv().await, Some(TransportEvent::Message(hb)));
//!     assert_eq!(b.metrics().messages_received, 1);
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })
//! # }
//! ```

#![warn(missing_docs)]

pub mod codec;
mod config;
pub mod dev_certs;
mod inbound;
pub mod metrics;
mod peer;
mod snapshot_recv;
mod snapshot_send;
pub mod tls;
mod transport;

pub use config::{
    Backoff, Config, ConfigError, DEFAULT_SEND_WINDOW, DEFAULT_STREAM_WINDOW, DEFAULT_UDP_PAYLOAD,
    MAX_BACKOFF, MAX_FRAME_SIZE, MAX_QUEUE, MAX_SNAPSHOT_SIZE, MAX_SOCKET_BUFFER, MAX_UDP_PAYLOAD,
    MAX_WINDOW, MIN_FRAME_SIZE, MIN_SOCKET_BUFFER, MIN_UDP_PAYLOAD, MIN_WINDOW,
};
pub use metrics::MetricsSnapshot;
pub use tls::{TlsError, TlsMaterial};
pub use transport::{PeerControl, QuicTransport, TransportError};

/// Application error codes this transport puts in QUIC CONNECTION_CLOSE
/// frames, so the other side's logs say why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
#[non_exhaustive]
pub enum CloseCode {
    /// The node is shutting down.
    Shutdown = 0,
    /// Both nodes dialed at once; this connection lost the tie-break.
    Superseded = 1,
    /// The peer sent bytes that are not wire format v1.
    Protocol = 2,
    /// The peer's certificate is valid but names a node not configured here.
    UnknownPeer = 3,
    /// The peer's certificate names no node, several, or the wrong one.
    Identity = 4,
    /// Stream code only: a snapshot stream announced more data than the
    /// receiver's `max_snapshot_size`.
    SnapshotTooLarge = 5,
    /// Stream code only: a snapshot stream was abandoned (the transfer
    /// stalled, or the receiver dropped the message: misaddressed, or its
    /// node is shutting down).
    SnapshotAbandoned = 6,
}

impl From<CloseCode> for quinn::VarInt {
    fn from(code: CloseCode) -> quinn::VarInt {
        quinn::VarInt::from_u32(code as u32)
    }
}
