//! One simulated node: a raft-core `RawNode` on a simulated disk, driven
//! through the Ready contract (persist, then send, then apply, then
//! advance), with every effect reported to the checker.

use crate::checker::{Checked, Checker, Property, Violation};
use crate::rng::Rng;
use crate::storage::{CrashLoss, Disk, DiskHandle};
use bytes::Bytes;
use raft_core::{Config, Error, HardState, LogStorage, Message, NodeId, RawNode, Role, SoftState};
use std::cell::RefCell;
use std::rc::Rc;

/// Something that happens to a running node.
pub enum Input {
    Tick,
    Step(Message),
    Propose(Bytes),
    /// The transport could not deliver to this peer.
    Unreachable(NodeId),
}

pub struct SimNode {
    pub id: NodeId,
    config: Config,
    disk: Rc<RefCell<Disk>>,
    raw: Option<RawNode<DiskHandle>>,
    /// The hard and soft state as of the last Ready that changed them.
    hard: HardState,
    soft: SoftState,
    durable: HardState,
    applied: u64,
}

impl SimNode {
    pub fn start(config: Config, disk: Disk, chk: &mut Checker) -> Result<SimNode, Violation> {
        let mut node = SimNode {
            id: config.id,
            config,
            disk: Rc::new(RefCell::new(disk)),
            raw: None,
            hard: HardState::default(),
            soft: SoftState::default(),
            durable: HardState::default(),
            applied: 0,
        };
        node.boot(chk)?;
        Ok(node)
    }

    pub fn is_up(&self) -> bool {
        self.raw.is_some()
    }

    pub fn role(&self) -> Option<Role> {
        self.raw.as_ref().map(|_| self.soft.role)
    }

    pub fn lead(&self) -> NodeId {
        self.soft.leader
    }

    pub fn term(&self) -> u64 {
        self.hard.term
    }

    pub fn commit(&self) -> u64 {
        self.hard.commit
    }

    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The process dies. A prefix of the unsynced writes survives.
    pub fn crash(&mut self, rng: &mut Rng, chk: &mut Checker) -> Result<CrashLoss, Violation> {
        self.raw = None;
        chk.on_not_leader(self.id);
        let loss = self
            .disk
            .borrow_mut()
            .crash(rng)
            .map_err(|e| chk.fail(Property::Storage, format!("n{} crash: {e}", self.id)))?;
        self.check_durable(chk)?;
        Ok(loss)
    }

    /// Starts again from the disk. The state machine is in memory, so it is
    /// rebuilt by applying the committed log from the start.
    pub fn restart(&mut self, chk: &mut Checker) -> Checked {
        self.boot(chk)
    }

    fn boot(&mut self, chk: &mut Checker) -> Checked {
        let raw = RawNode::new(&self.config, DiskHandle(self.disk.clone()))
            .map_err(|e| self.violation(chk, e, "restart"))?;
        let hs = raw.status().hard_state;
        // Terms and votes are always synced, so they survive a crash; the
        // commit index may legitimately fall back to the durable one.
        let before = HardState {
            commit: 0,
            ..self.hard
        };
        chk.on_hard_state(self.id, "across a restart", before, hs)?;
        self.hard = hs;
        self.soft = SoftState::default();
        self.applied = 0;
        self.raw = Some(raw);
        let mut out = Vec::new();
        self.drain(chk, &mut out)?;
        // Nothing to say to peers before hearing from them.
        if !out.is_empty() {
            return Err(chk.fail(
                Property::RaftError,
                format!("n{} sent {} messages on restart", self.id, out.len()),
            ));
        }
        Ok(())
    }

    /// Feeds `input` to a running node and handles the Readies it causes,
    /// pushing outgoing messages to `out`. Returns false for a proposal the
    /// node refused.
    pub fn input(
        &mut self,
        input: Input,
        chk: &mut Checker,
        out: &mut Vec<Message>,
    ) -> Result<bool, Violation> {
        let Some(raw) = self.raw.as_mut() else {
            return Ok(false);
        };
        let (what, result) = match input {
            Input::Tick => ("tick", raw.tick()),
            Input::Step(m) => {
                let is_prop = m.msg_type == raft_core::MessageType::MsgProp;
                match raw.step(m) {
                    // A forwarded proposal reaching a node that lost its
                    // leader meanwhile: the client's retry is the remedy.
                    Err(Error::ProposalDropped) if is_prop => ("step", Ok(())),
                    r => ("step", r),
                }
            }
            Input::Propose(data) => match raw.propose(data) {
                Err(Error::ProposalDropped) => {
                    self.drain(chk, out)?;
                    return Ok(false);
                }
                r => ("propose", r),
            },
            Input::Unreachable(peer) => ("report_unreachable", raw.report_unreachable(peer)),
        };
        result.map_err(|e| self.violation(chk, e, what))?;
        self.drain(chk, out)?;
        Ok(true)
    }

    fn violation(&self, chk: &Checker, e: Error, what: &str) -> Violation {
        let property = match e {
            Error::Storage(_) => Property::Storage,
            _ => Property::RaftError,
        };
        chk.fail(property, format!("n{} {what}: {e}", self.id))
    }

    fn check_durable(&mut self, chk: &Checker) -> Checked {
        let durable = self.disk.borrow().durable_hard_state();
        chk.on_hard_state(self.id, "on disk", self.durable, durable)?;
        self.durable = durable;
        Ok(())
    }

    /// The Ready loop: persist, send, apply, advance.
    fn drain(&mut self, chk: &mut Checker, out: &mut Vec<Message>) -> Checked {
        let id = self.id;
        loop {
            let Some(raw) = self.raw.as_mut() else {
                return Ok(());
            };
            if !raw.has_ready() {
                break;
            }
            let rd = match raw.ready() {
                Ok(rd) => rd,
                Err(e) => return Err(self.violation(chk, e, "ready")),
            };
            if let Err(e) = raw.store_mut().write(rd.log_write()) {
                return Err(chk.fail(Property::Storage, format!("n{id} write: {e}")));
            }
            chk.on_write(id, &rd.entries)?;
            self.check_durable(chk)?;
            if let Some(hs) = rd.hard_state {
                chk.on_hard_state(id, "in memory", self.hard, hs)?;
                if hs.commit > self.hard.commit {
                    chk.on_commit(id, hs.term, self.hard.commit, hs.commit)?;
                }
                self.hard = hs;
            }
            if let Some(ss) = rd.soft_state {
                if ss.role != Role::Leader {
                    chk.on_not_leader(id);
                } else if self.soft.role != Role::Leader {
                    // The Ready that makes a leader also carries its empty
                    // entry, already written above.
                    chk.on_leader(id, self.hard.term)?;
                }
                self.soft = ss;
            }
            // Only now, with the write done, may the messages leave.
            out.extend(rd.messages);
            for e in &rd.committed_entries {
                if e.index != self.applied + 1 {
                    return Err(chk.fail(
                        Property::StateMachineSafety,
                        format!("n{id} applied index {} after {}", e.index, self.applied),
                    ));
                }
                chk.on_apply(id, e)?;
                self.applied = e.index;
            }
            if let Some(raw) = self.raw.as_mut() {
                if let Err(e) = raw.advance() {
                    return Err(self.violation(chk, e, "advance"));
                }
            }
        }
        Ok(())
    }
}
