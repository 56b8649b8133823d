//! The transport contract: how a node's messages reach its peers.
//!
//! Raft tolerates loss, reordering and duplication, so a transport promises
//! little: [`Transport::send`] never blocks the Raft loop (a full queue drops
//! the message and reports the peer unreachable), and inbound messages and
//! unreachability reports come back through [`Transport::try_recv`] or, for
//! async runtimes, [`Transport::poll_recv`]. Receiving uses `std::task` only,
//! so the trait ties raft-core to no async runtime.
//!
//! [`FaultyTransport`] wraps any transport with a link fault hook: a
//! [`LinkFaults`] handle blocks peers, whose messages are then dropped both
//! ways, for partition tests over real transports.

mod faults;
mod memory;

pub use faults::{FaultyTransport, LinkFaults};
pub use memory::{MemNetwork, MemTransport};

use crate::message::Message;
use crate::types::NodeId;
use std::task::{Context, Poll};

/// Something a transport has to tell its node.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportEvent {
    /// A message from a peer, to be passed to [`crate::RawNode::step`].
    Message(Message),
    /// Messages to this peer were lost (queue full, connection down); pass it
    /// to [`crate::RawNode::report_unreachable`] so replication to it falls
    /// back to probing.
    Unreachable(NodeId),
    /// How sending a `MsgSnap` to this peer ended; pass it to
    /// [`crate::RawNode::report_snapshot`] so the leader leaves
    /// `StateSnapshot` (on failure it probes again and resends later).
    SnapshotReport(NodeId, crate::SnapshotStatus),
}

/// Moves messages between the nodes of one group.
pub trait Transport {
    /// Queues `messages` for their recipients (`Message::to`) and returns at
    /// once. Messages to one peer are delivered in the order given, or lost.
    fn send(&mut self, messages: Vec<Message>);

    /// The next event if one is ready now.
    fn try_recv(&mut self) -> Option<TransportEvent>;

    /// The next event, registering `cx`'s waker if none is ready. `Ready(None)`
    /// means the transport has shut down.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<TransportEvent>>;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&mut self, messages: Vec<Message>) {
        (**self).send(messages)
    }
    fn try_recv(&mut self) -> Option<TransportEvent> {
        (**self).try_recv()
    }
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<TransportEvent>> {
        (**self).poll_recv(cx)
    }
}
