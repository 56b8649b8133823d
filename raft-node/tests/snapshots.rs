//! Snapshots in the runtime: the policy, a follower caught up by snapshot,
//! a restart from a compacted log, and the errors.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use raft_core::{
    ConfState, Config, Entry, InitialState, LogStorage, LogWrite, MemNetwork, MemStorage, NodeId,
    Role, Snapshot, StorageError,
};
use raft_node::{
    spawn, NodeConfig, NodeConfigError, NodeError, NodeHandle, NullStateMachine, SnapshotError,
    SnapshotJob, SnapshotPolicy, StateMachine,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[macro_use]
mod common;

use common::Mode;

in_both_modes!(
    a_follower_behind_the_compaction_point_is_caught_up_by_snapshot,
    a_restarted_node_restores_its_snapshot_then_applies_the_rest,
    the_policy_snapshots_at_n_entries_and_at_n_bytes,
    a_disabled_policy_never_compacts,
    a_failing_snapshot_is_counted_and_the_node_carries_on,
);

/// A state with real content: how many payloads were applied, a running
/// hash of them in order, and the last index. Shared so tests can read it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Digest {
    count: u64,
    hash: u64,
    last_index: u64,
}

#[derive(Clone, Default)]
struct Hasher {
    state: Arc<Mutex<Digest>>,
    /// Serialise on the blocking pool (true) or at once.
    off_loop: bool,
}

impl StateMachine for Hasher {
    fn apply(&mut self, index: u64, data: &Bytes) -> Bytes {
        let mut s = self.state.lock().unwrap();
        s.count += 1;
        for b in data.iter() {
            s.hash = (s.hash ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        s.hash = s.hash.rotate_left(7) ^ index;
        s.last_index = index;
        Bytes::new()
    }

    fn snapshot(&mut self) -> Result<SnapshotJob, SnapshotError> {
        let captured = *self.state.lock().unwrap();
        let encode = move || {
            let mut b = BytesMut::new();
            b.put_u64(captured.count);
            b.put_u64(captured.hash);
            b.put_u64(captured.last_index);
            Ok(b.freeze())
        };
        if self.off_loop {
            Ok(SnapshotJob::blocking(encode))
        } else {
            encode().map(SnapshotJob::ready)
        }
    }

    fn restore(&mut self, data: &Bytes, _index: u64) -> Result<(), SnapshotError> {
        if data.len() != 24 {
            return Err(SnapshotError::Corrupt(format!("{} bytes", data.len())));
        }
        let mut d = &data[..];
        *self.state.lock().unwrap() = Digest {
            count: d.get_u64(),
            hash: d.get_u64(),
            last_index: d.get_u64(),
        };
        Ok(())
    }
}

/// A MemStorage that outlives the node using it, so a node can restart on
/// the log it left behind.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<MemStorage>>);

impl LogStorage for Shared {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        self.0.lock().unwrap().initial_state()
    }
    fn entries(&self, lo: u64, hi: u64, max: u64) -> Result<Vec<Entry>, StorageError> {
        self.0.lock().unwrap().entries(lo, hi, max)
    }
    fn term(&self, index: u64) -> Result<u64, StorageError> {
        self.0.lock().unwrap().term(index)
    }
    fn first_index(&self) -> Result<u64, StorageError> {
        self.0.lock().unwrap().first_index()
    }
    fn last_index(&self) -> Result<u64, StorageError> {
        self.0.lock().unwrap().last_index()
    }
    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        self.0.lock().unwrap().write(write)
    }
    fn snapshot(&self) -> Result<Snapshot, StorageError> {
        LogStorage::snapshot(&*self.0.lock().unwrap())
    }
    fn compact(&mut self, index: u64) -> Result<(), StorageError> {
        LogStorage::compact(&mut *self.0.lock().unwrap(), index)
    }
    fn create_snapshot(
        &mut self,
        index: u64,
        conf: Option<ConfState>,
        data: Bytes,
    ) -> Result<Snapshot, StorageError> {
        LogStorage::create_snapshot(&mut *self.0.lock().unwrap(), index, conf, data)
    }
}

fn config(id: NodeId, policy: SnapshotPolicy) -> NodeConfig {
    let mut c = NodeConfig::new({
        let mut cfg = Config::new(id);
        cfg.random_seed = Some(id);
        cfg.pre_vote = true;
        cfg
    });
    c.tick_interval = Duration::from_millis(5);
    c.snapshot = policy;
    c
}

fn policy(every: u64, keep: u64) -> SnapshotPolicy {
    let mut p = SnapshotPolicy::every_entries(every);
    p.catch_up_entries = keep;
    p
}

struct Node {
    handle: NodeHandle,
    state: Arc<Mutex<Digest>>,
    storage: Shared,
}

fn start_node(
    mode: Mode,
    net: &MemNetwork,
    id: NodeId,
    storage: Shared,
    policy: SnapshotPolicy,
) -> Node {
    let sm = Hasher {
        off_loop: id % 2 == 1,
        ..Hasher::default()
    };
    let state = sm.state.clone();
    let handle = mode
        .spawn(config(id, policy), storage.clone(), net.join(id), sm)
        .unwrap();
    Node {
        handle,
        state,
        storage,
    }
}

fn start(mode: Mode, n: u64, policy: SnapshotPolicy) -> (MemNetwork, Vec<Node>) {
    let net = MemNetwork::new(4096);
    let nodes = (1..=n)
        .map(|id| {
            let storage = Shared(Arc::new(Mutex::new(MemStorage::with_voters(1..=n))));
            start_node(mode, &net, id, storage, policy.clone())
        })
        .collect();
    (net, nodes)
}

async fn leader(nodes: &[Node]) -> &NodeHandle {
    loop {
        for n in nodes {
            if n.handle.metrics().role == Role::Leader {
                return &n.handle;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn timeout<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(Duration::from_secs(30), f)
}

/// Proposes through whoever leads until `count` proposals committed;
/// returns the last index.
async fn propose(nodes: &[Node], count: u32, tag: u32) -> u64 {
    let mut last = 0;
    let mut done = 0;
    while done < count {
        let l = timeout(leader(nodes)).await.unwrap();
        if let Ok(index) = l.propose(format!("{tag}-{done}").into_bytes()).await {
            last = index;
            done += 1;
        }
    }
    last
}

async fn all_applied(nodes: &[Node], index: u64) {
    for n in nodes {
        timeout(n.handle.wait_for(|m| m.applied >= index))
            .await
            .unwrap()
            .unwrap();
    }
}

fn assert_same_state(nodes: &[Node]) {
    let reference = *nodes[0].state.lock().unwrap();
    assert!(reference.count > 0);
    for n in &nodes[1..] {
        assert_eq!(
            *n.state.lock().unwrap(),
            reference,
            "node {}",
            n.handle.id()
        );
    }
}

async fn a_follower_behind_the_compaction_point_is_caught_up_by_snapshot(mode: Mode) {
    let (net, nodes) = start(mode, 3, policy(40, 10));
    let first = propose(&nodes, 5, 0).await;
    all_applied(&nodes, first).await;
    let lead = timeout(leader(&nodes)).await.unwrap().id();
    let behind = nodes.iter().find(|n| n.handle.id() != lead).unwrap();
    let cut = behind.handle.id();
    for other in 1..=3 {
        if other != cut {
            net.cut(cut, other);
            net.cut(other, cut);
        }
    }
    let applied_when_cut = behind.handle.metrics().applied;
    let last = propose(&nodes, 150, 1).await;
    let compacted = timeout(leader(&nodes))
        .await
        .unwrap()
        .metrics()
        .snapshots
        .compacted_to;
    assert!(
        compacted > applied_when_cut,
        "the leader compacted to {compacted}, not past the follower at {applied_when_cut}"
    );
    net.heal();
    all_applied(&nodes, last).await;
    let sent: u64 = nodes
        .iter()
        .map(|n| n.handle.metrics().snapshots.sent)
        .sum();
    assert!(sent >= 1, "no MsgSnap was sent");
    let m = behind.handle.metrics();
    assert!(m.snapshots.received >= 1, "{m:?}");
    assert!(m.snapshots.restored >= 1, "{m:?}");
    assert!(m.snapshots.compacted_to >= compacted.min(m.snapshots.last_index));
    assert_same_state(&nodes);
    for n in &nodes {
        n.handle.shutdown().await.unwrap();
    }
}

async fn a_restarted_node_restores_its_snapshot_then_applies_the_rest(mode: Mode) {
    let (net, mut nodes) = start(mode, 3, policy(30, 5));
    let last = propose(&nodes, 100, 0).await;
    all_applied(&nodes, last).await;
    let lead = timeout(leader(&nodes)).await.unwrap().id();
    let k = nodes.iter().position(|n| n.handle.id() != lead).unwrap();
    let id = nodes[k].handle.id();
    timeout(nodes[k].handle.wait_for(|m| m.snapshots.made >= 1))
        .await
        .unwrap()
        .unwrap();
    nodes[k].handle.shutdown().await.unwrap();
    let stored = LogStorage::snapshot(&nodes[k].storage).unwrap();
    assert!(stored.index() >= 30, "{:?}", stored.metadata);
    assert!(LogStorage::first_index(&nodes[k].storage).unwrap() > 1);

    let storage = nodes[k].storage.clone();
    nodes[k] = start_node(mode, &net, id, storage, policy(30, 5));
    let restarted = nodes[k].handle.metrics();
    assert_eq!(restarted.snapshots.restored, 1);
    assert!(restarted.applied >= stored.index());
    let last = propose(&nodes, 20, 1).await;
    all_applied(&nodes, last).await;
    // The count proves each entry applied exactly once across the restart.
    assert_same_state(&nodes);
    for n in &nodes {
        n.handle.shutdown().await.unwrap();
    }
}

async fn the_policy_snapshots_at_n_entries_and_at_n_bytes(mode: Mode) {
    // One voter: index 1 is the leader's empty entry, then one per proposal.
    let (_net, nodes) = start(mode, 1, policy(10, 3));
    let node = &nodes[0].handle;
    let before = propose(&nodes, 8, 0).await;
    assert_eq!(before, 9);
    // A status round trip waits for the loop's iteration to finish.
    node.status().await.unwrap();
    assert_eq!(node.metrics().snapshots.made, 0);
    assert_eq!(propose(&nodes, 1, 1).await, 10);
    let m = timeout(node.wait_for(|m| m.snapshots.made == 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.snapshots.last_index, 10);
    assert_eq!(m.snapshots.compacted_to, 7);
    assert_eq!(LogStorage::first_index(&nodes[0].storage).unwrap(), 8);
    node.shutdown().await.unwrap();

    let mut by_size = SnapshotPolicy::disabled();
    by_size.every_bytes = Some(1000);
    let (_net, nodes) = start(mode, 1, by_size);
    let node = timeout(leader(&nodes)).await.unwrap();
    // Entries are counted as stored: 83 payload bytes plus the runtime's
    // 17-byte proposal header make 100.
    for _ in 0..9 {
        node.propose(vec![7u8; 83]).await.unwrap();
    }
    node.status().await.unwrap();
    assert_eq!(node.metrics().snapshots.made, 0);
    node.propose(vec![7u8; 83]).await.unwrap();
    timeout(node.wait_for(|m| m.snapshots.made == 1))
        .await
        .unwrap()
        .unwrap();
    node.shutdown().await.unwrap();
}

async fn a_disabled_policy_never_compacts(mode: Mode) {
    let (_net, nodes) = start(mode, 1, SnapshotPolicy::disabled());
    propose(&nodes, 50, 0).await;
    nodes[0].handle.status().await.unwrap();
    let m = nodes[0].handle.metrics();
    assert_eq!((m.snapshots.made, m.snapshots.compacted_to), (0, 0));
    nodes[0].handle.shutdown().await.unwrap();
}

#[test]
fn snapshot_policies_that_make_no_sense_are_refused() {
    let mut c = config(1, SnapshotPolicy::every_entries(0));
    assert!(matches!(
        c.validate(),
        Err(NodeConfigError::ZeroSnapshotInterval)
    ));
    c.snapshot = SnapshotPolicy::disabled();
    c.snapshot.every_bytes = Some(0);
    assert!(matches!(
        c.validate(),
        Err(NodeConfigError::ZeroSnapshotInterval)
    ));
    c.snapshot = SnapshotPolicy::disabled();
    assert!(c.validate().is_ok());
    assert!(NodeConfig::new(Config::new(1)).snapshot.is_enabled());
    assert_eq!(
        NodeConfig::new(Config::new(1)).snapshot.every_entries,
        Some(SnapshotPolicy::DEFAULT_ENTRIES)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_snapshot_the_state_machine_cannot_read_stops_the_start() {
    let mut storage = MemStorage::with_voters([1]);
    let conf = ConfState::with_voters([1]);
    let mut write = LogWrite::new(Vec::new(), None, true);
    write.snapshot = Some(Snapshot::new(5, 1, conf, &b"not a digest"[..]));
    storage.write(write).unwrap();
    let net = MemNetwork::new(16);
    let err = spawn(
        config(1, SnapshotPolicy::default()),
        storage,
        net.join(1),
        Hasher::default(),
    )
    .err()
    .expect("a corrupt snapshot must stop the start");
    assert!(
        matches!(
            &err,
            NodeError::Restore {
                index: 5,
                source: SnapshotError::Corrupt(_)
            }
        ),
        "{err}"
    );
    // The null state machine restores the same log's empty-data snapshot.
    let storage = MemStorage::with_voters([1]);
    assert!(spawn(
        config(1, SnapshotPolicy::default()),
        storage,
        net.join(1),
        NullStateMachine::default()
    )
    .is_ok());
}

/// A state machine whose snapshots fail, on the loop or off it.
struct Failing {
    off_loop: bool,
}

impl StateMachine for Failing {
    fn apply(&mut self, _index: u64, _data: &Bytes) -> Bytes {
        Bytes::new()
    }

    fn snapshot(&mut self) -> Result<SnapshotJob, SnapshotError> {
        let failure = || SnapshotError::Io(std::io::Error::other("disk full"));
        if self.off_loop {
            Ok(SnapshotJob::blocking(move || Err(failure())))
        } else {
            Err(failure())
        }
    }
}

async fn a_failing_snapshot_is_counted_and_the_node_carries_on(mode: Mode) {
    for off_loop in [false, true] {
        let net = MemNetwork::new(64);
        let node = mode
            .spawn(
                config(1, policy(5, 0)),
                MemStorage::with_voters([1]),
                net.join(1),
                Failing { off_loop },
            )
            .unwrap();
        timeout(node.wait_for(|m| m.role == Role::Leader))
            .await
            .unwrap()
            .unwrap();
        for i in 0..12u8 {
            node.propose(vec![i]).await.unwrap();
        }
        let m = timeout(node.wait_for(|m| m.snapshots.failed >= 2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((m.snapshots.made, m.snapshots.compacted_to), (0, 0));
        node.propose(&b"still serving"[..]).await.unwrap();
        node.shutdown().await.unwrap();
    }
}
