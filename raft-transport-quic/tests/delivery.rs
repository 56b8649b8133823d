//! Delivery over real sockets: ordering, batching, one connection per pair,
//! and every way a message can fail to leave (reported as Unreachable).

mod common;

use common::*;
use raft_core::{MessageType, Transport, TransportEvent};
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{QuicTransport, MIN_SOCKET_BUFFER, MIN_WINDOW};
use std::time::Duration;

#[tokio::test]
async fn messages_arrive_in_order_over_one_connection_per_pair() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 2);
    let sent: Vec<_> = (0..500)
        .map(|i| app(1, 2, i, (i % 4) as usize, 100))
        .collect();
    // Many send calls, so batches of every size interleave with I/O.
    for chunk in sent.chunks(7) {
        nodes[0].send(chunk.to_vec());
        tokio::task::yield_now().await;
    }
    for want in &sent {
        assert_eq!(&next_message(&mut nodes[1]).await, want);
    }
    // The reply travels back over the connection node 1 opened.
    let reply = msg(MessageType::MsgAppResp, 2, 1, 499);
    nodes[1].send(vec![reply.clone()]);
    assert_eq!(next_message(&mut nodes[0]).await, reply);
    let (a, b) = (nodes[0].metrics(), nodes[1].metrics());
    assert_eq!(
        a.connections_dialed + b.connections_dialed,
        1,
        "{a:#?}\n{b:#?}"
    );
    assert_eq!(a.connections_accepted + b.connections_accepted, 1);
    assert_eq!(b.messages_received, 500);
    assert_eq!(a.messages_sent, 500);
}

#[tokio::test]
async fn the_smallest_windows_and_socket_buffers_still_carry_a_long_burst() {
    let ca = DevCa::new().unwrap();
    let small = |id| {
        let mut c = config(&ca, id, any_port());
        c.stream_receive_window = MIN_WINDOW as u32;
        c.send_window = MIN_WINDOW;
        c.socket_buffer_size = Some(MIN_SOCKET_BUFFER);
        QuicTransport::bind(c).unwrap()
    };
    let mut nodes = vec![small(1), small(2)];
    connect_all(&nodes);
    // 4 MiB through a 64 KiB window: the sender must wait for credit again
    // and again, and the batch's frame spans thousands of received chunks.
    let sent: Vec<_> = (0..128).map(|i| app(1, 2, i, 64, 512)).collect();
    nodes[0].send(sent.clone());
    for want in &sent {
        assert_eq!(&next_message(&mut nodes[1]).await, want);
    }
    let (a, b) = (nodes[0].metrics(), nodes[1].metrics());
    assert_eq!(a.dropped_queue_full + a.dropped_connection, 0, "{a:#?}");
    assert_eq!(b.messages_received, 128);
    assert!(b.bytes_received > 4 << 20, "{b:#?}");
}

#[tokio::test]
async fn messages_sent_together_travel_as_one_frame() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 2);
    nodes[0].send(vec![msg(MessageType::MsgHeartbeat, 1, 2, 0)]);
    next_message(&mut nodes[1]).await;
    let before = nodes[0].metrics();
    // On this single-threaded runtime the peer task cannot run during
    // `send`, so it finds all 64 queued and writes them at once.
    let batch: Vec<_> = (1..=64).map(|i| app(1, 2, i, 2, 32)).collect();
    nodes[0].send(batch.clone());
    for want in &batch {
        assert_eq!(&next_message(&mut nodes[1]).await, want);
    }
    let after = nodes[0].metrics();
    assert_eq!(after.messages_sent - before.messages_sent, 64);
    assert_eq!(after.frames_sent - before.frames_sent, 1);
    wait_for(&nodes[1], "frames counted", |m| m.frames_received == 2).await;
}

#[tokio::test]
async fn each_peer_gets_its_own_messages() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 3);
    let to2: Vec<_> = (0..50).map(|i| msg(MessageType::MsgApp, 1, 2, i)).collect();
    let to3: Vec<_> = (0..50).map(|i| msg(MessageType::MsgApp, 1, 3, i)).collect();
    let mixed: Vec<_> = to2
        .iter()
        .zip(&to3)
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    nodes[0].send(mixed);
    for want in &to2 {
        assert_eq!(&next_message(&mut nodes[1]).await, want);
    }
    for want in &to3 {
        assert_eq!(&next_message(&mut nodes[2]).await, want);
    }
}

#[tokio::test]
async fn a_full_queue_drops_and_reports_unreachable() {
    let ca = DevCa::new().unwrap();
    let mut cfg = config(&ca, 1, any_port());
    cfg.queue_size = 4;
    let mut a = QuicTransport::bind(cfg).unwrap();
    let mut b = QuicTransport::bind(config(&ca, 2, any_port())).unwrap();
    a.set_peer(2, b.local_addr());
    b.set_peer(1, a.local_addr());
    // The peer task cannot drain the queue while `send` runs.
    a.send((0..10).map(|i| msg(MessageType::MsgApp, 1, 2, i)).collect());
    assert_eq!(a.try_recv(), Some(TransportEvent::Unreachable(2)));
    assert_eq!(a.try_recv(), None, "one report per peer, not per message");
    assert_eq!(a.metrics().dropped_queue_full, 6);
    // The four that fit still arrive, in order.
    for i in 0..4 {
        assert_eq!(next_message(&mut b).await.index, i);
    }
}

#[tokio::test]
async fn unknown_peers_are_unreachable() {
    let ca = DevCa::new().unwrap();
    let mut nodes = cluster(&ca, 1);
    nodes[0].send(vec![msg(MessageType::MsgHeartbeat, 1, 9, 0)]);
    assert_eq!(nodes[0].try_recv(), Some(TransportEvent::Unreachable(9)));
    assert_eq!(nodes[0].metrics().dropped_unknown_peer, 1);
}

#[tokio::test]
async fn a_failed_dial_is_unreachable_and_backs_off() {
    let ca = DevCa::new().unwrap();
    let mut cfg = config(&ca, 1, any_port());
    cfg.connect_timeout = Duration::from_millis(200);
    cfg.backoff.initial = Duration::from_secs(30);
    cfg.backoff.max = Duration::from_secs(30);
    let mut a = QuicTransport::bind(cfg).unwrap();
    // A UDP socket that never answers.
    let silent = std::net::UdpSocket::bind(any_port()).unwrap();
    a.set_peer(2, silent.local_addr().unwrap());
    a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, 0)]);
    assert_eq!(
        next_event(&mut a, WAIT).await,
        Some(TransportEvent::Unreachable(2))
    );
    assert_eq!(a.metrics().connect_failures, 1);
    // Within the backoff, messages are dropped at once without a new dial.
    a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, 1)]);
    assert_eq!(
        next_event(&mut a, Duration::from_secs(1)).await,
        Some(TransportEvent::Unreachable(2))
    );
    let m = a.metrics();
    assert_eq!(m.connect_failures, 1);
    assert_eq!(m.dropped_connection, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_nodes_dialing_at_once_converge_on_one_connection() {
    let ca = DevCa::new().unwrap();
    for _ in 0..5 {
        let mut nodes = cluster(&ca, 2);
        nodes[0].send(vec![msg(MessageType::MsgVote, 1, 2, 1)]);
        nodes[1].send(vec![msg(MessageType::MsgVote, 2, 1, 1)]);
        assert_eq!(next_message(&mut nodes[1]).await.from, 1);
        assert_eq!(next_message(&mut nodes[0]).await.from, 2);
        // Whatever happened in the race, traffic keeps flowing both ways
        // and nothing written on the losing connection is lost.
        for i in 2..40 {
            nodes[0].send(vec![msg(MessageType::MsgApp, 1, 2, i)]);
            nodes[1].send(vec![msg(MessageType::MsgAppResp, 2, 1, i)]);
            assert_eq!(next_message(&mut nodes[1]).await.index, i);
            assert_eq!(next_message(&mut nodes[0]).await.index, i);
        }
        let (a, b) = (nodes[0].metrics(), nodes[1].metrics());
        assert_eq!(
            a.dropped_connection + b.dropped_connection,
            0,
            "{a:#?}\n{b:#?}"
        );
    }
}
