//! Commitment (Raft paper §5.3, §5.4.2).

mod common;

use common::*;
use raft_core::{Config, HardState, Message, MessageType, RawNode};

/// Delivers the append from node 1 to `to` taken out earlier, and then `to`'s
/// answer, which it returns. Nothing else is delivered.
fn replicate_to(c: &mut Cluster, apps: &mut Vec<Message>, to: u64) -> Message {
    let pos = apps
        .iter()
        .position(|m| m.msg_type == MessageType::MsgApp && m.to == to)
        .expect("an append for that node");
    let app = apps.remove(pos);
    c.deliver(app).unwrap().unwrap();
    c.flush(to);
    let pos = c
        .in_flight
        .iter()
        .position(|m| m.msg_type == MessageType::MsgAppResp && m.from == to)
        .expect("an answer");
    let resp = c.in_flight.remove(pos).unwrap();
    c.deliver(resp.clone()).unwrap().unwrap();
    resp
}

#[test]
fn the_leader_commits_once_a_majority_stores_the_entry() {
    let mut c = Cluster::new(5);
    c.elect(1);
    c.propose(1, b"x").unwrap();
    let mut apps = c.take_messages();
    replicate_to(&mut c, &mut apps, 2);
    c.flush(1);
    assert_eq!(c.commit(1), 1, "two of five is no majority");
    replicate_to(&mut c, &mut apps, 3);
    c.flush(1);
    assert_eq!(c.commit(1), 2);
    assert_eq!(c.applied_data(1), vec![b"x".to_vec()]);
}

#[test]
fn an_old_term_entry_on_a_majority_commits_only_with_a_current_term_entry() {
    // Figure 8: node 1 led term 2 and appended 2/2 alone, then wins term 3.
    // Once 2/2 is on a majority it is still not committed by counting: a
    // leader of term 3 that lost it could still overwrite it.
    let voters = [1, 2, 3];
    let hs = HardState {
        term: 2,
        vote: 0,
        commit: 1,
    };
    let mut c = Cluster::from_nodes(vec![
        (
            {
                let mut cfg = config(1);
                cfg.max_size_per_msg = 0;
                cfg.max_committed_size_per_ready = u64::MAX;
                cfg
            },
            log_store(&voters, &[1, 2], hs),
        ),
        (config(2), log_store(&voters, &[1], hs)),
        (config(3), log_store(&voters, &[1], hs)),
    ]);
    c.isolate(3);
    // The first append carrying 3/3 is the probe node 2 rejects; the second
    // one, sent right after node 2 acknowledged 2/2, is lost.
    let mut probes_seen = 0;
    c.set_filter(move |m| {
        let carries_term_3 =
            m.msg_type == MessageType::MsgApp && m.entries.iter().any(|e| e.term == 3);
        if m.to == 2 && carries_term_3 {
            probes_seen += 1;
            return probes_seen == 1;
        }
        m.to != 3 && m.from != 3
    });
    c.elect(1);
    assert_eq!(c.term(1), 3);
    assert_eq!(log_terms(c.node(2)), vec![1, 2]);
    let progress = c.status(1).progress.unwrap();
    assert_eq!(progress[&2].matched, 2);
    assert_eq!(c.commit(1), 1, "2/2 is on a majority but is not of term 3");
    let applied = |c: &Cluster| -> Vec<(u64, u64)> {
        c.applied[&1].iter().map(|e| (e.term, e.index)).collect()
    };
    assert_eq!(applied(&c), vec![(1, 1)]);

    c.clear_filter();
    c.tick(1, HEARTBEAT_TICK);
    c.stabilize();
    assert_eq!(log_terms(c.node(2)), vec![1, 2, 3]);
    assert_eq!(c.commit(1), 3);
    assert_eq!(
        applied(&c),
        vec![(1, 1), (2, 2), (3, 3)],
        "2/2 commits with 3/3"
    );
}

#[test]
fn committing_an_entry_commits_every_entry_before_it() {
    let mut c = Cluster::new(3);
    c.elect(1);
    for data in [&b"a"[..], b"b", b"c"] {
        c.propose(1, data).unwrap();
    }
    let apps = c.take_messages();
    let to2: Vec<Message> = apps.into_iter().filter(|m| m.to == 2).collect();
    assert_eq!(to2.len(), 3, "one append per proposal");
    for m in to2 {
        c.deliver(m).unwrap().unwrap();
    }
    // Only the answer to the last append arrives.
    let last = c
        .take_messages()
        .into_iter()
        .max_by_key(|m| m.index)
        .unwrap();
    assert_eq!(last.index, 4);
    c.deliver(last).unwrap().unwrap();
    let rd = c.ready(1).unwrap();
    let committed: Vec<u64> = rd.committed_entries.iter().map(|e| e.index).collect();
    assert_eq!(committed, vec![2, 3, 4]);
    assert_eq!(c.commit(1), 4);
}

#[test]
fn followers_learn_the_commit_index_from_heartbeats() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.propose(1, b"x").unwrap();
    let mut apps = c.take_messages();
    replicate_to(&mut c, &mut apps, 2);
    replicate_to(&mut c, &mut apps, 3);
    assert_eq!(c.commit(1), 2);
    // Drop the appends that would carry the new commit index.
    c.take_messages();
    assert_eq!(c.commit(2), 1);
    assert_eq!(c.commit(3), 1);

    c.tick(1, HEARTBEAT_TICK);
    let beats = c.take_messages();
    assert_eq!(beats.len(), 2);
    for m in &beats {
        assert_eq!((m.msg_type, m.commit), (MessageType::MsgHeartbeat, 2));
    }
    for m in beats {
        c.deliver(m).unwrap().unwrap();
    }
    c.flush_all();
    for id in [2, 3] {
        assert_eq!(c.commit(id), 2, "node {id}");
        assert_eq!(c.applied_data(id), vec![b"x".to_vec()], "node {id}");
    }
}

#[test]
fn a_heartbeat_never_carries_a_commit_beyond_the_followers_match() {
    let mut c = Cluster::new(3);
    c.elect(1);
    c.isolate(3);
    c.propose(1, b"x").unwrap();
    c.stabilize();
    assert_eq!(c.commit(1), 2);
    c.tick(1, HEARTBEAT_TICK);
    let beats = c.take_messages();
    let commit_for = |to| beats.iter().find(|m| m.to == to).unwrap().commit;
    assert_eq!(commit_for(2), 2);
    assert_eq!(commit_for(3), 1, "node 3 may hold something else at 2");
}

#[test]
fn a_follower_commits_no_further_than_the_append_vouches_for() {
    let store = log_store(&[1, 2, 3], &[1, 1, 1, 1], hs_term(1));
    let mut node = RawNode::new(&config(2), store).unwrap();
    // The leader commits 4, but this append only proves the logs agree up
    // to 1: entries 2..4 may be leftovers of another leader.
    node.step(append(1, 2, 1, (1, 1), vec![], 4)).unwrap();
    drain(&mut node);
    assert_eq!(node.status().hard_state.commit, 1);
    node.step(append(1, 2, 1, (1, 2), vec![ent(1, 3)], 4))
        .unwrap();
    let rd = handle_ready(&mut node).unwrap();
    assert_eq!(node.status().hard_state.commit, 3);
    let committed: Vec<u64> = rd.committed_entries.iter().map(|e| e.index).collect();
    assert_eq!(committed, vec![2, 3]);
}

/// Raft paper figure 8, from (c) on, with five nodes: node 1 led term 2 and
/// gave 2/2 to node 2 only; node 5 led term 3 and appended 3/2 alone. Node
/// 1 now wins term 4 (nodes 2, 3 and 4 vote for it) and appends 4/3.
///
/// The network lets exactly one append carrying 4/3 reach each of nodes 2,
/// 3 and 4 and none reach node 5: node 2 takes it, nodes 3 and 4 refuse it
/// as a probe (they lack index 2) and then receive 2/2 alone, which gets
/// through because it carries no term-4 entry. So 2/2 ends on four of five
/// logs, while 4/3 is only on nodes 1 and 2. `leader` is node 1's
/// configuration; it sends one entry per append so that 2/2 travels alone.
fn figure_8_c(mut leader: Config) -> Cluster {
    let voters = [1, 2, 3, 4, 5];
    let mut hs = hs_term(3);
    hs.commit = 1;
    leader.max_size_per_msg = 0;
    let mut c = Cluster::from_nodes(vec![
        (leader, log_store(&voters, &[1, 2], hs)),
        (config(2), log_store(&voters, &[1, 2], hs)),
        (config(3), log_store(&voters, &[1], hs)),
        (config(4), log_store(&voters, &[1], hs)),
        (config(5), log_store(&voters, &[1, 3], hs)),
    ]);
    let mut term_4_appends = std::collections::BTreeMap::<u64, usize>::new();
    c.set_filter(move |m| {
        if m.msg_type != MessageType::MsgApp || m.from != 1 {
            return true;
        }
        if m.to == 5 {
            return false;
        }
        if !m.entries.iter().any(|e| e.term == 4) {
            return true;
        }
        let seen = term_4_appends.entry(m.to).or_default();
        *seen += 1;
        *seen == 1
    });
    c.elect(1);
    assert_eq!(c.term(1), 4);
    let logs: Vec<Vec<u64>> = (1..=5).map(|id| log_terms(c.node(id))).collect();
    assert_eq!(
        logs,
        [
            vec![1, 2, 4],
            vec![1, 2, 4],
            vec![1, 2],
            vec![1, 2],
            vec![1, 3]
        ]
    );
    let progress = c.status(1).progress.unwrap();
    let matched: Vec<u64> = (2..=5).map(|id| progress[&id].matched).collect();
    assert_eq!(matched, [3, 2, 2, 0], "node 1 knows where 2/2 is");
    c
}

/// The (term, index) of every entry `id` was handed as committed.
fn applied_ids(c: &Cluster, id: u64) -> Vec<(u64, u64)> {
    c.applied[&id].iter().map(|e| (e.term, e.index)).collect()
}

#[test]
fn an_old_term_entry_held_by_a_majority_is_not_committed_and_can_be_overwritten() {
    let mut c = figure_8_c(config(1));
    assert_eq!(c.commit(1), 1, "2/2 is on four of five logs, but of term 2");
    assert_eq!(applied_ids(&c, 1), [(1, 1)]);

    // Figure 8 (d): node 1 stops; node 5, whose last entry (term 3) is newer
    // than 2/2, wins term 5 with the votes of nodes 3 and 4 and replaces 2/2
    // everywhere it can reach. That is why 2/2 must not have counted as
    // committed.
    c.isolate(1);
    c.elect(5);
    assert_eq!(c.term(5), 5);
    for id in 2..=4 {
        assert_eq!(log_terms(c.node(id)), [1, 3, 5], "node {id}");
    }
    assert_eq!(c.commit(5), 3);
    for id in 1..=5 {
        assert!(
            !applied_ids(&c, id).contains(&(2, 2)),
            "node {id} applied 2/2, which was then overwritten"
        );
    }
}

#[test]
fn an_old_term_entry_commits_once_an_entry_of_the_leaders_term_is_on_a_majority() {
    let mut c = figure_8_c(config(1));
    assert_eq!(c.commit(1), 1);
    // Figure 8 (e): 4/3 reaches node 3 too: three of five hold it.
    c.clear_filter();
    c.isolate(4);
    c.isolate(5);
    c.tick(1, HEARTBEAT_TICK);
    c.stabilize();
    assert_eq!(log_terms(c.node(3)), [1, 2, 4]);
    assert_eq!(c.commit(1), 3);
    assert_eq!(applied_ids(&c, 1), [(1, 1), (2, 2), (4, 3)], "2/2 with 4/3");
}

/// The scenario above really exercises the rule: with it switched off,
/// node 1 commits 2/2 by counting, and node 5 then overwrites it on a
/// majority (`cargo test -p raft-core --features fault-injection --test commit`).
#[cfg(feature = "fault-injection")]
#[test]
fn without_the_current_term_rule_figure_8_loses_a_committed_entry() {
    let mut leader = config(1);
    leader.fault = Some(raft_core::Fault::CommitOldTermEntries);
    let mut c = figure_8_c(leader);
    assert_eq!(c.commit(1), 2);
    assert_eq!(applied_ids(&c, 1), [(1, 1), (2, 2)]);
    // Node 2 heard of commit 2 (its append had no term-4 entry to drop) and
    // would refuse to truncate; nodes 3, 4 and 5 are a majority without it.
    assert_eq!(c.commit(2), 2);
    c.isolate(1);
    c.isolate(2);
    c.elect(5);
    for id in 3..=4 {
        assert_eq!(log_terms(c.node(id)), [1, 3, 5], "node {id}");
    }
    assert_eq!(applied_ids(&c, 5), [(1, 1), (3, 2), (5, 3)]);
}
