//! Leader election (Raft paper §5.1, §5.2, §5.4.1).

mod common;

use common::*;
use raft_core::{HardState, MemStorage, MessageType, RawNode, Role, NO_NODE};
use std::collections::BTreeSet;

/// A 3-node cluster in which node 1 plays `role` (at term 1, or term 0 for
/// a pre-candidate, whose term does not move).
fn node1_in(role: Role) -> Cluster {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = config(id);
        cfg.pre_vote = role == Role::PreCandidate;
        cfg
    });
    match role {
        Role::Follower => c.elect(2),
        Role::PreCandidate | Role::Candidate => {
            c.node_mut(1).campaign().unwrap();
            c.take_messages();
        }
        Role::Leader => c.elect(1),
    }
    assert_eq!(c.role(1), role);
    c
}

#[test]
fn every_node_starts_as_follower() {
    let fresh = RawNode::new(&config(1), MemStorage::with_voters([1, 2, 3])).unwrap();
    let st = fresh.status();
    assert_eq!(st.soft_state.role, Role::Follower);
    assert_eq!(st.soft_state.leader, NO_NODE);
    assert_eq!(st.hard_state.term, 0);

    // Restarting from a term it once led in does not make it leader again.
    let hs = HardState {
        term: 5,
        vote: 1,
        commit: 2,
    };
    let restarted = RawNode::new(&config(1), log_store(&[1, 2, 3], &[1, 5], hs)).unwrap();
    let st = restarted.status();
    assert_eq!(st.soft_state.role, Role::Follower);
    assert_eq!(st.soft_state.leader, NO_NODE);
    assert_eq!(st.hard_state, hs);
}

#[test]
fn any_role_steps_down_on_a_higher_term_and_adopts_it() {
    let roles = [
        Role::Follower,
        Role::PreCandidate,
        Role::Candidate,
        Role::Leader,
    ];
    let types = [
        MessageType::MsgApp,
        MessageType::MsgHeartbeat,
        MessageType::MsgVote,
        MessageType::MsgAppResp,
    ];
    for role in roles {
        for t in types {
            let mut c = node1_in(role);
            let term = c.term(1) + 1;
            let m = match t {
                // An up-to-date log, so the vote rules are not what we test.
                MessageType::MsgVote => vote_request(t, 3, 1, term, (term, 100)),
                _ => msg(t, 2, 1, term),
            };
            c.node_mut(1).step(m).unwrap();
            c.flush(1);
            assert_eq!(c.role(1), Role::Follower, "{role} stepping {t}");
            assert_eq!(c.term(1), term, "{role} stepping {t}");
            let want_leader = match t {
                MessageType::MsgApp | MessageType::MsgHeartbeat => 2,
                _ => NO_NODE,
            };
            assert_eq!(c.leader(1), want_leader, "{role} stepping {t}");
        }
    }
}

#[test]
fn follower_campaigns_within_election_and_twice_election_ticks() {
    let mut timeouts = BTreeSet::new();
    for seed in 0..32 {
        let cfg = {
            let mut cfg = config(1);
            cfg.random_seed = Some(seed);
            cfg
        };
        let mut node = RawNode::new(&cfg, MemStorage::with_voters([1, 2, 3])).unwrap();
        let mut fired_at = None;
        for tick in 1..=2 * ELECTION_TICK {
            node.tick().unwrap();
            if node.status().soft_state.role != Role::Follower {
                fired_at = Some(tick);
                break;
            }
        }
        let tick = fired_at.expect("no election within 2 * election_tick");
        assert!(
            (ELECTION_TICK..2 * ELECTION_TICK).contains(&tick),
            "seed {seed}: campaigned after {tick} ticks"
        );
        assert_eq!(node.status().soft_state.role, Role::Candidate);
        assert_eq!(node.status().hard_state.term, 1);
        timeouts.insert(tick);
    }
    assert!(
        timeouts.len() > 1,
        "the timeout is not randomized: {timeouts:?}"
    );
}

#[test]
fn hearing_from_the_leader_restarts_the_election_clock() {
    let mut node = RawNode::new(&config(1), MemStorage::with_voters([1, 2, 3])).unwrap();
    node.step(msg(MessageType::MsgHeartbeat, 2, 1, 1)).unwrap();
    drain(&mut node);
    node.set_randomized_election_timeout(ELECTION_TICK);
    for _ in 0..ELECTION_TICK - 1 {
        node.tick().unwrap();
    }
    node.step(msg(MessageType::MsgHeartbeat, 2, 1, 1)).unwrap();
    drain(&mut node);
    for _ in 0..ELECTION_TICK - 1 {
        node.tick().unwrap();
    }
    assert_eq!(node.status().soft_state.role, Role::Follower);
    node.tick().unwrap();
    assert_eq!(node.status().soft_state.role, Role::Candidate);
    assert_eq!(node.status().hard_state.term, 2);
}

#[test]
fn candidate_votes_for_itself_and_asks_every_other_voter() {
    let voters = [1, 2, 3, 4, 5];
    let mut node = RawNode::new(&config(1), log_store(&voters, &[1, 1], hs_term(1))).unwrap();
    node.campaign().unwrap();
    assert_eq!(node.status().soft_state.role, Role::Candidate);
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(
        rd.hard_state,
        Some(HardState {
            term: 2,
            vote: 1,
            commit: 0
        })
    );
    assert!(rd.must_sync);
    let mut asked = Vec::new();
    for m in &rd.messages {
        assert_eq!(m.msg_type, MessageType::MsgVote);
        assert_eq!((m.from, m.term, m.log_term, m.index), (1, 2, 1, 2));
        asked.push(m.to);
    }
    assert_eq!(asked, vec![2, 3, 4, 5]);
}

#[test]
fn one_vote_per_term_first_come_first_served() {
    let mut node = RawNode::new(&config(1), MemStorage::with_voters([1, 2, 3])).unwrap();
    let mut answer = |from| {
        node.step(vote_request(MessageType::MsgVote, from, 1, 1, (0, 0)))
            .unwrap();
        let msgs = drain(&mut node);
        assert_eq!(msgs.len(), 1);
        let m = &msgs[0];
        assert_eq!(
            (m.msg_type, m.to, m.term),
            (MessageType::MsgVoteResp, from, 1)
        );
        (!m.reject, node.status().hard_state.vote)
    };
    assert_eq!(answer(2), (true, 2), "first candidate of the term");
    assert_eq!(answer(3), (false, 2), "second candidate, same term");
    assert_eq!(answer(2), (true, 2), "the same candidate asking again");
}

#[test]
fn vote_goes_only_to_a_log_at_least_as_up_to_date() {
    // The voter's last entry is 2/3.
    let cases = [
        ((3, 1), true, "higher last term, shorter log"),
        ((2, 3), true, "same last term, same length"),
        ((2, 4), true, "same last term, longer log"),
        ((2, 2), false, "same last term, shorter log"),
        ((1, 9), false, "lower last term, longer log"),
    ];
    for (last, granted, why) in cases {
        let store = log_store(&[1, 2, 3], &[1, 1, 2], hs_term(2));
        let mut node = RawNode::new(&config(1), store).unwrap();
        node.step(vote_request(MessageType::MsgVote, 2, 1, 3, last))
            .unwrap();
        let msgs = drain(&mut node);
        assert_eq!(msgs.len(), 1, "{why}");
        assert_eq!(msgs[0].msg_type, MessageType::MsgVoteResp);
        assert_eq!(!msgs[0].reject, granted, "{why}");
        let want_vote = if granted { 2 } else { NO_NODE };
        assert_eq!(node.status().hard_state.vote, want_vote, "{why}");
        // The term moves either way: the request's term is newer.
        assert_eq!(node.status().hard_state.term, 3, "{why}");
    }
}

#[test]
fn candidate_outcome_follows_the_vote_count() {
    let cases: [(u64, &[u64], &[u64], Role); 9] = [
        (1, &[], &[], Role::Leader),
        (3, &[2], &[], Role::Leader),
        (3, &[], &[2], Role::Candidate),
        (3, &[], &[2, 3], Role::Follower),
        (5, &[2], &[], Role::Candidate),
        (5, &[2, 3], &[], Role::Leader),
        (5, &[], &[2, 3], Role::Candidate),
        (5, &[], &[2, 3, 4], Role::Follower),
        (5, &[2], &[3, 4, 5], Role::Follower),
    ];
    for (size, granted, rejected, want) in cases {
        let mut c = Cluster::new(size);
        c.node_mut(1).campaign().unwrap();
        c.take_messages();
        let answers = granted
            .iter()
            .map(|id| (*id, false))
            .chain(rejected.iter().map(|id| (*id, true)));
        for (from, reject) in answers {
            let m = {
                let mut m = msg(MessageType::MsgVoteResp, from, 1, 1);
                m.reject = reject;
                m
            };
            c.node_mut(1).step(m).unwrap();
            c.flush(1);
        }
        let case = format!("{size} voters, granted {granted:?}, rejected {rejected:?}");
        assert_eq!(c.role(1), want, "{case}");
        assert_eq!(c.term(1), 1, "{case}");
    }
}

#[test]
fn candidate_follows_a_leader_of_its_own_term() {
    for t in [MessageType::MsgApp, MessageType::MsgHeartbeat] {
        let mut c = node1_in(Role::Candidate);
        c.node_mut(1).step(msg(t, 3, 1, 1)).unwrap();
        assert_eq!(c.role(1), Role::Follower, "{t}");
        assert_eq!(c.leader(1), 3, "{t}");
        assert_eq!(c.term(1), 1, "{t}");
    }
}

#[test]
fn split_vote_elects_nobody_and_a_later_timeout_retries_at_a_higher_term() {
    let mut c = Cluster::new(3);
    c.isolate(3);
    c.node_mut(1).campaign().unwrap();
    c.node_mut(2).campaign().unwrap();
    c.stabilize();
    for id in [1, 2] {
        assert_eq!(c.role(id), Role::Candidate, "node {id}");
        assert_eq!(c.term(id), 1, "node {id}");
        assert_eq!(c.leader(id), NO_NODE, "node {id}");
    }
    assert_eq!(c.status(1).hard_state.vote, 1);
    assert_eq!(c.status(2).hard_state.vote, 2);

    c.heal();
    c.node_mut(1).set_randomized_election_timeout(ELECTION_TICK);
    c.tick(1, ELECTION_TICK - 1);
    assert_eq!(c.term(1), 1, "retried before its timeout");
    c.tick(1, 1);
    assert_eq!(c.term(1), 2);
    c.stabilize();
    assert_eq!(c.role(1), Role::Leader);
    assert_eq!(c.leader(2), 1);
    assert_eq!(c.leader(3), 1);
}

#[test]
fn new_leader_appends_an_empty_entry_of_its_term_and_replicates_it() {
    let mut c = Cluster::new(3);
    c.node_mut(1).campaign().unwrap();
    for _ in 0..2 {
        // Vote requests, then their answers.
        for m in c.take_messages() {
            c.deliver(m).unwrap().unwrap();
        }
    }
    assert_eq!(c.role(1), Role::Leader);
    let rd = c.ready(1).unwrap();
    assert_eq!(rd.entries, vec![ent(1, 1)]);
    assert!(rd.entries[0].data.is_empty());
    let apps = of_type(&rd.messages, MessageType::MsgApp);
    assert_eq!(apps.iter().map(|m| m.to).collect::<Vec<_>>(), vec![2, 3]);
    for m in apps {
        assert_eq!((m.index, m.log_term, m.term), (0, 0, 1));
        assert_eq!(m.entries, vec![ent(1, 1)]);
    }
    c.send(rd.messages);
    c.stabilize();
    for id in 1..=3 {
        assert_eq!(log_terms(c.node(id)), vec![1], "node {id}");
        assert_eq!(c.commit(id), 1, "node {id}");
    }
}

#[test]
fn stale_vote_traffic_is_ignored() {
    // A vote request from an older term gets no answer and changes nothing.
    let mut node = RawNode::new(&config(1), log_store(&[1, 2, 3], &[1], hs_term(3))).unwrap();
    node.step(vote_request(MessageType::MsgVote, 2, 1, 2, (1, 5)))
        .unwrap();
    assert!(drain(&mut node).is_empty());
    assert_eq!(node.status().hard_state, hs_term(3));

    // A vote granted in an older term does not count in the current one.
    let mut c = Cluster::three_voters_at_term_1();
    c.node_mut(1).campaign().unwrap();
    c.take_messages();
    assert_eq!(c.term(1), 2);
    c.node_mut(1)
        .step(msg(MessageType::MsgVoteResp, 2, 1, 1))
        .unwrap();
    assert_eq!(c.role(1), Role::Candidate);
    c.node_mut(1)
        .step(msg(MessageType::MsgVoteResp, 2, 1, 2))
        .unwrap();
    c.flush(1);
    assert_eq!(c.role(1), Role::Leader);
}

#[test]
fn candidate_ignores_a_stale_leader() {
    let mut c = Cluster::three_voters_at_term_1();
    c.node_mut(1).campaign().unwrap();
    c.take_messages();
    for t in [MessageType::MsgApp, MessageType::MsgHeartbeat] {
        c.node_mut(1).step(msg(t, 2, 1, 1)).unwrap();
        c.flush(1);
        assert_eq!(c.role(1), Role::Candidate, "{t}");
        assert_eq!(c.term(1), 2, "{t}");
        assert!(c.take_messages().is_empty(), "{t} was answered");
    }
}
