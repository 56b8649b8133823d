//! The application side of replication: applying committed entries, and
//! folding them into snapshots so the log can be compacted.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

/// What committed entries are applied to. Called from the Raft loop in log
/// order, once per committed proposal; keep it quick (hand heavy work to
/// another task), since the loop does nothing else meanwhile.
///
/// Snapshots: when the [`crate::SnapshotPolicy`] says so, the runtime calls
/// [`snapshot`](StateMachine::snapshot) on the loop, runs the returned
/// [`SnapshotJob`] off it, stores the bytes as the log's snapshot and
/// compacts the log. A follower that fell behind the compaction point, and
/// a node restarting over a compacted log, get that state back through
/// [`restore`](StateMachine::restore).
///
/// The defaults snapshot nothing and restore nothing, which suits a state
/// machine that keeps no state (or keeps it elsewhere); a closure is such a
/// state machine. A state machine with real state must implement both, or a
/// node caught up by snapshot silently misses the entries it covers.
pub trait StateMachine: Send + 'static {
    /// Applies the entry committed at `index`, with the payload the proposer
    /// gave, and returns the answer for the proposer (what a put replaced,
    /// whether a compare-and-swap swapped; empty when there is nothing to
    /// say), which [`crate::NodeHandle::propose_with_response`] resolves
    /// with on the node that proposed it.
    fn apply(&mut self, index: u64, data: &Bytes) -> Bytes;

    /// Captures the state as of the last applied entry. Runs on the Raft
    /// loop, so only the cheap part belongs here (e.g. cloning an
    /// `Arc` of a persistent map, or recording a storage checkpoint); put
    /// the serialisation in [`SnapshotJob::blocking`], which runs on tokio's
    /// blocking pool while the loop carries on.
    fn snapshot(&mut self) -> Result<SnapshotJob, SnapshotError> {
        Ok(SnapshotJob::ready(Bytes::new()))
    }

    /// Replaces the whole state with `data`, a snapshot this trait's
    /// `snapshot` produced (here or on another node), which includes every
    /// entry up to `index`. Entries after `index` are applied next.
    fn restore(&mut self, _data: &Bytes, _index: u64) -> Result<(), SnapshotError> {
        Ok(())
    }
}

/// A committed proposal as its proposer learns it: where it landed in the
/// log, and what the state machine answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// The entry's log index.
    pub index: u64,
    /// What [`StateMachine::apply`] returned for it.
    pub response: Bytes,
}

/// The serialisation half of a snapshot, returned by
/// [`StateMachine::snapshot`].
pub struct SnapshotJob {
    work: Work,
}

enum Work {
    Ready(Bytes),
    Blocking(Box<dyn FnOnce() -> Result<Bytes, SnapshotError> + Send + 'static>),
}

impl SnapshotJob {
    /// A snapshot already serialised (small states): stored at once.
    pub fn ready(data: impl Into<Bytes>) -> SnapshotJob {
        SnapshotJob {
            work: Work::Ready(data.into()),
        }
    }

    /// A snapshot serialised by `job` on tokio's blocking pool; the Raft loop
    /// keeps running meanwhile, and at most one job runs at a time.
    pub fn blocking(
        job: impl FnOnce() -> Result<Bytes, SnapshotError> + Send + 'static,
    ) -> SnapshotJob {
        SnapshotJob {
            work: Work::Blocking(Box::new(job)),
        }
    }

    /// The data if it is already there, else the work that makes it.
    pub(crate) fn into_work(
        self,
    ) -> Result<Bytes, Box<dyn FnOnce() -> Result<Bytes, SnapshotError> + Send + 'static>> {
        match self.work {
            Work::Ready(data) => Ok(data),
            Work::Blocking(job) => Err(job),
        }
    }
}

impl std::fmt::Debug for SnapshotJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.work {
            Work::Ready(data) => write!(f, "SnapshotJob::ready({} bytes)", data.len()),
            Work::Blocking(_) => f.write_str("SnapshotJob::blocking"),
        }
    }
}

/// Why a state machine could not make or restore a snapshot.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The snapshot data is not something this state machine wrote.
    #[error("snapshot data is corrupt: {0}")]
    Corrupt(String),
    /// Reading or writing the application's own files failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The blocking job panicked or was cancelled.
    #[error("snapshot job failed: {0}")]
    Job(String),
    /// Anything else the application reports.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// A state machine that only counts and remembers the last index, for
/// benchmarks and tests that care about replication, not state. Its
/// snapshot is those two numbers.
#[derive(Clone, Debug, Default)]
pub struct NullStateMachine {
    /// Entries applied so far.
    pub applied: u64,
    /// The index of the last entry applied.
    pub last_index: u64,
}

impl StateMachine for NullStateMachine {
    fn apply(&mut self, index: u64, _data: &Bytes) -> Bytes {
        self.applied += 1;
        self.last_index = index;
        Bytes::new()
    }

    fn snapshot(&mut self) -> Result<SnapshotJob, SnapshotError> {
        let mut data = BytesMut::with_capacity(16);
        data.put_u64(self.applied);
        data.put_u64(self.last_index);
        Ok(SnapshotJob::ready(data.freeze()))
    }

    fn restore(&mut self, data: &Bytes, index: u64) -> Result<(), SnapshotError> {
        if data.is_empty() {
            // A snapshot from a state machine that keeps nothing.
            *self = NullStateMachine {
                applied: 0,
                last_index: index,
            };
            return Ok(());
        }
        if data.len() != 16 {
            return Err(SnapshotError::Corrupt(format!(
                "expected 16 bytes, got {}",
                data.len()
            )));
        }
        let mut buf = &data[..];
        self.applied = buf.get_u64();
        self.last_index = buf.get_u64();
        Ok(())
    }
}

impl<F: FnMut(u64, &Bytes) + Send + 'static> StateMachine for F {
    fn apply(&mut self, index: u64, data: &Bytes) -> Bytes {
        self(index, data);
        Bytes::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_state_machine_round_trips_and_refuses_garbage() {
        let mut a = NullStateMachine::default();
        a.apply(3, &Bytes::new());
        a.apply(4, &Bytes::new());
        let Ok(data) = a.snapshot().unwrap().into_work() else {
            panic!("the null state machine serialises at once")
        };
        let mut b = NullStateMachine::default();
        b.restore(&data, 4).unwrap();
        assert_eq!((b.applied, b.last_index), (2, 4));
        assert!(matches!(
            b.restore(&Bytes::from_static(b"xyz"), 4),
            Err(SnapshotError::Corrupt(_))
        ));
    }
}
