//! Sending a `MsgSnap`: a bidirectional stream of its own, the data in
//! chunks, and exactly one report of the outcome.
//!
//! `Finish` is reported only once the receiver has written its one-byte
//! acknowledgement, which it does after the message is in its node's inbox.
//! QUIC's own signal (`finish` then `stopped`) would fire when the peer's
//! stack has acknowledged the bytes, which can be before its reader has even
//! looked at the head: with a window larger than the snapshot, a receiver's
//! refusal could lose the race and a refused snapshot would be reported
//! delivered. The application-level answer is also what etcd's snapshot
//! sender waits for (the HTTP response after the receiver processed it).

use crate::codec::snapshot::{encode_snapshot_head, SnapshotEncodeError, ACK_DELIVERED};
use crate::metrics::Metrics;
use crate::transport::Shared;
use crate::CloseCode;
use bytes::{Bytes, BytesMut};
use raft_core::{Message, MessageType, NodeId, SnapshotStatus};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Size of one write: small enough that a stall is noticed within
/// `snapshot_timeout` on a slow link, large enough to cost nothing.
const CHUNK: usize = 1 << 20;
/// Snapshot data goes out after any message data queued on the connection:
/// quinn sends higher-priority streams first (messages are priority 0).
const SNAPSHOT_PRIORITY: i32 = -1;

#[derive(Debug, Error)]
enum SendError {
    #[error("cannot open a stream: {0}")]
    Open(#[from] quinn::ConnectionError),
    #[error("write failed: {0}")]
    Write(#[from] quinn::WriteError),
    #[error("no progress for {0:?}")]
    Stalled(Duration),
    #[error("no acknowledgement: {0}")]
    Ack(#[from] quinn::ReadToEndError),
    #[error("unexpected acknowledgement {0:?}")]
    BadAck(Vec<u8>),
}

/// True if `m` travels on a snapshot stream. Keyed on the type, which the
/// receiver checks: another type carrying a snapshot (raft-core makes none)
/// is dropped by the frame encoder rather than sent to be refused.
pub(crate) fn is_snapshot(m: &Message) -> bool {
    m.msg_type == MessageType::MsgSnap
}

/// Reports a snapshot to `peer` as failed.
pub(crate) fn fail(shared: &Shared, peer: NodeId, why: impl std::fmt::Display) {
    tracing::warn!(peer, %why, "snapshot not delivered");
    Metrics::inc(&shared.metrics.snapshot_send_failures);
    shared.report_snapshot(peer, SnapshotStatus::Failure);
}

/// Starts sending `m` on `conn` in a task of its own; the outcome is
/// reported when known.
pub(crate) fn start(shared: &Arc<Shared>, conn: quinn::Connection, m: &Message) {
    let peer = m.to;
    let settings = &shared.settings;
    let mut head = BytesMut::new();
    let data = match encode_snapshot_head(
        m,
        settings.max_frame_size,
        settings.max_snapshot_size,
        &mut head,
    ) {
        Ok(data) => data,
        Err(e) => {
            if matches!(e, SnapshotEncodeError::DataTooLarge { .. }) {
                Metrics::inc(&shared.metrics.snapshots_oversized);
            }
            return fail(shared, peer, e);
        }
    };
    let task_shared = shared.clone();
    shared.spawn(async move {
        let shared = task_shared;
        let len = data.len();
        match transfer(&shared, &conn, head.freeze(), data).await {
            Ok(()) => {
                tracing::debug!(peer, bytes = len, "snapshot delivered");
                Metrics::inc(&shared.metrics.snapshots_sent);
                shared.report_snapshot(peer, SnapshotStatus::Finish);
            }
            Err(e) => fail(&shared, peer, e),
        }
    });
}

/// Bounds one step of the transfer by `snapshot_timeout`.
async fn step<T, E>(limit: Duration, f: impl Future<Output = Result<T, E>>) -> Result<T, SendError>
where
    SendError: From<E>,
{
    match tokio::time::timeout(limit, f).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(SendError::Stalled(limit)),
    }
}

async fn transfer(
    shared: &Shared,
    conn: &quinn::Connection,
    head: Bytes,
    data: Bytes,
) -> Result<(), SendError> {
    let limit = shared.settings.snapshot_timeout;
    let (mut send, mut recv) = step(limit, conn.open_bi()).await?;
    // Only fails on a stream already closed, which the first write reports.
    let _ = send.set_priority(SNAPSHOT_PRIORITY);
    let sent = async {
        step(limit, send.write_chunk(head)).await?;
        let mut at = 0;
        while at < data.len() {
            let end = data.len().min(at + CHUNK);
            step(limit, send.write_chunk(data.slice(at..end))).await?;
            Metrics::add(&shared.metrics.snapshot_bytes_sent, (end - at) as u64);
            at = end;
        }
        // Only fails if the stream was already reset, which the read reports.
        let _ = send.finish();
        let ack = step(limit, recv.read_to_end(1)).await?;
        if ack != [ACK_DELIVERED] {
            return Err(SendError::BadAck(ack));
        }
        Ok(())
    }
    .await;
    if sent.is_err() {
        // Dropping the stream would finish it, and the receiver would take
        // the partial data for a truncated stream and close the connection.
        let _ = send.reset(CloseCode::SnapshotAbandoned.into());
        let _ = recv.stop(CloseCode::SnapshotAbandoned.into());
    }
    sent
}
