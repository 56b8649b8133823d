//! What a seed decides before the run starts: the cluster's configuration
//! and the timed list of faults and client proposals.
//!
//! The schedule is a plain list so that the shrinker can drop events from it
//! and replay the rest with the same seed; everything decided during the run
//! (per-message drops, delays, how much of an unsynced tail a crash loses)
//! comes from separate random streams.

use crate::rng::Rng;
use raft_core::{Config, NodeId};
use std::fmt;

mod kv;
mod membership;
mod ops;

pub use kv::{KvKind, KvRequest, KV_CLIENTS};
pub use membership::{JoinOp, RemoveOp};
pub use ops::MemberOp;

/// Simulated time units per Raft tick. Messages take a few units, so
/// several rounds of messages fit in one tick, as on a real network.
pub const TICK: u64 = 10;

/// Random streams, one per concern.
pub(crate) mod stream {
    pub const SCHEDULE: u64 = 1;
    pub const NETWORK: u64 = 2;
    pub const CRASH: u64 = 3;
    pub const CLIENT: u64 = 4;
    pub const RAFT: u64 = 5;
    /// Whether a crash lands in the node's next write instead of now.
    pub const WRITE_CRASH: u64 = 6;
    /// The compaction policy (its own stream, so that adding it left every
    /// seed's schedule as it was).
    pub const SNAPSHOT: u64 = 7;
    /// Reads, transfers and membership changes.
    pub const OPS: u64 = 8;
    /// The key-value clients' requests.
    pub const KV: u64 = 9;
    /// Spare nodes, joins and removals.
    pub const MEMBERS: u64 = 10;
    /// Which nodes run with async storage writes, and how often their
    /// append threads sync.
    pub const ASYNC_WRITES: u64 = 11;
    /// Whether a node's append thread syncs at a given time unit (hashed
    /// with the node and the time, as crash losses are; far from the other
    /// per-node streams `CRASH + id` and `WRITE_CRASH + id` on that key).
    pub const SYNC: u64 = 100;
}

/// Message-level faults in force until the next change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetParams {
    /// Chance that a message is dropped, per mille.
    pub drop_per_mille: u64,
    /// Chance that a message is delivered twice, per mille.
    pub dup_per_mille: u64,
    /// Each copy is delayed by a uniform draw in `[1, max_delay]` time units,
    /// which also reorders messages.
    pub max_delay: u64,
}

impl NetParams {
    /// What the network returns to when faults stop.
    pub const RELIABLE: NetParams = NetParams {
        drop_per_mille: 0,
        dup_per_mille: 0,
        max_delay: 3,
    };
}

/// One scheduled happening.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A client proposes a fresh, unique payload to `node`.
    Propose {
        /// The node asked.
        node: NodeId,
    },
    /// Message-level faults change.
    Network(NetParams),
    /// Cuts every link between the nodes in `side` (a bit per node id) and
    /// the others, in both directions, on top of existing cuts.
    Partition {
        /// One bit per node id (bit `id`).
        side: u64,
    },
    /// Cuts the link from `from` to `to` only.
    CutLink {
        /// The sender side.
        from: NodeId,
        /// The receiver side.
        to: NodeId,
    },
    /// Restores every link.
    Heal,
    /// The node's process dies; unsynced writes may be lost.
    Crash {
        /// The node that dies.
        node: NodeId,
    },
    /// A crashed node starts again from its disk.
    Restart {
        /// The node that starts again.
        node: NodeId,
    },
    /// Crashes whichever node leads (the highest term) at that moment.
    CrashLeader,
    /// Cuts the current leader off from everyone.
    IsolateLeader,
    /// Restarts every crashed node.
    RestartAll,
    /// A client's linearizable read (ReadIndex) at `node`.
    Read {
        /// The node asked.
        node: NodeId,
    },
    /// The leader is asked to hand leadership to `to`.
    TransferLeader {
        /// The transferee.
        to: NodeId,
    },
    /// The leader is asked to change the membership.
    Membership(MemberOp),
    /// The leader is asked to leave a joint configuration (an empty
    /// ConfChange v2), if it is in one.
    LeaveJoint,
    /// A key-value client's request.
    Kv(KvRequest),
    /// The leader is asked to add a spare node, which starts empty.
    Join(JoinOp),
    /// The leader is asked to remove a follower for good.
    Remove(RemoveOp),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Propose { node } => write!(f, "propose to n{node}"),
            Event::Network(p) => write!(
                f,
                "network: drop {}‰, duplicate {}‰, delay 1..={}",
                p.drop_per_mille, p.dup_per_mille, p.max_delay
            ),
            Event::Partition { side } => {
                let ids: Vec<String> = (1..64)
                    .filter(|id| side & (1 << id) != 0)
                    .map(|id| format!("n{id}"))
                    .collect();
                write!(f, "partition {{{}}} from the rest", ids.join(","))
            }
            Event::CutLink { from, to } => write!(f, "cut link n{from} -> n{to}"),
            Event::Heal => write!(f, "heal all links"),
            Event::Crash { node } => write!(f, "crash n{node}"),
            Event::Restart { node } => write!(f, "restart n{node}"),
            Event::CrashLeader => write!(f, "crash the leader"),
            Event::IsolateLeader => write!(f, "isolate the leader"),
            Event::RestartAll => write!(f, "restart every crashed node"),
            Event::Read { node } => write!(f, "read at n{node}"),
            Event::TransferLeader { to } => write!(f, "transfer leadership to n{to}"),
            Event::Membership(op) => write!(f, "membership change, {op}"),
            Event::LeaveJoint => write!(f, "leave the joint configuration"),
            Event::Kv(req) => write!(f, "{req}"),
            Event::Join(op) => write!(f, "join, {op}"),
            Event::Remove(op) => write!(f, "removal, {op}"),
        }
    }
}

/// An event at a point in simulated time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// When, in simulated time.
    pub at: u64,
    /// What happens.
    pub event: Event,
}

/// The per-seed cluster configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Cluster size.
    pub nodes: usize,
    /// `Config::pre_vote` of every node.
    pub pre_vote: bool,
    /// `Config::check_quorum` of every node.
    pub check_quorum: bool,
    /// `Config::max_inflight_msgs` of every node.
    pub max_inflight_msgs: usize,
    /// `Config::max_size_per_msg` of every node.
    pub max_size_per_msg: u64,
    /// `Config::max_committed_size_per_ready` of every node.
    pub max_committed_size_per_ready: u64,
    /// Spare node ids, `nodes + 1` to `nodes + spares`: in no
    /// configuration, they start with an empty log when the schedule first
    /// adds one.
    pub spares: usize,
    /// Node `id` ticks when `time % TICK == tick_phase[id - 1]` (spares
    /// included): real clocks are not aligned.
    pub tick_phase: Vec<u64>,
    /// Every node snapshots its state machine and compacts its log every
    /// this many applied entries; followers left behind the compaction
    /// catch up by snapshot.
    pub snapshot_every: u64,
    /// Bit `id` set: node `id` runs with `Config::async_storage_writes`,
    /// its writes made durable by a simulated append thread.
    pub async_writes: u64,
    /// Per time unit, the chance (per mille) that an async node's append
    /// thread syncs everything queued.
    pub sync_per_mille: u64,
}

impl Profile {
    /// The raft-core configuration of node `id`, with jitter seeded from
    /// the simulation seed.
    pub fn config(&self, seed: u64, id: NodeId) -> Config {
        let mut cfg = Config::new(id);
        cfg.check_quorum = self.check_quorum;
        cfg.pre_vote = self.pre_vote;
        cfg.max_inflight_msgs = self.max_inflight_msgs;
        cfg.max_size_per_msg = self.max_size_per_msg;
        cfg.max_committed_size_per_ready = self.max_committed_size_per_ready;
        cfg.random_seed = Some(Rng::stream(seed, stream::RAFT + id).next_u64());
        cfg.async_storage_writes = self.async_writes & (1 << id) != 0;
        cfg
    }

    /// The voters' ids, 1 to `nodes`.
    pub fn voters(&self) -> Vec<NodeId> {
        (1..=self.nodes as u64).collect()
    }
}

/// Everything decided up front by a seed.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The cluster configuration.
    pub profile: Profile,
    /// The events, in time order.
    pub events: Vec<Timed>,
    /// When the fault phase ends: links heal, the network turns reliable,
    /// crashed nodes restart.
    pub heal_at: u64,
}

impl Schedule {
    /// The schedule of `seed` for a cluster of `nodes` (or 3 or 5, as the
    /// seed decides) with a fault phase of `fault_ticks` ticks.
    /// With `with_ops`, reads, leader transfers, membership changes (see
    /// [`MemberOp`]) and key-value requests ([`KvRequest`]) join in.
    pub fn generate(seed: u64, nodes: Option<usize>, fault_ticks: u64, with_ops: bool) -> Schedule {
        let mut rng = Rng::stream(seed, stream::SCHEDULE);
        let nodes = nodes.unwrap_or(if rng.chance(500) { 3 } else { 5 });
        let max_size_per_msg = rng.pick(&[0, 64, 1 << 20]).unwrap_or(1 << 20);
        // 0 inherits max_size_per_msg; when that is 0 too the apply budget
        // is 0, which raft-core serves one entry at a time (etcd would
        // stall or panic there), so the pairing stays in the mix.
        let committed_sizes: &[u64] = &[0, 64, 1 << 20];
        let mut profile = Profile {
            nodes,
            spares: 0,
            pre_vote: rng.chance(750),
            check_quorum: rng.chance(500),
            max_inflight_msgs: rng.pick(&[1, 2, 4, 256]).unwrap_or(256),
            max_size_per_msg,
            max_committed_size_per_ready: rng.pick(committed_sizes).unwrap_or(0),
            tick_phase: (0..nodes).map(|_| rng.below(TICK)).collect(),
            snapshot_every: Rng::stream(seed, stream::SNAPSHOT)
                .pick(&[3, 10, 30])
                .unwrap_or(10),
            async_writes: 0,
            sync_per_mille: 0,
        };
        // A stream of its own, so that every other stream of a seed kept
        // its meaning: half the seeds run synchronous writes only, a quarter
        // async on every node, a quarter a mix.
        let mut arng = Rng::stream(seed, stream::ASYNC_WRITES);
        let mode = arng.below(4);
        for id in 1..=nodes as u64 + 2 {
            let on = mode == 2 || (mode == 3 && arng.chance(500));
            profile.async_writes |= u64::from(on) << id;
        }
        profile.sync_per_mille = arng.pick(&[200, 500, 900]).unwrap_or(500);
        let heal_at = fault_ticks * TICK;
        // Each seed has its own mix, so that some runs are dominated by
        // crashes, others by partitions or a lossy network.
        let propose_rate = rng.range(100, 700);
        // One seed in four is chaotic: a fault every few ticks, which is
        // what the interleavings behind the subtle bugs need.
        let fault_rate = if rng.chance(250) {
            rng.range(60, 200)
        } else {
            rng.range(10, 60)
        };
        let weights = [
            rng.range(0, 4), // network
            rng.range(0, 4), // partition
            rng.range(0, 2), // one-way cut
            rng.range(0, 4), // crash
            rng.range(0, 4), // crash the leader
            rng.range(0, 3), // isolate the leader
        ];
        let total: u64 = weights.iter().sum::<u64>().max(1);

        let mut events = Vec::new();
        for tick in 0..fault_ticks {
            let base = tick * TICK;
            if rng.chance(propose_rate) {
                let node = rng.range(1, nodes as u64);
                events.push(Timed {
                    at: base + rng.below(TICK),
                    event: Event::Propose { node },
                });
            }
            if !rng.chance(fault_rate) {
                continue;
            }
            let at = base + rng.below(TICK);
            let mut draw = rng.below(total);
            let kind = weights
                .iter()
                .position(|w| {
                    if draw < *w {
                        true
                    } else {
                        draw -= w;
                        false
                    }
                })
                .unwrap_or(0);
            let later =
                |rng: &mut Rng, lo: u64, hi: u64| (at + rng.range(lo, hi) * TICK).min(heal_at);
            match kind {
                0 => {
                    let p = NetParams {
                        drop_per_mille: rng.pick(&[0, 0, 20, 50, 150, 400]).unwrap_or(0),
                        dup_per_mille: rng.pick(&[0, 0, 20, 100]).unwrap_or(0),
                        max_delay: rng.pick(&[3, 10, 30, 100]).unwrap_or(3),
                    };
                    events.push(Timed {
                        at,
                        event: Event::Network(p),
                    });
                }
                1 => {
                    // A non-empty proper subset: isolating one node and
                    // splitting the group both happen.
                    let all = ((1u64 << nodes) - 1) << 1;
                    let side = (rng.range(1, (1 << nodes) - 2) << 1) & all;
                    events.push(Timed {
                        at,
                        event: Event::Partition { side },
                    });
                    let heal = later(&mut rng, 5, 150);
                    events.push(Timed {
                        at: heal,
                        event: Event::Heal,
                    });
                }
                2 => {
                    let from = rng.range(1, nodes as u64);
                    let to = (from + rng.range(1, nodes as u64 - 1) - 1) % nodes as u64 + 1;
                    events.push(Timed {
                        at,
                        event: Event::CutLink { from, to },
                    });
                    let heal = later(&mut rng, 5, 150);
                    events.push(Timed {
                        at: heal,
                        event: Event::Heal,
                    });
                }
                4 => {
                    events.push(Timed {
                        at,
                        event: Event::CrashLeader,
                    });
                    let back = later(&mut rng, 1, 60);
                    events.push(Timed {
                        at: back,
                        event: Event::RestartAll,
                    });
                }
                5 => {
                    events.push(Timed {
                        at,
                        event: Event::IsolateLeader,
                    });
                    let heal = later(&mut rng, 5, 100);
                    events.push(Timed {
                        at: heal,
                        event: Event::Heal,
                    });
                }
                _ => {
                    let node = rng.range(1, nodes as u64);
                    events.push(Timed {
                        at,
                        event: Event::Crash { node },
                    });
                    let back = later(&mut rng, 1, 80);
                    events.push(Timed {
                        at: back,
                        event: Event::Restart { node },
                    });
                }
            }
        }
        if with_ops {
            events.extend(ops::generate(seed, nodes, fault_ticks));
            events.extend(kv::generate(seed, nodes, fault_ticks));
            let drawn = membership::generate(seed, fault_ticks);
            profile.spares = drawn.spares;
            profile.tick_phase.extend(drawn.tick_phase);
            events.extend(drawn.events);
        }
        // Stable: events at the same time keep their generation order.
        events.sort_by_key(|t| t.at);
        Schedule {
            profile,
            events,
            heal_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_yields_the_same_schedule() {
        let a = Schedule::generate(99, None, 300, true);
        let b = Schedule::generate(99, None, 300, true);
        assert_eq!(a.profile, b.profile);
        assert_eq!(a.events, b.events);
        assert_ne!(a.events, Schedule::generate(100, None, 300, true).events);
    }

    #[test]
    fn events_stay_in_the_fault_phase_and_name_real_nodes() {
        for seed in 0..200 {
            let s = Schedule::generate(seed, Some(5), 200, true);
            assert!(s.events.windows(2).all(|w| w[0].at <= w[1].at));
            for t in &s.events {
                assert!(t.at <= s.heal_at);
                match t.event {
                    Event::Propose { node }
                    | Event::Crash { node }
                    | Event::Restart { node }
                    | Event::Read { node }
                    | Event::TransferLeader { to: node } => {
                        assert!((1..=5).contains(&node))
                    }
                    Event::Kv(req) => {
                        assert!((1..=5).contains(&req.node), "{req}");
                        assert!((1..=KV_CLIENTS).contains(&req.client), "{req}");
                        assert!(req.key < 3, "{req}");
                    }
                    Event::CutLink { from, to } => {
                        assert_ne!(from, to);
                        assert!((1..=5).contains(&from) && (1..=5).contains(&to));
                    }
                    Event::Partition { side } => {
                        assert_ne!(side, 0);
                        assert_ne!(side, 0b111110, "a partition must leave someone out");
                        assert_eq!(side & !0b111110, 0);
                    }
                    Event::Network(_)
                    | Event::Heal
                    | Event::CrashLeader
                    | Event::IsolateLeader
                    | Event::RestartAll
                    | Event::Membership(_)
                    | Event::LeaveJoint
                    | Event::Join(_)
                    | Event::Remove(_) => {}
                }
            }
        }
    }
}
