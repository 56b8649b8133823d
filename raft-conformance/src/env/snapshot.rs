//! Snapshots in the environment: `compact`, `send-snapshot`, and etcd's
//! bookkeeping of each node's applied state.
//!
//! etcd's harness runs an "appender" state machine: each applied entry's
//! payload is appended to the state, and the node's latest state, as a
//! snapshot at the last applied entry, is what its storage hands out as
//! its snapshot. A leader catching up a follower therefore sends exactly
//! what it has applied. A snapshot a node installs is not recorded (etcd's
//! harness does not either), so a node keeps sending its own applied state.

use super::{invalid, CmdResult, Env, Failure};
use crate::datadriven::Directive;
use raft_core::describe::{default_formatter, describe_message};
use raft_core::{Entry, LogStorage, Message, MessageType, Snapshot, StorageError, WrapsLog};
use std::sync::{Arc, Mutex, MutexGuard};

/// A node's applied state, shared between the environment (which records
/// what the node applies) and the node's storage (which hands it out).
#[derive(Clone, Debug, Default)]
pub struct AppliedState(Arc<Mutex<Snapshot>>);

impl AppliedState {
    /// The state a node starts from: its bootstrap snapshot (index 0 for a
    /// node that starts empty).
    pub fn new(initial: Snapshot) -> AppliedState {
        AppliedState(Arc::new(Mutex::new(initial)))
    }

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        // Nothing panics while holding the lock; a poisoned one still holds
        // a whole snapshot.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The latest state, as a snapshot.
    pub fn latest(&self) -> Snapshot {
        self.lock().clone()
    }

    /// Applies `entries` to the appender state machine. As etcd's harness
    /// does, a membership change appends its context, not its encoding.
    pub fn apply(&self, entries: &[Entry]) {
        let mut state = self.lock();
        for e in entries {
            let update = match raft_core::AnyConfChange::from_entry(e) {
                Ok(Some(cc)) => cc.as_v2().context,
                _ => e.data.clone(),
            };
            let mut data = Vec::with_capacity(state.data.len() + update.len());
            data.extend_from_slice(&state.data);
            data.extend_from_slice(&update);
            let conf_state = state.metadata.conf_state.clone();
            *state = Snapshot::new(e.index, e.term, conf_state, data);
        }
    }
}

impl AppliedState {
    /// Records the configuration the membership change at `index` led to.
    /// Changes are applied after the entries of their Ready, so the state
    /// may already be past `index`: every later entry of that Ready was
    /// applied under this configuration too.
    pub fn set_conf_state(&self, index: u64, conf_state: &raft_core::ConfState) {
        let mut state = self.lock();
        if state.metadata.index >= index {
            state.metadata.conf_state = conf_state.clone();
        }
    }
}

/// A node's storage as etcd's harness wraps it: every call goes to the
/// real log, except that its snapshot is the node's applied state.
pub struct AppliedStateStorage {
    log: Box<dyn LogStorage>,
    applied: AppliedState,
}

impl AppliedStateStorage {
    /// Wraps `log`, whose snapshots become `applied`'s latest state.
    pub fn new(log: Box<dyn LogStorage>, applied: AppliedState) -> AppliedStateStorage {
        AppliedStateStorage { log, applied }
    }
}

impl WrapsLog for AppliedStateStorage {
    type Log = dyn LogStorage;
    fn wrapped(&self) -> Result<&Self::Log, StorageError> {
        Ok(&*self.log)
    }
    fn wrapped_mut(&mut self) -> Result<&mut Self::Log, StorageError> {
        Ok(&mut *self.log)
    }
    fn wrapped_snapshot(&self) -> Result<Snapshot, StorageError> {
        Ok(self.applied.latest())
    }
}

impl Env {
    /// `compact <id> <index>`: drops the node's log up to and including
    /// `index`, then prints what is left.
    pub(crate) fn compact(&mut self, d: &Directive) -> CmdResult {
        let i = self.first_node(d)?;
        let index = d
            .positional()
            .nth(1)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| invalid(d, "expected the index to compact to"))?;
        if let Err(e) = self.nodes[i].raw.store_mut().compact(index) {
            return Err(Failure::Printed(e.to_string()));
        }
        self.raft_log(d)
    }

    /// `send-snapshot <from> <to>`: puts a `MsgSnap` with `from`'s current
    /// snapshot in flight to `to`, outside the protocol (as an application
    /// might).
    pub(crate) fn send_snapshot(&mut self, d: &Directive) -> CmdResult {
        let idxs = self.node_indexes(d)?;
        let [from, to] = idxs[..] else {
            return Err(invalid(d, "expected two node ids").into());
        };
        let node = &self.nodes[from];
        let snapshot = match node.raw.store().snapshot() {
            Ok(s) => s,
            Err(e) => return Err(Failure::Printed(e.to_string())),
        };
        let mut m = Message::new(MessageType::MsgSnap);
        m.from = node.config.id;
        m.to = self.nodes[to].config.id;
        m.term = node.raw.hard_state().term;
        m.snapshot = Some(Box::new(snapshot));
        self.out
            .write(&format!("{}\n", describe_message(&m, &default_formatter)));
        self.messages.push(m);
        Ok(())
    }
}
