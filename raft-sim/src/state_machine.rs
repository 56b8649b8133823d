//! The simulated nodes' state machine, snapshots of it and when to take
//! them.
//!
//! The state is a hash chain over every applied entry's payload, in order:
//! small enough to snapshot often, yet two nodes (or a node and the
//! checker's committed log) agree on it only if they applied the same
//! payloads in the same order. A snapshot's data is the state's encoding:
//! the index it covers, then the hash, then the application's own bytes
//! (the nodes' key-value store, [`crate::kv`]).

use bytes::{Bytes, BytesMut};
use raft_core::Entry;

/// The hash of nothing applied.
const START: u64 = 0xcbf2_9ce4_8422_2325;

/// Folds one applied payload into `hash` (FNV-1a over its length, then its
/// bytes, so that payload boundaries count).
pub fn fold(hash: u64, data: &[u8]) -> u64 {
    let len = (data.len() as u64).to_le_bytes();
    len.iter().chain(data).fold(hash, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A node's applied state: how far it got and the chain's hash there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateMachine {
    /// The last index applied.
    pub index: u64,
    /// The hash chain over entries 1 to `index`.
    pub hash: u64,
}

impl Default for StateMachine {
    fn default() -> StateMachine {
        StateMachine {
            index: 0,
            hash: START,
        }
    }
}

impl StateMachine {
    /// The state after applying `e` (which must be the next index).
    pub fn apply(&mut self, e: &Entry) {
        self.index = e.index;
        self.hash = fold(self.hash, &e.data);
    }

    /// The snapshot data of this state, followed by the application's
    /// bytes `app`.
    pub fn encode(&self, app: &[u8]) -> Bytes {
        let mut b = BytesMut::with_capacity(16 + app.len());
        b.extend_from_slice(&self.index.to_le_bytes());
        b.extend_from_slice(&self.hash.to_le_bytes());
        b.extend_from_slice(app);
        b.freeze()
    }

    /// The state a snapshot's data holds, and the application's bytes after
    /// it; an empty snapshot (no data) is the initial state with no
    /// application bytes. `None` for data no node wrote.
    pub fn decode(data: &[u8]) -> Option<(StateMachine, &[u8])> {
        if data.is_empty() {
            return Some((StateMachine::default(), data));
        }
        let index = u64::from_le_bytes(data.get(..8)?.try_into().ok()?);
        let hash = u64::from_le_bytes(data.get(8..16)?.try_into().ok()?);
        Some((StateMachine { index, hash }, data.get(16..)?))
    }
}

/// Whether a sim run breaks a rule of its own on purpose, to prove the
/// checker catches it (only with the `fault-injection` feature).
#[cfg(feature = "fault-injection")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimFault {
    /// Nodes write snapshots labelled with the applied index but holding
    /// the state of their previous snapshot: a restore brings back stale
    /// data.
    StaleSnapshotData,
    /// Nodes compact their log to its last index instead of to their
    /// snapshot: entries neither in the snapshot nor in the log are lost.
    CompactPastSnapshot,
    /// A follower answers a key-value client's get from its own state at
    /// once, without ReadIndex: it may not have applied a write already
    /// answered to another client.
    StaleLocalReads,
    /// The append thread of a node with async storage writes delivers its
    /// responses to peers (votes, append acknowledgements) when it takes a
    /// write rather than once a sync made it durable.
    AckBeforeSync,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(index: u64, data: &'static [u8]) -> Entry {
        Entry {
            index,
            term: 1,
            data: Bytes::from_static(data),
            ..Entry::default()
        }
    }

    #[test]
    fn state_round_trips_and_depends_on_order_and_boundaries() {
        let mut a = StateMachine::default();
        a.apply(&ent(1, b"ab"));
        a.apply(&ent(2, b"c"));
        assert_eq!(StateMachine::decode(&a.encode(b"")), Some((a, &b""[..])));
        assert_eq!(
            StateMachine::decode(&a.encode(b"kv")),
            Some((a, &b"kv"[..]))
        );
        let mut b = StateMachine::default();
        b.apply(&ent(1, b"a"));
        b.apply(&ent(2, b"bc"));
        assert_eq!(a.index, b.index);
        assert_ne!(a.hash, b.hash);
        assert_eq!(
            StateMachine::decode(b""),
            Some((StateMachine::default(), &b""[..]))
        );
        assert_eq!(StateMachine::decode(b"short"), None);
    }
}
