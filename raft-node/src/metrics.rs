//! What a running node reports about itself.

use raft_core::{NodeId, Role};

/// A snapshot of a node's state, refreshed after every Ready.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// The node's id.
    pub id: NodeId,
    /// Its current role.
    pub role: Role,
    /// Its current term.
    pub term: u64,
    /// The leader this node knows of, if any.
    pub leader: Option<NodeId>,
    /// The highest index known to be committed.
    pub commit: u64,
    /// The highest index applied to the state machine.
    pub applied: u64,
    /// Each peer's highest known matching index; only a leader tracks them.
    pub peer_match: Vec<(NodeId, u64)>,
    /// Readies handled so far (each one write and at most one fsync).
    pub readies: u64,
    /// Proposals waiting to commit.
    pub pending_proposals: usize,
    /// Linearizable reads waiting for confirmation or for the state
    /// machine to catch up.
    pub pending_reads: usize,
    /// ReadIndex rounds issued so far; each answers every read that was
    /// queued when it left.
    pub read_rounds: u64,
    /// Snapshot counters and positions.
    pub snapshots: SnapshotMetrics,
    /// How the log's writes were made durable.
    pub writes: WriteMetrics,
}

/// How a node's log writes were made durable since it started: how many
/// Readies and entries each sync covered (group commit).
///
/// The loop writing inline syncs once per Ready that asks for it; the
/// append thread of [`crate::StorageWrites::Background`] syncs once for
/// every write queued to it meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteMetrics {
    /// Readies whose log changes were written.
    pub writes: u64,
    /// Entries those writes carried.
    pub entries: u64,
    /// Syncs (fsyncs, for a log on disk) that made them durable.
    pub syncs: u64,
    /// Readies handed to the append thread and not yet durable.
    pub queued: usize,
    /// Times the append thread's queue filled up, so that the loop stopped
    /// taking Readies and inputs until a write came back.
    pub backpressure: u64,
}

impl WriteMetrics {
    /// Readies per sync: above 1 when syncs covered several Readies.
    pub fn readies_per_sync(&self) -> f64 {
        ratio(self.writes, self.syncs)
    }

    /// Entries per sync.
    pub fn entries_per_sync(&self) -> f64 {
        ratio(self.entries, self.syncs)
    }
}

fn ratio(n: u64, syncs: u64) -> f64 {
    match syncs {
        0 => 0.0,
        _ => n as f64 / syncs as f64,
    }
}

/// What a node did with snapshots since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotMetrics {
    /// Snapshots of the local state machine stored by the policy.
    pub made: u64,
    /// Snapshots the state machine failed to make (tried again later).
    pub failed: u64,
    /// `MsgSnap`s sent to followers that the log could not serve.
    pub sent: u64,
    /// `MsgSnap`s received from a leader.
    pub received: u64,
    /// Times the state machine was replaced by a snapshot: from a leader,
    /// or at start from the stored one.
    pub restored: u64,
    /// The index of the latest snapshot in the log's storage (0: none).
    pub last_index: u64,
    /// The index the log was compacted to (its first index minus one).
    pub compacted_to: u64,
}
