//! A link fault hook for any [`Transport`]: messages to or from a set of
//! blocked peers are dropped, as if the network between them were cut.
//!
//! [`FaultyTransport`] wraps a node's transport; its [`LinkFaults`] handle
//! (cloneable, usable from any thread) says which peers are blocked. Tests
//! and fault-injection tools use it to partition nodes whatever carries
//! their messages (in-process channels, QUIC, ...); with nothing blocked the
//! wrapper passes everything through.

use super::{Transport, TransportEvent};
use crate::message::{Message, MessageType};
use crate::types::NodeId;
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

/// Which peers a [`FaultyTransport`] is cut off from; clones share the set.
#[derive(Clone, Debug, Default)]
pub struct LinkFaults {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Whether `blocked` is non-empty, so the unfaulted path takes no lock.
    active: AtomicBool,
    blocked: Mutex<BTreeSet<NodeId>>,
}

impl LinkFaults {
    /// A handle with no peer blocked.
    pub fn new() -> LinkFaults {
        LinkFaults::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeSet<NodeId>> {
        // The set is always valid, even if a holder panicked.
        self.shared
            .blocked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut BTreeSet<NodeId>)) {
        let mut blocked = self.lock();
        f(&mut blocked);
        self.shared
            .active
            .store(!blocked.is_empty(), Ordering::Release);
    }

    /// Drops every message to and from `peer` until it is unblocked.
    pub fn block(&self, peer: NodeId) {
        self.update(|b| {
            b.insert(peer);
        });
    }

    /// Lets messages to and from `peer` through again.
    pub fn unblock(&self, peer: NodeId) {
        self.update(|b| {
            b.remove(&peer);
        });
    }

    /// Blocks exactly `peers` (and unblocks every other).
    pub fn set_blocked(&self, peers: impl IntoIterator<Item = NodeId>) {
        self.update(|b| *b = peers.into_iter().collect());
    }

    /// Unblocks every peer.
    pub fn heal(&self) {
        self.update(BTreeSet::clear);
    }

    /// The blocked peers, in ascending order.
    pub fn blocked(&self) -> Vec<NodeId> {
        self.lock().iter().copied().collect()
    }

    /// Whether messages to and from `peer` are dropped.
    pub fn is_blocked(&self, peer: NodeId) -> bool {
        self.shared.active.load(Ordering::Acquire) && self.lock().contains(&peer)
    }
}

/// `T` with the links to some peers cut by a [`LinkFaults`] handle.
///
/// A message to a blocked peer is dropped before it reaches `T` and the
/// peer is reported unreachable (a dropped `MsgSnap` also reports a failed
/// snapshot, so the leader retries it later); a message from a blocked peer
/// is dropped on receipt. Other events pass unchanged.
#[derive(Debug)]
pub struct FaultyTransport<T> {
    inner: T,
    faults: LinkFaults,
    /// Reports about dropped messages, delivered before the inner events.
    reports: VecDeque<TransportEvent>,
}

impl<T> FaultyTransport<T> {
    /// Wraps `inner`; `faults` (or its clones) controls it from then on.
    pub fn new(inner: T, faults: LinkFaults) -> FaultyTransport<T> {
        FaultyTransport {
            inner,
            faults,
            reports: VecDeque::new(),
        }
    }

    /// The handle controlling this transport.
    pub fn faults(&self) -> &LinkFaults {
        &self.faults
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn admit(&self, event: &TransportEvent) -> bool {
        match event {
            TransportEvent::Message(m) => !self.faults.is_blocked(m.from),
            _ => true,
        }
    }
}

impl<T: Transport> Transport for FaultyTransport<T> {
    fn send(&mut self, messages: Vec<Message>) {
        if !self.faults.shared.active.load(Ordering::Acquire) {
            return self.inner.send(messages);
        }
        let blocked = self.faults.lock().clone();
        let (dropped, passed): (Vec<Message>, Vec<Message>) =
            messages.into_iter().partition(|m| blocked.contains(&m.to));
        let mut unreachable = BTreeSet::new();
        for m in dropped {
            if m.msg_type == MessageType::MsgSnap {
                self.reports.push_back(TransportEvent::SnapshotReport(
                    m.to,
                    crate::SnapshotStatus::Failure,
                ));
            }
            unreachable.insert(m.to);
        }
        for peer in unreachable {
            tracing::debug!(peer, "link fault dropped messages");
            self.reports.push_back(TransportEvent::Unreachable(peer));
        }
        if !passed.is_empty() {
            self.inner.send(passed);
        }
    }

    fn try_recv(&mut self) -> Option<TransportEvent> {
        if let Some(report) = self.reports.pop_front() {
            return Some(report);
        }
        loop {
            let event = self.inner.try_recv()?;
            if self.admit(&event) {
                return Some(event);
            }
        }
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<TransportEvent>> {
        if let Some(report) = self.reports.pop_front() {
            return Poll::Ready(Some(report));
        }
        loop {
            match self.inner.poll_recv(cx) {
                Poll::Ready(Some(event)) if !self.admit(&event) => continue,
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::MemNetwork;
    use crate::SnapshotStatus;

    fn msg(from: NodeId, to: NodeId, msg_type: MessageType) -> Message {
        let mut m = Message::new(msg_type);
        m.from = from;
        m.to = to;
        m
    }

    fn drain<T: Transport>(t: &mut T) -> Vec<TransportEvent> {
        std::iter::from_fn(|| t.try_recv()).collect()
    }

    #[test]
    fn blocked_peers_lose_messages_both_ways_until_healed() {
        let net = MemNetwork::new(64);
        let faults = LinkFaults::new();
        let mut a = FaultyTransport::new(net.join(1), faults.clone());
        let mut b = net.join(2);
        let mut c = net.join(3);

        faults.block(2);
        assert_eq!(faults.blocked(), vec![2]);
        a.send(vec![
            msg(1, 2, MessageType::MsgApp),
            msg(1, 2, MessageType::MsgSnap),
            msg(1, 3, MessageType::MsgApp),
        ]);
        assert!(drain(&mut b).is_empty(), "nothing reaches a blocked peer");
        assert_eq!(
            drain(&mut c),
            vec![TransportEvent::Message(msg(1, 3, MessageType::MsgApp))]
        );
        b.send(vec![msg(2, 1, MessageType::MsgAppResp)]);
        c.send(vec![msg(3, 1, MessageType::MsgAppResp)]);
        assert_eq!(
            drain(&mut a),
            vec![
                TransportEvent::SnapshotReport(2, SnapshotStatus::Failure),
                TransportEvent::Unreachable(2),
                TransportEvent::Message(msg(3, 1, MessageType::MsgAppResp)),
            ],
            "the blocked peer's answer is dropped, the other passes"
        );

        faults.heal();
        assert!(!faults.is_blocked(2));
        a.send(vec![msg(1, 2, MessageType::MsgHeartbeat)]);
        b.send(vec![msg(2, 1, MessageType::MsgHeartbeatResp)]);
        assert_eq!(drain(&mut b).len(), 1);
        assert_eq!(drain(&mut a).len(), 1);
    }

    #[test]
    fn set_blocked_replaces_the_set_and_clones_share_it() {
        let faults = LinkFaults::new();
        let other = faults.clone();
        faults.set_blocked([3, 2]);
        assert_eq!(other.blocked(), vec![2, 3]);
        other.set_blocked([4]);
        assert!(!faults.is_blocked(2) && faults.is_blocked(4));
        other.unblock(4);
        assert!(faults.blocked().is_empty());
    }

    #[test]
    fn poll_recv_skips_messages_from_blocked_peers() {
        let net = MemNetwork::new(64);
        let faults = LinkFaults::new();
        let mut a = FaultyTransport::new(net.join(1), faults.clone());
        let mut b = net.join(2);
        let mut c = net.join(3);
        faults.block(2);
        b.send(vec![msg(2, 1, MessageType::MsgVote)]);
        c.send(vec![msg(3, 1, MessageType::MsgVote)]);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(
            a.poll_recv(&mut cx),
            Poll::Ready(Some(TransportEvent::Message(msg(
                3,
                1,
                MessageType::MsgVote
            ))))
        );
        assert!(a.poll_recv(&mut cx).is_pending());
    }
}
