//! One simulated node: a raft-core `RawNode` on a simulated disk, driven
//! through raft-core's Ready loop in the runtime's order (early sends,
//! write, late sends, apply, advance), with every effect reported to the
//! checker. A node can be armed to crash in its next write, after that
//! Ready's early sends left.
//!
//! A node with `Config::async_storage_writes` runs the loop's async order
//! instead: its writes wait on a simulated append thread
//! ([`append_thread`]) until the simulation feeds it [`Input::Sync`], and
//! an armed crash lands in that sync.
//!
//! Each node has a state machine ([`StateMachine`]) and a key-value store
//! ([`KvStore`], in the same snapshots) and, when
//! `snapshot_every` is set, snapshots it and compacts its log every that
//! many applied entries. It restores a received snapshot through the
//! Ready loop's `restore` hook, and its disk's snapshot when it restarts.

use crate::checker::{Checked, Checker, Property, Violation};
use crate::kv::KvStore;
use crate::rng::Rng;
#[cfg(feature = "fault-injection")]
use crate::state_machine::SimFault;
use crate::state_machine::StateMachine;
use crate::storage::{CrashLoss, Disk, DiskHandle};
use bytes::Bytes;
use raft_core::{
    AnyConfChange, ConfState, Config, Error, HardState, LogStorage, Message, NodeId, RawNode,
    ReadState, Role, Snapshot, SnapshotStatus, SoftState,
};
use std::cell::RefCell;
use std::rc::Rc;

mod append_thread;
mod ready;

use append_thread::AppendThread;
pub use append_thread::AsyncCounts;
use ready::{SimReady, Stop};

/// Something that happens to a running node.
pub enum Input {
    Tick,
    Step(Message),
    Propose(Bytes),
    /// The transport could not deliver to this peer.
    Unreachable(NodeId),
    /// How sending a snapshot to this peer ended.
    SnapshotStatus(NodeId, SnapshotStatus),
    /// A client's linearizable read, with its context.
    Read(Bytes),
    /// Hand leadership to this node.
    Transfer(NodeId),
    /// Propose a membership change.
    ConfChange(AnyConfChange),
    /// With async storage writes: the append thread syncs what it queued.
    Sync,
}

/// Snapshot activity of one node, for the run's counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapCounts {
    /// Snapshots this node took of its own state (each followed by a
    /// compaction).
    pub created: u64,
    /// Snapshots received from a leader and restored.
    pub installed: u64,
    /// Restarts that restored a snapshot from the disk.
    pub restored_at_boot: u64,
    /// Crashes inside the write that was installing a received snapshot.
    pub crashed_installing: u64,
}

pub struct SimNode {
    pub id: NodeId,
    config: Config,
    disk: Rc<RefCell<Disk>>,
    raw: Option<RawNode<DiskHandle>>,
    /// The hard and soft state as of the last Ready that changed them.
    hard: HardState,
    soft: SoftState,
    durable: HardState,
    applied: u64,
    state: StateMachine,
    /// The key-value clients' store, applied with `state`.
    pub kv: KvStore,
    /// Snapshot and compact every this many applied entries (0: never).
    snapshot_every: u64,
    /// The index of the latest snapshot on the disk, as this process knows.
    snapshot_index: u64,
    /// The state the latest snapshot holds (what the stale-data fault
    /// writes again).
    #[cfg(feature = "fault-injection")]
    snapshot_state: StateMachine,
    #[cfg(feature = "fault-injection")]
    fault: Option<SimFault>,
    pub snaps: SnapCounts,
    /// Set to crash the node in its next write, with what decides the loss.
    armed: Option<Rng>,
    /// The last crash in a write: what it lost, and how many messages of
    /// its Ready had left before it.
    crashed_at_write: Option<(CrashLoss, usize)>,
    /// The configuration this node last applied (or restored).
    pub conf: ConfState,
    /// The index of the last membership change it applied.
    conf_index: u64,
    /// Read states waiting for their index to be applied.
    reads_waiting: Vec<ReadState>,
    /// Reads served: the context, and the index of the state they saw.
    pub reads_served: Vec<(Bytes, u64)>,
    /// Runs with `Config::async_storage_writes`: writes wait in `appends`.
    appends_async: bool,
    appends: AppendThread,
    /// With async writes, the commit index the checker was told of.
    commit_reported: u64,
    /// With async writes, the commit index last handed to the disk.
    commit_written: u64,
}

impl SimNode {
    pub fn start(
        config: Config,
        disk: Disk,
        snapshot_every: u64,
        chk: &mut Checker,
    ) -> Result<SimNode, Violation> {
        let mut node = SimNode {
            id: config.id,
            appends_async: config.async_storage_writes,
            config,
            disk: Rc::new(RefCell::new(disk)),
            raw: None,
            hard: HardState::default(),
            soft: SoftState::default(),
            durable: HardState::default(),
            applied: 0,
            state: StateMachine::default(),
            kv: KvStore::default(),
            snapshot_every,
            snapshot_index: 0,
            #[cfg(feature = "fault-injection")]
            snapshot_state: StateMachine::default(),
            #[cfg(feature = "fault-injection")]
            fault: None,
            snaps: SnapCounts::default(),
            armed: None,
            crashed_at_write: None,
            conf: ConfState::default(),
            conf_index: 0,
            reads_waiting: Vec::new(),
            reads_served: Vec::new(),
            appends: AppendThread::default(),
            commit_reported: 0,
            commit_written: 0,
        };
        node.boot(chk)?;
        Ok(node)
    }

    pub fn is_up(&self) -> bool {
        self.raw.is_some()
    }

    pub fn role(&self) -> Option<Role> {
        self.raw.as_ref().map(|_| self.soft.role)
    }

    pub fn lead(&self) -> NodeId {
        self.soft.leader
    }

    pub fn term(&self) -> u64 {
        self.hard.term
    }

    pub fn commit(&self) -> u64 {
        self.hard.commit
    }

    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The commit index a restart would come back with.
    pub fn durable_commit(&self) -> u64 {
        self.durable.commit
    }

    /// Whether this node has snapshotted and compacted its log, so that a
    /// node joining empty gets a snapshot (and with it the configuration)
    /// rather than the log from index 1, whose start assumes the initial
    /// configuration the joiner lacks.
    pub fn has_compacted(&self) -> bool {
        self.snapshot_every > 0 && self.snapshot_index > 0
    }

    /// The process dies. A prefix of the unsynced writes survives.
    pub fn crash(&mut self, rng: &mut Rng, chk: &mut Checker) -> Result<CrashLoss, Violation> {
        self.raw = None;
        self.armed = None;
        self.appends.crash();
        // Clients of a dead process time out; their reads are never served.
        self.reads_waiting.clear();
        chk.on_not_leader(self.id);
        let loss = self
            .disk
            .borrow_mut()
            .crash(rng)
            .map_err(|e| chk.fail(Property::Storage, format!("n{} crash: {e}", self.id)))?;
        self.check_durable(chk)?;
        Ok(loss)
    }

    /// Breaks one of the node's own rules from now on (tests prove the
    /// checker catches it).
    #[cfg(feature = "fault-injection")]
    pub fn inject(&mut self, fault: Option<SimFault>) {
        self.fault = fault;
    }

    /// Starts again from the disk. The state machine is in memory, so it is
    /// restored from the disk's snapshot, and the committed entries after
    /// it are applied again.
    pub fn restart(&mut self, chk: &mut Checker) -> Checked {
        self.boot(chk)
    }

    fn boot(&mut self, chk: &mut Checker) -> Checked {
        let store = DiskHandle(self.disk.clone());
        let snap = crate::storage::stored_snapshot(&store)
            .map_err(|e| chk.fail(Property::Storage, format!("n{} snapshot: {e}", self.id)))?;
        let (state, kv) = self.decode(chk, &snap, "from its disk")?;
        // As etcd's server does: entries up to the snapshot are in the
        // state machine already and must not be applied again.
        let mut config = self.config.clone();
        config.applied = snap.index();
        let raw = RawNode::new(&config, store).map_err(|e| self.violation(chk, e, "restart"))?;
        if raw.applied() != state.index {
            return Err(chk.fail(
                Property::SnapshotState,
                format!(
                    "n{} restarts with its state machine at index {} but raft-core resuming after {}",
                    self.id,
                    state.index,
                    raw.applied()
                ),
            ));
        }
        self.snaps.restored_at_boot += u64::from(state.index > 0);
        self.set_snapshot(state);
        self.state = state;
        self.kv = kv;
        let status = raw.status();
        self.conf = status.conf_state;
        chk.on_conf(self.id, &self.conf);
        let hs = status.hard_state;
        // Terms and votes are always synced, so they survive a crash; the
        // commit index may legitimately fall back to the durable one.
        // With async writes the term and vote in memory may have been
        // ahead of the disk (queued writes die with the process; nothing
        // vouched for them yet), so the durable ones are the reference.
        let last = if self.appends_async {
            self.durable
        } else {
            self.hard
        };
        let before = HardState { commit: 0, ..last };
        chk.on_hard_state(self.id, "across a restart", before, hs)?;
        self.hard = hs;
        self.commit_reported = hs.commit;
        self.commit_written = hs.commit;
        self.soft = SoftState::default();
        self.applied = state.index;
        self.raw = Some(raw);
        let mut out = Vec::new();
        self.drain(chk, &mut out)?;
        // Nothing to say to peers before hearing from them.
        if !out.is_empty() {
            return Err(chk.fail(
                Property::RaftError,
                format!("n{} sent {} messages on restart", self.id, out.len()),
            ));
        }
        Ok(())
    }

    /// Feeds `input` to a running node and handles the Readies it causes,
    /// pushing outgoing messages to `out`. Returns false for a proposal the
    /// node refused. An armed node may crash in a write (see
    /// [`SimNode::take_crash_at_write`]).
    pub fn input(
        &mut self,
        input: Input,
        chk: &mut Checker,
        out: &mut Vec<Message>,
    ) -> Result<bool, Violation> {
        let Some(raw) = self.raw.as_mut() else {
            return Ok(false);
        };
        let (what, result) = match input {
            Input::Sync => {
                self.sync(chk, out)?;
                return Ok(true);
            }
            Input::Tick => ("tick", raw.tick()),
            Input::Step(m) => {
                let is_prop = m.msg_type == raft_core::MessageType::MsgProp;
                match raw.step(m) {
                    // A forwarded proposal reaching a node that lost its
                    // leader meanwhile: the client's retry is the remedy.
                    Err(Error::ProposalDropped) if is_prop => ("step", Ok(())),
                    // A response from a node outside the configuration this
                    // one applied (removed meanwhile, or added by a change
                    // it has not applied yet, or lost to a restart): etcd's
                    // node drops those silently, as a runtime must.
                    Err(Error::StepPeerNotFound) => ("step", Ok(())),
                    r => ("step", r),
                }
            }
            Input::Propose(data) => match raw.propose(data) {
                Err(Error::ProposalDropped) => {
                    self.drain(chk, out)?;
                    return Ok(false);
                }
                r => ("propose", r),
            },
            Input::Unreachable(peer) => ("report_unreachable", raw.report_unreachable(peer)),
            Input::SnapshotStatus(peer, status) => {
                ("report_snapshot", raw.report_snapshot(peer, status))
            }
            Input::Read(ctx) => ("read_index", raw.read_index(ctx)),
            Input::Transfer(to) => ("transfer_leader", raw.transfer_leader(to)),
            Input::ConfChange(cc) => match raw.propose_conf_change(cc) {
                // No leader known, a transfer under way, or (refused by
                // raft-core's own rules) nothing a client could avoid.
                Err(Error::ProposalDropped) => {
                    self.drain(chk, out)?;
                    return Ok(false);
                }
                r => ("propose_conf_change", r),
            },
        };
        result.map_err(|e| self.violation(chk, e, what))?;
        self.drain(chk, out)?;
        Ok(true)
    }

    fn violation(&self, chk: &Checker, e: Error, what: &str) -> Violation {
        let property = match e {
            Error::Storage(_) => Property::Storage,
            _ => Property::RaftError,
        };
        chk.fail(property, format!("n{} {what}: {e}", self.id))
    }

    fn check_durable(&mut self, chk: &Checker) -> Checked {
        let durable = self.disk.borrow().durable_hard_state();
        chk.on_hard_state(self.id, "on disk", self.durable, durable)?;
        self.durable = durable;
        Ok(())
    }

    /// Hands the node's Readies to raft-core's Ready loop until it has none
    /// left. An armed node crashes in its first write instead (after that
    /// Ready's early sends); the loss is kept for
    /// [`SimNode::take_crash_at_write`].
    fn drain(&mut self, chk: &mut Checker, out: &mut Vec<Message>) -> Checked {
        self.run_ready_loop(chk, out, false)
    }

    /// Whether the node's append thread holds writes not yet durable.
    pub fn has_pending_appends(&self) -> bool {
        self.raw.is_some() && !self.appends.is_empty()
    }

    /// The append thread syncs: every queued write becomes durable, then
    /// their responses are delivered (see [`append_thread`]). An armed node
    /// crashes instead.
    pub fn sync(&mut self, chk: &mut Checker, out: &mut Vec<Message>) -> Checked {
        self.run_ready_loop(chk, out, true)
    }

    /// Whether the node runs with async storage writes.
    pub fn is_async(&self) -> bool {
        self.appends_async
    }

    /// The node's append thread counters.
    pub fn async_counts(&self) -> AsyncCounts {
        self.appends.counts
    }

    /// Runs raft-core's Ready loop until the node has no Ready left, after
    /// a sync of its append thread when `sync` is set.
    fn run_ready_loop(&mut self, chk: &mut Checker, out: &mut Vec<Message>, sync: bool) -> Checked {
        let Some(mut raw) = self.raw.take() else {
            return Ok(());
        };
        let mut handler = SimReady {
            node: self,
            chk,
            out,
            hard_state: None,
            sent: 0,
            write_pending: false,
            premature: None,
        };
        let synced = if sync {
            append_thread::sync(&mut raw, &mut handler)
        } else {
            Ok(())
        };
        match synced.and_then(|()| raw.handle_readies(&mut handler)) {
            Ok(_) => {
                let applied = self.applied;
                let (ready, waiting) = std::mem::take(&mut self.reads_waiting)
                    .into_iter()
                    .partition(|r| r.index <= applied);
                self.reads_waiting = waiting;
                let ready: Vec<ReadState> = ready;
                self.reads_served
                    .extend(ready.into_iter().map(|r| (r.request_ctx, applied)));
                let compacted = self.maybe_compact(&mut raw, chk);
                self.raw = Some(raw);
                compacted
            }
            Err(Stop::Crash { mut rng, sent }) => {
                // The Ready dies with the process: its early messages are
                // out, its write never happened, nothing acknowledges it.
                drop(raw);
                let loss = self.crash(&mut rng, chk)?;
                self.crashed_at_write = Some((loss, sent));
                Ok(())
            }
            Err(Stop::Violation(v)) => {
                self.raw = Some(raw);
                Err(v)
            }
            Err(Stop::Raft(e)) => {
                self.raw = Some(raw);
                let what = format!(
                    "handling a Ready (applied {}, configuration {:?})",
                    self.applied, self.conf
                );
                Err(self.violation(chk, e, &what))
            }
        }
    }

    /// The state a snapshot holds, checked against the committed log, and
    /// the key-value store in it.
    fn decode(
        &self,
        chk: &Checker,
        snap: &Snapshot,
        what: &str,
    ) -> Result<(StateMachine, KvStore), Violation> {
        let (state, kv) = match StateMachine::decode(&snap.data) {
            Some((s, kv)) if s.index == snap.index() => (s, kv),
            _ => {
                return Err(chk.fail(
                    Property::SnapshotState,
                    format!(
                        "n{} restored {what} a snapshot at index {} whose data is not a state at that index",
                        self.id,
                        snap.index()
                    ),
                ))
            }
        };
        chk.check_restored(self.id, what, state)?;
        let kv = KvStore::decode(kv).map_err(|e| {
            chk.fail(
                Property::SnapshotState,
                format!(
                    "n{} restored {what} a snapshot at index {}: {e}",
                    self.id,
                    snap.index()
                ),
            )
        })?;
        Ok((state, kv))
    }

    fn set_snapshot(&mut self, state: StateMachine) {
        self.snapshot_index = state.index;
        #[cfg(feature = "fault-injection")]
        {
            self.snapshot_state = state;
        }
    }

    /// The compaction policy: once `snapshot_every` entries were applied
    /// since the last snapshot, snapshot the state and drop the log up to
    /// it. Followers that need those entries get the snapshot instead.
    ///
    /// A membership change applied also snapshots at once: a node added
    /// empty only takes a snapshot whose configuration includes it (it has
    /// no other way to learn the membership), so the latest snapshot of
    /// whoever leads must already hold its addition, as etcd's server
    /// ensures by sending a snapshot of its current state.
    fn maybe_compact(&mut self, raw: &mut RawNode<DiskHandle>, chk: &Checker) -> Checked {
        let due = self.applied >= self.snapshot_index + self.snapshot_every
            || (self.conf_index > self.snapshot_index && self.applied > self.snapshot_index);
        // With async writes the commit index covering what was applied may
        // still wait in the append thread: a snapshot beyond the disk's
        // commit index would not restart (raft-core refuses such a log).
        let commit_on_disk = !self.appends_async || self.commit_written >= self.applied;
        if self.snapshot_every == 0 || !due || !commit_on_disk {
            return Ok(());
        }
        let index = self.applied;
        let kv = self.kv.encode();
        #[allow(unused_mut)]
        let (mut data, mut compact_to) = (self.state.encode(&kv), index);
        #[cfg(feature = "fault-injection")]
        match self.fault {
            Some(SimFault::StaleSnapshotData) => {
                data = StateMachine {
                    index,
                    hash: self.snapshot_state.hash,
                }
                .encode(&kv);
            }
            Some(SimFault::CompactPastSnapshot) => {
                compact_to = raw.store().last_index().unwrap_or(index).max(index);
            }
            _ => {}
        }
        let id = self.id;
        let storage = |e: raft_core::StorageError| {
            chk.fail(Property::Storage, format!("n{id} snapshot at {index}: {e}"))
        };
        let store = raw.store_mut();
        // The configuration as of `index`: what a node restoring the
        // snapshot must come back in.
        match store.create_snapshot(index, Some(self.conf.clone()), data) {
            // A log that keeps no snapshots (as LogStorage allows): this
            // node runs without compaction, as its runtime would.
            Err(raft_core::StorageError::Unsupported(_)) => {
                self.snapshot_every = 0;
                return Ok(());
            }
            r => r.map_err(storage)?,
        };
        store.compact(compact_to).map_err(storage)?;
        self.snaps.created += 1;
        self.set_snapshot(self.state);
        Ok(())
    }

    /// Makes the node crash in its next write, after the early sends of that
    /// write's Ready; `rng` decides what the crash loses.
    pub fn crash_at_next_write(&mut self, rng: Rng) {
        self.armed = Some(rng);
    }

    /// Calls off a crash armed by [`SimNode::crash_at_next_write`] that has
    /// not happened; true if there was one.
    pub fn disarm(&mut self) -> bool {
        self.armed.take().is_some()
    }

    /// How the last input's write crashed the node, if it did: what the
    /// crash lost, and how many messages left before the write.
    pub fn take_crash_at_write(&mut self) -> Option<(CrashLoss, usize)> {
        self.crashed_at_write.take()
    }
}

#[cfg(test)]
mod tests;
