//! The leader's queue of read-index requests waiting for a heartbeat round
//! to confirm its leadership (`ReadOnlySafe`), and the [`ReadState`]s it
//! hands to the application.
//!
//! Requests are numbered in arrival order. A heartbeat carries the number
//! of the newest request queued when it left (its "position"); a follower
//! echoes it, and once a quorum of voters (the leader included) has echoed
//! position `p`, every request up to `p` is confirmed: no newer leader
//! existed when it arrived, so the commit index recorded with it is a safe
//! read index. One heartbeat round thus confirms a whole batch of reads.

use crate::message::Message;
use crate::quorum::JointConfig;
use crate::types::NodeId;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};

/// A read the application asked for with [`crate::RawNode::read_index`],
/// now confirmed: once the application has applied up to `index`, reading
/// its state machine is linearizable with respect to the request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadState {
    /// The read index: the leader's commit index when the request arrived.
    pub index: u64,
    /// The context the application passed to `read_index`, to match the
    /// answer with its request.
    pub request_ctx: Bytes,
}

impl ReadState {
    /// A read state for `request_ctx` at `index`.
    pub fn new(index: u64, request_ctx: Bytes) -> ReadState {
        ReadState { index, request_ctx }
    }
}

/// A request waiting for confirmation, with the commit index it reads at.
#[derive(Debug)]
pub(crate) struct PendingRead {
    pub(crate) req: Message,
    pub(crate) index: u64,
}

/// The queue of unconfirmed reads and the positions voters acknowledged.
#[derive(Debug, Default)]
pub(crate) struct ReadOnly {
    /// Highest position each voter echoed (the leader acks its own).
    acks: HashMap<NodeId, u64>,
    /// Requests after position `confirmed`, oldest first.
    unconfirmed: VecDeque<PendingRead>,
    /// How many requests were confirmed since this queue started.
    confirmed: u64,
}

/// The position a heartbeat context encodes: 8 bytes, little-endian, as
/// etcd writes it (so contexts stay wire-compatible).
const CTX_LEN: usize = 8;

impl ReadOnly {
    /// Queues a read at commit index `index`.
    pub(crate) fn add_request(&mut self, index: u64, req: Message) {
        self.unconfirmed.push_back(PendingRead { req, index });
    }

    /// Records that `from` echoed a heartbeat context. A context that is
    /// not a position this leader handed out is ignored rather than trusted:
    /// a peer cannot confirm reads that do not exist yet.
    pub(crate) fn recv_ack(&mut self, from: NodeId, ctx: &[u8]) {
        let Ok(bytes) = <[u8; CTX_LEN]>::try_from(ctx) else {
            return;
        };
        let position = u64::from_le_bytes(bytes);
        if position > self.last_position() {
            return;
        }
        let ack = self.acks.entry(from).or_insert(0);
        *ack = (*ack).max(position);
    }

    /// Pops the requests a quorum of `voters` has now confirmed, oldest
    /// first.
    pub(crate) fn maybe_advance(&mut self, voters: &JointConfig) -> Vec<PendingRead> {
        let quorum = voters.committed_index(|id| self.acks.get(&id).copied());
        let newly = quorum.min(self.last_position());
        if newly <= self.confirmed {
            return Vec::new();
        }
        let count = (newly - self.confirmed) as usize;
        self.confirmed = newly;
        self.unconfirmed.drain(..count).collect()
    }

    /// The context for the next heartbeat: the position of the newest
    /// queued request, or nothing when no read waits.
    pub(crate) fn heartbeat_ctx(&self) -> Bytes {
        if self.unconfirmed.is_empty() {
            return Bytes::new();
        }
        Bytes::copy_from_slice(&self.last_position().to_le_bytes())
    }

    fn last_position(&self) -> u64 {
        self.confirmed + self.unconfirmed.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageType;

    fn read(n: u64) -> Message {
        Message {
            index: n,
            ..Message::new(MessageType::MsgReadIndex)
        }
    }

    #[test]
    fn a_quorum_of_acks_confirms_every_read_up_to_its_position() {
        let voters = JointConfig::simple(crate::quorum::MajorityConfig::new([1, 2, 3]));
        let mut ro = ReadOnly::default();
        assert!(ro.heartbeat_ctx().is_empty());
        ro.add_request(5, read(1));
        let first = ro.heartbeat_ctx();
        ro.recv_ack(1, &first);
        ro.add_request(6, read(2));
        let second = ro.heartbeat_ctx();
        ro.recv_ack(1, &second);
        assert!(
            ro.maybe_advance(&voters).is_empty(),
            "only the leader acked"
        );
        ro.recv_ack(2, &first);
        let done = ro.maybe_advance(&voters);
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].index, done[0].req.index), (5, 1));
        ro.recv_ack(3, &second);
        let done = ro.maybe_advance(&voters);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].index, 6);
        assert!(ro.heartbeat_ctx().is_empty());
    }

    #[test]
    fn malformed_or_future_contexts_confirm_nothing() {
        let voters = JointConfig::simple(crate::quorum::MajorityConfig::new([1, 2, 3]));
        let mut ro = ReadOnly::default();
        ro.add_request(5, read(1));
        ro.recv_ack(1, &ro.heartbeat_ctx());
        ro.recv_ack(2, &[1, 2, 3]);
        ro.recv_ack(2, &u64::MAX.to_le_bytes());
        ro.recv_ack(3, &7u64.to_le_bytes());
        assert!(ro.maybe_advance(&voters).is_empty());
        assert_eq!(ro.heartbeat_ctx(), Bytes::from(1u64.to_le_bytes().to_vec()));
    }
}
