//! Messages no correct peer sends but a faulty or malicious one can: a term
//! of 0 on peer traffic, the node's own id as sender, numbers at the end of
//! the `u64` range. raft-core must refuse them or ignore them, never panic
//! and never let them move its term backwards.

mod common;

use common::*;
use raft_core::{Error, Message, MessageType, Role};

/// Steps `m` into node 1 and handles the resulting Readies. Any outcome but
/// a panic is acceptable here; the tests check the state afterwards.
fn step_and_drain(c: &mut Cluster, m: Message) -> Result<(), Error> {
    let result = c.node_mut(1).step(m);
    c.flush(1);
    result
}

#[test]
fn a_vote_request_without_a_term_does_not_panic() {
    for t in [MessageType::MsgVote, MessageType::MsgPreVote] {
        // Term 1, no leader known, no vote cast: the request would be granted.
        let mut c = Cluster::three_voters_at_term_1();
        let _ = step_and_drain(&mut c, vote_request(t, 3, 1, 0, (9, 9)));
        assert_eq!(c.term(1), 1, "{t}");
        assert_eq!(c.status(1).hard_state.vote, 0, "{t}");
        for m in c.take_messages() {
            assert_ne!(m.term, 0, "{t} answered with {m:?}");
        }
    }
}

#[test]
fn an_append_without_a_term_does_not_move_a_candidates_term_back() {
    let mut c = Cluster::new(3);
    c.node_mut(1).campaign().unwrap();
    c.take_messages();
    assert_eq!((c.role(1), c.term(1)), (Role::Candidate, 1));
    let _ = step_and_drain(&mut c, append(2, 1, 0, (0, 0), vec![], 0));
    assert_eq!(c.term(1), 1);
    assert_eq!(c.status(1).hard_state.vote, 1);
}

#[test]
fn a_heartbeat_from_the_node_itself_does_not_panic() {
    let mut c = Cluster::new(3);
    c.elect(2);
    let _ = step_and_drain(&mut c, msg(MessageType::MsgHeartbeat, 1, 1, 1));
    assert_eq!(c.term(1), 1);
}

#[test]
fn an_append_at_the_end_of_the_index_range_does_not_panic() {
    for entries in [vec![], vec![ent(1, 0)]] {
        let mut c = Cluster::new(3);
        c.elect(2);
        let _ = step_and_drain(&mut c, append(2, 1, 1, (1, u64::MAX), entries, 0));
        assert_eq!(c.last_index(1), 1);
    }
}

#[test]
fn an_acknowledgement_of_index_u64_max_does_not_panic() {
    let mut c = Cluster::new(3);
    c.elect(1);
    let ack = {
        let mut m = msg(MessageType::MsgAppResp, 2, 1, 1);
        m.index = u64::MAX;
        m
    };
    let _ = step_and_drain(&mut c, ack);
    assert_eq!(c.commit(1), 1);
}

#[test]
fn a_rejection_hint_of_u64_max_does_not_panic() {
    for log_term in [0, 1] {
        let mut c = Cluster::new(3);
        c.elect(1);
        c.node_mut(1).report_unreachable(2).unwrap();
        // The probe outstanding for node 2 follows index 1.
        let reject = {
            let mut m = msg(MessageType::MsgAppResp, 2, 1, 1);
            m.index = 1;
            m.reject = true;
            m.reject_hint = u64::MAX;
            m.log_term = log_term;
            m
        };
        let _ = step_and_drain(&mut c, reject);
        assert_eq!(c.role(1), Role::Leader, "log_term {log_term}");
    }
}

#[test]
fn a_term_of_u64_max_does_not_make_a_later_campaign_panic() {
    for pre_vote in [false, true] {
        let mut c = Cluster::with_config(3, |id| {
            let mut cfg = config(id);
            cfg.pre_vote = pre_vote;
            cfg
        });
        let refused = step_and_drain(&mut c, msg(MessageType::MsgHeartbeat, 2, 1, u64::MAX));
        assert!(
            matches!(refused, Err(Error::InvalidMessage { .. })),
            "pre_vote {pre_vote}: {refused:?}"
        );
        let _ = c.node_mut(1).campaign();
        c.flush(1);
        assert!(c.term(1) <= 2, "pre_vote {pre_vote}: term {}", c.term(1));
    }
}
