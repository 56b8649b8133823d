//! What a run is given ([`SimOptions`]) and what it gives back
//! ([`Outcome`], [`RunStats`]).

use crate::backend::SimStorage;
use crate::checker::Violation;
use crate::kv::KvSummary;
use crate::network::NetStats;
use crate::schedule::Profile;
#[cfg(feature = "fault-injection")]
use crate::state_machine::SimFault;
use raft_core::Config;
use thiserror::Error;

/// How a run is sized and what it runs on.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Cluster size; `None` lets each seed pick 3 or 5.
    pub nodes: Option<usize>,
    /// What the simulated disks sit on (memory by default).
    pub storage: SimStorage,
    /// Length of the fault phase, in ticks.
    pub fault_ticks: u64,
    /// Ticks after healing within which a stable leader must exist.
    pub elect_bound: u64,
    /// Ticks after stability within which new proposals must be applied
    /// everywhere.
    pub converge_bound: u64,
    /// Proposals made in the liveness phase, each of which must be applied everywhere.
    pub live_proposals: usize,
    /// Applied to every node's configuration (tests use it to inject
    /// raft-core faults).
    pub config_hook: Option<fn(&mut Config)>,
    /// Record a human-readable event log.
    pub trace: bool,
    /// End the run quietly at this simulated time ([`TICK`] units a tick), with
    /// no liveness phase: the shrinker uses it to give up early on
    /// candidates that no longer fail where the original did.
    ///
    /// [`TICK`]: crate::TICK
    pub stop_at: Option<u64>,
    /// Every node snapshots its state and compacts its log every this many
    /// applied entries; `None` lets each seed draw it
    /// ([`Profile::snapshot_every`]), `Some(0)` turns compaction off.
    pub snapshot_every: Option<u64>,
    /// Schedule linearizable reads, leader transfers, membership changes
    /// (demotions, promotions, joint configurations) and key-value clients'
    /// requests besides proposals.
    pub client_ops: bool,
    /// Breaks one of the simulator's own rules on purpose, to prove the
    /// checker catches it.
    #[cfg(feature = "fault-injection")]
    pub sim_fault: Option<SimFault>,
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            nodes: None,
            storage: SimStorage::memory(),
            fault_ticks: 3000,
            elect_bound: 150,
            converge_bound: 300,
            live_proposals: 3,
            config_hook: None,
            trace: false,
            stop_at: None,
            snapshot_every: None,
            client_ops: true,
            #[cfg(feature = "fault-injection")]
            sim_fault: None,
        }
    }
}

/// Why a run could not even start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SimError {
    /// `StorageKind::Rocks` in a build without the `rocks` feature.
    #[error("this build has no RocksDB support (build raft-sim with --features rocks)")]
    RocksUnavailable,
    /// A backend could not be created.
    #[error("could not set up storage: {0}")]
    Setup(String),
}

/// What the run did, for the summary line.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunStats {
    /// Ticks simulated.
    pub ticks: u64,
    /// The network's counters.
    pub net: NetStats,
    /// Leaders elected.
    pub leaders_elected: u64,
    /// Entries committed.
    pub committed: u64,
    /// Client proposals acknowledged as committed.
    pub acked: usize,
    /// Proposals raft-core accepted.
    pub proposals_accepted: u64,
    /// Proposals refused (no leader, or dropped).
    pub proposals_refused: u64,
    /// Node crashes.
    pub crashes: u64,
    /// Of `crashes`, those inside a write after some of that Ready's
    /// messages had left.
    pub crashes_after_sends: u64,
    /// Unsynced writes a crash threw away.
    pub unsynced_writes_lost: u64,
    /// Snapshots nodes took of their own state, each followed by a
    /// compaction of their log.
    pub snapshots_created: u64,
    /// `MsgSnap` messages leaders sent.
    pub snapshots_sent: u64,
    /// Snapshots followers received and restored.
    pub snapshots_installed: u64,
    /// Snapshot sends reported to the leader as failed (dropped, cut, or
    /// the follower was down).
    pub snapshot_failures: u64,
    /// Restarts that restored the state machine from a snapshot on disk.
    pub restored_at_boot: u64,
    /// Crashes inside the write installing a received snapshot.
    pub crashes_installing: u64,
    /// Linearizable reads asked for.
    pub reads_asked: u64,
    /// Reads served (their read index applied) and checked.
    pub reads_served: u64,
    /// Leader transfers asked of a leader.
    pub transfers_asked: u64,
    /// Transfers that made the transferee leader.
    pub transfers_done: u64,
    /// Membership changes a leader accepted.
    pub conf_changes_proposed: u64,
    /// Membership changes applied by some node (each counted once).
    pub conf_changes_applied: u64,
    /// Of those, the ones that entered a joint configuration.
    pub joint_entered: u64,
    /// The key-value clients' history and its check.
    pub kv: KvSummary,
    /// Spare nodes started (empty, in no configuration) to be added.
    pub spares_started: u64,
    /// Spares that caught up with their own addition (they hold a
    /// configuration that includes them).
    pub joins: u64,
    /// Of those, the ones that got there by installing a snapshot.
    pub joins_by_snapshot: u64,
    /// Members removed, whose process then stopped for good.
    pub removals: u64,
    /// Nodes started with async storage writes (spares included).
    pub async_nodes: u64,
    /// Syncs of their append threads that made queued writes durable.
    pub syncs: u64,
    /// Writes those syncs made durable (more than `syncs`: group commit).
    pub writes_synced: u64,
    /// Writes queued on an append thread and lost in a crash, with their
    /// responses.
    pub async_writes_lost: u64,
}

/// The result of one seed.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The seed that decided the run.
    pub seed: u64,
    /// The cluster configuration it drew.
    pub profile: Profile,
    /// The first property broken, if any.
    pub violation: Option<Violation>,
    /// What the run did.
    pub stats: RunStats,
    /// The event log, when `SimOptions::trace` was set.
    pub trace: Vec<String>,
}
