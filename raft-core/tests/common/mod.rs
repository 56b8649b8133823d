//! A deterministic in-process harness for driving groups of `RawNode`s
//! through raft-core's public API only.
//!
//! Messages are never sent directly: each node's Readies are persisted to its
//! `MemStorage`, applied and advanced by [`Cluster::flush`], and the messages
//! they carry wait in [`Cluster::in_flight`] until a test delivers, inspects
//! or drops them. That keeps every interleaving explicit.

// Each test binary uses a different subset of the harness.
#![allow(dead_code)]

use bytes::Bytes;
use raft_core::{
    Config, Entry, Error, HardState, LogStorage, LogWrite, MemStorage, Message, MessageType,
    NodeId, RawNode, ReadState, Ready, ReadyHandler, Role, Status,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub const ELECTION_TICK: usize = 10;
pub const HEARTBEAT_TICK: usize = 1;

/// A Raft-paper configuration: no pre-vote, no CheckQuorum, seeded jitter.
/// Tests switch the etcd extensions on explicitly.
pub fn config(id: NodeId) -> Config {
    let mut cfg = Config::new(id);
    cfg.election_tick = ELECTION_TICK;
    cfg.heartbeat_tick = HEARTBEAT_TICK;
    cfg.pre_vote = false;
    cfg.check_quorum = false;
    cfg.random_seed = Some(id);
    cfg
}

pub fn ent(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        ..Entry::default()
    }
}

pub fn ent_data(term: u64, index: u64, data: &'static [u8]) -> Entry {
    Entry {
        term,
        index,
        data: Bytes::from_static(data),
        ..Entry::default()
    }
}

/// A storage for `voters` whose log holds one entry per element of `terms`
/// (index `i + 1` has term `terms[i]`), with hard state `hs`.
pub fn log_store(voters: &[NodeId], terms: &[u64], hs: HardState) -> MemStorage {
    let mut store = MemStorage::with_voters(voters.iter().copied());
    let entries = terms
        .iter()
        .enumerate()
        .map(|(i, t)| ent(*t, i as u64 + 1))
        .collect();
    store
        .write(LogWrite::new(entries, Some(hs), true))
        .expect("a contiguous log is a valid write");
    store
}

/// A hard state at `term` with no vote and nothing committed.
pub fn hs_term(term: u64) -> HardState {
    HardState {
        term,
        ..HardState::default()
    }
}

/// The terms of a node's stored log, index 1 first.
pub fn log_terms(node: &RawNode<MemStorage>) -> Vec<u64> {
    node.store().all_entries().iter().map(|e| e.term).collect()
}

pub fn msg(msg_type: MessageType, from: NodeId, to: NodeId, term: u64) -> Message {
    let mut m = Message::new(msg_type);
    m.from = from;
    m.to = to;
    m.term = term;
    m
}

/// An append from `from` at `term` carrying `entries` after `(log_term, index)`.
pub fn append(
    from: NodeId,
    to: NodeId,
    term: u64,
    (log_term, index): (u64, u64),
    entries: Vec<Entry>,
    commit: u64,
) -> Message {
    let mut m = msg(MessageType::MsgApp, from, to, term);
    m.log_term = log_term;
    m.index = index;
    m.entries = entries;
    m.commit = commit;
    m
}

/// A vote (or pre-vote) request from a candidate whose last entry is
/// `(log_term, index)`.
pub fn vote_request(
    msg_type: MessageType,
    from: NodeId,
    to: NodeId,
    term: u64,
    (log_term, index): (u64, u64),
) -> Message {
    let mut m = msg(msg_type, from, to, term);
    m.log_term = log_term;
    m.index = index;
    m
}

/// Handles one Ready of a node through raft-core's own Ready loop (send,
/// persist, send, apply, advance). The Ready is returned untouched (messages
/// included) for the test to inspect or send. `None` when the node had
/// nothing to hand out.
pub fn handle_ready(node: &mut RawNode<MemStorage>) -> Option<Ready> {
    if !node.has_ready() {
        return None;
    }
    let mut keep = KeepReady(None);
    node.handle_ready(&mut keep)
        .expect("a MemStorage node handles its Ready");
    keep.0
}

/// Keeps a copy of the Ready it handles and leaves the sending to the test:
/// the copy still holds the messages, in the order the Ready gave them.
struct KeepReady(Option<Ready>);

impl ReadyHandler<MemStorage> for KeepReady {
    type Error = Error;

    fn observe(&mut self, ready: &Ready) -> Result<(), Error> {
        self.0 = Some(ready.clone());
        Ok(())
    }

    fn send(&mut self, _messages: Vec<Message>) {}

    fn apply(&mut self, _committed: &[Entry]) -> Result<(), Error> {
        Ok(())
    }
}

/// Handles Readies until the node is quiet; returns all their messages.
pub fn drain(node: &mut RawNode<MemStorage>) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(rd) = handle_ready(node) {
        out.extend(rd.messages);
    }
    out
}

type Filter = Box<dyn FnMut(&Message) -> bool>;

/// A group of nodes joined by a fully controllable network.
pub struct Cluster {
    pub nodes: BTreeMap<NodeId, RawNode<MemStorage>>,
    /// Messages sent and not yet delivered, oldest first.
    pub in_flight: VecDeque<Message>,
    /// Every message delivered so far, in delivery order.
    pub delivered: Vec<Message>,
    /// Committed entries each node was handed, in order.
    pub applied: BTreeMap<NodeId, Vec<Entry>>,
    /// Read states each node was handed, in order.
    pub read_states: BTreeMap<NodeId, Vec<ReadState>>,
    cut: BTreeSet<(NodeId, NodeId)>,
    filter: Option<Filter>,
}

impl Cluster {
    /// Nodes `1..=n`, all voters, with [`config`].
    pub fn new(n: u64) -> Cluster {
        Cluster::with_config(n, config)
    }

    /// Nodes `1..=n`, all voters, with an empty log each.
    pub fn with_config(n: u64, make: impl Fn(NodeId) -> Config) -> Cluster {
        let ids: Vec<NodeId> = (1..=n).collect();
        Cluster::from_nodes(
            ids.iter()
                .map(|id| (make(*id), MemStorage::with_voters(ids.clone())))
                .collect(),
        )
    }

    pub fn from_nodes(nodes: Vec<(Config, MemStorage)>) -> Cluster {
        let mut c = Cluster {
            nodes: BTreeMap::new(),
            in_flight: VecDeque::new(),
            delivered: Vec::new(),
            applied: BTreeMap::new(),
            read_states: BTreeMap::new(),
            cut: BTreeSet::new(),
            filter: None,
        };
        for (cfg, store) in nodes {
            let node = RawNode::new(&cfg, store).expect("valid node");
            c.applied.insert(cfg.id, Vec::new());
            c.nodes.insert(cfg.id, node);
        }
        c
    }

    pub fn node(&self, id: NodeId) -> &RawNode<MemStorage> {
        &self.nodes[&id]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut RawNode<MemStorage> {
        self.nodes.get_mut(&id).expect("no such node")
    }

    pub fn status(&self, id: NodeId) -> Status {
        self.node(id).status()
    }

    pub fn role(&self, id: NodeId) -> Role {
        self.status(id).soft_state.role
    }

    pub fn term(&self, id: NodeId) -> u64 {
        self.status(id).hard_state.term
    }

    pub fn leader(&self, id: NodeId) -> NodeId {
        self.status(id).soft_state.leader
    }

    pub fn commit(&self, id: NodeId) -> u64 {
        self.status(id).hard_state.commit
    }

    /// The last index in the node's storage (everything handed out in a
    /// Ready has been persisted by the harness).
    pub fn last_index(&self, id: NodeId) -> u64 {
        self.node(id).store().last_index().expect("last index")
    }

    /// Payloads of the non-empty entries a node applied, in order.
    pub fn applied_data(&self, id: NodeId) -> Vec<Vec<u8>> {
        self.applied[&id]
            .iter()
            .filter(|e| !e.data.is_empty())
            .map(|e| e.data.to_vec())
            .collect()
    }

    /// Handles one Ready of `id` (see [`handle_ready`]); its messages are
    /// returned, not queued.
    pub fn ready(&mut self, id: NodeId) -> Option<Ready> {
        let rd = handle_ready(self.node_mut(id))?;
        self.applied
            .get_mut(&id)
            .expect("known node")
            .extend(rd.committed_entries.iter().cloned());
        self.read_states
            .entry(id)
            .or_default()
            .extend(rd.read_states.iter().cloned());
        Some(rd)
    }

    /// Handles every Ready of `id` and queues their messages.
    pub fn flush(&mut self, id: NodeId) {
        while let Some(rd) = self.ready(id) {
            self.in_flight.extend(rd.messages);
        }
    }

    pub fn flush_all(&mut self) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            self.flush(id);
        }
    }

    /// Flushes every node and takes all queued messages out of the network.
    pub fn take_messages(&mut self) -> Vec<Message> {
        self.flush_all();
        self.in_flight.drain(..).collect()
    }

    /// Queues messages (e.g. ones taken out earlier) for delivery.
    pub fn send(&mut self, msgs: impl IntoIterator<Item = Message>) {
        self.in_flight.extend(msgs);
    }

    /// Whether the network currently lets `m` through.
    fn passes(&mut self, m: &Message) -> bool {
        if !self.nodes.contains_key(&m.to) || self.cut.contains(&(m.from, m.to)) {
            return false;
        }
        self.filter.as_mut().is_none_or(|f| f(m))
    }

    /// Steps `m` into its recipient unless the network drops it; returns the
    /// step's result (`None` if dropped).
    pub fn deliver(&mut self, m: Message) -> Option<Result<(), Error>> {
        if !self.passes(&m) {
            return None;
        }
        self.delivered.push(m.clone());
        let to = m.to;
        Some(self.node_mut(to).step(m))
    }

    /// Flushes and delivers until no node has anything more to say.
    ///
    /// A forwarded proposal may legitimately find no leader; any other step
    /// error means a correct peer was refused, and fails the test.
    pub fn stabilize(&mut self) {
        loop {
            self.flush_all();
            let Some(m) = self.in_flight.pop_front() else {
                return;
            };
            let desc = format!("{m:?}");
            match self.deliver(m) {
                None | Some(Ok(())) | Some(Err(Error::ProposalDropped)) => {}
                Some(Err(e)) => panic!("stepping {desc} failed: {e}"),
            }
        }
    }

    /// Cuts `id` off from every other node, both ways.
    pub fn isolate(&mut self, id: NodeId) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for other in ids {
            if other != id {
                self.cut(id, other);
            }
        }
    }

    /// Cuts the link between `a` and `b`, both ways.
    pub fn cut(&mut self, a: NodeId, b: NodeId) {
        self.cut.insert((a, b));
        self.cut.insert((b, a));
    }

    /// Restores every link and removes the filter.
    pub fn heal(&mut self) {
        self.cut.clear();
        self.filter = None;
    }

    /// Drops every message for which `keep` returns false.
    pub fn set_filter(&mut self, keep: impl FnMut(&Message) -> bool + 'static) {
        self.filter = Some(Box::new(keep));
    }

    pub fn clear_filter(&mut self) {
        self.filter = None;
    }

    pub fn tick(&mut self, id: NodeId, times: usize) {
        for _ in 0..times {
            self.node_mut(id).tick().expect("tick");
        }
    }

    /// Ticks `id` once and runs the network until quiet, `times` times: time
    /// passing with the cluster reacting to every tick.
    pub fn tick_and_stabilize(&mut self, id: NodeId, times: usize) {
        for _ in 0..times {
            self.tick(id, 1);
            self.stabilize();
        }
    }

    /// Three voters at term 1 with empty logs and no vote, none elected.
    pub fn three_voters_at_term_1() -> Cluster {
        Cluster::from_nodes(
            (1..=3)
                .map(|id| (config(id), log_store(&[1, 2, 3], &[], hs_term(1))))
                .collect(),
        )
    }

    /// Makes `id` campaign and runs the network until quiet.
    pub fn elect(&mut self, id: NodeId) {
        self.node_mut(id).campaign().expect("campaign");
        self.stabilize();
        assert_eq!(self.role(id), Role::Leader, "node {id} failed to win");
    }

    pub fn propose(&mut self, id: NodeId, data: &'static [u8]) -> Result<(), Error> {
        self.node_mut(id).propose(Bytes::from_static(data))
    }

    /// Delivered messages of `msg_type` from `from` to `to`.
    pub fn delivered_of(&self, msg_type: MessageType, from: NodeId, to: NodeId) -> Vec<&Message> {
        self.delivered
            .iter()
            .filter(|m| m.msg_type == msg_type && m.from == from && m.to == to)
            .collect()
    }
}

/// The messages of `msg_type` among `msgs`.
pub fn of_type(msgs: &[Message], msg_type: MessageType) -> Vec<&Message> {
    msgs.iter().filter(|m| m.msg_type == msg_type).collect()
}
