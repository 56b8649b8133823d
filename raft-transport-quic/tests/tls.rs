//! Mutual TLS refusals. A refused client still sees its handshake finish
//! (TLS 1.3 lets it finish before the server checks its certificate), so
//! each test looks for the refusal on the first stream operation or the
//! connection's close, and on the server's counters.

mod common;

use common::*;
use raft_core::{MessageType, Transport, TransportEvent};
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{tls, CloseCode, QuicTransport};

/// After a refusal the node still talks to its real peers.
async fn still_serves(nodes: &mut [QuicTransport]) {
    let m = msg(MessageType::MsgHeartbeat, 1, 2, 0);
    nodes[0].send(vec![m.clone()]);
    assert_eq!(next_message(&mut nodes[1]).await, m);
}

/// The first stream operation after a refused handshake fails, or the
/// connection closes right after it.
async fn refused(conn: Result<quinn::Connection, quinn::ConnectionError>) {
    let Ok(conn) = conn else { return };
    let stream = stream_bytes(&[msg(MessageType::MsgHeartbeat, 1, 2, 0)]);
    let wrote = write_stream(&conn, &stream).await;
    let closed = tokio::time::timeout(WAIT, conn.closed()).await;
    assert!(
        wrote.is_err()
            || matches!(
                closed,
                Ok(quinn::ConnectionError::ConnectionClosed(_))
                    | Ok(quinn::ConnectionError::TransportError(_))
            ),
        "client was not refused: write {wrote:?}, close {closed:?}"
    );
}

/// `attempt`, a client's connection to node 2 (`nodes[1]`), was refused:
/// the client saw it, node 2 counted one failed handshake, took no message
/// from it, and still serves node 1.
async fn refused_by_node_2(
    attempt: Result<quinn::Connection, quinn::ConnectionError>,
    nodes: &mut [QuicTransport],
) {
    refused(attempt).await;
    wait_for(&nodes[1], "handshake refused", |m| {
        m.handshake_failures == 1
    })
    .await;
    assert_eq!(nodes[1].metrics().messages_received, 0);
    still_serves(nodes).await;
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 2);
    let attempt = connect_without_cert(&ca, nodes[1].local_addr(), 2).await;
    refused_by_node_2(attempt, &mut nodes).await;
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 2);
    let stranger = DevCa::new().unwrap().node_cert(1).unwrap();
    let attempt = raw_connect(&stranger, nodes[1].local_addr(), 2).await;
    refused_by_node_2(attempt, &mut nodes).await;
}

#[tokio::test]
async fn a_node_configured_with_a_foreign_ca_cannot_dial_in() {
    // The same refusal through the transport itself: node 1 trusts node 2's
    // CA but holds a certificate from another. Its handshake completes on
    // its side, yet it must learn of the refusal as a failed connection
    // (Unreachable), not lose its messages silently.
    let ca = DevCa::new().unwrap();
    let foreign = DevCa::new().unwrap().node_pem(1).unwrap();
    let material = raft_transport_quic::TlsMaterial::from_pem(
        ca.cert_pem().as_bytes(),
        foreign.cert.as_bytes(),
        foreign.key.as_bytes(),
    )
    .unwrap();
    let b = QuicTransport::bind(config(&ca, 2, any_port())).unwrap();
    let mut cfg = config(&ca, 1, any_port());
    cfg.tls = material;
    let mut a = QuicTransport::bind(cfg).unwrap();
    a.set_peer(2, b.local_addr());
    b.set_peer(1, a.local_addr());
    a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, 0)]);
    assert_eq!(
        next_event(&mut a, WAIT).await,
        Some(TransportEvent::Unreachable(2))
    );
    assert_eq!(a.metrics().connect_failures, 1);
    assert_eq!(a.metrics().messages_sent, 0);
    wait_for(&b, "handshake refused", |m| m.handshake_failures == 1).await;
    assert_eq!(b.metrics().messages_received, 0);
}

#[tokio::test]
async fn messages_whose_from_is_not_the_certificate_are_dropped() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 3);
    // A legitimate node 3 certificate, used to speak for node 1.
    let node3 = ca.node_cert(3).unwrap();
    let conn = raw_connect(&node3, nodes[1].local_addr(), 2).await.unwrap();
    let forged = msg(MessageType::MsgApp, 1, 2, 5);
    let honest = msg(MessageType::MsgApp, 3, 2, 6);
    write_stream(&conn, &stream_bytes(&[forged, honest.clone()]))
        .await
        .unwrap();
    assert_eq!(next_message(&mut nodes[1]).await, honest);
    let m = nodes[1].metrics();
    assert_eq!(m.from_mismatch, 1);
    assert_eq!(m.messages_received, 1);
    still_serves(&mut nodes).await;
}

#[tokio::test]
async fn a_valid_certificate_for_an_unconfigured_node_is_closed() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 2);
    let node9 = ca.node_cert(9).unwrap();
    let conn = raw_connect(&node9, nodes[1].local_addr(), 2).await.unwrap();
    assert_eq!(
        closed_with(&conn).await,
        Some(CloseCode::UnknownPeer as u64)
    );
    assert_eq!(nodes[1].metrics().unknown_peer_connections, 1);
    still_serves(&mut nodes).await;
}

#[tokio::test]
async fn certificates_naming_no_node_or_two_are_closed() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 2);
    let none = ca.cert_for_names(&["example.org".to_string()]).unwrap();
    let two = ca
        .cert_for_names(&[tls::node_name(1), tls::node_name(3)])
        .unwrap();
    for material in [none, two] {
        let conn = raw_connect(&material, nodes[1].local_addr(), 2)
            .await
            .unwrap();
        assert_eq!(closed_with(&conn).await, Some(CloseCode::Identity as u64));
    }
    assert_eq!(nodes[1].metrics().bad_identity, 2);
    still_serves(&mut nodes).await;
}

#[tokio::test]
async fn a_dialer_refuses_a_server_that_is_not_the_expected_node() {
    let ca = DevCa::new().unwrap();
    let nodes = cluster(&ca, 3);
    let mut a = QuicTransport::bind(config(&ca, 1, any_port())).unwrap();
    // Node 2's address actually hosts node 3.
    a.set_peer(2, nodes[2].local_addr());
    a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, 0)]);
    assert_eq!(
        next_event(&mut a, WAIT).await,
        Some(TransportEvent::Unreachable(2))
    );
    assert_eq!(a.metrics().connect_failures, 1);
    assert_eq!(nodes[2].metrics().messages_received, 0);
}
