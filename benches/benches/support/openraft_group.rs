//! openraft 0.9 in the cluster benchmark's scenario: three voters in one
//! process, an in-memory log and state machine, and a network that calls the
//! target node's `Raft` directly (no serialisation, no sockets), as
//! raft-node's memory + in-process combination does.
//!
//! Written for this benchmark from openraft's documented storage-v2 and
//! network traits; nothing here is tuned beyond openraft's defaults except
//! the snapshot policy, which matches raft-node's (every 10,000 entries), so
//! that neither log grows without bound during a long run.

use bytes::Bytes;
use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, Config, Entry, EntryPayload, LogId, OptionalSend, RaftLogReader, RaftNetwork,
    RaftNetworkFactory, RaftSnapshotBuilder, SnapshotMeta, SnapshotPolicy, StorageError,
    StoredMembership, Vote,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

openraft::declare_raft_types!(
    /// Entries are opaque bytes; the state machine answers with the index.
    pub Types:
        D = Bytes,
        R = u64,
);

type Raft = openraft::Raft<Types>;
type Id = u64;

/// Locks, taking the data over from a panicked holder (a benchmark has no
/// invariant a half-done update could break that a retry would not show).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
struct Log {
    vote: Option<Vote<Id>>,
    committed: Option<LogId<Id>>,
    purged: Option<LogId<Id>>,
    entries: BTreeMap<u64, Entry<Types>>,
}

/// The log, shared with the readers openraft's replication tasks hold.
#[derive(Clone, Default)]
pub struct LogStore(Arc<Mutex<Log>>);

impl RaftLogReader<Types> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<Types>>, StorageError<Id>> {
        let log = lock(&self.0);
        Ok(log.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<Types> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<Types>, StorageError<Id>> {
        let log = lock(&self.0);
        let last = log.entries.values().next_back().map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: log.purged,
            last_log_id: last.or(log.purged),
        })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<Id>) -> Result<(), StorageError<Id>> {
        lock(&self.0).vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<Id>>, StorageError<Id>> {
        Ok(lock(&self.0).vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<Id>>,
    ) -> Result<(), StorageError<Id>> {
        lock(&self.0).committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<Id>>, StorageError<Id>> {
        Ok(lock(&self.0).committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        done: LogFlushed<Types>,
    ) -> Result<(), StorageError<Id>>
    where
        I: IntoIterator<Item = Entry<Types>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        {
            let mut log = lock(&self.0);
            for e in entries {
                log.entries.insert(e.log_id.index, e);
            }
        }
        // Memory is as durable as this log gets.
        done.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, from: LogId<Id>) -> Result<(), StorageError<Id>> {
        // What split_off returns is the conflicting tail, dropped here.
        let _tail = lock(&self.0).entries.split_off(&from.index);
        Ok(())
    }

    async fn purge(&mut self, upto: LogId<Id>) -> Result<(), StorageError<Id>> {
        let mut log = lock(&self.0);
        let kept = log.entries.split_off(&(upto.index + 1));
        log.entries = kept;
        log.purged = Some(upto);
        Ok(())
    }
}

#[derive(Default)]
struct Applied {
    last: Option<LogId<Id>>,
    membership: StoredMembership<Id, BasicNode>,
    snapshot: Option<(SnapshotMeta<Id, BasicNode>, Vec<u8>)>,
    snapshots_made: u64,
}

/// The state machine: it only records how far it applied and the
/// membership, which is all a snapshot of it needs.
#[derive(Clone, Default)]
pub struct StateMachine(Arc<Mutex<Applied>>);

impl RaftSnapshotBuilder<Types> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<Types>, StorageError<Id>> {
        let mut sm = lock(&self.0);
        sm.snapshots_made += 1;
        let meta = SnapshotMeta {
            last_log_id: sm.last,
            last_membership: sm.membership.clone(),
            snapshot_id: format!("{}", sm.snapshots_made),
        };
        sm.snapshot = Some((meta.clone(), Vec::new()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(Vec::new())),
        })
    }
}

impl RaftStateMachine<Types> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<Id>>, StoredMembership<Id, BasicNode>), StorageError<Id>> {
        let sm = lock(&self.0);
        Ok((sm.last, sm.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<u64>, StorageError<Id>>
    where
        I: IntoIterator<Item = Entry<Types>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut sm = lock(&self.0);
        let mut answers = Vec::new();
        for e in entries {
            sm.last = Some(e.log_id);
            if let EntryPayload::Membership(m) = e.payload {
                sm.membership = StoredMembership::new(Some(e.log_id), m);
            }
            answers.push(e.log_id.index);
        }
        Ok(answers)
    }

    async fn get_snapshot_builder(&mut self) -> StateMachine {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<Id>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<Id, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<Id>> {
        let mut sm = lock(&self.0);
        sm.last = meta.last_log_id;
        sm.membership = meta.last_membership.clone();
        sm.snapshot = Some((meta.clone(), snapshot.into_inner()));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<Types>>, StorageError<Id>> {
        Ok(lock(&self.0)
            .snapshot
            .as_ref()
            .map(|(meta, data)| Snapshot {
                meta: meta.clone(),
                snapshot: Box::new(Cursor::new(data.clone())),
            }))
    }
}

/// Every node of the group, for the network to call directly.
#[derive(Clone, Default)]
pub struct Router(Arc<RwLock<BTreeMap<Id, Raft>>>);

impl RaftNetworkFactory<Types> for Router {
    type Network = Connection;

    async fn new_client(&mut self, target: Id, _node: &BasicNode) -> Connection {
        Connection {
            router: self.clone(),
            target,
            raft: None,
        }
    }
}

/// One node's link to `target`: looks the target up once, then calls it.
pub struct Connection {
    router: Router,
    target: Id,
    raft: Option<Raft>,
}

impl Connection {
    fn raft(&mut self) -> Option<Raft> {
        if self.raft.is_none() {
            let nodes = self.router.0.read().unwrap_or_else(|p| p.into_inner());
            self.raft = nodes.get(&self.target).cloned();
        }
        self.raft.clone()
    }
}

/// The answer for a target not (yet) in the router.
fn gone<E: std::error::Error>() -> RPCError<Id, BasicNode, E> {
    let gone = std::io::Error::new(std::io::ErrorKind::NotFound, "no such node");
    RPCError::Unreachable(Unreachable::new(&gone))
}

impl RaftNetwork<Types> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<Types>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<Id>, RPCError<Id, BasicNode, RaftError<Id>>> {
        let raft = self.raft().ok_or_else(gone)?;
        let target = self.target;
        raft.append_entries(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(target, e)))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<Types>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<Id>,
        RPCError<Id, BasicNode, RaftError<Id, InstallSnapshotError>>,
    > {
        let raft = self.raft().ok_or_else(gone)?;
        let target = self.target;
        raft.install_snapshot(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(target, e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<Id>,
        _option: RPCOption,
    ) -> Result<VoteResponse<Id>, RPCError<Id, BasicNode, RaftError<Id>>> {
        let raft = self.raft().ok_or_else(gone)?;
        let target = self.target;
        raft.vote(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(target, e)))
    }
}

/// Why the openraft group could not be started or written to.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A 3-voter openraft group in this process.
pub struct Group {
    nodes: Vec<Raft>,
}

impl Group {
    /// Starts `n` voters, initialises the group and waits for a leader.
    pub async fn start(n: u64) -> Result<Group, Failure> {
        let config = Config {
            snapshot_policy: SnapshotPolicy::LogsSinceLast(10_000),
            ..Config::default()
        };
        let config = Arc::new(config.validate()?);
        let router = Router::default();
        let mut nodes = Vec::new();
        for id in 1..=n {
            let raft = Raft::new(
                id,
                config.clone(),
                router.clone(),
                LogStore::default(),
                StateMachine::default(),
            )
            .await?;
            router
                .0
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, raft.clone());
            nodes.push(raft);
        }
        let members: BTreeMap<Id, BasicNode> =
            (1..=n).map(|id| (id, BasicNode::default())).collect();
        nodes[0].initialize(members).await?;
        nodes[0]
            .wait(Some(Duration::from_secs(10)))
            .metrics(|m| m.current_leader.is_some(), "a leader")
            .await?;
        Ok(Group { nodes })
    }

    /// The node that leads now, as node 1 knows.
    async fn leader(&self) -> Result<Raft, Failure> {
        let started = Instant::now();
        loop {
            let leader = self.nodes[0].current_leader().await;
            if let Some(node) = leader.and_then(|id| self.nodes.get((id - 1) as usize)) {
                return Ok(node.clone());
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err("no openraft leader for 10 s".into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// `clients` closed-loop clients write `entries` entries of
    /// `entry_size` bytes between them, each waiting for its write to be
    /// applied on the leader before the next. Returns the entries written
    /// and the time taken. Each client finds the leader once and looks
    /// again only when refused.
    pub async fn run_clients(
        &self,
        clients: usize,
        entries: u64,
        entry_size: usize,
    ) -> Result<(u64, Duration), Failure> {
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients.max(1) {
            let mut leader = self.leader().await?;
            let group = Group {
                nodes: self.nodes.clone(),
            };
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let mut written = 0u64;
                loop {
                    let ticket = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if ticket >= entries {
                        return Ok::<u64, Failure>(written);
                    }
                    let data = Bytes::from(raft_cluster::load::payload(ticket, entry_size));
                    loop {
                        match leader.client_write(data.clone()).await {
                            Ok(_) => break,
                            Err(e) if e.forward_to_leader::<BasicNode>().is_some() => {
                                leader = group.leader().await?;
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                    written += 1;
                }
            }));
        }
        let mut written = 0;
        for task in tasks {
            written += task.await??;
        }
        Ok((written, started.elapsed()))
    }

    /// Stops every node.
    pub async fn shutdown(&self) -> Result<(), Failure> {
        for node in &self.nodes {
            node.shutdown().await?;
        }
        Ok(())
    }
}
