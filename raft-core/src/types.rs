//! The plain data the protocol moves around: log entries, hard and soft state,
//! roles and the voter set.

use bytes::Bytes;
use std::fmt;

/// A node's identity within one Raft group. `0` is reserved: it means "no node"
/// (no leader known, no vote cast), exactly as etcd's `None`.
pub type NodeId = u64;

/// The reserved id that stands for "nobody".
pub const NO_NODE: NodeId = 0;

/// What an entry's payload means to the application.
///
/// The numeric values are etcd's `raftpb.EntryType`, so that a wire format can
/// stay compatible with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum EntryType {
    /// An application command (or the empty entry a new leader appends).
    #[default]
    EntryNormal = 0,
    /// A [`crate::ConfChange`] (one membership change), encoded as etcd's
    /// `raftpb.ConfChange`.
    EntryConfChange = 1,
    /// A [`crate::ConfChangeV2`] (any number of changes, possibly through a
    /// joint configuration), encoded as etcd's `raftpb.ConfChangeV2`.
    EntryConfChangeV2 = 2,
}

impl EntryType {
    /// The etcd name, as it appears in etcd's debug output.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::EntryNormal => "EntryNormal",
            EntryType::EntryConfChange => "EntryConfChange",
            EntryType::EntryConfChangeV2 => "EntryConfChangeV2",
        }
    }

    /// Parses the etcd wire value.
    pub fn from_u8(value: u8) -> Option<EntryType> {
        match value {
            0 => Some(EntryType::EntryNormal),
            1 => Some(EntryType::EntryConfChange),
            2 => Some(EntryType::EntryConfChangeV2),
            _ => None,
        }
    }
}

impl EntryType {
    /// Whether entries of this type carry a membership change.
    pub fn is_conf_change(self) -> bool {
        matches!(
            self,
            EntryType::EntryConfChange | EntryType::EntryConfChangeV2
        )
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One slot of the replicated log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// The term of the leader that created the entry.
    pub term: u64,
    /// The entry's position in the log, from 1.
    pub index: u64,
    /// What the payload holds.
    pub entry_type: EntryType,
    /// The application payload; empty for a leader's no-op entry.
    pub data: Bytes,
}

impl Entry {
    /// A normal entry carrying `data`, with term and index still unassigned
    /// (the leader assigns both when it appends a proposal).
    pub fn new(data: impl Into<Bytes>) -> Entry {
        Entry {
            data: data.into(),
            ..Entry::default()
        }
    }

    /// The size etcd charges for this entry against `max_size_per_msg` and
    /// `max_committed_size_per_ready`: the length of its protobuf encoding in
    /// etcd's `raftpb.Entry`. Matching it byte for byte keeps message batching
    /// identical to etcd, which the conformance suite checks.
    pub fn encoded_size(&self) -> u64 {
        // Term and index are always present; type only when not the default
        // (etcd leaves it unset on proposals); data only when non-empty.
        let mut size = 1 + varint_len(self.term) + 1 + varint_len(self.index);
        if self.entry_type != EntryType::EntryNormal {
            size += 1 + varint_len(self.entry_type as u64);
        }
        if !self.data.is_empty() {
            let len = self.data.len() as u64;
            size += 1 + varint_len(len) + len;
        }
        size
    }

    /// The bytes of application payload, which is what the uncommitted-size
    /// and in-flight byte limits count.
    pub fn payload_size(&self) -> u64 {
        self.data.len() as u64
    }
}

/// Length of `v` as a protobuf varint.
pub(crate) fn varint_len(v: u64) -> u64 {
    let bits = 64 - (v | 1).leading_zeros() as u64;
    bits.div_ceil(7)
}

/// Identifies an entry by its term and index: by the log matching property,
/// two logs holding the same `(term, index)` agree on everything up to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntryId {
    /// The entry's term.
    pub term: u64,
    /// The entry's index.
    pub index: u64,
}

/// The state that must be durable before a node answers anyone: its term,
/// whom it voted for in that term, and how far it knows the log is committed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    /// The latest term the node has seen.
    pub term: u64,
    /// The candidate voted for in `term` (`NO_NODE` for none).
    pub vote: NodeId,
    /// The highest index known to be committed.
    pub commit: u64,
}

impl HardState {
    /// True for the all-zero state a brand new node starts with.
    pub fn is_empty(&self) -> bool {
        *self == HardState::default()
    }
}

/// The role a node plays in its current term.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows a leader, or waits for one to appear; the starting role.
    #[default]
    Follower,
    /// Asking for pre-votes at `term + 1` without having changed its term.
    PreCandidate,
    /// Campaigning in its own term for votes.
    Candidate,
    /// Leads the term: the only role that accepts proposals.
    Leader,
}

impl Role {
    /// etcd's name for the role (`StateFollower`, ...), used in its output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "StateFollower",
            Role::PreCandidate => "StatePreCandidate",
            Role::Candidate => "StateCandidate",
            Role::Leader => "StateLeader",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Volatile state worth reporting to the application: who leads, and our role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftState {
    /// The leader this node knows of (`NO_NODE` for none).
    pub leader: NodeId,
    /// The node's role.
    pub role: Role,
}

/// The group's membership as stored with the log and in snapshots: etcd's
/// `raftpb.ConfState`.
///
/// Outside a joint configuration `voters_outgoing` and `learners_next` are
/// empty and `auto_leave` is false. All lists are ascending.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfState {
    /// The voters of the incoming configuration, whose majority decides
    /// elections and commits (together with the outgoing one's, while joint).
    pub voters: Vec<NodeId>,
    /// Members that receive the log but never vote nor count in a quorum.
    pub learners: Vec<NodeId>,
    /// The voters of the outgoing configuration; empty unless joint.
    pub voters_outgoing: Vec<NodeId>,
    /// Outgoing voters that become learners when the joint configuration is
    /// left (they cannot be both voter and learner meanwhile).
    pub learners_next: Vec<NodeId>,
    /// While joint: raft-core leaves the joint configuration by itself once
    /// it is applied, instead of waiting for the application to ask.
    pub auto_leave: bool,
}

impl ConfState {
    /// A membership of exactly `voters`.
    pub fn with_voters(voters: impl IntoIterator<Item = NodeId>) -> ConfState {
        ConfState {
            voters: voters.into_iter().collect(),
            ..ConfState::default()
        }
    }

    /// A membership of `voters` and `learners`.
    pub fn with_voters_and_learners(
        voters: impl IntoIterator<Item = NodeId>,
        learners: impl IntoIterator<Item = NodeId>,
    ) -> ConfState {
        ConfState {
            voters: voters.into_iter().collect(),
            learners: learners.into_iter().collect(),
            ..ConfState::default()
        }
    }

    /// Whether `id` is a member in any role (voter on either side, learner,
    /// or learner to be).
    pub fn contains(&self, id: NodeId) -> bool {
        self.voters.contains(&id)
            || self.learners.contains(&id)
            || self.voters_outgoing.contains(&id)
            || self.learners_next.contains(&id)
    }

    /// Whether both describe the same membership, whatever the order of the
    /// ids in each list.
    pub fn equivalent(&self, other: &ConfState) -> bool {
        fn sorted(v: &[NodeId]) -> Vec<NodeId> {
            let mut v = v.to_vec();
            v.sort_unstable();
            v.dedup();
            v
        }
        sorted(&self.voters) == sorted(&other.voters)
            && sorted(&self.learners) == sorted(&other.learners)
            && sorted(&self.voters_outgoing) == sorted(&other.voters_outgoing)
            && sorted(&self.learners_next) == sorted(&other.learners_next)
            && self.auto_leave == other.auto_leave
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths_match_protobuf() {
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(16_383), 2);
        assert_eq!(varint_len(16_384), 3);
        assert_eq!(varint_len(u64::MAX), 10);
    }

    #[test]
    fn encoded_size_counts_fields_like_etcd() {
        // Empty leader entry at 1/3: term(2 bytes) + index(2 bytes).
        let empty = Entry {
            term: 1,
            index: 3,
            ..Entry::default()
        };
        assert_eq!(empty.encoded_size(), 4);
        // A proposal "prop_1_12" adds tag + length + 9 bytes.
        let prop = Entry {
            term: 1,
            index: 12,
            data: Bytes::from_static(b"prop_1_12"),
            ..Entry::default()
        };
        assert_eq!(prop.encoded_size(), 4 + 11);
        assert_eq!(prop.payload_size(), 9);
    }
}
