//! The simulator's side of raft-core's Ready loop: sends queue for the
//! network, writes go to the simulated disk (or crash an armed node), and
//! every effect is reported to the checker once it is real.

use super::SimNode;
use crate::checker::{Checker, Property, Violation};
use crate::rng::Rng;
use crate::storage::DiskHandle;
use raft_core::{
    ConfState, Entry, Error, HardState, LogStorage, LogWrite, Message, Ready, ReadyHandler, Role,
    Snapshot,
};

/// Why handling a Ready stopped.
pub(super) enum Stop {
    Raft(Error),
    Violation(Violation),
    /// The process died in its write, after `sent` messages of its Ready
    /// left; `rng` decides what the crash loses.
    Crash {
        rng: Rng,
        sent: usize,
    },
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Raft(e)
    }
}

impl From<Violation> for Stop {
    fn from(v: Violation) -> Stop {
        Stop::Violation(v)
    }
}

/// The simulator's side of a Ready: sends go to the network (after the
/// input is handled), and every effect is checked once it is real.
pub(super) struct SimReady<'a> {
    pub(super) node: &'a mut SimNode,
    pub(super) chk: &'a mut Checker,
    pub(super) out: &'a mut Vec<Message>,
    /// The Ready's hard state, checked once its write is done.
    pub(super) hard_state: Option<HardState>,
    /// Messages of the Ready sent so far.
    pub(super) sent: usize,
    /// The Ready has a write that has not returned yet.
    pub(super) write_pending: bool,
    /// A response that left while the write it vouches for was pending.
    pub(super) premature: Option<Message>,
}

impl SimReady<'_> {
    /// Fails if a response left while the write it vouches for was pending.
    fn check_premature(&mut self) -> Result<(), Stop> {
        match self.premature.take() {
            Some(m) => {
                let detail = format!(
                    "n{} sent {} to n{} before writing what it vouches for",
                    self.node.id, m.msg_type, m.to
                );
                Err(self.chk.fail(Property::RaftError, detail).into())
            }
            None => Ok(()),
        }
    }

    /// Makes `write` durable on the node's disk, telling the checker.
    pub(super) fn write(&mut self, store: &mut DiskHandle, write: LogWrite) -> Result<(), Stop> {
        let id = self.node.id;
        if let Some(snap) = &write.snapshot {
            self.chk.on_install(id, snap.index(), snap.term())?;
        }
        self.chk.on_write(id, &write.entries)?;
        store.write(write).map_err(|e| {
            self.chk
                .fail(Property::Storage, format!("n{id} write: {e}"))
        })?;
        self.node.check_durable(self.chk)?;
        Ok(())
    }

    /// With async storage writes the hard state is taken in memory at once.
    /// A leader's commit index is reported with it, under the configuration
    /// it was reached in; its entries may still wait in its own append
    /// thread (a quorum of the others holds them). A follower's may run
    /// ahead of its disk, over entries replacing a stale suffix there, and
    /// is reported as it becomes visible (`report_commit`).
    fn observe_async_hard_state(&mut self) -> Result<(), Stop> {
        let Some(hs) = self.hard_state.take() else {
            return Ok(());
        };
        let id = self.node.id;
        self.chk
            .on_hard_state(id, "in memory", self.node.hard, hs)?;
        self.node.hard = hs;
        let node = &mut *self.node;
        if node.soft.role == Role::Leader && hs.commit > node.commit_reported {
            let pending = node.appends.pending_entries();
            self.chk
                .on_commit_with(id, hs.term, node.commit_reported, hs.commit, &pending)?;
            node.commit_reported = hs.commit;
        }
        Ok(())
    }

    /// With async storage writes: the node's commit index reached `commit`
    /// where the checker can see it (entries it applies, a durable hard
    /// state), so that a follower's commit of entries still on their way
    /// to its disk is not mistaken for one beyond its log.
    pub(super) fn report_commit(&mut self, term: u64, commit: u64) -> Result<(), Stop> {
        let node = &mut *self.node;
        if commit > node.commit_reported {
            self.chk
                .on_commit(node.id, term, node.commit_reported, commit)?;
            node.commit_reported = commit;
        }
        Ok(())
    }
}

impl ReadyHandler<DiskHandle> for SimReady<'_> {
    type Error = Stop;

    fn observe(&mut self, rd: &Ready) -> Result<(), Stop> {
        let id = self.node.id;
        self.hard_state = rd.hard_state;
        self.sent = 0;
        self.write_pending =
            !rd.entries.is_empty() || rd.hard_state.is_some() || rd.snapshot.is_some();
        if let Some(ss) = rd.soft_state {
            if ss.role != Role::Leader {
                self.chk.on_not_leader(id);
            } else if self.node.soft.role != Role::Leader {
                // A leader acts as one from this Ready on (its appends may
                // leave before its write), so it is counted as one now.
                let term = rd.hard_state.map_or(self.node.hard.term, |hs| hs.term);
                self.chk.on_leader(id, term)?;
            }
            self.node.soft = ss;
        }
        self.node
            .reads_waiting
            .extend(rd.read_states.iter().cloned());
        if self.node.appends_async {
            self.observe_async_hard_state()?;
        }
        Ok(())
    }

    fn send(&mut self, messages: Vec<Message>) {
        if self.write_pending && self.premature.is_none() {
            self.premature = messages
                .iter()
                .find(|m| m.msg_type.waits_for_durability())
                .cloned();
        }
        self.sent += messages.len();
        self.out.extend(messages);
    }

    fn persist(&mut self, store: &mut DiskHandle, write: LogWrite) -> Result<(), Stop> {
        self.check_premature()?;
        if let Some(rng) = self.node.armed.take() {
            self.node.snaps.crashed_installing += u64::from(write.snapshot.is_some());
            return Err(Stop::Crash {
                rng,
                sent: self.sent,
            });
        }
        self.write(store, write)?;
        self.write_pending = false;
        Ok(())
    }

    /// With async storage writes: the write goes to the node's append
    /// thread, which makes it durable and delivers the responses at a later
    /// sync ([`super::append_thread`]).
    fn append(
        &mut self,
        _store: &mut DiskHandle,
        write: LogWrite,
        #[allow(unused_mut)] mut append: Message,
    ) -> Result<Option<Message>, Stop> {
        self.check_premature()?;
        #[cfg(feature = "fault-injection")]
        if self.node.fault == Some(crate::state_machine::SimFault::AckBeforeSync) {
            // The broken append thread answers peers at once, without the
            // premature-send check of `send`: only the checker's own rules
            // can catch it.
            let me = self.node.id;
            let (own, peers) = std::mem::take(&mut append.responses)
                .into_iter()
                .partition(|m| m.to == me);
            append.responses = own;
            self.out.extend(peers);
        }
        self.node.appends.push(write, append);
        Ok(None)
    }

    fn restore(&mut self, snapshot: &Snapshot) -> Result<(), Stop> {
        let node = &mut *self.node;
        let (state, kv) = node.decode(self.chk, snapshot, "from a leader's snapshot")?;
        if state.index <= node.applied {
            let detail = format!(
                "n{} restored a snapshot at {} after applying up to {}",
                node.id, state.index, node.applied
            );
            return Err(self.chk.fail(Property::Monotonicity, detail).into());
        }
        node.state = state;
        node.kv = kv;
        node.applied = state.index;
        node.set_snapshot(state);
        node.snaps.installed += 1;
        node.conf = snapshot.metadata.conf_state.clone();
        self.chk.on_conf(node.id, &node.conf);
        Ok(())
    }

    fn apply(&mut self, committed: &[Entry]) -> Result<(), Stop> {
        let id = self.node.id;
        if let Some(hs) = self.hard_state.take() {
            let node = &mut *self.node;
            self.chk.on_hard_state(id, "in memory", node.hard, hs)?;
            if hs.commit > node.hard.commit {
                self.chk
                    .on_commit(id, hs.term, node.hard.commit, hs.commit)?;
            }
            node.hard = hs;
        }
        if let (true, Some(last)) = (self.node.appends_async, committed.last()) {
            // raft-core hands out only entries durable here.
            self.report_commit(self.node.hard.term, last.index)?;
        }
        for e in committed {
            if e.index != self.node.applied + 1 {
                return Err(self
                    .chk
                    .fail(
                        Property::StateMachineSafety,
                        format!(
                            "n{id} applied index {} after {}",
                            e.index, self.node.applied
                        ),
                    )
                    .into());
            }
            self.chk.on_apply(id, e)?;
            self.node.applied = e.index;
            self.node.state.apply(e);
            self.node.kv.apply(e);
        }
        Ok(())
    }

    fn conf_changed(&mut self, entry: &Entry, conf_state: &ConfState) -> Result<(), Stop> {
        self.node.conf = conf_state.clone();
        self.node.conf_index = entry.index;
        self.chk
            .on_conf_applied(self.node.id, entry.index, conf_state);
        Ok(())
    }
}
