//! Catching up a follower by a 64 MiB snapshot on loopback, two ways side by
//! side in one group:
//!
//! - `quic`: a `MsgSnap` through `QuicTransport` (mutual TLS, its own
//!   stream, chunked writes, reassembly into one buffer), timed until the
//!   follower has the message and the leader has its `Finish` report;
//! - `tcp`: the same bytes over a plain tokio `TcpStream`, length-prefixed,
//!   read into one buffer of the announced size, then a one-byte ack back.
//!
//! The ratio of the two is what QUIC + TLS + the transport cost a snapshot.
//!
//! `cargo bench -p raft-transport-quic --bench snapshot`

mod common;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use raft_core::Transport;
use raft_core::{ConfState, Message, MessageType, Snapshot, SnapshotStatus, TransportEvent};
use raft_transport_quic::QuicTransport;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

const SIZE: usize = 64 << 20;
const STALL: Duration = Duration::from_secs(60);

fn msg_snap(data: Bytes) -> Message {
    let mut m = Message::new(MessageType::MsgSnap);
    (m.from, m.to, m.term) = (1, 2, 7);
    m.snapshot = Some(Box::new(Snapshot::new(
        100_000,
        7,
        ConfState::with_voters([1, 2, 3]),
        data,
    )));
    m
}

struct Quic {
    a: QuicTransport,
    b: QuicTransport,
}

impl Quic {
    async fn start() -> Quic {
        let (a, b) = common::quic_pair(|_| {});
        // Connect before measuring.
        let mut quic = Quic { a, b };
        quic.run(&msg_snap(Bytes::new())).await;
        quic
    }

    async fn run(&mut self, m: &Message) {
        self.a.send(vec![m.clone()]);
        match tokio::time::timeout(STALL, self.b.recv()).await {
            Ok(Some(TransportEvent::Message(got))) => {
                assert_eq!(
                    got.snapshot.map(|s| s.data.len()),
                    m.snapshot.as_ref().map(|s| s.data.len())
                );
            }
            other => panic!("QUIC delivery failed: {other:?}; {:#?}", self.a.metrics()),
        }
        match tokio::time::timeout(STALL, self.a.recv()).await {
            Ok(Some(TransportEvent::SnapshotReport(2, SnapshotStatus::Finish))) => {}
            other => panic!("no Finish report: {other:?}; {:#?}", self.a.metrics()),
        }
    }
}

struct Tcp {
    leader: TcpStream,
    follower: TcpStream,
}

impl Tcp {
    async fn start() -> Tcp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (leader, follower) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let leader = leader.unwrap();
        leader.set_nodelay(true).unwrap();
        Tcp {
            leader,
            follower: follower.unwrap().0,
        }
    }

    async fn run(&mut self, data: &Bytes) {
        let leader = &mut self.leader;
        let send = async move {
            leader
                .write_all(&(data.len() as u64).to_be_bytes())
                .await
                .unwrap();
            leader.write_all(data).await.unwrap();
            let mut ack = [1u8];
            leader.read_exact(&mut ack).await.unwrap();
            assert_eq!(ack, [0]);
        };
        let follower = &mut self.follower;
        let receive = async move {
            let mut len = [0u8; 8];
            follower.read_exact(&mut len).await.unwrap();
            let len = u64::from_be_bytes(len) as usize;
            let mut buf = Vec::with_capacity(len);
            while buf.len() < len {
                let n = follower.read_buf(&mut buf).await.unwrap();
                assert!(n > 0, "TCP leader closed");
            }
            let snapshot = Bytes::from(buf);
            assert_eq!(snapshot.len(), len);
            follower.write_all(&[0]).await.unwrap();
        };
        tokio::time::timeout(STALL, async { tokio::join!(send, receive) })
            .await
            .expect("TCP transfer stalled");
    }
}

fn snapshot(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let data: Bytes = (0..SIZE)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let m = msg_snap(data.clone());
    let mut quic = rt.block_on(Quic::start());
    let mut tcp = rt.block_on(Tcp::start());
    let mut group = c.benchmark_group("snapshot_64MiB");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.bench_function("quic", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(quic.run(&m));
            }
            start.elapsed()
        })
    });
    group.bench_function("tcp", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(tcp.run(&data));
            }
            start.elapsed()
        })
    });
    group.finish();
    let sent = quic.a.metrics();
    assert_eq!(sent.snapshot_send_failures, 0, "{sent:#?}");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = snapshot
}
criterion_main!(benches);
