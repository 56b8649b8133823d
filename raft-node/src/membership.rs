//! Membership changes in the runtime: checking a request before it is
//! proposed, recognising it when it comes back applied, keeping the current
//! membership (with each member's address) for whoever watches it.
//!
//! raft-core applies committed changes itself, inside its Ready loop; this
//! module only decides what to propose and whom to answer. A change carries
//! in its `context` the proposer's id (so the proposer can answer its
//! caller) and the addresses of the members it adds (so every node, and the
//! transport behind it, learns where they are).

use crate::envelope::ProposalId;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use raft_core::{
    AnyConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, ConfState,
    Entry, EntryType, NodeId,
};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;
use tokio::sync::{oneshot, watch};

/// One change to the group's membership.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberChange {
    /// Adds a voter (or promotes a learner) reachable at `address`.
    AddVoter {
        /// The new member's id.
        id: NodeId,
        /// Where it listens, as the application's transport understands it.
        address: Bytes,
    },
    /// Adds a learner: it receives the log but does not vote.
    AddLearner {
        /// The new member's id.
        id: NodeId,
        /// Where it listens.
        address: Bytes,
    },
    /// Makes an existing learner a voter (its address is already known).
    Promote(NodeId),
    /// Removes a voter or learner.
    Remove(NodeId),
}

impl MemberChange {
    fn single(&self) -> ConfChangeSingle {
        let (change_type, id) = match self {
            MemberChange::AddVoter { id, .. } => (ConfChangeType::AddNode, *id),
            MemberChange::Promote(id) => (ConfChangeType::AddNode, *id),
            MemberChange::AddLearner { id, .. } => (ConfChangeType::AddLearnerNode, *id),
            MemberChange::Remove(id) => (ConfChangeType::RemoveNode, *id),
        };
        ConfChangeSingle::new(change_type, id)
    }

    fn address(&self) -> Option<(NodeId, &Bytes)> {
        match self {
            MemberChange::AddVoter { id, address } | MemberChange::AddLearner { id, address } => {
                Some((*id, address))
            }
            _ => None,
        }
    }
}

/// The group's membership as this node last applied it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Membership {
    /// The log index of the last membership change applied here (0 when
    /// none was since the node started and the configuration came from
    /// storage).
    pub index: u64,
    /// Voters, learners and, while joint, the outgoing half.
    pub conf_state: ConfState,
    /// The addresses members were added with, for those added by changes
    /// this node applied (members of the initial configuration, or added
    /// before a snapshot this node was restored from, are not listed).
    pub addresses: BTreeMap<NodeId, Bytes>,
}

impl Membership {
    /// Whether `id` is a voter (of either half while joint).
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.conf_state.voters.contains(&id) || self.conf_state.voters_outgoing.contains(&id)
    }

    /// Whether `id` is a learner (or becomes one when a joint configuration
    /// is left).
    pub fn is_learner(&self, id: NodeId) -> bool {
        self.conf_state.learners.contains(&id) || self.conf_state.learners_next.contains(&id)
    }

    /// Whether the configuration is joint (a change is half done).
    pub fn is_joint(&self) -> bool {
        !self.conf_state.voters_outgoing.is_empty()
    }
}

/// Why a membership change was not made.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembershipError {
    /// Only the leader proposes changes; ask it (when known).
    #[error("not the leader{}", .leader.map(|l| format!(" (leader is {l})")).unwrap_or_default())]
    NotLeader {
        /// The leader this node knows of, if any.
        leader: Option<NodeId>,
    },
    /// Another change is not applied yet (or the configuration is joint):
    /// Raft makes one change at a time. Retry once it is applied.
    #[error("another membership change is in progress")]
    ChangeInProgress,
    /// The change would leave the group without a voter.
    #[error("the change would leave no voter")]
    NoVoterLeft,
    /// The change names a member that is not there, or adds one twice.
    #[error("invalid membership change: {reason}")]
    Invalid {
        /// What is wrong, in words.
        reason: String,
    },
    /// The change was not applied within the proposal timeout, or a new
    /// leader replaced it in the log. A timed-out change may still apply
    /// later: read [`crate::NodeHandle::membership`] before retrying.
    #[error("membership change dropped: {reason}")]
    Dropped {
        /// Why, in words.
        reason: String,
    },
    /// The node is shutting down or has stopped.
    #[error("node is shutting down")]
    ShuttingDown,
}

/// The answer a membership request waits for.
pub(crate) type Reply = oneshot::Sender<Result<Membership, MembershipError>>;

/// This node's own change, proposed and not yet applied.
struct PendingChange {
    seq: u64,
    /// Where the leader put it in the log, and in which term.
    index: u64,
    term: u64,
    deadline: u64,
    reply: Reply,
}

/// The runtime's membership bookkeeping: the current membership (published
/// on a watch) and this node's change in flight, if any.
pub(crate) struct MembershipState {
    current: Membership,
    published: watch::Sender<Membership>,
    pending: Option<PendingChange>,
}

impl MembershipState {
    pub(crate) fn new(conf_state: ConfState) -> (MembershipState, watch::Receiver<Membership>) {
        let current = Membership {
            conf_state,
            ..Membership::default()
        };
        let (published, rx) = watch::channel(current.clone());
        let state = MembershipState {
            current,
            published,
            pending: None,
        };
        (state, rx)
    }

    pub(crate) fn conf_state(&self) -> &ConfState {
        &self.current.conf_state
    }

    /// Refuses, before anything is proposed, what raft-core would refuse
    /// (or, worse, fail to apply): a change while another is in flight or
    /// the configuration is joint, one that leaves no voter, one that names
    /// members wrongly.
    pub(crate) fn check(
        &self,
        changes: &[MemberChange],
        unapplied_change_in_log: bool,
    ) -> Result<(), MembershipError> {
        if self.pending.is_some() || unapplied_change_in_log || self.current.is_joint() {
            return Err(MembershipError::ChangeInProgress);
        }
        if changes.is_empty() {
            return Err(invalid("no change given".to_string()));
        }
        let cs = &self.current.conf_state;
        let mut voters: BTreeSet<NodeId> = cs.voters.iter().copied().collect();
        let mut learners: BTreeSet<NodeId> = cs.learners.iter().copied().collect();
        let mut touched = BTreeSet::new();
        for change in changes {
            let id = change.single().node_id;
            if id == raft_core::NO_NODE {
                return Err(invalid("node id 0 is reserved".to_string()));
            }
            if !touched.insert(id) {
                return Err(invalid(format!("node {id} is changed twice")));
            }
            match change {
                MemberChange::AddVoter { .. } if voters.contains(&id) => {
                    return Err(invalid(format!("node {id} is already a voter")));
                }
                MemberChange::AddLearner { .. }
                    if voters.contains(&id) || learners.contains(&id) =>
                {
                    return Err(invalid(format!("node {id} is already a member")));
                }
                MemberChange::Promote(_) if !learners.contains(&id) => {
                    return Err(invalid(format!("node {id} is not a learner")));
                }
                MemberChange::Remove(_) if !voters.contains(&id) && !learners.contains(&id) => {
                    return Err(invalid(format!("node {id} is not a member")));
                }
                _ => {}
            }
            match change {
                MemberChange::AddVoter { .. } | MemberChange::Promote(_) => {
                    learners.remove(&id);
                    voters.insert(id);
                }
                MemberChange::AddLearner { .. } => {
                    learners.insert(id);
                }
                MemberChange::Remove(_) => {
                    voters.remove(&id);
                    learners.remove(&id);
                }
            }
        }
        if voters.is_empty() {
            return Err(MembershipError::NoVoterLeft);
        }
        Ok(())
    }

    /// Records this node's proposal of a change, placed at `index`.
    pub(crate) fn proposed(
        &mut self,
        seq: u64,
        index: u64,
        term: u64,
        deadline: u64,
        reply: Reply,
    ) {
        self.pending = Some(PendingChange {
            seq,
            index,
            term,
            deadline,
            reply,
        });
    }

    /// Fails the change in flight if its time is up.
    pub(crate) fn expire(&mut self, now: u64, timeout_ticks: u64) {
        if self.pending.as_ref().is_some_and(|p| p.deadline <= now) {
            self.fail(MembershipError::Dropped {
                reason: format!("not applied within {timeout_ticks} ticks"),
            });
        }
    }

    pub(crate) fn fail(&mut self, error: MembershipError) {
        if let Some(p) = self.pending.take() {
            let _ = p.reply.send(Err(error));
        }
    }

    /// Sees every applied entry: the one at our change's index that is not
    /// our change means the leader refused it (an empty entry in the same
    /// term) or a new leader overwrote it.
    pub(crate) fn entry_applied(&mut self, me: NodeId, entry: &Entry) {
        let Some(p) = &self.pending else { return };
        if entry.index != p.index {
            return;
        }
        if entry.entry_type.is_conf_change() && proposer_of(entry) == Some((me, p.seq)) {
            // Answered once raft-core has applied it (`conf_changed`).
            return;
        }
        let error = if entry.entry_type == EntryType::EntryNormal
            && entry.data.is_empty()
            && entry.term == p.term
        {
            MembershipError::ChangeInProgress
        } else {
            MembershipError::Dropped {
                reason: format!("entry {} was replaced by a new leader", entry.index),
            }
        };
        self.fail(error);
    }

    /// Takes the configuration a committed change led to: publishes it with
    /// the addresses the change carried, and answers our caller if the
    /// change was ours. Returns whether it added a member.
    pub(crate) fn conf_changed(
        &mut self,
        me: NodeId,
        entry: &Entry,
        conf_state: &ConfState,
    ) -> bool {
        let before = members(&self.current.conf_state);
        let decoded = decode_context(&context_of(entry));
        self.current.index = entry.index;
        self.current.conf_state = conf_state.clone();
        if let Some((_, addresses)) = &decoded {
            for (id, address) in addresses {
                self.current.addresses.insert(*id, address.clone());
            }
        }
        let after = members(conf_state);
        self.current.addresses.retain(|id, _| after.contains(id));
        tracing::info!(
            id = me,
            index = entry.index,
            voters = ?conf_state.voters,
            learners = ?conf_state.learners,
            outgoing = ?conf_state.voters_outgoing,
            "membership changed"
        );
        self.published.send_replace(self.current.clone());
        let ours = decoded.map(|(id, _)| (id.node, id.seq));
        if let Some(p) = self.pending.take_if(|p| Some((me, p.seq)) == ours) {
            let _ = p.reply.send(Ok(self.current.clone()));
        }
        !after.is_subset(&before)
    }

    /// Takes the configuration of a snapshot the state machine was restored
    /// from: changes up to it arrive in it, not one by one.
    pub(crate) fn restored(&mut self, index: u64, conf_state: &ConfState) {
        self.current.index = index;
        self.current.conf_state = conf_state.clone();
        self.published.send_replace(self.current.clone());
    }
}

/// Whether `id` is in `cs`, as voter or learner.
pub(crate) fn is_member(cs: &ConfState, id: NodeId) -> bool {
    members(cs).contains(&id)
}

/// Every member of `cs`, voter or learner, of either half.
fn members(cs: &ConfState) -> BTreeSet<NodeId> {
    cs.voters
        .iter()
        .chain(&cs.voters_outgoing)
        .chain(&cs.learners)
        .chain(&cs.learners_next)
        .copied()
        .collect()
}

fn invalid(reason: String) -> MembershipError {
    MembershipError::Invalid { reason }
}

/// The request raft-core is given for `changes`: a simple change for one,
/// a joint change (left by raft-core itself) for several.
pub(crate) fn to_conf_change(id: ProposalId, changes: &[MemberChange]) -> ConfChangeV2 {
    let singles: Vec<ConfChangeSingle> = changes.iter().map(MemberChange::single).collect();
    let mut cc = ConfChangeV2::new(ConfChangeTransition::Auto, singles);
    let addresses: Vec<(NodeId, &Bytes)> =
        changes.iter().filter_map(MemberChange::address).collect();
    cc.context = encode_context(id, &addresses);
    cc
}

const CONTEXT_VERSION: u8 = 0xc1;

/// Context layout: version, proposer id, sequence, count, then per member
/// its id, address length (u32) and address.
fn encode_context(id: ProposalId, addresses: &[(NodeId, &Bytes)]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_u8(CONTEXT_VERSION);
    b.put_u64(id.node);
    b.put_u64(id.seq);
    b.put_u32(addresses.len() as u32);
    for (node, address) in addresses {
        b.put_u64(*node);
        b.put_u32(address.len() as u32);
        b.put_slice(address);
    }
    b.freeze()
}

/// Reads a context this runtime wrote; `None` for anything else (a change
/// proposed by another program, or damaged), which then carries no
/// addresses and answers nobody.
fn decode_context(context: &Bytes) -> Option<(ProposalId, Vec<(NodeId, Bytes)>)> {
    let mut b = context.clone();
    if b.remaining() < 1 + 8 + 8 + 4 || b.get_u8() != CONTEXT_VERSION {
        return None;
    }
    let id = ProposalId {
        node: b.get_u64(),
        seq: b.get_u64(),
    };
    let count = b.get_u32();
    let mut addresses = Vec::new();
    for _ in 0..count {
        if b.remaining() < 12 {
            return None;
        }
        let node = b.get_u64();
        let len = b.get_u32() as usize;
        if b.remaining() < len {
            return None;
        }
        addresses.push((node, b.split_to(len)));
    }
    Some((id, addresses))
}

fn proposer_of(entry: &Entry) -> Option<(NodeId, u64)> {
    decode_context(&context_of(entry)).map(|(id, _)| (id.node, id.seq))
}

/// The context of the change `entry` carries; empty if it carries none.
fn context_of(entry: &Entry) -> Bytes {
    match AnyConfChange::from_entry(entry) {
        Ok(Some(AnyConfChange::V1(cc))) => cc.context,
        Ok(Some(AnyConfChange::V2(cc))) => cc.context,
        _ => Bytes::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_round_trips_and_refuses_garbage() {
        let id = ProposalId { node: 3, seq: 42 };
        let a = Bytes::from_static(b"10.0.0.4:7000");
        let encoded = encode_context(id, &[(4, &a)]);
        let (got, addresses) = decode_context(&encoded).unwrap();
        assert_eq!(got, id);
        assert_eq!(addresses, vec![(4, a)]);
        assert!(decode_context(&encoded.slice(..encoded.len() - 1)).is_none());
        assert!(decode_context(&Bytes::from_static(b"hello")).is_none());
    }

    #[test]
    fn checks_refuse_what_raft_would() {
        let (mut state, _rx) = MembershipState::new(ConfState::with_voters_and_learners([1], [2]));
        let add = |id| MemberChange::AddVoter {
            id,
            address: Bytes::new(),
        };
        assert_eq!(
            state.check(&[MemberChange::Remove(1)], false),
            Err(MembershipError::NoVoterLeft)
        );
        assert_eq!(
            state.check(&[MemberChange::Remove(1), MemberChange::Promote(2)], false),
            Ok(())
        );
        assert!(matches!(
            state.check(&[MemberChange::Promote(3)], false),
            Err(MembershipError::Invalid { .. })
        ));
        assert!(matches!(
            state.check(&[add(1)], false),
            Err(MembershipError::Invalid { .. })
        ));
        assert!(matches!(
            state.check(&[add(3), add(3)], false),
            Err(MembershipError::Invalid { .. })
        ));
        assert_eq!(
            state.check(&[add(3)], true),
            Err(MembershipError::ChangeInProgress)
        );
        state.current.conf_state.voters_outgoing = vec![1];
        assert_eq!(
            state.check(&[add(3)], false),
            Err(MembershipError::ChangeInProgress)
        );
    }
}
