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
    /// entries.
    pub fn new(raft: raft_core::Config) -> NodeConfig {
        NodeConfig {
            raft,
            tick_interval: Duration::from_millis(100),
            proposal_timeout_ticks: 30,
            proposal_queue: 4096,
            max_inputs_per_ready: 4096,
            snapshot: SnapshotPolicy::default(),
        }
    }

    /// Checks the runtime's settings and the Raft configuration inside.
    pub fn validate(&self) -> Result<(), NodeConfigError> {
        self.raft.validate()?;
        if self.tick_interval.is_zero() {
            return Err(NodeConfigError::ZeroTick);
        }
        if self.proposal_timeout_ticks == 0 {
            return Err(NodeConfigError::ZeroProposalTimeout);
        }
        if self.proposal_queue == 0 || self.max_inputs_per_ready == 0 {
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
    /// `proposal_queue` or `max_inputs_per_ready` is zero.
    #[error("queue sizes must be greater than zero")]
    ZeroQueue,
    /// A snapshot threshold is zero (a snapshot after every nothing); use
    /// `None` to turn a threshold off.
    #[error("snapshot thresholds must be greater than zero (None turns one off)")]
    ZeroSnapshotInterval,
}
