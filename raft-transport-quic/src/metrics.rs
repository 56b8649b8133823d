//! Counters for everything the transport drops, refuses or moves.
//!
//! Plain atomics rather than a metrics facade: the application reads a
//! [`MetricsSnapshot`] and exports it however it likes.

use crate::codec::DecodeErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live counters, shared by the transport's tasks.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// A copy of the counters at one moment.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct MetricsSnapshot {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Metrics {
            /// The counters' values now (each read on its own, not as one atomic snapshot).
            pub fn snapshot(&self) -> MetricsSnapshot {
                MetricsSnapshot {
                    $($name: self.$name.load(Ordering::Relaxed),)*
                }
            }
        }
    };
}

counters! {
    /// Messages written to a stream.
    messages_sent,
    /// Frames written to a stream (one per batch unless split at the limit).
    frames_sent,
    /// Bytes of frames written, prefixes included.
    bytes_sent,
    /// Messages decoded and handed to the node.
    messages_received,
    /// Frames read from a stream.
    frames_received,
    /// Bytes of frames read, prefixes included.
    bytes_received,
    /// `send` found the peer's queue full.
    dropped_queue_full,
    /// `send` was given a recipient with no configured address.
    dropped_unknown_peer,
    /// A message larger than the frame limit on its own.
    dropped_oversized,
    /// Messages lost because the connection failed or was still backing off.
    dropped_connection,
    /// Connections this node dialed successfully.
    connections_dialed,
    /// Connections accepted from authenticated, known peers.
    connections_accepted,
    /// Dial attempts that failed (refused, timed out, TLS error).
    connect_failures,
    /// Incoming handshakes that failed, most often a refused certificate.
    handshake_failures,
    /// Authenticated peers that are not in the peer map.
    unknown_peer_connections,
    /// Messages refused because their sender was removed
    /// ([`crate::QuicTransport::remove_peer`]) while its connection was open.
    refused_removed_peer,
    /// Certificates that name no node, or more than one.
    bad_identity,
    /// Messages whose `from` is not the authenticated peer.
    from_mismatch,
    /// Messages addressed to another node.
    misaddressed,
    /// Bidirectional streams, which the protocol does not use.
    refused_streams,
    // Snapshot streams, one per MsgSnap.
    /// Snapshots the peer acknowledged as delivered (each reported `Finish`).
    snapshots_sent,
    /// Snapshot data bytes written, counted as each chunk is written.
    snapshot_bytes_sent,
    /// Snapshots that failed to reach their peer, whatever the reason (each
    /// reported `Failure`).
    snapshot_send_failures,
    /// Snapshots not sent because they exceed this node's `max_snapshot_size`
    /// (also counted in `snapshot_send_failures`).
    snapshots_oversized,
    /// Snapshots received whole and handed to the node.
    snapshots_received,
    /// Snapshot data bytes read, counted as each chunk arrives.
    snapshot_bytes_received,
    /// Snapshot streams refused, whatever the reason. The reason is counted
    /// too: `snapshot_too_large`, `snapshot_timeouts`, or a decode counter
    /// below (those also closed the connection).
    snapshot_streams_rejected,
    /// Snapshot streams announcing more data than `max_snapshot_size` (or than
    /// this process could allocate); the stream was stopped, the connection
    /// kept.
    snapshot_too_large,
    /// Snapshot streams that stalled past `snapshot_timeout`; stopped.
    snapshot_timeouts,
    // Decode errors, one counter per class; each closed a connection.
    /// Streams that did not open with the magic bytes.
    bad_magic,
    /// Streams of a wire version this node does not speak.
    unsupported_version,
    /// Frames (or snapshot heads) announced over the size limit.
    frame_too_large,
    /// Streams that ended inside a frame, a snapshot head or its data.
    truncated,
    /// Messages of a type raft-core does not know.
    unknown_message_type,
    /// Frames whose contents are inconsistent, and snapshot streams with a
    /// bad head or more data than announced.
    malformed,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn decode_error(&self, kind: DecodeErrorKind) {
        Metrics::inc(match kind {
            DecodeErrorKind::BadMagic => &self.bad_magic,
            DecodeErrorKind::UnsupportedVersion => &self.unsupported_version,
            DecodeErrorKind::FrameTooLarge => &self.frame_too_large,
            DecodeErrorKind::Truncated => &self.truncated,
            DecodeErrorKind::UnknownMessageType => &self.unknown_message_type,
            DecodeErrorKind::Malformed => &self.malformed,
            DecodeErrorKind::SnapshotTooLarge => &self.snapshot_too_large,
        });
    }
}

impl MetricsSnapshot {
    /// Connections closed because of what a peer sent (a snapshot stream
    /// refused for its size alone closes nothing and is not counted here).
    pub fn decode_errors(&self) -> u64 {
        self.bad_magic
            + self.unsupported_version
            + self.frame_too_large
            + self.truncated
            + self.unknown_message_type
            + self.malformed
    }
}
