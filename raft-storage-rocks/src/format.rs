//! The on-disk format, version 1.
//!
//! A log lives in one RocksDB database with two column families:
//!
//! | column family | key | value |
//! |---|---|---|
//! | [`CF_META`] | [`KEY_FORMAT`] | [`MAGIC`] then the format version, `u32` big-endian |
//! | [`CF_META`] | [`KEY_BASE`] | `1`, term `u64`, index `u64` |
//! | [`CF_META`] | [`KEY_CONF_STATE`] | `1`, voter count `u32`, each voter `u64`; or, with learners or while joint, `2`, then voters, learners, outgoing voters and learners next (each a count `u32` and the ids), then auto-leave `u8` |
//! | [`CF_META`] | [`KEY_HARD_STATE`] | `1`, term `u64`, vote `u64`, commit `u64` |
//! | [`CF_META`] | [`KEY_SNAPSHOT`] | `1`, index `u64`, term `u64`, membership length `u32`, membership (as [`KEY_CONF_STATE`]), data |
//! | [`CF_ENTRIES`] | index, `u64` big-endian | `1`, entry type `u8`, term `u64`, payload |
//!
//! All integers are big-endian. Every value starts with its own encoding
//! version byte (`1`), so a later version can change one record kind while
//! still reading logs that hold the old one; the [`KEY_FORMAT`] marker is
//! what `open` checks first, to refuse a directory that is not a Raft log at
//! all or one written by a newer, incompatible build.
//!
//! Entry keys are big-endian so that RocksDB's bytewise order is index
//! order: reading `[lo, hi)` is one forward scan, and the last entry is one
//! `seek_to_last`. The index is not repeated in the value; the payload is
//! stored as is, after a fixed 10-byte header.
//!
//! [`KEY_SNAPSHOT`] is absent until a snapshot is installed or created; the
//! snapshot is then the base with no data (the state the log was created
//! from). Its data is the application's state machine, stored whole.
//!
//! There is no checksum in the values: RocksDB already checksums every WAL
//! record and every SST block, and recovery stops at a torn WAL tail. The
//! decoders here check structure (version, lengths, entry type), which is
//! what catches a value that RocksDB stored intact but that this crate did
//! not write.

use bytes::Bytes;
use raft_core::{ConfState, Entry, EntryId, EntryType, HardState, Snapshot};

/// Column family of the log entries, keyed by index.
pub const CF_ENTRIES: &str = "raft_entries";
/// Column family of everything else: format marker, base, states.
pub const CF_META: &str = "raft_meta";

/// Meta key of the format marker (magic and version).
pub const KEY_FORMAT: &[u8] = b"format";
/// Meta key of the base: the entry just before the first stored one.
pub const KEY_BASE: &[u8] = b"base";
/// Meta key of the membership.
pub const KEY_CONF_STATE: &[u8] = b"conf_state";
/// Meta key of the hard state.
pub const KEY_HARD_STATE: &[u8] = b"hard_state";
/// Key of the latest snapshot (metadata and data) in [`CF_META`].
pub const KEY_SNAPSHOT: &[u8] = b"snapshot";

/// First bytes of the format marker value.
pub const MAGIC: &[u8; 8] = b"RAFTLOG\0";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Version byte leading every value this build writes.
const RECORD_V1: u8 = 1;
/// Version byte of a membership record with learners or a joint
/// configuration.
const RECORD_CONF_V2: u8 = 2;
/// Version byte + entry type + term.
pub const ENTRY_HEADER_LEN: usize = 10;

/// Why stored bytes do not decode; the caller adds which record it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A record or key of the wrong length.
    #[error("expected {expected} bytes, found {found}")]
    Length {
        /// The length it must have.
        expected: usize,
        /// Its length.
        found: usize,
    },
    /// A record written by a newer format version.
    #[error("unknown record version {0}")]
    Version(u8),
    /// An entry type number raft-core does not know.
    #[error("unknown entry type {0}")]
    EntryType(u8),
}

/// The key of the entry at `index`: big-endian, so keys sort by index.
pub fn entry_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// The index an entry key stands for.
pub fn decode_entry_key(key: &[u8]) -> Result<u64, DecodeError> {
    Ok(u64::from_be_bytes(fixed(key)?))
}

/// An entry's value: header (version, type, term) and payload; the index is in the key.
pub fn encode_entry(entry: &Entry) -> Vec<u8> {
    let mut v = Vec::with_capacity(ENTRY_HEADER_LEN + entry.data.len());
    v.push(RECORD_V1);
    v.push(entry.entry_type as u8);
    v.extend_from_slice(&entry.term.to_be_bytes());
    v.extend_from_slice(&entry.data);
    v
}

/// The term of an encoded entry, without copying its payload: `term()`
/// lookups that miss the tail cache only need this.
pub fn decode_entry_term(value: &[u8]) -> Result<u64, DecodeError> {
    let (_, term) = decode_entry_header(value)?;
    Ok(term)
}

/// The entry stored at `index` with this value.
pub fn decode_entry(index: u64, value: &[u8]) -> Result<Entry, DecodeError> {
    let (entry_type, term) = decode_entry_header(value)?;
    // The value lives in RocksDB's buffer (or a pinned block), which the
    // entry cannot borrow beyond this call: one copy is the floor.
    let data = Bytes::copy_from_slice(&value[ENTRY_HEADER_LEN..]);
    Ok(Entry {
        term,
        index,
        entry_type,
        data,
    })
}

fn decode_entry_header(value: &[u8]) -> Result<(EntryType, u64), DecodeError> {
    if value.len() < ENTRY_HEADER_LEN {
        return Err(DecodeError::Length {
            expected: ENTRY_HEADER_LEN,
            found: value.len(),
        });
    }
    check_version(value[0])?;
    let entry_type = EntryType::from_u8(value[1]).ok_or(DecodeError::EntryType(value[1]))?;
    let term = u64::from_be_bytes(fixed(&value[2..ENTRY_HEADER_LEN])?);
    Ok((entry_type, term))
}

/// The format marker of this build.
pub fn encode_marker() -> Vec<u8> {
    let mut v = MAGIC.to_vec();
    v.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    v
}

/// What the format marker says: `None` when it is not ours at all.
pub fn decode_marker(value: &[u8]) -> Option<u32> {
    let version = value.strip_prefix(MAGIC.as_slice())?;
    Some(u32::from_be_bytes(version.try_into().ok()?))
}

/// A hard state's value.
pub fn encode_hard_state(hs: &HardState) -> Vec<u8> {
    let mut v = Vec::with_capacity(25);
    v.push(RECORD_V1);
    for n in [hs.term, hs.vote, hs.commit] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v
}

/// Decodes a value written by [`encode_hard_state`].
pub fn decode_hard_state(value: &[u8]) -> Result<HardState, DecodeError> {
    let [term, vote, commit] = versioned_u64s::<3>(value)?;
    Ok(HardState { term, vote, commit })
}

/// The base's value.
pub fn encode_base(base: &EntryId) -> Vec<u8> {
    let mut v = Vec::with_capacity(17);
    v.push(RECORD_V1);
    v.extend_from_slice(&base.term.to_be_bytes());
    v.extend_from_slice(&base.index.to_be_bytes());
    v
}

/// Decodes a value written by [`encode_base`].
pub fn decode_base(value: &[u8]) -> Result<EntryId, DecodeError> {
    let [term, index] = versioned_u64s::<2>(value)?;
    Ok(EntryId { term, index })
}

/// The membership's value: version `1` (voters only) when there is
/// nothing else to store, so that a log without learners or joint
/// configurations stays readable by builds that know only version 1; else
/// version `2`: four id lists (voters, learners, outgoing voters, learners
/// next), each a `u32` count then the ids, then `auto_leave` as one byte.
pub fn encode_conf_state(cs: &ConfState) -> Vec<u8> {
    let lists: [&[u64]; 4] = [
        &cs.voters,
        &cs.learners,
        &cs.voters_outgoing,
        &cs.learners_next,
    ];
    let voters_only = lists[1..].iter().all(|l| l.is_empty()) && !cs.auto_leave;
    let ids: usize = lists.iter().map(|l| l.len()).sum();
    let mut v = Vec::with_capacity(18 + 8 * ids);
    v.push(if voters_only {
        RECORD_V1
    } else {
        RECORD_CONF_V2
    });
    let lists = if voters_only { &lists[..1] } else { &lists[..] };
    for list in lists {
        // A member list never approaches u32::MAX ids; saturating keeps the
        // encoder total, and the decoder's length check would then refuse it.
        let count = u32::try_from(list.len()).unwrap_or(u32::MAX);
        v.extend_from_slice(&count.to_be_bytes());
        for id in *list {
            v.extend_from_slice(&id.to_be_bytes());
        }
    }
    if !voters_only {
        v.push(u8::from(cs.auto_leave));
    }
    v
}

/// Decodes a value written by [`encode_conf_state`] (either version).
pub fn decode_conf_state(value: &[u8]) -> Result<ConfState, DecodeError> {
    let Some((&version, mut rest)) = value.split_first() else {
        return Err(DecodeError::Length {
            expected: 5,
            found: 0,
        });
    };
    let lists = match version {
        RECORD_V1 => 1,
        RECORD_CONF_V2 => 4,
        other => return Err(DecodeError::Version(other)),
    };
    let truncated = || DecodeError::Length {
        expected: value.len() + 1,
        found: value.len(),
    };
    let mut read = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for list in read.iter_mut().take(lists) {
        let count = u32::from_be_bytes(fixed(rest.get(..4).ok_or_else(truncated)?)?) as usize;
        let len = count.saturating_mul(8);
        let ids = rest
            .get(4..4usize.saturating_add(len))
            .ok_or_else(truncated)?;
        *list = ids
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default()))
            .collect();
        rest = &rest[4 + len..];
    }
    let auto_leave = match (version, rest) {
        (RECORD_V1, []) => false,
        (RECORD_CONF_V2, [b]) if *b <= 1 => *b == 1,
        _ => {
            return Err(DecodeError::Length {
                expected: value.len() - rest.len() + usize::from(version == RECORD_CONF_V2),
                found: value.len(),
            })
        }
    };
    let [voters, learners, voters_outgoing, learners_next] = read;
    let mut cs = ConfState::with_voters_and_learners(voters, learners);
    cs.voters_outgoing = voters_outgoing;
    cs.learners_next = learners_next;
    cs.auto_leave = auto_leave;
    Ok(cs)
}

/// The stored form of a snapshot record: version, index, term, the
/// membership (length-prefixed), then the application's data.
pub fn encode_snapshot(s: &Snapshot) -> Vec<u8> {
    let conf_state = encode_conf_state(&s.metadata.conf_state);
    let mut v = Vec::with_capacity(21 + conf_state.len() + s.data.len());
    v.push(RECORD_V1);
    v.extend_from_slice(&s.metadata.index.to_be_bytes());
    v.extend_from_slice(&s.metadata.term.to_be_bytes());
    // As for voters: saturating keeps the encoder total, and the decoder's
    // length check refuses what it cannot hold.
    let len = u32::try_from(conf_state.len()).unwrap_or(u32::MAX);
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&conf_state);
    v.extend_from_slice(&s.data);
    v
}

/// Reads a snapshot record written by [`encode_snapshot`]; anything else
/// is a [`DecodeError`], never a panic.
pub fn decode_snapshot(value: &[u8]) -> Result<Snapshot, DecodeError> {
    const HEAD: usize = 21;
    if value.len() < HEAD {
        return Err(DecodeError::Length {
            expected: HEAD,
            found: value.len(),
        });
    }
    check_version(value[0])?;
    let index = u64::from_be_bytes(fixed(&value[1..9])?);
    let term = u64::from_be_bytes(fixed(&value[9..17])?);
    let len = u32::from_be_bytes(fixed(&value[17..HEAD])?) as usize;
    let Some(conf_state) = value.get(HEAD..HEAD.saturating_add(len)) else {
        return Err(DecodeError::Length {
            expected: HEAD.saturating_add(len),
            found: value.len(),
        });
    };
    let conf_state = decode_conf_state(conf_state)?;
    let data = Bytes::copy_from_slice(&value[HEAD + len..]);
    Ok(Snapshot::new(index, term, conf_state, data))
}

fn check_version(version: u8) -> Result<(), DecodeError> {
    if version == RECORD_V1 {
        Ok(())
    } else {
        Err(DecodeError::Version(version))
    }
}

/// A version byte followed by exactly `N` big-endian u64s.
fn versioned_u64s<const N: usize>(value: &[u8]) -> Result<[u64; N], DecodeError> {
    if value.len() != 1 + 8 * N {
        return Err(DecodeError::Length {
            expected: 1 + 8 * N,
            found: value.len(),
        });
    }
    check_version(value[0])?;
    let mut out = [0u64; N];
    for (slot, chunk) in out.iter_mut().zip(value[1..].chunks_exact(8)) {
        *slot = u64::from_be_bytes(fixed(chunk)?);
    }
    Ok(out)
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], DecodeError> {
    bytes.try_into().map_err(|_| DecodeError::Length {
        expected: N,
        found: bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_refuse_truncation() {
        let s = Snapshot::new(
            42,
            7,
            ConfState::with_voters([1, 2, 3]),
            Bytes::from_static(b"state"),
        );
        let v = encode_snapshot(&s);
        assert_eq!(decode_snapshot(&v).unwrap(), s);
        for cut in [0, 5, 20, 30] {
            assert!(decode_snapshot(&v[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn conf_states_round_trip_in_both_versions() {
        let plain = ConfState::with_voters([1, 2, 3]);
        let v = encode_conf_state(&plain);
        assert_eq!(v[0], RECORD_V1, "voters alone keep the version 1 record");
        assert_eq!(decode_conf_state(&v).unwrap(), plain);
        let mut joint = ConfState::with_voters_and_learners([1, 2, 4], [5]);
        joint.voters_outgoing = vec![1, 2, 3];
        joint.learners_next = vec![3];
        joint.auto_leave = true;
        let v = encode_conf_state(&joint);
        assert_eq!(v[0], RECORD_CONF_V2);
        assert_eq!(decode_conf_state(&v).unwrap(), joint);
        for cut in 0..v.len() {
            assert!(decode_conf_state(&v[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_flag = v.clone();
        *bad_flag.last_mut().unwrap() = 7;
        assert!(decode_conf_state(&bad_flag).is_err());
    }

    #[test]
    fn entry_keys_sort_in_index_order() {
        let mut keys: Vec<[u8; 8]> = [256u64, 1, 255, u64::MAX, 65_536]
            .iter()
            .map(|&i| entry_key(i))
            .collect();
        keys.sort();
        let order: Vec<u64> = keys.iter().map(|k| decode_entry_key(k).unwrap()).collect();
        assert_eq!(order, vec![1, 255, 256, 65_536, u64::MAX]);
    }

    #[test]
    fn entries_round_trip_with_and_without_payload() {
        for data in [Bytes::new(), Bytes::from_static(b"payload")] {
            let e = Entry {
                term: 7,
                index: 42,
                entry_type: EntryType::EntryNormal,
                data,
            };
            let v = encode_entry(&e);
            assert_eq!(v.len(), ENTRY_HEADER_LEN + e.data.len());
            assert_eq!(decode_entry(42, &v).unwrap(), e);
            assert_eq!(decode_entry_term(&v).unwrap(), 7);
        }
    }

    #[test]
    fn malformed_entries_are_refused() {
        let good = encode_entry(&Entry {
            term: 1,
            index: 1,
            ..Entry::default()
        });
        assert!(matches!(
            decode_entry(1, &good[..9]),
            Err(DecodeError::Length { .. })
        ));
        let mut v = good.clone();
        v[0] = 2;
        assert_eq!(decode_entry(1, &v), Err(DecodeError::Version(2)));
        let mut v = good;
        v[1] = 9;
        assert_eq!(decode_entry(1, &v), Err(DecodeError::EntryType(9)));
        assert!(decode_entry_key(b"abc").is_err());
    }

    #[test]
    fn states_round_trip_and_reject_bad_lengths() {
        let hs = HardState {
            term: 3,
            vote: 2,
            commit: 9,
        };
        assert_eq!(decode_hard_state(&encode_hard_state(&hs)).unwrap(), hs);
        assert!(decode_hard_state(&encode_hard_state(&hs)[..24]).is_err());

        let base = EntryId { term: 4, index: 10 };
        assert_eq!(decode_base(&encode_base(&base)).unwrap(), base);

        for cs in [ConfState::default(), ConfState::with_voters([1, 2, 3])] {
            let v = encode_conf_state(&cs);
            assert_eq!(decode_conf_state(&v).unwrap(), cs);
            assert!(decode_conf_state(&v[..v.len() - 1]).is_err());
        }
        assert!(decode_conf_state(&[]).is_err());
        assert!(decode_conf_state(&[1, 0]).is_err());
        // A count that promises more voters than there are bytes.
        assert!(decode_conf_state(&[1, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn marker_identifies_version() {
        assert_eq!(decode_marker(&encode_marker()), Some(FORMAT_VERSION));
        assert_eq!(decode_marker(b"RAFTLOG\0\0\0\0\x02"), Some(2));
        assert_eq!(decode_marker(b"something else"), None);
        assert_eq!(decode_marker(b"RAFTLOG\0\0"), None);
    }
}
