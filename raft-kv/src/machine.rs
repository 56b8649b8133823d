//! The store as raft-node's [`StateMachine`]: commands decoded from
//! committed entries, outcomes returned to the proposer, snapshots captured
//! on the Raft loop and encoded off it.

use crate::command::{Command, Outcome};
use crate::store::KvStore;
use bytes::{BufMut, Bytes, BytesMut};
use raft_node::{SnapshotError, SnapshotJob, StateMachine};
use std::sync::{Arc, Mutex, MutexGuard};

/// A [`KvStore`] shared between the Raft loop (which applies to it) and
/// readers (which read it after a linearizable read barrier).
#[derive(Clone, Debug, Default)]
pub struct KvMachine {
    store: Arc<Mutex<KvStore>>,
}

impl KvMachine {
    /// An empty store.
    pub fn new() -> KvMachine {
        KvMachine::default()
    }

    /// The store, for reads. Held briefly: the Raft loop applies through
    /// the same lock.
    pub fn store(&self) -> MutexGuard<'_, KvStore> {
        // Nothing panics while holding the lock; a poisoned store is still
        // a whole store.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An outcome as the bytes [`StateMachine::apply`] returns: a tag, then the
/// fields. [`decode_outcome`] reads it back.
pub fn encode_outcome(outcome: &Outcome) -> Bytes {
    let mut b = BytesMut::new();
    let opt = |b: &mut BytesMut, v: &Option<String>| match v {
        Some(v) => {
            b.put_u8(1);
            crate::command::put_str(b, v);
        }
        None => b.put_u8(0),
    };
    match outcome {
        Outcome::Put { previous } => {
            b.put_u8(1);
            opt(&mut b, previous);
        }
        Outcome::Delete { existed } => {
            b.put_u8(2);
            b.put_u8(u8::from(*existed));
        }
        Outcome::Cas { swapped, current } => {
            b.put_u8(3);
            b.put_u8(u8::from(*swapped));
            opt(&mut b, current);
        }
    }
    b.freeze()
}

/// Reads back what [`encode_outcome`] wrote.
pub fn decode_outcome(mut buf: &[u8]) -> Result<Outcome, crate::DecodeError> {
    use crate::command::{get_str, get_u8};
    let opt = |buf: &mut &[u8]| -> Result<Option<String>, crate::DecodeError> {
        match get_u8(buf, "presence")? {
            0 => Ok(None),
            1 => Ok(Some(get_str(buf, "value")?)),
            other => Err(crate::DecodeError::BadFlag(other)),
        }
    };
    let flag = |buf: &mut &[u8]| -> Result<bool, crate::DecodeError> {
        match get_u8(buf, "flag")? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(crate::DecodeError::BadFlag(other)),
        }
    };
    let outcome = match get_u8(&mut buf, "outcome tag")? {
        1 => Outcome::Put {
            previous: opt(&mut buf)?,
        },
        2 => Outcome::Delete {
            existed: flag(&mut buf)?,
        },
        3 => Outcome::Cas {
            swapped: flag(&mut buf)?,
            current: opt(&mut buf)?,
        },
        other => return Err(crate::DecodeError::UnknownTag(other)),
    };
    if !buf.is_empty() {
        return Err(crate::DecodeError::Trailing(buf.len()));
    }
    Ok(outcome)
}

impl StateMachine for KvMachine {
    fn apply(&mut self, index: u64, data: &Bytes) -> Bytes {
        let mut store = self.store();
        if data.is_empty() {
            // An empty proposal changes nothing; proposing one is a way to
            // wait for everything before it to apply.
            store.skip(index);
            return Bytes::new();
        }
        match Command::decode(data) {
            Ok(cmd) => encode_outcome(&store.apply(index, &cmd)),
            Err(e) => {
                // Every replica skips the same bad entry, so they stay equal;
                // the proposer gets an empty answer.
                tracing::warn!(index, error = %e, "committed entry is not a command; skipped");
                store.skip(index);
                Bytes::new()
            }
        }
    }

    fn snapshot(&mut self) -> Result<SnapshotJob, SnapshotError> {
        // On the Raft loop: an Arc clone. The encoding runs off it.
        let captured = self.store().capture();
        Ok(SnapshotJob::blocking(move || Ok(captured.encode())))
    }

    fn restore(&mut self, data: &Bytes, index: u64) -> Result<(), SnapshotError> {
        self.store()
            .restore(data, index)
            .map_err(|e| SnapshotError::Corrupt(e.to_string()))
    }
}
