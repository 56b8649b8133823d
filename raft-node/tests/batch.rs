//! `propose_batch`: many entries in one request, one result per entry.

use bytes::Bytes;
use raft_node::ProposeError;

#[macro_use]
mod common;

use common::{config, start, start_with, timeout, Mode};

in_both_modes!(
    a_batch_applies_in_order_with_one_result_per_entry,
    a_follower_refuses_the_whole_batch,
    entries_refused_by_raft_fail_alone_and_the_rest_apply,
    concurrent_batches_and_single_proposals_all_apply,
);

fn entries(range: std::ops::Range<u32>) -> Vec<Bytes> {
    range
        .map(|i| Bytes::from(format!("entry-{i}").into_bytes()))
        .collect()
}

async fn a_batch_applies_in_order_with_one_result_per_entry(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap();
    let batch = entries(0..50);
    let results = timeout(leader.propose_batch(batch.clone())).await.unwrap();
    assert_eq!(results.len(), 50);
    let indexes: Vec<u64> = results.iter().map(|r| r.as_ref().unwrap().index).collect();
    assert!(
        indexes.windows(2).all(|w| w[1] == w[0] + 1),
        "one batch takes consecutive indexes in the order given: {indexes:?}"
    );
    let last = *indexes.last().unwrap();
    for node in &c.nodes {
        timeout(node.wait_for(|m| m.applied >= last))
            .await
            .unwrap()
            .unwrap();
    }
    for log in &c.applied {
        let log = log.lock().unwrap();
        for (data, index) in batch.iter().zip(&indexes) {
            assert!(log.contains(&(*index, data.clone())), "{index} missing");
        }
    }
    assert!(
        timeout(leader.propose_batch(Vec::new()))
            .await
            .unwrap()
            .is_empty(),
        "an empty batch has no results"
    );
}

async fn a_follower_refuses_the_whole_batch(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap();
    let leader_id = leader.id();
    let follower = c.nodes.iter().find(|n| n.id() != leader_id).unwrap();
    timeout(follower.wait_for(|m| m.leader == Some(leader_id)))
        .await
        .unwrap()
        .unwrap();
    let results = timeout(follower.propose_batch(entries(0..3)))
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![
            Err(ProposeError::NotLeader {
                leader: Some(leader_id)
            });
            3
        ]
    );
    assert!(c.applied.iter().all(|log| log
        .lock()
        .unwrap()
        .iter()
        .all(|(_, d)| !d.starts_with(b"entry-"))));
}

async fn entries_refused_by_raft_fail_alone_and_the_rest_apply(mode: Mode) {
    // The uncommitted tail holds 100 payload bytes (each entry carries a
    // 17-byte header). With the leader cut off, a 60-byte entry stays
    // uncommitted (77 bytes); a batch of an empty entry (17) and another
    // 60-byte one (77) does not fit as a whole, and is then taken entry by
    // entry: the empty one fits, the large one is refused.
    let c = start_with(mode, 3, 3, |id| {
        let mut c = config(id);
        c.raft.max_uncommitted_entries_size = 100;
        c.proposal_timeout_ticks = 4000;
        c
    });
    let leader = timeout(c.leader()).await.unwrap().clone();
    c.isolate(leader.id());
    let first = tokio::spawn({
        let leader = leader.clone();
        async move { leader.propose(vec![1u8; 60]).await }
    });
    timeout(leader.wait_for(|m| m.pending_proposals == 1))
        .await
        .unwrap()
        .unwrap();
    let batch = vec![Bytes::new(), Bytes::from(vec![2u8; 60])];
    let mixed = tokio::spawn({
        let (leader, batch) = (leader.clone(), batch.clone());
        async move { leader.propose_batch(batch).await }
    });
    timeout(leader.wait_for(|m| m.pending_proposals == 2))
        .await
        .unwrap()
        .unwrap();
    c.net.heal();
    let first = timeout(first).await.unwrap().unwrap().unwrap();
    let results = timeout(mixed).await.unwrap().unwrap();
    assert_eq!(results.len(), 2);
    let small = results[0].as_ref().expect("the empty entry fits");
    assert!(small.index > first, "{results:?}");
    assert!(
        matches!(results[1], Err(ProposeError::Dropped { .. })),
        "{results:?}"
    );
    assert!(!c.saw(leader.id(), &batch[1]));
    // Once the tail committed, there is room again.
    let again = timeout(leader.propose_batch(vec![batch[1].clone()]))
        .await
        .unwrap();
    assert!(again[0].as_ref().unwrap().index > small.index);
}

async fn concurrent_batches_and_single_proposals_all_apply(mode: Mode) {
    let c = start(mode, 3);
    let leader = timeout(c.leader()).await.unwrap().clone();
    let mut tasks = Vec::new();
    for k in 0..8u32 {
        let leader = leader.clone();
        tasks.push(tokio::spawn(async move {
            if k % 2 == 0 {
                leader
                    .propose_batch(entries(k * 100..k * 100 + 20))
                    .await
                    .into_iter()
                    .map(|r| r.map(|a| a.index))
                    .collect::<Vec<_>>()
            } else {
                let mut out = Vec::new();
                for e in entries(k * 100..k * 100 + 20) {
                    out.push(leader.propose(e).await);
                }
                out
            }
        }));
    }
    let mut indexes = Vec::new();
    for t in tasks {
        for r in timeout(t).await.unwrap().unwrap() {
            indexes.push(r.unwrap());
        }
    }
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 160, "every entry has an index of its own");
}
