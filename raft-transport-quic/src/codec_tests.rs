use super::*;
use proptest::prelude::*;

fn heartbeat(from: u64, to: u64) -> Message {
    let mut m = Message::new(MessageType::MsgHeartbeat);
    m.from = from;
    m.to = to;
    m.term = 3;
    m.commit = 7;
    m
}

fn stream_of(messages: &[Message], max: u32) -> BytesMut {
    let mut out = BytesMut::new();
    encode_header(&mut out);
    encode_frames(messages, max, &mut out);
    out
}

fn decode_all(bytes: &[u8], max: u32) -> Result<Vec<Message>, DecodeError> {
    let mut d = StreamDecoder::new(max);
    d.push(bytes);
    let mut all = Vec::new();
    while let Some(batch) = d.next_batch()? {
        all.extend(batch);
    }
    d.finish()?;
    Ok(all)
}

#[test]
fn header_layout_is_stable() {
    let mut out = BytesMut::new();
    encode_header(&mut out);
    assert_eq!(&out[..], b"RFTQ\x01\x00\x00\x00");
}

#[test]
fn a_heartbeat_has_the_documented_bytes() {
    let out = stream_of(&[heartbeat(1, 2)], 1 << 20);
    let expected: &[u8] = &[
        b'R', b'F', b'T', b'Q', 1, 0, 0, 0, // header
        0, 0, 0, 13, // frame length
        1,  // one message
        8,  // MsgHeartbeat
        2, 1, 3, 0, 0, 7, 0, 0, // to from term log_term index commit vote reject_hint
        0, // flags
        0, // context length
        0, // entry count
    ];
    assert_eq!(&out[..], expected);
}

#[test]
fn batches_split_at_the_frame_limit_and_keep_order() {
    let msgs: Vec<Message> = (1..=10).map(|i| heartbeat(i, 2)).collect();
    let one = message_len(&msgs[0]);
    // Room for three messages plus the count byte.
    let max = (1 + 3 * one) as u32;
    let mut out = BytesMut::new();
    let done = encode_frames(&msgs, max, &mut out);
    assert_eq!(done.frames, 4);
    assert_eq!(done.messages, 10);
    let mut stream = BytesMut::new();
    encode_header(&mut stream);
    stream.extend_from_slice(&out);
    assert_eq!(decode_all(&stream, max).unwrap(), msgs);
}

#[test]
fn an_oversized_message_is_skipped_not_sent() {
    let mut big = heartbeat(1, 2);
    big.msg_type = MessageType::MsgApp;
    big.entries = vec![Entry::new(vec![7u8; 200])];
    let msgs = vec![heartbeat(1, 2), big, heartbeat(3, 2)];
    let mut out = BytesMut::new();
    let done = encode_frames(&msgs, 100, &mut out);
    assert_eq!(done.oversized, 1);
    assert_eq!(done.messages, 2);
    let mut stream = BytesMut::new();
    encode_header(&mut stream);
    stream.extend_from_slice(&out);
    assert_eq!(
        decode_all(&stream, 100).unwrap(),
        vec![heartbeat(1, 2), heartbeat(3, 2)]
    );
}

#[test]
fn bad_input_is_classified() {
    assert_eq!(
        decode_all(b"GET / HTTP/1.1\r\n", 1024),
        Err(DecodeError::BadMagic)
    );
    // Rejected from the first wrong byte, before a whole header arrives.
    assert_eq!(decode_all(b"RX", 1024), Err(DecodeError::BadMagic));
    assert_eq!(
        decode_all(b"RFTQ\x02\x00\x00\x00", 1024),
        Err(DecodeError::UnsupportedVersion(2))
    );
    assert_eq!(
        decode_all(b"RFTQ\x01\x00\x00\x00\x00\x01\x00\x00", 1024),
        Err(DecodeError::FrameTooLarge {
            len: 65536,
            max: 1024
        })
    );
    assert_eq!(
        decode_all(b"RFTQ\x01", 1024),
        Err(DecodeError::Truncated("stream header"))
    );
    let full = stream_of(&[heartbeat(1, 2)], 1024);
    assert_eq!(
        decode_all(&full[..full.len() - 1], 1024),
        Err(DecodeError::Truncated("frame"))
    );
    let mut unknown = full.clone();
    unknown[13] = 19; // MsgStorageAppend: only between a node and its threads
    assert_eq!(
        decode_all(&unknown, 1024),
        Err(DecodeError::UnknownMessageType(19))
    );
    let mut flags = full.clone();
    flags[22] = 0b100;
    assert_eq!(
        decode_all(&flags, 1024).unwrap_err().kind(),
        DecodeErrorKind::Malformed
    );
    let mut reserved = full;
    reserved[6] = 1;
    assert_eq!(
        decode_all(&reserved, 1024).unwrap_err().kind(),
        DecodeErrorKind::Malformed
    );
}

#[test]
fn varints_must_be_canonical_and_fit_u64() {
    let mut ok = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert_eq!(get_varint(&mut ok), Ok(u64::MAX));
    let mut overflow =
        Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
    assert!(get_varint(&mut overflow).is_err());
    let mut overlong = Bytes::from_static(&[0x81, 0x00]);
    assert_eq!(
        get_varint(&mut overlong),
        Err(DecodeError::Malformed("overlong varint"))
    );
}

#[test]
fn huge_counts_are_refused_before_allocating() {
    // A body claiming u64::MAX/2 messages in 12 bytes.
    let mut body = BytesMut::new();
    put_varint(&mut body, u64::MAX / 2);
    body.put_bytes(0, 12);
    assert_eq!(
        decode_frame_body(body.freeze()),
        Err(DecodeError::Malformed("message count exceeds frame"))
    );
}

#[test]
fn entry_payloads_are_slices_of_the_frame() {
    let mut app = heartbeat(1, 2);
    app.msg_type = MessageType::MsgApp;
    app.entries = vec![Entry::new(vec![9u8; 64])];
    let stream = stream_of(&[app], 1024).freeze();
    let mut d = StreamDecoder::new(1024);
    d.push(&stream);
    let got = d.next_batch().unwrap().unwrap();
    let data = &got[0].entries[0].data;
    assert_eq!(data.len(), 64);
    assert!(data.iter().all(|b| *b == 9));
}

fn arb_entry() -> impl Strategy<Value = Entry> {
    (
        any::<u64>(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..40),
        0u8..3,
    )
        .prop_map(|(term, index, data, t)| Entry {
            term,
            index,
            entry_type: EntryType::from_u8(t).unwrap(),
            data: data.into(),
        })
}

/// The messages of leadership transfer and ReadIndex, with the fields they
/// use (contexts, the request entry), survive the wire unchanged.
#[test]
fn transfer_and_read_index_messages_round_trip() {
    let mut msgs = Vec::new();
    for (t, wire) in [
        (MessageType::MsgTransferLeader, 13u8),
        (MessageType::MsgTimeoutNow, 14),
        (MessageType::MsgReadIndex, 15),
        (MessageType::MsgReadIndexResp, 16),
    ] {
        assert_eq!(t as u8, wire, "{t} keeps etcd's number");
        let mut m = Message::new(t);
        m.from = 2;
        m.to = 1;
        m.term = if t == MessageType::MsgReadIndex { 0 } else { 5 };
        m.index = 42;
        if matches!(t, MessageType::MsgReadIndex | MessageType::MsgReadIndexResp) {
            m.entries = vec![Entry {
                term: 0,
                index: 0,
                entry_type: EntryType::EntryNormal,
                data: bytes::Bytes::from_static(b"request-ctx"),
            }];
        }
        msgs.push(m);
    }
    let mut vote = Message::new(MessageType::MsgVote);
    (vote.from, vote.to, vote.term) = (2, 1, 6);
    vote.context = bytes::Bytes::from_static(b"CampaignTransfer");
    msgs.push(vote);
    let mut beat = Message::new(MessageType::MsgHeartbeatResp);
    (beat.from, beat.to, beat.term) = (3, 1, 6);
    beat.context = bytes::Bytes::copy_from_slice(&7u64.to_le_bytes());
    msgs.push(beat);
    let stream = stream_of(&msgs, 1 << 20);
    assert_eq!(decode_all(&stream, 1 << 20).unwrap(), msgs);
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        proptest::sample::select(
            MessageType::ALL
                .into_iter()
                .filter(|t| is_wire_type(*t))
                .collect::<Vec<_>>(),
        ),
        proptest::array::uniform8(any::<u64>()),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..16),
        proptest::collection::vec(arb_entry(), 0..5),
    )
        .prop_map(|(t, v, reject, context, entries)| {
            let mut m = Message::new(t);
            m.to = v[0];
            m.from = v[1];
            m.term = v[2];
            m.log_term = v[3];
            m.index = v[4];
            m.commit = v[5];
            m.vote = v[6];
            m.reject_hint = v[7];
            m.reject = reject;
            m.context = context.into();
            // Snapshots have streams of their own (codec/snapshot_tests.rs).
            m.entries = entries;
            m
        })
}

// 256 cases each by default; PROPTEST_CASES raises it for a longer fuzz run.
proptest! {

    #[test]
    fn round_trip_is_identity(msgs in proptest::collection::vec(arb_message(), 1..8)) {
        let stream = stream_of(&msgs, 1 << 20);
        prop_assert_eq!(decode_all(&stream, 1 << 20).unwrap(), msgs);
    }

    #[test]
    fn round_trip_survives_any_chunking(
        msgs in proptest::collection::vec(arb_message(), 1..6),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let stream = stream_of(&msgs, 1 << 20);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len())).collect();
        points.sort_unstable();
        let mut d = StreamDecoder::new(1 << 20);
        let mut got = Vec::new();
        let mut start = 0;
        for p in points.into_iter().chain([stream.len()]) {
            d.push(&stream[start..p]);
            start = p;
            while let Some(batch) = d.next_batch().unwrap() {
                got.extend(batch);
            }
        }
        d.finish().unwrap();
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn message_len_matches_the_encoding(m in arb_message()) {
        let mut out = BytesMut::new();
        encode_message(&m, &mut out);
        prop_assert_eq!(out.len(), message_len(&m));
    }

    /// The fuzz target: arbitrary bytes, as a stream or after a valid
    /// header, never panic and never yield more than they could encode.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), after_header in any::<bool>()) {
        let mut input = Vec::new();
        if after_header {
            input.extend_from_slice(b"RFTQ\x01\x00\x00\x00");
        }
        input.extend_from_slice(&bytes);
        if let Ok(msgs) = decode_all(&input, 256) {
            // Whatever decodes must survive another round trip unchanged.
            let again = stream_of(&msgs, 256);
            prop_assert_eq!(decode_all(&again, 256).unwrap(), msgs);
        }
    }

    #[test]
    fn arbitrary_frame_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_frame_body(Bytes::from(bytes));
    }
}
