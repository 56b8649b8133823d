//! The core benchmark's group written against raft-rs 0.7: three nodes in
//! one thread, in-memory logs, each Ready's messages kept as a batch, as
//! `raft_benches::memgroup::MemGroup` does for raft-core. Shared by the
//! criterion bench and the `core_loop` example (for profilers).
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
            // Batch by batch: flattening moves every message once more.
            for batch in std::mem::take(&mut self.in_flight) {
                for m in batch {
                    busy = true;
                    let to = (m.to - 1) as usize;
                    self.nodes[to].step(m).expect("step");
                }
            }
            if !busy {
                return;
            }
        }
    }
}
