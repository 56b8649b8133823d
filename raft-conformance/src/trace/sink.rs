//! Collects the events of every node of an environment into one ordered
//! trace (feature `trace`). The environment is single-threaded, so the
//! order events arrive in is the order they happened in.

use super::event::{escape_payload, Ent, Event, EventKind, Msg, NodeState};
use raft_core::trace::{TraceEvent, TraceState, Tracer};
use raft_core::{Entry, Message, NodeId};
use std::sync::{Arc, Mutex, MutexGuard};

/// The trace being recorded, shared by the environment and every node's
/// tracer.
#[derive(Clone, Default)]
pub struct TraceSink {
    events: Arc<Mutex<Vec<Event>>>,
}

impl TraceSink {
    fn lock(&self) -> MutexGuard<'_, Vec<Event>> {
        // Events are only ever pushed whole; a panic elsewhere cannot leave
        // the list half-written.
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends an event about `node`.
    pub fn record(&self, node: u64, kind: EventKind) {
        let mut events = self.lock();
        let seq = events.len() as u64;
        events.push(Event { seq, node, kind });
    }

    /// A tracer for one node, writing into this sink.
    pub fn tracer(&self) -> Box<dyn Tracer> {
        Box::new(NodeTracer { sink: self.clone() })
    }

    /// The events recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }
}

struct NodeTracer {
    sink: TraceSink,
}

impl Tracer for NodeTracer {
    fn record(&mut self, node: NodeId, event: &TraceEvent<'_>) {
        let kind = match event {
            TraceEvent::Init(s) => EventKind::Init { state: state(s) },
            TraceEvent::Receive(m) => EventKind::Receive { msg: msg(m) },
            TraceEvent::Tick => EventKind::Tick,
            TraceEvent::Refused(m) => EventKind::Refused { msg: msg(m) },
            TraceEvent::Send(m) => EventKind::Send { msg: msg(m) },
            TraceEvent::IgnoredInLease(m) => EventKind::IgnoredInLease { msg: msg(m) },
            TraceEvent::Role {
                role,
                term,
                vote,
                lead,
            } => EventKind::Role {
                role: role.as_str().to_string(),
                term: *term,
                vote: *vote,
                lead: *lead,
            },
            TraceEvent::Append { entries } => EventKind::Append {
                entries: entries.iter().map(ent).collect(),
            },
            TraceEvent::Commit { index } => EventKind::Commit { index: *index },
            TraceEvent::State(s) => EventKind::State { state: state(s) },
        };
        self.sink.record(node, kind);
    }
}

/// The trace's form of a raft-core message.
pub fn msg(m: &Message) -> Msg {
    Msg {
        msg_type: m.msg_type.as_str().to_string(),
        from: m.from,
        to: m.to,
        term: m.term,
        log_term: m.log_term,
        index: m.index,
        commit: m.commit,
        reject: m.reject,
        reject_hint: m.reject_hint,
        entries: m.entries.iter().map(ent).collect(),
    }
}

fn ent(e: &Entry) -> Ent {
    Ent {
        index: e.index,
        term: e.term,
        data: escape_payload(&e.data),
    }
}

fn state(s: &TraceState) -> NodeState {
    NodeState {
        term: s.term,
        vote: s.vote,
        role: s.role.as_str().to_string(),
        lead: s.lead,
        commit: s.commit,
        first: s.first,
        terms: s.terms.clone(),
        election_elapsed: s.election_elapsed,
        randomized_election_timeout: s.randomized_election_timeout,
        heartbeat_elapsed: s.heartbeat_elapsed,
        voters: s.voters.clone(),
        pre_vote: s.pre_vote,
        check_quorum: s.check_quorum,
        election_tick: s.election_tick,
        heartbeat_tick: s.heartbeat_tick,
        disable_proposal_forwarding: s.disable_proposal_forwarding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{Config, MemStorage, MessageType, RawNode};

    fn kinds(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match serde_json::to_value(&e.kind) {
                Ok(v) => v["ev"].as_str().unwrap_or("?").to_string(),
                Err(e) => e.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_step_is_recorded_from_its_receipt_to_the_state_it_leaves() {
        let sink = TraceSink::default();
        let mut node = RawNode::new(&Config::new(1), MemStorage::with_voters([1, 2])).unwrap();
        node.set_tracer(sink.tracer()).unwrap();
        node.campaign().unwrap();
        let events = sink.events();
        // Pre-vote is on by default: the node asks 2 and answers itself.
        assert_eq!(
            kinds(&events),
            ["init", "receive", "role", "send", "send", "state"]
        );
        assert!(events
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as u64 && e.node == 1));
        let EventKind::State { state } = &events[5].kind else {
            panic!("{:?}", events[5]);
        };
        assert_eq!((state.role.as_str(), state.term), ("StatePreCandidate", 0));
        let EventKind::Send { msg } = &events[4].kind else {
            panic!("{:?}", events[4]);
        };
        assert_eq!(
            (msg.msg_type.as_str(), msg.to, msg.term),
            ("MsgPreVote", 2, 1)
        );
    }

    #[test]
    fn a_tick_is_one_step_and_the_messages_it_steps_are_part_of_it() {
        let sink = TraceSink::default();
        let mut config = Config::new(1);
        config.election_tick = 2;
        let mut node = RawNode::new(&config, MemStorage::with_voters([1, 2])).unwrap();
        node.set_tracer(sink.tracer()).unwrap();
        // The randomized timeout lies in [2, 4): the first campaign comes by
        // the third tick, and a second (after a reset) not before the fourth.
        for _ in 0..3 {
            node.tick().unwrap();
        }
        let events = sink.events();
        let kinds = kinds(&events);
        let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
        assert_eq!((count("tick"), count("state")), (3, 3), "{kinds:?}");
        assert_eq!(count("receive"), 0, "MsgHup is inside its tick: {kinds:?}");
        assert_eq!(count("role"), 1, "{kinds:?}");
        let EventKind::State { state } = &events[2].kind else {
            panic!("{:?}", events[2]);
        };
        assert_eq!(state.election_elapsed, 1);
        assert!((2..4).contains(&state.randomized_election_timeout));
        assert_eq!((state.election_tick, state.heartbeat_tick), (2, 1));
    }

    #[test]
    fn a_refused_message_is_recorded_and_nothing_else() {
        let sink = TraceSink::default();
        let mut node = RawNode::new(&Config::new(1), MemStorage::with_voters([1, 2])).unwrap();
        node.set_tracer(sink.tracer()).unwrap();
        let forged = {
            let mut m = Message::new(MessageType::MsgHeartbeat);
            m.from = 1;
            m.to = 1;
            m.term = 1;
            m
        };
        assert!(node.step(forged).is_err());
        assert_eq!(kinds(&sink.events()), ["init", "refused"]);
    }

    #[test]
    fn payloads_are_escaped_on_the_way_in() {
        let m = {
            let mut m = Message::new(MessageType::MsgProp);
            m.entries = vec![Entry::new(&b"a b"[..])];
            m
        };
        assert_eq!(msg(&m).entries[0].data, "a%20b");
    }
}
