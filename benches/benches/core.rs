//! raft-core alone against tikv's raft-rs, same scenario, same group:
//! three nodes in one thread, in-memory logs, proposals of 256-byte entries in
//! batches at the leader, run until every node has committed them.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft_benches::memgroup::MemGroup;
use std::time::Duration;

const ENTRY_SIZE: usize = 256;
const BATCHES: [usize; 3] = [1, 64, 256];

#[path = "support/raftrs_group.rs"]
mod raftrs;

fn core_replication(c: &mut Criterion) {
    let payload = Bytes::from(vec![0xabu8; ENTRY_SIZE]);
    let mut group = c.benchmark_group("core_replication");
    group.measurement_time(Duration::from_secs(5));
    for batch in BATCHES {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("raft-core", batch), &batch, |b, &batch| {
            let mut g = MemGroup::new(3).expect("group starts");
            b.iter(|| g.replicate(batch, &payload).expect("replicates"));
        });
        group.bench_with_input(BenchmarkId::new("raft-rs", batch), &batch, |b, &batch| {
            let mut g = raftrs::Group::new(3);
            b.iter(|| g.replicate(batch, &payload));
        });
    }
    group.finish();
}

criterion_group!(benches, core_replication);
criterion_main!(benches);
