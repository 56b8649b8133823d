//! The append thread of [`crate::StorageWrites::Background`]: it makes the
//! staged writes durable, in order, and hands their `MsgStorageAppend`s back
//! to the Raft loop, which then delivers the responses they carry.
//!
//! The loop never waits for it. Whatever was staged while the thread was
//! busy with a sync is written together next time, and synced once: group
//! commit across Readies, on top of the loop's own batching of inputs into
//! one Ready.

use crate::error::NodeError;
use crate::snapshotting::blocking_io;
use raft_core::{Message, NodeId, PendingWrite, StorageError};
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::sync::mpsc as async_mpsc;

/// One Ready's share of the thread's work.
pub(crate) struct AppendJob {
    /// The I/O still to do; `None` when the storage had nothing to stage
    /// (the append only carries responses for earlier writes, which must
    /// leave after those, so it still queues behind them).
    pub(crate) write: Option<Box<dyn PendingWrite>>,
    /// Whether the Ready asked for its write to be durable.
    pub(crate) sync: bool,
    /// Entries the write carries, for the metrics.
    pub(crate) entries: u64,
    /// The `MsgStorageAppend`, without its entries, to complete afterwards.
    pub(crate) append: Message,
}

/// Appends made durable together, in the order they were staged.
pub(crate) struct Group {
    pub(crate) appends: Vec<Message>,
    /// Whether the group ended with a sync.
    pub(crate) synced: bool,
    /// How many of its appends had a write, and their entries.
    pub(crate) writes: u64,
    pub(crate) entries: u64,
}

/// A group of appends now durable, or the failure that stops the node.
pub(crate) type Completion = Result<Group, StorageError>;

/// The loop's end of the append thread.
pub(crate) struct AppendWorker {
    jobs: Option<mpsc::SyncSender<AppendJob>>,
    thread: Option<JoinHandle<()>>,
    /// Appends handed over and not yet back.
    in_flight: usize,
    /// The most appends that may be in flight: the loop takes no Ready
    /// while this many are, which bounds what staged writes hold.
    capacity: usize,
}

impl AppendWorker {
    /// Starts the thread for node `id`, which holds at most `capacity`
    /// appends; completions arrive on the receiver.
    pub(crate) fn start(
        id: NodeId,
        capacity: usize,
    ) -> Result<(AppendWorker, async_mpsc::UnboundedReceiver<Completion>), NodeError> {
        let capacity = capacity.max(1);
        // In-flight appends include those queued, so the loop's own count
        // keeps the channel from ever being full: `submit` never waits.
        let (jobs_tx, jobs_rx) = mpsc::sync_channel(capacity);
        // Holds at most one completion per append in flight.
        let (done_tx, done_rx) = async_mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name(format!("raft-append-{id}"))
            .spawn(move || write_in_order(id, &jobs_rx, &done_tx))
            .map_err(|e| NodeError::Task(format!("cannot start the append thread: {e}")))?;
        let worker = AppendWorker {
            jobs: Some(jobs_tx),
            thread: Some(thread),
            in_flight: 0,
            capacity,
        };
        Ok((worker, done_rx))
    }

    /// Whether every append handed over has come back: an append that is
    /// durable already may then complete at once instead of queueing.
    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight == 0
    }

    /// Whether another append may be handed over now.
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight < self.capacity
    }

    /// Appends handed over and not yet back.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub(crate) fn submit(&mut self, job: AppendJob) -> Result<(), NodeError> {
        let Some(jobs) = &self.jobs else {
            return Err(NodeError::Task("the append thread has stopped".to_string()));
        };
        match jobs.try_send(job) {
            Ok(()) => {
                self.in_flight += 1;
                Ok(())
            }
            Err(mpsc::TrySendError::Full(_)) => Err(NodeError::Task(format!(
                "the append queue is full ({} appends in flight)",
                self.in_flight
            ))),
            Err(mpsc::TrySendError::Disconnected(_)) => {
                Err(NodeError::Task("the append thread has stopped".to_string()))
            }
        }
    }

    /// `count` appends came back.
    pub(crate) fn completed(&mut self, count: usize) {
        self.in_flight = self.in_flight.saturating_sub(count);
    }

    /// Lets the thread finish what it holds and waits for it, so that the
    /// storage is released (a restart may reopen it) when the node's loop
    /// ends. Completions not taken by then are dropped: their responses
    /// never left, so nothing was vouched for.
    pub(crate) fn stop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            if blocking_io(|| thread.join()).is_err() {
                tracing::error!("the append thread panicked");
            }
        }
    }
}

impl Drop for AppendWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread: takes whatever jobs are waiting, writes them in order with
/// one sync at the end, reports them done; stops at the first failure or
/// when the loop is gone.
fn write_in_order(
    id: NodeId,
    jobs: &mpsc::Receiver<AppendJob>,
    done: &async_mpsc::UnboundedSender<Completion>,
) {
    while let Ok(first) = jobs.recv() {
        // The channel holds at most the loop's capacity, which bounds the
        // group and so the latency the first write waits for the last.
        let mut group = vec![first];
        group.extend(jobs.try_iter());
        let sync = group.iter().any(|j| j.sync && j.write.is_some());
        let last_write = group.iter().rposition(|j| j.write.is_some());
        let mut done_group = Group {
            appends: Vec::with_capacity(group.len()),
            synced: sync,
            writes: 0,
            entries: 0,
        };
        let mut result = Ok(());
        for (i, job) in group.into_iter().enumerate() {
            if let (Some(write), Ok(())) = (job.write, &result) {
                result = write.run(sync && Some(i) == last_write);
                done_group.writes += 1;
                done_group.entries += job.entries;
            }
            done_group.appends.push(job.append);
        }
        let failed = result.is_err();
        if let Err(e) = &result {
            tracing::error!(id, error = %e, "staged log write failed");
        }
        if done.send(result.map(|()| done_group)).is_err() || failed {
            return;
        }
    }
}
