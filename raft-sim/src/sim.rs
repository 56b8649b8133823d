//! The simulation loop: one seed, one cluster, a fault phase, then a
//! liveness phase on a healed cluster.
//!
//! Time advances in units ([`TICK`] per Raft tick). At each unit the loop
//! runs the scheduled events due, delivers the messages due, and ticks the
//! nodes whose clock fires; every one of those is a step, and the checker
//! runs inside each.
//!
//! Liveness, exactly: once the fault phase ends (links heal, the network is
//! reliable, crashed nodes restart), (1) within `elect_bound` ticks the
//! cluster must be stable: some node leads term T and every node is in
//! term T and follows it; (2) from then on, a client proposes
//! `live_proposals` fresh payloads to random nodes, and retries each one
//! that is not yet applied anywhere: at once when a node refuses it (no
//! leader known), and every [`RETRY_TICKS`] ticks otherwise, as a real
//! client with a timeout would (a leader that was stable by the definition
//! above may still lose its term right after healing, e.g. to CheckQuorum,
//! taking accepted proposals with it); (3) within `converge_bound` ticks of
//! stability every live payload is applied on every node, and every node's
//! log is identical to the applied sequence. Proposals made during the
//! fault phase carry no liveness promise, for the same reason. What is
//! promised for them is safety: once any node applied one (acknowledged it
//! to the client), it stays at that index in every node's log.

use crate::checker::{Checker, Property, Violation};
use crate::kv::KvClients;
use crate::network::{Lost, Network};
use crate::node::{Input, SimNode};
pub use crate::options::{Outcome, RunStats, SimError, SimOptions};
use crate::rng::Rng;
use crate::schedule::{stream, Event, NetParams, Schedule, KV_CLIENTS, TICK};
use crate::storage::{Backend, Disk};
use bytes::Bytes;
use raft_core::{Message, MessageType, NodeId, Role, SnapshotStatus};
use std::collections::VecDeque;

mod append_threads;
mod kv;
mod liveness;
mod membership;
mod ops;

enum Phase {
    Faults,
    /// Healed; waiting for a stable leader until the deadline.
    Stabilizing {
        deadline: u64,
    },
    /// Stable; the live proposals must land everywhere by the deadline.
    Converging {
        deadline: u64,
    },
}

/// A live proposal not applied anywhere this many ticks after it was
/// accepted is proposed again.
pub const RETRY_TICKS: u64 = 20;

/// How many recent low-level steps a trace keeps before each logged event.
const RECENT: usize = 16;

struct Sim {
    seed: u64,
    opts: SimOptions,
    /// Backends waiting for their node to start.
    backends: Vec<Box<dyn Backend>>,
    schedule: Schedule,
    /// Indexes into `schedule.events` that take part (all, unless shrinking).
    keep: Vec<bool>,
    nodes: Vec<SimNode>,
    net: Network,
    chk: Checker,
    client_rng: Rng,
    now: u64,
    stats: RunStats,
    /// Live payloads, with when each was last accepted by a node.
    live: Vec<(Bytes, Option<u64>)>,
    trace: Option<Vec<String>>,
    recent: VecDeque<String>,
    /// The transfer last asked for: the transferee, and the term then.
    transfer: Option<(NodeId, u64)>,
    /// The key-value clients and their history.
    kv: KvClients,
    members: membership::Members,
}

/// Runs `seed` with its whole schedule.
pub fn run(seed: u64, opts: &SimOptions) -> Result<Outcome, SimError> {
    run_subset(seed, opts, None)
}

/// Runs `seed` with only the scheduled events whose index is in `keep`.
pub fn run_subset(
    seed: u64,
    opts: &SimOptions,
    keep: Option<&[usize]>,
) -> Result<Outcome, SimError> {
    let schedule = Schedule::generate(seed, opts.nodes, opts.fault_ticks, opts.client_ops);
    let mut mask = vec![keep.is_none(); schedule.events.len()];
    for &i in keep.unwrap_or(&[]) {
        if let Some(m) = mask.get_mut(i) {
            *m = true;
        }
    }
    let mut sim = Sim::new(seed, opts.clone(), schedule, mask)?;
    let violation = sim.start().and_then(|()| sim.run_loop()).err();
    let violation = violation.or_else(|| sim.kv_check());
    if let Some(v) = &violation {
        sim.log(format!("VIOLATION: {v}"));
    }
    sim.stats.ticks = sim.now / TICK;
    sim.stats.net = sim.net.stats;
    sim.stats.committed = sim.chk.committed_len();
    sim.stats.acked = sim.chk.acked_count();
    for n in &sim.nodes {
        sim.stats.snapshots_created += n.snaps.created;
        sim.stats.snapshots_installed += n.snaps.installed;
        sim.stats.restored_at_boot += n.snaps.restored_at_boot;
        sim.stats.crashes_installing += n.snaps.crashed_installing;
        append_threads::count_async(&mut sim.stats, n);
    }
    let ops = sim.chk.op_counts();
    sim.stats.reads_served = ops.reads_served;
    sim.stats.conf_changes_applied = ops.conf_changes_applied;
    sim.stats.joint_entered = ops.joint_entered;
    sim.stats.spares_started = sim.nodes.len().saturating_sub(sim.schedule.profile.nodes) as u64;
    Ok(Outcome {
        seed,
        profile: sim.schedule.profile.clone(),
        violation,
        stats: sim.stats,
        trace: sim.trace.unwrap_or_default(),
    })
}

impl Sim {
    fn new(
        seed: u64,
        opts: SimOptions,
        schedule: Schedule,
        keep: Vec<bool>,
    ) -> Result<Sim, SimError> {
        let n = schedule.profile.nodes;
        let voters = schedule.profile.voters();
        let mut backends: Vec<Box<dyn Backend>> = Vec::with_capacity(n);
        for &id in &voters {
            backends.push(opts.storage.create(id, &voters).map_err(SimError::Setup)?);
        }
        let total = n + schedule.profile.spares;
        let mut spares: Vec<Box<dyn Backend>> = Vec::with_capacity(total - n);
        for id in n + 1..=total {
            // A new member's disk: an empty log, no configuration.
            spares.push(
                opts.storage
                    .create(id as NodeId, &[])
                    .map_err(SimError::Setup)?,
            );
        }
        Ok(Sim {
            members: membership::Members::new(&voters, spares),
            seed,
            backends,
            keep,
            nodes: Vec::with_capacity(n),
            net: Network::new(total, Rng::stream(seed, stream::NETWORK).next_u64()),
            chk: Checker::new(n),
            client_rng: Rng::stream(seed, stream::CLIENT),
            now: 0,
            stats: RunStats::default(),
            live: (0..opts.live_proposals)
                .map(|k| (Bytes::from(format!("live{k}")), None))
                .collect(),
            trace: opts.trace.then(Vec::new),
            recent: VecDeque::new(),
            transfer: None,
            kv: KvClients::new(KV_CLIENTS, opts.trace),
            schedule,
            opts,
        })
    }

    fn start(&mut self) -> Result<(), Violation> {
        let profile = self.schedule.profile.clone();
        let voters = profile.voters();
        self.log(format!(
            "cluster of {} (pre-vote {}, check-quorum {}, max inflight {}, max msg size {}, max committed size per ready {}), {:?} storage",
            profile.nodes,
            profile.pre_vote,
            profile.check_quorum,
            profile.max_inflight_msgs,
            profile.max_size_per_msg,
            profile.max_committed_size_per_ready,
            self.opts.storage
        ));
        let snapshot_every = self.opts.snapshot_every.unwrap_or(profile.snapshot_every);
        if snapshot_every > 0 {
            self.log(format!(
                "snapshot and compact every {snapshot_every} applied entries"
            ));
        }
        let backends = std::mem::take(&mut self.backends);
        for (backend, &id) in backends.into_iter().zip(&voters) {
            self.launch(id, backend)?;
        }
        Ok(())
    }

    /// Starts node `id` (the next one) on `backend`.
    fn launch(&mut self, id: NodeId, backend: Box<dyn Backend>) -> Result<(), Violation> {
        let mut config = self.schedule.profile.config(self.seed, id);
        if let Some(hook) = self.opts.config_hook {
            hook(&mut config);
        }
        let snapshot_every =
            (self.opts.snapshot_every).unwrap_or(self.schedule.profile.snapshot_every);
        #[allow(unused_mut)]
        let mut node = SimNode::start(config, Disk::new(backend), snapshot_every, &mut self.chk)?;
        #[cfg(feature = "fault-injection")]
        node.inject(self.opts.sim_fault);
        self.nodes.push(node);
        Ok(())
    }

    fn log(&mut self, line: String) {
        self.flush_recent();
        if let Some(trace) = self.trace.as_mut() {
            trace.push(format!(
                "t={:>6}.{} {}",
                self.now / TICK,
                self.now % TICK,
                line
            ));
        }
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        if self.trace.is_some() {
            if self.recent.len() == RECENT {
                self.recent.pop_front();
            }
            let line = format!(
                "t={:>6}.{}   . {}",
                self.now / TICK,
                self.now % TICK,
                line()
            );
            self.recent.push_back(line);
        }
    }

    fn run_loop(&mut self) -> Result<(), Violation> {
        let heal_at = self.schedule.heal_at;
        let mut next_event = 0;
        let mut phase = Phase::Faults;
        loop {
            if self.opts.stop_at.is_some_and(|t| self.now > t) {
                return Ok(());
            }
            self.chk.set_time(self.now);
            while next_event < self.schedule.events.len()
                && self.schedule.events[next_event].at <= self.now
            {
                if self.keep[next_event] {
                    let event = self.schedule.events[next_event].event.clone();
                    self.apply_event(next_event, event)?;
                }
                next_event += 1;
            }
            if self.now == heal_at {
                self.heal_all()?;
                phase = Phase::Stabilizing {
                    deadline: heal_at + self.opts.elect_bound * TICK,
                };
            }
            while let Some(m) = self.net.next_due(self.now) {
                self.note(|| {
                    format!(
                        "{} n{}->n{} term {} index {} commit {}{}",
                        m.msg_type,
                        m.from,
                        m.to,
                        m.term,
                        m.index,
                        m.commit,
                        if m.reject { " reject" } else { "" }
                    )
                });
                self.deliver(m)?;
            }
            for (from, to) in self.net.take_lost_snapshots() {
                self.report_snapshot(from, to, SnapshotStatus::Failure)?;
            }
            self.sync_append_threads()?;
            for i in 0..self.nodes.len() {
                if self.now % TICK == self.schedule.profile.tick_phase[i] {
                    self.feed(i as u64 + 1, Input::Tick)?;
                }
            }
            if self.now.is_multiple_of(TICK) {
                self.kv_sweep();
                match phase {
                    Phase::Faults => {}
                    Phase::Stabilizing { deadline } => {
                        if let Some((leader, term)) = self.stable_leader() {
                            self.log(format!(
                                "stable: n{leader} leads term {term} and everyone follows"
                            ));
                            phase = Phase::Converging {
                                deadline: self.now + self.opts.converge_bound * TICK,
                            };
                        } else if self.now >= deadline {
                            return Err(self.chk.fail(
                                Property::Liveness,
                                format!(
                                    "no stable leader {} ticks after healing: {}",
                                    self.opts.elect_bound,
                                    self.describe_nodes()
                                ),
                            ));
                        }
                    }
                    Phase::Converging { deadline } => {
                        self.propose_live()?;
                        if self.converged() {
                            self.chk.check_logs(false)?;
                            self.chk.check_converged(&self.members.live())?;
                            self.log(format!(
                                "converged: {} entries applied on every node",
                                self.chk.committed_len()
                            ));
                            return Ok(());
                        }
                        if self.now >= deadline {
                            return Err(self.chk.fail(
                                Property::Liveness,
                                format!(
                                    "not converged {} ticks after a stable leader: {}",
                                    self.opts.converge_bound,
                                    self.describe_nodes()
                                ),
                            ));
                        }
                    }
                }
            }
            self.now += 1;
        }
    }

    fn describe_nodes(&self) -> String {
        let parts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| match n.role() {
                Some(role) => format!(
                    "n{} {:?} term {} lead {} commit {} applied {} last {}",
                    n.id,
                    role,
                    n.term(),
                    n.lead(),
                    n.commit(),
                    n.applied(),
                    self.chk.stored_log_len(n.id)
                ),
                None if self.members.is_removed(n.id) => format!("n{} removed", n.id),
                None => format!("n{} down", n.id),
            })
            .collect();
        parts.join("; ")
    }

    fn node(&mut self, id: NodeId) -> Option<&mut SimNode> {
        self.nodes.get_mut((id as usize).wrapping_sub(1))
    }

    /// Feeds one input to a node and sends what it produces; transports
    /// report cut links back to the sender, which feeds more input.
    fn feed(&mut self, id: NodeId, input: Input) -> Result<bool, Violation> {
        let mut out = Vec::new();
        let mut reports = vec![(id, input)];
        let mut first_result = None;
        while let Some((id, input)) = reports.pop() {
            let Some(node) = self.nodes.get_mut((id as usize).wrapping_sub(1)) else {
                continue;
            };
            let was = node.role();
            let term_before = node.term();
            let accepted = node.input(input, &mut self.chk, &mut out)?;
            let crashed_at_write = node.take_crash_at_write();
            for (ctx, index) in std::mem::take(&mut node.reads_served) {
                self.chk.on_read_served(id, &ctx, index)?;
                self.kv.read_served(&ctx, &node.kv, self.now);
            }
            self.kv.poll_writes(id, &node.kv, self.now);
            first_result.get_or_insert(accepted);
            let (now_role, term) = (node.role(), node.term());
            if now_role != was && now_role == Some(Role::Leader) {
                self.stats.leaders_elected += 1;
                self.log(format!("n{id} became leader of term {term}"));
                self.on_new_leader(id, term);
            } else if term != term_before {
                let role = now_role.map_or("down".to_string(), |r| format!("{r:?}"));
                self.note(|| format!("n{id} now in term {term} as {role}"));
            }
            if let Some((loss, sent)) = crashed_at_write {
                self.count_crash(loss);
                self.stats.crashes_after_sends += u64::from(sent > 0);
                self.log(format!(
                    "   n{id} down in its write, after sending {sent} messages of its Ready; unsynced writes: {} reached disk, {} lost",
                    loss.survived, loss.lost
                ));
            }
            for m in out.drain(..) {
                let (from, to, kind) = (m.from, m.to, m.msg_type);
                let is_snap = kind == MessageType::MsgSnap;
                self.stats.snapshots_sent += u64::from(is_snap);
                let lost = self.net.send(self.now, m);
                if lost == Err(Lost::Cut)
                    && matches!(kind, MessageType::MsgApp | MessageType::MsgSnap)
                {
                    reports.push((from, Input::Unreachable(to)));
                }
                // A transport learns that a snapshot did not get through
                // (a stream reset, a timeout) and says so.
                if is_snap && lost.is_err() {
                    self.stats.snapshot_failures += 1;
                    reports.push((from, Input::SnapshotStatus(to, SnapshotStatus::Failure)));
                }
            }
            self.track_members()?;
            self.chk.check_electability()?;
        }
        self.flush_kv_lines();
        Ok(first_result.unwrap_or(false))
    }

    /// Delivers one message; a snapshot's sender then hears how it went, as
    /// a transport would tell it: finished if the follower was up to take
    /// it, failed otherwise.
    fn deliver(&mut self, m: Message) -> Result<(), Violation> {
        let (from, to, is_snap) = (m.from, m.to, m.msg_type == MessageType::MsgSnap);
        let taken = self.node(to).is_some_and(|n| n.is_up());
        self.feed(to, Input::Step(m))?;
        if is_snap {
            let status = if taken {
                SnapshotStatus::Finish
            } else {
                SnapshotStatus::Failure
            };
            self.report_snapshot(from, to, status)?;
        }
        Ok(())
    }

    fn report_snapshot(
        &mut self,
        from: NodeId,
        to: NodeId,
        status: SnapshotStatus,
    ) -> Result<(), Violation> {
        self.stats.snapshot_failures += u64::from(status == SnapshotStatus::Failure);
        self.note(|| format!("n{from} told: snapshot to n{to} {status:?}"));
        self.feed(from, Input::SnapshotStatus(to, status))?;
        Ok(())
    }

    /// Moves the recent low-level steps into the trace, as context for
    /// what is logged next.
    fn flush_recent(&mut self) {
        let recent: Vec<String> = self.recent.drain(..).collect();
        if let Some(trace) = self.trace.as_mut() {
            trace.extend(recent);
        }
    }

    fn apply_event(&mut self, index: usize, event: Event) -> Result<(), Violation> {
        self.log(format!("#{index} {event}"));
        match event {
            Event::Propose { node } => {
                if !self.node(node).is_some_and(|n| n.is_up()) {
                    return Ok(());
                }
                let data = Bytes::from(format!("c{index}"));
                if self.feed(node, Input::Propose(data))? {
                    self.stats.proposals_accepted += 1;
                } else {
                    self.stats.proposals_refused += 1;
                    self.log(format!("   n{node} refused the proposal"));
                }
            }
            Event::Network(p) => self.net.set_params(p),
            Event::Partition { side } => self.net.partition(side),
            Event::CutLink { from, to } => self.net.cut(from, to),
            Event::Heal => self.net.heal(),
            Event::Crash { node } => self.crash(node)?,
            Event::Restart { node } => self.restart(node)?,
            Event::CrashLeader => {
                if let Some(leader) = self.current_leader() {
                    self.crash(leader)?;
                }
            }
            Event::IsolateLeader => {
                if let Some(leader) = self.current_leader() {
                    self.net.partition(1 << leader);
                    self.log(format!("   isolated n{leader}"));
                }
            }
            Event::RestartAll => {
                for id in 1..=self.nodes.len() as u64 {
                    self.restart(id)?;
                }
            }
            other => self.client_op(index, other)?,
        }
        Ok(())
    }

    /// The running leader of the highest term, if any.
    fn current_leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter(|n| n.role() == Some(Role::Leader))
            .max_by_key(|n| n.term())
            .map(|n| n.id)
    }

    fn crash(&mut self, id: NodeId) -> Result<(), Violation> {
        let Some(node) = self.nodes.get_mut((id as usize).wrapping_sub(1)) else {
            return Ok(());
        };
        if !node.is_up() {
            return Ok(());
        }
        // Drawn from the node and the time, not a shared stream, so that the
        // shrinker's removals elsewhere do not change what this crash loses.
        let key = self.seed ^ self.now.rotate_left(32);
        let mut rng = Rng::stream(key, stream::CRASH + id);
        // One crash in three waits for the node's next write and lands in
        // it, after the early sends of its Ready: the order the runtime
        // uses, where a leader's appends (or a candidate's vote requests)
        // are out before its own write.
        if Rng::stream(key, stream::WRITE_CRASH + id).chance(333) {
            node.crash_at_next_write(rng);
            self.log(format!("   n{id} will crash in its next write"));
            return Ok(());
        }
        let loss = node.crash(&mut rng, &mut self.chk)?;
        self.count_crash(loss);
        self.log(format!(
            "   n{id} down; unsynced writes: {} reached disk, {} lost",
            loss.survived, loss.lost
        ));
        Ok(())
    }

    fn count_crash(&mut self, loss: crate::storage::CrashLoss) {
        self.stats.crashes += 1;
        self.stats.unsynced_writes_lost += loss.lost as u64;
    }

    fn restart(&mut self, id: NodeId) -> Result<(), Violation> {
        let Some(node) = self.nodes.get_mut((id as usize).wrapping_sub(1)) else {
            return Ok(());
        };
        if self.members.is_removed(id) {
            return Ok(());
        }
        if node.is_up() {
            if node.disarm() {
                self.log(format!(
                    "   n{id} did not write before its restart: no crash"
                ));
            }
            return Ok(());
        }
        node.restart(&mut self.chk)?;
        let (term, applied) = (node.term(), node.applied());
        self.log(format!(
            "   n{id} up at term {term}, re-applied {applied} entries"
        ));
        Ok(())
    }

    fn heal_all(&mut self) -> Result<(), Violation> {
        self.log("faults end: links healed, network reliable, crashed nodes restart".to_string());
        self.net.heal();
        self.net.set_params(NetParams::RELIABLE);
        for id in 1..=self.nodes.len() as u64 {
            self.restart(id)?;
        }
        Ok(())
    }
}
