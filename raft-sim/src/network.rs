//! The simulated network: per-message drops, duplicates and delays (which
//! reorder), and links that partitions cut.

use crate::rng::Rng;
use crate::schedule::NetParams;
use raft_core::{Message, NodeId};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Why a message never arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    /// The link was cut: a transport would notice and say so.
    Cut,
    /// The network dropped it silently.
    Dropped,
}

struct InFlight {
    at: u64,
    /// Random tie-break: messages due at the same time arrive in any order.
    order: u64,
    msg: Message,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    // Reversed: BinaryHeap is a max-heap and the earliest must come first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

/// Counters for the run summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetStats {
    /// Messages handed to the network.
    pub sent: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages lost to the drop rate.
    pub dropped: u64,
    /// Messages lost to a cut link.
    pub cut: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
}

/// The simulated network: delays, losses, duplicates and cut links, all decided by the seed.
pub struct Network {
    nodes: usize,
    params: NetParams,
    /// `blocked[from * nodes + to]`, ids from 1.
    blocked: Vec<bool>,
    queue: BinaryHeap<InFlight>,
    /// Seeds each message's fate (see [`Network::fate`]).
    seed: u64,
    /// Snapshots (sender, receiver) whose link was cut while they were in
    /// flight, for the sender's transport to report.
    lost_snapshots: Vec<(NodeId, NodeId)>,
    /// What happened to the messages so far.
    pub stats: NetStats,
}

impl Network {
    /// A reliable network between `nodes` nodes (ids from 1) whose faults draw from `seed`.
    pub fn new(nodes: usize, seed: u64) -> Network {
        Network {
            nodes,
            params: NetParams::RELIABLE,
            blocked: vec![false; (nodes + 1) * (nodes + 1)],
            queue: BinaryHeap::new(),
            seed,
            lost_snapshots: Vec::new(),
            stats: NetStats::default(),
        }
    }

    /// Changes the message-level faults from now on.
    pub fn set_params(&mut self, params: NetParams) {
        self.params = params;
    }

    fn link(&self, from: NodeId, to: NodeId) -> Option<usize> {
        let (f, t) = (from as usize, to as usize);
        (f <= self.nodes && t <= self.nodes).then_some(f * (self.nodes + 1) + t)
    }

    /// Whether the link from `from` to `to` is cut.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.link(from, to).is_some_and(|i| self.blocked[i])
    }

    /// Cuts the link from `from` to `to`, one direction only.
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        if let Some(i) = self.link(from, to) {
            self.blocked[i] = true;
        }
    }

    /// Cuts both directions between the ids in `side` and the rest.
    pub fn partition(&mut self, side: u64) {
        for a in 1..=self.nodes as u64 {
            for b in 1..=self.nodes as u64 {
                if (side >> a) & 1 != (side >> b) & 1 {
                    self.cut(a, b);
                }
            }
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.blocked.iter_mut().for_each(|b| *b = false);
    }

    /// The random draws for one message, from what the message is and when
    /// it is sent rather than from a shared stream: when the shrinker
    /// removes an event, messages it did not affect keep their fate, so a
    /// failure survives removals that have nothing to do with it.
    fn fate(&self, now: u64, m: &Message) -> Rng {
        let mut h = Rng::new(self.seed ^ now.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for v in [
            m.from,
            m.to,
            m.msg_type as u64,
            m.term,
            m.index,
            m.log_term,
            m.commit,
            m.entries.len() as u64,
            u64::from(m.reject),
        ] {
            h = Rng::new(h.next_u64() ^ v);
        }
        h
    }

    /// Puts `msg` on the wire at time `now`.
    pub fn send(&mut self, now: u64, msg: Message) -> Result<(), Lost> {
        self.stats.sent += 1;
        if self.is_cut(msg.from, msg.to) {
            self.stats.cut += 1;
            return Err(Lost::Cut);
        }
        let mut rng = self.fate(now, &msg);
        if rng.chance(self.params.drop_per_mille) {
            self.stats.dropped += 1;
            return Err(Lost::Dropped);
        }
        if rng.chance(self.params.dup_per_mille) {
            self.stats.duplicated += 1;
            self.enqueue(now, msg.clone(), &mut rng);
        }
        self.enqueue(now, msg, &mut rng);
        Ok(())
    }

    fn enqueue(&mut self, now: u64, msg: Message, rng: &mut Rng) {
        let at = now + rng.range(1, self.params.max_delay.max(1));
        let order = rng.next_u64();
        self.queue.push(InFlight { at, order, msg });
    }

    /// The next message due by `now`, skipping those whose link was cut
    /// while they were in flight.
    pub fn next_due(&mut self, now: u64) -> Option<Message> {
        while self.queue.peek().is_some_and(|m| m.at <= now) {
            let m = self.queue.pop()?.msg;
            if self.is_cut(m.from, m.to) {
                self.stats.cut += 1;
                if m.msg_type == raft_core::MessageType::MsgSnap {
                    self.lost_snapshots.push((m.from, m.to));
                }
                continue;
            }
            self.stats.delivered += 1;
            return Some(m);
        }
        None
    }

    /// Snapshots lost to a cut link since the last call, as (sender,
    /// receiver).
    pub fn take_lost_snapshots(&mut self) -> Vec<(NodeId, NodeId)> {
        std::mem::take(&mut self.lost_snapshots)
    }

    /// Messages sent and not yet delivered or lost.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::MessageType;

    fn msg(from: NodeId, to: NodeId, index: u64) -> Message {
        let mut m = Message::new(MessageType::MsgApp);
        m.from = from;
        m.to = to;
        m.index = index;
        m
    }

    #[test]
    fn delays_reorder_and_everything_arrives_on_a_lossless_network() {
        let mut net = Network::new(3, 5);
        net.set_params(NetParams {
            drop_per_mille: 0,
            dup_per_mille: 0,
            max_delay: 50,
        });
        for i in 0..100 {
            net.send(0, msg(1, 2, i)).unwrap();
        }
        let mut got = Vec::new();
        for now in 0..=50 {
            while let Some(m) = net.next_due(now) {
                got.push(m.index);
            }
        }
        assert_eq!(got.len(), 100);
        assert!(got.windows(2).any(|w| w[0] > w[1]), "no reordering");
        got.sort();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn partitions_cut_both_ways_and_catch_messages_in_flight() {
        let mut net = Network::new(3, 1);
        net.send(0, msg(1, 2, 1)).unwrap();
        net.partition(0b0010); // {n1} | {n2, n3}
        assert!(net.is_cut(1, 2) && net.is_cut(2, 1) && net.is_cut(3, 1));
        assert!(!net.is_cut(2, 3));
        assert_eq!(net.next_due(100), None);
        assert_eq!(net.send(0, msg(2, 1, 2)), Err(Lost::Cut));
        net.heal();
        net.send(0, msg(2, 1, 3)).unwrap();
        assert_eq!(net.next_due(100).map(|m| m.index), Some(3));
    }

    #[test]
    fn drop_and_duplicate_rates_are_applied() {
        let mut net = Network::new(3, 9);
        net.set_params(NetParams {
            drop_per_mille: 500,
            dup_per_mille: 500,
            max_delay: 1,
        });
        let sent = (0..1000)
            .filter(|i| net.send(0, msg(1, 2, *i)).is_ok())
            .count();
        assert!((400..600).contains(&sent), "{sent} of 1000 got through");
        let mut arrived = 0;
        while net.next_due(1).is_some() {
            arrived += 1;
        }
        assert!(
            arrived > sent + sent / 3,
            "{arrived} arrived of {sent} sent"
        );
    }
}
