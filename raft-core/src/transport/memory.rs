//! An in-process [`Transport`]: a shared hub of bounded queues, one per node,
//! with switches to cut links for tests.

use super::{Transport, TransportEvent};
use crate::message::Message;
use crate::types::NodeId;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The shared hub. Clone it freely; all clones are the same network.
#[derive(Clone, Debug)]
pub struct MemNetwork {
    inner: Arc<Mutex<Hub>>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Hub {
    inboxes: HashMap<NodeId, Inbox>,
    /// Directed links that drop everything: `(from, to)`.
    cut: HashSet<(NodeId, NodeId)>,
}

#[derive(Debug, Default)]
struct Inbox {
    queue: VecDeque<TransportEvent>,
    waker: Option<Waker>,
    closed: bool,
}

impl Inbox {
    fn push(&mut self, event: TransportEvent) {
        self.queue.push_back(event);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl MemNetwork {
    /// A network whose per-node inbox holds at most `capacity` events.
    pub fn new(capacity: usize) -> MemNetwork {
        MemNetwork {
            inner: Arc::new(Mutex::new(Hub::default())),
            capacity: capacity.max(1),
        }
    }

    /// Joins node `id` to the network and returns its endpoint. Joining again
    /// replaces the previous endpoint's inbox (a restarted node starts empty).
    pub fn join(&self, id: NodeId) -> MemTransport {
        self.hub().inboxes.insert(id, Inbox::default());
        MemTransport {
            id,
            network: self.clone(),
        }
    }

    /// Drops every message from `from` to `to` until [`MemNetwork::heal`].
    pub fn cut(&self, from: NodeId, to: NodeId) {
        self.hub().cut.insert((from, to));
    }

    /// Restores all links.
    pub fn heal(&self) {
        self.hub().cut.clear();
    }

    fn hub(&self) -> MutexGuard<'_, Hub> {
        // A panic while holding the lock leaves plain queues behind, which
        // are still consistent, so poisoning is safe to ignore.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One node's endpoint on a [`MemNetwork`].
#[derive(Debug)]
pub struct MemTransport {
    id: NodeId,
    network: MemNetwork,
}

impl Transport for MemTransport {
    fn send(&mut self, messages: Vec<Message>) {
        let capacity = self.network.capacity;
        let mut hub = self.network.hub();
        let mut unreachable = Vec::new();
        let mut snapshot_reports = Vec::new();
        for m in messages {
            let to = m.to;
            let is_snapshot = m.msg_type == crate::MessageType::MsgSnap;
            let delivered = !hub.cut.contains(&(self.id, to))
                && match hub.inboxes.get_mut(&to) {
                    Some(inbox) if !inbox.closed && inbox.queue.len() < capacity => {
                        inbox.push(TransportEvent::Message(m));
                        true
                    }
                    _ => false,
                };
            if is_snapshot {
                // Handing the snapshot to the peer's inbox is the whole
                // transfer in memory, so its outcome is known now.
                let status = if delivered {
                    crate::SnapshotStatus::Finish
                } else {
                    crate::SnapshotStatus::Failure
                };
                snapshot_reports.push(TransportEvent::SnapshotReport(to, status));
            }
            if !delivered && !unreachable.contains(&to) {
                unreachable.push(to);
            }
        }
        if let Some(own) = hub.inboxes.get_mut(&self.id) {
            for report in snapshot_reports {
                own.push(report);
            }
            for peer in unreachable {
                tracing::debug!(
                    from = self.id,
                    to = peer,
                    "in-memory transport dropped messages"
                );
                own.push(TransportEvent::Unreachable(peer));
            }
        }
    }

    fn try_recv(&mut self) -> Option<TransportEvent> {
        self.network
            .hub()
            .inboxes
            .get_mut(&self.id)
            .and_then(|inbox| inbox.queue.pop_front())
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<TransportEvent>> {
        let mut hub = self.network.hub();
        let Some(inbox) = hub.inboxes.get_mut(&self.id) else {
            return Poll::Ready(None);
        };
        match inbox.queue.pop_front() {
            Some(event) => Poll::Ready(Some(event)),
            None if inbox.closed => Poll::Ready(None),
            None => {
                inbox.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for MemTransport {
    fn drop(&mut self) {
        if let Some(inbox) = self.network.hub().inboxes.get_mut(&self.id) {
            inbox.closed = true;
            if let Some(w) = inbox.waker.take() {
                w.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageType;

    fn msg(from: NodeId, to: NodeId, index: u64) -> Message {
        Message {
            from,
            to,
            index,
            ..Message::new(MessageType::MsgApp)
        }
    }

    #[test]
    fn delivers_in_order_per_peer() {
        let net = MemNetwork::new(16);
        let mut a = net.join(1);
        let mut b = net.join(2);
        a.send(vec![msg(1, 2, 1), msg(1, 2, 2)]);
        assert_eq!(b.try_recv(), Some(TransportEvent::Message(msg(1, 2, 1))));
        assert_eq!(b.try_recv(), Some(TransportEvent::Message(msg(1, 2, 2))));
        assert_eq!(b.try_recv(), None);
    }

    #[test]
    fn full_queue_drops_and_reports_unreachable() {
        let net = MemNetwork::new(1);
        let mut a = net.join(1);
        let _b = net.join(2);
        a.send(vec![msg(1, 2, 1), msg(1, 2, 2)]);
        assert_eq!(a.try_recv(), Some(TransportEvent::Unreachable(2)));
    }

    #[test]
    fn cut_links_and_unknown_peers_are_unreachable() {
        let net = MemNetwork::new(8);
        let mut a = net.join(1);
        let mut b = net.join(2);
        net.cut(1, 2);
        a.send(vec![msg(1, 2, 1), msg(1, 9, 1)]);
        assert_eq!(b.try_recv(), None);
        assert_eq!(a.try_recv(), Some(TransportEvent::Unreachable(2)));
        assert_eq!(a.try_recv(), Some(TransportEvent::Unreachable(9)));
        net.heal();
        a.send(vec![msg(1, 2, 3)]);
        assert_eq!(b.try_recv(), Some(TransportEvent::Message(msg(1, 2, 3))));
    }

    #[test]
    fn snapshot_outcome_is_reported_to_the_sender() {
        let net = MemNetwork::new(8);
        let mut a = net.join(1);
        let mut b = net.join(2);
        let snap = |to| Message {
            from: 1,
            to,
            ..Message::new(MessageType::MsgSnap)
        };
        a.send(vec![snap(2)]);
        assert!(matches!(b.try_recv(), Some(TransportEvent::Message(_))));
        assert_eq!(
            a.try_recv(),
            Some(TransportEvent::SnapshotReport(
                2,
                crate::SnapshotStatus::Finish
            ))
        );
        net.cut(1, 2);
        a.send(vec![snap(2)]);
        assert_eq!(
            a.try_recv(),
            Some(TransportEvent::SnapshotReport(
                2,
                crate::SnapshotStatus::Failure
            ))
        );
        assert_eq!(a.try_recv(), Some(TransportEvent::Unreachable(2)));
    }
}
