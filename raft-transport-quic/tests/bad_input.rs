//! An authenticated peer sending bad bytes: each kind closes that
//! connection with the protocol close code and bumps its counter; the node
//! keeps serving its other peers.

mod common;

use bytes::BufMut;
use common::*;
use raft_core::{MessageType, Transport};
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{CloseCode, MetricsSnapshot, QuicTransport};

/// Nodes 1 and 2 are a working pair; node 3 is a configured peer of node 2
/// whose identity a raw client borrows to send `bytes`.
async fn send_bad(bytes: &[u8], counter: fn(&MetricsSnapshot) -> u64) {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 3);
    let node3 = ca.node_cert(3).unwrap();
    let conn = raw_connect(&node3, nodes[1].local_addr(), 2).await.unwrap();
    write_stream(&conn, bytes).await.unwrap();
    assert_eq!(closed_with(&conn).await, Some(CloseCode::Protocol as u64));
    let m = nodes[1].metrics();
    assert_eq!(counter(&m), 1, "{m:#?}");
    assert_eq!(m.decode_errors(), 1);
    assert_eq!(m.messages_received, 0);
    still_serves(&mut nodes).await;
}

async fn still_serves(nodes: &mut [QuicTransport]) {
    for (from, to) in [(0, 1), (1, 0), (2, 1)] {
        let m = msg(MessageType::MsgHeartbeat, from as u64 + 1, to as u64 + 1, 0);
        nodes[from].send(vec![m.clone()]);
        assert_eq!(next_message(&mut nodes[to]).await, m);
    }
}

#[tokio::test]
async fn garbage() {
    send_bad(b"\x16\x03\x01 definitely not raft", |m| m.bad_magic).await;
}

#[tokio::test]
async fn a_newer_wire_version() {
    let mut s = stream_bytes(&[msg(MessageType::MsgHeartbeat, 3, 2, 0)]);
    s[4] = 2;
    send_bad(&s, |m| m.unsupported_version).await;
}

#[tokio::test]
async fn a_truncated_frame() {
    let s = stream_bytes(&[app(3, 2, 1, 3, 40)]);
    send_bad(&s[..s.len() - 10], |m| m.truncated).await;
}

#[tokio::test]
async fn a_frame_over_the_size_limit() {
    let mut s = stream_bytes(&[]);
    // Only the prefix is sent: the receiver refuses it without waiting for
    // (or buffering) the body.
    s.put_u32(64 << 20);
    send_bad(&s, |m| m.frame_too_large).await;
}

#[tokio::test]
async fn an_unknown_message_type() {
    let mut s = stream_bytes(&[msg(MessageType::MsgHeartbeat, 3, 2, 0)]);
    // Header (8), length (4), count (1), then the type byte. 19 is
    // etcd's MsgStorageAppend, which never crosses the network.
    s[13] = 19;
    send_bad(&s, |m| m.unknown_message_type).await;
}

#[tokio::test]
async fn a_malformed_body() {
    let mut s = stream_bytes(&[msg(MessageType::MsgHeartbeat, 3, 2, 0)]);
    let last = s.len() - 1;
    s[last] = 200; // entry count far beyond the frame
    send_bad(&s, |m| m.malformed).await;
}

#[tokio::test]
async fn good_frames_before_bad_ones_are_delivered() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 3);
    let conn = raw_connect(&ca.node_cert(3).unwrap(), nodes[1].local_addr(), 2)
        .await
        .unwrap();
    let good = msg(MessageType::MsgApp, 3, 2, 1);
    let mut s = stream_bytes(std::slice::from_ref(&good));
    s.put_slice(b"\xff\xff\xff\xff");
    write_stream(&conn, &s).await.unwrap();
    assert_eq!(next_message(&mut nodes[1]).await, good);
    assert_eq!(closed_with(&conn).await, Some(CloseCode::Protocol as u64));
    assert_eq!(nodes[1].metrics().frame_too_large, 1);
    still_serves(&mut nodes).await;
}

#[tokio::test]
async fn a_snapshot_stream_header_on_a_message_stream() {
    let s = snapshot_stream_bytes(&snap(3, 2, 7, 10));
    send_bad(&s, |m| m.malformed).await;
}
