//! Runtime settings around raft-core's own [`raft_core::Config`].

use std::time::Duration;
use thiserror::Error;

/// How the runtime drives a node.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NodeConfig {
    /// The protocol settings (id, ticks, limits, pre-vote, ...).
    pub raft: raft_core::Config,
    /// Wall-clock length of one Raft tick. With the default 10 election
    /// ticks, 100 ms gives elections after 1–2 s of silence, as etcd does.
    pub tick_interval: Duration,
    /// A proposal not committed within this many ticks fails with
    /// [`crate::ProposeError::Dropped`] (it may still commit later: Raft
    /// gives no negative answer, so the runtime gives up waiting).
    pub proposal_timeout_ticks: u64,
    /// Queue of proposals waiting for the Raft loop.
    pub proposal_queue: usize,
    /// Upper bound on inputs (proposals, messages) taken in before the loop
    /// produces a Ready, which bounds the latency a large burst adds.
    pub max_inputs_per_ready: usize,
    /// When to snapshot the state machine and compact the log.
    pub snapshot: SnapshotPolicy,
    /// How the leader confirms a linearizable read; decides
    /// `raft.read_only_option` when the node starts.
    pub read_mode: ReadMode,
    /// A read not confirmed and applied within this many ticks fails with
    /// [`crate::ReadError::Timeout`] rather than risk a stale answer.
    pub read_timeout_ticks: u64,
    /// How a Ready's log writes are made; decides
    /// `raft.async_storage_writes` when the node starts.
    pub storage_writes: StorageWrites,
    /// With the append thread ([`StorageWrites::Background`]): the most
    /// Readies whose writes it may hold, staged and not yet durable. When
    /// it holds this many, the loop takes no input and makes no Ready
    /// until one comes back, so a slow disk slows the node rather than
    /// filling memory. One sync covers up to this many Readies.
    pub append_queue: usize,
}

/// How the Raft loop gets each Ready's entries and hard state to the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageWrites {
    /// `Background` for a storage that stages its writes
    /// ([`raft_core::WriteKind::Staged`], e.g. RocksDB), `Inline` for any
    /// other.
    Auto,
    /// The loop writes each Ready itself and waits for it: inline for an
    /// in-memory log, through tokio's `block_in_place` for one that blocks.
    /// Responses leave and the Ready is advanced once the write returns.
    ///
    /// The default, because it is the faster mode as measured so far:
    /// `Background` reached 0.72-0.77x of its entries/s on RocksDB + QUIC
    /// with 256 proposers (README, "Storage writes off the loop").
    #[default]
    Inline,
    /// raft-core's async storage writes: the loop stages each Ready's
    /// write and carries on; an append thread runs the staged writes in
    /// order, syncing once for all it has at hand (group commit), and
    /// hands them back; only then do their responses (votes, append
    /// acknowledgements, the leader's own included) leave or get stepped.
    /// A storage that does not stage is written inline, as by `Inline`.
    Background,
}

/// How [`crate::NodeHandle::read_index`] is confirmed by the leader.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadMode {
    /// Each batch of reads costs the leader one heartbeat round that a
    /// quorum acknowledges (raft's `ReadOnlySafe`): correct whatever the
    /// clocks do.
    #[default]
    Safe,
    /// The leader answers from its CheckQuorum lease without a round trip
    /// (raft's `ReadOnlyLeaseBased`): faster, but a leader whose clock runs
    /// slow enough may serve a stale read after being deposed. Requires
    /// `raft.check_quorum`.
    Lease,
}

impl ReadMode {
    /// The raft-core option this mode maps to.
    pub fn raft_option(self) -> raft_core::ReadOnlyOption {
        match self {
            ReadMode::Safe => raft_core::ReadOnlyOption::Safe,
            ReadMode::Lease => raft_core::ReadOnlyOption::LeaseBased,
        }
    }
}

/// When the runtime snapshots the state machine and compacts the log.
///
/// A snapshot is taken once either threshold is reached since the last one
/// (only one is made at a time); the log is then compacted up to
/// `catch_up_entries` before the snapshot, so that a follower slightly
/// behind still catches up from the log rather than by a whole snapshot
/// (etcd's server does the same with `SnapshotCatchUpEntries`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotPolicy {
    /// Snapshot after this many log entries were applied; `None`: never by count.
    pub every_entries: Option<u64>,
    /// Snapshot after this many bytes of entry data were applied (as the
    /// log stores them, the runtime's 17-byte proposal header included);
    /// `None`: never by size.
    pub every_bytes: Option<u64>,
    /// Entries kept in the log behind each snapshot.
    pub catch_up_entries: u64,
}

impl SnapshotPolicy {
    /// etcd's server defaults: every 10,000 entries, keeping 5,000 behind.
    pub const DEFAULT_ENTRIES: u64 = 10_000;
    /// Entries kept behind a snapshot by default.
    pub const DEFAULT_CATCH_UP: u64 = 5_000;

    /// A snapshot every `entries` applied entries, keeping the default
    /// catch-up entries (fewer if `entries` is smaller).
    pub fn every_entries(entries: u64) -> SnapshotPolicy {
        SnapshotPolicy {
            every_entries: Some(entries),
            every_bytes: None,
            catch_up_entries: Self::DEFAULT_CATCH_UP.min(entries / 2),
        }
    }

    /// Never snapshot: the log grows without bound.
    pub fn disabled() -> SnapshotPolicy {
        SnapshotPolicy {
            every_entries: None,
            every_bytes: None,
            catch_up_entries: 0,
        }
    }

    /// Whether any threshold is set.
    pub fn is_enabled(&self) -> bool {
        self.every_entries.is_some() || self.every_bytes.is_some()
    }

    /// Whether `entries` entries carrying `bytes` bytes applied since the
    /// last snapshot call for a new one.
    pub fn is_due(&self, entries: u64, bytes: u64) -> bool {
        self.every_entries.is_some_and(|n| entries >= n)
            || self.every_bytes.is_some_and(|n| bytes >= n)
    }

    fn validate(&self) -> Result<(), NodeConfigError> {
        if self.every_entries == Some(0) || self.every_bytes == Some(0) {
            return Err(NodeConfigError::ZeroSnapshotInterval);
        }
        Ok(())
    }
}

impl Default for SnapshotPolicy {
    fn default() -> SnapshotPolicy {
        SnapshotPolicy::every_entries(Self::DEFAULT_ENTRIES)
    }
}

impl NodeConfig {
    /// The runtime's defaults around `raft`: 100 ms ticks, proposals dropped
    /// after 30 ticks uncommitted, queues of 4096, a snapshot every 10,000
    /// entries, Safe reads failing after 30 ticks, storage writes inline
    /// ([`StorageWrites::Inline`]), at most 256 Readies queued to an append
    /// thread.
    pub fn new(raft: raft_core::Config) -> NodeConfig {
        NodeConfig {
            raft,
            tick_interval: Duration::from_millis(100),
            proposal_timeout_ticks: 30,
            proposal_queue: 4096,
            max_inputs_per_ready: 4096,
            snapshot: SnapshotPolicy::default(),
            read_mode: ReadMode::Safe,
            read_timeout_ticks: 30,
            storage_writes: StorageWrites::default(),
            append_queue: 256,
        }
    }

    /// Checks the runtime's settings and the Raft configuration inside.
    pub fn validate(&self) -> Result<(), NodeConfigError> {
        if self.read_mode == ReadMode::Lease && !self.raft.check_quorum {
            return Err(NodeConfigError::LeaseReadsNeedCheckQuorum);
        }
        if self.read_mode == ReadMode::Safe
            && self.raft.read_only_option != raft_core::ReadOnlyOption::Safe
        {
            return Err(NodeConfigError::ReadModeConflict);
        }
        self.raft.validate()?;
        if self.read_timeout_ticks == 0 {
            return Err(NodeConfigError::ZeroReadTimeout);
        }
        if self.tick_interval.is_zero() {
            return Err(NodeConfigError::ZeroTick);
        }
        if self.proposal_timeout_ticks == 0 {
            return Err(NodeConfigError::ZeroProposalTimeout);
        }
        if self.proposal_queue == 0 || self.max_inputs_per_ready == 0 || self.append_queue == 0 {
            return Err(NodeConfigError::ZeroQueue);
        }
        self.snapshot.validate()
    }
}

/// Why a [`NodeConfig`] was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeConfigError {
    /// The Raft configuration was refused.
    #[error(transparent)]
    Raft(#[from] raft_core::ConfigError),
    /// `tick_interval` is zero.
    #[error("tick interval must be greater than zero")]
    ZeroTick,
    /// `proposal_timeout_ticks` is zero: every proposal would time out at once.
    #[error("proposal timeout must be at least one tick")]
    ZeroProposalTimeout,
    /// `proposal_queue`, `max_inputs_per_ready` or `append_queue` is zero.
    #[error("queue sizes must be greater than zero")]
    ZeroQueue,
    /// A snapshot threshold is zero (a snapshot after every nothing); use
    /// `None` to turn a threshold off.
    #[error("snapshot thresholds must be greater than zero (None turns one off)")]
    ZeroSnapshotInterval,
    /// `read_mode` is `Lease` but `raft.check_quorum` is off: without it a
    /// deposed leader never learns it lost its lease.
    #[error("lease reads require raft.check_quorum")]
    LeaseReadsNeedCheckQuorum,
    /// `raft.read_only_option` was set directly to something `read_mode`
    /// (which decides it) does not say; set `read_mode` instead.
    #[error("raft.read_only_option disagrees with read_mode; set read_mode instead")]
    ReadModeConflict,
    /// `read_timeout_ticks` is zero: every read would time out at once.
    #[error("read timeout must be at least one tick")]
    ZeroReadTimeout,
}
