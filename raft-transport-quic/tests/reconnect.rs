//! Peers that go away and come back on the same address.

mod common;

use common::*;
use raft_core::{MessageType, NodeId, Transport};
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{Config, QuicTransport, TransportError};
use std::net::SocketAddr;
use std::time::Duration;

/// Binds `config`, retrying while the old incarnation's socket is released.
async fn rebind(config: Config) -> QuicTransport {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match QuicTransport::bind(config.clone()) {
            Ok(t) => return t,
            Err(TransportError::Bind { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("rebind failed: {e}"),
        }
    }
}

/// Sends a numbered heartbeat from `from` every 20 ms until `to` receives
/// one; returns how long that took.
async fn until_delivered(from: &mut QuicTransport, to: &mut QuicTransport) -> Duration {
    let start = tokio::time::Instant::now();
    let (f, t): (NodeId, NodeId) = (from.id(), to.id());
    for i in 0.. {
        assert!(start.elapsed() < WAIT, "{f} never reached {t} again");
        from.send(vec![msg(MessageType::MsgHeartbeat, f, t, i)]);
        if let Some(raft_core::TransportEvent::Message(m)) =
            next_event(to, Duration::from_millis(20)).await
        {
            assert_eq!((m.from, m.to), (f, t));
            break;
        }
    }
    start.elapsed()
}

fn pair(ca: &DevCa, idle: Duration) -> (Config, Config) {
    let mut a = config(ca, 1, any_port());
    let mut b = config(ca, 2, any_port());
    a.idle_timeout = idle;
    b.idle_timeout = idle;
    (a, b)
}

#[tokio::test]
async fn a_peer_that_shuts_down_and_restarts_is_reached_again() {
    let ca = DevCa::new().unwrap();
    let (ca_cfg, cb_cfg) = pair(&ca, Duration::from_secs(10));
    let mut a = QuicTransport::bind(ca_cfg).unwrap();
    let mut b = QuicTransport::bind(cb_cfg.clone()).unwrap();
    let b_addr = b.local_addr();
    a.set_peer(2, b_addr);
    b.set_peer(1, a.local_addr());
    until_delivered(&mut a, &mut b).await;
    until_delivered(&mut b, &mut a).await;

    b.shutdown().await;
    let mut b = rebind({
        let mut cfg = cb_cfg;
        cfg.listen = b_addr;
        cfg
    })
    .await;
    b.set_peer(1, a.local_addr());
    until_delivered(&mut a, &mut b).await;
    until_delivered(&mut b, &mut a).await;
    assert!(a.metrics().connections_dialed >= 1);
}

/// A crash sends no CONNECTION_CLOSE: node 1 keeps a connection it believes
/// alive. The restarted node 2 derives the same stateless-reset key from
/// its private key, answers node 1's next packet with a reset, and node 1
/// redials, all far sooner than the (deliberately long) idle timeout.
#[tokio::test]
async fn a_crashed_peer_is_reached_again_long_before_the_idle_timeout() {
    init_tracing();
    let ca = DevCa::new().unwrap();
    let idle = Duration::from_secs(60);
    let (ca_cfg, cb_cfg) = pair(&ca, idle);
    let mut a = QuicTransport::bind(ca_cfg).unwrap();
    let a_addr = a.local_addr();

    // Node 2 lives on its own runtime so that dropping the runtime kills
    // it mid-flight, like a crash.
    let crashing = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let b_cfg = cb_cfg.clone();
    let (b_addr, b) = std::thread::spawn(move || {
        let b = crashing.block_on(async { QuicTransport::bind(b_cfg).unwrap() });
        b.set_peer(1, a_addr);
        (b.local_addr(), (crashing, b))
    })
    .join()
    .unwrap();
    a.set_peer(2, b_addr);
    let (crashing, mut b) = b;
    // Drive node 2's runtime on a thread: it echoes until told to crash.
    let (crash, crash_rx) = tokio::sync::oneshot::channel::<()>();
    let runner = std::thread::spawn(move || {
        crashing.block_on(async {
            let echo = async {
                loop {
                    let m = next_message(&mut b).await;
                    b.send(vec![msg(MessageType::MsgHeartbeatResp, 2, 1, m.index)]);
                }
            };
            tokio::select! {
                _ = echo => {}
                _ = crash_rx => {}
            }
        });
        // Crash: the tasks and drivers vanish with the runtime before they
        // can send anything; only then is the handle dropped, which frees
        // the socket.
        drop(crashing);
        drop(b);
    });
    for i in 1..=3 {
        a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, i)]);
        assert_eq!(next_message(&mut a).await.index, i);
    }
    crash.send(()).unwrap();
    runner.join().unwrap();
    let dialed_before = a.metrics().connections_dialed;

    let mut b = rebind({
        let mut cfg = cb_cfg;
        cfg.listen = b_addr;
        cfg
    })
    .await;
    b.set_peer(1, a_addr);
    let took = until_delivered(&mut a, &mut b).await;
    until_delivered(&mut b, &mut a).await;
    assert!(took < idle / 4, "took {took:?}");
    assert!(a.metrics().connections_dialed + a.metrics().connections_accepted > dialed_before);
}

#[tokio::test]
async fn a_peer_that_was_down_at_first_is_reached_once_it_starts() {
    let ca = DevCa::new().unwrap();
    let mut a = QuicTransport::bind(config(&ca, 1, any_port())).unwrap();
    // Reserve an address, then leave it closed for a while.
    let b_addr: SocketAddr = std::net::UdpSocket::bind(any_port())
        .unwrap()
        .local_addr()
        .unwrap();
    a.set_peer(2, b_addr);
    a.send(vec![msg(MessageType::MsgHeartbeat, 1, 2, 0)]);
    assert_eq!(
        next_event(&mut a, WAIT).await,
        Some(raft_core::TransportEvent::Unreachable(2))
    );
    let mut b = rebind(config(&ca, 2, b_addr)).await;
    b.set_peer(1, a.local_addr());
    until_delivered(&mut a, &mut b).await;
    assert!(a.metrics().connect_failures >= 1);
}
