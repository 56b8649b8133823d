//! The key-value clients' requests: which client asks which node for what,
//! and when. They come from a random stream of their own, so that adding
//! them left each seed's faults, proposals and other client operations as
//! they were.

use super::{stream, Event, Timed, TICK};
use crate::rng::Rng;
use raft_core::NodeId;
use std::fmt;

/// Clients issuing key-value operations in every seed.
pub const KV_CLIENTS: u64 = 3;

/// What a key-value request does; its values are chosen when it is made
/// (a put writes a value unique to the request, a compare-and-swap expects
/// what its client last saw in the key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KvKind {
    /// A linearizable read (ReadIndex).
    Get,
    /// A write through the log.
    Put,
    /// A removal through the log.
    Delete,
    /// A compare-and-swap through the log.
    Cas,
}

/// A client's key-value request to a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvRequest {
    /// The client, 1 to [`KV_CLIENTS`].
    pub client: u64,
    /// The node asked.
    pub node: NodeId,
    /// What it asks.
    pub kind: KvKind,
    /// The key, `k<key>`.
    pub key: u8,
}

impl fmt::Display for KvRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            KvKind::Get => "get",
            KvKind::Put => "put",
            KvKind::Delete => "delete",
            KvKind::Cas => "compare-and-swap",
        };
        write!(
            f,
            "kv client {} asks n{}: {kind} k{}",
            self.client, self.node, self.key
        )
    }
}

/// Draws the key-value requests of a fault phase of `fault_ticks` ticks on
/// `nodes` nodes: a few keys, so that the clients' operations conflict.
pub(super) fn generate(seed: u64, nodes: usize, fault_ticks: u64) -> Vec<Timed> {
    let mut rng = Rng::stream(seed, stream::KV);
    let keys = rng.range(2, 3);
    // Per tick, per mille; a client busy with its previous request lets
    // a new one pass.
    let rate = rng.range(50, 250);
    let mut events = Vec::new();
    for tick in 0..fault_ticks {
        if !rng.chance(rate) {
            continue;
        }
        let at = tick * TICK + rng.below(TICK);
        let kind = match rng.below(10) {
            0..=3 => KvKind::Get,
            4..=6 => KvKind::Put,
            7 => KvKind::Delete,
            _ => KvKind::Cas,
        };
        events.push(Timed {
            at,
            event: Event::Kv(KvRequest {
                client: rng.range(1, KV_CLIENTS),
                node: rng.range(1, nodes as u64),
                kind,
                key: rng.below(keys) as u8,
            }),
        });
    }
    events
}
