//! The one implementation of the [`Ready`] contract that the runtime and
//! every harness share.
//!
//! Handling a Ready has a single order, the one a production runtime needs:
//!
//! 1. [`ReadyHandler::observe`] sees the whole Ready (harnesses print or
//!    check it here);
//! 2. [`ReadyHandler::send`] gets the messages that promise nothing about
//!    this node's disk (appends, heartbeats, vote requests), so that peers
//!    store entries while this node does (Raft thesis §10.2.1);
//! 3. [`ReadyHandler::persist`] writes the entries and hard state;
//! 4. [`ReadyHandler::send`] gets the responses that vouch for durable state
//!    (a vote granted, an entry stored): only now are they true;
//! 5. [`ReadyHandler::restore`] gets the snapshot, if the Ready has one (the
//!    state machine is replaced by it);
//! 6. [`ReadyHandler::apply`] gets the committed entries (which follow the
//!    snapshot);
//! 7. each committed membership change among them is applied to the node
//!    ([`RawNode::apply_conf_change`]), in log order, and
//!    [`ReadyHandler::conf_changed`] is told the configuration it led to;
//! 8. [`RawNode::advance`] is called.
//!
//! A harness that wants the old "persist, then send everything" order needs
//! nothing of its own: as long as the early messages are only queued (not
//! delivered) before `persist` returns, the queue ends up in the same order.

use crate::confchange::AnyConfChange;
use crate::error::Error;
use crate::message::Message;
use crate::raw_node::{RawNode, Ready};
use crate::storage::{LogStorage, LogWrite};
use crate::types::{ConfState, Entry};

/// What an application does with each part of a [`Ready`]; the order of the
/// calls is fixed by [`RawNode::handle_ready`] (see the [module
/// docs](self)).
///
/// If a hook fails, handling stops there: no later hook runs and the node is
/// not advanced, so it must not be used again (treat it as crashed and
/// restart it from its storage).
pub trait ReadyHandler<S: LogStorage> {
    /// What the hooks fail with; raft-core's own errors (from `ready`,
    /// `advance` and the default `persist`) convert into it.
    type Error: From<Error>;

    /// Sees the Ready before anything of it is handled. Does nothing by
    /// default.
    fn observe(&mut self, _ready: &Ready) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Sends messages to peers, in the order given. Called at most twice per
    /// Ready: once before `persist` with the messages that may leave early,
    /// once after it with the responses that must not; never with an empty
    /// list.
    fn send(&mut self, messages: Vec<Message>);

    /// Writes the Ready's log changes; when this returns `Ok`, they must be
    /// as durable as `write.sync` asks. Not called when there is nothing to
    /// write. By default, [`LogStorage::write`].
    fn persist(&mut self, store: &mut S, write: LogWrite) -> Result<(), Self::Error> {
        store.write(write).map_err(|e| Error::from(e).into())
    }

    /// Replaces the state machine's state with `snapshot`'s (its data as the
    /// application wrote it), after the log was cut at the snapshot by
    /// `persist`. Called only for a Ready that carries a snapshot, before
    /// `apply`. Does nothing by default, for harnesses without a state
    /// machine.
    fn restore(&mut self, _snapshot: &crate::Snapshot) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Applies the Ready's committed entries (possibly none) to the state
    /// machine. Called once per Ready, after the durable responses were
    /// sent.
    fn apply(&mut self, committed: &[Entry]) -> Result<(), Self::Error>;

    /// Told, after `apply`, the configuration that the committed membership
    /// change `entry` led to once raft-core applied it (to store it with the
    /// state machine, for snapshots). Does nothing by default.
    fn conf_changed(&mut self, _entry: &Entry, _conf_state: &ConfState) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<S: LogStorage> RawNode<S> {
    /// Takes one [`Ready`] and handles it through `handler` in the order
    /// described in [`crate::ready_loop`], then advances the node.
    ///
    /// The Ready is taken even when [`RawNode::has_ready`] is false (it is
    /// then empty): test harnesses print such Readies; applications use
    /// [`RawNode::handle_readies`].
    pub fn handle_ready<H: ReadyHandler<S>>(&mut self, handler: &mut H) -> Result<(), H::Error> {
        let mut rd = self.ready()?;
        handler.observe(&rd)?;
        let write = rd.take_log_write();
        let (early, late) = split_by_durability(std::mem::take(&mut rd.messages));
        if !early.is_empty() {
            handler.send(early);
        }
        if !write.is_empty() {
            handler.persist(self.store_mut(), write)?;
        }
        if !late.is_empty() {
            handler.send(late);
        }
        if let Some(snapshot) = &rd.snapshot {
            handler.restore(snapshot)?;
        }
        handler.apply(&rd.committed_entries)?;
        for entry in rd
            .committed_entries
            .iter()
            .filter(|e| e.entry_type.is_conf_change())
        {
            let conf_state = match AnyConfChange::from_entry(entry).map_err(Error::from)? {
                Some(cc) => self.apply_conf_change(cc)?,
                None => continue,
            };
            handler.conf_changed(entry, &conf_state)?;
        }
        self.advance()?;
        Ok(())
    }

    /// Handles Readies until the node has none left; returns how many it
    /// handled. Advancing can produce a new Ready (a vote or an append to
    /// ourselves is counted on advance), hence the loop.
    pub fn handle_readies<H: ReadyHandler<S>>(
        &mut self,
        handler: &mut H,
    ) -> Result<usize, H::Error> {
        let mut handled = 0;
        while self.has_ready() {
            self.handle_ready(handler)?;
            handled += 1;
        }
        Ok(handled)
    }
}

/// Splits a Ready's messages into those that may leave before the write and
/// those that wait for it, each in its original order.
///
/// raft-core queues the waiting ones last (see `Raft::send`), so the split is
/// normally a cut at the first of them, with no copying; a stable partition
/// covers any other order, so that no durable promise ever leaves early.
fn split_by_durability(mut messages: Vec<Message>) -> (Vec<Message>, Vec<Message>) {
    let waits = |m: &Message| m.msg_type.waits_for_durability();
    let Some(first) = messages.iter().position(waits) else {
        return (messages, Vec::new());
    };
    if !messages[first..].iter().all(waits) {
        return messages.into_iter().partition(|m| !waits(m));
    }
    if first == 0 {
        return (Vec::new(), messages);
    }
    let late = messages.split_off(first);
    (messages, late)
}

#[cfg(test)]
mod tests;
