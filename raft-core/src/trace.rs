//! Protocol events for trace validation (cargo feature `trace`).
//!
//! A [`Tracer`] set with [`RawNode::set_tracer`](crate::RawNode::set_tracer)
//! is told, synchronously and in order, what the node does: every message
//! it steps ([`TraceEvent::Receive`]) followed by what that step caused
//! (sends, role changes, appends, commits) and closed by the state the step
//! left ([`TraceEvent::State`]). A step never interleaves with another step
//! of the same node, so the events between a `Receive` and the next `State`
//! are exactly that step's effects; `spec/Traceetcdraft.tla` replays them,
//! one step per action of the TLA+ specification.
//!
//! Without the feature this module, the tracer field and every call that
//! emits an event are not compiled at all.

use crate::message::Message;
use crate::types::{Entry, NodeId, Role};

/// What a node did, as seen from inside the protocol.
#[derive(Debug)]
pub enum TraceEvent<'a> {
    /// The node's state when the tracer was attached.
    Init(&'a TraceState),
    /// A message is about to be stepped: from a peer, a local trigger
    /// (`MsgHup`, `MsgProp`, `MsgUnreachable`, `MsgForgetLeader`), or a
    /// response to the node itself (its own vote, its own append
    /// acknowledgement) delivered by `RawNode::advance`.
    Receive(&'a Message),
    /// The logical clock ticks (`RawNode::tick`). Like `Receive`, it opens a
    /// step closed by `State`; the messages a tick steps internally
    /// (`MsgHup`, `MsgBeat`, `MsgCheckQuorum`) belong to that step and get
    /// no `Receive` of their own.
    Tick,
    /// A message from a peer refused by `RawNode::step` before it reached
    /// the protocol (see its documentation); the node is unchanged.
    Refused(&'a Message),
    /// A message queued for sending, including responses to the node itself.
    Send(&'a Message),
    /// A vote request from a higher term ignored because the node believes
    /// its leader is alive (CheckQuorum's lease); the node is unchanged.
    IgnoredInLease(&'a Message),
    /// The node changed role (`become_follower`, `become_pre_candidate`,
    /// `become_candidate`, `become_leader`); the fields are the result.
    Role {
        /// The new role.
        role: Role,
        /// The term after the change.
        term: u64,
        /// The vote after the change (the node itself for a candidate).
        vote: NodeId,
        /// The known leader after the change (`NO_NODE` when unknown).
        lead: NodeId,
    },
    /// Entries written from `entries[0].index` on, replacing any entries the
    /// log held from there: a leader's own append, or a follower's append
    /// after the first conflicting (or missing) entry of a `MsgApp`.
    Append {
        /// The entries written, in index order.
        entries: &'a [Entry],
    },
    /// The commit index rose to `index`.
    Commit {
        /// The new commit index.
        index: u64,
    },
    /// The state a step left (emitted after every `Receive`, also when the
    /// step returned an error).
    State(&'a TraceState),
}

/// A node's protocol state: what `spec/etcdraft.tla` calls `currentTerm`,
/// `votedFor`, `state`, `leader`, `commitIndex` and `log`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceState {
    /// `currentTerm`.
    pub term: u64,
    /// `votedFor` (`NO_NODE` for none).
    pub vote: NodeId,
    /// `state`.
    pub role: Role,
    /// `leader` (`NO_NODE` when unknown).
    pub lead: NodeId,
    /// `commitIndex`.
    pub commit: u64,
    /// The index of the first term in `terms`: the last compacted index
    /// (its term is known), 0 for a log that was never compacted.
    pub first: u64,
    /// The terms of the entries at `first`, `first + 1`, ..., the last index.
    pub terms: Vec<u64>,
    /// Ticks since the election timer was last reset.
    pub election_elapsed: u64,
    /// The election timeout drawn at the last reset, in
    /// `[election_tick, 2 * election_tick)` unless a test overrode it.
    pub randomized_election_timeout: u64,
    /// A leader's ticks since its last heartbeat broadcast (0 elsewhere).
    pub heartbeat_elapsed: u64,
    /// The voters of the node's configuration.
    pub voters: Vec<NodeId>,
    /// `Config::pre_vote` and `Config::check_quorum`, which decide how
    /// some messages are handled.
    pub pre_vote: bool,
    /// `Config::check_quorum` (see `pre_vote`).
    pub check_quorum: bool,
    /// `Config::election_tick`.
    pub election_tick: u64,
    /// `Config::heartbeat_tick`.
    pub heartbeat_tick: u64,
    /// `Config::disable_proposal_forwarding`.
    pub disable_proposal_forwarding: bool,
}

/// Receives a node's [`TraceEvent`]s. Called synchronously from inside the
/// protocol: keep it cheap, and do not call back into the node.
pub trait Tracer: Send {
    /// Called once per event, in the order the protocol produced them.
    fn record(&mut self, node: NodeId, event: &TraceEvent<'_>);
}
