//! `propose_batch`: many entries in one request, one result per entry.

use bytes::Bytes;
use raft_node::ProposeError;

mod common;

use common::{config, start, start_with, timeout};

fn entries(range: std::ops::Range<u32>) -> Vec<Bytes> {
    range
        .map(|i| Bytes::from(format!("entry-{i}").into_bytes()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_applies_in_order_with_one_result_per_entry() {
    let c = start(3);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_refuses_the_whole_batch() {
    let c = start(3);
    let leader = timeout(c.leader()).await.unwrap();
    let leader_id = leader.id();
    let follower = c.nodes.iter().find(|n| n.id() != leader_id).unwrap();
    timeout(follower.wait_for(|m| m.leader == Some(leader_id)))
        .await
        .unwrap()
        .unwrap();
    let results = timeout(follower.propose_batch(entries(0..3))).await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_refused_by_raft_fail_alone_and_the_rest_apply() {
    // Room for one 60-byte entry (plus its header) in the uncommitted tail:
    // the first entry of the batch is taken, the next two are dropped, and
    // the batch still answers for all three, in order.
    let c = start_with(3, 3, |id| {
        let mut c = config(id);
        c.raft.max_uncommitted_entries_size = 100;
        c
    });
    let leader = timeout(c.leader()).await.unwrap();
    let batch: Vec<Bytes> = (0..3u8).map(|i| Bytes::from(vec![i; 60])).collect();
    let results = timeout(leader.propose_batch(batch.clone())).await.unwrap();
    assert_eq!(results.len(), 3);
    let first = results[0].as_ref().expect("the first entry fits");
    assert!(
        matches!(results[1], Err(ProposeError::Dropped { .. })),
        "{results:?}"
    );
    assert!(
        matches!(results[2], Err(ProposeError::Dropped { .. })),
        "{results:?}"
    );
    let leader_log = &c.applied[(leader.id() - 1) as usize];
    assert!(leader_log
        .lock()
        .unwrap()
        .contains(&(first.index, batch[0].clone())));
    assert!(!c.saw(leader.id(), &batch[1]) && !c.saw(leader.id(), &batch[2]));
    // Once the first committed, the tail has room again.
    let again = timeout(leader.propose_batch(vec![batch[1].clone()]))
        .await
        .unwrap();
    assert!(again[0].as_ref().unwrap().index > first.index);
}
