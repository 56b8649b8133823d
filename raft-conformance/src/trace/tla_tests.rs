use super::*;
use crate::trace::event::EventKind as K;

fn st(role: &str, term: u64, commit: u64, terms: &[u64], voters: &[u64]) -> NodeState {
    NodeState {
        term,
        vote: 0,
        role: role.to_string(),
        lead: 0,
        commit,
        first: 10,
        terms: terms.to_vec(),
        voters: voters.to_vec(),
        pre_vote: false,
        check_quorum: false,
    }
}

fn m(t: &str, from: u64, to: u64, term: u64) -> Msg {
    Msg {
        msg_type: t.to_string(),
        from,
        to,
        term,
        ..Msg::default()
    }
}

fn events(kinds: Vec<(u64, EventKind)>) -> Vec<Event> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, (node, kind))| Event {
            seq: i as u64,
            node,
            kind,
        })
        .collect()
}

/// Node 1 of {1, 2} campaigns (without pre-vote): a step that sends a vote
/// request to 2 and a vote to itself.
fn campaign() -> Vec<Event> {
    let init = st("StateFollower", 0, 10, &[1], &[1, 2]);
    let mut cand = st("StateCandidate", 1, 10, &[1], &[1, 2]);
    cand.vote = 1;
    let mut req = m("MsgVote", 1, 2, 1);
    (req.index, req.log_term) = (10, 1);
    events(vec![
        (
            1,
            K::Init {
                state: init.clone(),
            },
        ),
        (2, K::Init { state: init }),
        (
            1,
            K::Receive {
                msg: m("MsgHup", 0, 0, 0),
            },
        ),
        (
            1,
            K::Role {
                role: "StateCandidate".into(),
                term: 1,
                vote: 1,
                lead: 0,
            },
        ),
        (
            1,
            K::Send {
                msg: m("MsgVoteResp", 1, 1, 1),
            },
        ),
        (1, K::Send { msg: req.clone() }),
        (1, K::State { state: cand }),
        (2, K::Drop { msg: req }),
    ])
}

#[test]
fn a_step_keeps_its_replies_and_leaves_out_self_messages() {
    let evs = campaign();
    let all: Vec<&Event> = evs.iter().collect();
    let init: BTreeMap<u64, NodeState> = evs
        .iter()
        .filter_map(|e| match &e.kind {
            K::Init { state } => Some((e.node, state.clone())),
            _ => None,
        })
        .collect();
    let recs = records(&all, &init).unwrap();
    assert_eq!(recs.len(), 2);
    let Record::Step {
        seq,
        node,
        msg,
        sends,
        lease,
        state,
    } = &recs[0]
    else {
        panic!("{:?}", recs[0]);
    };
    assert_eq!(
        (*seq, *node, msg.msg_type.as_str(), *lease),
        (2, 1, "MsgHup", false)
    );
    assert_eq!(
        sends.len(),
        1,
        "the vote to itself is not a network message"
    );
    assert_eq!(sends[0].to, 2);
    assert_eq!(state.role, "StateCandidate");
    assert!(matches!(
        &recs[1],
        Record::Drop {
            seq: 7,
            node: 2,
            ..
        }
    ));
}

#[test]
fn a_leaders_appends_become_records_of_their_own_after_the_step() {
    let init = st("StateLeader", 1, 10, &[1, 1], &[1, 2]);
    let mut after = init.clone();
    after.terms.push(1);
    let mut prop = m("MsgProp", 1, 0, 0);
    prop.entries = vec![Ent {
        index: 0,
        term: 0,
        data: "x".into(),
    }];
    let mut app = m("MsgApp", 1, 2, 1);
    app.entries = vec![Ent {
        index: 12,
        term: 1,
        data: "x".into(),
    }];
    let evs = events(vec![
        (
            1,
            K::Init {
                state: init.clone(),
            },
        ),
        (
            2,
            K::Init {
                state: st("StateFollower", 1, 10, &[1, 1], &[1, 2]),
            },
        ),
        (1, K::Receive { msg: prop }),
        (
            1,
            K::Append {
                entries: app.entries.clone(),
            },
        ),
        (
            1,
            K::Send {
                msg: m("MsgAppResp", 1, 1, 1),
            },
        ),
        (1, K::Send { msg: app }),
        (1, K::State { state: after }),
    ]);
    let traces = tla_traces("t", &evs).unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].records, 2);
    let text = &traces[0].module;
    assert!(text.contains("TraceValue == {\"x\"}"), "{text}");
    let step = text.find("[kind |-> \"step\", seq |-> 2").unwrap();
    let send = text.find("[kind |-> \"send\", seq |-> 5").unwrap();
    assert!(step < send);
    assert!(text.contains(
        "mentries |-> <<[term |-> 1, value |-> \"x\"]>>, mcommit |-> 0, mreject |-> FALSE"
    ));
}

#[test]
fn the_module_declares_the_group_and_writes_none_for_node_zero() {
    let traces = tla_traces("campaign", &campaign()).unwrap();
    let text = &traces[0].module;
    assert!(text.starts_with("---------------------------- MODULE TraceData -"));
    assert!(text.trim_end().ends_with("===="));
    for line in [
        "TraceName == \"campaign\"",
        "TraceServer == {1, 2}",
        "TracePreVote == FALSE",
        "TraceCheckQuorum == FALSE",
        "TraceValue == {}",
        "TraceInit(none) ==",
        "    (1 :> [term |-> 0, vote |-> none, role |-> \"StateFollower\", lead |-> none, commit |-> 10, first |-> 10, terms |-> <<1>>]) @@",
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
    }
    assert!(text
        .contains("msg |-> [mtype |-> \"MsgHup\", mterm |-> 0, msource |-> none, mdest |-> none,"));
}

#[test]
fn state_changes_without_their_events_are_refused() {
    let mut evs = campaign();
    // Drop the role event: the state's new role is then unexplained.
    evs.remove(3);
    let err = tla_traces("t", &evs).unwrap_err().to_string();
    assert!(
        err.contains("role per role/append/commit events is StateFollower at 0"),
        "{err}"
    );
}

#[test]
fn an_append_must_start_inside_the_log() {
    let mut sh = Shadow::of(&st("StateFollower", 1, 10, &[1, 1], &[1]));
    let at = |index| {
        vec![Ent {
            index,
            term: 2,
            data: String::new(),
        }]
    };
    assert!(sh.append(0, &at(13)).is_err(), "a gap after index 11");
    assert!(sh.append(0, &at(10)).is_err(), "the compacted index");
    sh.append(0, &at(11)).unwrap();
    assert_eq!(sh.terms, vec![1, 2]);
}

#[test]
fn groups_with_different_voters_get_separate_modules() {
    let mut evs = campaign();
    let other = st("StateFollower", 0, 10, &[1], &[3]);
    evs.push(Event {
        seq: 8,
        node: 3,
        kind: K::Init { state: other },
    });
    let traces = tla_traces("two", &evs).unwrap();
    let names: Vec<&str> = traces.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["two.n1-2", "two.n3"]);
    assert_eq!(traces[1].records, 0);
}

#[test]
fn a_voter_without_a_node_is_refused() {
    let mut evs = campaign();
    evs.retain(|e| !(e.node == 2 && matches!(e.kind, K::Init { .. })));
    assert!(tla_traces("t", &evs).is_err());
}

#[test]
fn tla_strings_escape_quotes_and_backslashes_and_refuse_the_rest() {
    assert_eq!(tla_string("a\"b\\c").unwrap(), r#""a\"b\\c""#);
    assert_eq!(tla_string("prop_1 x").unwrap(), "\"prop_1 x\"");
    assert!(tla_string("line\nbreak").is_err());
    assert!(tla_string("é").is_err());
}
