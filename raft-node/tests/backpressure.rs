//! The append thread's queue is bounded: when the disk falls behind, the
//! loop stops making Readies (and taking inputs) instead of staging writes
//! without limit, yet keeps taking the thread's completions, so that it
//! resumes as writes come back and loses nothing.

mod common;

use bytes::Bytes;
use common::Staging;
use raft_core::{LogWrite, MemStorage, PendingWrite, Role, StorageError};
use raft_node::{spawn, NodeConfig, NodeHandle, StorageWrites};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Holds staged writes back until it hands out permits to run them.
#[derive(Default)]
struct Gate {
    /// Writes that may still run; `None`: any number.
    permits: Mutex<Option<u64>>,
    wake: Condvar,
    /// Staged writes that have not run, now and at most.
    unrun: AtomicUsize,
    max_unrun: AtomicUsize,
    /// The last index any staged write put.
    last_staged: AtomicU64,
    /// Writes that ran.
    passed: AtomicU64,
    /// Writes waiting at the gate for a permit.
    waiting: AtomicUsize,
}

impl Gate {
    fn set(&self, permits: Option<u64>) {
        *self.permits.lock().unwrap() = permits;
        self.wake.notify_all();
    }

    fn add(&self, n: u64) {
        let mut permits = self.permits.lock().unwrap();
        *permits = Some(permits.unwrap_or(0) + n);
        self.wake.notify_all();
    }

    fn pass(&self) {
        let mut permits = self.permits.lock().unwrap();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        while *permits == Some(0) {
            permits = self.wake.wait(permits).unwrap();
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        if let Some(n) = permits.as_mut() {
            *n -= 1;
        }
        self.unrun.fetch_sub(1, Ordering::SeqCst);
        self.passed.fetch_add(1, Ordering::SeqCst);
    }
}

/// Opens the gate when the test ends, failed or not, so that the node's
/// append thread can finish and the runtime shut down.
struct OpenOnDrop(Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

struct Held(Arc<Gate>);

impl PendingWrite for Held {
    fn run(self: Box<Self>, _sync: bool) -> Result<(), StorageError> {
        self.0.pass();
        Ok(())
    }
}

/// An in-memory log whose staged writes wait at the gate.
fn gated_log(gate: Arc<Gate>) -> Staging<MemStorage> {
    let mut log = Staging::new(MemStorage::with_voters([1]), true);
    log.pending = Box::new(move |write: &LogWrite| {
        if let Some(last) = write.entries.last() {
            gate.last_staged.fetch_max(last.index, Ordering::SeqCst);
        }
        let unrun = gate.unrun.fetch_add(1, Ordering::SeqCst) + 1;
        gate.max_unrun.fetch_max(unrun, Ordering::SeqCst);
        Box::new(Held(gate.clone()))
    });
    log
}

const QUEUE: usize = 4;

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_disk_bounds_the_staged_writes_and_loses_nothing_once_released() {
    let gate = Arc::new(Gate::default());
    let _open = OpenOnDrop(gate.clone());
    let log = gated_log(gate.clone());
    let mut raft = raft_core::Config::new(1);
    raft.random_seed = Some(1);
    let mut config = NodeConfig::new(raft);
    config.tick_interval = Duration::from_millis(5);
    config.proposal_timeout_ticks = 100_000;
    config.proposal_queue = 8;
    config.max_inputs_per_ready = 4;
    config.storage_writes = StorageWrites::Background;
    config.append_queue = QUEUE;
    let applied: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let sink = applied.clone();
    let sm = move |_: u64, data: &Bytes| sink.lock().unwrap().push(data.clone());
    let net = raft_core::MemNetwork::new(64);
    let node: NodeHandle = spawn(config, log, net.join(1), sm).unwrap();
    until("the single voter to lead", || {
        node.metrics().role == Role::Leader
    })
    .await;

    // The disk stops; proposers keep coming.
    gate.set(Some(0));
    let proposers: Vec<_> = (0..200u32)
        .map(|i| {
            let node = node.clone();
            tokio::spawn(async move { node.propose(Bytes::from(format!("p{i}"))).await })
        })
        .collect();
    until("the append queue to fill", || {
        gate.unrun.load(Ordering::SeqCst) == QUEUE
    })
    .await;
    let staged = gate.last_staged.load(Ordering::SeqCst);
    // Many ticks later, nothing more was staged: the loop waits for the
    // disk rather than queueing more behind it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(gate.unrun.load(Ordering::SeqCst), QUEUE);
    assert_eq!(gate.last_staged.load(Ordering::SeqCst), staged);

    // Writes let through one at a time free places (once the group the
    // append thread took is done) that the loop fills with new entries: it
    // still takes completions while it holds back.
    let mut released = 0;
    for _ in 0..3 {
        let before = gate.last_staged.load(Ordering::SeqCst);
        while gate.last_staged.load(Ordering::SeqCst) == before {
            assert!(
                released < 100,
                "{released} writes let through, no new entry"
            );
            let passed = gate.passed.load(Ordering::SeqCst);
            gate.add(1);
            released += 1;
            until("the write let through to run", || {
                gate.passed.load(Ordering::SeqCst) > passed
                    && (gate.waiting.load(Ordering::SeqCst) == 1
                        || gate.unrun.load(Ordering::SeqCst) == 0)
            })
            .await;
            assert!(gate.unrun.load(Ordering::SeqCst) <= QUEUE);
        }
    }

    gate.set(None);
    let mut indexes = Vec::new();
    for p in proposers {
        let applied = tokio::time::timeout(Duration::from_secs(20), p)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        indexes.push(applied);
    }
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 200, "two proposals share an index");
    let mut seen = applied.lock().unwrap().clone();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 200, "a proposal was lost or applied twice");
    assert!(gate.max_unrun.load(Ordering::SeqCst) <= QUEUE);
    let writes = node.metrics().writes;
    assert!(writes.backpressure > 0, "{writes:?}");
    assert!(writes.syncs > 0 && writes.entries >= 200, "{writes:?}");
    node.shutdown().await.unwrap();
}
