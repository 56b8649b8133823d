//! The replicated state: a sorted map from keys to values, the index of the
//! last entry applied to it, and its snapshot format.

use crate::command::{get_str, put_str, Command, DecodeError, Outcome};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;

/// The map every replica builds by applying the same commands in the same
/// order.
///
/// The map sits behind an `Arc` so that taking a snapshot on the Raft loop
/// costs a reference count: [`KvStore::capture`] shares the map with the
/// serialising thread, and the next write copies it once (`Arc::make_mut`)
/// instead of the loop waiting for the whole state to be encoded.
#[derive(Clone, Debug, Default)]
pub struct KvStore {
    map: Arc<BTreeMap<String, String>>,
    applied: u64,
}

/// A frozen copy of the store, to be encoded off the Raft loop.
#[derive(Clone, Debug)]
pub struct Captured {
    map: Arc<BTreeMap<String, String>>,
    applied: u64,
}

/// Why bytes are not a snapshot of the store.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SnapshotDecodeError {
    /// The bytes do not start with the format's magic and version.
    #[error("not a raft-kv snapshot (bad magic or version)")]
    BadMagic,
    /// The checksum over the content does not match: the bytes were damaged.
    #[error("snapshot checksum mismatch")]
    Checksum,
    /// A record inside is malformed.
    #[error("malformed snapshot: {0}")]
    Malformed(#[from] DecodeError),
    /// Keys are not strictly increasing (a well-formed snapshot is sorted).
    #[error("snapshot keys are not sorted")]
    Unsorted,
}

const MAGIC: &[u8; 4] = b"RKV1";

impl KvStore {
    /// An empty store.
    pub fn new() -> KvStore {
        KvStore::default()
    }

    /// Applies the command committed at `index` and returns what it did.
    pub fn apply(&mut self, index: u64, cmd: &Command) -> Outcome {
        self.applied = index;
        let map = Arc::make_mut(&mut self.map);
        match cmd {
            Command::Put { key, value } => Outcome::Put {
                previous: map.insert(key.clone(), value.clone()),
            },
            Command::Delete { key } => Outcome::Delete {
                existed: map.remove(key).is_some(),
            },
            Command::Cas { key, expected, new } => {
                let swapped = map.get(key) == expected.as_ref();
                if swapped {
                    map.insert(key.clone(), new.clone());
                }
                Outcome::Cas {
                    swapped,
                    current: map.get(key).cloned(),
                }
            }
        }
    }

    /// Records that the entry at `index` was applied without changing the
    /// map (a payload that is not a command, a leader's empty entry).
    pub fn skip(&mut self, index: u64) {
        self.applied = index;
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The index of the last entry applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Freezes the current state for [`Captured::encode`], cheaply.
    pub fn capture(&self) -> Captured {
        Captured {
            map: Arc::clone(&self.map),
            applied: self.applied,
        }
    }

    /// Replaces the state with a snapshot's, as of entry `index`.
    pub fn restore(&mut self, data: &[u8], index: u64) -> Result<(), SnapshotDecodeError> {
        let map = decode_snapshot(data)?;
        self.map = Arc::new(map);
        self.applied = index;
        Ok(())
    }
}

impl Captured {
    /// The snapshot bytes: magic, entry count, sorted (key, value) records,
    /// and a checksum of everything before it.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_slice(MAGIC);
        b.put_u64(self.map.len() as u64);
        for (k, v) in self.map.iter() {
            put_str(&mut b, k);
            put_str(&mut b, v);
        }
        let sum = fnv1a(&b);
        b.put_u64(sum);
        b.freeze()
    }

    /// The index of the last entry the captured state includes.
    pub fn applied(&self) -> u64 {
        self.applied
    }
}

fn decode_snapshot(data: &[u8]) -> Result<BTreeMap<String, String>, SnapshotDecodeError> {
    if data.len() < MAGIC.len() + 8 + 8 || &data[..MAGIC.len()] != MAGIC {
        return Err(SnapshotDecodeError::BadMagic);
    }
    let (body, mut sum) = data.split_at(data.len() - 8);
    if fnv1a(body) != sum.get_u64() {
        return Err(SnapshotDecodeError::Checksum);
    }
    let mut buf = &body[MAGIC.len()..];
    let count = buf.get_u64();
    let mut map = BTreeMap::new();
    let mut last: Option<String> = None;
    for _ in 0..count {
        let key = get_str(&mut buf, "snapshot key")?;
        let value = get_str(&mut buf, "snapshot value")?;
        if last.as_ref().is_some_and(|l| *l >= key) {
            return Err(SnapshotDecodeError::Unsorted);
        }
        last = Some(key.clone());
        map.insert(key, value);
    }
    if !buf.is_empty() {
        return Err(DecodeError::Trailing(buf.len()).into());
    }
    Ok(map)
}

/// FNV-1a, 64 bits: enough to tell damaged bytes from good ones (this is
/// not protection against an adversary, which the transport's TLS is).
fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
