//! Input a correct peer or application never produces: refused with an
//! error, never a panic, and without changing the node.

mod common;

use common::*;
use raft_core::{
    ConfState, Config, ConfigError, EntryId, Error, HardState, MemStorage, MessageType, RawNode,
    Role, StorageError,
};

fn config_error(cfg: Config, store: MemStorage) -> ConfigError {
    match RawNode::new(&cfg, store) {
        Err(Error::Config(e)) => e,
        Err(e) => panic!("expected a config error, got {e}"),
        Ok(_) => panic!("{cfg:?} was accepted"),
    }
}

#[test]
fn every_invalid_config_field_is_refused() {
    let ok = config(1);
    let store = || MemStorage::with_voters([1, 2, 3]);
    let cases = [
        (
            {
                let mut cfg = ok.clone();
                cfg.id = 0;
                cfg
            },
            ConfigError::ZeroId,
        ),
        (
            {
                let mut cfg = ok.clone();
                cfg.heartbeat_tick = 0;
                cfg
            },
            ConfigError::ZeroHeartbeatTick,
        ),
        (
            {
                let mut cfg = ok.clone();
                cfg.election_tick = 3;
                cfg.heartbeat_tick = 3;
                cfg
            },
            ConfigError::ElectionTickTooSmall {
                election_tick: 3,
                heartbeat_tick: 3,
            },
        ),
        (
            {
                let mut cfg = ok.clone();
                cfg.election_tick = 2;
                cfg.heartbeat_tick = 3;
                cfg
            },
            ConfigError::ElectionTickTooSmall {
                election_tick: 2,
                heartbeat_tick: 3,
            },
        ),
        (
            {
                let mut cfg = ok.clone();
                cfg.max_inflight_msgs = 0;
                cfg
            },
            ConfigError::ZeroInflightMsgs,
        ),
        (
            {
                let mut cfg = ok.clone();
                cfg.max_inflight_bytes = 100;
                cfg.max_size_per_msg = 101;
                cfg
            },
            ConfigError::InflightBytesBelowMessageSize {
                max_inflight_bytes: 100,
                max_size_per_msg: 101,
            },
        ),
    ];
    for (cfg, want) in cases {
        assert_eq!(config_error(cfg, store()), want);
    }
}

#[test]
fn an_applied_index_outside_the_committed_log_is_refused() {
    let hs = HardState {
        term: 1,
        vote: 0,
        commit: 2,
    };
    let beyond_commit = {
        let mut cfg = config(1);
        cfg.applied = 3;
        cfg
    };
    assert_eq!(
        config_error(beyond_commit, log_store(&[1], &[1, 1, 1], hs)),
        ConfigError::AppliedOutOfRange {
            applied: 3,
            min: 0,
            committed: 2
        }
    );

    // Everything up to the base of the log is applied already.
    let base = EntryId { term: 1, index: 10 };
    let below_base = {
        let mut cfg = config(1);
        cfg.applied = 5;
        cfg
    };
    let store = MemStorage::with_base(ConfState::with_voters([1]), base);
    assert_eq!(
        config_error(below_base, store),
        ConfigError::AppliedOutOfRange {
            applied: 5,
            min: 10,
            committed: 10
        }
    );

    // Within range, it is accepted.
    let within = {
        let mut cfg = config(1);
        cfg.applied = 2;
        cfg
    };
    assert!(RawNode::new(&within, log_store(&[1], &[1, 1, 1], hs)).is_ok());
}

#[test]
fn a_stored_commit_beyond_the_stored_log_is_reported_as_corruption() {
    let hs = HardState {
        term: 1,
        vote: 0,
        commit: 5,
    };
    match RawNode::new(&config(1), log_store(&[1], &[1, 1], hs)) {
        Err(Error::Storage(StorageError::Corrupted(_))) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a commit index beyond the log was accepted"),
    }
}

#[test]
fn local_message_types_are_refused_from_outside() {
    let local = [
        MessageType::MsgHup,
        MessageType::MsgBeat,
        MessageType::MsgCheckQuorum,
        MessageType::MsgUnreachable,
    ];
    for leader in [false, true] {
        let mut c = Cluster::new(3);
        c.elect(if leader { 1 } else { 2 });
        for t in local {
            let before = c.status(1);
            let result = c.node_mut(1).step(msg(t, 2, 1, 0));
            assert!(
                matches!(result, Err(Error::StepLocalMsg)),
                "{t}: {result:?}"
            );
            assert_eq!(c.status(1), before, "{t}");
            assert!(!c.node(1).has_ready(), "{t}");
        }
    }
}

#[test]
fn responses_from_unknown_peers_are_refused() {
    let responses = [
        MessageType::MsgAppResp,
        MessageType::MsgVoteResp,
        MessageType::MsgHeartbeatResp,
        MessageType::MsgPreVoteResp,
    ];
    for role in [Role::Candidate, Role::Leader] {
        let mut c = Cluster::new(3);
        if role == Role::Leader {
            c.elect(1);
        } else {
            c.node_mut(1).campaign().unwrap();
            c.take_messages();
        }
        for t in responses {
            let before = c.status(1);
            let term = c.term(1);
            let result = c.node_mut(1).step(msg(t, 9, 1, term));
            assert!(
                matches!(result, Err(Error::StepPeerNotFound)),
                "{role} {t}: {result:?}"
            );
            assert_eq!(c.status(1), before, "{role} {t}");
        }
    }
}

#[test]
fn a_malformed_append_is_refused_and_leaves_the_log_alone() {
    // Follower at term 2 holding 1/1, 2/2; the appends claim to follow 2/2.
    let cases = [
        (vec![ent(2, 3), ent(2, 5)], "entries skip an index"),
        (vec![ent(2, 4)], "first entry does not follow prev"),
        (vec![ent(2, 3), ent(1, 4)], "terms decrease"),
        (vec![ent(1, 3)], "term below prev's term"),
        (vec![ent(3, 3)], "entry term above the message's term"),
    ];
    for (entries, why) in cases {
        let store = log_store(&[1, 2, 3], &[1, 2], hs_term(2));
        let mut node = RawNode::new(&config(2), store).unwrap();
        let result = node.step(append(1, 2, 2, (2, 2), entries, 2));
        assert!(
            matches!(result, Err(Error::InvalidMessage { from: 1, .. })),
            "{why}: {result:?}"
        );
        let msgs = drain(&mut node);
        assert!(msgs.is_empty(), "{why}: answered {msgs:?}");
        assert_eq!(log_terms(&node), vec![1, 2], "{why}");
        assert_eq!(node.status().hard_state, hs_term(2), "{why}");
    }

    // The entry it follows claims a term newer than the message itself.
    let store = log_store(&[1, 2, 3], &[1, 2], hs_term(2));
    let mut node = RawNode::new(&config(2), store).unwrap();
    let result = node.step(append(1, 2, 2, (3, 2), vec![], 0));
    assert!(
        matches!(result, Err(Error::InvalidMessage { .. })),
        "{result:?}"
    );
    assert_eq!(log_terms(&node), vec![1, 2]);
}

#[test]
fn an_empty_proposal_into_the_leader_is_refused() {
    let mut c = Cluster::new(3);
    c.elect(1);
    let prop = msg(MessageType::MsgProp, 2, 1, 0);
    let result = c.node_mut(1).step(prop);
    assert!(
        matches!(result, Err(Error::InvalidMessage { .. })),
        "{result:?}"
    );
    assert!(c.take_messages().is_empty());
    assert_eq!(c.last_index(1), 1);
}

#[test]
fn a_heartbeat_committing_beyond_the_followers_log_is_refused() {
    let store = log_store(&[1, 2, 3], &[1, 1], hs_term(1));
    let mut node = RawNode::new(&config(2), store).unwrap();
    let beat = {
        let mut m = msg(MessageType::MsgHeartbeat, 1, 2, 1);
        m.commit = 3;
        m
    };
    let result = node.step(beat);
    assert!(
        matches!(result, Err(Error::InvalidMessage { from: 1, .. })),
        "{result:?}"
    );
    assert_eq!(node.status().hard_state.commit, 0);
    let rd = handle_ready(&mut node);
    assert!(rd.is_none_or(|rd| rd.committed_entries.is_empty()));
}

/// A committed entry cannot be replaced by an append: every append that
/// could reach it is either below the commit index (answered with it) or
/// follows an entry that does not match (rejected). raft-core's dedicated
/// "conflicts with committed entry" error cannot be reached through `step`.
#[test]
fn an_append_cannot_change_a_committed_entry() {
    let hs = HardState {
        term: 2,
        vote: 0,
        commit: 3,
    };
    let fresh = || RawNode::new(&config(2), log_store(&[1, 2, 3], &[1, 2, 2, 2], hs)).unwrap();

    // Reaching back behind the commit index.
    let mut node = fresh();
    node.step(append(1, 2, 3, (1, 1), vec![ent(3, 2), ent(3, 3)], 3))
        .unwrap();
    let msgs = drain(&mut node);
    assert_eq!(msgs.len(), 1);
    assert_eq!((msgs[0].reject, msgs[0].index), (false, 3));
    assert_eq!(log_terms(&node), vec![1, 2, 2, 2]);

    // Claiming a different term for the committed entry it follows.
    let mut node = fresh();
    node.step(append(1, 2, 3, (3, 3), vec![ent(3, 4)], 4))
        .unwrap();
    let msgs = drain(&mut node);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].reject);
    assert_eq!(log_terms(&node), vec![1, 2, 2, 2]);
    assert_eq!(node.status().hard_state.commit, 3);
}
