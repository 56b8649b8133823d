//! Snapshots between real nodes: each on its own stream, reported exactly
//! once, refused over the limit on either side, never in the way of the
//! messages sent after them.

mod common;

use common::*;
use raft_core::{MessageType, SnapshotStatus, Transport, TransportEvent};
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::QuicTransport;

const MIB: usize = 1 << 20;

fn pair(ca: &DevCa, limit1: u64, limit2: u64) -> (QuicTransport, QuicTransport) {
    let mut c1 = config(ca, 1, any_port());
    c1.max_snapshot_size = limit1;
    let mut c2 = config(ca, 2, any_port());
    c2.max_snapshot_size = limit2;
    let a = QuicTransport::bind(c1).unwrap();
    let b = QuicTransport::bind(c2).unwrap();
    a.set_peer(2, b.local_addr());
    b.set_peer(1, a.local_addr());
    (a, b)
}

/// A heartbeat each way: the connection is up and usable.
async fn still_talking(a: &mut QuicTransport, b: &mut QuicTransport, i: u64) {
    let hb = msg(MessageType::MsgHeartbeat, 1, 2, i);
    a.send(vec![hb.clone()]);
    assert_eq!(next_message(b).await, hb);
    let resp = msg(MessageType::MsgHeartbeatResp, 2, 1, i);
    b.send(vec![resp.clone()]);
    assert_eq!(next_message(a).await, resp);
}

#[tokio::test]
async fn a_multi_mib_snapshot_arrives_whole_and_is_reported_finished() {
    let ca = DevCa::new().unwrap();
    let (mut a, mut b) = pair(&ca, 1 << 30, 1 << 30);
    let m = snap(1, 2, 500, 24 * MIB + 7);
    a.send(vec![m.clone()]);
    let got = next_message(&mut b).await;
    assert!(got == m, "the snapshot arrived changed");
    assert_eq!(next_report(&mut a).await, (2, SnapshotStatus::Finish));
    let (sa, sb) = (a.metrics(), b.metrics());
    let len = (24 * MIB + 7) as u64;
    assert_eq!((sa.snapshots_sent, sa.snapshot_bytes_sent), (1, len));
    assert_eq!(
        (sb.snapshots_received, sb.snapshot_bytes_received),
        (1, len)
    );
    assert_eq!(sa.snapshot_send_failures + sb.snapshot_streams_rejected, 0);
    // Nothing of it went through the message frames.
    assert_eq!(sa.frames_sent, 0);
    still_talking(&mut a, &mut b, 1).await;
}

#[tokio::test]
async fn heartbeats_sent_after_a_big_snapshot_overtake_it() {
    let ca = DevCa::new().unwrap();
    let (mut a, mut b) = pair(&ca, 1 << 30, 1 << 30);
    still_talking(&mut a, &mut b, 0).await;
    let m = snap(1, 2, 500, 32 * MIB);
    a.send(vec![m]);
    // Wait (on this one thread, without sleeping) until the snapshot's data
    // is being written, then send heartbeats behind it.
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.metrics().snapshot_bytes_sent == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "snapshot never started"
        );
        tokio::task::yield_now().await;
    }
    for i in 1..=5 {
        a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, i)]);
    }
    let mut order = Vec::new();
    while order.last() != Some(&MessageType::MsgSnap) {
        order.push(next_message(&mut b).await.msg_type);
    }
    let mut want = vec![MessageType::MsgHeartbeat; 5];
    want.push(MessageType::MsgSnap);
    assert_eq!(order, want, "a heartbeat waited behind the snapshot");
    assert_eq!(next_report(&mut a).await, (2, SnapshotStatus::Finish));
}

#[tokio::test]
async fn every_snapshot_gets_exactly_one_report() {
    let ca = DevCa::new().unwrap();
    let (mut a, mut b) = pair(&ca, 1 << 30, 1 << 30);
    // Three at once to a live peer (mixed with other messages), one to a
    // peer with no address.
    a.send(vec![
        snap(1, 2, 10, 1000),
        msg(MessageType::MsgApp, 1, 2, 10),
        snap(1, 2, 11, 0),
        snap(1, 9, 12, 10),
        snap(1, 2, 13, 3 * MIB),
    ]);
    let mut reports = Vec::new();
    let mut messages = Vec::new();
    while reports.len() < 4 {
        tokio::select! {
            e = next_event(&mut a, WAIT) => match e {
                Some(TransportEvent::SnapshotReport(p, s)) => reports.push((p, s)),
                Some(TransportEvent::Unreachable(9)) => {}
                other => panic!("unexpected {other:?}"),
            },
            m = next_message(&mut b) => messages.push(m.index),
        }
    }
    reports.sort_by_key(|(p, _)| *p);
    assert_eq!(
        reports,
        vec![
            (2, SnapshotStatus::Finish),
            (2, SnapshotStatus::Finish),
            (2, SnapshotStatus::Finish),
            (9, SnapshotStatus::Failure),
        ]
    );
    while messages.len() < 4 {
        messages.push(next_message(&mut b).await.index);
    }
    messages.sort_unstable();
    let snaps: Vec<u64> = messages.iter().copied().filter(|i| *i != 10).collect();
    assert_eq!(messages.len(), 4);
    assert_eq!(snaps.len(), 3, "{messages:?}");
    // And no late extra report.
    assert_eq!(
        next_event(&mut a, std::time::Duration::from_millis(200)).await,
        None
    );
}

#[tokio::test]
async fn the_sender_refuses_a_snapshot_over_its_limit() {
    let ca = DevCa::new().unwrap();
    let (mut a, mut b) = pair(&ca, MIB as u64, 1 << 30);
    a.send(vec![snap(1, 2, 10, 2 * MIB)]);
    assert_eq!(next_report(&mut a).await, (2, SnapshotStatus::Failure));
    let m = a.metrics();
    assert_eq!((m.snapshots_oversized, m.snapshot_send_failures), (1, 1));
    assert_eq!(m.snapshot_bytes_sent, 0);
    still_talking(&mut a, &mut b, 1).await;
    assert_eq!(b.metrics().snapshots_received, 0);
    // At the limit is fine.
    a.send(vec![snap(1, 2, 11, MIB)]);
    assert_eq!(next_message(&mut b).await.msg_type, MessageType::MsgSnap);
    assert_eq!(next_report(&mut a).await, (2, SnapshotStatus::Finish));
}

#[tokio::test]
async fn the_receiver_refuses_a_snapshot_over_its_limit_and_keeps_the_connection() {
    let ca = DevCa::new().unwrap();
    let (mut a, mut b) = pair(&ca, 1 << 30, MIB as u64);
    still_talking(&mut a, &mut b, 0).await;
    a.send(vec![snap(1, 2, 10, 4 * MIB)]);
    assert_eq!(next_report(&mut a).await, (2, SnapshotStatus::Failure));
    let m = b.metrics();
    assert_eq!((m.snapshot_too_large, m.snapshot_streams_rejected), (1, 1));
    assert_eq!(m.decode_errors(), 0);
    assert!(m.snapshot_bytes_received < 4 * MIB as u64, "{m:#?}");
    assert_eq!(a.metrics().snapshot_send_failures, 1);
    still_talking(&mut a, &mut b, 1).await;
    let (ma, mb) = (a.metrics(), b.metrics());
    assert_eq!(
        ma.connections_dialed + mb.connections_dialed,
        1,
        "reconnected"
    );
}

#[tokio::test]
async fn a_snapshot_to_an_unreachable_peer_fails() {
    let ca = DevCa::new().unwrap();
    let mut cfg = config(&ca, 1, any_port());
    cfg.connect_timeout = std::time::Duration::from_millis(200);
    let mut a = QuicTransport::bind(cfg).unwrap();
    let silent = std::net::UdpSocket::bind(any_port()).unwrap();
    a.set_peer(2, silent.local_addr().unwrap());
    a.send(vec![snap(1, 2, 10, 1000)]);
    assert_eq!(next_report(&mut a).await, (2, SnapshotStatus::Failure));
    assert_eq!(a.metrics().snapshot_send_failures, 1);
}
