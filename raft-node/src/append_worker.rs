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

/// At most this many staged writes share one sync, which bounds the
/// latency the first of them waits for the last.
const MAX_GROUP: usize = 1024;

/// One Ready's share of the thread's work.
pub(crate) struct AppendJob {
    /// The I/O still to do; `None` when the storage had nothing to stage
    /// (the append only carries responses for earlier writes, which must
    /// leave after those, so it still queues behind them).
    pub(crate) write: Option<Box<dyn PendingWrite>>,
    /// Whether the Ready asked for its write to be durable.
    pub(crate) sync: bool,
    /// The `MsgStorageAppend`, without its entries, to complete afterwards.
    pub(crate) append: Message,
}

/// A group of appends now durable, in the order they were staged; or the
/// failure that stops the node.
pub(crate) type Completion = Result<Vec<Message>, StorageError>;

/// The loop's end of the append thread.
pub(crate) struct AppendWorker {
    jobs: Option<mpsc::Sender<AppendJob>>,
    thread: Option<JoinHandle<()>>,
    /// Appends handed over and not yet back.
    in_flight: usize,
}

impl AppendWorker {
    /// Starts the thread for node `id`; completions arrive on the receiver.
    pub(crate) fn start(
        id: NodeId,
    ) -> Result<(AppendWorker, async_mpsc::UnboundedReceiver<Completion>), NodeError> {
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let (done_tx, done_rx) = async_mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name(format!("raft-append-{id}"))
            .spawn(move || write_in_order(id, &jobs_rx, &done_tx))
            .map_err(|e| NodeError::Task(format!("cannot start the append thread: {e}")))?;
        let worker = AppendWorker {
            jobs: Some(jobs_tx),
            thread: Some(thread),
            in_flight: 0,
        };
        Ok((worker, done_rx))
    }

    /// Whether every append handed over has come back: an append that is
    /// durable already may then complete at once instead of queueing.
    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight == 0
    }

    pub(crate) fn submit(&mut self, job: AppendJob) -> Result<(), NodeError> {
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job).is_ok());
        if sent != Some(true) {
            return Err(NodeError::Task("the append thread has stopped".to_string()));
        }
        self.in_flight += 1;
        Ok(())
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
        let mut group = vec![first];
        group.extend(jobs.try_iter().take(MAX_GROUP - 1));
        let sync = group.iter().any(|j| j.sync && j.write.is_some());
        let last_write = group.iter().rposition(|j| j.write.is_some());
        let mut appends = Vec::with_capacity(group.len());
        let mut result = Ok(());
        for (i, job) in group.into_iter().enumerate() {
            if let (Some(write), Ok(())) = (job.write, &result) {
                result = write.run(sync && Some(i) == last_write);
            }
            appends.push(job.append);
        }
        let failed = result.is_err();
        if let Err(e) = &result {
            tracing::error!(id, error = %e, "staged log write failed");
        }
        if done.send(result.map(|()| appends)).is_err() || failed {
            return;
        }
    }
}
