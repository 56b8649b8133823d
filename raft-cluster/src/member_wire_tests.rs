//! Round trips, truncations, garbage and over-long fields of the
//! membership wire format.

use super::*;

fn requests() -> Vec<MemberRequest> {
    vec![
        MemberRequest::List,
        MemberRequest::AddVoter {
            id: 5,
            address: "10.0.0.5:7001".into(),
        },
        MemberRequest::AddLearner {
            id: 4,
            address: "[::1]:7001".into(),
        },
        MemberRequest::Promote(4),
        MemberRequest::Remove(u64::MAX),
    ]
}

fn answers() -> Vec<MemberAnswer> {
    let list = MemberList {
        index: 42,
        voters: vec![1, 2, 4],
        learners: vec![5],
        voters_outgoing: vec![1, 2, 3],
        learners_next: vec![3],
        addresses: [(4, "127.0.0.1:9".to_string()), (5, "é:1".to_string())].into(),
    };
    vec![
        MemberAnswer::Members(list),
        MemberAnswer::Members(MemberList::default()),
        MemberAnswer::NotLeader(Some(3)),
        MemberAnswer::NotLeader(None),
        MemberAnswer::Refused(MemberRefusal::ChangeInProgress),
        MemberAnswer::Refused(MemberRefusal::NoVoterLeft),
        MemberAnswer::Refused(MemberRefusal::Invalid("node 9 is not a member".into())),
        MemberAnswer::Refused(MemberRefusal::Dropped("timeout".into())),
        MemberAnswer::ShuttingDown,
    ]
}

#[test]
fn requests_and_answers_round_trip() {
    for request in requests() {
        let body = request.encode().unwrap();
        assert!(body.len() <= MAX_MEMBER_REQUEST as usize);
        assert_eq!(MemberRequest::decode(body).unwrap(), request);
    }
    for answer in answers() {
        let (tag, body) = answer.encode();
        assert_eq!(MemberAnswer::decode(tag, body).unwrap(), answer);
    }
}

#[test]
fn every_truncation_and_extension_is_refused() {
    for request in requests() {
        let body = request.encode().unwrap();
        for len in 0..body.len() {
            assert_eq!(
                MemberRequest::decode(body.slice(..len)),
                Err(WireError::Truncated),
                "{request:?} cut at {len}"
            );
        }
        let mut longer = BytesMut::from(&body[..]);
        longer.put_u8(0);
        assert_eq!(
            MemberRequest::decode(longer.freeze()),
            Err(WireError::Trailing(1))
        );
    }
    for answer in answers() {
        let (tag, body) = answer.encode();
        for len in 0..body.len() {
            assert!(
                MemberAnswer::decode(tag, body.slice(..len)).is_err(),
                "{answer:?} cut at {len}"
            );
        }
    }
}

#[test]
fn garbage_is_refused_with_typed_errors() {
    assert!(matches!(
        MemberRequest::decode(Bytes::from_static(&[9])),
        Err(WireError::Unknown { what: "op", .. })
    ));
    assert!(matches!(
        MemberAnswer::decode(7, Bytes::new()),
        Err(WireError::Unknown { what: "tag", .. })
    ));
    // An address length over the bound is refused before it is read.
    let mut b = BytesMut::new();
    b.put_u8(OP_ADD_VOTER);
    b.put_u64(4);
    b.put_u16(u16::MAX);
    assert!(matches!(
        MemberRequest::decode(b.freeze()),
        Err(WireError::TooLong { .. })
    ));
    // Not UTF-8.
    let mut b = BytesMut::new();
    b.put_u8(OP_ADD_LEARNER);
    b.put_u64(4);
    b.put_u16(2);
    b.put_slice(&[0xff, 0xfe]);
    assert_eq!(
        MemberRequest::decode(b.freeze()),
        Err(WireError::NotUtf8("address"))
    );
    // A huge member count allocates nothing.
    let mut b = BytesMut::new();
    b.put_u64(1);
    b.put_u32(u32::MAX);
    assert!(matches!(
        MemberAnswer::decode(TAG_MEMBERS, b.freeze()),
        Err(WireError::TooLong { .. })
    ));
    let mut b = BytesMut::new();
    b.put_u64(1);
    b.put_u32(MAX_MEMBERS);
    assert_eq!(
        MemberAnswer::decode(TAG_MEMBERS, b.freeze()),
        Err(WireError::Truncated)
    );
    // Pseudo-random bodies never panic.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..2000 {
        let len = round % 64;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = MemberRequest::decode(Bytes::from(body.clone()));
        let _ = MemberAnswer::decode((round % 5) as u8, Bytes::from(body));
    }
}

#[test]
fn over_long_fields_are_refused_or_cut_when_encoding() {
    let long = "x".repeat(MAX_ADDRESS + 1);
    assert!(matches!(
        MemberRequest::AddVoter {
            id: 1,
            address: long.clone()
        }
        .encode(),
        Err(WireError::TooLong { .. })
    ));
    let reason = "é".repeat(MAX_REASON);
    let (tag, body) = MemberAnswer::Refused(MemberRefusal::Invalid(reason)).encode();
    match MemberAnswer::decode(tag, body).unwrap() {
        MemberAnswer::Refused(MemberRefusal::Invalid(r)) => {
            assert!(r.len() <= MAX_REASON && r.chars().all(|c| c == 'é'))
        }
        other => panic!("{other:?}"),
    }
}
