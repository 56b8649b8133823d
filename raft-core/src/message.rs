//! Messages: everything a node receives, from peers or from its own driver.

use crate::snapshot::Snapshot;
use crate::types::{Entry, NodeId};
use bytes::Bytes;
use std::fmt;

/// The kind of a [`Message`].
///
/// Discriminants are etcd's `raftpb.MessageType` values, so a codec can stay
/// wire-compatible with etcd; every one of etcd's types is here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum MessageType {
    /// Local: start an election (election timeout, or `RawNode::campaign`).
    MsgHup = 0,
    /// Local: a leader's heartbeat timer fired.
    MsgBeat = 1,
    /// A proposal: from the application, or forwarded by a follower.
    MsgProp = 2,
    /// Replication: the leader's entries after (`index`, `log_term`), and its commit index.
    MsgApp = 3,
    /// Answer to `MsgApp`: the follower's last appended index, or a rejection with a hint where the logs may match.
    MsgAppResp = 4,
    /// A candidate asks for a vote in `term`, describing its last entry.
    MsgVote = 5,
    /// Answer to `MsgVote`: granted unless `reject`.
    MsgVoteResp = 6,
    /// A leader's snapshot for a follower whose missing entries it no
    /// longer holds.
    MsgSnap = 7,
    /// The leader's heartbeat, carrying `min(follower's match, commit)`.
    MsgHeartbeat = 8,
    /// Answer to `MsgHeartbeat`, which tells the leader the follower is alive.
    MsgHeartbeatResp = 9,
    /// Local: the transport could not reach `from`.
    MsgUnreachable = 10,
    /// Local: how sending a snapshot to `from` ended (`reject` on failure).
    MsgSnapStatus = 11,
    /// Local: a leader's CheckQuorum timer fired.
    MsgCheckQuorum = 12,
    /// Asks the leader to hand leadership to `from` (the transferee). Sent
    /// by the application to any node; a follower forwards it to its leader.
    MsgTransferLeader = 13,
    /// The leader tells the transferee, whose log is caught up, to campaign
    /// at once, without pre-vote and overriding the voters' leases.
    MsgTimeoutNow = 14,
    /// A read request: `entries[0].data` is the application's request
    /// context. Carries no term (it is forwarded, like a proposal).
    MsgReadIndex = 15,
    /// The leader's answer to a forwarded `MsgReadIndex`: `index` is the read
    /// index, `entries` echoes the request's.
    MsgReadIndexResp = 16,
    /// A pre-candidate asks whether it would win an election at `term` (its own term plus one), without changing anyone's term.
    MsgPreVote = 17,
    /// Answer to `MsgPreVote`: granted unless `reject`.
    MsgPreVoteResp = 18,
    /// Local, with `Config::async_storage_writes`: to
    /// [`LOCAL_APPEND_THREAD`], the entries, hard state (`term`, `vote`,
    /// `commit`) and snapshot to make durable, then `responses` to deliver.
    MsgStorageAppend = 19,
    /// Local: from [`LOCAL_APPEND_THREAD`], the writes up to (`index`,
    /// `log_term`) and `snapshot` are durable.
    MsgStorageAppendResp = 20,
    /// Local, with `Config::async_storage_writes`: to [`LOCAL_APPLY_THREAD`],
    /// committed `entries` to apply, then `responses` to deliver.
    MsgStorageApply = 21,
    /// Local: from [`LOCAL_APPLY_THREAD`], `entries` are applied.
    MsgStorageApplyResp = 22,
    /// Tells a follower to forget the leader it knows, so it grants pre-votes
    /// and votes without waiting out its lease.
    MsgForgetLeader = 23,
}

/// The pseudo node id of the application's append thread (etcd's
/// `LocalAppendThread`): the target of `MsgStorageAppend`, the sender of
/// `MsgStorageAppendResp`.
pub const LOCAL_APPEND_THREAD: NodeId = u64::MAX;
/// The pseudo node id of the application's apply thread (etcd's
/// `LocalApplyThread`).
pub const LOCAL_APPLY_THREAD: NodeId = u64::MAX - 1;

/// Whether `id` is one of the local storage threads rather than a node.
pub fn is_local_thread(id: NodeId) -> bool {
    id == LOCAL_APPEND_THREAD || id == LOCAL_APPLY_THREAD
}

impl MessageType {
    /// Every message type this crate knows, in wire order.
    pub const ALL: [MessageType; 24] = [
        MessageType::MsgHup,
        MessageType::MsgBeat,
        MessageType::MsgProp,
        MessageType::MsgApp,
        MessageType::MsgAppResp,
        MessageType::MsgVote,
        MessageType::MsgVoteResp,
        MessageType::MsgSnap,
        MessageType::MsgHeartbeat,
        MessageType::MsgHeartbeatResp,
        MessageType::MsgUnreachable,
        MessageType::MsgSnapStatus,
        MessageType::MsgCheckQuorum,
        MessageType::MsgTransferLeader,
        MessageType::MsgTimeoutNow,
        MessageType::MsgReadIndex,
        MessageType::MsgReadIndexResp,
        MessageType::MsgPreVote,
        MessageType::MsgPreVoteResp,
        MessageType::MsgStorageAppend,
        MessageType::MsgStorageAppendResp,
        MessageType::MsgStorageApply,
        MessageType::MsgStorageApplyResp,
        MessageType::MsgForgetLeader,
    ];

    /// etcd's name for the type, e.g. `MsgApp`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::MsgHup => "MsgHup",
            MessageType::MsgBeat => "MsgBeat",
            MessageType::MsgProp => "MsgProp",
            MessageType::MsgApp => "MsgApp",
            MessageType::MsgAppResp => "MsgAppResp",
            MessageType::MsgVote => "MsgVote",
            MessageType::MsgVoteResp => "MsgVoteResp",
            MessageType::MsgSnap => "MsgSnap",
            MessageType::MsgHeartbeat => "MsgHeartbeat",
            MessageType::MsgHeartbeatResp => "MsgHeartbeatResp",
            MessageType::MsgUnreachable => "MsgUnreachable",
            MessageType::MsgSnapStatus => "MsgSnapStatus",
            MessageType::MsgCheckQuorum => "MsgCheckQuorum",
            MessageType::MsgTransferLeader => "MsgTransferLeader",
            MessageType::MsgTimeoutNow => "MsgTimeoutNow",
            MessageType::MsgReadIndex => "MsgReadIndex",
            MessageType::MsgReadIndexResp => "MsgReadIndexResp",
            MessageType::MsgPreVote => "MsgPreVote",
            MessageType::MsgPreVoteResp => "MsgPreVoteResp",
            MessageType::MsgStorageAppend => "MsgStorageAppend",
            MessageType::MsgStorageAppendResp => "MsgStorageAppendResp",
            MessageType::MsgStorageApply => "MsgStorageApply",
            MessageType::MsgStorageApplyResp => "MsgStorageApplyResp",
            MessageType::MsgForgetLeader => "MsgForgetLeader",
        }
    }

    /// Parses etcd's name for a type.
    pub fn from_name(name: &str) -> Option<MessageType> {
        MessageType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Parses etcd's wire value.
    pub fn from_u8(value: u8) -> Option<MessageType> {
        MessageType::ALL.into_iter().find(|t| *t as u8 == value)
    }

    /// Messages a node generates for itself; stepping one that came from the
    /// network is refused.
    pub fn is_local(self) -> bool {
        matches!(
            self,
            MessageType::MsgHup
                | MessageType::MsgBeat
                | MessageType::MsgUnreachable
                | MessageType::MsgSnapStatus
                | MessageType::MsgCheckQuorum
                | MessageType::MsgStorageAppend
                | MessageType::MsgStorageAppendResp
                | MessageType::MsgStorageApply
                | MessageType::MsgStorageApplyResp
        )
    }

    /// Responses only make sense from a peer the node tracks.
    pub fn is_response(self) -> bool {
        matches!(
            self,
            MessageType::MsgAppResp
                | MessageType::MsgVoteResp
                | MessageType::MsgHeartbeatResp
                | MessageType::MsgUnreachable
                | MessageType::MsgPreVoteResp
        )
    }

    /// The response type answering a vote or pre-vote request.
    pub(crate) fn vote_response(self) -> MessageType {
        match self {
            MessageType::MsgPreVote => MessageType::MsgPreVoteResp,
            _ => MessageType::MsgVoteResp,
        }
    }

    /// Vote traffic always carries an explicit term (see `Raft::send`).
    pub(crate) fn is_vote_traffic(self) -> bool {
        matches!(
            self,
            MessageType::MsgVote
                | MessageType::MsgVoteResp
                | MessageType::MsgPreVote
                | MessageType::MsgPreVoteResp
        )
    }

    /// Responses that promise something about durable state (a vote cast, an
    /// entry stored) and so may only leave after the Ready that produced them
    /// is persisted. Every other message in a Ready may be sent before or
    /// while the Ready is written, which lets a leader replicate in parallel
    /// with its own disk write (Raft thesis §10.2.1).
    pub fn waits_for_durability(self) -> bool {
        matches!(
            self,
            MessageType::MsgAppResp | MessageType::MsgVoteResp | MessageType::MsgPreVoteResp
        )
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One protocol message, with etcd's fields.
///
/// Which fields matter depends on the type; unused ones stay zero/empty, as in
/// etcd's `raftpb.Message`:
/// - `MsgApp`: `index`/`log_term` identify the entry preceding `entries`;
///   `commit` is the leader's commit index.
/// - `MsgAppResp`: `index` is the last index appended, or on `reject` the index
///   that failed to match, with `reject_hint`/`log_term` suggesting where the
///   logs may match.
/// - `MsgVote`/`MsgPreVote`: `index`/`log_term` identify the candidate's last
///   entry; `term` is the term campaigned for.
/// - `MsgHeartbeat`: `commit` is `min(follower's match, leader's commit)`.
/// - `MsgSnap`: `snapshot` is the leader's snapshot.
/// - `MsgHeartbeat`/`MsgHeartbeatResp`: `context` carries the leader's
///   read-only position (see `ReadOnlySafe`), echoed back.
/// - `MsgVote`: `context` is `CampaignTransfer` for a leadership transfer.
/// - `MsgTransferLeader`: `from` is the transferee.
/// - `MsgReadIndex`/`MsgReadIndexResp`: `entries[0].data` is the request
///   context; `index` in the response is the read index.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// What kind of message this is; decides how the other fields read.
    pub msg_type: MessageType,
    /// The recipient.
    pub to: NodeId,
    /// The sender.
    pub from: NodeId,
    /// The sender's term; 0 for local messages and forwarded proposals.
    pub term: u64,
    /// The term of the entry at `index` (see the type's notes per message).
    pub log_term: u64,
    /// A log index whose meaning depends on the type (see the type's notes).
    pub index: u64,
    /// Entries carried: appended ones in `MsgApp`, proposed ones in `MsgProp`.
    pub entries: Vec<Entry>,
    /// The sender's commit index, or for heartbeats what the recipient may commit.
    pub commit: u64,
    /// etcd reserves this for storage messages; carried for wire fidelity.
    pub vote: NodeId,
    /// Set on a refused vote, pre-vote or append.
    pub reject: bool,
    /// On a rejected append: the follower's last index, where the leader should look for a match.
    pub reject_hint: u64,
    /// Opaque bytes echoed back in the response (etcd uses it for ReadIndex and campaign reasons).
    pub context: Bytes,
    /// The snapshot a `MsgSnap` carries (or a storage message installs);
    /// `None` otherwise. Boxed so that the common messages stay small.
    pub snapshot: Option<Box<Snapshot>>,
    /// For `MsgStorageAppend` and `MsgStorageApply` only: the messages to
    /// deliver (to peers, or back to this node) once the work is done.
    pub responses: Vec<Message>,
}

impl Message {
    /// A message of `msg_type` with every other field zero.
    pub fn new(msg_type: MessageType) -> Message {
        Message {
            msg_type,
            to: 0,
            from: 0,
            term: 0,
            log_term: 0,
            index: 0,
            entries: Vec::new(),
            commit: 0,
            vote: 0,
            reject: false,
            reject_hint: 0,
            context: Bytes::new(),
            snapshot: None,
            responses: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_wire_values_round_trip() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::from_name(t.as_str()), Some(t));
            assert_eq!(MessageType::from_u8(t as u8), Some(t));
        }
        assert_eq!(MessageType::from_u8(7), Some(MessageType::MsgSnap));
        assert_eq!(
            MessageType::from_u8(13),
            Some(MessageType::MsgTransferLeader)
        );
        assert_eq!(
            MessageType::from_u8(16),
            Some(MessageType::MsgReadIndexResp)
        );
        assert_eq!(
            MessageType::from_u8(19),
            Some(MessageType::MsgStorageAppend)
        );
        assert_eq!(MessageType::from_u8(24), None, "beyond etcd's types");
    }

    #[test]
    fn local_and_response_classes_follow_etcd() {
        assert!(MessageType::MsgHup.is_local());
        assert!(MessageType::MsgCheckQuorum.is_local());
        assert!(MessageType::MsgSnapStatus.is_local());
        assert!(!MessageType::MsgSnap.is_local());
        assert!(!MessageType::MsgProp.is_local());
        assert!(!MessageType::MsgForgetLeader.is_local());
        assert!(MessageType::MsgUnreachable.is_response());
        assert!(MessageType::MsgPreVoteResp.is_response());
        assert!(!MessageType::MsgHeartbeat.is_response());
    }
}
