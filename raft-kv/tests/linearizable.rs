//! Linearizability over HTTP: concurrent clients doing put, get and
//! compare-and-swap against an in-process 3-node cluster while the leader
//! is stopped and restarted, the history checked with raft-lincheck's
//! key-value model; and the planted bug (followers reading their own store)
//! caught by the same check.

mod common;

use common::{cluster, request, split_location, Failure};
use raft_kv::http::ServiceConfig;
use raft_kv::local::LocalKv;
use raft_lincheck::kv::{KvInput, KvModel, KvOutput};
use raft_lincheck::{check, Budget, Recorder, Verdict};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type History = Arc<Mutex<Recorder<KvInput, KvOutput>>>;

/// What one operation came to.
enum Ending {
    /// A definite answer, and the log index of an acknowledged write.
    Done(KvOutput, Option<u64>),
    /// No definite answer: it may or may not have taken effect.
    Unknown,
}

/// Sends `input` to `first`, following redirects and trying other nodes
/// while nothing can have been proposed.
async fn perform(nodes: &[SocketAddr], first: usize, input: &KvInput) -> Ending {
    let (method, mut path, body) = match input {
        KvInput::Get { key } => ("GET", format!("/kv/{key}"), Vec::new()),
        KvInput::Put { key, value } => ("PUT", format!("/kv/{key}"), value.clone().into_bytes()),
        KvInput::Delete { key } => ("DELETE", format!("/kv/{key}"), Vec::new()),
        KvInput::Cas { key, expected, new } => (
            "POST",
            format!("/kv/{key}/cas"),
            serde_json::json!({ "expected": expected, "new": new })
                .to_string()
                .into_bytes(),
        ),
        other => panic!("not generated: {other:?}"),
    };
    let mut addr = nodes[first % nodes.len()];
    for attempt in 0..100 {
        let sent =
            tokio::time::timeout(Duration::from_secs(3), request(addr, method, &path, &body));
        let reply = match sent.await {
            Err(_) | Ok(Err(Failure::Lost(_))) => return Ending::Unknown,
            Ok(Err(Failure::Refused)) => {
                // A stopped node: nothing was sent; try the next one.
                addr = nodes[(first + attempt + 1) % nodes.len()];
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            Ok(Ok(reply)) => reply,
        };
        let json = || reply.json();
        match (reply.status, input) {
            (307, _) => {
                let (to, p) = split_location(reply.header("location").expect("Location"));
                (addr, path) = (to, p);
            }
            (503, _)
                if json()["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("no leader")) =>
            {
                // Refused before proposing: safe to retry.
                tokio::time::sleep(Duration::from_millis(20)).await;
                addr = nodes[(first + attempt + 1) % nodes.len()];
            }
            (200, KvInput::Get { .. }) => {
                return Ending::Done(
                    KvOutput::Value(json()["value"].as_str().map(Into::into)),
                    None,
                )
            }
            (404, KvInput::Get { .. }) => return Ending::Done(KvOutput::Value(None), None),
            (200, KvInput::Put { .. } | KvInput::Delete { .. }) => {
                return Ending::Done(KvOutput::Done, json()["index"].as_u64())
            }
            (200, KvInput::Cas { .. }) => {
                let swapped = json()["swapped"].as_bool().expect("swapped");
                let index = json()["index"].as_u64();
                return Ending::Done(KvOutput::Swapped(swapped), index.filter(|_| swapped));
            }
            _ => return Ending::Unknown,
        }
    }
    Ending::Unknown
}

/// Runs `input` as `client`, recording its call and return; returns the
/// index of an acknowledged write.
async fn run(
    history: &History,
    nodes: &[SocketAddr],
    client: u64,
    first: usize,
    input: KvInput,
) -> Option<u64> {
    history.lock().unwrap().call(client, input.clone()).unwrap();
    let result = perform(nodes, first, &input).await;
    let mut h = history.lock().unwrap();
    match result {
        Ending::Done(output, index) => {
            h.ret(client, output).unwrap();
            index
        }
        Ending::Unknown => {
            h.unknown(client).unwrap();
            None
        }
    }
}

const KEYS: [&str; 3] = ["a", "b", "c"];

/// Issues random operations until `done` is set and at least `min_ops`
/// were issued, so the faults always land among them.
async fn client(
    history: History,
    nodes: Vec<SocketAddr>,
    client: u64,
    min_ops: usize,
    done: Arc<AtomicBool>,
) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(client);
    let mut acked = Vec::new();
    for n in 0.. {
        if n >= min_ops && done.load(Ordering::Relaxed) {
            break;
        }
        let key = KEYS[rng.random_range(0..KEYS.len())].to_string();
        let value = format!("{client}-{n}");
        let input = match rng.random_range(0..10) {
            0..=3 => KvInput::Get { key },
            4..=5 => KvInput::Put { key, value },
            6 => KvInput::Delete { key },
            _ => {
                // Expect a value some client may have written, or absence.
                let expected = match rng.random_range(0..3) {
                    0 => None,
                    _ => Some(format!(
                        "{}-{}",
                        rng.random_range(1..=4),
                        n.saturating_sub(rng.random_range(0..3))
                    )),
                };
                KvInput::Cas {
                    key,
                    expected,
                    new: value,
                }
            }
        };
        let first = rng.random_range(0..nodes.len());
        acked.extend(run(&history, &nodes, client, first, input).await);
    }
    acked
}

fn verdict(history: History) -> (Verdict, usize, usize) {
    let h = Arc::try_unwrap(history)
        .expect("clients done")
        .into_inner()
        .unwrap();
    let ops = h.finish_all();
    let unknown = ops.iter().filter(|o| o.output.is_none()).count();
    let v = check(&KvModel, &ops, Budget::default()).expect("a well-formed history");
    (v, ops.len(), unknown)
}

/// Reads every key through the leader, recorded: a write acknowledged and
/// then lost shows up as a read the history cannot explain.
async fn final_reads(kv: &LocalKv, history: &History) {
    let nodes = kv.http_addrs();
    for (i, key) in KEYS.iter().enumerate() {
        let input = KvInput::Get {
            key: key.to_string(),
        };
        run(history, &nodes, 100 + i as u64, 0, input).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_stay_linearizable_while_the_leader_restarts_or_is_cut_off() {
    let mut kv = cluster(ServiceConfig::default()).await;
    let nodes = kv.http_addrs();
    let history: History = Arc::new(Mutex::new(Recorder::new()));
    let done = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (1..=4)
        .map(|c| tokio::spawn(client(history.clone(), nodes.clone(), c, 50, done.clone())))
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
    final_reads(&kv, &history).await;

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

    let (v, ops, unknown) = verdict(history);
    println!("{ops} operations ({unknown} unknown outcomes), {} acknowledged writes, {restarts} leader restarts, {isolations} leader isolations: {v:?}", acked.len());
    assert_eq!(v, Verdict::Linearizable);
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
    verdict(history).0
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
    verdict(history).0
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
