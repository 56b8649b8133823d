//! etcd's textual rendering of Readies, messages and entries (its
//! `DescribeReady`, `DescribeMessage`, ...), byte for byte. Interaction
//! scripts compare these strings against etcd's own output, so any change
//! here is a change in conformance.

mod goquote;

pub use goquote::go_quote;

use crate::confchange::AnyConfChange;
use crate::message::Message;
use crate::raw_node::Ready;
use crate::read_only::ReadState;
use crate::snapshot::Snapshot;
use crate::types::{ConfState, Entry, HardState, NodeId, SoftState, NO_NODE};
use std::fmt::Write;

/// Renders an entry's payload; etcd's default quotes it like Go's `%q`.
pub type EntryFormatter<'a> = &'a dyn Fn(&[u8]) -> String;

/// Go-`%q` quoting of payloads: etcd's default entry formatter.
pub fn default_formatter(data: &[u8]) -> String {
    go_quote(data)
}

/// `Term:1 Vote:1 Commit:2` (the vote only when set).
pub fn describe_hard_state(hs: &HardState) -> String {
    let mut s = format!("Term:{}", hs.term);
    if hs.vote != NO_NODE {
        let _ = write!(s, " Vote:{}", hs.vote);
    }
    let _ = write!(s, " Commit:{}", hs.commit);
    s
}

/// Go's `%v` of etcd's `[]ReadState`: `[{12 [114 49]}]`, the context as
/// its bytes in decimal.
pub fn describe_read_states(states: &[ReadState]) -> String {
    let items: Vec<String> = states
        .iter()
        .map(|rs| {
            let bytes: Vec<String> = rs.request_ctx.iter().map(u8::to_string).collect();
            format!("{{{} [{}]}}", rs.index, bytes.join(" "))
        })
        .collect();
    format!("[{}]", items.join(" "))
}

/// `Lead:1 State:StateLeader`.
pub fn describe_soft_state(ss: &SoftState) -> String {
    format!("Lead:{} State:{}", ss.leader, ss.role)
}

/// Go's `%v` of an id list: `[1 2 3]`, `[]`.
fn go_list(ids: &[NodeId]) -> String {
    let items: Vec<String> = ids.iter().map(u64::to_string).collect();
    format!("[{}]", items.join(" "))
}

/// `Voters:[1 2 3] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false`.
pub fn describe_conf_state(cs: &ConfState) -> String {
    format!(
        "Voters:{} VotersOutgoing:{} Learners:{} LearnersNext:{} AutoLeave:{}",
        go_list(&cs.voters),
        go_list(&cs.voters_outgoing),
        go_list(&cs.learners),
        go_list(&cs.learners_next),
        cs.auto_leave
    )
}

/// `Index:11 Term:1 ConfState:Voters:[1 2 3] ...` (the data is not shown).
pub fn describe_snapshot(s: &Snapshot) -> String {
    format!(
        "Index:{} Term:{} ConfState:{}",
        s.metadata.index,
        s.metadata.term,
        describe_conf_state(&s.metadata.conf_state)
    )
}

/// `1/3 EntryNormal "data"`; a membership change shows its changes in
/// etcd's token notation (`1/4 EntryConfChangeV2 v2 v3`), or why its
/// payload does not decode.
pub fn describe_entry(e: &Entry, f: EntryFormatter<'_>) -> String {
    let formatted = match AnyConfChange::from_entry(e) {
        Ok(None) => f(&e.data),
        Ok(Some(cc)) => cc.as_v2().tokens(),
        Err(err) => err.to_string(),
    };
    if formatted.is_empty() {
        format!("{}/{} {}", e.term, e.index, e.entry_type)
    } else {
        format!("{}/{} {} {}", e.term, e.index, e.entry_type, formatted)
    }
}

/// One described entry per line, each ending in a newline.
pub fn describe_entries(entries: &[Entry], f: EntryFormatter<'_>) -> String {
    let mut s = String::new();
    for e in entries {
        s.push_str(&describe_entry(e, f));
        s.push('\n');
    }
    s
}

/// Ids in hex, with `None` for "no node".
fn describe_target(id: NodeId) -> String {
    match id {
        NO_NODE => "None".to_string(),
        crate::message::LOCAL_APPEND_THREAD => "AppendThread".to_string(),
        crate::message::LOCAL_APPLY_THREAD => "ApplyThread".to_string(),
        _ => format!("{id:x}"),
    }
}

/// `1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal ""]`.
pub fn describe_message(m: &Message, f: EntryFormatter<'_>) -> String {
    let mut s = String::new();
    write_message(&mut s, "", m, f);
    s
}

/// Appends `m` to `s`, every line after the first prefixed by `indent`
/// (storage messages nest their responses one level deeper).
fn write_message(s: &mut String, indent: &str, m: &Message, f: EntryFormatter<'_>) {
    let _ = write!(
        s,
        "{indent}{}->{} {} Term:{} Log:{}/{}",
        describe_target(m.from),
        describe_target(m.to),
        m.msg_type,
        m.term,
        m.log_term,
        m.index
    );
    if m.reject {
        let _ = write!(s, " Rejected (Hint: {})", m.reject_hint);
    }
    if m.commit != 0 {
        let _ = write!(s, " Commit:{}", m.commit);
    }
    if m.vote != 0 {
        let _ = write!(s, " Vote:{}", m.vote);
    }
    match m.entries.as_slice() {
        [] => {}
        [one] => {
            let _ = write!(s, " Entries:[{}]", describe_entry(one, f));
        }
        many => {
            s.push_str(" Entries:[");
            for e in many {
                let _ = write!(s, "\n{indent}  {}", describe_entry(e, f));
            }
            let _ = write!(s, "\n{indent}]");
        }
    }
    if let Some(snap) = m.snapshot.as_deref().filter(|s| !s.is_empty()) {
        let _ = write!(s, "\n{indent}  Snapshot: {}", describe_snapshot(snap));
    }
    if !m.responses.is_empty() {
        s.push_str(" Responses:[");
        let nested = format!("{indent}  ");
        for r in &m.responses {
            s.push('\n');
            write_message(s, &nested, r, f);
        }
        let _ = write!(s, "\n{indent}]");
    }
}

/// The whole Ready as etcd prints it, or `<empty Ready>`.
pub fn describe_ready(rd: &Ready, f: EntryFormatter<'_>) -> String {
    let mut body = String::new();
    if let Some(ss) = &rd.soft_state {
        body.push_str(&describe_soft_state(ss));
        body.push('\n');
    }
    if let Some(hs) = rd.hard_state.filter(|hs| !hs.is_empty()) {
        let _ = writeln!(body, "HardState {}", describe_hard_state(&hs));
    }
    if !rd.read_states.is_empty() {
        let _ = writeln!(body, "ReadStates {}", describe_read_states(&rd.read_states));
    }
    if !rd.entries.is_empty() {
        body.push_str("Entries:\n");
        body.push_str(&describe_entries(&rd.entries, f));
    }
    if let Some(snap) = rd.snapshot.as_ref().filter(|s| !s.is_empty()) {
        let _ = writeln!(body, "Snapshot {}", describe_snapshot(snap));
    }
    if !rd.committed_entries.is_empty() {
        body.push_str("CommittedEntries:\n");
        body.push_str(&describe_entries(&rd.committed_entries, f));
    }
    if !rd.messages.is_empty() {
        body.push_str("Messages:\n");
        for m in &rd.messages {
            body.push_str(&describe_message(m, f));
            body.push('\n');
        }
    }
    if body.is_empty() {
        return "<empty Ready>".to_string();
    }
    format!("Ready MustSync={}:\n{}", rd.must_sync, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageType;
    use crate::types::Role;
    use bytes::Bytes;

    fn entry(term: u64, index: u64, data: &'static [u8]) -> Entry {
        Entry {
            term,
            index,
            data: Bytes::from_static(data),
            ..Entry::default()
        }
    }

    #[test]
    fn messages_render_like_etcd() {
        let m = Message {
            from: 1,
            to: 2,
            term: 1,
            log_term: 1,
            index: 2,
            commit: 2,
            entries: vec![entry(1, 3, b"")],
            ..Message::new(MessageType::MsgApp)
        };
        assert_eq!(
            describe_message(&m, &default_formatter),
            "1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal \"\"]"
        );
        let r = Message {
            from: 10,
            to: 11,
            term: 3,
            index: 5,
            reject: true,
            reject_hint: 4,
            ..Message::new(MessageType::MsgAppResp)
        };
        assert_eq!(
            describe_message(&r, &default_formatter),
            "a->b MsgAppResp Term:3 Log:0/5 Rejected (Hint: 4)"
        );
        let multi = Message {
            from: 1,
            to: 3,
            entries: vec![entry(1, 12, b"x"), entry(1, 13, b"y")],
            ..Message::new(MessageType::MsgProp)
        };
        assert_eq!(
            describe_message(&multi, &default_formatter),
            "1->3 MsgProp Term:0 Log:0/0 Entries:[\n  1/12 EntryNormal \"x\"\n  1/13 EntryNormal \"y\"\n]"
        );
    }

    #[test]
    fn snapshots_render_like_etcd() {
        let snap = Snapshot::new(11, 1, ConfState::with_voters([1, 2, 3]), Bytes::new());
        let m = Message {
            from: 1,
            to: 3,
            term: 1,
            snapshot: Some(Box::new(snap.clone())),
            ..Message::new(MessageType::MsgSnap)
        };
        assert_eq!(
            describe_message(&m, &default_formatter),
            "1->3 MsgSnap Term:1 Log:0/0\n  Snapshot: Index:11 Term:1 ConfState:Voters:[1 2 3] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false"
        );
        let rd = Ready {
            hard_state: Some(HardState {
                term: 1,
                vote: 0,
                commit: 11,
            }),
            snapshot: Some(snap),
            ..Ready::default()
        };
        assert_eq!(
            describe_ready(&rd, &default_formatter),
            "Ready MustSync=false:\nHardState Term:1 Commit:11\nSnapshot Index:11 Term:1 ConfState:Voters:[1 2 3] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false\n"
        );
        let reads = [
            ReadState::new(12, bytes::Bytes::from_static(b"r1")),
            ReadState::new(13, bytes::Bytes::new()),
        ];
        assert_eq!(describe_read_states(&reads), "[{12 [114 49]} {13 []}]");
        assert_eq!(
            describe_conf_state(&ConfState::default()),
            "Voters:[] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false"
        );
    }

    #[test]
    fn membership_renders_like_etcd() {
        use crate::confchange::{AnyConfChange, ConfChange, ConfChangeType, ConfChangeV2};
        use crate::types::EntryType;
        let entry = |cc: AnyConfChange| {
            let (entry_type, data) = cc.to_entry_data();
            Entry {
                term: 1,
                index: 4,
                entry_type,
                data,
            }
        };
        let v1 = entry(ConfChange::new(ConfChangeType::RemoveNode, 1).into());
        assert_eq!(
            describe_entry(&v1, &default_formatter),
            "1/4 EntryConfChange r1"
        );
        let changes = ConfChangeV2::changes_from_tokens("v2 l3 u4").unwrap();
        let v2 = entry(ConfChangeV2::new(Default::default(), changes).into());
        assert_eq!(
            describe_entry(&v2, &default_formatter),
            "1/4 EntryConfChangeV2 v2 l3 u4"
        );
        let leave = entry(ConfChangeV2::leave_joint().into());
        assert_eq!(
            describe_entry(&leave, &default_formatter),
            "1/4 EntryConfChangeV2"
        );
        let garbage = Entry {
            entry_type: EntryType::EntryConfChange,
            data: Bytes::from_static(&[0xff]),
            ..v1
        };
        assert_eq!(
            describe_entry(&garbage, &default_formatter),
            "1/4 EntryConfChange cannot decode conf change: truncated varint"
        );
        let mut cs = ConfState::with_voters_and_learners([1, 2, 3], [5]);
        cs.voters_outgoing = vec![1, 2, 4];
        cs.learners_next = vec![4];
        cs.auto_leave = true;
        assert_eq!(
            describe_conf_state(&cs),
            "Voters:[1 2 3] VotersOutgoing:[1 2 4] Learners:[5] LearnersNext:[4] AutoLeave:true"
        );
    }

    #[test]
    fn ready_renders_like_etcd() {
        assert_eq!(
            describe_ready(&Ready::default(), &default_formatter),
            "<empty Ready>"
        );
        let rd = Ready {
            soft_state: Some(SoftState {
                leader: 0,
                role: Role::Candidate,
            }),
            hard_state: Some(HardState {
                term: 1,
                vote: 1,
                commit: 2,
            }),
            must_sync: true,
            ..Ready::default()
        };
        assert_eq!(
            describe_ready(&rd, &default_formatter),
            "Ready MustSync=true:\nLead:0 State:StateCandidate\nHardState Term:1 Vote:1 Commit:2\n"
        );
    }
}
