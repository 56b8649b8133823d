//! An authenticated peer sending bad snapshot streams: bad bytes close that
//! connection with the protocol close code, a snapshot over the limit stops
//! only its own stream; each is counted, and the node keeps serving.

mod common;

use bytes::BufMut;
use common::*;
use raft_core::{MessageType, Transport};
use raft_transport_quic::codec::snapshot::ACK_DELIVERED;
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{CloseCode, MetricsSnapshot, QuicTransport};

/// Opens a snapshot stream on `conn`, writes `bytes` and finishes; returns
/// the receiver's answer (its bytes, or why there are none).
async fn snapshot_stream(conn: &quinn::Connection, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    send.write_all(bytes).await.map_err(|e| e.to_string())?;
    send.finish().map_err(|e| e.to_string())?;
    recv.read_to_end(16).await.map_err(|e| e.to_string())
}

async fn still_serves(nodes: &mut [QuicTransport]) {
    for (from, to) in [(0, 1), (1, 0), (2, 1)] {
        let m = msg(MessageType::MsgHeartbeat, from as u64 + 1, to as u64 + 1, 0);
        nodes[from].send(vec![m.clone()]);
        assert_eq!(next_message(&mut nodes[to]).await, m);
    }
}

/// Nodes 1 and 2 are a working pair; a raw client borrowing node 3's
/// identity sends `bytes` to node 2 as a snapshot stream.
async fn send_bad(bytes: &[u8], counter: fn(&MetricsSnapshot) -> u64) {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 3);
    let conn = raw_connect(&ca.node_cert(3).unwrap(), nodes[1].local_addr(), 2)
        .await
        .unwrap();
    assert!(snapshot_stream(&conn, bytes).await.is_err());
    assert_eq!(closed_with(&conn).await, Some(CloseCode::Protocol as u64));
    let m = nodes[1].metrics();
    assert_eq!(counter(&m), 1, "{m:#?}");
    assert_eq!((m.decode_errors(), m.snapshot_streams_rejected), (1, 1));
    assert_eq!(m.snapshots_received + m.messages_received, 0);
    still_serves(&mut nodes).await;
}

#[tokio::test]
async fn garbage() {
    send_bad(b"\x16\x03\x01 definitely not raft", |m| m.bad_magic).await;
}

#[tokio::test]
async fn a_message_stream_header_on_a_snapshot_stream() {
    let s = stream_bytes(&[msg(MessageType::MsgHeartbeat, 3, 2, 0)]);
    send_bad(&s, |m| m.malformed).await;
}

#[tokio::test]
async fn a_truncated_head() {
    let s = snapshot_stream_bytes(&snap(3, 2, 7, 100));
    send_bad(&s[..20], |m| m.truncated).await;
}

#[tokio::test]
async fn truncated_data() {
    let s = snapshot_stream_bytes(&snap(3, 2, 7, 100_000));
    send_bad(&s[..s.len() - 1], |m| m.truncated).await;
}

#[tokio::test]
async fn more_data_than_announced() {
    let mut s = snapshot_stream_bytes(&snap(3, 2, 7, 100_000));
    s.put_slice(b"extra");
    send_bad(&s, |m| m.malformed).await;
}

#[tokio::test]
async fn a_head_that_is_not_a_snapshot() {
    let mut s = snapshot_stream_bytes(&snap(3, 2, 7, 10));
    s[12] = MessageType::MsgApp as u8;
    send_bad(&s, |m| m.malformed).await;
}

#[tokio::test]
async fn a_snapshot_over_the_limit_stops_only_its_stream() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 3);
    let conn = raw_connect(&ca.node_cert(3).unwrap(), nodes[1].local_addr(), 2)
        .await
        .unwrap();
    // Only the head, announcing 2 GiB: refused on the announcement alone.
    let m = snap(3, 2, 7, 0);
    let mut s = snapshot_stream_bytes(&m);
    let at = s.len() - 8;
    s[at..].copy_from_slice(&(2u64 << 30).to_be_bytes());
    let err = snapshot_stream(&conn, &s).await.unwrap_err();
    let code = CloseCode::SnapshotTooLarge as u64;
    assert!(err.contains(&format!("error {code}")), "{err}");
    let got = nodes[1].metrics();
    assert_eq!(
        (got.snapshot_too_large, got.snapshot_streams_rejected),
        (1, 1)
    );
    assert_eq!(got.decode_errors(), 0);
    // The same connection still carries messages and snapshots.
    let hb = msg(MessageType::MsgHeartbeat, 3, 2, 1);
    write_stream(&conn, &stream_bytes(std::slice::from_ref(&hb)))
        .await
        .unwrap();
    assert_eq!(next_message(&mut nodes[1]).await, hb);
    let small = snap(3, 2, 8, 5000);
    let answer = snapshot_stream(&conn, &snapshot_stream_bytes(&small)).await;
    assert_eq!(answer, Ok(vec![ACK_DELIVERED]));
    assert_eq!(next_message(&mut nodes[1]).await, small);
    assert!(conn.close_reason().is_none());
    still_serves(&mut nodes).await;
}

#[tokio::test]
async fn a_snapshot_claiming_another_sender_is_dropped_not_acknowledged() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 3);
    let conn = raw_connect(&ca.node_cert(3).unwrap(), nodes[1].local_addr(), 2)
        .await
        .unwrap();
    let forged = snap(1, 2, 7, 100);
    let answer = snapshot_stream(&conn, &snapshot_stream_bytes(&forged)).await;
    assert!(answer.is_err(), "{answer:?}");
    let m = nodes[1].metrics();
    assert_eq!((m.from_mismatch, m.snapshots_received), (1, 0));
    still_serves(&mut nodes).await;
}

#[tokio::test]
async fn a_stalled_snapshot_is_stopped_after_the_timeout() {
    let ca = DevCa::new().unwrap();
    let mut cfg = config(&ca, 2, any_port());
    cfg.snapshot_timeout = std::time::Duration::from_millis(200);
    let node = QuicTransport::bind(cfg).unwrap();
    node.set_peer(3, any_port());
    let conn = raw_connect(&ca.node_cert(3).unwrap(), node.local_addr(), 2)
        .await
        .unwrap();
    let s = snapshot_stream_bytes(&snap(3, 2, 7, 1000));
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    // Half the data, then silence without finishing.
    send.write_all(&s[..s.len() - 500]).await.unwrap();
    let err = recv.read_to_end(16).await.unwrap_err().to_string();
    let code = CloseCode::SnapshotAbandoned as u64;
    assert!(err.contains(&format!("error {code}")), "{err}");
    let m = node.metrics();
    assert_eq!((m.snapshot_timeouts, m.snapshot_streams_rejected), (1, 1));
    assert!(conn.close_reason().is_none());
}
