//! Wire format v1: a stream header, then length-prefixed frames, each a batch
//! of messages; snapshots travel on streams of their own ([`snapshot`]).
//! `WIRE.md` in the crate root is the normative description.
//!
//! Hand-written on `bytes` rather than prost: no protoc or build script, the
//! format is small and fixed, every limit is checked before anything is
//! allocated, and entry payloads and contexts are zero-copy slices of the
//! received frame.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use raft_core::{ConfState, Entry, EntryType, Message, MessageType, Snapshot};
use thiserror::Error;

pub mod snapshot;

/// First four bytes of every stream.
pub const MAGIC: [u8; 4] = *b"RFTQ";
/// The only version this build speaks.
pub const VERSION: u8 = 1;
/// Magic, version, stream kind, two reserved zero bytes.
pub const HEADER_LEN: usize = 8;
/// Stream kind of the long-lived message streams (QUIC unidirectional).
pub const KIND_MESSAGES: u8 = 0;
/// Stream kind of a snapshot stream (QUIC bidirectional), one per `MsgSnap`.
pub const KIND_SNAPSHOT: u8 = 1;
/// The big-endian `u32` in front of every frame body.
pub const FRAME_PREFIX_LEN: usize = 4;
/// The largest frame body the format can express.
pub const MAX_FRAME_LIMIT: u32 = u32::MAX;

/// The smallest possible encodings, used to bound counts read off the wire
/// before allocating: type, eight one-byte varints, flags, context length,
/// entry count.
const MIN_MESSAGE_LEN: usize = 12;
/// Type, term, index, data length.
const MIN_ENTRY_LEN: usize = 4;
/// A `u64` as LEB128 never needs more.
const MAX_VARINT_LEN: usize = 10;
const FLAG_REJECT: u8 = 0b1;
/// A snapshot's metadata follows the entries: only in a snapshot stream's
/// head, never in a message frame.
const FLAG_SNAPSHOT: u8 = 0b10;
/// The snapshot's membership goes beyond voters (learners, or joint): the
/// rest of it follows the voters.
const FLAG_MEMBERSHIP: u8 = 0b100;

/// Whether a membership needs more than the voter list on the wire.
fn has_more_than_voters(cs: &ConfState) -> bool {
    !cs.learners.is_empty()
        || !cs.voters_outgoing.is_empty()
        || !cs.learners_next.is_empty()
        || cs.auto_leave
}

/// The membership lists after the voters (with [`FLAG_MEMBERSHIP`]).
fn more_lists(cs: &ConfState) -> [&[u64]; 3] {
    [&cs.learners, &cs.voters_outgoing, &cs.learners_next]
}

/// Why received bytes were refused. Every variant closes the connection they
/// came on; [`DecodeError::kind`] names the metrics counter it bumps.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The stream did not open with the wire format's magic bytes.
    #[error("bad magic: stream does not start with {MAGIC:?}")]
    BadMagic,
    /// The stream's header names a wire version this node does not speak.
    #[error("unsupported wire version {0} (this node speaks {VERSION})")]
    UnsupportedVersion(u8),
    /// A frame's length prefix is over the frame size limit.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    FrameTooLarge {
        /// The length the prefix announced.
        len: u64,
        /// The limit.
        max: u32,
    },
    /// The stream ended in the middle of the named part.
    #[error("stream ended inside a {0}")]
    Truncated(&'static str),
    /// A message type number raft-core does not know.
    #[error("unknown message type {0}")]
    UnknownMessageType(u8),
    /// An entry type number raft-core does not know.
    #[error("unknown entry type {0}")]
    UnknownEntryType(u8),
    /// The frame decodes, but its contents are inconsistent (the named check failed).
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// A snapshot stream announced more data than this node accepts. Unlike
    /// the other variants this refuses only that stream: the connection and
    /// its message stream carry on.
    #[error("snapshot of {len} bytes exceeds the {max}-byte limit")]
    SnapshotTooLarge {
        /// The data length the stream announced.
        len: u64,
        /// The limit.
        max: u64,
    },
}

/// Coarse classes of [`DecodeError`], one counter each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// [`DecodeError::BadMagic`].
    BadMagic,
    /// [`DecodeError::UnsupportedVersion`].
    UnsupportedVersion,
    /// [`DecodeError::FrameTooLarge`].
    FrameTooLarge,
    /// [`DecodeError::Truncated`].
    Truncated,
    /// [`DecodeError::UnknownMessageType`].
    UnknownMessageType,
    /// [`DecodeError::UnknownEntryType`] and [`DecodeError::Malformed`].
    Malformed,
    /// [`DecodeError::SnapshotTooLarge`].
    SnapshotTooLarge,
}

impl DecodeError {
    /// The counter class this error is reported under.
    pub fn kind(&self) -> DecodeErrorKind {
        match self {
            DecodeError::BadMagic => DecodeErrorKind::BadMagic,
            DecodeError::UnsupportedVersion(_) => DecodeErrorKind::UnsupportedVersion,
            DecodeError::FrameTooLarge { .. } => DecodeErrorKind::FrameTooLarge,
            DecodeError::Truncated(_) => DecodeErrorKind::Truncated,
            DecodeError::UnknownMessageType(_) => DecodeErrorKind::UnknownMessageType,
            DecodeError::UnknownEntryType(_) | DecodeError::Malformed(_) => {
                DecodeErrorKind::Malformed
            }
            DecodeError::SnapshotTooLarge { .. } => DecodeErrorKind::SnapshotTooLarge,
        }
    }

    /// True if the error refuses only the stream it came on; every other
    /// error closes the connection.
    pub fn is_stream_only(&self) -> bool {
        matches!(self, DecodeError::SnapshotTooLarge { .. })
    }
}

/// Appends the header of a message stream.
pub fn encode_header(out: &mut BytesMut) {
    put_header(out, KIND_MESSAGES);
}

fn put_header(out: &mut BytesMut, kind: u8) {
    out.put_slice(&MAGIC);
    out.put_u8(VERSION);
    out.put_u8(kind);
    out.put_bytes(0, 2);
}

fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

fn put_varint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// The message's integer fields in wire order (WIRE.md), each a varint: one
/// list, so the size computed and the bytes written cannot disagree.
fn fixed_fields(m: &Message) -> [u64; 8] {
    [
        m.to,
        m.from,
        m.term,
        m.log_term,
        m.index,
        m.commit,
        m.vote,
        m.reject_hint,
    ]
}

/// Bytes `m` takes inside a frame body.
pub fn message_len(m: &Message) -> usize {
    let fixed = fixed_fields(m)
        .iter()
        .map(|v| varint_len(*v))
        .sum::<usize>();
    let context = varint_len(m.context.len() as u64) + m.context.len();
    let entries = m
        .entries
        .iter()
        .map(|e| {
            1 + varint_len(e.term)
                + varint_len(e.index)
                + varint_len(e.data.len() as u64)
                + e.data.len()
        })
        .sum::<usize>();
    let snapshot = m.snapshot.as_deref().map_or(0, snapshot_len);
    1 + fixed + 1 + context + varint_len(m.entries.len() as u64) + entries + snapshot
}

/// Bytes a snapshot takes after the entries: index, term, voter count,
/// voters, data length, data.
fn snapshot_len(s: &Snapshot) -> usize {
    let cs = &s.metadata.conf_state;
    let voters = &cs.voters;
    let more = if has_more_than_voters(cs) {
        1 + more_lists(cs)
            .iter()
            .map(|l| varint_len(l.len() as u64) + l.iter().map(|v| varint_len(*v)).sum::<usize>())
            .sum::<usize>()
    } else {
        0
    };
    more + varint_len(s.metadata.index)
        + varint_len(s.metadata.term)
        + varint_len(voters.len() as u64)
        + voters.iter().map(|v| varint_len(*v)).sum::<usize>()
        + varint_len(s.data.len() as u64)
        + s.data.len()
}

pub(crate) fn encode_message(m: &Message, out: &mut BytesMut) {
    out.put_u8(m.msg_type as u8);
    for v in fixed_fields(m) {
        put_varint(out, v);
    }
    let mut flags = if m.reject { FLAG_REJECT } else { 0 };
    if let Some(s) = m.snapshot.as_deref() {
        flags |= FLAG_SNAPSHOT;
        if has_more_than_voters(&s.metadata.conf_state) {
            flags |= FLAG_MEMBERSHIP;
        }
    }
    out.put_u8(flags);
    put_varint(out, m.context.len() as u64);
    out.put_slice(&m.context);
    put_varint(out, m.entries.len() as u64);
    for e in &m.entries {
        out.put_u8(e.entry_type as u8);
        put_varint(out, e.term);
        put_varint(out, e.index);
        put_varint(out, e.data.len() as u64);
        out.put_slice(&e.data);
    }
    if let Some(s) = m.snapshot.as_deref() {
        put_varint(out, s.metadata.index);
        put_varint(out, s.metadata.term);
        let cs = &s.metadata.conf_state;
        put_varint(out, cs.voters.len() as u64);
        for v in &cs.voters {
            put_varint(out, *v);
        }
        if has_more_than_voters(cs) {
            for list in more_lists(cs) {
                put_varint(out, list.len() as u64);
                for v in list {
                    put_varint(out, *v);
                }
            }
            out.put_u8(u8::from(cs.auto_leave));
        }
        put_varint(out, s.data.len() as u64);
        out.put_slice(&s.data);
    }
}

/// What [`encode_frames`] did with its input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// Frames written.
    pub frames: usize,
    /// Messages encoded into them.
    pub messages: usize,
    /// Messages left out because alone they exceed the frame limit.
    pub oversized: usize,
}

/// Appends `messages` as as few frames as `max_frame_size` allows, in order.
/// A message too large for any frame is skipped and counted, never sent: the
/// receiver would close the connection over it. So is a message carrying a
/// snapshot, which only a snapshot stream may carry ([`snapshot`]).
pub fn encode_frames(messages: &[Message], max_frame_size: u32, out: &mut BytesMut) -> Encoded {
    let max = max_frame_size as usize;
    let mut done = Encoded::default();
    let mut i = 0;
    while i < messages.len() {
        if messages[i].snapshot.is_some() {
            tracing::warn!(
                msg_type = %messages[i].msg_type,
                to = messages[i].to,
                "a snapshot cannot travel in a message frame; dropped"
            );
            done.oversized += 1;
            i += 1;
            continue;
        }
        // Greedily take messages while count prefix + bodies still fit.
        let mut body = 0usize;
        let mut end = i;
        while end < messages.len() && messages[end].snapshot.is_none() {
            let len = message_len(&messages[end]);
            let count = end - i + 1;
            if varint_len(count as u64) + body + len > max {
                break;
            }
            body += len;
            end += 1;
        }
        if end == i {
            tracing::warn!(
                msg_type = %messages[i].msg_type,
                to = messages[i].to,
                len = message_len(&messages[i]),
                max,
                "message exceeds the frame size limit; dropped"
            );
            done.oversized += 1;
            i += 1;
            continue;
        }
        let count = end - i;
        let frame_len = varint_len(count as u64) + body;
        out.reserve(FRAME_PREFIX_LEN + frame_len);
        // Fits: frame_len <= max_frame_size, a u32.
        out.put_u32(frame_len as u32);
        put_varint(out, count as u64);
        for m in &messages[i..end] {
            encode_message(m, out);
        }
        done.frames += 1;
        done.messages += count;
        i = end;
    }
    done
}

/// Reads one frame body (the bytes after the length prefix).
pub fn decode_frame_body(mut body: Bytes) -> Result<Vec<Message>, DecodeError> {
    let count = get_varint(&mut body)?;
    if count == 0 {
        return Err(DecodeError::Malformed("empty batch"));
    }
    if count > (body.remaining() / MIN_MESSAGE_LEN) as u64 {
        return Err(DecodeError::Malformed("message count exceeds frame"));
    }
    let mut messages = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let m = decode_message(&mut body)?;
        if m.snapshot.is_some() {
            return Err(DecodeError::Malformed("snapshot in a message frame"));
        }
        messages.push(m);
    }
    if body.has_remaining() {
        return Err(DecodeError::Malformed("trailing bytes after batch"));
    }
    Ok(messages)
}

/// Whether messages of type `t` cross the wire. The storage-thread types of
/// async storage writes pass only between a node and its own threads (and
/// the wire has no field for their responses): they decode as unknown.
pub fn is_wire_type(t: MessageType) -> bool {
    !matches!(
        t,
        MessageType::MsgStorageAppend
            | MessageType::MsgStorageAppendResp
            | MessageType::MsgStorageApply
            | MessageType::MsgStorageApplyResp
    )
}

pub(crate) fn decode_message(b: &mut Bytes) -> Result<Message, DecodeError> {
    let raw_type = get_u8(b)?;
    let msg_type = MessageType::from_u8(raw_type)
        .filter(|t| is_wire_type(*t))
        .ok_or(DecodeError::UnknownMessageType(raw_type))?;
    let mut m = Message::new(msg_type);
    m.to = get_varint(b)?;
    m.from = get_varint(b)?;
    m.term = get_varint(b)?;
    m.log_term = get_varint(b)?;
    m.index = get_varint(b)?;
    m.commit = get_varint(b)?;
    m.vote = get_varint(b)?;
    m.reject_hint = get_varint(b)?;
    let flags = get_u8(b)?;
    if flags & !(FLAG_REJECT | FLAG_SNAPSHOT | FLAG_MEMBERSHIP) != 0 {
        return Err(DecodeError::Malformed("unknown message flags"));
    }
    if flags & FLAG_MEMBERSHIP != 0 && flags & FLAG_SNAPSHOT == 0 {
        return Err(DecodeError::Malformed("membership flag without a snapshot"));
    }
    m.reject = flags & FLAG_REJECT != 0;
    m.context = get_bytes(b)?;
    let entries = get_varint(b)?;
    if entries > (b.remaining() / MIN_ENTRY_LEN) as u64 {
        return Err(DecodeError::Malformed("entry count exceeds frame"));
    }
    m.entries.reserve_exact(entries as usize);
    for _ in 0..entries {
        let raw = get_u8(b)?;
        let entry_type = EntryType::from_u8(raw).ok_or(DecodeError::UnknownEntryType(raw))?;
        let term = get_varint(b)?;
        let index = get_varint(b)?;
        let data = get_bytes(b)?;
        m.entries.push(Entry {
            term,
            index,
            entry_type,
            data,
        });
    }
    if flags & FLAG_SNAPSHOT != 0 {
        let index = get_varint(b)?;
        let term = get_varint(b)?;
        let mut cs = ConfState::with_voters(get_ids(b)?);
        if flags & FLAG_MEMBERSHIP != 0 {
            cs.learners = get_ids(b)?;
            cs.voters_outgoing = get_ids(b)?;
            cs.learners_next = get_ids(b)?;
            cs.auto_leave = match get_u8(b)? {
                0 => false,
                1 => true,
                _ => return Err(DecodeError::Malformed("auto leave is not 0 or 1")),
            };
        }
        let data = get_bytes(b)?;
        m.snapshot = Some(Box::new(Snapshot::new(index, term, cs, data)));
    }
    Ok(m)
}

/// A count, then that many varint ids.
fn get_ids(b: &mut Bytes) -> Result<Vec<u64>, DecodeError> {
    let count = get_varint(b)?;
    // Each id takes at least one byte.
    if count > b.remaining() as u64 {
        return Err(DecodeError::Malformed("member count exceeds frame"));
    }
    let mut ids = Vec::with_capacity(count as usize);
    for _ in 0..count {
        ids.push(get_varint(b)?);
    }
    Ok(ids)
}

fn get_u8(b: &mut Bytes) -> Result<u8, DecodeError> {
    if b.has_remaining() {
        Ok(b.get_u8())
    } else {
        Err(DecodeError::Malformed("field runs past frame end"))
    }
}

/// LEB128, canonical only: so that every message has exactly one encoding.
fn get_varint(b: &mut Bytes) -> Result<u64, DecodeError> {
    let mut v = 0u64;
    for i in 0..MAX_VARINT_LEN {
        let byte = get_u8(b)?;
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(DecodeError::Malformed("varint overflows u64"));
        }
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(DecodeError::Malformed("overlong varint"));
            }
            return Ok(v);
        }
    }
    Err(DecodeError::Malformed("varint overflows u64"))
}

fn get_bytes(b: &mut Bytes) -> Result<Bytes, DecodeError> {
    let len = get_varint(b)?;
    if len > b.remaining() as u64 {
        return Err(DecodeError::Malformed("length runs past frame end"));
    }
    Ok(b.split_to(len as usize))
}

/// Incremental reader of one stream: feed it bytes as they arrive, take
/// batches out. Rejects as early as the bytes allow (a bad magic byte, an
/// oversized length prefix) so a bad peer cannot make it buffer much.
#[derive(Debug)]
pub struct StreamDecoder {
    buf: BytesMut,
    header_done: bool,
    max_frame_size: u32,
}

impl StreamDecoder {
    /// A decoder that refuses frame bodies over `max_frame_size` bytes.
    pub fn new(max_frame_size: u32) -> StreamDecoder {
        StreamDecoder {
            buf: BytesMut::new(),
            header_done: false,
            max_frame_size,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete batch, `None` if more bytes are needed.
    pub fn next_batch(&mut self) -> Result<Option<Vec<Message>>, DecodeError> {
        if !self.header_done {
            check_header_prefix(&self.buf, KIND_MESSAGES)?;
            if self.buf.len() < HEADER_LEN {
                return Ok(None);
            }
            self.buf.advance(HEADER_LEN);
            self.header_done = true;
        }
        if self.buf.len() < FRAME_PREFIX_LEN {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        if len > self.max_frame_size {
            return Err(DecodeError::FrameTooLarge {
                len: len.into(),
                max: self.max_frame_size,
            });
        }
        let total = FRAME_PREFIX_LEN + len as usize;
        if self.buf.len() < total {
            // Reserve once for the whole frame rather than growing per chunk.
            self.buf.reserve(total - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(FRAME_PREFIX_LEN);
        let body = self.buf.split_to(len as usize).freeze();
        decode_frame_body(body).map(Some)
    }

    /// Call at the end of the stream: bytes left over mean it was cut short.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else if !self.header_done {
            Err(DecodeError::Truncated("stream header"))
        } else {
            Err(DecodeError::Truncated("frame"))
        }
    }
}

/// Checks as much of the header of a stream of `kind` as has arrived.
pub(crate) fn check_header_prefix(buf: &[u8], kind: u8) -> Result<(), DecodeError> {
    let n = buf.len().min(MAGIC.len());
    if buf[..n] != MAGIC[..n] {
        return Err(DecodeError::BadMagic);
    }
    if let Some(&version) = buf.get(MAGIC.len()) {
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
    }
    if let Some(&got) = buf.get(MAGIC.len() + 1) {
        if got != kind {
            return Err(DecodeError::Malformed(
                "stream kind does not match the QUIC stream type",
            ));
        }
    }
    let reserved_end = buf.len().min(HEADER_LEN);
    if buf.len() > MAGIC.len() + 2 && buf[MAGIC.len() + 2..reserved_end].iter().any(|b| *b != 0) {
        return Err(DecodeError::Malformed("reserved header bytes are not zero"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
