//! Linearizability over HTTP: concurrent clients doing put, get and
//! compare-and-swap against an in-process 3-node cluster while the leader
//! is stopped and restarted, the history checked with raft-lincheck's
//! key-value model; and the planted bug (followers reading their own store)
//! caught by the same check.

mod common;

use common::cluster;
use common::workload::{client, final_reads, perform, run, verdict, Ending, History};
use raft_kv::http::ServiceConfig;
use raft_kv::local::LocalKv;
use raft_lincheck::kv::KvInput;
use raft_lincheck::{Recorder, Verdict};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_stay_linearizable_while_the_leader_restarts_or_is_cut_off() {
    let mut kv = cluster(ServiceConfig::default()).await;
    let nodes = kv.http_addrs();
    let history: History = Arc::new(Mutex::new(Recorder::new()));
    let done = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (1..=4)
        .map(|c| {
            let (history, nodes, done) = (history.clone(), nodes.clone(), done.clone());
            tokio::spawn(client(history, nodes, c, 1..=4, 50, done))
        })
        .collect();
    // Alternately: stop and restart the leader; cut the leader off from
    // both followers (CheckQuorum deposes it, the others elect) and heal.
    let (mut restarts, mut isolations) = (0, 0);
    for round in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let leader = kv.wait_for_leader(Duration::from_secs(10)).await.unwrap();
        if round % 2 == 0 {
            kv.stop_node(leader).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            kv.restart_node(leader).await.unwrap();
            restarts += 1;
        } else {
            for other in (1..=3).filter(|id| *id != leader) {
                kv.cut(leader, other).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
            kv.heal().unwrap();
            isolations += 1;
        }
    }
    done.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for c in clients {
        acked.extend(c.await.unwrap());
    }
    kv.wait_for_leader(Duration::from_secs(10)).await.unwrap();
    final_reads(&nodes, &history).await;

    // Two acknowledged writes never share a log index: each was committed
    // at its own place, which a later leader cannot have overwritten.
    let mut sorted = acked.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        acked.len(),
        "acknowledged writes share an index"
    );

    let checked = verdict(history);
    println!(
        "{} operations ({} unknown outcomes), {} acknowledged writes, {restarts} leader restarts, {isolations} leader isolations: {:?}",
        checked.operations, checked.unknown, acked.len(), checked.verdict
    );
    assert_eq!(checked.verdict, Verdict::Linearizable);
    assert_eq!(checked.lost, 0, "acknowledged writes lost");
    assert!(
        acked.len() > 50,
        "too few writes succeeded: {}",
        acked.len()
    );
    kv.shutdown().await.unwrap();
}

/// One client writes through the leader and then reads from a follower the
/// leader cannot reach (so it is certainly behind).
async fn write_then_read_a_follower(kv: &LocalKv, rounds: usize) -> Verdict {
    let leader = kv.leader().expect("a leader");
    let nodes = kv.http_addrs();
    let follower = (0..nodes.len())
        .find(|i| *i as u64 + 1 != leader)
        .expect("a follower");
    kv.cut(leader, follower as u64 + 1).unwrap();
    let history: History = Arc::new(Mutex::new(Recorder::new()));
    for n in 0..rounds {
        let put = KvInput::Put {
            key: "x".into(),
            value: n.to_string(),
        };
        run(&history, &nodes, 1, leader as usize - 1, put).await;
        run(
            &history,
            &nodes,
            1,
            follower,
            KvInput::Get { key: "x".into() },
        )
        .await;
    }
    kv.heal().unwrap();
    verdict(history).verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_catches_followers_reading_their_own_state() {
    let mut correct = cluster(ServiceConfig::default()).await;
    assert_eq!(
        write_then_read_a_follower(&correct, 10).await,
        Verdict::Linearizable
    );
    correct.shutdown().await.unwrap();

    let mut planted = ServiceConfig::default();
    planted.unsafe_follower_local_reads = true;
    let mut buggy = cluster(planted).await;
    let v = write_then_read_a_follower(&buggy, 10).await;
    assert!(matches!(v, Verdict::NotLinearizable { .. }), "{v:?}");
    buggy.shutdown().await.unwrap();
}

/// A write sent to a leader just cut off from both followers, then a read
/// through the leader the others elect.
async fn write_to_a_cut_off_leader(kv: &LocalKv) -> Verdict {
    let old = kv.leader().expect("a leader");
    let nodes = kv.http_addrs();
    let history: History = Arc::new(Mutex::new(Recorder::new()));
    let put = |v: &str| KvInput::Put {
        key: "x".into(),
        value: v.into(),
    };
    run(&history, &nodes, 1, old as usize - 1, put("before")).await;
    for other in (1..=3).filter(|id| *id != old) {
        kv.cut(old, other).unwrap();
    }
    // Only the cut-off leader is asked: it can never commit this.
    history.lock().unwrap().call(2, put("lost")).unwrap();
    let only_old = [nodes[old as usize - 1]];
    match perform(&only_old, 0, &put("lost")).await {
        Ending::Done(output, _) => history.lock().unwrap().ret(2, output).unwrap(),
        Ending::Unknown => history.lock().unwrap().unknown(2).unwrap(),
    }
    let new = loop {
        let elected = (1..=3).filter(|id| *id != old).find(|id| {
            kv.node(*id)
                .is_some_and(|n| n.metrics().role == raft_core::Role::Leader)
        });
        if let Some(id) = elected {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    kv.heal().unwrap();
    let get = KvInput::Get { key: "x".into() };
    run(&history, &nodes, 3, new as usize - 1, get).await;
    verdict(history).verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_catches_writes_acknowledged_before_commit() {
    let mut correct = cluster(ServiceConfig::default()).await;
    assert_eq!(
        write_to_a_cut_off_leader(&correct).await,
        Verdict::Linearizable
    );
    correct.shutdown().await.unwrap();

    let mut planted = ServiceConfig::default();
    planted.unsafe_ack_before_commit = true;
    let mut buggy = cluster(planted).await;
    let v = write_to_a_cut_off_leader(&buggy).await;
    assert!(matches!(v, Verdict::NotLinearizable { .. }), "{v:?}");
    buggy.shutdown().await.unwrap();
}
