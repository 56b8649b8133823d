//! raft-core alone against tikv's raft-rs, same scenario, same group:
//! three nodes in one thread, in-memory logs, proposals of 256-byte entries in
//! batches at the leader, run until every node has committed them.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft_benches::memgroup::MemGroup;
use std::time::Duration;

const ENTRY_SIZE: usize = 256;
const BATCHES: [usize; 3] = [1, 64, 256];

mod raftrs {
    //! The same group written against raft-rs 0.7.
    use raft::prelude::{ConfState, Message};
    use raft::storage::MemStorage;
    use raft::{Config, RawNode};

    pub struct Group {
        nodes: Vec<RawNode<MemStorage>>,
        in_flight: Vec<Vec<Message>>,
    }

    impl Group {
        pub fn new(n: u64) -> Group {
            let logger = slog::Logger::root(slog::Discard, slog::o!());
            let voters: Vec<u64> = (1..=n).collect();
            let nodes = (1..=n)
                .map(|id| {
                    let config = Config {
                        id,
                        election_tick: 10,
                        heartbeat_tick: 1,
                        max_size_per_msg: 1024 * 1024,
                        max_inflight_msgs: 256,
                        ..Default::default()
                    };
                    let store =
                        MemStorage::new_with_conf_state(ConfState::from((voters.clone(), vec![])));
                    RawNode::new(&config, store, &logger).expect("valid raft-rs config")
                })
                .collect();
            let mut g = Group {
                nodes,
                in_flight: Vec::new(),
            };
            g.nodes[0].campaign().expect("campaign");
            g.stabilize();
            g
        }

        pub fn replicate(&mut self, count: usize, payload: &[u8]) {
            for _ in 0..count {
                self.nodes[0]
                    .propose(vec![], payload.to_vec())
                    .expect("leader accepts proposals");
            }
            self.stabilize();
        }

        fn stabilize(&mut self) {
            loop {
                let mut busy = false;
                for node in &mut self.nodes {
                    while node.has_ready() {
                        busy = true;
                        let mut rd = node.ready();
                        self.in_flight.push(rd.take_messages());
                        let store = node.store().clone();
                        if !rd.entries().is_empty() {
                            store.wl().append(rd.entries()).expect("append");
                        }
                        if let Some(hs) = rd.hs() {
                            store.wl().set_hardstate(hs.clone());
                        }
                        self.in_flight.push(rd.take_persisted_messages());
                        let _ = rd.take_committed_entries();
                        let mut light = node.advance(rd);
                        if let Some(commit) = light.commit_index() {
                            store.wl().mut_hard_state().set_commit(commit);
                        }
                        self.in_flight.push(light.take_messages());
                        let _ = light.take_committed_entries();
                        node.advance_apply();
                    }
                }
                for m in std::mem::take(&mut self.in_flight).into_iter().flatten() {
                    busy = true;
                    let to = (m.to - 1) as usize;
                    self.nodes[to].step(m).expect("step");
                }
                if !busy {
                    return;
                }
            }
        }
    }
}

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
