//! The cluster through the runtime, against the disk's own limits, in one
//! run:
//!
//! - `cluster_throughput`: committed entries/s (256-byte entries) with 1, 64,
//!   256 and 4,096 closed-loop proposers for memory + in-process transport
//!   and, beside it in the same group and alternating with it, openraft 0.9
//!   in the same scenario (`support/openraft_group.rs`); then 1, 64 and 256
//!   proposers for RocksDB + in-process and RocksDB + QUIC;
//! - `cluster_latency`: one proposer, commit latency per proposal;
//! - `disk_limit`: sequential 1 MiB writes with fdatasync each, and one
//!   4 KiB write + fdatasync;
//! - `storage_writes`: RocksDB + QUIC, 4 KiB entries, 256 proposers, the
//!   runtime's background writes (append thread, group commit) beside its
//!   inline writes, alternating, with the disk's sequential 1 MiB +
//!   fdatasync rate measured in the same group.
//!
//! After criterion's report, a summary prints throughput and p50/p99 as
//! measured here, and the ratios the targets are judged by (raft-node ÷
//! openraft per proposer count among them).

#[path = "support/openraft_group.rs"]
mod openraft_group;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use raft_benches::limits::{synced_appends, synced_overwrites};
use raft_cluster::cluster::{LocalCluster, StorageKind, TransportKind};
use raft_cluster::load::{percentile, run_load, LoadSpec};
use raft_node::{SnapshotPolicy, StorageWrites};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const ENTRY_SIZE: usize = 256;
const COMBOS: [(StorageKind, TransportKind, &str); 3] = [
    (StorageKind::Memory, TransportKind::InProcess, MEM),
    (StorageKind::Rocks, TransportKind::InProcess, "rocks+inproc"),
    (StorageKind::Rocks, TransportKind::Quic, "rocks+quic"),
];
const MEM: &str = "mem+inproc";
const OPENRAFT: &str = "openraft";
/// Proposer counts of the memory + in-process and openraft cases.
const SIDE_BY_SIDE: [usize; 4] = [1, 64, 256, 4096];
/// Proposer counts of the RocksDB cases.
const ON_DISK: [usize; 3] = [1, 64, 256];

/// What the summary needs, gathered while criterion measures.
#[derive(Default)]
struct Observed {
    /// (combo, proposers) -> (entries, time)
    throughput: BTreeMap<(String, usize), (u64, Duration)>,
    /// combo -> commit latencies with one proposer
    latency: BTreeMap<String, Vec<Duration>>,
    mib_sync: Vec<Duration>,
    page_sync: Vec<Duration>,
    page_overwrite_sync: Vec<Duration>,
    /// `storage_writes`: mode -> (entries, time)
    writes: BTreeMap<&'static str, (u64, Duration)>,
    /// `storage_writes`: the disk's 1 MiB + fdatasync times, same group
    writes_disk: Vec<Duration>,
}

static OBSERVED: Mutex<Option<Observed>> = Mutex::new(None);

fn observe(f: impl FnOnce(&mut Observed)) {
    if let Ok(mut guard) = OBSERVED.lock() {
        f(guard.get_or_insert_with(Observed::default));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A 3-node cluster with a leader, ready for load.
fn start(
    rt: &tokio::runtime::Runtime,
    storage: StorageKind,
    transport: TransportKind,
) -> LocalCluster {
    let cluster = rt
        .block_on(LocalCluster::start(3, storage, transport, None))
        .expect("cluster starts");
    rt.block_on(cluster.wait_for_leader(Duration::from_secs(10)))
        .expect("leader");
    cluster
}

/// Enough proposals per iteration for every proposer to go round several
/// times.
fn per_iter(proposers: usize) -> u64 {
    (proposers as u64 * 8).max(64)
}

fn record(name: &str, proposers: usize, entries: u64, elapsed: Duration) {
    observe(|o| {
        let slot = o
            .throughput
            .entry((name.to_string(), proposers))
            .or_default();
        slot.0 += entries;
        slot.1 += elapsed;
    });
}

/// Measures one raft-node combination at `proposers`.
fn bench_node(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    cluster: &LocalCluster,
    name: &'static str,
    proposers: usize,
) {
    let entries = per_iter(proposers);
    group.throughput(Throughput::Elements(entries));
    group.bench_with_input(BenchmarkId::new(name, proposers), &proposers, |b, &p| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let spec = LoadSpec {
                    entries,
                    entry_size: ENTRY_SIZE,
                    proposers: p,
                };
                let report = rt.block_on(run_load(cluster, &spec, None)).expect("load");
                total += report.elapsed;
                record(name, p, report.acks.len() as u64, report.elapsed);
            }
            total
        });
    });
}

fn cluster_throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cluster_throughput");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    // raft-node in memory and openraft alternate at each proposer count, so
    // that a change in the machine's load falls on both alike.
    let mem = start(&rt, StorageKind::Memory, TransportKind::InProcess);
    let openraft = rt
        .block_on(openraft_group::Group::start(3))
        .expect("openraft group starts");
    for proposers in SIDE_BY_SIDE {
        bench_node(&mut group, &rt, &mem, MEM, proposers);
        let entries = per_iter(proposers);
        group.throughput(Throughput::Elements(entries));
        group.bench_with_input(
            BenchmarkId::new(OPENRAFT, proposers),
            &proposers,
            |b, &p| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (written, elapsed) = rt
                            .block_on(openraft.run_clients(p, entries, ENTRY_SIZE))
                            .expect("openraft load");
                        total += elapsed;
                        record(OPENRAFT, p, written, elapsed);
                    }
                    total
                });
            },
        );
    }
    rt.block_on(openraft.shutdown()).expect("openraft shutdown");
    rt.block_on(mem.shutdown()).expect("shutdown");
    for (storage, transport, name) in COMBOS {
        if name == MEM {
            continue;
        }
        let cluster = start(&rt, storage, transport);
        for proposers in ON_DISK {
            bench_node(&mut group, &rt, &cluster, name, proposers);
        }
        rt.block_on(cluster.shutdown()).expect("shutdown");
    }
    group.finish();
}

fn cluster_latency(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cluster_latency");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for (storage, transport, name) in COMBOS {
        let cluster = start(&rt, storage, transport);
        group.bench_function(BenchmarkId::new(name, "1 proposer"), |b| {
            b.iter_custom(|iters| {
                let spec = LoadSpec {
                    entries: iters,
                    entry_size: ENTRY_SIZE,
                    proposers: 1,
                };
                let report = rt.block_on(run_load(&cluster, &spec, None)).expect("load");
                observe(|o| {
                    o.latency
                        .entry(name.to_string())
                        .or_default()
                        .extend(&report.latencies)
                });
                report.latencies.iter().sum()
            });
        });
        rt.block_on(cluster.shutdown()).expect("shutdown");
    }
    group.finish();
}

fn disk_limit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("disk_limit");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(1 << 20));
    group.bench_function("write_1MiB_fdatasync", |b| {
        b.iter_custom(|iters| {
            let times = synced_appends(dir.path(), 1 << 20, iters as usize).expect("disk");
            observe(|o| o.mib_sync.extend(&times));
            times.iter().sum()
        })
    });
    group.throughput(Throughput::Bytes(4096));
    group.bench_function("write_4KiB_fdatasync", |b| {
        b.iter_custom(|iters| {
            let times = synced_appends(dir.path(), 4096, iters as usize).expect("disk");
            observe(|o| o.page_sync.extend(&times));
            times.iter().sum()
        })
    });
    group.bench_function("overwrite_4KiB_fdatasync", |b| {
        b.iter_custom(|iters| {
            let times = synced_overwrites(dir.path(), 4096, iters as usize).expect("disk");
            observe(|o| o.page_overwrite_sync.extend(&times));
            times.iter().sum()
        })
    });
    group.finish();
}

/// Entry size and proposers of the `storage_writes` comparison.
const WRITES_ENTRY: usize = 4096;
const WRITES_PROPOSERS: usize = 256;
const WRITES_MODES: [(StorageWrites, &str); 2] = [
    (StorageWrites::Inline, "inline"),
    (StorageWrites::Background, "background"),
];

fn storage_writes(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("storage_writes");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Bytes(1 << 20));
    group.bench_function("disk_1MiB_fdatasync", |b| {
        b.iter_custom(|iters| {
            let times = synced_appends(dir.path(), 1 << 20, iters as usize).expect("disk");
            observe(|o| o.writes_disk.extend(&times));
            times.iter().sum()
        })
    });
    // Both clusters run for the whole group, and their cases alternate,
    // so that the machine's load falls on both alike.
    let clusters: Vec<(LocalCluster, &'static str)> = WRITES_MODES
        .iter()
        .map(|&(writes, name)| {
            let started = LocalCluster::start_with_writes(
                3,
                StorageKind::Rocks,
                TransportKind::Quic,
                None,
                SnapshotPolicy::default(),
                writes,
            );
            let cluster = rt.block_on(started).expect("cluster starts");
            rt.block_on(cluster.wait_for_leader(Duration::from_secs(10)))
                .expect("leader");
            (cluster, name)
        })
        .collect();
    let entries = per_iter(WRITES_PROPOSERS);
    for round in 0..2 {
        for (cluster, name) in &clusters {
            group.throughput(Throughput::Elements(entries));
            let id = BenchmarkId::new(format!("rocks+quic 4KiB {name}"), round);
            group.bench_with_input(id, &WRITES_PROPOSERS, |b, &p| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let spec = LoadSpec {
                            entries,
                            entry_size: WRITES_ENTRY,
                            proposers: p,
                        };
                        let report = rt.block_on(run_load(cluster, &spec, None)).expect("load");
                        total += report.elapsed;
                        observe(|o| {
                            let slot = o.writes.entry(name).or_default();
                            slot.0 += report.acks.len() as u64;
                            slot.1 += report.elapsed;
                        });
                    }
                    total
                });
            });
        }
    }
    // How much each of the leader's syncs covered, in each mode.
    for (cluster, name) in &clusters {
        if let Some(w) = cluster.leader().map(|n| n.metrics().writes) {
            println!(
                "storage writes, {name}: the leader wrote {:.2} Readies and {:.1} entries per sync \
                 ({} syncs; append queue full {} times)",
                w.readies_per_sync(),
                w.entries_per_sync(),
                w.syncs,
                w.backpressure
            );
        }
    }
    for (cluster, _) in clusters {
        rt.block_on(cluster.shutdown()).expect("shutdown");
    }
    group.finish();
}

/// The `storage_writes` lines of the summary, with the targets.
fn writes_summary(o: &Observed) {
    let rate = |name: &str| {
        o.writes
            .get(name)
            .map(|(e, t)| *e as f64 / t.as_secs_f64().max(f64::MIN_POSITIVE))
    };
    let (Some(inline), Some(background)) = (rate("inline"), rate("background")) else {
        return;
    };
    let mb = |entries_per_s: f64| entries_per_s * WRITES_ENTRY as f64 / 1e6;
    let disk_total: Duration = o.writes_disk.iter().sum();
    let disk_mb = o.writes_disk.len() as f64 * (1 << 20) as f64
        / disk_total.as_secs_f64().max(f64::MIN_POSITIVE)
        / 1e6;
    let ratio = background / inline.max(f64::MIN_POSITIVE);
    let share = mb(background) / disk_mb.max(f64::MIN_POSITIVE);
    println!(
        "storage writes, rocks+quic, {WRITES_ENTRY}-byte entries, {WRITES_PROPOSERS} proposers: \
         background {background:.0} entries/s ({:.1} MB/s), inline {inline:.0} entries/s ({:.1} MB/s)",
        mb(background),
        mb(inline)
    );
    println!(
        "  background / inline = {ratio:.2} (target >= 3: {}); background = {:.0}% of the disk's \
         1 MiB + fdatasync rate {disk_mb:.1} MB/s (target >= 20%: {})",
        if ratio >= 3.0 { "met" } else { "not met" },
        100.0 * share,
        if share >= 0.2 { "met" } else { "not met" }
    );
}

fn summary() {
    let Ok(guard) = OBSERVED.lock() else { return };
    let Some(o) = guard.as_ref() else { return };
    println!("\n=== cluster summary (3 nodes, {ENTRY_SIZE}-byte entries, this run) ===");
    for ((name, proposers), (entries, time)) in &o.throughput {
        let rate = *entries as f64 / time.as_secs_f64().max(f64::MIN_POSITIVE);
        println!(
            "{name:>13} {proposers:>4} proposers: {rate:>9.0} entries/s  {:>6.2} MB/s",
            rate * ENTRY_SIZE as f64 / 1e6
        );
    }
    for proposers in SIDE_BY_SIDE {
        let rate = |name: &str| {
            o.throughput
                .get(&(name.to_string(), proposers))
                .map(|(e, t)| *e as f64 / t.as_secs_f64().max(f64::MIN_POSITIVE))
        };
        if let (Some(node), Some(other)) = (rate(MEM), rate(OPENRAFT)) {
            let target = if proposers == 1 { 1.2 } else { 1.0 };
            let ratio = node / other.max(f64::MIN_POSITIVE);
            println!(
                "raft-node {MEM} / openraft at {proposers:>4} proposers: {node:>9.0} / {other:>9.0} entries/s = {ratio:.2} \
                 (target >= {target:.1}: {})",
                if ratio >= target { "met" } else { "not met" }
            );
        }
    }
    for (name, lat) in &o.latency {
        println!(
            "{name:>13} 1 proposer latency: p50 {:.2?}  p99 {:.2?}  ({} samples)",
            percentile(lat, 50.0),
            percentile(lat, 99.0),
            lat.len()
        );
    }
    let mib_total: Duration = o.mib_sync.iter().sum();
    let disk_mb = o.mib_sync.len() as f64 * (1 << 20) as f64
        / mib_total.as_secs_f64().max(f64::MIN_POSITIVE)
        / 1e6;
    let page_p50 = percentile(&o.page_sync, 50.0);
    let overwrite_p50 = percentile(&o.page_overwrite_sync, 50.0);
    println!(
        "disk: sequential 1 MiB + fdatasync {disk_mb:.1} MB/s; 4 KiB append + fdatasync p50 {page_p50:.2?}; \
         4 KiB overwrite (preallocated) + fdatasync p50 {overwrite_p50:.2?}"
    );
    let best = o
        .throughput
        .iter()
        .filter(|((name, _), _)| name == "rocks+quic")
        .map(|(_, (e, t))| {
            *e as f64 * ENTRY_SIZE as f64 / t.as_secs_f64().max(f64::MIN_POSITIVE) / 1e6
        })
        .fold(0.0, f64::max);
    if disk_mb > 0.0 {
        println!(
            "target 1: rocks+quic synced throughput {best:.1} MB/s = {:.0}% of the disk's 1 MiB fdatasync rate (target >= 50%)",
            100.0 * best / disk_mb
        );
    }
    writes_summary(o);
    if let Some(lat) = o.latency.get("rocks+quic") {
        let p50 = percentile(lat, 50.0);
        println!(
            "target 2: rocks+quic p50 commit latency {p50:.2?} = {:.2}x one 4 KiB append + fdatasync, \
             {:.2}x one 4 KiB overwrite + fdatasync (target <= 2x)",
            p50.as_secs_f64() / page_p50.as_secs_f64().max(f64::MIN_POSITIVE),
            p50.as_secs_f64() / overwrite_p50.as_secs_f64().max(f64::MIN_POSITIVE)
        );
    }
}

criterion_group!(
    benches,
    disk_limit,
    cluster_latency,
    cluster_throughput,
    storage_writes
);

fn main() {
    let started = Instant::now();
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    summary();
    println!("(benchmark run took {:.0?})", started.elapsed());
}
