//! The receiving half: accept connections, authenticate the peer, read its
//! streams, check every message against the peer's identity.
//!
//! Anything wrong with what a peer sends closes that one connection with a
//! reason and a counter; other peers never notice.

use crate::codec::{DecodeError, StreamDecoder};
use crate::metrics::Metrics;
use crate::peer::Link;
use crate::tls::peer_node_id;
use crate::transport::Shared;
use crate::CloseCode;
use bytes::Bytes;
use raft_core::{Message, NodeId};
use std::sync::Arc;

/// Most chunks taken from a stream at once. Each chunk is about one
/// packet's data, and every read takes the connection's lock, so reading
/// many per call keeps that to one lock per burst rather than per packet.
const CHUNKS: usize = 64;

pub(crate) async fn accept_loop(shared: Arc<Shared>, endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        shared.spawn(handshake(shared.clone(), incoming));
    }
    tracing::debug!(id = shared.id, "accept loop stopped");
}

async fn handshake(shared: Arc<Shared>, incoming: quinn::Incoming) {
    let remote = incoming.remote_address();
    let conn = match incoming.await {
        Ok(conn) => conn,
        Err(e) => {
            // Most often a client certificate that is missing or from
            // another CA: rustls refused it during the handshake.
            tracing::warn!(%remote, error = %e, "incoming handshake refused");
            Metrics::inc(&shared.metrics.handshake_failures);
            return;
        }
    };
    let peer = match peer_node_id(&conn) {
        Ok(peer) => peer,
        Err(e) => {
            tracing::warn!(%remote, error = %e, "peer certificate names no single node; closing");
            Metrics::inc(&shared.metrics.bad_identity);
            conn.close(
                CloseCode::Identity.into(),
                b"certificate names no single node",
            );
            return;
        }
    };
    if shared.peer_addr(peer).is_none() {
        tracing::warn!(%remote, peer, "connection from a node that is not a configured peer; closing");
        Metrics::inc(&shared.metrics.unknown_peer_connections);
        conn.close(CloseCode::UnknownPeer.into(), b"unknown peer");
        return;
    }
    Metrics::inc(&shared.metrics.connections_accepted);
    tracing::debug!(%remote, peer, "accepted connection");
    shared.adopt(
        peer,
        Link {
            conn: conn.clone(),
            dialed_by_us: false,
        },
    );
    serve_connection(shared, conn, peer).await;
}

/// Reads every stream `peer` opens on `conn` until the connection ends:
/// unidirectional ones carry messages, bidirectional ones a snapshot each.
pub(crate) async fn serve_connection(shared: Arc<Shared>, conn: quinn::Connection, peer: NodeId) {
    shared.spawn(crate::snapshot_recv::accept_loop(
        shared.clone(),
        conn.clone(),
        peer,
    ));
    loop {
        match conn.accept_uni().await {
            Ok(stream) => shared.spawn(read_stream(shared.clone(), conn.clone(), peer, stream)),
            Err(e) => {
                tracing::debug!(peer, reason = %e, "connection ended");
                return;
            }
        }
    }
}

async fn read_stream(
    shared: Arc<Shared>,
    conn: quinn::Connection,
    peer: NodeId,
    mut stream: quinn::RecvStream,
) {
    let metrics = &shared.metrics;
    let mut decoder = StreamDecoder::new(shared.settings.max_frame_size);
    let mut chunks: [Bytes; CHUNKS] = std::array::from_fn(|_| Bytes::new());
    loop {
        match stream.read_chunks(&mut chunks).await {
            Ok(Some(n)) => {
                for chunk in &chunks[..n] {
                    Metrics::add(&metrics.bytes_received, chunk.len() as u64);
                    // Decoded chunk by chunk: a frame's prefix makes the
                    // decoder reserve the whole frame once, and bad bytes
                    // are refused as soon as they arrive.
                    decoder.push(chunk);
                    loop {
                        match decoder.next_batch() {
                            Ok(Some(batch)) => {
                                Metrics::inc(&metrics.frames_received);
                                if shared.peer_addr(peer).is_none() {
                                    return refuse_removed(&shared, &conn, peer, batch.len());
                                }
                                if !deliver(&shared, peer, batch).await {
                                    return;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => return refuse(&shared, &conn, peer, e),
                        }
                    }
                }
            }
            Ok(None) => {
                if let Err(e) = decoder.finish() {
                    refuse(&shared, &conn, peer, e);
                }
                return;
            }
            Err(e) => {
                tracing::debug!(peer, reason = %e, "stream ended");
                return;
            }
        }
    }
}

/// Closes `conn` over bad input from `peer`.
pub(crate) fn refuse(shared: &Shared, conn: &quinn::Connection, peer: NodeId, e: DecodeError) {
    tracing::warn!(peer, remote = %conn.remote_address(), reason = %e, "bad input; closing connection");
    shared.metrics.decode_error(e.kind());
    conn.close(CloseCode::Protocol.into(), e.to_string().as_bytes());
}

/// Closes `conn` with a peer removed while it was open, refusing the
/// `count` messages it still sent.
fn refuse_removed(shared: &Shared, conn: &quinn::Connection, peer: NodeId, count: usize) {
    tracing::info!(
        peer,
        count,
        "messages from a removed peer refused; closing connection"
    );
    Metrics::add(&shared.metrics.refused_removed_peer, count as u64);
    conn.close(CloseCode::UnknownPeer.into(), b"peer removed");
}

/// Passes a batch to the node; false once the node has gone away.
async fn deliver(shared: &Shared, peer: NodeId, batch: Vec<Message>) -> bool {
    let metrics = &shared.metrics;
    for m in batch {
        if !addressed_here(shared, peer, &m) {
            continue;
        }
        // Counted before the hand-over so a reader never sees the message
        // before the counter.
        Metrics::inc(&metrics.messages_received);
        if shared.inbox.send(m).await.is_err() {
            return false;
        }
    }
    true
}

/// True if `m` is from `peer` and to this node; otherwise logs and counts
/// why it is dropped.
pub(crate) fn addressed_here(shared: &Shared, peer: NodeId, m: &Message) -> bool {
    if shared.peer_addr(peer).is_none() {
        tracing::info!(peer, msg_type = %m.msg_type, "message from a removed peer; dropped");
        Metrics::inc(&shared.metrics.refused_removed_peer);
        return false;
    }
    if m.from != peer {
        // The certificate is the only proof of who sent a message; a peer
        // claiming to be another node is buggy or hostile.
        tracing::warn!(peer, claimed = m.from, msg_type = %m.msg_type, "message from field does not match peer certificate; dropped");
        Metrics::inc(&shared.metrics.from_mismatch);
        return false;
    }
    if m.to != shared.id {
        tracing::warn!(peer, to = m.to, msg_type = %m.msg_type, "message addressed to another node; dropped");
        Metrics::inc(&shared.metrics.misaddressed);
        return false;
    }
    true
}
