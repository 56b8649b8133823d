//! The commands that go through the log, and their binary encoding.
//!
//! A command is what a client asks to change; it is encoded into a log
//! entry's payload by the node that receives the request and decoded by
//! every replica when the entry is applied. Reads do not go through the log
//! (they use ReadIndex), so they have no encoding here.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

/// A change to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Removes `key`.
    Delete {
        /// The key.
        key: String,
    },
    /// Sets `key` to `new` if it holds `expected` (`None`: if absent).
    Cas {
        /// The key.
        key: String,
        /// The value the key must hold for the swap.
        expected: Option<String>,
        /// The value written if it does.
        new: String,
    },
}

/// What applying a command did, returned to the client that proposed it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A put: the value the key held before.
    Put {
        /// The previous value.
        previous: Option<String>,
    },
    /// A delete: whether the key existed.
    Delete {
        /// Whether there was a value to delete.
        existed: bool,
    },
    /// A compare-and-swap: whether it swapped, and the value the key holds
    /// now.
    Cas {
        /// Whether `expected` matched and `new` was written.
        swapped: bool,
        /// The key's value after the command.
        current: Option<String>,
    },
}

/// Why bytes are not a command.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The payload ends in the middle of a field.
    #[error("truncated command: needed {needed} more bytes for {field}")]
    Truncated {
        /// Which field.
        field: &'static str,
        /// How many bytes were missing.
        needed: usize,
    },
    /// The first byte names no command.
    #[error("unknown command tag {0}")]
    UnknownTag(u8),
    /// A key or value is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    /// Bytes are left after the command.
    #[error("{0} bytes after the end of the command")]
    Trailing(usize),
    /// A presence flag is neither 0 nor 1.
    #[error("bad presence flag {0}")]
    BadFlag(u8),
}

const PUT: u8 = 1;
const DELETE: u8 = 2;
const CAS: u8 = 3;

impl Command {
    /// The key the command changes.
    pub fn key(&self) -> &str {
        match self {
            Command::Put { key, .. } | Command::Delete { key } | Command::Cas { key, .. } => key,
        }
    }

    /// The command as a log entry payload.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        match self {
            Command::Put { key, value } => {
                b.put_u8(PUT);
                put_str(&mut b, key);
                put_str(&mut b, value);
            }
            Command::Delete { key } => {
                b.put_u8(DELETE);
                put_str(&mut b, key);
            }
            Command::Cas { key, expected, new } => {
                b.put_u8(CAS);
                put_str(&mut b, key);
                match expected {
                    Some(v) => {
                        b.put_u8(1);
                        put_str(&mut b, v);
                    }
                    None => b.put_u8(0),
                }
                put_str(&mut b, new);
            }
        }
        b.freeze()
    }

    /// Parses a payload [`Command::encode`] made.
    pub fn decode(mut buf: &[u8]) -> Result<Command, DecodeError> {
        let tag = get_u8(&mut buf, "tag")?;
        let cmd = match tag {
            PUT => Command::Put {
                key: get_str(&mut buf, "key")?,
                value: get_str(&mut buf, "value")?,
            },
            DELETE => Command::Delete {
                key: get_str(&mut buf, "key")?,
            },
            CAS => {
                let key = get_str(&mut buf, "key")?;
                let expected = match get_u8(&mut buf, "expected flag")? {
                    0 => None,
                    1 => Some(get_str(&mut buf, "expected")?),
                    other => return Err(DecodeError::BadFlag(other)),
                };
                let new = get_str(&mut buf, "new value")?;
                Command::Cas { key, expected, new }
            }
            other => return Err(DecodeError::UnknownTag(other)),
        };
        if !buf.is_empty() {
            return Err(DecodeError::Trailing(buf.len()));
        }
        Ok(cmd)
    }
}

pub(crate) fn put_str(b: &mut BytesMut, s: &str) {
    // Keys and values are bounded by the request size limit, far below 4 GiB.
    b.put_u32(s.len() as u32);
    b.put_slice(s.as_bytes());
}

pub(crate) fn get_u8(buf: &mut &[u8], field: &'static str) -> Result<u8, DecodeError> {
    if buf.is_empty() {
        return Err(DecodeError::Truncated { field, needed: 1 });
    }
    Ok(buf.get_u8())
}

pub(crate) fn get_str(buf: &mut &[u8], field: &'static str) -> Result<String, DecodeError> {
    if buf.len() < 4 {
        return Err(DecodeError::Truncated {
            field,
            needed: 4 - buf.len(),
        });
    }
    let len = buf.get_u32() as usize;
    if buf.len() < len {
        return Err(DecodeError::Truncated {
            field,
            needed: len - buf.len(),
        });
    }
    let (s, rest) = buf.split_at(len);
    *buf = rest;
    String::from_utf8(s.to_vec()).map_err(|_| DecodeError::NotUtf8(field))
}
