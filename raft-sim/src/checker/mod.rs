//! The safety properties, checked incrementally after every step.
//!
//! The checker sees what the nodes write to their disks, the commit indexes
//! they reach, the entries they apply and who claims to lead. From that it
//! keeps a mirror of every node's stored log and the cluster's committed
//! log, so that each check costs only what changed.

use crate::state_machine::{fold, StateMachine};
use bytes::Bytes;
use raft_core::{ConfState, Entry, HardState, NodeId};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use thiserror::Error;

/// A property of Raft the run must not break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Property {
    /// At most one leader per term.
    ElectionSafety,
    /// Two logs holding an entry with the same index and term are identical
    /// up to it.
    LogMatching,
    /// A leader holds every entry committed in an earlier term.
    LeaderCompleteness,
    /// Nodes apply (and commit) the same entry at each index.
    StateMachineSafety,
    /// A committed entry stays on a majority of disks, and a client's
    /// acknowledged entry is never lost.
    CommittedDurability,
    /// Terms and commit indexes never go backwards, in memory or on disk;
    /// a vote is never changed within its term.
    Monotonicity,
    /// The disk did not give back what was durably written to it.
    Storage,
    /// raft-core returned an error a correct cluster never causes.
    RaftError,
    /// After faults stop, a leader is elected and new proposals commit on
    /// every node within the bound.
    Liveness,
    /// A state machine restored from a snapshot (received, or found on disk
    /// at a restart) equals applying the committed log up to the
    /// snapshot's index, and raft-core resumes right after it.
    SnapshotState,
    /// A read returns a state that includes every write acknowledged
    /// before the read began.
    LinearizableRead,
    /// The key-value clients' history (gets, puts, deletes,
    /// compare-and-swaps, with their answers or unknown outcomes) is
    /// linearizable: checked with raft-lincheck once the run ends.
    Linearizability,
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Property::ElectionSafety => "election safety",
            Property::LogMatching => "log matching",
            Property::LeaderCompleteness => "leader completeness",
            Property::StateMachineSafety => "state machine safety",
            Property::CommittedDurability => "committed entry durability",
            Property::Monotonicity => "monotonic term, commit and vote",
            Property::Storage => "storage durability",
            Property::RaftError => "raft-core error",
            Property::Liveness => "liveness",
            Property::SnapshotState => "snapshot state",
            Property::LinearizableRead => "linearizable read",
            Property::Linearizability => "linearizable key-value history",
        };
        f.write_str(s)
    }
}

/// A broken property, when, and the evidence.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{property} violated at t={at}: {detail}")]
pub struct Violation {
    /// The property broken.
    pub property: Property,
    /// The simulated time it was found at.
    pub at: u64,
    /// What was seen, in words.
    pub detail: String,
}

pub(crate) type Checked = Result<(), Violation>;

/// An entry as the checks compare it: its term and payload (its index is
/// its position).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    term: u64,
    data: Bytes,
}

impl From<&Entry> for Slot {
    fn from(e: &Entry) -> Slot {
        Slot {
            term: e.term,
            data: e.data.clone(),
        }
    }
}

struct Committed {
    slot: Slot,
    /// The term of the node that first reported it committed: the
    /// committing leader's term, since followers learn commits from it.
    term: u64,
    /// How many nodes' disks hold it right now.
    holders: usize,
}

/// Watches every node's writes, commits, applies and roles, and reports the first broken [`Property`].
pub struct Checker {
    quorum: usize,
    /// Who led each term.
    leaders: BTreeMap<u64, NodeId>,
    /// Every `(index, term)` ever written anywhere, with its payload and the
    /// term of the entry before it: if each pair always comes with the same
    /// payload and predecessor, logs that share a pair agree up to it, by
    /// induction on the index.
    ids: HashMap<(u64, u64), (Bytes, u64)>,
    committed: Vec<Committed>,
    /// The state machine's hash after each prefix of the committed log
    /// (`chain[i]` covers indexes 1 to `i`): what a snapshot must hold.
    chain: Vec<u64>,
    /// Entries applied by any node, by index.
    applied: Vec<Slot>,
    /// Each node's stored log (position `i` holds index `i + 1`).
    logs: Vec<Vec<Slot>>,
    /// For each node, how long a prefix of its stored log equals the
    /// committed log.
    agree: Vec<usize>,
    /// Each node's current term while it leads.
    leading: Vec<Option<u64>>,
    /// Client payloads acknowledged as committed, with their index.
    acked: HashMap<Bytes, u64>,
    now: u64,
    /// The voters each node counts, as of its last applied configuration.
    voters: Vec<Voters>,
    /// Some node worked with other voters than all nodes.
    membership_changed: bool,
    /// Nodes removed for good: stopped, never to vote again.
    retired: Vec<bool>,
    /// Configurations applied for the first time (by any node), by index,
    /// not yet taken by the simulation.
    new_confs: Vec<(u64, ConfState)>,
    /// The highest index of an applied membership change.
    last_conf_index: u64,
    ops: OpCounts,
    /// Reads in flight: their context, and the applied index they must
    /// see at least.
    reads: HashMap<Bytes, u64>,
}

impl Checker {
    /// A checker for a cluster of `nodes` nodes.
    pub fn new(nodes: usize) -> Checker {
        Checker {
            quorum: nodes / 2 + 1,
            leaders: BTreeMap::new(),
            ids: HashMap::new(),
            committed: Vec::new(),
            chain: vec![StateMachine::default().hash],
            applied: Vec::new(),
            logs: vec![Vec::new(); nodes],
            agree: vec![0; nodes],
            leading: vec![None; nodes],
            acked: HashMap::new(),
            now: 0,
            voters: vec![
                Voters {
                    incoming: (1..=nodes as u64).collect(),
                    outgoing: Vec::new(),
                };
                nodes
            ],
            membership_changed: false,
            retired: vec![false; nodes],
            new_confs: Vec::new(),
            last_conf_index: 0,
            ops: OpCounts::default(),
            reads: HashMap::new(),
        }
    }

    /// The simulated time stamped on violations from now on.
    pub fn set_time(&mut self, now: u64) {
        self.now = now;
    }

    pub(crate) fn fail(&self, property: Property, detail: String) -> Violation {
        Violation {
            property,
            at: self.now,
            detail,
        }
    }

    fn slot(node: NodeId) -> usize {
        node as usize - 1
    }

    /// Entries `node` just wrote to its disk (possibly replacing a suffix).
    pub fn on_write(&mut self, node: NodeId, entries: &[Entry]) -> Checked {
        let Some(first) = entries.first().map(|e| e.index) else {
            return Ok(());
        };
        let n = Self::slot(node);
        let old_len = self.logs[n].len() as u64;
        if first == 0 || first > old_len + 1 {
            return Err(self.fail(
                Property::Storage,
                format!("n{node} wrote index {first} after last index {old_len}"),
            ));
        }
        let mut prev_term = if first == 1 {
            0
        } else {
            self.logs[n][first as usize - 2].term
        };
        for e in entries {
            let key = (e.index, e.term);
            match self.ids.get(&key) {
                Some((data, prev)) if *data != e.data || *prev != prev_term => {
                    return Err(self.fail(
                        Property::LogMatching,
                        format!(
                            "n{node} wrote index {} term {} ({:?}, after term {prev_term}), but elsewhere that id holds {:?} after term {prev}",
                            e.index, e.term, e.data, data
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    self.ids.insert(key, (e.data.clone(), prev_term));
                }
            }
            prev_term = e.term;
        }
        // Holder counts of committed entries change where the write
        // replaced or added entries at committed indexes.
        let new_last = first + entries.len() as u64 - 1;
        let touched_end = old_len.max(new_last).min(self.committed.len() as u64);
        for i in first..=touched_end {
            let old = self.logs[n].get(i as usize - 1);
            let new = entries.get((i - first) as usize).map(Slot::from);
            let c = &self.committed[i as usize - 1];
            let had = old == Some(&c.slot);
            let has = new.as_ref() == Some(&c.slot);
            if had && !has {
                let (left, term) = (c.holders.saturating_sub(1), c.slot.term);
                self.committed[i as usize - 1].holders = left;
                if left < self.quorum {
                    return Err(self.fail(
                        Property::CommittedDurability,
                        format!(
                            "n{node} overwrote committed index {i} (term {term}); only {left} disks still hold it"
                        ),
                    ));
                }
            } else if has && !had {
                self.committed[i as usize - 1].holders += 1;
            }
        }
        let log = &mut self.logs[n];
        log.truncate(first as usize - 1);
        log.extend(entries.iter().map(Slot::from));
        self.agree[n] = self.agree[n].min(first as usize - 1);
        self.extend_agreement(n);
        Ok(())
    }

    fn extend_agreement(&mut self, n: usize) {
        let (log, mut k) = (&self.logs[n], self.agree[n]);
        while k < log.len() && k < self.committed.len() && log[k] == self.committed[k].slot {
            k += 1;
        }
        self.agree[n] = k;
    }

    /// `node`, in `term`, moved its commit index from `from` to `to`.
    pub fn on_commit(&mut self, node: NodeId, term: u64, from: u64, to: u64) -> Checked {
        self.on_commit_with(node, term, from, to, &[])
    }

    /// [`Checker::on_commit`] for a leader with async storage writes, which
    /// may commit entries its own disk does not hold yet (a quorum of the
    /// others does): those are among `pending`, its writes still queued.
    pub fn on_commit_with(
        &mut self,
        node: NodeId,
        term: u64,
        from: u64,
        to: u64,
        pending: &[Entry],
    ) -> Checked {
        let n = Self::slot(node);
        for i in from + 1..=to {
            let stored = self.logs[n].get(i as usize - 1).cloned();
            let queued = || pending.iter().find(|e| e.index == i).map(Slot::from);
            let Some(slot) = stored.or_else(queued) else {
                return Err(self.fail(
                    Property::RaftError,
                    format!(
                        "n{node} committed index {i} beyond its stored log ({})",
                        self.logs[n].len()
                    ),
                ));
            };
            if let Some(c) = self.committed.get(i as usize - 1) {
                if c.slot != slot {
                    return Err(self.fail(
                        Property::StateMachineSafety,
                        format!(
                            "n{node} committed index {i} as term {} {:?}, but it was committed as term {} {:?}",
                            slot.term, slot.data, c.slot.term, c.slot.data
                        ),
                    ));
                }
                continue;
            }
            self.check_commit_quorum(node, term, i, &slot)?;
            let holders = self
                .logs
                .iter()
                .filter(|l| l.get(i as usize - 1) == Some(&slot))
                .count();
            for (m, lead_term) in self.leading.iter().enumerate() {
                if lead_term.is_some_and(|t| t > term)
                    && self.logs[m].get(i as usize - 1) != Some(&slot)
                {
                    return Err(self.fail(
                        Property::LeaderCompleteness,
                        format!(
                            "index {i} committed in term {term}, but n{} leading term {} lacks it",
                            m + 1,
                            lead_term.unwrap_or_default()
                        ),
                    ));
                }
            }
            let hash = self.chain.last().copied().unwrap_or_default();
            self.chain.push(fold(hash, &slot.data));
            self.committed.push(Committed {
                slot,
                term,
                holders,
            });
        }
        for m in 0..self.logs.len() {
            self.extend_agreement(m);
        }
        Ok(())
    }

    /// `node` leads `term` (after its first Ready as leader is handled).
    pub fn on_leader(&mut self, node: NodeId, term: u64) -> Checked {
        if let Some(other) = self.leaders.get(&term) {
            if *other != node {
                return Err(self.fail(
                    Property::ElectionSafety,
                    format!("n{node} and n{other} both lead term {term}"),
                ));
            }
        }
        self.leaders.insert(term, node);
        self.leading[Self::slot(node)] = Some(term);
        let log = &self.logs[Self::slot(node)];
        for (i, c) in self.committed.iter().enumerate() {
            if c.term < term && log.get(i) != Some(&c.slot) {
                return Err(self.fail(
                    Property::LeaderCompleteness,
                    format!(
                        "n{node} leads term {term} without index {} (term {}) committed in term {}",
                        i + 1,
                        c.slot.term,
                        c.term
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `node` stopped leading (stepped down or crashed).
    pub fn on_not_leader(&mut self, node: NodeId) {
        self.leading[Self::slot(node)] = None;
    }

    /// `node` applied `e`; `client` says whether the payload came from a
    /// client (rather than a leader's empty entry).
    pub fn on_apply(&mut self, node: NodeId, e: &Entry) -> Checked {
        let slot = Slot::from(e);
        let i = e.index as usize;
        match self.committed.get(i.wrapping_sub(1)) {
            Some(c) if c.slot == slot => {}
            Some(c) => {
                return Err(self.fail(
                    Property::StateMachineSafety,
                    format!(
                        "n{node} applied index {i} as term {} {:?}, committed as term {} {:?}",
                        slot.term, slot.data, c.slot.term, c.slot.data
                    ),
                ))
            }
            None => {
                return Err(self.fail(
                    Property::StateMachineSafety,
                    format!("n{node} applied index {i}, which nobody committed"),
                ))
            }
        }
        if i <= self.applied.len() {
            if self.applied[i - 1] != slot {
                return Err(self.fail(
                    Property::StateMachineSafety,
                    format!(
                        "n{node} applied index {i} as {:?}, another node applied {:?}",
                        slot.data,
                        self.applied[i - 1].data
                    ),
                ));
            }
        } else if i == self.applied.len() + 1 {
            self.applied.push(slot);
            if !e.data.is_empty() {
                self.acked.entry(e.data.clone()).or_insert(e.index);
            }
        } else {
            return Err(self.fail(
                Property::StateMachineSafety,
                format!(
                    "n{node} applied index {i} though no node applied index {}",
                    self.applied.len() + 1
                ),
            ));
        }
        Ok(())
    }

    /// Whether a client payload has been applied (acknowledged) anywhere.
    pub fn is_acked(&self, data: &Bytes) -> bool {
        self.acked.contains_key(data)
    }

    /// How many client proposals were acknowledged as committed.
    pub fn acked_count(&self) -> usize {
        self.acked.len()
    }

    /// How long the committed log is.
    pub fn committed_len(&self) -> u64 {
        self.committed.len() as u64
    }

    /// `node`'s stored log, for the end-of-run comparison.
    pub fn stored_log_len(&self, node: NodeId) -> u64 {
        self.logs[Self::slot(node)].len() as u64
    }

    /// Every node's stored log agrees with every other's up to any shared
    /// `(index, term)`, checked directly rather than through `ids`; and all
    /// logs equal `applied` when `converged` is expected.
    pub fn check_logs(&self, converged: bool) -> Checked {
        for (a, la) in self.logs.iter().enumerate() {
            for (b, lb) in self.logs.iter().enumerate().skip(a + 1) {
                let shared = la.len().min(lb.len());
                if let Some(last_match) = (0..shared).rev().find(|&i| la[i].term == lb[i].term) {
                    if la[..=last_match] != lb[..=last_match] {
                        return Err(self.fail(
                            Property::LogMatching,
                            format!(
                                "n{} and n{} share index {} term {} but differ before it",
                                a + 1,
                                b + 1,
                                last_match + 1,
                                la[last_match].term
                            ),
                        ));
                    }
                }
            }
            if converged && *la != self.applied {
                return Err(self.fail(
                    Property::Liveness,
                    format!(
                        "n{} holds {} entries, but {} were applied: logs did not converge",
                        a + 1,
                        la.len(),
                        self.applied.len()
                    ),
                ));
            }
        }
        // Every acknowledged payload is still where it was acknowledged.
        for (data, index) in &self.acked {
            if self.applied.get(*index as usize - 1).map(|s| &s.data) != Some(data) {
                return Err(self.fail(
                    Property::CommittedDurability,
                    format!("acknowledged {data:?} at index {index} is gone"),
                ));
            }
        }
        Ok(())
    }

    /// A node's hard state moved from `old` to `new`; `what` says where
    /// (in memory, on disk, across a restart).
    pub fn on_hard_state(
        &self,
        node: NodeId,
        what: &str,
        old: HardState,
        new: HardState,
    ) -> Checked {
        let bad = if new.term < old.term {
            Some("term went back")
        } else if new.commit < old.commit {
            Some("commit went back")
        } else if new.term == old.term && old.vote != 0 && new.vote != old.vote {
            Some("vote changed within a term")
        } else {
            None
        };
        match bad {
            Some(reason) => Err(self.fail(
                Property::Monotonicity,
                format!("n{node} {what}: {reason} ({old:?} -> {new:?})"),
            )),
            None => Ok(()),
        }
    }
}

mod electability;
mod membership;
mod snapshot;

pub use membership::OpCounts;
use membership::Voters;
#[cfg(test)]
mod tests;
