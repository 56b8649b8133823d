//! The in-memory group the runtime's integration tests share: nodes on one
//! `MemNetwork`, each applying to a log of what it applied.

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

use bytes::Bytes;
use raft_core::{
    ConfState, Config, Entry, InitialState, LogStorage, LogWrite, MemNetwork, MemStorage, NodeId,
    PendingWrite, Role, Snapshot, Staged, StorageError, Transport, WriteKind,
};
use raft_node::{spawn, NodeConfig, NodeError, NodeHandle, StateMachine, StorageWrites};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs each listed `async fn name(mode: Mode)` as two tests,
/// `inline::name` and `background::name`.
#[allow(unused_macros)]
macro_rules! in_both_modes {
    ($($name:ident),+ $(,)?) => {
        mod inline {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::Mode::Inline).await
                }
            )+
        }
        mod background {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::Mode::Background).await
                }
            )+
        }
    };
}

/// How a test's nodes write their logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The loop writes each Ready itself.
    Inline,
    /// raft-core's async storage writes, the writes staged and run by the
    /// append thread.
    Background,
}

impl Mode {
    /// Starts a node in this mode: the config says so, and in the
    /// background mode the storage stages its writes, so that the append
    /// thread and the deferred responses are what the test exercises.
    pub fn spawn<S, T, M>(
        self,
        mut config: NodeConfig,
        storage: S,
        transport: T,
        state_machine: M,
    ) -> Result<NodeHandle, NodeError>
    where
        S: LogStorage + Send + 'static,
        T: Transport + Send + 'static,
        M: StateMachine,
    {
        config.storage_writes = match self {
            Mode::Inline => StorageWrites::Inline,
            Mode::Background => StorageWrites::Background,
        };
        let storage = Staging::new(storage, self == Mode::Background);
        spawn(config, storage, transport, state_machine)
    }
}

/// What the append thread runs for a staged write: the test decides.
pub type MakePending = Box<dyn FnMut(&LogWrite) -> Box<dyn PendingWrite> + Send>;

/// A log whose writes, when `stage` is set, are staged: applied to `inner`
/// at once, with a pending half for the append thread made by `pending`
/// (by default one that has no I/O to do but still holds the responses
/// back until it has run).
///
/// It also checks an ordering rule of the runtime: a snapshot is never
/// stored while a write staged before it has not run (the hard state that
/// commits the snapshot's index may be in it); `create_snapshot` fails the
/// node if one is.
pub struct Staging<S> {
    pub inner: S,
    pub stage: bool,
    pub pending: MakePending,
    /// Staged writes whose pending half has not run yet.
    unrun: Arc<AtomicUsize>,
}

/// A pending write that counts itself out once it has run.
struct Counted {
    write: Box<dyn PendingWrite>,
    unrun: Arc<AtomicUsize>,
}

impl PendingWrite for Counted {
    fn run(self: Box<Self>, sync: bool) -> Result<(), StorageError> {
        let result = self.write.run(sync);
        self.unrun.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

impl<S> Staging<S> {
    /// `inner`, its writes staged when `stage` is set, with no I/O to run.
    pub fn new(inner: S, stage: bool) -> Staging<S> {
        let pending: MakePending = Box::new(|_| Box::new(NoIo));
        Staging {
            inner,
            stage,
            pending,
            unrun: Arc::default(),
        }
    }
}

struct NoIo;

impl PendingWrite for NoIo {
    fn run(self: Box<Self>, _sync: bool) -> Result<(), StorageError> {
        std::thread::yield_now();
        Ok(())
    }
}

impl<S: LogStorage> LogStorage for Staging<S> {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        self.inner.initial_state()
    }
    fn entries(&self, lo: u64, hi: u64, max: u64) -> Result<Vec<Entry>, StorageError> {
        self.inner.entries(lo, hi, max)
    }
    fn term(&self, index: u64) -> Result<u64, StorageError> {
        self.inner.term(index)
    }
    fn first_index(&self) -> Result<u64, StorageError> {
        self.inner.first_index()
    }
    fn last_index(&self) -> Result<u64, StorageError> {
        self.inner.last_index()
    }
    fn write(&mut self, write: LogWrite) -> Result<(), StorageError> {
        self.inner.write(write)
    }
    fn write_kind(&self) -> WriteKind {
        match self.stage {
            true => WriteKind::Staged,
            false => self.inner.write_kind(),
        }
    }
    fn stage_write(&mut self, write: LogWrite) -> Result<Staged, StorageError> {
        let write_half = (self.pending)(&write);
        self.inner.write(write)?;
        self.unrun.fetch_add(1, Ordering::SeqCst);
        Ok(Staged::Pending(Box::new(Counted {
            write: write_half,
            unrun: self.unrun.clone(),
        })))
    }
    fn snapshot(&self) -> Result<Snapshot, StorageError> {
        self.inner.snapshot()
    }
    fn compact(&mut self, index: u64) -> Result<(), StorageError> {
        self.inner.compact(index)
    }
    fn create_snapshot(
        &mut self,
        index: u64,
        conf: Option<ConfState>,
        data: Bytes,
    ) -> Result<Snapshot, StorageError> {
        let unrun = self.unrun.load(Ordering::SeqCst);
        if unrun > 0 {
            return Err(StorageError::Other(
                format!("snapshot at {index} stored while {unrun} staged writes have not run")
                    .into(),
            ));
        }
        self.inner.create_snapshot(index, conf, data)
    }
}

/// What a node's state machine applied, in order: (index, payload).
pub type Applied = Arc<Mutex<Vec<(u64, Bytes)>>>;

pub struct Cluster {
    pub net: MemNetwork,
    pub nodes: Vec<NodeHandle>,
    pub applied: Vec<Applied>,
}

/// Seeded jitter and 5 ms ticks, so elections come quickly.
pub fn config(id: NodeId) -> NodeConfig {
    let mut raft = Config::new(id);
    raft.random_seed = Some(id);
    let mut c = NodeConfig::new(raft);
    c.tick_interval = Duration::from_millis(5);
    c
}

pub fn start(mode: Mode, n: u64) -> Cluster {
    start_with(mode, n, n, config)
}

/// A group of `n` voters of which nodes `1..=spawned` are started.
pub fn start_with(
    mode: Mode,
    n: u64,
    spawned: u64,
    make: impl Fn(NodeId) -> NodeConfig,
) -> Cluster {
    let net = MemNetwork::new(4096);
    let mut nodes = Vec::new();
    let mut applied = Vec::new();
    for id in 1..=spawned {
        let log: Applied = Arc::default();
        let sink = log.clone();
        let sm = move |index: u64, data: &Bytes| sink.lock().unwrap().push((index, data.clone()));
        let storage = MemStorage::with_voters(1..=n);
        nodes.push(mode.spawn(make(id), storage, net.join(id), sm).unwrap());
        applied.push(log);
    }
    Cluster {
        net,
        nodes,
        applied,
    }
}

impl Cluster {
    pub async fn leader(&self) -> &NodeHandle {
        loop {
            for node in &self.nodes {
                if node.metrics().role == Role::Leader {
                    return node;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn node(&self, id: NodeId) -> &NodeHandle {
        &self.nodes[(id - 1) as usize]
    }

    /// Whether node `id` applied `data`.
    pub fn saw(&self, id: NodeId, data: &[u8]) -> bool {
        self.applied[(id - 1) as usize]
            .lock()
            .unwrap()
            .iter()
            .any(|(_, d)| &d[..] == data)
    }

    /// Cuts every link to and from node `id`.
    pub fn isolate(&self, id: NodeId) {
        for other in 1..=self.nodes.len() as u64 {
            if other != id {
                self.net.cut(id, other);
                self.net.cut(other, id);
            }
        }
    }
}

pub fn timeout<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(Duration::from_secs(20), f)
}
