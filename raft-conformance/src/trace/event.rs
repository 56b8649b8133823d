//! The trace file: one JSON object per line (NDJSON), one line per event, in
//! the order the events happened in the single-threaded environment.
//!
//! Every line has `seq` (0, 1, 2, ...), `node` (the node the event is
//! about) and `ev`, the kind of event; the other fields depend on the kind:
//!
//! | `ev` | fields | from |
//! |---|---|---|
//! | `init` | `state` | the node's state when the script created it |
//! | `receive` | `msg` | raft-core: a message is about to be stepped |
//! | `tick` | | raft-core: the logical clock ticks (opens a step like `receive`) |
//! | `send` | `msg` | raft-core: a message was queued for sending |
//! | `role` | `role`, `term`, `vote`, `lead` | raft-core: `become_*` |
//! | `append` | `entries` | raft-core: entries written from the first one's index on |
//! | `commit` | `index` | raft-core: the commit index rose |
//! | `ignored_in_lease` | `msg` | raft-core: a vote request ignored under CheckQuorum's lease |
//! | `state` | `state` | raft-core: the state a step left |
//! | `refused` | `msg` | raft-core: `RawNode::step` refused a peer's message |
//! | `drop` | `msg` | the environment dropped a message (`deliver-msgs drop=`) |
//! | `set_election_timeout` | `timeout` | the script overrode the randomized election timeout |
//!
//! Node ids 0 mean "none" (no vote, no leader, a local message's sender).
//! Entry payloads are bytes; they are written with [`escape_payload`] so
//! that any payload is a short printable string.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One line of the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the trace, from 0.
    pub seq: u64,
    /// The node the event is about.
    pub node: u64,
    /// The event itself.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// `init`: the node's state when the script created it.
    Init {
        /// The state.
        state: NodeState,
    },
    /// `receive`: a message is about to be stepped.
    Receive {
        /// The message.
        msg: Msg,
    },
    /// `tick`: the node's clock advanced by one tick.
    Tick,
    /// `send`: a message was queued for sending.
    Send {
        /// The message.
        msg: Msg,
    },
    /// `role`: the node changed role; the fields are the result.
    Role {
        /// etcd's name of the new role.
        role: String,
        /// The term.
        term: u64,
        /// The vote (0 for none).
        vote: u64,
        /// The known leader (0 for none).
        lead: u64,
    },
    /// `append`: entries written from the first one's index on.
    Append {
        /// The entries, in index order.
        entries: Vec<Ent>,
    },
    /// `commit`: the commit index rose.
    Commit {
        /// The new commit index.
        index: u64,
    },
    /// `ignored_in_lease`: a vote request ignored under CheckQuorum's lease.
    IgnoredInLease {
        /// The message.
        msg: Msg,
    },
    /// `state`: the state a step left.
    State {
        /// The state.
        state: NodeState,
    },
    /// `refused`: `RawNode::step` refused a peer's message.
    Refused {
        /// The message.
        msg: Msg,
    },
    /// `drop`: the environment dropped a message (`deliver-msgs drop=`).
    Drop {
        /// The message.
        msg: Msg,
    },
    /// `set_election_timeout`: a script overrode the randomized election
    /// timeout.
    SetElectionTimeout {
        /// The new randomized election timeout, in ticks.
        timeout: u64,
    },
}

/// A message with the fields of etcd's `raftpb.Message` that the protocol
/// reads. `type` is etcd's name (`MsgApp`, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    /// etcd's name of the type.
    #[serde(rename = "type")]
    pub msg_type: String,
    /// The sender (0 for a local message).
    pub from: u64,
    /// The recipient.
    pub to: u64,
    /// The sender's term.
    pub term: u64,
    /// The term of the entry at `index`.
    pub log_term: u64,
    /// The message's log index.
    pub index: u64,
    /// The sender's commit index.
    pub commit: u64,
    /// A refused vote or append.
    pub reject: bool,
    /// Where a rejected append's follower suggests the logs may match.
    pub reject_hint: u64,
    /// The entries carried.
    pub entries: Vec<Ent>,
}

/// A log entry; `data` is the payload as [`escape_payload`] writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ent {
    /// The entry's index.
    pub index: u64,
    /// The entry's term.
    pub term: u64,
    /// The payload, escaped.
    pub data: String,
}

/// A node's protocol state (see `raft_core::trace::TraceState`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// The current term.
    pub term: u64,
    /// The vote (0 for none).
    pub vote: u64,
    /// etcd's name: `StateFollower`, `StatePreCandidate`, ...
    pub role: String,
    /// The known leader (0 for none).
    pub lead: u64,
    /// The commit index.
    pub commit: u64,
    /// Index of the first term in `terms` (the last compacted index).
    pub first: u64,
    /// The terms of the entries from `first` on.
    pub terms: Vec<u64>,
    /// Ticks since the election timer was last reset.
    pub election_elapsed: u64,
    /// The randomized timeout the election timer runs to.
    pub randomized_election_timeout: u64,
    /// A leader's ticks since its last heartbeat broadcast.
    pub heartbeat_elapsed: u64,
    /// The voters of the node's configuration.
    pub voters: Vec<u64>,
    /// `Config::pre_vote`.
    pub pre_vote: bool,
    /// `Config::check_quorum`.
    pub check_quorum: bool,
    /// The node's configured election interval, in ticks.
    pub election_tick: u64,
    /// The node's configured heartbeat interval, in ticks.
    pub heartbeat_tick: u64,
    /// Whether the node refuses proposals instead of forwarding them.
    pub disable_proposal_forwarding: bool,
}

/// Why a trace file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("trace line {line}: {source}")]
pub struct ParseError {
    /// The 1-based line.
    pub line: usize,
    /// Why it does not parse.
    #[source]
    pub source: serde_json::Error,
}

/// Writes `events` as NDJSON: one object per line, each line ending in `\n`.
pub fn to_ndjson(events: &[Event]) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    for e in events {
        out.push_str(&serde_json::to_string(e)?);
        out.push('\n');
    }
    Ok(out)
}

/// Reads what [`to_ndjson`] wrote; blank lines are skipped.
pub fn parse_ndjson(text: &str) -> Result<Vec<Event>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| ParseError {
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// A payload as printable ASCII: bytes from `!` to `~` stand for
/// themselves, except `%`, `"` and `\`, which like every other byte are
/// written `%XX` (two upper-case hex digits). Injective, so distinct
/// payloads stay distinct, and safe inside both JSON and TLA+ strings.
pub fn escape_payload(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for &b in data {
        if b.is_ascii_graphic() && !matches!(b, b'%' | b'"' | b'\\') {
            out.push(b as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Event> {
        let msg = Msg {
            msg_type: "MsgApp".to_string(),
            from: 1,
            to: 2,
            term: 3,
            log_term: 2,
            index: 11,
            commit: 10,
            entries: vec![Ent {
                index: 12,
                term: 3,
                data: escape_payload(b"say \"hi\"\\\n\xff%"),
            }],
            ..Msg::default()
        };
        vec![
            Event {
                seq: 0,
                node: 1,
                kind: EventKind::Send { msg: msg.clone() },
            },
            Event {
                seq: 1,
                node: 2,
                kind: EventKind::Role {
                    role: "StateFollower".to_string(),
                    term: 3,
                    vote: 0,
                    lead: 1,
                },
            },
        ]
    }

    #[test]
    fn each_event_is_one_json_line_with_its_kind_in_ev() {
        let text = to_ndjson(&sample()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(text.ends_with('\n'));
        assert_eq!(
            lines[1],
            r#"{"seq":1,"node":2,"ev":"role","role":"StateFollower","term":3,"vote":0,"lead":1}"#
        );
        assert!(
            lines[0]
                .starts_with(r#"{"seq":0,"node":1,"ev":"send","msg":{"type":"MsgApp","from":1,"#),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn a_trace_reads_back_as_written() {
        let events = sample();
        assert_eq!(parse_ndjson(&to_ndjson(&events).unwrap()).unwrap(), events);
    }

    #[test]
    fn payloads_are_printable_and_distinct() {
        assert_eq!(escape_payload(b"prop_1"), "prop_1");
        assert_eq!(
            escape_payload(b"say \"hi\"\\\n\xff%"),
            "say%20%22hi%22%5C%0A%FF%25"
        );
        // The escape character is itself escaped, so an escaped-looking
        // payload cannot collide with the byte it looks like.
        assert_ne!(escape_payload(b"%0A"), escape_payload(b"\n"));
        assert_eq!(escape_payload(b""), "");
    }

    #[test]
    fn a_malformed_line_is_reported_with_its_number() {
        let err = parse_ndjson("\n{\"seq\":0,\"node\":1,\"ev\":\"commit\",\"index\":3}\n{\"seq\":1,\"node\":1,\"ev\":\"bogus\"}\n")
            .unwrap_err();
        assert_eq!(err.line, 3);
    }
}
