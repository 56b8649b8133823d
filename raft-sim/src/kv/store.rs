//! A node's key-value state: the map, and one session per client.
//!
//! A session holds the client's last sequence number applied and what it
//! answered. Sessions do two jobs: a command whose sequence number is not
//! above its client's last is not applied again (the network duplicates
//! forwarded proposals, and a client that gave up on a write may see it
//! land after its next one), and a node that received a client's write
//! inside a snapshot, rather than applying the entry, still knows the
//! answer.

use super::command::KvCommand;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use raft_core::{Entry, EntryType};
use raft_lincheck::kv::{KvInput, KvOutput};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why snapshot bytes are not a key-value state.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KvDecodeError {
    /// The data ends inside a field.
    #[error("key-value state truncated in {0}")]
    Truncated(&'static str),
    /// A key or value is not UTF-8.
    #[error("key-value state holds a {0} that is not UTF-8")]
    NotUtf8(&'static str),
    /// A session's answer has an unknown tag.
    #[error("key-value state holds an answer with unknown tag {0}")]
    BadAnswer(u8),
    /// Bytes follow the state.
    #[error("{0} bytes after the key-value state")]
    Trailing(usize),
}

/// The map and the sessions, as of some applied index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    data: BTreeMap<String, String>,
    /// Per client: the last sequence number applied and its answer.
    sessions: BTreeMap<u64, (u64, KvOutput)>,
}

impl KvStore {
    /// Applies a committed entry: a client's write, once per sequence
    /// number; anything else (other payloads, configuration changes) leaves
    /// the store as it is.
    pub fn apply(&mut self, e: &Entry) {
        if e.entry_type != EntryType::EntryNormal {
            return;
        }
        let Some(cmd) = KvCommand::decode(&e.data) else {
            return;
        };
        if self
            .sessions
            .get(&cmd.client)
            .is_some_and(|(last, _)| cmd.seq <= *last)
        {
            return;
        }
        let answer = match cmd.input {
            KvInput::Put { key, value } => {
                self.data.insert(key, value);
                KvOutput::Done
            }
            KvInput::Delete { key } => {
                self.data.remove(&key);
                KvOutput::Done
            }
            KvInput::Cas { key, expected, new } => {
                let swapped = self.data.get(&key) == expected.as_ref();
                if swapped {
                    self.data.insert(key, new);
                }
                KvOutput::Swapped(swapped)
            }
            // Gets are never encoded as commands.
            _ => return,
        };
        self.sessions.insert(cmd.client, (cmd.seq, answer));
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// The answer to `client`'s write `seq`, if it is the client's last one
    /// applied here.
    pub fn answer(&self, client: u64, seq: u64) -> Option<&KvOutput> {
        match self.sessions.get(&client) {
            Some((last, answer)) if *last == seq => Some(answer),
            _ => None,
        }
    }

    /// The state as bytes, for a snapshot.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u32_le(self.data.len() as u32);
        for (k, v) in &self.data {
            put_str(&mut b, k);
            put_str(&mut b, v);
        }
        b.put_u32_le(self.sessions.len() as u32);
        for (client, (seq, answer)) in &self.sessions {
            b.put_u64_le(*client);
            b.put_u64_le(*seq);
            b.put_u8(match answer {
                KvOutput::Swapped(false) => 1,
                KvOutput::Swapped(true) => 2,
                _ => 0,
            });
        }
        b.freeze()
    }

    /// The state [`KvStore::encode`] wrote; empty data is the empty store
    /// (a snapshot of nothing).
    pub fn decode(mut data: &[u8]) -> Result<KvStore, KvDecodeError> {
        let mut store = KvStore::default();
        if data.is_empty() {
            return Ok(store);
        }
        let keys = get_u32(&mut data, "the key count")?;
        for _ in 0..keys {
            let k = get_str(&mut data, "key")?;
            let v = get_str(&mut data, "value")?;
            store.data.insert(k, v);
        }
        let sessions = get_u32(&mut data, "the session count")?;
        for _ in 0..sessions {
            if data.remaining() < 17 {
                return Err(KvDecodeError::Truncated("a session"));
            }
            let client = data.get_u64_le();
            let seq = data.get_u64_le();
            let answer = match data.get_u8() {
                0 => KvOutput::Done,
                1 => KvOutput::Swapped(false),
                2 => KvOutput::Swapped(true),
                tag => return Err(KvDecodeError::BadAnswer(tag)),
            };
            store.sessions.insert(client, (seq, answer));
        }
        if !data.is_empty() {
            return Err(KvDecodeError::Trailing(data.len()));
        }
        Ok(store)
    }
}

fn put_str(b: &mut BytesMut, s: &str) {
    b.put_u32_le(s.len() as u32);
    b.put_slice(s.as_bytes());
}

fn get_u32(data: &mut &[u8], what: &'static str) -> Result<u32, KvDecodeError> {
    if data.remaining() < 4 {
        return Err(KvDecodeError::Truncated(what));
    }
    Ok(data.get_u32_le())
}

fn get_str(data: &mut &[u8], what: &'static str) -> Result<String, KvDecodeError> {
    let len = get_u32(data, what)? as usize;
    if data.remaining() < len {
        return Err(KvDecodeError::Truncated(what));
    }
    let (s, rest) = data.split_at(len);
    *data = rest;
    String::from_utf8(s.to_vec()).map_err(|_| KvDecodeError::NotUtf8(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, client: u64, seq: u64, input: KvInput) -> Entry {
        let data = KvCommand { client, seq, input }.encode().unwrap();
        Entry {
            index,
            term: 1,
            data,
            ..Entry::default()
        }
    }

    fn put(key: &str, value: &str) -> KvInput {
        KvInput::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn writes_apply_once_per_sequence_number_and_answer_from_the_session() {
        let mut s = KvStore::default();
        s.apply(&entry(1, 1, 1, put("k0", "a")));
        assert_eq!(s.get("k0"), Some("a"));
        assert_eq!(s.answer(1, 1), Some(&KvOutput::Done));
        let cas = |expected: Option<&str>, new: &str| KvInput::Cas {
            key: "k0".into(),
            expected: expected.map(str::to_string),
            new: new.into(),
        };
        s.apply(&entry(2, 2, 1, cas(Some("x"), "b")));
        assert_eq!(s.answer(2, 1), Some(&KvOutput::Swapped(false)));
        s.apply(&entry(3, 2, 2, cas(Some("a"), "c")));
        assert_eq!(s.answer(2, 2), Some(&KvOutput::Swapped(true)));
        assert_eq!(s.answer(2, 1), None);
        // A duplicate of client 1's put, and a late write of client 2's
        // older sequence number, change nothing.
        s.apply(&entry(4, 1, 1, put("k0", "a")));
        s.apply(&entry(5, 2, 1, put("k0", "stale")));
        assert_eq!(s.get("k0"), Some("c"));
        s.apply(&entry(6, 1, 2, KvInput::Delete { key: "k0".into() }));
        assert_eq!(s.get("k0"), None);
        // Other payloads and configuration changes are not commands.
        s.apply(&Entry {
            index: 7,
            data: Bytes::from_static(b"c12"),
            ..Entry::default()
        });
        let mut conf = entry(8, 1, 9, put("k1", "z"));
        conf.entry_type = EntryType::EntryConfChange;
        s.apply(&conf);
        assert_eq!(s.get("k1"), None);
    }

    #[test]
    fn the_state_round_trips_and_bad_bytes_are_errors() {
        let mut s = KvStore::default();
        assert_eq!(KvStore::decode(&s.encode()), Ok(s.clone()));
        assert_eq!(KvStore::decode(b""), Ok(KvStore::default()));
        s.apply(&entry(1, 1, 1, put("k0", "a")));
        s.apply(&entry(2, 2, 4, put("k1", "b")));
        let bytes = s.encode();
        assert_eq!(KvStore::decode(&bytes), Ok(s));
        for cut in 1..bytes.len() {
            assert!(KvStore::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(KvStore::decode(&longer), Err(KvDecodeError::Trailing(1)));
    }
}
