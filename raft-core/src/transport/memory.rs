//! An in-process [`Transport`]: bounded queues, one per node, with
//! switches to cut links for tests.
//!
//! There is no lock shared by all nodes on the message path: each node's
//! inbox has its own, and each endpoint caches its peers' inboxes. The
//! directory of inboxes and cut links is locked only when a node joins, a
//! link is cut or healed, and an endpoint refreshes its cache afterwards
//! (a generation counter says when).

use super::{Transport, TransportEvent};
use crate::message::Message;
use crate::types::NodeId;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The shared network. Clone it freely; all clones are the same network.
#[derive(Clone, Debug)]
pub struct MemNetwork {
    shared: Arc<Shared>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Shared {
    directory: Mutex<Directory>,
    /// Bumped on every change of the directory, so endpoints know when
    /// their cached view is stale.
    generation: AtomicU64,
}

#[derive(Debug, Default)]
struct Directory {
    inboxes: HashMap<NodeId, Arc<Inbox>>,
    /// Directed links that drop everything: `(from, to)`.
    cut: HashSet<(NodeId, NodeId)>,
}

#[derive(Debug, Default)]
struct Inbox(Mutex<InboxState>);

#[derive(Debug, Default)]
struct InboxState {
    queue: VecDeque<TransportEvent>,
    waker: Option<Waker>,
    closed: bool,
}

/// A panic while holding a lock leaves a plain queue or map behind, which
/// is still consistent, so poisoning is safe to ignore.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inbox {
    fn state(&self) -> MutexGuard<'_, InboxState> {
        lock(&self.0)
    }

    /// Queues `event` unless the inbox is closed or holds `capacity`
    /// events already; returns whether it was queued.
    fn offer(&self, event: TransportEvent, capacity: usize) -> bool {
        let mut st = self.state();
        if st.closed || st.queue.len() >= capacity {
            return false;
        }
        st.push(event);
        true
    }
}

impl InboxState {
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
            shared: Arc::new(Shared::default()),
            capacity: capacity.max(1),
        }
    }

    /// Joins node `id` to the network and returns its endpoint. Joining again
    /// replaces the previous endpoint's inbox (a restarted node starts empty).
    pub fn join(&self, id: NodeId) -> MemTransport {
        let inbox = Arc::new(Inbox::default());
        self.change(|dir| {
            dir.inboxes.insert(id, inbox.clone());
        });
        MemTransport {
            id,
            network: self.clone(),
            inbox,
            peers: HashMap::new(),
            seen_generation: u64::MAX,
        }
    }

    /// Drops every message from `from` to `to` until [`MemNetwork::heal`].
    pub fn cut(&self, from: NodeId, to: NodeId) {
        self.change(|dir| {
            dir.cut.insert((from, to));
        });
    }

    /// Restores all links.
    pub fn heal(&self) {
        self.change(|dir| dir.cut.clear());
    }

    fn change(&self, f: impl FnOnce(&mut Directory)) {
        let mut dir = lock(&self.shared.directory);
        f(&mut dir);
        // Bumped while the directory is locked: an endpoint that reads the
        // new generation and then the directory sees this change.
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// One node's endpoint on a [`MemNetwork`].
#[derive(Debug)]
pub struct MemTransport {
    id: NodeId,
    network: MemNetwork,
    inbox: Arc<Inbox>,
    /// Each peer's inbox as of `seen_generation`; `None` when the link is
    /// cut or the peer unknown.
    peers: HashMap<NodeId, Option<Arc<Inbox>>>,
    seen_generation: u64,
}

impl MemTransport {
    fn route(&mut self, to: NodeId) -> Option<Arc<Inbox>> {
        let generation = self.network.shared.generation.load(Ordering::Acquire);
        if generation != self.seen_generation {
            self.peers.clear();
            self.seen_generation = generation;
        }
        let id = self.id;
        let shared = &self.network.shared;
        self.peers
            .entry(to)
            .or_insert_with(|| {
                let dir = lock(&shared.directory);
                if dir.cut.contains(&(id, to)) {
                    return None;
                }
                dir.inboxes.get(&to).cloned()
            })
            .clone()
    }
}

impl Transport for MemTransport {
    fn send(&mut self, messages: Vec<Message>) {
        let capacity = self.network.capacity;
        let mut unreachable = Vec::new();
        let mut snapshot_reports = Vec::new();
        for m in messages {
            let to = m.to;
            let is_snapshot = m.msg_type == crate::MessageType::MsgSnap;
            let delivered = match self.route(to) {
                Some(inbox) => inbox.offer(TransportEvent::Message(m), capacity),
                None => false,
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
        if snapshot_reports.is_empty() && unreachable.is_empty() {
            return;
        }
        let mut own = self.inbox.state();
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

    fn try_recv(&mut self) -> Option<TransportEvent> {
        self.inbox.state().queue.pop_front()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<TransportEvent>> {
        let mut inbox = self.inbox.state();
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
        let mut inbox = self.inbox.state();
        inbox.closed = true;
        if let Some(w) = inbox.waker.take() {
            w.wake();
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

    #[test]
    fn a_rejoined_node_gets_a_fresh_inbox_that_the_old_endpoint_cannot_close() {
        let net = MemNetwork::new(8);
        let mut a = net.join(1);
        let old = net.join(2);
        a.send(vec![msg(1, 2, 1)]);
        let mut new = net.join(2);
        drop(old);
        a.send(vec![msg(1, 2, 2)]);
        assert_eq!(new.try_recv(), Some(TransportEvent::Message(msg(1, 2, 2))));
        assert_eq!(new.try_recv(), None);
        assert_eq!(a.try_recv(), None, "nothing was reported lost");
    }

    #[test]
    fn a_node_that_joins_later_is_reachable() {
        let net = MemNetwork::new(8);
        let mut a = net.join(1);
        a.send(vec![msg(1, 3, 1)]);
        assert_eq!(a.try_recv(), Some(TransportEvent::Unreachable(3)));
        let mut c = net.join(3);
        a.send(vec![msg(1, 3, 2)]);
        assert_eq!(c.try_recv(), Some(TransportEvent::Message(msg(1, 3, 2))));
    }
}
