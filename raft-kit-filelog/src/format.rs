//! The file format: a sequence of checksummed records.
//!
//! ```text
//! record  = body length (u32 LE) · FNV-1a-64 of body (u64 LE) · body
//! body    = 1 · voters (u32 count, u64 each) · base term (u64) · base index (u64)   -- creation, once, first
//!         | 3 · voters · learners · outgoing voters · learners next (each: u32 count, u64 each) ·
//!             auto leave (u8) · base term (u64) · base index (u64)   -- creation with learners or joint
//!         | 2 · hard state? (u8 flag, then term, vote, commit as u64) ·
//!             entries (u32 count; each: term u64, index u64, type u8, data length u32, data)
//! ```
//!
//! One `LogWrite` is one record, so a write is atomic: after a crash a
//! record is either whole (its checksum matches) or a torn tail, which
//! opening cuts off.

use bytes::Bytes;
use raft_core::{ConfState, Entry, EntryId, EntryType, HardState};

const CREATE: u8 = 1;
const WRITE: u8 = 2;
/// A creation record whose membership has more than voters.
const CREATE_FULL: u8 = 3;
/// Length and checksum.
pub const HEADER: usize = 12;

/// A decoded record.
pub enum Record {
    /// The log's membership and base, written when it is created.
    Create {
        /// The group's membership.
        conf_state: ConfState,
        /// The entry just before the log's first.
        base: EntryId,
    },
    /// One write: entries (overwriting from the first one's index) and
    /// maybe a hard state.
    Write {
        /// The entries, contiguous.
        entries: Vec<Entry>,
        /// The new hard state, if it changed.
        hard_state: Option<HardState>,
    },
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn frame(body: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(fnv1a(&body).to_le_bytes());
    out.extend(body);
    out
}

/// The framed creation record.
pub fn encode_create(conf_state: &ConfState, base: EntryId) -> Vec<u8> {
    let cs = conf_state;
    let lists: [&[u64]; 4] = [
        &cs.voters,
        &cs.learners,
        &cs.voters_outgoing,
        &cs.learners_next,
    ];
    let full = lists[1..].iter().any(|l| !l.is_empty()) || cs.auto_leave;
    let mut body = vec![if full { CREATE_FULL } else { CREATE }];
    for list in if full { &lists[..] } else { &lists[..1] } {
        body.extend((list.len() as u32).to_le_bytes());
        for v in *list {
            body.extend(v.to_le_bytes());
        }
    }
    if full {
        body.push(u8::from(cs.auto_leave));
    }
    body.extend(base.term.to_le_bytes());
    body.extend(base.index.to_le_bytes());
    frame(body)
}

/// The framed record of one write.
pub fn encode_write(entries: &[Entry], hard_state: Option<HardState>) -> Vec<u8> {
    let mut body = vec![WRITE];
    match hard_state {
        Some(hs) => {
            body.push(1);
            for v in [hs.term, hs.vote, hs.commit] {
                body.extend(v.to_le_bytes());
            }
        }
        None => body.push(0),
    }
    body.extend((entries.len() as u32).to_le_bytes());
    for e in entries {
        body.extend(e.term.to_le_bytes());
        body.extend(e.index.to_le_bytes());
        body.push(e.entry_type as u8);
        body.extend((e.data.len() as u32).to_le_bytes());
        body.extend_from_slice(&e.data);
    }
    frame(body)
}

/// Reads fields off a record body; `None` when it runs short.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_le_bytes)
    }
}

/// Why a record could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum Bad {
    /// The file ends inside the record, or its checksum does not match: a
    /// write the crash cut short.
    Torn,
    /// A whole record whose content makes no sense.
    Invalid(String),
}

/// Decodes the record at the start of `bytes`; returns it and its length.
pub fn decode(bytes: &[u8]) -> Result<(Record, usize), Bad> {
    let mut header = Reader(bytes);
    let (Some(len), Some(sum)) = (header.u32(), header.u64()) else {
        return Err(Bad::Torn);
    };
    let body = header.take(len as usize).ok_or(Bad::Torn)?;
    if fnv1a(body) != sum {
        return Err(Bad::Torn);
    }
    let short = || Bad::Invalid("record ends early".to_string());
    let mut r = Reader(body);
    let record = match r.u8().ok_or_else(short)? {
        kind @ (CREATE | CREATE_FULL) => {
            let mut ids = || -> Result<Vec<u64>, Bad> {
                let n = r.u32().ok_or_else(short)?;
                (0..n).map(|_| r.u64().ok_or_else(short)).collect()
            };
            let mut conf_state = ConfState::with_voters(ids()?);
            if kind == CREATE_FULL {
                conf_state.learners = ids()?;
                conf_state.voters_outgoing = ids()?;
                conf_state.learners_next = ids()?;
                conf_state.auto_leave = r.u8().ok_or_else(short)? == 1;
            }
            let mut base = EntryId::default();
            base.term = r.u64().ok_or_else(short)?;
            base.index = r.u64().ok_or_else(short)?;
            Record::Create { conf_state, base }
        }
        WRITE => {
            let hard_state = match r.u8().ok_or_else(short)? {
                0 => None,
                _ => {
                    let mut hs = HardState::default();
                    hs.term = r.u64().ok_or_else(short)?;
                    hs.vote = r.u64().ok_or_else(short)?;
                    hs.commit = r.u64().ok_or_else(short)?;
                    Some(hs)
                }
            };
            let n = r.u32().ok_or_else(short)?;
            let mut entries = Vec::new();
            for _ in 0..n {
                let term = r.u64().ok_or_else(short)?;
                let index = r.u64().ok_or_else(short)?;
                let kind = r.u8().ok_or_else(short)?;
                let entry_type = EntryType::from_u8(kind)
                    .ok_or_else(|| Bad::Invalid(format!("unknown entry type {kind}")))?;
                let len = r.u32().ok_or_else(short)? as usize;
                let data = Bytes::copy_from_slice(r.take(len).ok_or_else(short)?);
                let mut e = Entry::new(data);
                (e.term, e.index, e.entry_type) = (term, index, entry_type);
                entries.push(e);
            }
            Record::Write {
                entries,
                hard_state,
            }
        }
        other => return Err(Bad::Invalid(format!("unknown record kind {other}"))),
    };
    Ok((record, HEADER + len as usize))
}
