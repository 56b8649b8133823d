//! Peers added and removed at run time.

mod common;

use common::*;
use raft_core::{MessageType, Transport, TransportEvent};
use raft_transport_quic::dev_certs::DevCa;
use std::time::Duration;

#[tokio::test]
async fn a_removed_peer_is_cut_off_and_can_be_added_back() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 3);
    let mut c = nodes.pop().unwrap();
    let mut b = nodes.pop().unwrap();
    let mut a = nodes.pop().unwrap();
    // A new peer joins at run time: both sides learn each other's address.
    let mut d = raft_transport_quic::QuicTransport::bind(config(&ca, 4, any_port())).unwrap();
    a.set_peer(4, d.local_addr());
    d.set_peer(1, a.local_addr());
    d.send(vec![msg(MessageType::MsgHeartbeat, 4, 1, 1)]);
    assert_eq!(next_message(&mut a).await.from, 4);
    a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, 1)]);
    assert_eq!(next_message(&mut b).await.from, 1);
    b.send(vec![msg(MessageType::MsgHeartbeatResp, 2, 1, 1)]);
    assert_eq!(next_message(&mut a).await.from, 2);

    // Node 1 removes node 2: the connection closes...
    assert!(a.remove_peer(2));
    assert!(!a.remove_peer(2), "already gone");
    // ...so node 2's next messages do not arrive; each is refused (on the
    // open connection, if it still looked open) or never connects.
    for i in 0..20 {
        b.send(vec![msg(MessageType::MsgHeartbeatResp, 2, 1, 10 + i)]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while let Some(event) = next_event(&mut a, Duration::from_millis(200)).await {
        if let TransportEvent::Message(m) = event {
            assert_ne!(m.from, 2, "a removed peer's message was delivered: {m:?}");
        }
    }
    let am = a.metrics();
    assert!(
        am.refused_removed_peer + am.unknown_peer_connections > 0,
        "{am:#?}"
    );
    // Sending to it is dropped and counted.
    let before = a.metrics().dropped_unknown_peer;
    a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, 99)]);
    assert_eq!(a.metrics().dropped_unknown_peer, before + 1);
    // Other peers are unaffected.
    c.send(vec![msg(MessageType::MsgHeartbeatResp, 3, 1, 1)]);
    assert_eq!(next_message(&mut a).await.from, 3);

    // Added back, it is reached again.
    a.set_peer(2, b.local_addr());
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "never reconnected");
        b.send(vec![msg(MessageType::MsgHeartbeatResp, 2, 1, 100)]);
        if let Some(TransportEvent::Message(m)) =
            next_event(&mut a, Duration::from_millis(50)).await
        {
            if m.from == 2 {
                break;
            }
        }
    }
}
