//! The protocol state machine, split by concern:
//!
//! | file | rules |
//! |---|---|
//! | `step.rs` | term rules for every incoming message, dispatch by role |
//! | `roles.rs` | the role transitions and what each resets |
//! | `tick.rs` | election and heartbeat timers |
//! | `election.rs` | campaigns, (pre-)vote requests and responses |
//! | `replication.rs` | MsgApp/MsgAppResp, consistency check, backtracking, commit |
//! | `heartbeat.rs` | MsgHeartbeat/MsgHeartbeatResp |
//! | `snapshot.rs` | MsgSnap: sending, restoring, MsgSnapStatus |
//! | `proposal.rs` | proposals at a leader, forwarding, the uncommitted-size limit |
//! | `leader.rs` | a leader's message handling, CheckQuorum |
//! | `follower.rs` | a follower's message handling, forgetting the leader |
//! | `transfer.rs` | leadership transfer: MsgTransferLeader, MsgTimeoutNow |
//! | `read_index.rs` | ReadIndex: MsgReadIndex(Resp), confirming reads |
//! | `membership.rs` | applying configuration changes, learners, auto-leave |

/// Runs its body only when the `trace` feature is on: without it the body is
/// not compiled at all, so tracing costs nothing.
macro_rules! traced {
    ($($body:tt)*) => {
        #[cfg(feature = "trace")]
        {
            $($body)*
        }
    };
}

mod election;
mod follower;
mod heartbeat;
mod leader;
mod membership;
mod proposal;
mod read_index;
mod replication;
mod roles;
mod snapshot;
mod step;
mod tick;
mod transfer;

pub(crate) use election::CampaignType;

use crate::config::{Config, ConfigError, ReadOnlyOption};
use crate::error::Result;
use crate::log::RaftLog;
use crate::message::Message;
use crate::read_only::{ReadOnly, ReadState};
use crate::rng::Rng;
use crate::storage::LogStorage;
use crate::tracker::{Progress, ProgressTracker};
use crate::types::{HardState, NodeId, Role, SoftState, NO_NODE};

/// One node's protocol state. `RawNode` wraps it with the Ready interface.
pub(crate) struct Raft<S> {
    pub(crate) id: NodeId,
    pub(crate) term: u64,
    pub(crate) vote: NodeId,
    pub(crate) raft_log: RaftLog<S>,
    pub(crate) trk: ProgressTracker,
    pub(crate) role: Role,
    pub(crate) lead: NodeId,
    /// Messages that may leave as soon as the application sees them.
    pub(crate) msgs: Vec<Message>,
    /// Responses that vouch for state (a vote, stored entries) and so may
    /// leave only once the Ready that carries that state is durable. Some
    /// are addressed to this node itself (its own vote, its own append).
    pub(crate) msgs_after_append: Vec<Message>,
    max_msg_size: u64,
    max_uncommitted_size: u64,
    /// Payload bytes a leader has appended but not yet seen applied.
    uncommitted_size: u64,
    /// Ticks since the last election timeout reset (followers: also since
    /// they last heard from their leader).
    pub(crate) election_elapsed: usize,
    heartbeat_elapsed: usize,
    pub(crate) check_quorum: bool,
    pub(crate) pre_vote: bool,
    heartbeat_timeout: usize,
    pub(crate) election_timeout: usize,
    /// Drawn from `[election_timeout, 2 * election_timeout)` at each reset.
    pub(crate) randomized_election_timeout: usize,
    disable_proposal_forwarding: bool,
    /// The voter a running leadership transfer hands over to; `NO_NODE`
    /// when none runs.
    pub(crate) lead_transferee: NodeId,
    pub(crate) read_only_option: ReadOnlyOption,
    /// Reads waiting for a heartbeat round (`ReadOnlyOption::Safe`).
    pub(crate) read_only: ReadOnly,
    /// Reads that arrived before this leader committed an entry of its
    /// term. Like etcd, kept across term changes: a node that leads again
    /// answers them then.
    pub(crate) pending_read_index: Vec<Message>,
    /// Confirmed reads for the next Ready.
    pub(crate) read_states: Vec<ReadState>,
    /// The index of the latest configuration change a leader appended: no
    /// other may be proposed until it is applied (one change at a time).
    pub(crate) pending_conf_index: u64,
    /// This node is a learner in the configuration it applied.
    pub(crate) is_learner: bool,
    step_down_on_removal: bool,
    disable_conf_change_validation: bool,
    rng: Rng,
    /// The members other than this node (learners included), ascending:
    /// the progress map's keys, kept apart because a leader broadcasts to
    /// them once per proposal. Set with the configuration
    /// (`switch_to_config`), the only place the map changes.
    pub(crate) peers: Vec<NodeId>,
    #[cfg(feature = "fault-injection")]
    pub(crate) fault: Option<crate::config::Fault>,
    #[cfg(feature = "trace")]
    pub(crate) tracer: Option<Box<dyn crate::trace::Tracer>>,
    /// The commit index last reported to the tracer.
    #[cfg(feature = "trace")]
    traced_commit: u64,
    /// A traced step (a received message, a tick) is running.
    #[cfg(feature = "trace")]
    in_traced_step: bool,
}

impl<S: LogStorage> Raft<S> {
    pub(crate) fn new(config: &Config, store: S) -> Result<Raft<S>> {
        config.validate()?;
        let initial = store.initial_state()?;
        let raft_log = RaftLog::new(store, config.effective_max_committed_size_per_ready())?;
        let last = raft_log.last_index()?;
        let trk = ProgressTracker::new(
            config.max_inflight_msgs,
            config.effective_max_inflight_bytes(),
        );
        let mut raft = Raft {
            id: config.id,
            term: 0,
            vote: NO_NODE,
            raft_log,
            trk,
            role: Role::Follower,
            lead: NO_NODE,
            msgs: Vec::new(),
            msgs_after_append: Vec::new(),
            max_msg_size: config.max_size_per_msg,
            max_uncommitted_size: config.effective_max_uncommitted_size(),
            uncommitted_size: 0,
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            check_quorum: config.check_quorum,
            pre_vote: config.pre_vote,
            heartbeat_timeout: config.heartbeat_tick,
            election_timeout: config.election_tick,
            randomized_election_timeout: config.election_tick,
            disable_proposal_forwarding: config.disable_proposal_forwarding,
            lead_transferee: NO_NODE,
            read_only_option: config.read_only_option,
            read_only: ReadOnly::default(),
            pending_read_index: Vec::new(),
            read_states: Vec::new(),
            pending_conf_index: 0,
            is_learner: false,
            step_down_on_removal: config.step_down_on_removal,
            disable_conf_change_validation: config.disable_conf_change_validation,
            rng: Rng::new(config.random_seed),
            peers: Vec::new(),
            #[cfg(feature = "fault-injection")]
            fault: config.fault,
            #[cfg(feature = "trace")]
            tracer: None,
            #[cfg(feature = "trace")]
            traced_commit: 0,
            #[cfg(feature = "trace")]
            in_traced_step: false,
        };
        raft.restore_config(&initial.conf_state, last)?;
        if !initial.hard_state.is_empty() {
            raft.load_state(initial.hard_state)?;
        }
        if config.applied > 0 {
            let log = &mut raft.raft_log;
            if config.applied < log.applied || config.applied > log.committed {
                return Err(ConfigError::AppliedOutOfRange {
                    applied: config.applied,
                    min: log.applied,
                    committed: log.committed,
                }
                .into());
            }
            log.applied_to(config.applied, 0);
        }
        raft.become_follower(raft.term, NO_NODE)?;
        let last = raft.raft_log.last_entry_id()?;
        let peers: Vec<String> = raft
            .trk
            .voters()
            .ids()
            .map(|id| format!("{id:x}"))
            .collect();
        tracing::info!(
            "newRaft {:x} [peers: [{}], term: {}, commit: {}, applied: {}, lastindex: {}, lastterm: {}]",
            raft.id,
            peers.join(","),
            raft.term,
            raft.raft_log.committed,
            raft.raft_log.applied,
            last.index,
            last.term
        );
        Ok(raft)
    }

    /// Restores term, vote and commit from storage. A commit index outside
    /// the stored log means the storage lost entries it had promised.
    fn load_state(&mut self, hs: HardState) -> Result<()> {
        let last = self.raft_log.last_index()?;
        if hs.commit < self.raft_log.committed || hs.commit > last {
            return Err(crate::storage::StorageError::Corrupted(format!(
                "{:x} state.commit {} is out of range [{}, {}]",
                self.id, hs.commit, self.raft_log.committed, last
            ))
            .into());
        }
        self.raft_log.committed = hs.commit;
        self.term = hs.term;
        self.vote = hs.vote;
        Ok(())
    }

    pub(crate) fn soft_state(&self) -> SoftState {
        SoftState {
            leader: self.lead,
            role: self.role,
        }
    }

    pub(crate) fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.raft_log.committed,
        }
    }

    /// Queues `m` for sending, filling in sender and term.
    ///
    /// Vote traffic carries its own term (a pre-vote is for a future term, a
    /// granted response echoes the request's). Proposals and reads carry
    /// none: they are forwarded requests, not assertions of a term.
    /// Everything else carries ours.
    pub(crate) fn send(&mut self, mut m: Message) {
        if m.from == NO_NODE {
            m.from = self.id;
        }
        if m.msg_type.is_vote_traffic() {
            debug_assert!(m.term != 0, "term must be set when sending {}", m.msg_type);
        } else if !matches!(
            m.msg_type,
            crate::message::MessageType::MsgProp | crate::message::MessageType::MsgReadIndex
        ) {
            m.term = self.term;
        }
        traced! { self.emit(&crate::trace::TraceEvent::Send(&m)); }
        if m.msg_type.waits_for_durability() {
            self.msgs_after_append.push(m);
        } else {
            debug_assert!(m.to != self.id, "{} must not be self-addressed", m.msg_type);
            self.msgs.push(m);
        }
    }

    /// Enters `term` (clearing the vote if it is new) and forgets everything
    /// tied to the previous role: leader, timers, votes, peer progress.
    pub(crate) fn reset(&mut self, term: u64) -> Result<()> {
        if self.term != term {
            self.term = term;
            self.vote = NO_NODE;
        }
        self.lead = NO_NODE;
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.reset_randomized_election_timeout();
        self.abort_leader_transfer();
        self.trk.reset_votes();
        let last = self.raft_log.last_index()?;
        let (max_inflight, max_bytes) = (self.trk.max_inflight, self.trk.max_inflight_bytes);
        for (id, pr) in self.trk.progress.iter_mut() {
            let is_learner = pr.is_learner;
            *pr = Progress::new(last + 1, max_inflight, max_bytes);
            pr.is_learner = is_learner;
            if *id == self.id {
                pr.matched = last;
            }
        }
        self.pending_conf_index = 0;
        self.uncommitted_size = 0;
        self.read_only = ReadOnly::default();
        Ok(())
    }

    pub(crate) fn reset_randomized_election_timeout(&mut self) {
        self.randomized_election_timeout =
            self.election_timeout + self.rng.below(self.election_timeout);
    }

    /// Only a voter in the current configuration may campaign (not a
    /// learner, not a removed node), and not while it is still installing a
    /// snapshot (its log is not settled).
    pub(crate) fn promotable(&self) -> bool {
        self.trk
            .progress
            .get(&self.id)
            .is_some_and(|pr| !pr.is_learner)
            && !self.raft_log.has_next_or_in_progress_snapshot()
    }

    pub(crate) fn past_election_timeout(&self) -> bool {
        self.election_elapsed >= self.randomized_election_timeout
    }

    /// Marks `applied` as applied by the application and releases the
    /// uncommitted budget its entries held. A leader whose joint
    /// configuration is now applied proposes to leave it, when it is to be
    /// left automatically.
    pub(crate) fn applied_to(&mut self, index: u64, size: u64, payload: u64) -> Result<()> {
        let applied = index.max(self.raft_log.applied);
        self.raft_log.applied_to(applied, size);
        self.maybe_auto_leave(applied)?;
        self.reduce_uncommitted_size(payload);
        Ok(())
    }
}

#[cfg(feature = "trace")]
impl<S: LogStorage> Raft<S> {
    /// Hands `event` to the tracer, if one is set.
    pub(crate) fn emit(&mut self, event: &crate::trace::TraceEvent<'_>) {
        if let Some(tracer) = self.tracer.as_mut() {
            tracer.record(self.id, event);
        }
    }

    /// Reports a commit index that moved since the last report.
    pub(crate) fn emit_commit(&mut self) {
        let index = self.raft_log.committed;
        if index != self.traced_commit {
            self.traced_commit = index;
            self.emit(&crate::trace::TraceEvent::Commit { index });
        }
    }

    /// Reports a role change; called at the end of each `become_*`.
    pub(crate) fn emit_role(&mut self) {
        let event = crate::trace::TraceEvent::Role {
            role: self.role,
            term: self.term,
            vote: self.vote,
            lead: self.lead,
        };
        self.emit(&event);
    }

    /// The state the trace specification compares with its own. Reads the
    /// whole log, which is why it exists only under the feature.
    pub(crate) fn trace_state(&self) -> Result<crate::trace::TraceState> {
        let first = self.raft_log.first_index()? - 1;
        let last = self.raft_log.last_index()?;
        let mut terms = Vec::with_capacity((last - first + 1) as usize);
        for index in first..=last {
            terms.push(self.raft_log.term(index)?);
        }
        Ok(crate::trace::TraceState {
            term: self.term,
            vote: self.vote,
            role: self.role,
            lead: self.lead,
            commit: self.raft_log.committed,
            first,
            terms,
            election_elapsed: self.election_elapsed as u64,
            randomized_election_timeout: self.randomized_election_timeout as u64,
            heartbeat_elapsed: self.heartbeat_elapsed as u64,
            voters: self.trk.voters().ids().collect(),
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            election_tick: self.election_timeout as u64,
            heartbeat_tick: self.heartbeat_timeout as u64,
            disable_proposal_forwarding: self.disable_proposal_forwarding,
        })
    }

    /// Attaches `tracer` and reports the state the node starts from.
    pub(crate) fn set_tracer(&mut self, tracer: Box<dyn crate::trace::Tracer>) -> Result<()> {
        self.tracer = Some(tracer);
        self.traced_commit = self.raft_log.committed;
        let state = self.trace_state()?;
        self.emit(&crate::trace::TraceEvent::Init(&state));
        Ok(())
    }

    /// Whether a step starting now is traced as a step of its own: a tracer
    /// is set and no traced step is running (a message stepped inside a
    /// step, such as the `MsgHup` of a tick, belongs to the outer step).
    pub(crate) fn opens_traced_step(&self) -> bool {
        self.tracer.is_some() && !self.in_traced_step
    }

    /// Runs the body of a step whose opening event was just emitted, then
    /// closes it with the state it left, also after an error: a step may
    /// have changed some of the state before failing.
    pub(crate) fn run_traced_step(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.in_traced_step = true;
        let result = body(self);
        self.in_traced_step = false;
        let end = self.emit_step_end();
        result.and(end)
    }

    /// Closes a step: its commit change, if any, then the state it left.
    pub(crate) fn emit_step_end(&mut self) -> Result<()> {
        if self.tracer.is_none() {
            return Ok(());
        }
        self.emit_commit();
        let state = self.trace_state()?;
        self.emit(&crate::trace::TraceEvent::State(&state));
        Ok(())
    }
}
