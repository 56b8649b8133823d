//! Leadership transfer, after etcd's `TestLeaderTransfer*` tests in
//! `raft_test.go`, written against the public API.

mod common;

use common::*;
use raft_core::{Config, Error, MessageType, Role};

fn check_quorum_config(id: u64) -> Config {
    let mut cfg = config(id);
    cfg.check_quorum = true;
    cfg
}

fn assert_leader(c: &Cluster, id: u64, term: u64) {
    assert_eq!(c.role(id), Role::Leader, "node {id} should lead");
    assert_eq!(c.term(id), term);
    for other in c.nodes.keys() {
        assert_eq!(c.leader(*other), id, "node {other} follows {id}");
    }
}

#[test]
fn transfer_to_an_up_to_date_follower() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.node_mut(1).transfer_leader(2).expect("transfer");
    c.stabilize();
    assert_leader(&c, 2, 2);
    assert_eq!(c.delivered_of(MessageType::MsgTimeoutNow, 1, 2).len(), 1);
    // And back again: a follower may ask for itself.
    c.node_mut(1).transfer_leader(1).expect("transfer");
    c.stabilize();
    assert_leader(&c, 1, 3);
}

#[test]
fn a_follower_forwards_the_request_to_its_leader() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.node_mut(2).transfer_leader(2).expect("transfer");
    c.stabilize();
    assert_leader(&c, 2, 2);
    let fwd = c.delivered_of(MessageType::MsgTransferLeader, 2, 1);
    assert_eq!(fwd.len(), 1, "forwarded with the transferee as sender");
    assert_eq!(fwd[0].term, 1);
}

#[test]
fn the_transfer_campaign_overrides_the_lease_and_skips_pre_vote() {
    let mut c = Cluster::with_config(3, |id| {
        let mut cfg = check_quorum_config(id);
        cfg.pre_vote = true;
        cfg
    });
    c.elect(1);
    // Every follower has heard from the leader just now: in its lease.
    c.node_mut(1).transfer_leader(3).expect("transfer");
    c.stabilize();
    assert_leader(&c, 3, 2);
    let votes = c.delivered_of(MessageType::MsgVote, 3, 2);
    assert_eq!(votes.len(), 1);
    assert_eq!(votes[0].context.as_ref(), b"CampaignTransfer");
    assert!(c.delivered_of(MessageType::MsgPreVote, 3, 2).is_empty());
}

#[test]
fn an_ordinary_vote_request_is_still_ignored_in_the_lease() {
    let mut c = Cluster::with_config(3, check_quorum_config);
    c.elect(1);
    let before = c.term(2);
    let mut req = vote_request(MessageType::MsgVote, 3, 2, before + 1, (1, c.last_index(3)));
    req.context = bytes::Bytes::from_static(b"not a transfer");
    c.deliver(req);
    assert_eq!(c.term(2), before, "the lease holds against it");
}

#[test]
fn a_slow_follower_gets_the_log_first() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(3);
    c.propose(1, b"x").expect("propose");
    c.stabilize();
    c.heal();
    assert!(c.status(1).progress.expect("leader")[&3].matched < c.last_index(1));
    c.node_mut(1).transfer_leader(3).expect("transfer");
    let first = c.take_messages();
    assert!(of_type(&first, MessageType::MsgTimeoutNow).is_empty());
    assert!(!of_type(&first, MessageType::MsgApp).is_empty());
    c.send(first);
    c.stabilize();
    assert_leader(&c, 3, 2);
    assert_eq!(c.applied_data(3), vec![b"x".to_vec()]);
}

#[test]
fn transfers_to_self_or_to_a_non_voter_are_ignored() {
    let mut c = Cluster::new(3);
    c.elect(1);
    for target in [1, 4] {
        c.node_mut(1).transfer_leader(target).expect("ignored");
        c.stabilize();
        assert_leader(&c, 1, 1);
        c.propose(1, b"ok")
            .expect("no transfer runs: proposals pass");
    }
}

#[test]
fn proposals_are_dropped_while_a_transfer_runs_and_it_aborts_after_an_election_timeout() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(3);
    c.node_mut(1).transfer_leader(3).expect("transfer");
    assert_eq!(c.status(1).lead_transferee, 3);
    assert!(matches!(c.propose(1, b"no"), Err(Error::ProposalDropped)));
    c.tick_and_stabilize(1, ELECTION_TICK - 1);
    assert!(matches!(c.propose(1, b"no"), Err(Error::ProposalDropped)));
    c.tick_and_stabilize(1, 1);
    assert_leader(&c, 1, 1);
    assert_eq!(c.status(1).lead_transferee, 0);
    c.propose(1, b"yes").expect("the transfer was abandoned");
    c.stabilize();
    assert_eq!(c.applied_data(1), vec![b"yes".to_vec()]);
}

#[test]
fn a_repeated_request_does_not_restart_the_timeout_and_a_new_target_replaces_the_old() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(3);
    c.node_mut(1).transfer_leader(3).expect("transfer");
    c.tick_and_stabilize(1, ELECTION_TICK / 2);
    c.node_mut(1).transfer_leader(3).expect("same again");
    c.tick_and_stabilize(1, ELECTION_TICK - ELECTION_TICK / 2);
    c.propose(1, b"yes")
        .expect("aborted on the first request's timeout");
    // A second transfer to another node replaces the first at once.
    c.heal();
    c.node_mut(1).transfer_leader(3).expect("transfer");
    c.node_mut(1)
        .transfer_leader(2)
        .expect("transfer elsewhere");
    c.stabilize();
    assert_leader(&c, 2, 2);
}

#[test]
fn a_candidate_ignores_timeout_now() {
    let mut c = Cluster::new(3);
    c.node_mut(2).campaign().expect("campaign");
    c.flush(2);
    assert_eq!(c.role(2), Role::Candidate);
    let term = c.term(2);
    c.deliver(msg(MessageType::MsgTimeoutNow, 1, 2, term));
    assert_eq!((c.role(2), c.term(2)), (Role::Candidate, term));
}

#[test]
fn a_new_term_aborts_the_transfer() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(3);
    c.node_mut(1).transfer_leader(3).expect("transfer");
    c.heal();
    c.elect(2);
    c.elect(1);
    c.propose(1, b"ok")
        .expect("no transfer runs after re-election");
}
