//! [`RawNode`]: the application's handle on the protocol, and the [`Ready`]
//! contract through which it does I/O.

use crate::confchange::AnyConfChange;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::message::{Message, MessageType};
use crate::raft::Raft;
use crate::read_only::ReadState;
use crate::snapshot::{Snapshot, SnapshotStatus};
use crate::status::Status;
use crate::storage::{entries_size, LogStorage, LogWrite};
use crate::types::{ConfState, Entry, EntryId, HardState, NodeId, SoftState};
use bytes::Bytes;

/// Everything the application must do after the state machine changed.
///
/// [`RawNode::handle_ready`] handles it in the one order every caller
/// shares, then calls [`RawNode::advance`]:
/// 1. send the `messages` that may leave before the write (those whose
///    type does not [wait for durability](MessageType::waits_for_durability));
/// 2. persist `snapshot`, `entries` and `hard_state` to the log (one atomic
///    write, [`Ready::take_log_write`]; with an fsync when it says `sync`);
/// 3. send the rest of `messages`: the responses, which are at the end and
///    promise durable state, so they must not leave before step 2 is done;
/// 4. restore the application's state machine from `snapshot`, if any, then
///    apply `committed_entries` to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ready {
    /// The leader or role changed since the last Ready.
    pub soft_state: Option<SoftState>,
    /// Term, vote or commit changed since the last Ready.
    pub hard_state: Option<HardState>,
    /// New log entries to persist (possibly replacing a conflicting suffix).
    pub entries: Vec<Entry>,
    /// A snapshot from the leader, to install in place of the log (before
    /// `entries`, which follow it) and to restore the state machine from.
    pub snapshot: Option<Snapshot>,
    /// Entries now committed, to apply in order.
    pub committed_entries: Vec<Entry>,
    /// Messages to send to peers.
    pub messages: Vec<Message>,
    /// Reads confirmed since the last Ready (see [`RawNode::read_index`]):
    /// each may be served once the state machine has applied its index.
    pub read_states: Vec<ReadState>,
    /// etcd's `MustSync`: true when there are entries, or the term or vote
    /// changed (a commit index change alone can be recovered from peers).
    /// As in etcd, a snapshot alone does not set it; the write is synced
    /// anyway (see [`Ready::log_write`]).
    pub must_sync: bool,
}

impl Ready {
    /// The log write this Ready asks for, ready for [`LogStorage::write`]. It
    /// is synced when `must_sync` is set or it installs a snapshot: a
    /// follower answers a snapshot by vouching for the log after it.
    pub fn log_write(&self) -> LogWrite {
        LogWrite {
            entries: self.entries.clone(),
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            sync: self.must_sync || self.snapshot.is_some(),
        }
    }

    /// Like [`Ready::log_write`], but moves the entries out instead of
    /// copying them (`entries` is left empty). The snapshot is shared, not
    /// moved (its data is reference-counted): the application still restores
    /// its state machine from `snapshot`.
    pub fn take_log_write(&mut self) -> LogWrite {
        LogWrite {
            entries: std::mem::take(&mut self.entries),
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            sync: self.must_sync || self.snapshot.is_some(),
        }
    }
}

/// Terms and indexes beyond this are refused: no group ever reaches them
/// (2^63 elections or entries), and refusing them keeps every `+ 1` in the
/// protocol free of overflow.
const MAX_PLAUSIBLE: u64 = u64::MAX / 2;

/// Rejects what no correct peer sends. etcd trusts its peers here; a
/// process facing a network should not: a term of 0 would be taken for a
/// local message, a message "from" ourselves would be answered to
/// ourselves, and numbers near `u64::MAX` would overflow.
fn check_peer_message(me: NodeId, m: &Message) -> Result<()> {
    let invalid = |reason: String| {
        Err(Error::InvalidMessage {
            from: m.from,
            reason,
        })
    };
    // A proposal or a read keeps its requester as `from` while it is
    // forwarded, and a forward can come back round to the requester when
    // leadership moved meanwhile; a transfer request names the transferee,
    // which may be us. Every other message from ourselves is a forgery.
    let from_us = m.from == me
        && !matches!(
            m.msg_type,
            MessageType::MsgProp | MessageType::MsgReadIndex | MessageType::MsgTransferLeader
        );
    if m.from == crate::types::NO_NODE || from_us {
        return invalid(format!("{} claims to come from {:x}", m.msg_type, m.from));
    }
    // Proposals are forwarded requests, not assertions of a term; a leader
    // may be told to forget itself by anyone.
    let termless = matches!(
        m.msg_type,
        MessageType::MsgProp | MessageType::MsgForgetLeader | MessageType::MsgReadIndex
    );
    if m.term == 0 && !termless {
        return invalid(format!("{} without a term", m.msg_type));
    }
    // Entries need no check of their own: an append's entries must follow
    // its (checked) index with terms up to its (checked) term, and a
    // proposal's get their term and index from the leader.
    let numbers = [m.term, m.log_term, m.index, m.commit, m.reject_hint];
    if numbers.into_iter().any(|n| n > MAX_PLAUSIBLE) {
        return invalid(format!(
            "{} carries a term or index beyond 2^63",
            m.msg_type
        ));
    }
    let is_read = matches!(
        m.msg_type,
        MessageType::MsgReadIndex | MessageType::MsgReadIndexResp
    );
    if is_read && m.entries.len() != 1 {
        // The one entry is the request context the answer must carry back.
        return invalid(format!(
            "{} with {} entries (expected 1)",
            m.msg_type,
            m.entries.len()
        ));
    }
    if m.msg_type == MessageType::MsgApp {
        // Checked here, not only where the entries are appended, so that a
        // malformed append changes nothing: not the term, not the leader.
        let prev = EntryId {
            term: m.log_term,
            index: m.index,
        };
        crate::log::check_append(m.term, prev, &m.entries).or_else(invalid)?;
    }
    if let Some(s) = &m.snapshot {
        // A leader's snapshot holds only entries it has: none newer than its
        // term, and an index 0 (no snapshot) has no term.
        let meta = &s.metadata;
        if meta.index > MAX_PLAUSIBLE || meta.term > m.term || (meta.index == 0) != (meta.term == 0)
        {
            return invalid(format!(
                "{} carries an impossible snapshot [index: {}, term: {}]",
                m.msg_type, meta.index, meta.term
            ));
        }
    }
    Ok(())
}

/// What `advance` does once the application has handled a Ready. etcd
/// models these as messages to itself; they are kept internal here.
#[derive(Debug)]
enum AdvanceStep {
    /// A response to ourselves that needed durability (our vote, our append).
    Deliver(Message),
    /// The entries handed out so far are durable, up to `last` (if any were
    /// unstable), as of `term`; and the snapshot at `snapshot`, if any, is
    /// installed, which also makes it applied.
    Stable {
        term: u64,
        last: Option<EntryId>,
        snapshot: Option<u64>,
    },
    /// Committed entries up to `index` were applied.
    Applied { index: u64, size: u64, payload: u64 },
}

/// A Raft node without I/O: feed it ticks, messages and proposals; take the
/// resulting [`Ready`]; do the I/O; call [`RawNode::advance`].
///
/// It owns its [`LogStorage`] for reads; the application writes through
/// [`RawNode::store_mut`] while handling a Ready.
pub struct RawNode<S: LogStorage> {
    raft: Raft<S>,
    prev_soft: SoftState,
    prev_hard: HardState,
    steps_on_advance: Vec<AdvanceStep>,
    /// `Config::async_storage_writes`: Readies carry storage messages and
    /// `advance` is not used.
    async_storage_writes: bool,
    /// Capacities for the message buffers a Ready takes away, following
    /// recent Readies so that a busy leader does not regrow them each time.
    msg_capacity: usize,
    after_append_capacity: usize,
}

/// The capacity to give a fresh message buffer: the largest recent batch,
/// decaying slowly (a leader's Readies alternate between a large batch of
/// appends and a few commit updates, and must not regrow every round), so
/// that one burst still does not pin memory for good.
fn next_capacity(previous: usize, used: usize) -> usize {
    used.max(previous - previous / 64)
}

/// Takes the messages queued in `buf`, leaving a buffer for what recent
/// batches needed (`recent`, see [`next_capacity`]). An empty buffer stays
/// where it is: a Ready without messages neither allocates nor lets the
/// capacity decay. The capacity is rounded up to a power of two so that the
/// slow decay does not cut it just below the size of the next large batch,
/// which would then regrow (and copy) its buffer every round.
fn take_batch(buf: &mut Vec<Message>, recent: &mut usize) -> Vec<Message> {
    if buf.is_empty() {
        return Vec::new();
    }
    *recent = next_capacity(*recent, buf.len());
    std::mem::replace(buf, Vec::with_capacity(recent.next_power_of_two()))
}

impl<S: LogStorage> RawNode<S> {
    /// Starts a node from `config` and whatever `store` holds.
    pub fn new(config: &Config, store: S) -> Result<RawNode<S>> {
        let raft = Raft::new(config, store)?;
        Ok(RawNode {
            prev_soft: raft.soft_state(),
            prev_hard: raft.hard_state(),
            raft,
            steps_on_advance: Vec::new(),
            async_storage_writes: config.async_storage_writes,
            msg_capacity: 0,
            after_append_capacity: 0,
        })
    }

    /// Advances the logical clock by one tick.
    pub fn tick(&mut self) -> Result<()> {
        self.raft.tick()
    }

    /// Starts an election now (a pre-election first when pre-vote is on).
    pub fn campaign(&mut self) -> Result<()> {
        self.raft.step(Message::new(MessageType::MsgHup))
    }

    /// Proposes `data` for appending to the log. Success means it was
    /// appended or forwarded, not that it will commit: watch
    /// `committed_entries` for it.
    pub fn propose(&mut self, data: impl Into<Bytes>) -> Result<()> {
        self.raft.step(Message {
            from: self.raft.id,
            entries: vec![Entry::new(data)],
            ..Message::new(MessageType::MsgProp)
        })
    }

    /// Proposes a membership change (v1 or v2, see [`AnyConfChange`]). As
    /// with [`RawNode::propose`], success means appended or forwarded; a
    /// leader that refuses the change (one is already in flight, or it
    /// does not fit the configuration) appends an empty entry in its place.
    /// The change takes effect when the application applies it with
    /// [`RawNode::apply_conf_change`] (which [`RawNode::handle_ready`] does
    /// by itself).
    pub fn propose_conf_change(&mut self, cc: impl Into<AnyConfChange>) -> Result<()> {
        let (entry_type, data) = cc.into().to_entry_data();
        self.raft.step(Message {
            from: self.raft.id,
            entries: vec![Entry {
                entry_type,
                data,
                ..Entry::default()
            }],
            ..Message::new(MessageType::MsgProp)
        })
    }

    /// Applies a committed membership change and returns the configuration
    /// in force afterwards, to store with the application's state. A change
    /// that cannot apply to the current configuration is refused with
    /// [`Error::ConfChange`] and changes nothing.
    pub fn apply_conf_change(&mut self, cc: impl Into<AnyConfChange>) -> Result<ConfState> {
        self.raft.apply_conf_change(&cc.into().as_v2())
    }

    /// Hands the node a message from a peer.
    ///
    /// Refuses message types only a node generates for itself, responses
    /// from nodes outside the group, and messages no correct peer sends (no
    /// term where one is required, a sender of 0 or of this node's own id,
    /// terms or indexes beyond 2^63), leaving the node unchanged.
    pub fn step(&mut self, m: Message) -> Result<()> {
        #[cfg(not(feature = "trace"))]
        self.accept_from_peer(&m)?;
        #[cfg(feature = "trace")]
        if let Err(e) = self.accept_from_peer(&m) {
            self.raft.emit(&crate::trace::TraceEvent::Refused(&m));
            return Err(e);
        }
        self.raft.step(m)
    }

    fn accept_from_peer(&self, m: &Message) -> Result<()> {
        if self.async_storage_writes {
            // The storage threads' responses, and this node's own
            // responses they deliver, come back through `step`.
            let from_thread = crate::message::is_local_thread(m.from);
            let storage_response = matches!(
                m.msg_type,
                MessageType::MsgStorageAppendResp | MessageType::MsgStorageApplyResp
            );
            if from_thread || storage_response {
                return match from_thread && storage_response && m.to == self.raft.id {
                    true => Ok(()),
                    false => Err(Error::StepLocalMsg),
                };
            }
            if m.from == self.raft.id && m.msg_type.waits_for_durability() {
                return Ok(());
            }
        }
        if m.msg_type.is_local() {
            return Err(Error::StepLocalMsg);
        }
        if m.msg_type.is_response() && !self.raft.trk.progress.contains_key(&m.from) {
            return Err(Error::StepPeerNotFound);
        }
        check_peer_message(self.raft.id, m)
    }

    /// Attaches a tracer that is told every protocol event of this node
    /// (see [`crate::trace`]), starting with the node's current state.
    /// Replaces any tracer set before. Fails only if the log cannot be read.
    #[cfg(feature = "trace")]
    pub fn set_tracer(&mut self, tracer: Box<dyn crate::trace::Tracer>) -> Result<()> {
        self.raft.set_tracer(tracer)
    }

    /// Tells the leader how sending a snapshot to `id` ended (etcd's
    /// `ReportSnapshot`). The application calls it once the transport has
    /// delivered the `MsgSnap` of a Ready, or failed to.
    pub fn report_snapshot(&mut self, id: NodeId, status: SnapshotStatus) -> Result<()> {
        self.raft.step(Message {
            from: id,
            reject: status == SnapshotStatus::Failure,
            ..Message::new(MessageType::MsgSnapStatus)
        })
    }

    /// Tells the leader that messages to `id` were lost, so it probes that
    /// follower instead of streaming to it blindly.
    pub fn report_unreachable(&mut self, id: NodeId) -> Result<()> {
        self.raft.step(Message {
            from: id,
            ..Message::new(MessageType::MsgUnreachable)
        })
    }

    /// Forgets the known leader, so that this follower grants (pre-)votes
    /// without waiting for its leader lease to run out. Use it when the
    /// application knows the leader is gone. A no-op on leaders, and
    /// ignored (with an error log) under [`crate::ReadOnlyOption::LeaseBased`],
    /// whose reads rely on that lease.
    pub fn forget_leader(&mut self) -> Result<()> {
        self.raft.step(Message::new(MessageType::MsgForgetLeader))
    }

    /// Asks the leader to hand leadership to `transferee` (etcd's
    /// `TransferLeader`); a follower forwards the request to its leader.
    /// Nothing is promised: watch `soft_state` for the outcome. Refused
    /// (ignored) for a transferee that is not a voter, or is the leader; a
    /// leader that cannot complete it within an election timeout gives up.
    /// Proposals are dropped while it runs.
    pub fn transfer_leader(&mut self, transferee: NodeId) -> Result<()> {
        self.raft.step(Message {
            from: transferee,
            ..Message::new(MessageType::MsgTransferLeader)
        })
    }

    /// Asks for a linearizable read point (etcd's `ReadIndex`). When it is
    /// confirmed, a [`ReadState`] with `context` as its `request_ctx`
    /// appears in [`Ready::read_states`]; once the application has applied
    /// up to its index, reading the state machine reflects every write
    /// acknowledged before this call. The request may be lost (no leader,
    /// leadership change): the application retries after a timeout of its
    /// own, matching answers by `context`.
    pub fn read_index(&mut self, context: impl Into<Bytes>) -> Result<()> {
        self.raft.step(Message {
            entries: vec![Entry::new(context)],
            ..Message::new(MessageType::MsgReadIndex)
        })
    }

    /// Whether [`RawNode::ready`] has anything to hand out.
    pub fn has_ready(&self) -> bool {
        let r = &self.raft;
        if r.soft_state() != self.prev_soft {
            return true;
        }
        let hs = r.hard_state();
        if !hs.is_empty() && hs != self.prev_hard {
            return true;
        }
        !r.msgs.is_empty()
            || !r.read_states.is_empty()
            || !r.msgs_after_append.is_empty()
            || r.raft_log.has_next_unstable_snapshot()
            || r.raft_log.has_next_unstable_entries()
            || r.raft_log
                .has_next_committed_entries(self.apply_unstable_entries())
    }

    /// Collects what the application must persist, send and apply. Call
    /// [`RawNode::advance`] after handling it, before the next `ready`.
    pub fn ready(&mut self) -> Result<Ready> {
        let allow_unstable = self.apply_unstable_entries();
        let r = &mut self.raft;
        let soft = r.soft_state();
        let hard = r.hard_state();
        let mut rd = Ready {
            soft_state: (soft != self.prev_soft).then_some(soft),
            hard_state: (hard != self.prev_hard).then_some(hard),
            entries: r.raft_log.next_unstable_entries().to_vec(),
            snapshot: r.raft_log.next_unstable_snapshot().cloned(),
            committed_entries: r.raft_log.next_committed_entries(allow_unstable)?,
            messages: take_batch(&mut r.msgs, &mut self.msg_capacity),
            read_states: std::mem::take(&mut r.read_states),
            must_sync: false,
        };
        // Counted once: the apply budget and the advance step both need it.
        let committed_size = entries_size(&rd.committed_entries);
        rd.must_sync = !rd.entries.is_empty()
            || hard.vote != self.prev_hard.vote
            || hard.term != self.prev_hard.term;

        if self.async_storage_writes {
            if let Some(m) = crate::async_writes::append_message(r, &rd)? {
                rd.messages.push(m);
            }
            if let Some(m) = crate::async_writes::apply_message(r, &rd.committed_entries) {
                rd.messages.push(m);
            }
            self.accept_ready(&rd, allow_unstable, committed_size);
            return Ok(rd);
        }
        // Responses wait behind the persistence of this Ready: the ones to
        // peers go last in `messages`, the ones to ourselves are stepped on
        // advance.
        let after_append = take_batch(&mut r.msgs_after_append, &mut self.after_append_capacity);
        rd.messages.reserve(after_append.len());
        for m in after_append {
            if m.to == r.id {
                self.steps_on_advance.push(AdvanceStep::Deliver(m));
            } else {
                rd.messages.push(m);
            }
        }
        let unstable_entries = r.raft_log.has_next_or_in_progress_unstable_entries();
        if unstable_entries || rd.snapshot.is_some() {
            self.steps_on_advance.push(AdvanceStep::Stable {
                term: r.term,
                last: match unstable_entries {
                    true => Some(r.raft_log.last_entry_id()?),
                    false => None,
                },
                snapshot: rd.snapshot.as_ref().map(Snapshot::index),
            });
        }
        if let Some(last) = rd.committed_entries.last() {
            let size = committed_size;
            let payload = rd.committed_entries.iter().map(Entry::payload_size).sum();
            self.steps_on_advance.push(AdvanceStep::Applied {
                index: last.index,
                size,
                payload,
            });
        }
        self.accept_ready(&rd, allow_unstable, committed_size);
        Ok(rd)
    }

    /// Records that `rd` was handed out: what it carries is no longer
    /// "next" (etcd's `acceptReady`). `committed_size` is the encoded size
    /// of its committed entries.
    fn accept_ready(&mut self, rd: &Ready, allow_unstable: bool, committed_size: u64) {
        let r = &mut self.raft;
        if let Some(last) = rd.committed_entries.last() {
            r.raft_log
                .accept_applying(last.index, committed_size, allow_unstable);
        }
        r.raft_log.accept_unstable();
        if let Some(soft) = rd.soft_state {
            self.prev_soft = soft;
        }
        if let Some(hard) = rd.hard_state.filter(|hs| !hs.is_empty()) {
            self.prev_hard = hard;
        }
    }

    /// Whether committed entries may be applied before they are durable
    /// locally: yes when a Ready's writes are done before its applies (the
    /// synchronous contract), no when the two threads run independently.
    fn apply_unstable_entries(&self) -> bool {
        !self.async_storage_writes
    }

    /// Tells the node the last Ready was handled: its entries and hard state
    /// are durable and its committed entries applied.
    ///
    /// Not used with `Config::async_storage_writes`
    /// ([`Error::AdvanceWithAsyncStorageWrites`]): the storage threads'
    /// responses take its place.
    pub fn advance(&mut self) -> Result<()> {
        if self.async_storage_writes {
            return Err(Error::AdvanceWithAsyncStorageWrites);
        }
        // Drained rather than taken: the buffer keeps its capacity for the
        // next Ready (a leader queues one self-response per proposal).
        for step in self.steps_on_advance.drain(..) {
            match step {
                AdvanceStep::Deliver(m) => self.raft.step(m)?,
                AdvanceStep::Stable {
                    term,
                    last,
                    snapshot,
                } => self.raft.storage_appended(term, last, snapshot)?,
                AdvanceStep::Applied {
                    index,
                    size,
                    payload,
                } => self.raft.applied_to(index, size, payload)?,
            }
        }
        Ok(())
    }

    /// A snapshot of the node's state, with every peer's progress when it
    /// leads.
    pub fn status(&self) -> Status {
        Status::of(&self.raft)
    }

    /// Calls `f` with each peer's progress (only a leader tracks any),
    /// without copying them as [`RawNode::status`] does.
    pub fn with_progress(&self, mut f: impl FnMut(NodeId, &crate::tracker::Progress)) {
        if self.raft.role == crate::types::Role::Leader {
            for (id, pr) in &self.raft.trk.progress {
                f(*id, pr);
            }
        }
    }

    /// The hard state as it is now (term, vote, commit), whether or not a
    /// Ready has handed it out yet.
    pub fn hard_state(&self) -> HardState {
        self.raft.hard_state()
    }

    /// The index of the last entry applied, as told by `advance`.
    pub fn applied(&self) -> u64 {
        self.raft.raft_log.applied
    }

    /// The index of the newest membership change this node proposed as
    /// leader (or, on becoming leader, its last index): while it is above
    /// [`RawNode::applied`], a new change is refused (replaced by an empty
    /// entry), one change at a time.
    pub fn pending_conf_index(&self) -> u64 {
        self.raft.pending_conf_index
    }

    /// Role and known leader, without copying the progress of every peer
    /// as [`RawNode::status`] does; cheap enough for every request.
    pub fn soft_state(&self) -> SoftState {
        self.raft.soft_state()
    }

    /// Whether the node runs with `Config::async_storage_writes`.
    pub fn async_storage_writes(&self) -> bool {
        self.async_storage_writes
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.raft.id
    }

    /// The log storage, for reads.
    pub fn store(&self) -> &S {
        &self.raft.raft_log.store
    }

    /// The log storage, for the writes a Ready asks for.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.raft.raft_log.store
    }

    /// Overrides the current randomized election timeout, so tests can make
    /// an election fire at a chosen tick. Reset draws a new one as usual.
    /// A test hook: only with the `testing` feature.
    #[cfg(feature = "testing")]
    pub fn set_randomized_election_timeout(&mut self, ticks: usize) {
        self.raft.randomized_election_timeout = ticks;
    }
}
