use proptest::prelude::*;
use raft_kv::{Command, DecodeError, KvStore, Outcome, SnapshotDecodeError};

fn put(k: &str, v: &str) -> Command {
    Command::Put {
        key: k.into(),
        value: v.into(),
    }
}

#[test]
fn compare_and_swap_swaps_only_on_a_match() {
    let mut s = KvStore::new();
    let cas = |expected: Option<&str>, new: &str| Command::Cas {
        key: "k".into(),
        expected: expected.map(Into::into),
        new: new.into(),
    };
    assert_eq!(
        s.apply(1, &cas(None, "a")),
        Outcome::Cas {
            swapped: true,
            current: Some("a".into())
        }
    );
    assert_eq!(
        s.apply(2, &cas(None, "b")),
        Outcome::Cas {
            swapped: false,
            current: Some("a".into())
        }
    );
    assert_eq!(
        s.apply(3, &cas(Some("a"), "c")),
        Outcome::Cas {
            swapped: true,
            current: Some("c".into())
        }
    );
    assert_eq!(
        s.apply(4, &Command::Delete { key: "k".into() }),
        Outcome::Delete { existed: true }
    );
    assert_eq!(s.get("k"), None);
    assert_eq!(s.applied(), 4);
}

#[test]
fn a_capture_is_not_changed_by_later_writes() {
    let mut s = KvStore::new();
    s.apply(1, &put("a", "1"));
    let frozen = s.capture();
    s.apply(2, &put("a", "2"));
    let mut restored = KvStore::new();
    restored
        .restore(&frozen.encode(), frozen.applied())
        .unwrap();
    assert_eq!(restored.get("a"), Some("1"));
    assert_eq!(restored.applied(), 1);
    assert_eq!(s.get("a"), Some("2"));
}

#[test]
fn damaged_snapshots_are_typed_errors() {
    let mut s = KvStore::new();
    s.apply(1, &put("a", "1"));
    s.apply(2, &put("b", "2"));
    let good = s.capture().encode();
    let mut flipped = good.to_vec();
    flipped[10] ^= 0x40;
    let mut other = KvStore::new();
    assert_eq!(
        other.restore(&flipped, 2),
        Err(SnapshotDecodeError::Checksum)
    );
    assert_eq!(
        other.restore(b"nope", 2),
        Err(SnapshotDecodeError::BadMagic)
    );
    assert!(other.is_empty(), "a failed restore changes nothing");
}

#[test]
fn damaged_commands_are_typed_errors() {
    let bytes = put("key", "value").encode();
    assert!(matches!(
        Command::decode(&bytes[..bytes.len() - 1]),
        Err(DecodeError::Truncated { .. })
    ));
    assert_eq!(Command::decode(&[9]), Err(DecodeError::UnknownTag(9)));
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(Command::decode(&long), Err(DecodeError::Trailing(1)));
}

fn command() -> impl Strategy<Value = Command> {
    let s = "[a-c]{0,3}";
    prop_oneof![
        (s, s).prop_map(|(k, v)| Command::Put { key: k, value: v }),
        s.prop_map(|k| Command::Delete { key: k }),
        (s, prop::option::of(s), s).prop_map(|(key, expected, new)| Command::Cas {
            key,
            expected,
            new
        }),
    ]
}

proptest! {
    #[test]
    fn commands_round_trip(cmd in command()) {
        prop_assert_eq!(Command::decode(&cmd.encode()), Ok(cmd));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Command::decode(&data);
        let _ = KvStore::new().restore(&data, 1);
    }

    #[test]
    fn a_restored_snapshot_equals_the_applied_state(cmds in prop::collection::vec(command(), 0..40)) {
        let mut s = KvStore::new();
        for (i, c) in cmds.iter().enumerate() {
            s.apply(i as u64 + 1, c);
        }
        let mut r = KvStore::new();
        r.restore(&s.capture().encode(), s.applied()).unwrap();
        for k in ["", "a", "b", "c", "ab", "abc", "ca"] {
            prop_assert_eq!(r.get(k), s.get(k));
        }
        prop_assert_eq!(r.len(), s.len());
    }
}

#[test]
fn the_machine_answers_with_encoded_outcomes_and_round_trips_snapshots() {
    use bytes::Bytes;
    use raft_kv::{decode_outcome, KvMachine};
    use raft_node::StateMachine;
    let mut m = KvMachine::new();
    let answer = m.apply(1, &put("a", "1").encode());
    assert_eq!(decode_outcome(&answer), Ok(Outcome::Put { previous: None }));
    assert_eq!(m.apply(2, &Bytes::from_static(b"\xff")), Bytes::new());
    assert_eq!(m.store().applied(), 2, "a bad entry is skipped, not lost");
    let cas = Command::Cas {
        key: "a".into(),
        expected: Some("1".into()),
        new: "2".into(),
    };
    assert_eq!(
        decode_outcome(&m.apply(3, &cas.encode())),
        Ok(Outcome::Cas {
            swapped: true,
            current: Some("2".into())
        })
    );
}
