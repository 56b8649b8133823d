//! The snapshot policy at work: when to fold the applied state into a
//! snapshot, making it off the Raft loop, storing it and compacting the log;
//! and putting a snapshot back into the state machine.

use crate::config::SnapshotPolicy;
use crate::driver::Driver;
use crate::error::NodeError;
use crate::metrics::SnapshotMetrics;
use crate::state_machine::{SnapshotError, StateMachine};
use bytes::Bytes;
use raft_core::{ConfState, LogStorage, StorageError};
use tokio::task::JoinHandle;

/// The driver's bookkeeping of what the state machine holds.
#[derive(Debug)]
pub(crate) struct Snapshots {
    policy: SnapshotPolicy,
    /// The last index whose effect the state machine holds (an entry applied,
    /// or a snapshot restored).
    pub(crate) applied: u64,
    /// The index of the newest snapshot made or installed (or of the last
    /// attempt), from which the policy counts.
    base: u64,
    /// Payload bytes applied since `base`.
    bytes_since: u64,
    /// A snapshot is wanted now, whatever the policy says: a member was
    /// added, and it can only join from a snapshot that names it.
    forced: bool,
    /// The next snapshot compacts the whole log, keeping no catch-up
    /// entries: a member is about to be added while the log still starts
    /// at index 1.
    compact_all: bool,
    /// A snapshot made but not stored yet: the append thread still holds
    /// writes staged before it (see [`Driver::store_snapshot`]).
    unstored: Option<(u64, ConfState, Bytes)>,
    pub(crate) metrics: SnapshotMetrics,
}

/// A snapshot being serialised on the blocking pool.
pub(crate) struct InFlight {
    index: u64,
    /// The membership as of `index`, stored with the snapshot.
    conf_state: ConfState,
    handle: JoinHandle<Result<Bytes, SnapshotError>>,
}

impl Snapshots {
    pub(crate) fn new(policy: SnapshotPolicy, applied: u64, stored: u64) -> Snapshots {
        Snapshots {
            policy,
            applied,
            base: stored.min(applied),
            bytes_since: 0,
            forced: false,
            compact_all: false,
            unstored: None,
            metrics: SnapshotMetrics {
                last_index: stored,
                ..SnapshotMetrics::default()
            },
        }
    }

    /// Records an entry the state machine was given (or skipped, for the
    /// leader's empty entries: they still move the applied index).
    pub(crate) fn entry_applied(&mut self, index: u64, bytes: usize) {
        self.applied = index;
        self.bytes_since += bytes as u64;
    }

    /// Records that the state machine now holds the snapshot at `index`,
    /// which the log was also cut at.
    pub(crate) fn restored(&mut self, index: u64) {
        self.applied = index;
        self.base = index;
        self.bytes_since = 0;
        self.metrics.restored += 1;
        self.metrics.last_index = index;
        self.metrics.compacted_to = index;
    }

    /// Asks for a snapshot as soon as the loop can make one.
    ///
    /// A member joins with an empty log, so it needs a snapshot whose
    /// configuration includes it: one made before it was added is refused
    /// by raft (the node is not in it), and the group's bootstrap
    /// configuration, kept in storage rather than in log entries, cannot be
    /// replayed from the log.
    pub(crate) fn force(&mut self) {
        self.forced = true;
    }

    /// Asks for a snapshot now, after which the log is compacted up to it.
    pub(crate) fn force_full_compaction(&mut self) {
        self.forced = true;
        self.compact_all = true;
    }

    /// Whether a snapshot waits for the append thread: until it is
    /// stored the loop makes no Ready, so that the thread runs dry.
    pub(crate) fn holds_one(&self) -> bool {
        self.unstored.is_some()
    }

    fn is_due(&self) -> bool {
        (self.forced && self.applied > self.metrics.last_index)
            || self
                .policy
                .is_due(self.applied - self.base, self.bytes_since)
    }
}

/// Waits for the snapshot in flight, if any (never resolves otherwise, so
/// that it can sit in a `select!` branch).
pub(crate) async fn finished(
    job: &mut Option<InFlight>,
) -> (u64, ConfState, Result<Bytes, SnapshotError>) {
    match job {
        Some(job) => {
            let result = match (&mut job.handle).await {
                Ok(result) => result,
                Err(e) => Err(SnapshotError::Job(e.to_string())),
            };
            (job.index, std::mem::take(&mut job.conf_state), result)
        }
        None => std::future::pending().await,
    }
}

/// Runs storage work that may fsync on the loop's thread, telling a
/// multi-threaded runtime so that it moves this worker's other tasks away.
pub(crate) fn blocking_io<R>(io: impl FnOnce() -> R) -> R {
    let multi_thread = tokio::runtime::Handle::try_current()
        .map(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
        .unwrap_or(false);
    if multi_thread {
        tokio::task::block_in_place(io)
    } else {
        io()
    }
}

impl<S, M> Driver<S, M>
where
    S: LogStorage + Send + 'static,
    M: StateMachine,
{
    /// Starts a snapshot if the policy calls for one and none is in flight.
    /// A state machine that serialises at once is stored right away;
    /// otherwise the job goes to the blocking pool and `job` tracks it.
    pub(crate) fn maybe_snapshot(&mut self, job: &mut Option<InFlight>) -> Result<(), NodeError> {
        if job.is_some() || self.snapshots.holds_one() || !self.snapshots.is_due() {
            return Ok(());
        }
        let index = self.snapshots.applied;
        // raft-core has applied every membership change up to `index` by
        // now, so this is the configuration the snapshot must restore.
        let conf_state = self.membership.conf_state().clone();
        // Counting restarts now whatever happens, so that a state machine
        // that fails to snapshot is asked again one interval later, not on
        // every Ready.
        self.snapshots.base = index;
        self.snapshots.bytes_since = 0;
        self.snapshots.forced = false;
        let work = match self.state_machine.snapshot() {
            Ok(work) => work,
            Err(e) => {
                self.snapshot_failed(index, &e);
                return Ok(());
            }
        };
        match work.into_work() {
            Ok(data) => self.store_snapshot(index, conf_state, data),
            Err(serialise) => {
                tracing::debug!(id = self.raw.id(), index, "serialising a snapshot");
                let handle = tokio::task::spawn_blocking(serialise);
                *job = Some(InFlight {
                    index,
                    conf_state,
                    handle,
                });
                Ok(())
            }
        }
    }

    /// Takes the outcome of a snapshot job.
    pub(crate) fn snapshot_done(
        &mut self,
        index: u64,
        conf_state: ConfState,
        result: Result<Bytes, SnapshotError>,
    ) -> Result<(), NodeError> {
        match result {
            Ok(data) => self.store_snapshot(index, conf_state, data)?,
            Err(e) => self.snapshot_failed(index, &e),
        }
        self.publish_metrics();
        Ok(())
    }

    /// A log that keeps no snapshots (or never compacts) will not start to:
    /// the policy is switched off for this node, once, loudly.
    fn storage_cannot(&mut self, what: &str) {
        tracing::warn!(
            id = self.raw.id(),
            what,
            "the log storage does not support {what}; snapshot policy turned off for this node"
        );
        self.snapshots.policy = SnapshotPolicy::disabled();
        self.snapshots.compact_all = false;
        self.fail_awaiting_compaction(&format!("the log storage does not support {what}"));
    }

    fn snapshot_failed(&mut self, index: u64, error: &SnapshotError) {
        self.snapshots.metrics.failed += 1;
        if self.snapshots.compact_all {
            self.snapshots.compact_all = false;
            self.fail_awaiting_compaction(&error.to_string());
        }
        tracing::warn!(id = self.raw.id(), index, %error, "state machine snapshot failed; will retry after the next interval");
    }

    /// Stores `data` as the snapshot at `index` once the append thread has
    /// written every write staged so far, and holds it until then.
    ///
    /// Why: the hard state that commits `index` travels in a staged write,
    /// which may still be queued when the state machine has applied
    /// `index`. The snapshot (and the compaction after it) is stored
    /// durably at once; were it to reach the disk before that hard state,
    /// a crash would leave a commit index behind the log's first index, and
    /// raft-core refuses to start on such a log, as etcd does. Once the
    /// thread has run dry the hard state is written, and the snapshot's own
    /// synced write makes it durable with it.
    fn store_snapshot(
        &mut self,
        index: u64,
        conf_state: ConfState,
        data: Bytes,
    ) -> Result<(), NodeError> {
        if self.writes_outstanding() {
            tracing::debug!(
                id = self.raw.id(),
                index,
                "snapshot held until the staged writes before it are written"
            );
            self.snapshots.unstored = Some((index, conf_state, data));
            return Ok(());
        }
        self.write_snapshot(index, conf_state, data)
    }

    /// Stores the held snapshot if the append thread has run dry.
    pub(crate) fn store_held_snapshot(&mut self) -> Result<(), NodeError> {
        if self.writes_outstanding() {
            return Ok(());
        }
        match self.snapshots.unstored.take() {
            Some((index, conf_state, data)) => self.write_snapshot(index, conf_state, data),
            None => Ok(()),
        }
    }

    /// Writes the snapshot, then compacts the log up to the catch-up
    /// margin before it. A snapshot overtaken meanwhile by a newer one (a
    /// leader's, installed while this one was serialised) is dropped; any
    /// other storage failure stops the node, as a failed write does.
    fn write_snapshot(
        &mut self,
        index: u64,
        conf_state: ConfState,
        data: Bytes,
    ) -> Result<(), NodeError> {
        let id = self.raw.id();
        let size = data.len();
        let store = self.raw.store_mut();
        match blocking_io(|| store.create_snapshot(index, Some(conf_state), data)) {
            Ok(_) => {}
            Err(StorageError::SnapshotOutOfDate | StorageError::Compacted) => {
                tracing::debug!(id, index, "snapshot overtaken by a newer one; dropped");
                // The newer snapshot moved the log past index 1 as well.
                if std::mem::take(&mut self.snapshots.compact_all) {
                    self.resume_awaiting_compaction();
                }
                return Ok(());
            }
            Err(StorageError::Unsupported(what)) => {
                self.storage_cannot(what);
                return Ok(());
            }
            Err(e) => return Err(raft_core::Error::from(e).into()),
        }
        self.snapshots.metrics.made += 1;
        self.snapshots.metrics.last_index = index;
        let keep = if self.snapshots.compact_all {
            0
        } else {
            self.snapshots.policy.catch_up_entries
        };
        let compacted_to = self.compact_to(index.saturating_sub(keep))?;
        tracing::info!(
            id,
            index,
            bytes = size,
            compacted_to,
            "snapshot stored, log compacted"
        );
        if std::mem::take(&mut self.snapshots.compact_all) {
            self.resume_awaiting_compaction();
        }
        self.publish_metrics();
        Ok(())
    }

    /// Compacts the log up to `target` (covered by a stored snapshot), if
    /// it still holds entries there; returns the index it is compacted to.
    pub(crate) fn compact_to(&mut self, target: u64) -> Result<u64, NodeError> {
        let store = self.raw.store_mut();
        let first = store.first_index().map_err(raft_core::Error::from)?;
        if target >= first {
            match blocking_io(|| store.compact(target)) {
                Ok(()) => {}
                Err(StorageError::Compacted) => {}
                Err(StorageError::Unsupported(what)) => {
                    self.storage_cannot(what);
                    return Ok(first.saturating_sub(1));
                }
                Err(e) => return Err(raft_core::Error::from(e).into()),
            }
        }
        let store = self.raw.store_mut();
        let first = store.first_index().map_err(raft_core::Error::from)?;
        self.snapshots.metrics.compacted_to = first.saturating_sub(1);
        Ok(first.saturating_sub(1))
    }
}
