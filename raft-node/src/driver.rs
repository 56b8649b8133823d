//! The Raft loop: one tokio task per node that owns the [`RawNode`], feeds it
//! ticks, messages and proposals, and handles each Ready.

use crate::append_worker::{AppendWorker, Completion};
use crate::config::NodeConfig;
use crate::envelope::{self, ProposalId};
use crate::error::{NodeError, ProposeError, ReadError, TransferError};
use crate::membership::{self, MemberChange, MembershipError, MembershipState};
use crate::metrics::{Metrics, WriteMetrics};
use crate::proposals::{BatchReply, Proposals, Reply, Waiter};
use crate::reads::{ReadReply, Reads};
use crate::ready_io::ReadyIo;
use crate::snapshotting::{finished, InFlight, Snapshots};
use crate::state_machine::StateMachine;
use crate::transfer::{Transfer, TransferReply};
use bytes::Bytes;
use raft_core::{
    Entry, LogStorage, Message, MessageType, NodeId, RawNode, Role, Transport, TransportEvent,
};
use std::future::poll_fn;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::MissedTickBehavior;

/// A request from a [`crate::NodeHandle`] to the loop.
pub(crate) enum Command {
    Propose {
        data: Bytes,
        reply: Reply,
    },
    ProposeBatch {
        entries: Vec<Bytes>,
        reply: BatchReply,
    },
    Status {
        reply: oneshot::Sender<raft_core::Status>,
    },
    ReadIndex {
        reply: ReadReply,
    },
    TransferLeader {
        to: NodeId,
        reply: TransferReply,
    },
    ChangeMembers {
        changes: Vec<MemberChange>,
        reply: membership::Reply,
    },
}

/// Everything the loop owns except its two input sources, which `run`
/// keeps apart so that `select!` can borrow them independently.
pub(crate) struct Driver<S: LogStorage, M> {
    pub(crate) raw: RawNode<S>,
    pub(crate) state_machine: M,
    pub(crate) config: NodeConfig,
    pub(crate) metrics: watch::Sender<Metrics>,
    pub(crate) snapshots: Snapshots,
    pub(crate) membership: MembershipState,
    /// Membership requests taken in but not yet proposed: they are proposed
    /// between Readies, when the log's last index is the store's.
    pub(crate) membership_requests: Vec<(Vec<MemberChange>, membership::Reply)>,
    /// Requests adding a member, held until the log no longer starts at
    /// index 1 (see `log_past_bootstrap`).
    pub(crate) awaiting_compaction: Vec<(Vec<MemberChange>, membership::Reply)>,
    proposals: Proposals,
    /// Proposals taken in since the inputs were last drained, already
    /// tagged: they enter the log together, as one `MsgProp`, so that the
    /// followers get one append for all of them rather than one each.
    staged: Vec<(u64, Bytes, Waiter)>,
    pub(crate) reads: Reads,
    pub(crate) transfers: Vec<Transfer>,
    pub(crate) next_seq: u64,
    pub(crate) ticks: u64,
    readies: u64,
    /// The append thread, in the background mode with a storage that
    /// stages its writes.
    worker: Option<AppendWorker>,
    writes: WriteMetrics,
}

impl<S, M> Driver<S, M>
where
    S: LogStorage + Send + 'static,
    M: StateMachine,
{
    pub(crate) fn new(
        raw: RawNode<S>,
        state_machine: M,
        config: NodeConfig,
        metrics: watch::Sender<Metrics>,
        snapshots: Snapshots,
        membership: MembershipState,
        worker: Option<AppendWorker>,
    ) -> Driver<S, M> {
        // Sequence numbers must not repeat across restarts, or an entry
        // proposed before a crash and applied after it would answer a new
        // proposal. Starting from the clock keeps them increasing.
        let next_seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Driver {
            raw,
            state_machine,
            config,
            metrics,
            snapshots,
            membership,
            membership_requests: Vec::new(),
            awaiting_compaction: Vec::new(),
            proposals: Proposals::default(),
            staged: Vec::new(),
            reads: Reads::new(next_seq),
            transfers: Vec::new(),
            next_seq,
            ticks: 0,
            readies: 0,
            worker,
            writes: WriteMetrics::default(),
        }
    }

    pub(crate) async fn run<T: Transport>(
        mut self,
        mut transport: T,
        mut commands: mpsc::Receiver<Command>,
        mut stop: watch::Receiver<bool>,
        mut appended: Option<tokio::sync::mpsc::UnboundedReceiver<Completion>>,
    ) -> Result<(), NodeError> {
        let mut ticker = tokio::time::interval(self.config.tick_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The snapshot being serialised off the loop, if any: at most one.
        let mut job: Option<InFlight> = None;
        let result = loop {
            // While the append thread holds all it may, or a snapshot waits
            // for it to run dry, the loop takes no new input and makes no
            // Ready (see `ReadyIo::can_take_ready`): it waits for writes to
            // come back, which keeps what is staged bounded. Ticks and the
            // thread's completions still run.
            let paused = self.waits_for_writes();
            let mut batching = false;
            let step = tokio::select! {
                biased;
                _ = stop.changed() => break Ok(()),
                _ = ticker.tick() => self.on_tick(),
                (index, conf_state, made) = finished(&mut job) => {
                    job = None;
                    self.snapshot_done(index, conf_state, made)
                }
                done = durable(&mut appended) => self.appends_durable(done, &mut transport),
                event = poll_fn(|cx| transport.poll_recv(cx)), if !paused => match event {
                    Some(event) => self.on_transport(event),
                    None => {
                        tracing::warn!(id = self.raw.id(), "transport closed; stopping node");
                        break Ok(());
                    }
                },
                command = commands.recv(), if !paused => match command {
                    Some(command) => {
                        batching = !self.proposals.is_empty();
                        self.on_command(command)
                    }
                    // Every handle is gone: nobody can propose or stop us.
                    None => break Ok(()),
                },
            };
            if step.is_ok() && batching {
                // A request came while proposals were in flight, so other
                // proposers are at work: let the tasks woken meanwhile
                // (those the last Ready answered) run before this loop
                // drains its inputs, so that what they propose joins this
                // Ready instead of each waking the loop for a Ready and an
                // append of its own. With nothing in flight (one proposer)
                // nobody else is coming, and the request is handled at once.
                tokio::task::yield_now().await;
            }
            let taken = step.and_then(|()| match self.waits_for_writes() {
                true => self.flush_proposals(),
                false => self.drain(&mut transport, &mut commands),
            });
            if let Err(e) = taken {
                break Err(e);
            }
            if let Err(e) = self.handle_readies(&mut transport) {
                break Err(e);
            }
            if !self.membership_requests.is_empty() {
                let proposed = self
                    .start_membership_changes()
                    .and_then(|()| self.handle_readies(&mut transport));
                if let Err(e) = proposed {
                    break Err(e);
                }
            }
            if let Err(e) = self.maybe_snapshot(&mut job) {
                break Err(e);
            }
        };
        if let Some(worker) = &mut self.worker {
            worker.stop();
        }
        self.fail_pending(ProposeError::ShuttingDown);
        self.reads.fail_all(ReadError::ShuttingDown);
        self.fail_transfers(TransferError::ShuttingDown);
        self.membership.fail(MembershipError::ShuttingDown);
        let unproposed = self.awaiting_compaction.drain(..);
        for (_, reply) in self.membership_requests.drain(..).chain(unproposed) {
            let _ = reply.send(Err(MembershipError::ShuttingDown));
        }
        if let Err(e) = &result {
            tracing::error!(id = self.raw.id(), error = %e, "node stopped on error");
        }
        result
    }

    /// Whether the append thread holds writes that have not come back.
    pub(crate) fn writes_outstanding(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| !w.is_idle())
    }

    /// Whether the loop must let the append thread catch up before it
    /// takes more: the thread holds as many appends as it may, or a
    /// snapshot is held until the thread has run dry.
    fn waits_for_writes(&self) -> bool {
        self.snapshots.holds_one() || self.worker.as_ref().is_some_and(|w| !w.has_room())
    }

    /// Takes in whatever else is already waiting, so that one Ready (one
    /// write, one fsync) covers as many inputs as possible: group commit.
    fn drain<T: Transport>(
        &mut self,
        transport: &mut T,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Result<(), NodeError> {
        let mut budget = self.config.max_inputs_per_ready;
        while budget > 0 {
            let mut progressed = false;
            if let Ok(command) = commands.try_recv() {
                self.on_command(command)?;
                progressed = true;
            }
            if let Some(event) = transport.try_recv() {
                self.on_transport(event)?;
                progressed = true;
            }
            if !progressed {
                break;
            }
            budget -= 1;
        }
        self.flush_proposals()
    }

    fn on_tick(&mut self) -> Result<(), NodeError> {
        self.raw.tick()?;
        self.ticks += 1;
        self.expire_reads();
        self.expire_transfers();
        let now = self.ticks;
        self.membership
            .expire(now, self.config.proposal_timeout_ticks);
        let ticks = self.config.proposal_timeout_ticks;
        self.proposals.expire(now, || ProposeError::Dropped {
            reason: format!("not committed within {ticks} ticks"),
        });
        Ok(())
    }

    fn on_transport(&mut self, event: TransportEvent) -> Result<(), NodeError> {
        match event {
            TransportEvent::Message(m) => self.step(m),
            TransportEvent::Unreachable(peer) => Ok(self.raw.report_unreachable(peer)?),
            TransportEvent::SnapshotReport(peer, status) => {
                Ok(self.raw.report_snapshot(peer, status)?)
            }
            // A kind of event this runtime does not know yet carries nothing
            // the protocol needs.
            _ => Ok(()),
        }
    }

    /// Steps a peer's message. A message the protocol refuses is the
    /// sender's problem, not a reason to stop this node.
    fn step(&mut self, m: Message) -> Result<(), NodeError> {
        let (from, msg_type) = (m.from, m.msg_type);
        if msg_type == MessageType::MsgSnap {
            self.snapshots.metrics.received += 1;
        }
        match self.raw.step(m) {
            Ok(()) => Ok(()),
            Err(raft_core::Error::Storage(e)) => Err(raft_core::Error::Storage(e).into()),
            Err(e) => {
                tracing::warn!(id = self.raw.id(), from, %msg_type, error = %e, "refused a message");
                Ok(())
            }
        }
    }

    fn on_command(&mut self, command: Command) -> Result<(), NodeError> {
        if !matches!(
            command,
            Command::Propose { .. } | Command::ProposeBatch { .. }
        ) {
            // Whatever else was asked after these proposals sees them in
            // the log (a transfer, say, would otherwise refuse them).
            self.flush_proposals()?;
        }
        match command {
            Command::Propose { data, reply } => self.propose(data, reply),
            Command::ProposeBatch { entries, reply } => self.propose_batch(entries, reply),
            Command::Status { reply } => {
                let _ = reply.send(self.raw.status());
                Ok(())
            }
            Command::ReadIndex { reply } => {
                self.reads.enqueue(reply);
                Ok(())
            }
            Command::TransferLeader { to, reply } => self.transfer_leader(to, reply),
            Command::ChangeMembers { changes, reply } => {
                self.membership_requests.push((changes, reply));
                Ok(())
            }
        }
    }

    /// The leader this node knows of, as a refusal to propose here; `None`
    /// when this node leads.
    fn not_leader(&self) -> Option<ProposeError> {
        let soft = self.raw.soft_state();
        (soft.role != Role::Leader).then(|| ProposeError::NotLeader {
            leader: (soft.leader != raft_core::NO_NODE).then_some(soft.leader),
        })
    }

    /// Tags `data` with a fresh sequence number and stages it for the next
    /// `MsgProp`.
    fn stage(&mut self, data: &Bytes, waiter: Waiter) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = ProposalId {
            node: self.raw.id(),
            seq,
        };
        self.staged.push((seq, envelope::wrap(id, data), waiter));
    }

    fn propose(&mut self, data: Bytes, reply: Reply) -> Result<(), NodeError> {
        match self.not_leader() {
            Some(refusal) => {
                let _ = reply.send(Err(refusal));
            }
            None => self.stage(&data, Waiter::One(reply)),
        }
        Ok(())
    }

    /// Stages every entry of a batch, in order.
    fn propose_batch(&mut self, entries: Vec<Bytes>, reply: BatchReply) -> Result<(), NodeError> {
        if let Some(refusal) = self.not_leader() {
            let _ = reply.send(vec![Err(refusal); entries.len()]);
            return Ok(());
        }
        let batch = self.proposals.open_batch(entries.len(), reply);
        for (slot, data) in entries.iter().enumerate() {
            self.stage(data, Waiter::InBatch { batch, slot });
        }
        Ok(())
    }

    /// Appends the staged proposals to the log as one `MsgProp`. Raft takes
    /// or refuses a `MsgProp` whole (the uncommitted-size limit, say), so a
    /// refused group is proposed again entry by entry: each entry is then
    /// taken or refused on its own, as if proposed alone.
    fn flush_proposals(&mut self) -> Result<(), NodeError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        let staged = std::mem::take(&mut self.staged);
        if let Some(refusal) = self.not_leader() {
            for (_, _, waiter) in staged {
                self.proposals.settle(waiter, Err(refusal.clone()));
            }
            return Ok(());
        }
        let deadline = self.ticks + self.config.proposal_timeout_ticks;
        let entries = staged
            .iter()
            .map(|(_, data, _)| Entry::new(data.clone()))
            .collect();
        match self.propose_entries(entries)? {
            Ok(()) => {
                for (seq, _, waiter) in staged {
                    self.proposals.wait(seq, waiter, deadline);
                }
            }
            Err(refusal) if staged.len() == 1 => {
                for (_, _, waiter) in staged {
                    self.proposals.settle(waiter, Err(refusal.clone()));
                }
            }
            Err(_) => {
                for (seq, data, waiter) in staged {
                    match self.propose_entries(vec![Entry::new(data)])? {
                        Ok(()) => self.proposals.wait(seq, waiter, deadline),
                        Err(refusal) => self.proposals.settle(waiter, Err(refusal)),
                    }
                }
            }
        }
        Ok(())
    }

    /// Steps one `MsgProp` carrying `entries`; a refusal comes back as the
    /// proposals' outcome, a storage failure stops the node.
    fn propose_entries(
        &mut self,
        entries: Vec<Entry>,
    ) -> Result<Result<(), ProposeError>, NodeError> {
        let mut proposal = Message::new(MessageType::MsgProp);
        proposal.from = self.raw.id();
        proposal.entries = entries;
        match self.raw.step(proposal) {
            Ok(()) => Ok(Ok(())),
            Err(raft_core::Error::Storage(e)) => Err(raft_core::Error::Storage(e).into()),
            Err(e) => Ok(Err(ProposeError::Dropped {
                reason: e.to_string(),
            })),
        }
    }

    /// Handles Readies until the node has nothing more, through raft-core's
    /// Ready loop: appends, heartbeats and vote requests leave before the
    /// write, so followers store entries while the leader does; responses
    /// that vouch for durable state leave after it.
    ///
    /// Queued reads leave first; when their round completes within these
    /// Readies (a lease read, a single voter), the next batch leaves at
    /// once rather than on the next input.
    fn handle_readies<T: Transport>(&mut self, transport: &mut T) -> Result<(), NodeError> {
        loop {
            self.issue_reads()?;
            self.handle_some_readies(transport)?;
            if !self.reads.can_issue() {
                return Ok(());
            }
        }
    }

    fn handle_some_readies<T: Transport>(&mut self, transport: &mut T) -> Result<(), NodeError> {
        let (raw, mut handler) = self.split(transport);
        let handled = raw.handle_readies(&mut handler)?;
        let read_states = handler.read_states;
        if handled > 0 {
            self.readies += handled as u64;
            // Published before readers wake, so that a read that resolved
            // finds the metrics at least as far applied as its index.
            self.publish_metrics();
            self.settle_reads(read_states);
            self.settle_transfers();
        }
        Ok(())
    }

    /// The node, and the handler of its Readies over everything else.
    fn split<'a, T: Transport>(
        &'a mut self,
        transport: &'a mut T,
    ) -> (&'a mut RawNode<S>, ReadyIo<'a, T, M>) {
        let handler = ReadyIo {
            me: self.raw.id(),
            transport,
            state_machine: &mut self.state_machine,
            proposals: &mut self.proposals,
            snapshots: &mut self.snapshots,
            read_states: Vec::new(),
            membership: &mut self.membership,
            worker: self.worker.as_mut(),
            writes: &mut self.writes,
        };
        (&mut self.raw, handler)
    }

    /// The append thread made these appends durable: their responses may
    /// now leave (or, this node's own, be stepped), in order.
    fn appends_durable<T: Transport>(
        &mut self,
        done: Option<Completion>,
        transport: &mut T,
    ) -> Result<(), NodeError> {
        let Some(done) = done else {
            return Err(NodeError::Task("the append thread has stopped".to_string()));
        };
        let group = done.map_err(raft_core::Error::from)?;
        if let Some(worker) = &mut self.worker {
            worker.completed(group.appends.len());
        }
        self.writes.writes += group.writes;
        self.writes.entries += group.entries;
        self.writes.syncs += u64::from(group.synced);
        let (raw, mut handler) = self.split(transport);
        for append in group.appends {
            raw.append_done(append, &mut handler)?;
        }
        self.store_held_snapshot()
    }

    /// Refreshes the metrics handles read. Runs after every batch of
    /// Readies, so it reads the node in place rather than through
    /// `status()`, which copies every peer's progress.
    pub(crate) fn publish_metrics(&mut self) {
        let mut peer_match = Vec::new();
        self.raw
            .with_progress(|id, pr| peer_match.push((id, pr.matched)));
        let soft = self.raw.soft_state();
        let hard = self.raw.hard_state();
        let metrics = Metrics {
            id: self.raw.id(),
            role: soft.role,
            term: hard.term,
            leader: (soft.leader != raft_core::NO_NODE).then_some(soft.leader),
            commit: hard.commit,
            applied: self.raw.applied(),
            peer_match,
            readies: self.readies,
            pending_proposals: self.proposals.len(),
            pending_reads: self.reads.len(),
            read_rounds: self.reads.rounds_issued,
            snapshots: self.snapshots.metrics.clone(),
            writes: WriteMetrics {
                queued: self.worker.as_ref().map_or(0, AppendWorker::in_flight),
                ..self.writes.clone()
            },
        };
        self.metrics.send_replace(metrics);
    }

    fn fail_pending(&mut self, error: ProposeError) {
        for (_, _, waiter) in std::mem::take(&mut self.staged) {
            self.proposals.settle(waiter, Err(error.clone()));
        }
        self.proposals.fail_all(error);
    }
}

/// The next group of appends the append thread made durable; never resolves
/// without an append thread, so that it can sit in a `select!` branch.
async fn durable(
    appended: &mut Option<tokio::sync::mpsc::UnboundedReceiver<Completion>>,
) -> Option<Completion> {
    match appended {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
