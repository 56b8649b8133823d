//! The runtime's side of each Ready: sending, writing (inline, or staged
//! for the append thread), restoring and applying.

use crate::append_worker::{AppendJob, AppendWorker};
use crate::envelope;
use crate::error::{NodeError, ProposeError};
use crate::membership::{self, MembershipState};
use crate::metrics::WriteMetrics;
use crate::proposals::Proposals;
use crate::snapshotting::{blocking_io, Snapshots};
use crate::state_machine::{Applied, StateMachine};
use raft_core::{
    ConfState, Entry, LogStorage, LogWrite, Message, MessageType, NodeId, ReadState, Ready,
    ReadyHandler, Snapshot, Staged, Transport, WriteKind,
};

/// The driver's side of a Ready: the transport, the state machine and the
/// proposals waiting for their entries to apply.
pub(crate) struct ReadyIo<'a, T, M> {
    pub(crate) me: NodeId,
    pub(crate) transport: &'a mut T,
    pub(crate) state_machine: &'a mut M,
    pub(crate) proposals: &'a mut Proposals,
    pub(crate) snapshots: &'a mut Snapshots,
    /// The confirmed reads the Readies carried, settled after them.
    pub(crate) read_states: Vec<ReadState>,
    pub(crate) membership: &'a mut MembershipState,
    /// The append thread, in the background mode with a staging storage.
    pub(crate) worker: Option<&'a mut AppendWorker>,
    pub(crate) writes: &'a mut WriteMetrics,
}

impl<S, T, M> ReadyHandler<S> for ReadyIo<'_, T, M>
where
    S: LogStorage,
    T: Transport,
    M: StateMachine,
{
    type Error = NodeError;

    fn observe(&mut self, ready: &Ready) -> Result<(), NodeError> {
        self.read_states.extend(ready.read_states.iter().cloned());
        Ok(())
    }

    fn send(&mut self, messages: Vec<Message>) {
        let snaps = messages
            .iter()
            .filter(|m| m.msg_type == MessageType::MsgSnap)
            .count();
        self.snapshots.metrics.sent += snaps as u64;
        self.transport.send(messages);
    }

    /// An in-memory log is written right here. A write that blocks (an
    /// fsync can take milliseconds) runs on the loop's own thread: on a
    /// multi-threaded runtime, `block_in_place` tells tokio so, and it
    /// moves this worker's other tasks to another worker meanwhile.
    fn persist(&mut self, store: &mut S, write: LogWrite) -> Result<(), NodeError> {
        self.writes.writes += 1;
        self.writes.entries += write.entries.len() as u64;
        self.writes.syncs += u64::from(write.sync);
        let written = match store.write_kind() {
            WriteKind::Memory => store.write(write),
            _ => blocking_io(|| store.write(write)),
        };
        Ok(written.map_err(raft_core::Error::from)?)
    }

    /// Stages the write and hands its I/O to the append thread; the
    /// responses wait with it. Without an append thread the write is made
    /// here, as `persist` does.
    fn append(
        &mut self,
        store: &mut S,
        write: LogWrite,
        append: Message,
    ) -> Result<Option<Message>, NodeError> {
        if self.worker.is_none() {
            if !write.is_empty() {
                self.persist(store, write)?;
            }
            return Ok(Some(append));
        }
        let (sync, entries) = (write.sync, write.entries.len() as u64);
        let staged = match write.is_empty() {
            true => Staged::Done,
            false => store.stage_write(write).map_err(raft_core::Error::from)?,
        };
        let Some(worker) = self.worker.as_deref_mut() else {
            return Ok(Some(append));
        };
        let write = match staged {
            Staged::Done if worker.is_idle() => return Ok(Some(append)),
            Staged::Done => None,
            Staged::Pending(io) => Some(io),
        };
        worker.submit(AppendJob {
            write,
            sync,
            entries,
            append,
        })?;
        if !worker.has_room() {
            self.writes.backpressure += 1;
        }
        Ok(None)
    }

    /// No Ready while the append thread holds all it may, or while a
    /// snapshot waits for it to run dry: the node keeps its changes until
    /// writes come back.
    fn can_take_ready(&self) -> bool {
        !self.snapshots.holds_one() && self.worker.as_deref().is_none_or(AppendWorker::has_room)
    }

    /// A leader's snapshot was installed in the log: the state machine
    /// takes its state, and the entries that follow apply on top.
    fn restore(&mut self, snapshot: &Snapshot) -> Result<(), NodeError> {
        let index = snapshot.index();
        tracing::info!(
            id = self.me,
            index,
            term = snapshot.term(),
            bytes = snapshot.data.len(),
            "restoring the state machine from a leader's snapshot"
        );
        self.state_machine
            .restore(&snapshot.data, index)
            .map_err(|source| NodeError::Restore { index, source })?;
        self.snapshots.restored(index);
        self.membership
            .restored(index, &snapshot.metadata.conf_state);
        Ok(())
    }

    fn apply(&mut self, entries: &[Entry]) -> Result<(), NodeError> {
        for e in entries {
            if e.index <= self.snapshots.applied {
                // Already in the state the machine was restored from.
                continue;
            }
            self.membership.entry_applied(self.me, e);
            if e.entry_type.is_conf_change() {
                // raft-core applies it after this call; `conf_changed` follows.
                self.snapshots.entry_applied(e.index, 0);
                continue;
            }
            self.snapshots.entry_applied(e.index, e.data.len());
            if e.data.is_empty() {
                // A leader's no-op entry: nothing for the application.
                continue;
            }
            match envelope::unwrap(&e.data) {
                Some((id, payload)) => {
                    let response = self.state_machine.apply(e.index, &payload);
                    if id.node == self.me {
                        let index = e.index;
                        self.proposals
                            .resolve(id.seq, Ok(Applied { index, response }));
                    }
                }
                None => {
                    self.state_machine.apply(e.index, &e.data);
                }
            }
        }
        Ok(())
    }

    fn conf_changed(&mut self, entry: &Entry, conf_state: &ConfState) -> Result<(), NodeError> {
        if self.membership.conf_changed(self.me, entry, conf_state) {
            self.snapshots.force();
        }
        if !membership::is_member(conf_state, self.me) && !self.proposals.is_empty() {
            // A removed node applies nothing after its removal: its
            // proposals would only time out. The caller may retry elsewhere.
            tracing::info!(
                id = self.me,
                waiting = self.proposals.len(),
                "removed from the group; failing pending proposals"
            );
            self.proposals.fail_all(ProposeError::Dropped {
                reason: "this node was removed from the group".to_string(),
            });
        }
        Ok(())
    }
}
