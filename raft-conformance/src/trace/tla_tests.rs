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
        election_elapsed: 0,
        randomized_election_timeout: 3,
        heartbeat_elapsed: 0,
        voters: voters.to_vec(),
        pre_vote: false,
        check_quorum: false,
        election_tick: 3,
        heartbeat_tick: 1,
        disable_proposal_forwarding: false,
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
        last,
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
        (*seq, *last, *node, msg.msg_type.as_str(), *lease),
        (2, 6, 1, "MsgHup", false)
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
        "TraceElectionTimeout == 3",
        "TraceHeartbeatTimeout == 1",
        "TraceDisableProposalForwarding == FALSE",
        "TraceValue == {}",
        "TraceInit(none) ==",
        "    (1 :> [term |-> 0, vote |-> none, role |-> \"StateFollower\", lead |-> none, commit |-> 10, first |-> 10, terms |-> <<1>>, elapsed |-> 0, timeout |-> 3, hbElapsed |-> 0]) @@",
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

/// A leader of {1, 2} at term 1 and a follower of it.
fn leader_and_follower() -> Vec<Event> {
    let mut lead = st("StateLeader", 1, 10, &[1, 1], &[1, 2]);
    lead.lead = 1;
    let mut follower = st("StateFollower", 1, 10, &[1, 1], &[1, 2]);
    follower.lead = 1;
    events(vec![
        (1, K::Init { state: lead }),
        (2, K::Init { state: follower }),
    ])
}

fn push(evs: &mut Vec<Event>, node: u64, kind: EventKind) {
    let seq = evs.len() as u64;
    evs.push(Event { seq, node, kind });
}

fn state_of(evs: &[Event], node: u64) -> NodeState {
    evs.iter()
        .rev()
        .find_map(|e| match &e.kind {
            K::Init { state } | K::State { state } if e.node == node => Some(state.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn a_tick_is_a_record_of_its_own_with_its_heartbeats_among_its_sends() {
    let mut evs = leader_and_follower();
    // The follower's clock advances; the leader's tick broadcasts.
    push(&mut evs, 2, K::Tick);
    let mut ticked = state_of(&evs, 2);
    ticked.election_elapsed = 1;
    push(&mut evs, 2, K::State { state: ticked });
    push(&mut evs, 1, K::Tick);
    let mut beat = m("MsgHeartbeat", 1, 2, 1);
    beat.commit = 10;
    push(&mut evs, 1, K::Send { msg: beat });
    let lead = state_of(&evs, 1);
    push(&mut evs, 1, K::State { state: lead });
    let traces = tla_traces("t", &evs).unwrap();
    assert_eq!(traces[0].records, 2, "one record per tick, no send record");
    let text = &traces[0].module;
    assert!(
        text.contains("[kind |-> \"tick\", seq |-> 2, last |-> 3, node |-> 2, sends |-> <<>>, state |-> [term |-> 1, vote |-> none, role |-> \"StateFollower\", lead |-> 1, commit |-> 10, first |-> 10, terms |-> <<1, 1>>, elapsed |-> 1, timeout |-> 3, hbElapsed |-> 0]]"),
        "{text}"
    );
    assert!(
        text.contains("[kind |-> \"tick\", seq |-> 4, last |-> 6, node |-> 1, sends |-> <<[mtype |-> \"MsgHeartbeat\""),
        "{text}"
    );
    assert!(!text.contains("kind |-> \"send\""), "{text}");
}

#[test]
fn a_forwarded_proposal_is_sent_and_its_loss_is_a_drop() {
    let mut evs = leader_and_follower();
    let data = Ent {
        index: 0,
        term: 0,
        data: "p".into(),
    };
    let mut local = m("MsgProp", 2, 0, 0);
    local.entries = vec![data.clone()];
    let mut forwarded = local.clone();
    forwarded.to = 1;
    push(&mut evs, 2, K::Receive { msg: local });
    push(
        &mut evs,
        2,
        K::Send {
            msg: forwarded.clone(),
        },
    );
    let follower = state_of(&evs, 2);
    push(&mut evs, 2, K::State { state: follower });
    push(&mut evs, 1, K::Drop { msg: forwarded });
    let traces = tla_traces("t", &evs).unwrap();
    assert_eq!(traces[0].records, 2);
    let text = &traces[0].module;
    assert!(text.contains("TraceValue == {\"p\"}"), "{text}");
    let step = text
        .find("[kind |-> \"step\", seq |-> 2, last |-> 4, node |-> 2")
        .unwrap();
    let sends = text[step..]
        .find("sends |-> <<[mtype |-> \"MsgProp\", mterm |-> 0, msource |-> 2, mdest |-> 1,")
        .unwrap();
    let drop = text
        .find("[kind |-> \"drop\", seq |-> 5, node |-> 1, msg |-> [mtype |-> \"MsgProp\"")
        .unwrap();
    assert!(step + sends < drop);
}

#[test]
fn a_scripted_election_timeout_becomes_a_timeout_record() {
    let mut evs = leader_and_follower();
    push(&mut evs, 2, K::SetElectionTimeout { timeout: 5 });
    let traces = tla_traces("t", &evs).unwrap();
    assert_eq!(traces[0].records, 1);
    assert!(traces[0]
        .module
        .contains("[kind |-> \"timeout\", seq |-> 2, node |-> 2, timeout |-> 5]"));
}

#[test]
fn a_timeout_override_inside_a_step_is_refused() {
    let mut evs = leader_and_follower();
    push(&mut evs, 2, K::Tick);
    push(&mut evs, 2, K::SetElectionTimeout { timeout: 5 });
    let err = tla_traces("t", &evs).unwrap_err().to_string();
    assert!(
        err.contains("event 3: unexpected SetElectionTimeout"),
        "{err}"
    );
}

#[test]
fn nodes_with_different_election_ticks_are_refused() {
    let mut evs = leader_and_follower();
    if let K::Init { state } = &mut evs[1].kind {
        state.election_tick = 10;
    }
    let err = tla_traces("t", &evs).unwrap_err().to_string();
    assert!(err.contains("election or heartbeat ticks"), "{err}");
}
