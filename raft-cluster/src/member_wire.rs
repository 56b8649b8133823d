//! The client port's membership request and its answer, as bytes.
//!
//! A membership request is the length word [`MEMBER_REQUEST`], then a u32
//! body length (at most [`MAX_MEMBER_REQUEST`]) and the body: an op byte
//! (0 list, 1 add voter, 2 add learner, 3 promote, 4 remove), then for the
//! adds a u64 id, a u16 address length and the address (UTF-8, at most
//! [`MAX_ADDRESS`] bytes), for promote and remove a u64 id.
//!
//! The answer is a tag byte, a u32 body length (at most
//! [`MAX_MEMBER_ANSWER`]) and the body: for [`MemberAnswer::Members`] the
//! membership (see [`MemberList`]), for a refusal its kind and reason, for
//! "not the leader" the leader's id (0 if unknown).
//!
//! Both sides decode from a bounded buffer with typed errors: nothing a
//! peer sends makes the other allocate more than the bounds or panic.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use raft_core::NodeId;
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The length word of a membership request (a body follows).
pub const MEMBER_REQUEST: u32 = u32::MAX - 2;
/// The largest membership request body.
pub const MAX_MEMBER_REQUEST: u32 = 1024;
/// The largest membership answer body.
pub const MAX_MEMBER_ANSWER: u32 = 1 << 20;
/// The longest member address, in bytes.
pub const MAX_ADDRESS: usize = 512;
/// The most members one list may name, per kind.
const MAX_MEMBERS: u32 = 4096;
/// The longest refusal reason, in bytes (longer ones are cut).
const MAX_REASON: usize = 4096;

/// A membership operation asked of the leader through its client port.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberRequest {
    /// The membership the leader has applied.
    List,
    /// Adds a voter reachable (by its peers) at `address`.
    AddVoter {
        /// The new member's id.
        id: NodeId,
        /// Its peer address, e.g. `10.0.0.4:7001`.
        address: String,
    },
    /// Adds a learner reachable at `address`.
    AddLearner {
        /// The new member's id.
        id: NodeId,
        /// Its peer address.
        address: String,
    },
    /// Makes a learner a voter.
    Promote(NodeId),
    /// Removes a voter or learner.
    Remove(NodeId),
}

/// The membership a node has applied, as the client port reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberList {
    /// The log index of the last change applied (0 if none since start).
    pub index: u64,
    /// Voters (the incoming half while joint).
    pub voters: Vec<NodeId>,
    /// Learners.
    pub learners: Vec<NodeId>,
    /// While joint: the outgoing voters (empty otherwise).
    pub voters_outgoing: Vec<NodeId>,
    /// While joint: voters that become learners when it is left.
    pub learners_next: Vec<NodeId>,
    /// Each member's peer address, where the node knows it.
    pub addresses: BTreeMap<NodeId, String>,
}

impl MemberList {
    /// Whether a change is half done (joint consensus).
    pub fn is_joint(&self) -> bool {
        !self.voters_outgoing.is_empty()
    }
}

impl fmt::Display for MemberList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "voters {:?}, learners {:?}", self.voters, self.learners)?;
        if self.is_joint() {
            write!(
                f,
                " (joint: outgoing voters {:?}, learners next {:?})",
                self.voters_outgoing, self.learners_next
            )?;
        }
        write!(f, " as of index {}", self.index)
    }
}

/// Why the leader refused a membership change.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberRefusal {
    /// Another change is not applied yet, or the configuration is joint.
    #[error("another membership change is in progress; retry once it is applied")]
    ChangeInProgress,
    /// The change would leave the group without a voter.
    #[error("refused: the change would leave no voter")]
    NoVoterLeft,
    /// The change names members wrongly.
    #[error("invalid membership change: {0}")]
    Invalid(String),
    /// The change was not applied in time, or was overwritten; it may
    /// still apply: list the members before retrying.
    #[error("membership change dropped ({0}); list the members before retrying")]
    Dropped(String),
}

/// A node's answer to a membership request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberAnswer {
    /// The membership after the change (or as it is, for a list).
    Members(MemberList),
    /// The node does not lead; it names the leader when it knows one.
    NotLeader(Option<NodeId>),
    /// The leader refused the change.
    Refused(MemberRefusal),
    /// The node is stopping.
    ShuttingDown,
}

/// Bytes that are not a well-formed membership request or answer.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The body ended before a field.
    #[error("membership message truncated")]
    Truncated,
    /// Bytes were left after the last field.
    #[error("{0} bytes after the end of a membership message")]
    Trailing(usize),
    /// An unknown op or tag.
    #[error("unknown membership {what} {value}")]
    Unknown {
        /// Which field.
        what: &'static str,
        /// Its value.
        value: u8,
    },
    /// A length over its bound.
    #[error("membership {what} of {len} over the limit of {max}")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: u64,
        /// The bound.
        max: u64,
    },
    /// An address or reason that is not UTF-8.
    #[error("membership {0} is not UTF-8")]
    NotUtf8(&'static str),
}

const OP_LIST: u8 = 0;
const OP_ADD_VOTER: u8 = 1;
const OP_ADD_LEARNER: u8 = 2;
const OP_PROMOTE: u8 = 3;
const OP_REMOVE: u8 = 4;

const TAG_MEMBERS: u8 = 0;
const TAG_NOT_LEADER: u8 = 1;
const TAG_REFUSED: u8 = 2;
const TAG_SHUTTING_DOWN: u8 = 3;

const REFUSED_IN_PROGRESS: u8 = 0;
const REFUSED_NO_VOTER: u8 = 1;
const REFUSED_INVALID: u8 = 2;
const REFUSED_DROPPED: u8 = 3;

impl MemberRequest {
    /// The request body (what follows the length word and body length).
    pub fn encode(&self) -> Result<Bytes, WireError> {
        let mut b = BytesMut::new();
        match self {
            MemberRequest::List => b.put_u8(OP_LIST),
            MemberRequest::AddVoter { id, address } | MemberRequest::AddLearner { id, address } => {
                let op = match self {
                    MemberRequest::AddVoter { .. } => OP_ADD_VOTER,
                    _ => OP_ADD_LEARNER,
                };
                if address.len() > MAX_ADDRESS {
                    return Err(too_long("address", address.len(), MAX_ADDRESS));
                }
                b.put_u8(op);
                b.put_u64(*id);
                b.put_u16(address.len() as u16);
                b.put_slice(address.as_bytes());
            }
            MemberRequest::Promote(id) => {
                b.put_u8(OP_PROMOTE);
                b.put_u64(*id);
            }
            MemberRequest::Remove(id) => {
                b.put_u8(OP_REMOVE);
                b.put_u64(*id);
            }
        }
        Ok(b.freeze())
    }

    /// Reads a request body.
    pub fn decode(mut b: Bytes) -> Result<MemberRequest, WireError> {
        let request = match get_u8(&mut b)? {
            OP_LIST => MemberRequest::List,
            op @ (OP_ADD_VOTER | OP_ADD_LEARNER) => {
                let id = get_u64(&mut b)?;
                let len = usize::from(get_u16(&mut b)?);
                if len > MAX_ADDRESS {
                    return Err(too_long("address", len, MAX_ADDRESS));
                }
                let address = get_string(&mut b, len, "address")?;
                if op == OP_ADD_VOTER {
                    MemberRequest::AddVoter { id, address }
                } else {
                    MemberRequest::AddLearner { id, address }
                }
            }
            OP_PROMOTE => MemberRequest::Promote(get_u64(&mut b)?),
            OP_REMOVE => MemberRequest::Remove(get_u64(&mut b)?),
            value => return Err(WireError::Unknown { what: "op", value }),
        };
        finish(&b)?;
        Ok(request)
    }
}

impl MemberAnswer {
    /// The answer's tag byte and body.
    pub fn encode(&self) -> (u8, Bytes) {
        let mut b = BytesMut::new();
        let tag = match self {
            MemberAnswer::Members(list) => {
                b.put_u64(list.index);
                for ids in [
                    &list.voters,
                    &list.learners,
                    &list.voters_outgoing,
                    &list.learners_next,
                ] {
                    put_ids(&mut b, ids);
                }
                // Addresses too long to decode are left out, not sent.
                let addresses: Vec<_> = list
                    .addresses
                    .iter()
                    .filter(|(_, a)| a.len() <= MAX_ADDRESS)
                    .take(MAX_MEMBERS as usize)
                    .collect();
                b.put_u32(addresses.len() as u32);
                for (id, address) in addresses {
                    b.put_u64(*id);
                    b.put_u16(address.len() as u16);
                    b.put_slice(address.as_bytes());
                }
                TAG_MEMBERS
            }
            MemberAnswer::NotLeader(leader) => {
                b.put_u64(leader.unwrap_or(0));
                TAG_NOT_LEADER
            }
            MemberAnswer::Refused(refusal) => {
                let (kind, reason) = match refusal {
                    MemberRefusal::ChangeInProgress => (REFUSED_IN_PROGRESS, ""),
                    MemberRefusal::NoVoterLeft => (REFUSED_NO_VOTER, ""),
                    MemberRefusal::Invalid(r) => (REFUSED_INVALID, r.as_str()),
                    MemberRefusal::Dropped(r) => (REFUSED_DROPPED, r.as_str()),
                };
                let reason = cut(reason, MAX_REASON);
                b.put_u8(kind);
                b.put_u16(reason.len() as u16);
                b.put_slice(reason.as_bytes());
                TAG_REFUSED
            }
            MemberAnswer::ShuttingDown => TAG_SHUTTING_DOWN,
        };
        (tag, b.freeze())
    }

    /// Reads an answer from its tag and body.
    pub fn decode(tag: u8, mut b: Bytes) -> Result<MemberAnswer, WireError> {
        let answer = match tag {
            TAG_MEMBERS => {
                let index = get_u64(&mut b)?;
                let voters = get_ids(&mut b)?;
                let learners = get_ids(&mut b)?;
                let voters_outgoing = get_ids(&mut b)?;
                let learners_next = get_ids(&mut b)?;
                let count = get_count(&mut b)?;
                let mut addresses = BTreeMap::new();
                for _ in 0..count {
                    let id = get_u64(&mut b)?;
                    let len = usize::from(get_u16(&mut b)?);
                    if len > MAX_ADDRESS {
                        return Err(too_long("address", len, MAX_ADDRESS));
                    }
                    addresses.insert(id, get_string(&mut b, len, "address")?);
                }
                MemberAnswer::Members(MemberList {
                    index,
                    voters,
                    learners,
                    voters_outgoing,
                    learners_next,
                    addresses,
                })
            }
            TAG_NOT_LEADER => {
                let leader = get_u64(&mut b)?;
                MemberAnswer::NotLeader((leader != 0).then_some(leader))
            }
            TAG_REFUSED => {
                let kind = get_u8(&mut b)?;
                let len = usize::from(get_u16(&mut b)?);
                if len > MAX_REASON {
                    return Err(too_long("reason", len, MAX_REASON));
                }
                let reason = get_string(&mut b, len, "reason")?;
                MemberAnswer::Refused(match kind {
                    REFUSED_IN_PROGRESS => MemberRefusal::ChangeInProgress,
                    REFUSED_NO_VOTER => MemberRefusal::NoVoterLeft,
                    REFUSED_INVALID => MemberRefusal::Invalid(reason),
                    REFUSED_DROPPED => MemberRefusal::Dropped(reason),
                    value => {
                        return Err(WireError::Unknown {
                            what: "refusal",
                            value,
                        })
                    }
                })
            }
            TAG_SHUTTING_DOWN => MemberAnswer::ShuttingDown,
            value => return Err(WireError::Unknown { what: "tag", value }),
        };
        finish(&b)?;
        Ok(answer)
    }
}

/// Reads a u32 length, at most `max`, and that many bytes; the inner
/// error is a length over `max` (nothing of the body is read then).
pub(crate) async fn read_body(
    stream: &mut TcpStream,
    max: u32,
) -> std::io::Result<Result<Bytes, WireError>> {
    let len = stream.read_u32().await?;
    if len > max {
        return Ok(Err(too_long("body", len as usize, max as usize)));
    }
    let mut body = vec![0; len as usize];
    stream.read_exact(&mut body).await?;
    Ok(Ok(Bytes::from(body)))
}

fn too_long(what: &'static str, len: usize, max: usize) -> WireError {
    WireError::TooLong {
        what,
        len: len as u64,
        max: max as u64,
    }
}

/// The longest prefix of `s` within `max` bytes that ends on a character.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn put_ids(b: &mut BytesMut, ids: &[NodeId]) {
    let ids = &ids[..ids.len().min(MAX_MEMBERS as usize)];
    b.put_u32(ids.len() as u32);
    for id in ids {
        b.put_u64(*id);
    }
}

fn need(b: &Bytes, n: usize) -> Result<(), WireError> {
    if b.remaining() < n {
        return Err(WireError::Truncated);
    }
    Ok(())
}

fn get_u8(b: &mut Bytes) -> Result<u8, WireError> {
    need(b, 1)?;
    Ok(b.get_u8())
}

fn get_u16(b: &mut Bytes) -> Result<u16, WireError> {
    need(b, 2)?;
    Ok(b.get_u16())
}

fn get_u64(b: &mut Bytes) -> Result<u64, WireError> {
    need(b, 8)?;
    Ok(b.get_u64())
}

fn get_count(b: &mut Bytes) -> Result<u32, WireError> {
    need(b, 4)?;
    let count = b.get_u32();
    if count > MAX_MEMBERS {
        return Err(too_long("list", count as usize, MAX_MEMBERS as usize));
    }
    Ok(count)
}

fn get_ids(b: &mut Bytes) -> Result<Vec<NodeId>, WireError> {
    let count = get_count(b)? as usize;
    // Checked before allocating: a count is only believed if its ids are there.
    need(b, count * 8)?;
    Ok((0..count).map(|_| b.get_u64()).collect())
}

fn get_string(b: &mut Bytes, len: usize, what: &'static str) -> Result<String, WireError> {
    need(b, len)?;
    let raw = b.split_to(len);
    String::from_utf8(raw.to_vec()).map_err(|_| WireError::NotUtf8(what))
}

fn finish(b: &Bytes) -> Result<(), WireError> {
    match b.remaining() {
        0 => Ok(()),
        n => Err(WireError::Trailing(n)),
    }
}

#[cfg(test)]
#[path = "member_wire_tests.rs"]
mod tests;
