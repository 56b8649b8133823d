//! Snapshots in the checker: an install replaces a node's stored log with
//! the committed prefix the snapshot stands for, and a restored state
//! machine must equal the committed log applied up to the same index.

use super::{Checked, Checker, Property, Slot};
use crate::state_machine::StateMachine;
use raft_core::NodeId;

impl Checker {
    /// `node` durably installed a snapshot at `index` of `term`: its log is
    /// now the committed log up to `index` (held in the snapshot) and
    /// nothing after it. A snapshot is only ever taken of applied, hence
    /// committed, state; committed entries it drops from the log must
    /// still be on a quorum of disks.
    pub fn on_install(&mut self, node: NodeId, index: u64, term: u64) -> Checked {
        let n = Self::slot(node);
        let s = index as usize;
        match self.committed.get(s.wrapping_sub(1)) {
            _ if s == 0 => {}
            Some(c) if c.slot.term == term => {}
            Some(c) => {
                let committed_term = c.slot.term;
                return Err(self.fail(
                    Property::SnapshotState,
                    format!(
                        "n{node} installed a snapshot at index {index} term {term}, but index {index} was committed in term {committed_term}"
                    ),
                ));
            }
            None => {
                return Err(self.fail(
                    Property::SnapshotState,
                    format!(
                    "n{node} installed a snapshot at index {index}, beyond the committed log ({})",
                    self.committed.len()
                ),
                ))
            }
        }
        let touched_end = self.logs[n].len().max(s).min(self.committed.len());
        for i in 0..touched_end {
            let had = self.logs[n].get(i) == Some(&self.committed[i].slot);
            let has = i < s;
            if had && !has {
                let left = self.committed[i].holders.saturating_sub(1);
                self.committed[i].holders = left;
                if left < self.quorum {
                    return Err(self.fail(
                        Property::CommittedDurability,
                        format!(
                            "n{node} installed a snapshot at {index}, dropping committed index {}; only {left} disks still hold it",
                            i + 1
                        ),
                    ));
                }
            } else if has && !had {
                self.committed[i].holders += 1;
            }
        }
        let prefix: Vec<Slot> = self.committed[..s].iter().map(|c| c.slot.clone()).collect();
        self.logs[n] = prefix;
        self.agree[n] = s;
        self.extend_agreement(n);
        Ok(())
    }

    /// `node`'s state machine was restored to `state` (`what`: from a
    /// received snapshot, or from its disk at a restart): it must be the
    /// committed log applied up to `state.index`.
    pub fn check_restored(&self, node: NodeId, what: &str, state: StateMachine) -> Checked {
        match self.chain.get(state.index as usize) {
            Some(&hash) if hash == state.hash => Ok(()),
            Some(_) => Err(self.fail(
                Property::SnapshotState,
                format!(
                    "n{node} restored {what} a state at index {} that differs from the committed log applied up to it",
                    state.index
                ),
            )),
            None => Err(self.fail(
                Property::SnapshotState,
                format!(
                    "n{node} restored {what} a state at index {}, beyond the committed log ({})",
                    state.index,
                    self.committed.len()
                ),
            )),
        }
    }
}
