//! The clients of the linearizability tests: random put, get, delete and
//! compare-and-swap over HTTP, each recorded (call, then answer or unknown
//! outcome) for raft-lincheck, and the checks made on the history.

use super::{request, split_location, Failure};
use raft_lincheck::kv::{KvInput, KvModel, KvOutput};
use raft_lincheck::{check, Budget, Operation, Recorder, Verdict};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The history the clients record into.
pub type History = Arc<Mutex<Recorder<KvInput, KvOutput>>>;

/// What one operation came to.
pub enum Ending {
    /// A definite answer, and the log index of an acknowledged write.
    Done(KvOutput, Option<u64>),
    /// No definite answer: it may or may not have taken effect.
    Unknown,
}

/// Sends `input` to `first`, following redirects and trying other nodes
/// while nothing can have been proposed.
pub async fn perform(nodes: &[SocketAddr], first: usize, input: &KvInput) -> Ending {
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
pub async fn run(
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

pub const KEYS: [&str; 3] = ["a", "b", "c"];

/// Issues random operations until `done` is set and at least `min_ops`
/// were issued, so the faults always land among them. Values are
/// `<client>-<n>`, unique per history as long as client ids are; a cas
/// expects a value one of `clients` may have written.
pub async fn client(
    history: History,
    nodes: Vec<SocketAddr>,
    client: u64,
    clients: RangeInclusive<u64>,
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
                        rng.random_range(clients.clone()),
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

/// What the check of one history found.
pub struct Checked {
    pub verdict: Verdict,
    pub operations: usize,
    pub unknown: usize,
    /// Acknowledged writes missing from the final reads (see
    /// [`lost_writes`]).
    pub lost: usize,
}

/// Checks the history the clients recorded (every client must be done).
pub fn verdict(history: History) -> Checked {
    let h = Arc::try_unwrap(history)
        .expect("clients done")
        .into_inner()
        .unwrap();
    let ops = h.finish_all();
    let unknown = ops.iter().filter(|o| o.output.is_none()).count();
    let verdict = check(&KvModel, &ops, Budget::default()).expect("a well-formed history");
    Checked {
        verdict,
        operations: ops.len(),
        unknown,
        lost: lost_writes(&ops),
    }
}

type Op = Operation<KvInput, KvOutput>;

/// Whether `op` may have written `value` (`None`: deleted) to its key.
fn may_write(op: &Op, value: Option<&str>) -> bool {
    match (&op.input, &op.output, value) {
        (KvInput::Put { value: v, .. }, Some(KvOutput::Done) | None, Some(want)) => v == want,
        (KvInput::Cas { new, .. }, Some(KvOutput::Swapped(true)) | None, Some(want)) => new == want,
        (KvInput::Delete { .. }, Some(KvOutput::Done) | None, None) => true,
        _ => false,
    }
}

fn acknowledged_write(op: &Op) -> bool {
    matches!(
        (&op.input, &op.output),
        (
            KvInput::Put { .. } | KvInput::Delete { .. },
            Some(KvOutput::Done)
        ) | (KvInput::Cas { .. }, Some(KvOutput::Swapped(true)))
    )
}

/// Counts acknowledged writes the cluster lost: for each key, the last
/// completed read (the final read after healing) must show a write that
/// did not finish before an acknowledged write to the key began; values are
/// unique, so the value names its writer. A lost write fails the
/// linearizability check too; this says so in plain words.
pub fn lost_writes(ops: &[Op]) -> usize {
    let mut lost = 0;
    for key in KEYS {
        let last_read = ops
            .iter()
            .filter(|o| o.input == KvInput::Get { key: key.into() })
            .filter_map(|o| match &o.output {
                Some(KvOutput::Value(v)) => Some((o.call, v.as_deref())),
                _ => None,
            })
            .max_by_key(|(call, _)| *call);
        let Some((read_at, seen)) = last_read else {
            continue;
        };
        let of_key = || ops.iter().filter(|o| o.input.key() == key);
        // When the write the read shows finished (never, if unknown); the
        // initial absence finished before everything.
        let writer_done = of_key()
            .filter(|o| may_write(o, seen))
            .map(|o| if o.output.is_some() { o.ret } else { u64::MAX })
            .max()
            .unwrap_or(if seen.is_none() { 0 } else { u64::MAX });
        lost += of_key()
            .filter(|o| acknowledged_write(o) && o.call > writer_done && o.ret < read_at)
            .count();
    }
    lost
}

/// Reads every key, recorded: a write acknowledged and then lost shows up
/// as a read the history cannot explain.
pub async fn final_reads(nodes: &[SocketAddr], history: &History) {
    for (i, key) in KEYS.iter().enumerate() {
        let input = KvInput::Get {
            key: key.to_string(),
        };
        run(history, nodes, 1000 + i as u64, 0, input).await;
    }
}
