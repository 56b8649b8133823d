//! The simulated append thread of a node running with
//! `Config::async_storage_writes`.
//!
//! raft-core hands each Ready's write to the `append` hook of the Ready
//! loop together with its `MsgStorageAppend`, whose responses (votes,
//! append acknowledgements, the node's own `MsgStorageAppendResp`) may only
//! be delivered once the write is durable. The thread queues them; at a
//! scheduled later step a sync writes everything queued to the disk, in
//! order, as one group commit, and only then are the responses delivered
//! (`RawNode::append_done`, in the order the writes were handed out). A
//! crash before that loses the queued writes and their responses alike.

use super::ready::{SimReady, Stop};
use crate::storage::DiskHandle;
use raft_core::{Entry, LogWrite, Message, RawNode};

/// Counters of one node's append thread, for the run summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncCounts {
    /// Syncs that made at least one queued write durable.
    pub syncs: u64,
    /// Writes made durable by those syncs.
    pub writes_synced: u64,
    /// Queued writes (with their responses) a crash threw away.
    pub writes_lost: u64,
}

/// The writes handed out and not yet durable, oldest first.
#[derive(Default)]
pub(super) struct AppendThread {
    queue: Vec<(LogWrite, Message)>,
    pub(super) counts: AsyncCounts,
}

impl AppendThread {
    pub(super) fn push(&mut self, write: LogWrite, append: Message) {
        self.queue.push((write, append));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The entries of the queued writes as the log will hold them once
    /// they are durable (a later write replaces from its first index on).
    pub(super) fn pending_entries(&self) -> Vec<Entry> {
        let mut tail: Vec<Entry> = Vec::new();
        for (write, _) in &self.queue {
            if let Some(first) = write.entries.first().map(|e| e.index) {
                tail.retain(|e| e.index < first);
                tail.extend(write.entries.iter().cloned());
            }
        }
        tail
    }

    /// The process died: nothing queued ever reaches the disk, and no
    /// response of it is delivered.
    pub(super) fn crash(&mut self) {
        self.counts.writes_lost += self.queue.len() as u64;
        self.queue.clear();
    }
}

/// One sync: every queued write goes to the disk, then the responses of
/// each are delivered, in order. An armed node crashes instead, before any
/// of it is durable.
pub(super) fn sync(raw: &mut RawNode<DiskHandle>, h: &mut SimReady<'_>) -> Result<(), Stop> {
    if let Some(rng) = h.node.armed.take() {
        let installing = h
            .node
            .appends
            .queue
            .iter()
            .any(|(w, _)| w.snapshot.is_some());
        h.node.snaps.crashed_installing += u64::from(installing);
        return Err(Stop::Crash { rng, sent: 0 });
    }
    let queued = std::mem::take(&mut h.node.appends.queue);
    if queued.is_empty() {
        return Ok(());
    }
    h.node.appends.counts.syncs += 1;
    h.node.appends.counts.writes_synced += queued.len() as u64;
    let mut done = Vec::with_capacity(queued.len());
    for (write, append) in queued {
        let commit = write.hard_state.map(|hs| (hs.term, hs.commit));
        if !write.is_empty() {
            h.write(raw.store_mut(), write)?;
        }
        // A durable commit index covers durable entries only (the write's
        // entries precede its hard state).
        if let Some((term, commit)) = commit {
            h.node.commit_written = h.node.commit_written.max(commit);
            h.report_commit(term, commit)?;
        }
        done.push(append);
    }
    for append in done {
        raw.append_done(append, h)?;
    }
    Ok(())
}
