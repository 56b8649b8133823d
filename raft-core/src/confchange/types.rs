//! Membership change requests as etcd's `raftpb` defines them, their
//! protobuf encoding (the payload of `EntryConfChange` and
//! `EntryConfChangeV2` entries, byte-compatible with etcd) and etcd's
//! one-token-per-change notation (`v2 l3 r1 u4`).

use super::protobuf::{put_bytes, put_uint, Reader, Value};
use super::ConfChangeError;
use crate::types::{EntryType, NodeId};
use bytes::Bytes;
use std::fmt;

/// What one change does to one node (etcd's `ConfChangeType`; the
/// discriminants are its wire values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum ConfChangeType {
    /// Make the node a voter (adding it, or promoting a learner).
    #[default]
    AddNode = 0,
    /// Remove the node from the group.
    RemoveNode = 1,
    /// Change nothing in raft (the application updates, e.g., an address).
    UpdateNode = 2,
    /// Make the node a learner (adding it, or demoting a voter).
    AddLearnerNode = 3,
}

impl ConfChangeType {
    /// etcd's name, e.g. `ConfChangeAddNode`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfChangeType::AddNode => "ConfChangeAddNode",
            ConfChangeType::RemoveNode => "ConfChangeRemoveNode",
            ConfChangeType::UpdateNode => "ConfChangeUpdateNode",
            ConfChangeType::AddLearnerNode => "ConfChangeAddLearnerNode",
        }
    }

    fn from_wire(v: u64) -> Result<ConfChangeType, ConfChangeError> {
        Ok(match v {
            0 => ConfChangeType::AddNode,
            1 => ConfChangeType::RemoveNode,
            2 => ConfChangeType::UpdateNode,
            3 => ConfChangeType::AddLearnerNode,
            _ => return Err(ConfChangeError::Decode(format!("unknown change type {v}"))),
        })
    }

    /// The letter of etcd's token notation.
    fn token(self) -> char {
        match self {
            ConfChangeType::AddNode => 'v',
            ConfChangeType::RemoveNode => 'r',
            ConfChangeType::UpdateNode => 'u',
            ConfChangeType::AddLearnerNode => 'l',
        }
    }
}

/// How a [`ConfChangeV2`] moves between configurations (etcd's
/// `ConfChangeTransition`; the discriminants are its wire values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum ConfChangeTransition {
    /// A single change is applied directly; several go through a joint
    /// configuration that raft-core leaves by itself.
    #[default]
    Auto = 0,
    /// Always through a joint configuration, left by raft-core.
    JointImplicit = 1,
    /// Always through a joint configuration, left only when the application
    /// proposes an empty [`ConfChangeV2`].
    JointExplicit = 2,
}

impl ConfChangeTransition {
    fn from_wire(v: u64) -> Result<ConfChangeTransition, ConfChangeError> {
        Ok(match v {
            0 => ConfChangeTransition::Auto,
            1 => ConfChangeTransition::JointImplicit,
            2 => ConfChangeTransition::JointExplicit,
            _ => return Err(ConfChangeError::Decode(format!("unknown transition {v}"))),
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            ConfChangeTransition::Auto => "ConfChangeTransitionAuto",
            ConfChangeTransition::JointImplicit => "ConfChangeTransitionJointImplicit",
            ConfChangeTransition::JointExplicit => "ConfChangeTransitionJointExplicit",
        }
    }
}

/// One change of a [`ConfChangeV2`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConfChangeSingle {
    /// What happens to the node.
    pub change_type: ConfChangeType,
    /// The node; 0 makes the change a no-op (etcd's way to cancel one).
    pub node_id: NodeId,
}

impl ConfChangeSingle {
    /// A change of `change_type` for `node_id`.
    pub fn new(change_type: ConfChangeType, node_id: NodeId) -> ConfChangeSingle {
        ConfChangeSingle {
            change_type,
            node_id,
        }
    }
}

/// A single membership change (etcd's `ConfChange`, "v1"). Proposed as an
/// `EntryConfChange`, which nodes that know only v1 changes understand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfChange {
    /// What happens to the node.
    pub change_type: ConfChangeType,
    /// The node concerned.
    pub node_id: NodeId,
    /// Opaque to raft-core; handed back to the application when applied.
    pub context: Bytes,
    /// etcd's request id; opaque to raft-core.
    pub id: u64,
}

impl ConfChange {
    /// A change of `change_type` for `node_id`, without context.
    pub fn new(change_type: ConfChangeType, node_id: NodeId) -> ConfChange {
        ConfChange {
            change_type,
            node_id,
            ..ConfChange::default()
        }
    }

    /// The same change as a [`ConfChangeV2`] (the form raft-core applies).
    pub fn as_v2(&self) -> ConfChangeV2 {
        ConfChangeV2 {
            transition: ConfChangeTransition::Auto,
            changes: vec![ConfChangeSingle::new(self.change_type, self.node_id)],
            context: self.context.clone(),
        }
    }

    /// etcd's protobuf encoding.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(8 + self.context.len());
        if self.id != 0 {
            put_uint(&mut out, 1, self.id);
        }
        put_uint(&mut out, 2, self.change_type as u64);
        put_uint(&mut out, 3, self.node_id);
        if !self.context.is_empty() {
            put_bytes(&mut out, 4, &self.context);
        }
        out.into()
    }

    /// Decodes etcd's protobuf encoding; fields it does not know are skipped.
    pub fn decode(data: &[u8]) -> Result<ConfChange, ConfChangeError> {
        let mut cc = ConfChange::default();
        let mut r = Reader { data };
        while let Some((field, value)) = r.field()? {
            match (field, value) {
                (1, Value::Uint(v)) => cc.id = v,
                (2, Value::Uint(v)) => cc.change_type = ConfChangeType::from_wire(v)?,
                (3, Value::Uint(v)) => cc.node_id = v,
                (4, Value::Bytes(b)) => cc.context = Bytes::copy_from_slice(b),
                (1..=4, _) => return Err(wrong_wire_type(field)),
                _ => {}
            }
        }
        Ok(cc)
    }
}

/// Any number of membership changes applied at once (etcd's
/// `ConfChangeV2`). With no changes it asks to leave a joint configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfChangeV2 {
    /// Whether and how to go through a joint configuration.
    pub transition: ConfChangeTransition,
    /// The changes, applied in order.
    pub changes: Vec<ConfChangeSingle>,
    /// Opaque to raft-core; handed back to the application when applied.
    pub context: Bytes,
}

impl ConfChangeV2 {
    /// `changes` with `transition`, without context.
    pub fn new(
        transition: ConfChangeTransition,
        changes: impl IntoIterator<Item = ConfChangeSingle>,
    ) -> ConfChangeV2 {
        ConfChangeV2 {
            transition,
            changes: changes.into_iter().collect(),
            context: Bytes::new(),
        }
    }

    /// The empty change that leaves a joint configuration.
    pub fn leave_joint() -> ConfChangeV2 {
        ConfChangeV2::default()
    }

    /// Whether this change enters a joint configuration, and if so whether
    /// raft-core leaves it by itself (`Some(auto_leave)`). A single change
    /// with the automatic transition is applied directly (`None`).
    pub fn enter_joint(&self) -> Option<bool> {
        if self.transition == ConfChangeTransition::Auto && self.changes.len() <= 1 {
            return None;
        }
        Some(self.transition != ConfChangeTransition::JointExplicit)
    }

    /// Whether this is the empty change that leaves a joint configuration.
    pub fn leaves_joint(&self) -> bool {
        self.transition == ConfChangeTransition::Auto && self.changes.is_empty()
    }

    /// etcd's protobuf encoding. The empty change encodes to no bytes, as
    /// the leader's automatic leave does in etcd.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::new();
        if self.transition != ConfChangeTransition::Auto {
            put_uint(&mut out, 1, self.transition as u64);
        }
        for c in &self.changes {
            let mut single = Vec::with_capacity(12);
            put_uint(&mut single, 1, c.change_type as u64);
            put_uint(&mut single, 2, c.node_id);
            put_bytes(&mut out, 2, &single);
        }
        if !self.context.is_empty() {
            put_bytes(&mut out, 3, &self.context);
        }
        out.into()
    }

    /// Decodes etcd's protobuf encoding; fields it does not know are skipped.
    pub fn decode(data: &[u8]) -> Result<ConfChangeV2, ConfChangeError> {
        let mut cc = ConfChangeV2::default();
        let mut r = Reader { data };
        while let Some((field, value)) = r.field()? {
            match (field, value) {
                (1, Value::Uint(v)) => cc.transition = ConfChangeTransition::from_wire(v)?,
                (2, Value::Bytes(b)) => cc.changes.push(decode_single(b)?),
                (3, Value::Bytes(b)) => cc.context = Bytes::copy_from_slice(b),
                (1..=3, _) => return Err(wrong_wire_type(field)),
                _ => {}
            }
        }
        Ok(cc)
    }

    /// Parses etcd's token notation: space-separated `v<id>` (add voter),
    /// `l<id>` (add learner), `r<id>` (remove), `u<id>` (update).
    pub fn changes_from_tokens(s: &str) -> Result<Vec<ConfChangeSingle>, ConfChangeError> {
        s.split_whitespace()
            .map(|tok| {
                // etcd's checks and messages, in its order.
                if tok.len() < 2 {
                    return Err(ConfChangeError::Token(tok.to_string()));
                }
                let mut chars = tok.chars();
                let change_type = match chars.next() {
                    Some('v') => ConfChangeType::AddNode,
                    Some('l') => ConfChangeType::AddLearnerNode,
                    Some('r') => ConfChangeType::RemoveNode,
                    Some('u') => ConfChangeType::UpdateNode,
                    _ => return Err(ConfChangeError::UnknownInput(tok.to_string())),
                };
                let id = chars.as_str();
                let node_id = id.parse().map_err(|_| {
                    ConfChangeError::NodeId(crate::describe::go_quote(id.as_bytes()))
                })?;
                Ok(ConfChangeSingle::new(change_type, node_id))
            })
            .collect()
    }

    /// The changes in etcd's token notation, e.g. `v2 v3` (empty for none).
    pub fn tokens(&self) -> String {
        let mut s = String::new();
        for (i, c) in self.changes.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push(c.change_type.token());
            s.push_str(&c.node_id.to_string());
        }
        s
    }
}

/// etcd's `DescribeConfChange`:
/// `transition:ConfChangeTransitionAuto changes:{type:ConfChangeAddNode node_id:2}`.
impl fmt::Display for ConfChangeV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transition:{}", self.transition.as_str())?;
        for c in &self.changes {
            write!(
                f,
                " changes:{{type:{} node_id:{}}}",
                c.change_type.as_str(),
                c.node_id
            )?;
        }
        if !self.context.is_empty() {
            write!(f, " context:{}", crate::describe::go_quote(&self.context))?;
        }
        Ok(())
    }
}

impl From<ConfChange> for ConfChangeV2 {
    fn from(cc: ConfChange) -> ConfChangeV2 {
        cc.as_v2()
    }
}

/// A membership change of either version, as proposed: the version decides
/// the entry type, so that groups with nodes that know only v1 changes can
/// keep using them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnyConfChange {
    /// A single change, proposed as `EntryConfChange`.
    V1(ConfChange),
    /// Any changes, proposed as `EntryConfChangeV2`.
    V2(ConfChangeV2),
}

impl AnyConfChange {
    /// The change as raft-core applies it.
    pub fn as_v2(&self) -> ConfChangeV2 {
        match self {
            AnyConfChange::V1(cc) => cc.as_v2(),
            AnyConfChange::V2(cc) => cc.clone(),
        }
    }

    /// The entry type and payload that carry this change in the log.
    pub fn to_entry_data(&self) -> (EntryType, Bytes) {
        match self {
            AnyConfChange::V1(cc) => (EntryType::EntryConfChange, cc.encode()),
            AnyConfChange::V2(cc) => (EntryType::EntryConfChangeV2, cc.encode()),
        }
    }

    /// Decodes the change an entry carries; `None` for a normal entry.
    pub fn from_entry(
        entry: &crate::types::Entry,
    ) -> Result<Option<AnyConfChange>, ConfChangeError> {
        Ok(match entry.entry_type {
            EntryType::EntryNormal => None,
            EntryType::EntryConfChange => Some(AnyConfChange::V1(ConfChange::decode(&entry.data)?)),
            EntryType::EntryConfChangeV2 => {
                Some(AnyConfChange::V2(ConfChangeV2::decode(&entry.data)?))
            }
        })
    }
}

impl From<ConfChange> for AnyConfChange {
    fn from(cc: ConfChange) -> AnyConfChange {
        AnyConfChange::V1(cc)
    }
}

impl From<ConfChangeV2> for AnyConfChange {
    fn from(cc: ConfChangeV2) -> AnyConfChange {
        AnyConfChange::V2(cc)
    }
}

fn decode_single(data: &[u8]) -> Result<ConfChangeSingle, ConfChangeError> {
    let mut c = ConfChangeSingle::default();
    let mut r = Reader { data };
    while let Some((field, value)) = r.field()? {
        match (field, value) {
            (1, Value::Uint(v)) => c.change_type = ConfChangeType::from_wire(v)?,
            (2, Value::Uint(v)) => c.node_id = v,
            (1..=2, _) => return Err(wrong_wire_type(field)),
            _ => {}
        }
    }
    Ok(c)
}

fn wrong_wire_type(field: u64) -> ConfChangeError {
    ConfChangeError::Decode(format!("field {field} has the wrong wire type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_encodes_like_etcd() {
        // etcd's harness: ConfChange{Type: AddNode, NodeId: 2} marshals to
        // type (field 2) and node id (field 3), both present.
        let cc = ConfChange::new(ConfChangeType::AddNode, 2);
        assert_eq!(&cc.encode()[..], &[0x10, 0x00, 0x18, 0x02]);
        assert_eq!(ConfChange::decode(&cc.encode()).unwrap(), cc);
        let full = ConfChange {
            id: 300,
            context: Bytes::from_static(b"ctx"),
            ..ConfChange::new(ConfChangeType::RemoveNode, 7)
        };
        assert_eq!(ConfChange::decode(&full.encode()).unwrap(), full);
    }

    #[test]
    fn v2_round_trips_and_the_empty_change_is_empty() {
        let cc = ConfChangeV2::new(
            ConfChangeTransition::JointExplicit,
            ConfChangeV2::changes_from_tokens("v2 l3 r1 u4").unwrap(),
        );
        assert_eq!(cc.tokens(), "v2 l3 r1 u4");
        assert_eq!(ConfChangeV2::decode(&cc.encode()).unwrap(), cc);
        assert!(ConfChangeV2::leave_joint().encode().is_empty());
        assert!(ConfChangeV2::decode(&[]).unwrap().leaves_joint());
        // etcd always marks the transition present: [0x08, 0x00] decodes to
        // the same empty change.
        assert!(ConfChangeV2::decode(&[0x08, 0x00]).unwrap().leaves_joint());
    }

    #[test]
    fn transitions_decide_joint_and_auto_leave() {
        let one = ConfChangeV2::changes_from_tokens("v2").unwrap();
        let two = ConfChangeV2::changes_from_tokens("v2 v3").unwrap();
        let t = |tr, ch: &Vec<ConfChangeSingle>| ConfChangeV2::new(tr, ch.clone()).enter_joint();
        assert_eq!(t(ConfChangeTransition::Auto, &one), None);
        assert_eq!(t(ConfChangeTransition::Auto, &two), Some(true));
        assert_eq!(t(ConfChangeTransition::JointImplicit, &one), Some(true));
        assert_eq!(t(ConfChangeTransition::JointExplicit, &one), Some(false));
        assert!(!ConfChangeV2::new(ConfChangeTransition::JointExplicit, []).leaves_joint());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            &[0x10][..],
            &[0x12, 0x05, 0x01],
            &[0xff; 11],
            &[0x10, 0x09],
            &[0x0f],
        ] {
            assert!(ConfChange::decode(bad).is_err(), "{bad:?}");
            assert!(ConfChangeV2::decode(bad).is_err(), "{bad:?}");
        }
        let err = |s| {
            ConfChangeV2::changes_from_tokens(s)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err("v"), "unknown token v");
        assert_eq!(err("x2"), "unknown input: x2");
        assert_eq!(
            err("vv"),
            "strconv.ParseUint: parsing \"v\": invalid syntax"
        );
        assert_eq!(
            err("r-1"),
            "strconv.ParseUint: parsing \"-1\": invalid syntax"
        );
        assert!(ConfChangeV2::changes_from_tokens("  ").unwrap().is_empty());
    }

    #[test]
    fn describes_like_etcd() {
        let cc = ConfChange::new(ConfChangeType::RemoveNode, 1).as_v2();
        assert_eq!(
            cc.to_string(),
            "transition:ConfChangeTransitionAuto changes:{type:ConfChangeRemoveNode node_id:1}"
        );
    }
}
