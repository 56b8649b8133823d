//! Helpers shared by the integration tests: nodes on 127.0.0.1 with
//! ephemeral ports, and raw QUIC clients that can misbehave.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use raft_core::{Entry, Message, MessageType, NodeId, TransportEvent};
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{codec, tls, Config, MetricsSnapshot, QuicTransport, TlsMaterial};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(10);

pub fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A config with timeouts short enough for tests.
pub fn config(ca: &DevCa, id: NodeId, listen: SocketAddr) -> Config {
    let mut c = Config::new(id, listen, ca.node_cert(id).unwrap());
    c.connect_timeout = Duration::from_millis(500);
    c.backoff.initial = Duration::from_millis(50);
    c.backoff.max = Duration::from_millis(200);
    c
}

/// `n` nodes, ids 1..=n, each knowing all others.
pub fn cluster(ca: &DevCa, n: u64) -> Vec<QuicTransport> {
    let nodes: Vec<QuicTransport> = (1..=n)
        .map(|id| QuicTransport::bind(config(ca, id, any_port())).unwrap())
        .collect();
    connect_all(&nodes);
    nodes
}

pub fn connect_all(nodes: &[QuicTransport]) {
    for a in nodes {
        for b in nodes {
            a.set_peer(b.id(), b.local_addr());
        }
    }
}

pub fn msg(t: MessageType, from: NodeId, to: NodeId, index: u64) -> Message {
    let mut m = Message::new(t);
    m.from = from;
    m.to = to;
    m.term = 2;
    m.index = index;
    m
}

pub fn app(from: NodeId, to: NodeId, index: u64, entries: usize, size: usize) -> Message {
    let mut m = msg(MessageType::MsgApp, from, to, index);
    m.entries = (0..entries as u64)
        .map(|i| Entry {
            term: 2,
            index: index + 1 + i,
            data: Bytes::from(vec![(i % 251) as u8; size]),
            ..Entry::default()
        })
        .collect();
    m
}

pub async fn next_event(t: &mut QuicTransport, within: Duration) -> Option<TransportEvent> {
    tokio::time::timeout(within, t.recv()).await.ok().flatten()
}

/// The next message, skipping reports about earlier sends.
pub async fn next_message(t: &mut QuicTransport) -> Message {
    loop {
        match next_event(t, WAIT).await {
            Some(TransportEvent::Message(m)) => return m,
            Some(_) => continue,
            None => panic!("node {} received nothing within {WAIT:?}", t.id()),
        }
    }
}

/// Polls `t`'s counters until `cond` holds.
pub async fn wait_for(t: &QuicTransport, what: &str, cond: impl Fn(&MetricsSnapshot) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond(&t.metrics()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: never happened; metrics {:#?}",
            t.metrics()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A client endpoint on its own.
pub fn client_endpoint() -> quinn::Endpoint {
    quinn::Endpoint::client(any_port()).unwrap()
}

/// Connects as `material`'s node, the way a real node would.
pub async fn raw_connect(
    material: &TlsMaterial,
    server: SocketAddr,
    server_id: NodeId,
) -> Result<quinn::Connection, quinn::ConnectionError> {
    let cfg = material
        .quic_client_config(Arc::new(quinn::TransportConfig::default()))
        .unwrap();
    client_endpoint()
        .connect_with(cfg, server, &tls::node_name(server_id))
        .unwrap()
        .await
}

/// Connects trusting `ca` but presenting no certificate at all.
pub async fn connect_without_cert(
    ca: &DevCa,
    server: SocketAddr,
    server_id: NodeId,
) -> Result<quinn::Connection, quinn::ConnectionError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert_der()).unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![tls::ALPN.to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    client_endpoint()
        .connect_with(
            quinn::ClientConfig::new(Arc::new(quic)),
            server,
            &tls::node_name(server_id),
        )
        .unwrap()
        .await
}

/// Writes `bytes` on a new stream and finishes it; the refusal of a bad
/// client shows here or in the connection's close reason.
pub async fn write_stream(conn: &quinn::Connection, bytes: &[u8]) -> Result<(), String> {
    let mut s = conn.open_uni().await.map_err(|e| e.to_string())?;
    s.write_all(bytes).await.map_err(|e| e.to_string())?;
    s.finish().map_err(|e| e.to_string())?;
    Ok(())
}

/// A well-formed stream carrying `messages`.
pub fn stream_bytes(messages: &[Message]) -> BytesMut {
    let mut out = BytesMut::new();
    codec::encode_header(&mut out);
    codec::encode_frames(messages, 1 << 20, &mut out);
    out
}

/// Waits for the server to close `conn` and returns its application code.
pub async fn closed_with(conn: &quinn::Connection) -> Option<u64> {
    match tokio::time::timeout(WAIT, conn.closed()).await {
        Ok(quinn::ConnectionError::ApplicationClosed(close)) => Some(close.error_code.into_inner()),
        _ => None,
    }
}

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A MsgSnap from `from` to `to` carrying `len` bytes of patterned data.
pub fn snap(from: NodeId, to: NodeId, index: u64, len: usize) -> Message {
    let mut m = msg(MessageType::MsgSnap, from, to, 0);
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    m.snapshot = Some(Box::new(raft_core::Snapshot::new(
        index,
        2,
        raft_core::ConfState::with_voters([1, 2, 3]),
        data,
    )));
    m
}

/// A well-formed snapshot stream carrying `m`, head and data.
pub fn snapshot_stream_bytes(m: &Message) -> BytesMut {
    let mut out = BytesMut::new();
    let data = codec::snapshot::encode_snapshot_head(m, 1 << 20, u64::MAX, &mut out).unwrap();
    out.extend_from_slice(&data);
    out
}

/// The next snapshot report, skipping other events.
pub async fn next_report(t: &mut QuicTransport) -> (NodeId, raft_core::SnapshotStatus) {
    loop {
        match next_event(t, WAIT).await {
            Some(TransportEvent::SnapshotReport(peer, status)) => return (peer, status),
            Some(_) => continue,
            None => panic!("node {} got no snapshot report within {WAIT:?}", t.id()),
        }
    }
}
