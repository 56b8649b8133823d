//! Synced append throughput of RocksStorage beside MemStorage and beside a
//! plain file written with one `fdatasync` per batch — the disk's own limit
//! for the same bytes — and the cost of reading recent entries with and
//! without the tail cache; and RocksStorage appending while it snapshots
//! and compacts every 10,000 entries, beside the same appends without
//! compaction (the ratio of the two is the cost of compaction).
//!
//! `cargo bench -p raft-storage-rocks --bench append`
//!
//! Each append benchmark is timed write by write (`iter_custom`) so that
//! starting over on a fresh log every 128 MiB — which keeps memory and disk
//! use bounded — is not counted.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft_core::{ConfState, Entry, EntryId, HardState, LogStorage, LogWrite, MemStorage};
use raft_storage_rocks::{RocksStorage, StorageOptions};
use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PAYLOAD: usize = 256;
const BATCHES: [u64; 3] = [1, 64, 1024];
const RESTART_BYTES: u64 = 128 << 20;

fn batch(from: u64, len: u64, payload: &Bytes) -> Vec<Entry> {
    (from..from + len)
        .map(|index| Entry {
            term: 1,
            index,
            data: payload.clone(),
            ..Entry::default()
        })
        .collect()
}

fn log_write(entries: Vec<Entry>) -> LogWrite {
    let commit = entries.first().map_or(0, |e| e.index.saturating_sub(1));
    LogWrite::new(
        entries,
        Some(HardState {
            term: 1,
            vote: 1,
            commit,
        }),
        true,
    )
}

/// Something to append synced batches to, that can start over empty.
trait Sink {
    fn append(&mut self, from: u64, entries: Vec<Entry>);
    fn restart(&mut self);
}

struct Rocks {
    root: PathBuf,
    generation: u32,
    log: RocksStorage,
}

impl Rocks {
    fn new(root: &Path) -> Rocks {
        let log = Rocks::fresh(root, 0);
        Rocks {
            root: root.into(),
            generation: 0,
            log,
        }
    }

    fn fresh(root: &Path, generation: u32) -> RocksStorage {
        let path = root.join(format!("rocks-{generation}"));
        let voters = ConfState::with_voters([1]);
        RocksStorage::create(path, voters, EntryId::default()).expect("create log")
    }
}

impl Sink for Rocks {
    fn append(&mut self, _from: u64, entries: Vec<Entry>) {
        self.log.write(log_write(entries)).expect("write");
    }
    fn restart(&mut self) {
        let old = self.log.path().to_path_buf();
        self.generation += 1;
        self.log = Rocks::fresh(&self.root, self.generation);
        std::fs::remove_dir_all(old).expect("remove old log");
    }
}

/// A RocksDB log that, like a node with a compaction policy, snapshots
/// and drops its log every `every` entries; the snapshot and the range
/// delete are timed with the append that triggers them.
struct Compacting {
    rocks: Rocks,
    every: u64,
    snapshot_at: u64,
    data: Bytes,
}

impl Sink for Compacting {
    fn append(&mut self, from: u64, entries: Vec<Entry>) {
        let last = from + entries.len() as u64 - 1;
        self.rocks.append(from, entries);
        if last >= self.snapshot_at + self.every {
            let log = &mut self.rocks.log;
            LogStorage::create_snapshot(log, last, None, self.data.clone()).expect("snapshot");
            log.compact(last).expect("compact");
            self.snapshot_at = last;
        }
    }
    fn restart(&mut self) {
        self.rocks.restart();
        self.snapshot_at = 0;
    }
}

struct Mem(MemStorage);

impl Sink for Mem {
    fn append(&mut self, _from: u64, entries: Vec<Entry>) {
        self.0.write(log_write(entries)).expect("write");
    }
    fn restart(&mut self) {
        self.0 = MemStorage::with_voters([1]);
    }
}

/// The same bytes RocksStorage stores per entry (its value encoding), one
/// `write` and one `fdatasync` per batch.
struct PlainFile {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
}

impl PlainFile {
    fn new(root: &Path) -> PlainFile {
        let path = root.join("plain.log");
        let file = File::create(&path).expect("create file");
        PlainFile {
            path,
            file,
            buf: Vec::new(),
        }
    }
}

impl Sink for PlainFile {
    fn append(&mut self, _from: u64, entries: Vec<Entry>) {
        self.buf.clear();
        for e in &entries {
            self.buf.push(1);
            self.buf.push(0);
            self.buf.extend_from_slice(&e.term.to_be_bytes());
            self.buf.extend_from_slice(&e.data);
        }
        self.file.write_all(&self.buf).expect("write");
        self.file.sync_data().expect("fdatasync");
    }
    fn restart(&mut self) {
        self.file = File::create(&self.path).expect("recreate file");
    }
}

/// Times `iters` synced appends of `len`-entry batches, restarting the sink
/// (untimed) whenever it has taken `RESTART_BYTES`.
fn time_appends(sink: &mut dyn Sink, next: &mut u64, len: u64, iters: u64) -> Duration {
    let payload = Bytes::from(vec![0xa5; PAYLOAD]);
    let per_batch = len * PAYLOAD as u64;
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        if (*next - 1) * PAYLOAD as u64 + per_batch > RESTART_BYTES {
            sink.restart();
            *next = 1;
        }
        let entries = batch(*next, len, &payload);
        let start = Instant::now();
        sink.append(*next, entries);
        total += start.elapsed();
        *next += len;
    }
    total
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("append_synced_256B");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for len in BATCHES {
        let root = dir.path().join(format!("batch-{len}"));
        std::fs::create_dir(&root).expect("bench dir");
        group.throughput(Throughput::ElementsAndBytes {
            elements: len,
            bytes: len * PAYLOAD as u64,
        });
        let mut sinks: [(&str, Box<dyn Sink>); 3] = [
            ("plain_file_fdatasync", Box::new(PlainFile::new(&root))),
            ("rocksdb", Box::new(Rocks::new(&root))),
            ("mem_storage", Box::new(Mem(MemStorage::with_voters([1])))),
        ];
        for (name, sink) in sinks.iter_mut() {
            let mut next = 1;
            group.bench_function(BenchmarkId::new(*name, len), |b| {
                b.iter_custom(|iters| time_appends(sink.as_mut(), &mut next, len, iters))
            });
        }
    }
    group.finish();
}

/// Appends with and without compaction every 10,000 entries, side by side.
fn append_with_compaction(c: &mut Criterion) {
    const LEN: u64 = 64;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("append_synced_256B_compaction");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::ElementsAndBytes {
            elements: LEN,
            bytes: LEN * PAYLOAD as u64,
        });
    let plain = dir.path().join("plain");
    let compacting = dir.path().join("compacting");
    std::fs::create_dir(&plain).expect("bench dir");
    std::fs::create_dir(&compacting).expect("bench dir");
    let mut sinks: [(&str, Box<dyn Sink>); 2] = [
        ("rocksdb", Box::new(Rocks::new(&plain))),
        (
            "rocksdb_compact_every_10000",
            Box::new(Compacting {
                rocks: Rocks::new(&compacting),
                every: 10_000,
                snapshot_at: 0,
                // A small state machine: this measures the log's side of
                // compaction, not the application's serialization.
                data: Bytes::from(vec![0x3c; 4096]),
            }),
        ),
    ];
    for (name, sink) in sinks.iter_mut() {
        let mut next = 1;
        group.bench_function(BenchmarkId::new(*name, LEN), |b| {
            b.iter_custom(|iters| time_appends(sink.as_mut(), &mut next, LEN, iters))
        });
    }
    group.finish();
}

/// Reading the newest 64 entries and a recent term: from the tail cache,
/// from RocksDB's memtable (cache off), and from MemStorage.
fn read_recent(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let payload = Bytes::from(vec![0x5a; PAYLOAD]);
    let fill = |log: &mut dyn LogStorage| {
        for from in (1..=4096).step_by(256) {
            let mut w = log_write(batch(from, 256, &payload));
            w.sync = false;
            log.write(w).expect("write");
        }
    };
    let open = |name: &str, options: StorageOptions| {
        let path = dir.path().join(name);
        let voters = ConfState::with_voters([1]);
        RocksStorage::create_with(path, voters, EntryId::default(), options).expect("create")
    };
    let mut cached = open("cached", StorageOptions::default());
    let no_cache = StorageOptions::with_tail_cache(0, 0);
    let mut memtable = open("memtable", no_cache);
    let mut mem = MemStorage::with_voters([1]);
    fill(&mut cached);
    fill(&mut memtable);
    fill(&mut mem);

    let mut group = c.benchmark_group("read_recent_64x256B");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let logs: [(&str, &dyn LogStorage); 3] = [
        ("rocksdb_tail_cache", &cached),
        ("rocksdb_memtable", &memtable),
        ("mem_storage", &mem),
    ];
    for (name, log) in logs {
        group.throughput(Throughput::Elements(64));
        group.bench_function(BenchmarkId::new("entries", name), |b| {
            b.iter(|| black_box(log.entries(4096 - 63, 4097, u64::MAX).expect("read")))
        });
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("term", name), |b| {
            b.iter(|| black_box(log.term(black_box(4090)).expect("term")))
        });
    }
    group.finish();
}

criterion_group!(benches, append, append_with_compaction, read_recent);
criterion_main!(benches);
