//! Receiving snapshot streams: read the head, refuse what is over the limit
//! before reading any data, collect the data into one buffer, hand the
//! `MsgSnap` to the node, then acknowledge.
//!
//! Bad bytes (garbage, a truncated stream, more data than announced) close
//! the connection, as they do on a message stream. A snapshot that is merely
//! too large, or that stalls, stops only its own stream: the peer is not
//! misbehaving, and its heartbeats should keep flowing.

use crate::codec::snapshot::{
    assemble, SnapshotData, SnapshotHead, SnapshotHeadDecoder, ACK_DELIVERED,
};
use crate::codec::DecodeError;
use crate::inbound::{addressed_here, refuse};
use crate::metrics::Metrics;
use crate::transport::Shared;
use crate::CloseCode;
use bytes::Bytes;
use raft_core::NodeId;
use std::sync::Arc;

/// Most chunks taken from a stream at once.
const CHUNKS: usize = 64;

/// How reading a snapshot stream ended without a message.
enum Failed {
    /// The bytes break the wire format, or are over the limit.
    Decode(DecodeError),
    /// No bytes for `snapshot_timeout`.
    Stalled,
    /// The sender reset the stream or the connection went away: nothing to
    /// refuse, nobody to tell.
    Gone(quinn::ReadError),
}

/// Accepts the snapshot streams `peer` opens on `conn` until it ends.
pub(crate) async fn accept_loop(shared: Arc<Shared>, conn: quinn::Connection, peer: NodeId) {
    while let Ok((send, recv)) = conn.accept_bi().await {
        shared.spawn(serve(shared.clone(), conn.clone(), peer, send, recv));
    }
}

async fn serve(
    shared: Arc<Shared>,
    conn: quinn::Connection,
    peer: NodeId,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let metrics = &shared.metrics;
    let message = match read(&shared, &mut recv).await {
        Ok((head, data)) => assemble(head, data),
        Err(Failed::Gone(e)) => {
            tracing::debug!(peer, reason = %e, "snapshot stream abandoned by its sender");
            return;
        }
        Err(Failed::Stalled) => {
            tracing::warn!(peer, timeout = ?shared.settings.snapshot_timeout, "snapshot stream stalled; stopped");
            Metrics::inc(&metrics.snapshot_streams_rejected);
            Metrics::inc(&metrics.snapshot_timeouts);
            return stop(&mut send, &mut recv, CloseCode::SnapshotAbandoned);
        }
        Err(Failed::Decode(e)) if e.is_stream_only() => {
            tracing::warn!(peer, reason = %e, "snapshot refused");
            Metrics::inc(&metrics.snapshot_streams_rejected);
            metrics.decode_error(e.kind());
            return stop(&mut send, &mut recv, CloseCode::SnapshotTooLarge);
        }
        Err(Failed::Decode(e)) => {
            Metrics::inc(&metrics.snapshot_streams_rejected);
            return refuse(&shared, &conn, peer, e);
        }
    };
    if !addressed_here(&shared, peer, &message) {
        return stop(&mut send, &mut recv, CloseCode::SnapshotAbandoned);
    }
    let len = message.snapshot.as_ref().map_or(0, |s| s.data.len());
    tracing::debug!(peer, bytes = len, "snapshot received");
    Metrics::inc(&metrics.snapshots_received);
    Metrics::inc(&metrics.messages_received);
    if shared.inbox.send(message).await.is_err() {
        return stop(&mut send, &mut recv, CloseCode::SnapshotAbandoned);
    }
    // The sender reports the snapshot delivered on this byte; if it cannot
    // be written the connection is gone and the sender reports a failure.
    if send.write_all(&[ACK_DELIVERED]).await.is_ok() {
        let _ = send.finish();
    }
}

/// Refuses the rest of the stream in both directions with `code`.
fn stop(send: &mut quinn::SendStream, recv: &mut quinn::RecvStream, code: CloseCode) {
    // Errors mean the stream is already closed, which is the goal.
    let _ = recv.stop(code.into());
    let _ = send.reset(code.into());
}

/// Reads a whole snapshot stream.
async fn read(
    shared: &Shared,
    recv: &mut quinn::RecvStream,
) -> Result<(SnapshotHead, Bytes), Failed> {
    let settings = &shared.settings;
    let mut chunks: [Bytes; CHUNKS] = std::array::from_fn(|_| Bytes::new());
    let mut decoder = SnapshotHeadDecoder::new(settings.max_frame_size, settings.max_snapshot_size);
    // The head: fed chunk by chunk, so data that arrived with it is kept.
    let (head, mut data, mut rest) = 'head: loop {
        let n = next_chunks(shared, recv, &mut chunks)
            .await?
            .ok_or(Failed::Decode(DecodeError::Truncated("snapshot head")))?;
        for (i, chunk) in chunks[..n].iter().enumerate() {
            decoder.push(chunk);
            if let Some((head, first)) = decoder.next_head().map_err(Failed::Decode)? {
                let data = SnapshotData::new(head.data_len, settings.max_snapshot_size)
                    .map_err(Failed::Decode)?;
                let mut rest = vec![first];
                rest.extend(chunks[i + 1..n].iter().cloned());
                break 'head (head, data, rest);
            }
        }
    };
    loop {
        for chunk in rest.drain(..) {
            Metrics::add(&shared.metrics.snapshot_bytes_received, chunk.len() as u64);
            data.push(&chunk).map_err(Failed::Decode)?;
        }
        match next_chunks(shared, recv, &mut chunks).await? {
            Some(n) => rest.extend(chunks[..n].iter_mut().map(std::mem::take)),
            None => break,
        }
    }
    let data = data.finish().map_err(Failed::Decode)?;
    Ok((head, data))
}

/// The next chunks of the stream (how many were filled), `None` at its end.
/// Many at once: a chunk is often one packet's worth, and each call costs a
/// lock and a timer.
async fn next_chunks(
    shared: &Shared,
    recv: &mut quinn::RecvStream,
    chunks: &mut [Bytes],
) -> Result<Option<usize>, Failed> {
    let limit = shared.settings.snapshot_timeout;
    match tokio::time::timeout(limit, recv.read_chunks(chunks)).await {
        Err(_) => Err(Failed::Stalled),
        Ok(Err(e)) => Err(Failed::Gone(e)),
        Ok(Ok(n)) => Ok(n),
    }
}
