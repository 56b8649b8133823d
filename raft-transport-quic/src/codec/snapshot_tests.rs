use super::*;
use proptest::prelude::*;
use raft_core::{ConfState, Snapshot};

fn msg_snap(data: &[u8]) -> Message {
    let mut m = Message::new(MessageType::MsgSnap);
    (m.from, m.to, m.term) = (1, 2, 4);
    m.snapshot = Some(Box::new(Snapshot::new(
        9,
        3,
        ConfState::with_voters([1, 2, 3]),
        Bytes::copy_from_slice(data),
    )));
    m
}

/// Head bytes plus data, as one buffer.
fn stream(m: &Message) -> BytesMut {
    let mut out = BytesMut::new();
    let data = encode_snapshot_head(m, 1 << 20, 1 << 20, &mut out).unwrap();
    out.extend_from_slice(&data);
    out
}

/// Decodes a whole stream fed in pieces cut at `cuts`.
fn decode(bytes: &[u8], cuts: &[usize], max_data: u64) -> Result<Message, DecodeError> {
    let mut head = SnapshotHeadDecoder::new(1 << 20, max_data);
    let mut data: Option<(SnapshotHead, SnapshotData)> = None;
    let mut start = 0;
    for &p in cuts.iter().chain([&bytes.len()]) {
        let piece = &bytes[start..p];
        start = p;
        match &mut data {
            Some((_, d)) => d.push(piece)?,
            None => {
                head.push(piece);
                if let Some((h, rest)) = head.next_head()? {
                    let mut d = SnapshotData::new(h.data_len, max_data)?;
                    d.push(&rest)?;
                    data = Some((h, d));
                }
            }
        }
    }
    match data {
        Some((h, d)) => Ok(assemble(h, d.finish()?)),
        None => Err(DecodeError::Truncated("snapshot head")),
    }
}

#[test]
fn the_head_has_the_documented_bytes() {
    let mut out = BytesMut::new();
    let data = encode_snapshot_head(&msg_snap(b"abc"), 1 << 20, 1 << 20, &mut out).unwrap();
    assert_eq!(&data[..], b"abc");
    let expected: &[u8] = &[
        b'R', b'F', b'T', b'Q', 1, 1, 0, 0, // header, kind 1 = snapshot
        0, 0, 0, 19, // meta length
        7,  // MsgSnap
        2, 1, 4, 0, 0, 0, 0, 0,    // to from term log_term index commit vote reject_hint
        0b10, // flags: snapshot metadata follows
        0,    // context length
        0,    // entry count
        9, 3, // snapshot index, term
        3, 1, 2, 3, // voters
        0, // data length inside the meta: always 0
        0, 0, 0, 0, 0, 0, 0, 3, // data length
    ];
    assert_eq!(&out[..], expected);
}

#[test]
fn limits_are_checked_before_anything_is_written() {
    let mut out = BytesMut::new();
    let big = msg_snap(&[7; 100]);
    assert_eq!(
        encode_snapshot_head(&big, 1 << 20, 99, &mut out),
        Err(SnapshotEncodeError::DataTooLarge { len: 100, max: 99 })
    );
    let mut wide = msg_snap(b"");
    wide.context = Bytes::from(vec![0; 2000]);
    assert!(matches!(
        encode_snapshot_head(&wide, 1024, 1 << 20, &mut out),
        Err(SnapshotEncodeError::MetaTooLarge { max: 1024, .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn bad_streams_are_classified() {
    let good = stream(&msg_snap(b"0123456789"));
    let head_len = good.len() - 10;
    // Announcing more than the limit is refused from the head alone.
    assert_eq!(
        decode(&good[..head_len], &[], 9),
        Err(DecodeError::SnapshotTooLarge { len: 10, max: 9 })
    );
    assert_eq!(
        decode(&good[..5], &[], 100),
        Err(DecodeError::Truncated("snapshot head"))
    );
    assert_eq!(
        decode(&good[..good.len() - 1], &[], 100),
        Err(DecodeError::Truncated("snapshot data"))
    );
    let mut long = good.clone();
    long.extend_from_slice(b"!");
    assert_eq!(
        decode(&long, &[head_len + 3], 100),
        Err(DecodeError::Malformed(
            "snapshot data longer than announced"
        ))
    );
    let mut message_kind = good.clone();
    message_kind[5] = 0;
    assert!(matches!(
        decode(&message_kind, &[], 100),
        Err(DecodeError::Malformed(_))
    ));
    assert_eq!(
        decode(b"GET / HTTP/1.1", &[], 100),
        Err(DecodeError::BadMagic)
    );
    let mut huge_meta = good.clone();
    huge_meta[8] = 0x7f;
    assert!(matches!(
        decode(&huge_meta, &[], 100),
        Err(DecodeError::FrameTooLarge { .. })
    ));
    let mut heartbeat = good.clone();
    heartbeat[12] = MessageType::MsgHeartbeat as u8;
    assert_eq!(
        decode(&heartbeat, &[], 100),
        Err(DecodeError::Malformed("snapshot stream carries no MsgSnap"))
    );
    let mut no_meta = good.clone();
    no_meta[21] = 0; // clear the snapshot flag
    assert!(matches!(
        decode(&no_meta, &[], 100),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn a_snapshot_is_not_allowed_in_a_message_frame() {
    let mut out = BytesMut::new();
    super::super::encode_header(&mut out);
    let done = super::super::encode_frames(&[msg_snap(b"x")], 1 << 20, &mut out);
    assert_eq!((done.frames, done.oversized), (0, 1));
    // Hand-made: a frame body holding the snapshot's head message.
    let mut body = BytesMut::new();
    body.put_u8(1);
    encode_message(&msg_snap(b"x"), &mut body);
    assert_eq!(
        super::super::decode_frame_body(body.freeze()),
        Err(DecodeError::Malformed("snapshot in a message frame"))
    );
}

proptest! {
    #[test]
    fn round_trip_survives_any_chunking(
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        voters in proptest::collection::vec(any::<u64>(), 0..5),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut m = msg_snap(&data);
        if let Some(s) = m.snapshot.as_deref_mut() {
            s.metadata.conf_state = ConfState::with_voters(voters);
        }
        let bytes = stream(&m);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len())).collect();
        points.sort_unstable();
        prop_assert_eq!(decode(&bytes, &points, 1 << 20).unwrap(), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        after_header in any::<bool>(),
    ) {
        let mut input = Vec::new();
        if after_header {
            input.extend_from_slice(b"RFTQ\x01\x01\x00\x00");
        }
        input.extend_from_slice(&bytes);
        let _ = decode(&input, &[], 256);
    }
}

#[test]
fn a_joint_membership_with_learners_crosses_intact() {
    let mut m = msg_snap(b"state");
    let mut cs = ConfState::with_voters([1, 2, 3]);
    cs.voters_outgoing = vec![1, 2, 4];
    cs.learners = vec![5];
    cs.learners_next = vec![4];
    cs.auto_leave = true;
    if let Some(s) = m.snapshot.as_deref_mut() {
        s.metadata.conf_state = cs.clone();
    }
    let bytes = stream(&m);
    let back = decode(&bytes, &[3, 17], 1 << 20).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.snapshot.unwrap().metadata.conf_state, cs);
}
