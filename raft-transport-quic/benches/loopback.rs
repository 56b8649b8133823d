//! Throughput on loopback: MsgApp batches of 1, 64 and 1024 entries of 256
//! bytes through `QuicTransport` (mutual TLS, the real peer tasks and
//! queues), and beside it, in the same group, the same codec's frames over
//! a plain TCP socket (encode per message, write, read, decode). The ratio
//! of the two is the price of QUIC + TLS + the transport's machinery.
//! QUIC runs once per setting in `KNOBS` (socket buffers, flow-control
//! windows, path MTU bound), so the settings compare in one run; the end
//! of the run prints each case's bytes per CPU-second of the process and
//! its ratio to TCP, which stays comparable when other processes load the
//! machine (wall-clock throughput does not).
//!
//! `cargo bench -p raft-transport-quic --bench loopback`

mod common;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft_core::{Entry, Message, MessageType, Transport, TransportEvent};
use raft_transport_quic::codec::{self, StreamDecoder};
use raft_transport_quic::{Config, QuicTransport};
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

/// The QUIC settings compared, each its own pair of nodes, selected by
/// name with `QUIC_KNOBS=name,name` (all when unset).
type Knob = (&'static str, fn(&mut Config));
const KNOBS: &[Knob] = &[
    ("quic-default", |_| {}),
    ("quic-sockbuf4m", |c| c.socket_buffer_size = Some(4 << 20)),
    ("quic-win1m", |c| {
        c.stream_receive_window = 1 << 20;
        c.send_window = 2 << 20;
    }),
    ("quic-sb4m-mtu9000", |c| {
        c.socket_buffer_size = Some(4 << 20);
        c.max_udp_payload = 9000;
    }),
];

impl Quic {
    async fn start(tune: fn(&mut Config)) -> Quic {
        let (mut a, mut b) = common::quic_pair(|c| {
            c.max_frame_size = MAX_FRAME;
            tune(c);
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

/// CPU time of the whole process so far (every thread, user and system),
/// from /proc/self/stat: unlike wall time it does not stretch when other
/// processes take the cores, so its ratios stay comparable on a loaded
/// machine. Zero where /proc is missing.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, in clock ticks (100 per second).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU time and bytes moved per case, summed over every criterion
/// iteration (warm-up included), printed as MiB per CPU-second and as the
/// ratio to TCP at the same entry count.
#[derive(Default)]
struct Ledger(std::collections::BTreeMap<(usize, &'static str), (Duration, u64)>);

impl Ledger {
    fn add(&mut self, case: &'static str, entries: usize, cpu: Duration, bytes: u64) {
        let e = self.0.entry((entries, case)).or_default();
        e.0 += cpu;
        e.1 += bytes;
    }

    fn rate(&self, entries: usize, case: &'static str) -> Option<f64> {
        let (cpu, bytes) = self.0.get(&(entries, case))?;
        Some(*bytes as f64 / (1 << 20) as f64 / cpu.as_secs_f64().max(1e-3))
    }

    fn print(&self) {
        println!("\nMiB moved per CPU-second of the process (all threads), ratio to tcp:");
        for &(entries, case) in self.0.keys() {
            let (Some(rate), Some(tcp)) = (self.rate(entries, case), self.rate(entries, "tcp"))
            else {
                continue;
            };
            println!(
                "  {entries:>5} entries  {case:<28} {rate:>8.1} MiB/CPU-s  {:.2}x tcp",
                rate / tcp
            );
        }
    }
}

fn loopback(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let only = std::env::var("QUIC_KNOBS").ok();
    let mut quics: Vec<_> = KNOBS
        .iter()
        .filter(|(name, _)| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|n| n == *name))
        })
        .map(|&(name, tune)| (name, rt.block_on(Quic::start(tune))))
        .collect();
    let mut tcp = rt.block_on(Tcp::start());
    let mut ledger = Ledger::default();
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
        let bytes = (n * frame.len()) as u64;
        for (name, quic) in &mut quics {
            group.bench_with_input(BenchmarkId::new(*name, entries), &m, |bench, m| {
                bench.iter_custom(|iters| {
                    let (start, cpu) = (Instant::now(), cpu_time());
                    for _ in 0..iters {
                        rt.block_on(quic.run(m, n));
                    }
                    ledger.add(name, entries, cpu_time() - cpu, iters * bytes);
                    start.elapsed()
                })
            });
        }
        group.bench_with_input(BenchmarkId::new("tcp", entries), &m, |bench, m| {
            bench.iter_custom(|iters| {
                let (start, cpu) = (Instant::now(), cpu_time());
                for _ in 0..iters {
                    rt.block_on(tcp.run(m, n));
                }
                ledger.add("tcp", entries, cpu_time() - cpu, iters * bytes);
                start.elapsed()
            })
        });
    }
    group.finish();
    ledger.print();
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
