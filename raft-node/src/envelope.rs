//! How the runtime recognises its own proposals when they come back
//! committed: each entry's data starts with a small header naming the node
//! that proposed it and a sequence number local to that node.
//!
//! Raft itself says nothing about which entry answers which request (a
//! proposal can be forwarded, dropped, or overtaken by a leader change), so
//! the runtime tags proposals the way etcd's server tags requests with ids.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Header: version byte, proposer id, sequence number.
pub(crate) const HEADER_LEN: usize = 1 + 8 + 8;
const VERSION: u8 = 1;

/// Who proposed an entry, as carried in its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ProposalId {
    pub(crate) node: u64,
    pub(crate) seq: u64,
}

/// Prefixes `payload` with the header for `id`.
pub(crate) fn wrap(id: ProposalId, payload: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(HEADER_LEN + payload.len());
    buf.put_u8(VERSION);
    buf.put_u64(id.node);
    buf.put_u64(id.seq);
    buf.put_slice(payload);
    buf.freeze()
}

/// Splits committed entry data into its header and the application payload.
/// `None` for data the runtime did not write (e.g. a leader's empty entry,
/// or another program's entries).
pub(crate) fn unwrap(data: &Bytes) -> Option<(ProposalId, Bytes)> {
    if data.len() < HEADER_LEN || data[0] != VERSION {
        return None;
    }
    let mut header = &data[1..HEADER_LEN];
    let node = header.get_u64();
    let seq = header.get_u64();
    Some((ProposalId { node, seq }, data.slice(HEADER_LEN..)))
}

/// The application payload of a log entry written through this runtime,
/// for tools that read a log directly (the header is stripped). `None` for
/// entries the runtime did not write, such as a leader's empty entry.
pub fn payload_of(data: &Bytes) -> Option<Bytes> {
    unwrap(data).map(|(_, payload)| payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_data() {
        let id = ProposalId { node: 3, seq: 99 };
        let wrapped = wrap(id, b"payload");
        assert_eq!(unwrap(&wrapped), Some((id, Bytes::from_static(b"payload"))));
        assert_eq!(unwrap(&Bytes::new()), None);
        assert_eq!(unwrap(&Bytes::from_static(b"short")), None);
        let mut foreign = wrapped.to_vec();
        foreign[0] = 7;
        assert_eq!(unwrap(&Bytes::from(foreign)), None);
    }
}
