//! From a trace to the TLA+ module `TraceData` that
//! `spec/Traceetcdraft.tla` replays.
//!
//! raft-core reports each step of a node as a `receive` (or a `tick`), its
//! effects, and the `state` it left. The specification's actions are atomic
//! in the same way (one action receives a message or ticks, changes the
//! node's state and sends the replies, vote requests, heartbeats or
//! forwarded proposals), except that a leader's `MsgApp` is an action of its
//! own (`AppendEntries`). So each step becomes one `step` (or `tick`) record
//! (the message received, the messages it sent, the state it left) followed
//! by one `send` record per `MsgApp` it sent. A node's responses to itself
//! are left out: their delivery on `advance` is the `step` that receives
//! them. Messages the environment dropped, and those `RawNode::step`
//! refused, become `drop` records; the script's overrides of a randomized
//! election timeout become `timeout` records.
//!
//! Before grouping, the fine-grained events (`role`, `append`, `commit`) are
//! checked against the `state` that closes each step: they must account for
//! every change of role, term, commit index and log.
//!
//! A trace may hold several independent groups (nodes with different voter
//! sets that never talk to each other); each gets its own module.

use super::event::{Ent, Event, EventKind, Msg, NodeState};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Why a trace cannot be turned into TLA+.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlaError {
    /// An event the conversion cannot express.
    #[error("event {seq}: {reason}")]
    Event {
        /// The event's position in the trace.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The trace as a whole cannot be converted.
    #[error("{0}")]
    Trace(String),
}

fn at(seq: u64, reason: impl Into<String>) -> TlaError {
    TlaError::Event {
        seq,
        reason: reason.into(),
    }
}

/// One group's trace as a TLA+ module.
#[derive(Debug)]
pub struct TlaTrace {
    /// The trace's name, with the group's servers when there are several.
    pub name: String,
    /// The servers of the group, ascending.
    pub servers: Vec<u64>,
    /// How many records the trace specification steps through.
    pub records: usize,
    /// The text of `TraceData.tla`.
    pub module: String,
}

/// A unit the trace specification replays. `seq` is the event that opens
/// it; a step's `last` is the event that closes it (its `state`).
#[derive(Debug, PartialEq)]
enum Record {
    Step {
        seq: u64,
        last: u64,
        node: u64,
        msg: Msg,
        sends: Vec<Msg>,
        lease: bool,
        state: NodeState,
    },
    Tick {
        seq: u64,
        last: u64,
        node: u64,
        sends: Vec<Msg>,
        state: NodeState,
    },
    Send {
        seq: u64,
        node: u64,
        msg: Msg,
    },
    Drop {
        seq: u64,
        node: u64,
        msg: Msg,
    },
    Timeout {
        seq: u64,
        node: u64,
        timeout: u64,
    },
}

/// The step being grouped.
struct Open {
    seq: u64,
    node: u64,
    /// The message received; `None` for a tick.
    msg: Option<Msg>,
    sends: Vec<Msg>,
    later: Vec<(u64, Msg)>,
    lease: bool,
}

/// A node's state as its fine-grained events say it must be.
struct Shadow {
    role: String,
    term: u64,
    commit: u64,
    first: u64,
    terms: Vec<u64>,
}

impl Shadow {
    fn of(s: &NodeState) -> Shadow {
        Shadow {
            role: s.role.clone(),
            term: s.term,
            commit: s.commit,
            first: s.first,
            terms: s.terms.clone(),
        }
    }

    fn append(&mut self, seq: u64, entries: &[Ent]) -> Result<(), TlaError> {
        let Some(first) = entries.first() else {
            return Err(at(seq, "append without entries"));
        };
        // One past the last index: where an append without conflict goes.
        let end = self.first.saturating_add(self.terms.len() as u64);
        if first.index <= self.first || first.index > end {
            return Err(at(
                seq,
                format!(
                    "append at {} outside the log ({}..{end})",
                    first.index, self.first
                ),
            ));
        }
        self.terms.truncate((first.index - self.first) as usize);
        self.terms.extend(entries.iter().map(|e| e.term));
        Ok(())
    }

    fn check(&self, seq: u64, s: &NodeState) -> Result<(), TlaError> {
        let mismatch = |what: &str, events: String, state: String| {
            Err(at(
                seq,
                format!("{what} per role/append/commit events is {events}, the state says {state}"),
            ))
        };
        if self.role != s.role || self.term != s.term {
            return mismatch(
                "role",
                format!("{} at {}", self.role, self.term),
                format!("{} at {}", s.role, s.term),
            );
        }
        if self.commit != s.commit {
            return mismatch("commit", self.commit.to_string(), s.commit.to_string());
        }
        if self.first != s.first || self.terms != s.terms {
            return mismatch(
                "log",
                format!("{:?} from {}", self.terms, self.first),
                format!("{:?} from {}", s.terms, s.first),
            );
        }
        Ok(())
    }
}

/// Groups one group's events into records (see the module documentation).
fn records(events: &[&Event], init: &BTreeMap<u64, NodeState>) -> Result<Vec<Record>, TlaError> {
    let mut shadow: BTreeMap<u64, Shadow> = init.iter().map(|(n, s)| (*n, Shadow::of(s))).collect();
    let mut out = Vec::new();
    let mut open: Option<Open> = None;
    for e in events {
        let (seq, node) = (e.seq, e.node);
        // Where the event falls: outside any step, or inside a step of its
        // own node. (Inside another node's step is an error below.)
        let (outside, inside) = match open.as_mut() {
            None => (true, None),
            Some(o) if o.node == node => (false, Some(o)),
            Some(_) => (false, None),
        };
        match (&e.kind, inside) {
            (EventKind::Init { .. }, _) => {}
            (EventKind::Receive { .. } | EventKind::Tick, None) if outside => {
                let msg = match &e.kind {
                    EventKind::Receive { msg } => Some(msg.clone()),
                    _ => None,
                };
                open = Some(Open {
                    seq,
                    node,
                    msg,
                    sends: Vec::new(),
                    later: Vec::new(),
                    lease: false,
                });
            }
            (EventKind::Send { msg }, Some(o)) => {
                if msg.to == node {
                    // Not in the specification's network (module docs).
                } else if msg.msg_type == "MsgApp" {
                    o.later.push((seq, msg.clone()));
                } else {
                    o.sends.push(msg.clone());
                }
            }
            (EventKind::IgnoredInLease { .. }, Some(o)) => o.lease = true,
            (EventKind::Role { role, term, .. }, Some(_)) => {
                let sh = shadow_of(&mut shadow, seq, node)?;
                sh.role = role.clone();
                sh.term = *term;
            }
            (EventKind::Append { entries }, Some(_)) => {
                shadow_of(&mut shadow, seq, node)?.append(seq, entries)?;
            }
            (EventKind::Commit { index }, Some(_)) => {
                let sh = shadow_of(&mut shadow, seq, node)?;
                if *index < sh.commit {
                    return Err(at(seq, format!("commit went down to {index}")));
                }
                sh.commit = *index;
            }
            (EventKind::State { state }, Some(_)) => {
                let sh = shadow_of(&mut shadow, seq, node)?;
                sh.check(seq, state)?;
                *sh = Shadow::of(state);
                let Some(o) = open.take() else {
                    return Err(at(seq, "state outside a step"));
                };
                out.push(match o.msg {
                    Some(msg) => Record::Step {
                        seq: o.seq,
                        last: seq,
                        node,
                        msg,
                        sends: o.sends,
                        lease: o.lease,
                        state: state.clone(),
                    },
                    None => Record::Tick {
                        seq: o.seq,
                        last: seq,
                        node,
                        sends: o.sends,
                        state: state.clone(),
                    },
                });
                out.extend(
                    o.later
                        .into_iter()
                        .map(|(seq, msg)| Record::Send { seq, node, msg }),
                );
            }
            (EventKind::Refused { msg } | EventKind::Drop { msg }, None) if outside => {
                out.push(Record::Drop {
                    seq,
                    node,
                    msg: msg.clone(),
                });
            }
            (EventKind::SetElectionTimeout { timeout }, None) if outside => {
                out.push(Record::Timeout {
                    seq,
                    node,
                    timeout: *timeout,
                });
            }
            (kind, _) => {
                let context = match &open {
                    Some(o) => format!(
                        "inside the step of node {} opened by event {}",
                        o.node, o.seq
                    ),
                    None => "outside any step".to_string(),
                };
                return Err(at(
                    seq,
                    format!("unexpected {kind:?} event of node {node} {context}"),
                ));
            }
        }
    }
    if let Some(o) = open {
        return Err(at(o.seq, "step never closed by a state event"));
    }
    Ok(out)
}

fn shadow_of(
    shadow: &mut BTreeMap<u64, Shadow>,
    seq: u64,
    node: u64,
) -> Result<&mut Shadow, TlaError> {
    shadow
        .get_mut(&node)
        .ok_or_else(|| at(seq, format!("node {node} has no init event")))
}

/// Turns a whole trace into one module per group of nodes sharing a voter
/// set. `name` names the trace (the script's file stem).
pub fn tla_traces(name: &str, events: &[Event]) -> Result<Vec<TlaTrace>, TlaError> {
    let mut init: BTreeMap<u64, NodeState> = BTreeMap::new();
    for e in events {
        if let EventKind::Init { state } = &e.kind {
            if init.insert(e.node, state.clone()).is_some() {
                return Err(at(e.seq, format!("node {} initialised twice", e.node)));
            }
        }
    }
    let mut groups: BTreeMap<Vec<u64>, Vec<u64>> = BTreeMap::new();
    for (node, state) in &init {
        let mut voters = state.voters.clone();
        voters.sort_unstable();
        groups.entry(voters).or_default().push(*node);
    }
    let mut traces = Vec::new();
    for (voters, nodes) in &groups {
        if voters != nodes {
            return Err(TlaError::Trace(format!(
                "nodes {nodes:?} have voters {voters:?}: every voter must be a node of the script, and every node a voter"
            )));
        }
        let first = &init[&nodes[0]];
        let setting = |s: &NodeState| {
            (
                s.pre_vote,
                s.check_quorum,
                s.election_tick,
                s.heartbeat_tick,
                s.disable_proposal_forwarding,
            )
        };
        if nodes.iter().any(|n| setting(&init[n]) != setting(first)) {
            return Err(TlaError::Trace(format!(
                "nodes {nodes:?} differ in pre-vote, check-quorum, election or heartbeat ticks, or proposal forwarding; the specification takes one setting for all"
            )));
        }
        let mine: Vec<&Event> = events.iter().filter(|e| nodes.contains(&e.node)).collect();
        let group_init: BTreeMap<u64, NodeState> =
            nodes.iter().map(|n| (*n, init[n].clone())).collect();
        let recs = records(&mine, &group_init)?;
        let trace_name = if groups.len() == 1 {
            name.to_string()
        } else {
            let ids: Vec<String> = nodes.iter().map(u64::to_string).collect();
            format!("{name}.n{}", ids.join("-"))
        };
        traces.push(TlaTrace {
            module: module_text(&trace_name, nodes, &group_init, &recs)?,
            name: trace_name,
            servers: nodes.clone(),
            records: recs.len(),
        });
    }
    if traces.is_empty() {
        return Err(TlaError::Trace("the trace has no nodes".to_string()));
    }
    Ok(traces)
}

/// A TLA+ string literal. Only printable ASCII is accepted; `"` and `\` are
/// escaped (payloads never contain them, see `escape_payload`).
pub fn tla_string(s: &str) -> Result<String, TlaError> {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {
                return Err(TlaError::Trace(format!(
                    "{s:?} has a character a TLA+ string cannot hold"
                )))
            }
        }
    }
    out.push('"');
    Ok(out)
}

/// A node id, with 0 (etcd's None) written as the operator parameter `none`.
fn node_id(id: u64) -> String {
    if id == 0 {
        "none".to_string()
    } else {
        id.to_string()
    }
}

fn seq_of<T>(items: &[T], f: impl Fn(&T) -> Result<String, TlaError>) -> Result<String, TlaError> {
    let parts: Result<Vec<String>, TlaError> = items.iter().map(f).collect();
    Ok(format!("<<{}>>", parts?.join(", ")))
}

/// An entry as the specification's log holds it: an empty payload is the
/// value `None` (a leader's empty entry), any other is its escaped text.
fn entry(e: &Ent) -> Result<String, TlaError> {
    let value = if e.data.is_empty() {
        "none".to_string()
    } else {
        tla_string(&e.data)?
    };
    Ok(format!("[term |-> {}, value |-> {value}]", e.term))
}

/// A message as a record of the specification's `Msg` fields.
fn message(m: &Msg) -> Result<String, TlaError> {
    Ok(format!(
        "[mtype |-> {}, mterm |-> {}, msource |-> {}, mdest |-> {}, mlogTerm |-> {}, mindex |-> {}, mentries |-> {}, mcommit |-> {}, mreject |-> {}, mrejectHint |-> {}]",
        tla_string(&m.msg_type)?,
        m.term,
        node_id(m.from),
        node_id(m.to),
        m.log_term,
        m.index,
        seq_of(&m.entries, entry)?,
        m.commit,
        if m.reject { "TRUE" } else { "FALSE" },
        m.reject_hint
    ))
}

fn state(s: &NodeState) -> Result<String, TlaError> {
    Ok(format!(
        "[term |-> {}, vote |-> {}, role |-> {}, lead |-> {}, commit |-> {}, first |-> {}, terms |-> {}, elapsed |-> {}, timeout |-> {}, hbElapsed |-> {}]",
        s.term,
        node_id(s.vote),
        tla_string(&s.role)?,
        node_id(s.lead),
        s.commit,
        s.first,
        seq_of(&s.terms, |t| Ok(t.to_string()))?,
        s.election_elapsed,
        s.randomized_election_timeout,
        s.heartbeat_elapsed
    ))
}

fn record(r: &Record) -> Result<String, TlaError> {
    Ok(match r {
        Record::Step {
            seq,
            last,
            node,
            msg,
            sends,
            lease,
            state: s,
        } => format!(
            "[kind |-> \"step\", seq |-> {seq}, last |-> {last}, node |-> {node}, msg |-> {}, sends |-> {}, lease |-> {}, state |-> {}]",
            message(msg)?,
            seq_of(sends, message)?,
            if *lease { "TRUE" } else { "FALSE" },
            state(s)?
        ),
        Record::Tick {
            seq,
            last,
            node,
            sends,
            state: s,
        } => format!(
            "[kind |-> \"tick\", seq |-> {seq}, last |-> {last}, node |-> {node}, sends |-> {}, state |-> {}]",
            seq_of(sends, message)?,
            state(s)?
        ),
        Record::Timeout { seq, node, timeout } => format!(
            "[kind |-> \"timeout\", seq |-> {seq}, node |-> {node}, timeout |-> {timeout}]"
        ),
        Record::Send { seq, node, msg } => format!(
            "[kind |-> \"send\", seq |-> {seq}, node |-> {node}, msg |-> {}]",
            message(msg)?
        ),
        Record::Drop { seq, node, msg } => format!(
            "[kind |-> \"drop\", seq |-> {seq}, node |-> {node}, msg |-> {}]",
            message(msg)?
        ),
    })
}

fn module_text(
    name: &str,
    servers: &[u64],
    init: &BTreeMap<u64, NodeState>,
    recs: &[Record],
) -> Result<String, TlaError> {
    let first = init
        .values()
        .next()
        .ok_or_else(|| TlaError::Trace("a group without nodes".to_string()))?;
    let mut values: Vec<&str> = Vec::new();
    for r in recs {
        let msgs: Vec<&Msg> = match r {
            Record::Step { msg, sends, .. } => std::iter::once(msg).chain(sends).collect(),
            Record::Tick { sends, .. } => sends.iter().collect(),
            Record::Send { msg, .. } | Record::Drop { msg, .. } => vec![msg],
            Record::Timeout { .. } => Vec::new(),
        };
        for e in msgs.iter().flat_map(|m| &m.entries) {
            if !e.data.is_empty() && !values.contains(&e.data.as_str()) {
                values.push(&e.data);
            }
        }
    }
    values.sort_unstable();
    let values: Result<Vec<String>, TlaError> = values.iter().map(|v| tla_string(v)).collect();
    let ids: Vec<String> = servers.iter().map(u64::to_string).collect();
    let bool_word = |b: bool| if b { "TRUE" } else { "FALSE" };

    let mut m = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        m,
        "---------------------------- MODULE TraceData ----------------------------"
    );
    let _ = writeln!(
        m,
        "\\* Generated by `raft-script trace-tla` from a trace of {}; regenerated for",
        tla_string(name)?
    );
    let _ = writeln!(
        m,
        "\\* every check, never edited. Records are described in spec/Traceetcdraft.tla;"
    );
    let _ = writeln!(
        m,
        "\\* `seq` is the 0-based line of the event in the NDJSON trace."
    );
    let _ = writeln!(m, "EXTENDS TLC\n");
    let _ = writeln!(m, "TraceName == {}", tla_string(name)?);
    let _ = writeln!(m, "TraceServer == {{{}}}", ids.join(", "));
    let _ = writeln!(m, "TracePreVote == {}", bool_word(first.pre_vote));
    let _ = writeln!(m, "TraceCheckQuorum == {}", bool_word(first.check_quorum));
    let _ = writeln!(m, "TraceElectionTimeout == {}", first.election_tick);
    let _ = writeln!(m, "TraceHeartbeatTimeout == {}", first.heartbeat_tick);
    let _ = writeln!(
        m,
        "TraceDisableProposalForwarding == {}",
        bool_word(first.disable_proposal_forwarding)
    );
    let _ = writeln!(m, "TraceValue == {{{}}}\n", values?.join(", "));
    let _ = writeln!(m, "\\* Each server's state when the script created it.");
    let inits: Result<Vec<String>, TlaError> = init
        .iter()
        .map(|(n, s)| Ok(format!("    ({n} :> {})", state(s)?)))
        .collect();
    let _ = writeln!(m, "TraceInit(none) ==\n{}\n", inits?.join(" @@\n"));
    let _ = writeln!(m, "TraceLog(none) == <<");
    let lines: Result<Vec<String>, TlaError> = recs
        .iter()
        .map(|r| Ok(format!("    {}", record(r)?)))
        .collect();
    let _ = writeln!(m, "{}", lines?.join(",\n"));
    let _ = writeln!(m, ">>");
    let _ = writeln!(
        m,
        "============================================================================="
    );
    Ok(m)
}

#[cfg(test)]
#[path = "tla_tests.rs"]
mod tests;
