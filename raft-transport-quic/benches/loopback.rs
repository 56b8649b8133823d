//! Throughput on loopback: MsgApp batches of 1, 64 and 1024 entries of 256
//! bytes through `QuicTransport` (mutual TLS, the real peer tasks and
//! queues), and beside it, in the same group, the same codec's frames over
//! a plain TCP socket (encode per message, write, read, decode). The ratio
//! of the two is the price of QUIC + TLS + the transport's machinery.
//! QUIC runs once per setting in `KNOBS` (path MTU bound, segmentation
//! offload), so the settings compare in one run.
//!
//! `cargo bench -p raft-transport-quic --bench loopback`

mod common;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft_core::{Entry, Message, MessageType, Transport, TransportEvent};
use raft_transport_quic::codec::{self, StreamDecoder};
use raft_transport_quic::QuicTransport;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::runtime::Runtime;

const ENTRY_SIZE: usize = 256;
const MAX_FRAME: u32 = 16 << 20;
const STALL: Duration = Duration::from_secs(30);

fn msg_app(entries: usize) -> Message {
    let mut m = Message::new(MessageType::MsgApp);
    (m.from, m.to, m.term, m.index, m.log_term, m.commit) = (1, 2, 7, 1000, 7, 990);
    m.entries = (0..entries as u64)
        .map(|i| Entry {
            term: 7,
            index: 1001 + i,
            ..Entry::new(Bytes::from(vec![(i % 251) as u8; ENTRY_SIZE]))
        })
        .collect();
    m
}

/// Messages per iteration: a few MB each, so one iteration is many writes.
fn burst(entries: usize) -> usize {
    match entries {
        1 => 2000,
        64 => 200,
        _ => 16,
    }
}

struct Quic {
    a: QuicTransport,
    b: QuicTransport,
}

/// The QUIC settings compared, each its own pair of nodes: (name, largest
/// UDP payload, segmentation offload).
const KNOBS: [(&str, u16, bool); 5] = [
    ("quic-mtu1452", 1452, true),
    ("quic-mtu1452-nogso", 1452, false),
    ("quic-mtu9000", 9000, true),
    ("quic-mtu65000", 65000, true),
    ("quic-mtu65000-nogso", 65000, false),
];

impl Quic {
    async fn start(mtu: u16, gso: bool) -> Quic {
        let (mut a, mut b) = common::quic_pair(|c| {
            c.max_frame_size = MAX_FRAME;
            c.max_udp_payload = mtu;
            c.segmentation_offload = gso;
        });
        // Connect before measuring.
        a.send(vec![msg_app(0)]);
        assert!(matches!(b.recv().await, Some(TransportEvent::Message(_))));
        Quic { a, b }
    }

    async fn run(&mut self, m: &Message, n: usize) {
        for _ in 0..n {
            self.a.send(vec![m.clone()]);
        }
        for _ in 0..n {
            match tokio::time::timeout(STALL, self.b.recv()).await {
                Ok(Some(TransportEvent::Message(_))) => {}
                other => panic!("QUIC delivery failed: {other:?}; {:#?}", self.a.metrics()),
            }
        }
    }
}

struct Tcp {
    tx: OwnedWriteHalf,
    rx: OwnedReadHalf,
    decoder: StreamDecoder,
    buf: BytesMut,
    out: BytesMut,
}

impl Tcp {
    async fn start() -> Tcp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        let client = client.unwrap();
        let (server, _) = server.unwrap();
        client.set_nodelay(true).unwrap();
        let (_, mut tx) = client.into_split();
        let (rx, _) = server.into_split();
        let mut header = BytesMut::new();
        codec::encode_header(&mut header);
        tx.write_all(&header).await.unwrap();
        Tcp {
            tx,
            rx,
            decoder: StreamDecoder::new(MAX_FRAME),
            buf: BytesMut::with_capacity(1 << 20),
            out: BytesMut::new(),
        }
    }

    async fn run(&mut self, m: &Message, n: usize) {
        let (tx, out) = (&mut self.tx, &mut self.out);
        let writer = async move {
            for _ in 0..n {
                out.clear();
                codec::encode_frames(std::slice::from_ref(m), MAX_FRAME, out);
                tx.write_all(out).await.unwrap();
            }
        };
        let (rx, buf, decoder) = (&mut self.rx, &mut self.buf, &mut self.decoder);
        let reader = async move {
            let mut got = 0;
            while got < n {
                while let Some(batch) = decoder.next_batch().unwrap() {
                    got += batch.len();
                }
                if got >= n {
                    break;
                }
                buf.clear();
                let read = tokio::time::timeout(STALL, rx.read_buf(buf))
                    .await
                    .unwrap()
                    .unwrap();
                assert!(read > 0, "TCP peer closed");
                decoder.push(buf);
            }
        };
        tokio::join!(writer, reader);
    }
}

fn loopback(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut quics: Vec<_> = KNOBS
        .iter()
        .map(|&(name, mtu, gso)| (name, rt.block_on(Quic::start(mtu, gso))))
        .collect();
    let mut tcp = rt.block_on(Tcp::start());
    let mut group = c.benchmark_group("loopback");
    for entries in [1usize, 64, 1024] {
        let m = msg_app(entries);
        let n = burst(entries);
        let mut frame = BytesMut::new();
        codec::encode_frames(std::slice::from_ref(&m), MAX_FRAME, &mut frame);
        group.throughput(Throughput::ElementsAndBytes {
            elements: n as u64,
            bytes: (n * frame.len()) as u64,
        });
        for (name, quic) in &mut quics {
            group.bench_with_input(BenchmarkId::new(*name, entries), &m, |bench, m| {
                bench.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        rt.block_on(quic.run(m, n));
                    }
                    start.elapsed()
                })
            });
        }
        group.bench_with_input(BenchmarkId::new("tcp", entries), &m, |bench, m| {
            bench.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    rt.block_on(tcp.run(m, n));
                }
                start.elapsed()
            })
        });
    }
    group.finish();
    for (name, quic) in &quics {
        let sent = quic.a.metrics();
        assert_eq!(
            sent.dropped_queue_full + sent.dropped_connection,
            0,
            "{name}: {sent:#?}"
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = loopback
}
criterion_main!(benches);
