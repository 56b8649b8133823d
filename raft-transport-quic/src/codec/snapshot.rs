//! Snapshot streams: one QUIC bidirectional stream per `MsgSnap`, so that a
//! snapshot of hundreds of MiB never sits between a peer and its heartbeats.
//!
//! The sender writes a head (stream header, the message with its snapshot's
//! metadata but no data, the data length) and then the data, in as many
//! chunks as it likes, and finishes the stream. The receiver answers with
//! one byte, [`ACK_DELIVERED`], once the whole message is in its node's
//! inbox. `WIRE.md` is the normative description.

use super::{
    check_header_prefix, decode_message, encode_message, message_len, put_header, DecodeError,
    FRAME_PREFIX_LEN, HEADER_LEN, KIND_SNAPSHOT,
};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use raft_core::{Message, MessageType};
use thiserror::Error;

/// The big-endian `u64` data length after the meta frame.
pub const DATA_LEN_LEN: usize = 8;
/// The receiver's whole answer when the snapshot reached its node.
pub const ACK_DELIVERED: u8 = 0;

/// Why a `MsgSnap` cannot be put on the wire.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotEncodeError {
    /// The message without its data is over the frame limit (a huge
    /// context or voter list).
    #[error("snapshot message head of {len} bytes exceeds the {max}-byte frame limit")]
    MetaTooLarge {
        /// The encoded length of the message without data.
        len: u64,
        /// The frame limit.
        max: u32,
    },
    /// The snapshot data is over the snapshot size limit.
    #[error("snapshot of {len} bytes exceeds the {max}-byte limit")]
    DataTooLarge {
        /// The data length.
        len: u64,
        /// The limit.
        max: u64,
    },
}

/// Splits `m` into the message without its snapshot data (the meta) and the
/// data. A `MsgSnap` without a snapshot is sent with an empty one, which
/// raft-core treats like any stale snapshot.
fn split(m: &Message) -> (Message, Bytes) {
    let mut meta = m.clone();
    let snapshot = meta.snapshot.get_or_insert_with(Default::default);
    let data = std::mem::take(&mut snapshot.data);
    (meta, data)
}

/// Appends a snapshot stream's head for `m` to `out` and returns the data to
/// write after it. Refuses (writing nothing) a meta over `max_meta` bytes or
/// data over `max_data` bytes: the receiver would refuse them.
pub fn encode_snapshot_head(
    m: &Message,
    max_meta: u32,
    max_data: u64,
    out: &mut BytesMut,
) -> Result<Bytes, SnapshotEncodeError> {
    let (meta, data) = split(m);
    let len = data.len() as u64;
    if len > max_data {
        return Err(SnapshotEncodeError::DataTooLarge { len, max: max_data });
    }
    let meta_len = message_len(&meta);
    if meta_len > max_meta as usize {
        return Err(SnapshotEncodeError::MetaTooLarge {
            len: meta_len as u64,
            max: max_meta,
        });
    }
    out.reserve(HEADER_LEN + FRAME_PREFIX_LEN + meta_len + DATA_LEN_LEN);
    put_header(out, KIND_SNAPSHOT);
    // Fits: meta_len <= max_meta, a u32.
    out.put_u32(meta_len as u32);
    encode_message(&meta, out);
    out.put_u64(len);
    Ok(data)
}

/// A snapshot stream's head: what arrives before the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotHead {
    /// The `MsgSnap`, its snapshot's data still empty.
    pub message: Message,
    /// How many data bytes follow.
    pub data_len: u64,
}

/// Incremental reader of a snapshot stream's head. Like
/// [`super::StreamDecoder`], it refuses as early as the bytes allow, and it
/// refuses an announced data length over the limit before any data is read.
#[derive(Debug)]
pub struct SnapshotHeadDecoder {
    buf: BytesMut,
    max_meta: u32,
    max_data: u64,
}

impl SnapshotHeadDecoder {
    /// A decoder that refuses a meta frame over `max_meta` bytes and a data
    /// length over `max_data`.
    pub fn new(max_meta: u32, max_data: u64) -> SnapshotHeadDecoder {
        SnapshotHeadDecoder {
            buf: BytesMut::new(),
            max_meta,
            max_data,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The head and the data bytes that arrived with it, or `None` if more
    /// bytes are needed.
    pub fn next_head(&mut self) -> Result<Option<(SnapshotHead, Bytes)>, DecodeError> {
        check_header_prefix(&self.buf, KIND_SNAPSHOT)?;
        if self.buf.len() < HEADER_LEN + FRAME_PREFIX_LEN {
            return Ok(None);
        }
        let p = &self.buf[HEADER_LEN..HEADER_LEN + FRAME_PREFIX_LEN];
        let meta_len = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
        if meta_len > self.max_meta {
            return Err(DecodeError::FrameTooLarge {
                len: meta_len.into(),
                max: self.max_meta,
            });
        }
        let head_len = HEADER_LEN + FRAME_PREFIX_LEN + meta_len as usize + DATA_LEN_LEN;
        if self.buf.len() < head_len {
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN + FRAME_PREFIX_LEN);
        let mut meta = self.buf.split_to(meta_len as usize).freeze();
        let message = decode_message(&mut meta)?;
        if meta.has_remaining() {
            return Err(DecodeError::Malformed(
                "trailing bytes after snapshot message",
            ));
        }
        if message.msg_type != MessageType::MsgSnap {
            return Err(DecodeError::Malformed("snapshot stream carries no MsgSnap"));
        }
        match message.snapshot.as_deref() {
            Some(s) if s.data.is_empty() => {}
            Some(_) => return Err(DecodeError::Malformed("snapshot data inside the head")),
            None => return Err(DecodeError::Malformed("MsgSnap without snapshot metadata")),
        }
        let data_len = self.buf.get_u64();
        if data_len > self.max_data {
            return Err(DecodeError::SnapshotTooLarge {
                len: data_len,
                max: self.max_data,
            });
        }
        let rest = self.buf.split().freeze();
        Ok(Some((SnapshotHead { message, data_len }, rest)))
    }
}

/// Collects a snapshot's data into one buffer of exactly the announced
/// length, refusing a byte more or less.
#[derive(Debug)]
pub struct SnapshotData {
    buf: Vec<u8>,
    len: usize,
}

impl SnapshotData {
    /// A buffer for `len` bytes. Reserved at once so the data is copied
    /// exactly once and never reallocated; the pages are only touched as
    /// bytes arrive. A length this process cannot allocate is refused like
    /// one over the limit.
    pub fn new(len: u64, max: u64) -> Result<SnapshotData, DecodeError> {
        let too_large = DecodeError::SnapshotTooLarge { len, max };
        let len = usize::try_from(len).map_err(|_| too_large.clone())?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(len).map_err(|_| too_large)?;
        Ok(SnapshotData { buf, len })
    }

    /// Appends received data.
    pub fn push(&mut self, data: &[u8]) -> Result<(), DecodeError> {
        if data.len() > self.len - self.buf.len() {
            return Err(DecodeError::Malformed(
                "snapshot data longer than announced",
            ));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.buf.len()
    }

    /// Call at the end of the stream: the data, if all of it arrived.
    pub fn finish(self) -> Result<Bytes, DecodeError> {
        if self.buf.len() < self.len {
            return Err(DecodeError::Truncated("snapshot data"));
        }
        Ok(Bytes::from(self.buf))
    }
}

/// `head`'s message with `data` as its snapshot's data.
pub fn assemble(head: SnapshotHead, data: Bytes) -> Message {
    let mut m = head.message;
    if let Some(s) = m.snapshot.as_deref_mut() {
        s.data = data;
    }
    m
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
