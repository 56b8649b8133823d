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
//!
//! ## With `Config::async_storage_writes`
//!
//! The Ready's writes may finish after the Ready is handled, so the order
//! differs where it must, and `advance` is not used:
//!
//! 1. [`ReadyHandler::observe`], as above;
//! 2. [`ReadyHandler::send`] gets every message to a peer: the ones that
//!    vouch for durable state are not among them, they travel inside the
//!    `MsgStorageAppend` as its responses;
//! 3. [`ReadyHandler::append`] gets the write and the `MsgStorageAppend`.
//!    If it is durable when the hook returns, the Ready loop completes it at
//!    once ([`RawNode::append_done`]: restore from its snapshot, then its
//!    responses, sent or stepped); otherwise the handler calls
//!    `append_done` itself once the write is durable, in the order the
//!    appends were handed out. Later Readies may be handled meanwhile;
//! 4. the committed entries of the `MsgStorageApply` go to
//!    [`ReadyHandler::apply`] and membership changes are applied as in steps
//!    6 and 7 above, then its response is stepped. raft-core hands out only
//!    entries already durable here, so applying does not wait for step 3.

use crate::confchange::AnyConfChange;
use crate::error::Error;
use crate::message::{is_local_thread, Message, MessageType};
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

    /// With async storage writes, takes a Ready's log changes (`write`) and
    /// its `MsgStorageAppend` (whose entries were moved into `write`; its
    /// `responses` vouch for the write). Returns the message when the write
    /// is already as durable as `write.sync` asks, for the Ready loop to
    /// complete; `None` when the write goes on elsewhere, in which case the
    /// handler calls [`RawNode::append_done`] with the message once it is
    /// durable, appends in the order they were handed out. By default the
    /// write is done at once, through `persist`.
    fn append(
        &mut self,
        store: &mut S,
        write: LogWrite,
        append: Message,
    ) -> Result<Option<Message>, Self::Error> {
        if !write.is_empty() {
            self.persist(store, write)?;
        }
        Ok(Some(append))
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
    /// sent (with async storage writes: once per Ready that has any).
    fn apply(&mut self, committed: &[Entry]) -> Result<(), Self::Error>;

    /// Whether [`RawNode::handle_readies`] may take another Ready now. A
    /// handler whose writer has as many writes queued as it may hold says
    /// no, so that the node keeps its changes until the writer catches up
    /// instead of queueing them without bound. Always yes by default.
    fn can_take_ready(&self) -> bool {
        true
    }

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
        if self.async_storage_writes() {
            return self.handle_async_ready(rd, handler);
        }
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
        self.apply_committed(&rd.committed_entries, handler)?;
        self.advance()?;
        Ok(())
    }

    /// Steps 2 to 4 of the async order (see the [module docs](self)).
    fn handle_async_ready<H: ReadyHandler<S>>(
        &mut self,
        mut rd: Ready,
        handler: &mut H,
    ) -> Result<(), H::Error> {
        // `ready` queues the storage messages last, after the peers' ones.
        let (mut append, mut apply) = (None, None);
        let mut peers = std::mem::take(&mut rd.messages);
        while peers.last().is_some_and(|m| is_local_thread(m.to)) {
            match peers.pop() {
                Some(m) if m.msg_type == MessageType::MsgStorageAppend => append = Some(m),
                Some(m) if m.msg_type == MessageType::MsgStorageApply => apply = Some(m),
                _ => {}
            }
        }
        if !peers.is_empty() {
            handler.send(peers);
        }
        if let Some(mut append) = append {
            // The entries travel in the write; the message keeps what
            // completing it needs (responses, snapshot).
            append.entries = Vec::new();
            let write = rd.take_log_write();
            if let Some(done) = handler.append(self.store_mut(), write, append)? {
                self.append_done(done, handler)?;
            }
        }
        if let Some(mut apply) = apply {
            self.apply_committed(&apply.entries, handler)?;
            for response in std::mem::take(&mut apply.responses) {
                self.step(response)?;
            }
        }
        Ok(())
    }

    /// With async storage writes: the write of `append` (a `MsgStorageAppend`
    /// handed to [`ReadyHandler::append`]) is durable. Restores the state
    /// machine from its snapshot, if it carries one, then delivers its
    /// responses: those to peers through [`ReadyHandler::send`], this
    /// node's own (its vote, its append, the storage acknowledgement)
    /// stepped here.
    pub fn append_done<H: ReadyHandler<S>>(
        &mut self,
        mut append: Message,
        handler: &mut H,
    ) -> Result<(), H::Error> {
        if let Some(snapshot) = append.snapshot.take() {
            handler.restore(&snapshot)?;
        }
        let me = self.id();
        let (own, peers): (Vec<Message>, Vec<Message>) = std::mem::take(&mut append.responses)
            .into_iter()
            .partition(|m| m.to == me);
        if !peers.is_empty() {
            handler.send(peers);
        }
        for response in own {
            self.step(response)?;
        }
        Ok(())
    }

    /// Applies `committed` through the handler, then the membership changes
    /// among them to the node, in log order.
    fn apply_committed<H: ReadyHandler<S>>(
        &mut self,
        committed: &[Entry],
        handler: &mut H,
    ) -> Result<(), H::Error> {
        handler.apply(committed)?;
        for entry in committed.iter().filter(|e| e.entry_type.is_conf_change()) {
            let conf_state = match AnyConfChange::from_entry(entry).map_err(Error::from)? {
                Some(cc) => self.apply_conf_change(cc)?,
                None => continue,
            };
            handler.conf_changed(entry, &conf_state)?;
        }
        Ok(())
    }

    /// Handles Readies until the node has none left or the handler can
    /// take no more ([`ReadyHandler::can_take_ready`]); returns how many it
    /// handled. Advancing can produce a new Ready (a vote or an append to
    /// ourselves is counted on advance), hence the loop.
    pub fn handle_readies<H: ReadyHandler<S>>(
        &mut self,
        handler: &mut H,
    ) -> Result<usize, H::Error> {
        let mut handled = 0;
        while handler.can_take_ready() && self.has_ready() {
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
