//! The cluster's state machine: a count and a running checksum of every
//! applied payload, so that "these nodes hold the same state" is a real
//! check, and snapshots have something to carry.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use raft_node::{SnapshotError, SnapshotJob, StateMachine};
use std::sync::{Arc, Mutex, MutexGuard};

/// What the state machine holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Payloads applied (directly or folded into a restored snapshot).
    pub count: u64,
    /// A running hash over the indexes and payloads, in log order.
    pub sum: u64,
    /// The log index of the last payload included.
    pub last_index: u64,
}

/// Snapshot layout: a version byte, then the three numbers. Version 1 hashed
/// byte by byte (FNV-1a); its sums are not comparable with these.
const VERSION: u8 = 2;
const ENCODED_LEN: usize = 1 + 3 * 8;
/// An odd multiplier with bits set throughout, so that one multiply spreads
/// a word's low bits over the whole sum.
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// Folds one word into the sum. Multiplying by an odd number is a bijection
/// and so is the rotation, so two sums that differ before a word differ
/// after it, and a different word gives a different sum; the rotation
/// brings the high bits, which the multiply fills, back to the bottom.
fn mix(h: u64, word: u64) -> u64 {
    (h ^ word).wrapping_mul(MULTIPLIER).rotate_left(29)
}

impl Checksum {
    fn apply(&mut self, index: u64, data: &[u8]) {
        let mut h = if self.count == 0 { SEED } else { self.sum };
        // The index goes in too, so the same payloads at other indexes
        // give another sum; the length tells a payload from one with zeros
        // added. A word at a time: every node hashes every entry, and byte
        // by byte this was the largest cost of a node applying in memory.
        h = mix(h, index);
        h = mix(h, data.len() as u64);
        let mut words = data.chunks_exact(8);
        for chunk in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h = mix(h, u64::from_le_bytes(word));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            h = mix(h, u64::from_le_bytes(word));
        }
        self.sum = h;
        self.count += 1;
        self.last_index = index;
    }

    fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(ENCODED_LEN);
        b.put_u8(VERSION);
        b.put_u64(self.count);
        b.put_u64(self.sum);
        b.put_u64(self.last_index);
        b.freeze()
    }

    fn decode(data: &[u8]) -> Result<Checksum, SnapshotError> {
        if data.len() != ENCODED_LEN || data[0] != VERSION {
            return Err(SnapshotError::Corrupt(format!(
                "expected {ENCODED_LEN} bytes of version {VERSION}, got {} bytes",
                data.len()
            )));
        }
        let mut d = &data[1..];
        Ok(Checksum {
            count: d.get_u64(),
            sum: d.get_u64(),
            last_index: d.get_u64(),
        })
    }
}

/// A [`StateMachine`] keeping a [`Checksum`]. Clones share the state, so the
/// cluster keeps one to read what the node applied.
#[derive(Clone, Debug, Default)]
pub struct ChecksumMachine {
    state: Arc<Mutex<Checksum>>,
}

impl ChecksumMachine {
    /// A state machine that has applied nothing.
    pub fn new() -> ChecksumMachine {
        ChecksumMachine::default()
    }

    /// The state now.
    pub fn current(&self) -> Checksum {
        *self.lock()
    }

    fn lock(&self) -> MutexGuard<'_, Checksum> {
        // Three plain numbers are consistent whatever a panicking holder did.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl StateMachine for ChecksumMachine {
    fn apply(&mut self, index: u64, data: &Bytes) -> Bytes {
        self.lock().apply(index, data);
        Bytes::new()
    }

    /// The state is 25 bytes: captured and encoded at once on the loop.
    fn snapshot(&mut self) -> Result<SnapshotJob, SnapshotError> {
        Ok(SnapshotJob::ready(self.current().encode()))
    }

    fn restore(&mut self, data: &Bytes, _index: u64) -> Result<(), SnapshotError> {
        let restored = Checksum::decode(data)?;
        *self.lock() = restored;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_garbage_is_refused() {
        let mut a = ChecksumMachine::new();
        a.apply(2, &Bytes::from_static(b"x"));
        a.apply(3, &Bytes::from_static(b"y"));
        let Ok(data) = a.snapshot().map(|j| format!("{j:?}")) else {
            panic!("snapshot failed")
        };
        assert!(data.contains("25 bytes"), "{data}");
        let encoded = a.current().encode();
        let mut b = ChecksumMachine::new();
        b.restore(&encoded, 3).unwrap();
        assert_eq!(b.current(), a.current());
        a.apply(4, &Bytes::from_static(b"z"));
        b.apply(4, &Bytes::from_static(b"z"));
        assert_eq!(b.current(), a.current());
        assert!(b.restore(&Bytes::from_static(b"short"), 3).is_err());
    }

    #[test]
    fn order_and_position_change_the_sum() {
        let mut a = Checksum::default();
        let mut b = Checksum::default();
        a.apply(1, b"x");
        a.apply(2, b"y");
        b.apply(1, b"y");
        b.apply(2, b"x");
        assert_ne!(a.sum, b.sum);
        let mut c = Checksum::default();
        c.apply(5, b"x");
        let mut d = Checksum::default();
        d.apply(6, b"x");
        assert_ne!(c.sum, d.sum);
    }

    #[test]
    fn trailing_zeros_and_any_changed_byte_change_the_sum() {
        let sum = |data: &[u8]| {
            let mut c = Checksum::default();
            c.apply(1, data);
            c.sum
        };
        let base: Vec<u8> = (0..21).collect();
        let mut padded = base.clone();
        padded.push(0);
        assert_ne!(sum(&base), sum(&padded));
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i] ^= 0x80;
            assert_ne!(sum(&base), sum(&changed), "byte {i}");
        }
    }
}
