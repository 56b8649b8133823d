//! The few pieces of protobuf's wire format that etcd's membership
//! messages use: varints, length-delimited fields, and a reader that
//! refuses malformed input instead of panicking (entries come from peers).

use super::ConfChangeError;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn put_uint(out: &mut Vec<u8>, field: u64, v: u64) {
    put_varint(out, field << 3);
    put_varint(out, v);
}

pub(super) fn put_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A protobuf field's value, for the two wire types these messages use.
pub(super) enum Value<'a> {
    Uint(u64),
    Bytes(&'a [u8]),
    Other,
}

/// Reads protobuf fields one at a time; every malformed input is an error,
/// never a panic (entries come from peers).
pub(super) struct Reader<'a> {
    pub(super) data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ConfChangeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some((&b, rest)) = self.data.split_first() else {
                return Err(ConfChangeError::Decode("truncated varint".to_string()));
            };
            self.data = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ConfChangeError::Decode("varint too long".to_string()))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], ConfChangeError> {
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.data.len())
            .ok_or_else(|| ConfChangeError::Decode("truncated field".to_string()))?;
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    pub(super) fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, ConfChangeError> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (field, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => Value::Uint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Other
            }
            2 => {
                let len = self.varint()?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Value::Other
            }
            _ => {
                return Err(ConfChangeError::Decode(format!(
                    "unsupported wire type {wire}"
                )))
            }
        };
        Ok(Some((field, value)))
    }
}
