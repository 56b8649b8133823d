use proptest::prelude::*;
use raft_lincheck::kv::{KvInput, KvModel, KvOutput};
use raft_lincheck::{check, Budget, HistoryError, Operation, Recorder, Verdict};

fn put(key: &str, v: &str) -> KvInput {
    KvInput::Put {
        key: key.into(),
        value: v.into(),
    }
}
fn get(key: &str) -> KvInput {
    KvInput::Get { key: key.into() }
}
fn cas(key: &str, expected: Option<&str>, new: &str) -> KvInput {
    KvInput::Cas {
        key: key.into(),
        expected: expected.map(Into::into),
        new: new.into(),
    }
}
fn read(v: Option<&str>) -> KvOutput {
    KvOutput::Value(v.map(Into::into))
}
fn op(
    client: u64,
    input: KvInput,
    output: Option<KvOutput>,
    call: u64,
    ret: u64,
) -> Operation<KvInput, KvOutput> {
    Operation {
        client,
        input,
        output,
        call,
        ret,
    }
}
fn verdict(history: &[Operation<KvInput, KvOutput>]) -> Verdict {
    check(&KvModel, history, Budget::default()).unwrap()
}

#[test]
fn a_sequential_history_that_reads_its_writes_is_linearizable() {
    let h = vec![
        op(1, put("x", "a"), Some(KvOutput::Done), 1, 2),
        op(1, get("x"), Some(read(Some("a"))), 3, 4),
        op(
            2,
            cas("x", Some("a"), "b"),
            Some(KvOutput::Swapped(true)),
            5,
            6,
        ),
        op(
            2,
            cas("x", Some("a"), "c"),
            Some(KvOutput::Swapped(false)),
            7,
            8,
        ),
        op(1, get("x"), Some(read(Some("b"))), 9, 10),
    ];
    assert_eq!(verdict(&h), Verdict::Linearizable);
}

#[test]
fn a_read_that_misses_an_acknowledged_write_is_caught() {
    let h = vec![
        op(1, put("x", "a"), Some(KvOutput::Done), 1, 2),
        op(2, get("x"), Some(read(None)), 3, 4),
    ];
    match verdict(&h) {
        Verdict::NotLinearizable {
            operations,
            longest_prefix,
        } => {
            assert_eq!(operations, vec![0, 1]);
            assert_eq!(longest_prefix, vec![0]);
        }
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[test]
fn overlapping_operations_may_take_effect_in_either_order() {
    // The read overlaps the write: old and new values are both fine.
    for seen in [None, Some("a")] {
        let h = vec![
            op(1, put("x", "a"), Some(KvOutput::Done), 1, 4),
            op(2, get("x"), Some(read(seen)), 2, 3),
        ];
        assert_eq!(verdict(&h), Verdict::Linearizable, "read {seen:?}");
    }
}

#[test]
fn reads_may_not_go_back_in_time() {
    // Two reads during one write: once a reader saw the new value, a read
    // that starts later must not see the old one.
    let h = vec![
        op(1, put("x", "a"), Some(KvOutput::Done), 1, 10),
        op(2, get("x"), Some(read(Some("a"))), 2, 3),
        op(3, get("x"), Some(read(None)), 4, 5),
    ];
    assert!(!verdict(&h).is_linearizable());
}

#[test]
fn an_unanswered_write_may_or_may_not_have_happened() {
    for seen in [None, Some("a")] {
        let h = vec![
            op(1, put("x", "a"), None, 1, 2),
            op(2, get("x"), Some(read(seen)), 3, 4),
        ];
        assert_eq!(verdict(&h), Verdict::Linearizable, "read {seen:?}");
    }
    // But it cannot take effect before it was called.
    let h = vec![
        op(2, get("x"), Some(read(Some("a"))), 1, 2),
        op(1, put("x", "a"), None, 3, 4),
    ];
    assert!(!verdict(&h).is_linearizable());
}

#[test]
fn an_unanswered_compare_and_swap_may_have_swapped_or_not() {
    for seen in ["a", "b"] {
        let h = vec![
            op(1, put("x", "a"), Some(KvOutput::Done), 1, 2),
            op(2, cas("x", Some("a"), "b"), None, 3, 4),
            op(3, get("x"), Some(read(Some(seen))), 5, 6),
        ];
        assert_eq!(verdict(&h), Verdict::Linearizable, "read {seen}");
    }
}

#[test]
fn keys_are_checked_apart() {
    let h = vec![
        op(1, put("x", "a"), Some(KvOutput::Done), 1, 2),
        op(1, put("y", "b"), Some(KvOutput::Done), 3, 4),
        op(2, get("y"), Some(read(Some("b"))), 5, 6),
        op(2, get("x"), Some(read(Some("b"))), 7, 8),
    ];
    match verdict(&h) {
        Verdict::NotLinearizable { operations, .. } => assert_eq!(operations, vec![0, 3]),
        other => panic!("expected a violation on x, got {other:?}"),
    }
}

#[test]
fn a_tiny_budget_gives_no_verdict_rather_than_a_guess() {
    let mut h = Vec::new();
    for c in 0..12 {
        h.push(op(
            c,
            put("x", &c.to_string()),
            Some(KvOutput::Done),
            1,
            100,
        ));
    }
    h.push(op(99, get("x"), Some(read(Some("nope"))), 101, 102));
    let budget = Budget::steps(10);
    assert_eq!(check(&KvModel, &h, budget).unwrap(), Verdict::Unknown);
}

#[test]
fn the_recorder_refuses_impossible_histories() {
    let mut r: Recorder<KvInput, KvOutput> = Recorder::new();
    assert_eq!(
        r.ret(1, KvOutput::Done),
        Err(HistoryError::UnmatchedReturn { client: 1 })
    );
    r.call(1, get("x")).unwrap();
    assert_eq!(
        r.call(1, get("x")),
        Err(HistoryError::OverlappingCall { client: 1 })
    );
    let h = r.finish_all();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].output, None);
    let backwards = vec![op(1, get("x"), Some(read(None)), 5, 4)];
    assert!(matches!(
        check(&KvModel, &backwards, Budget::default()),
        Err(HistoryError::ReturnBeforeCall { index: 0, .. })
    ));
}

/// Histories made by running operations one at a time on a real map, each
/// stretched to an interval around the moment it took effect: always
/// linearizable. Changing one read to a value never written must not be.
fn executed_history() -> impl Strategy<Value = Vec<Operation<KvInput, KvOutput>>> {
    let one = (0u8..2, 0u8..4, 0u8..3, 0u64..6, 0u64..6);
    prop::collection::vec(one, 1..24).prop_map(|ops| {
        let mut value: [Option<String>; 2] = [None, None];
        let mut out = Vec::new();
        for (i, (key, kind, v, before, after)) in ops.into_iter().enumerate() {
            let k = ["k0", "k1"][key as usize];
            let slot = &mut value[key as usize];
            let v = format!("v{v}");
            let (input, output) = match kind {
                0 => (get(k), read(slot.as_deref())),
                1 => {
                    *slot = Some(v.clone());
                    (put(k, &v), KvOutput::Done)
                }
                2 => {
                    let expected = slot.clone();
                    *slot = Some(v.clone());
                    (cas(k, expected.as_deref(), &v), KvOutput::Swapped(true))
                }
                _ => {
                    let swapped = slot.as_deref() == Some("v0");
                    if swapped {
                        *slot = Some(v.clone());
                    }
                    (cas(k, Some("v0"), &v), KvOutput::Swapped(swapped))
                }
            };
            // Effect at 10 * (i + 1); the interval contains it.
            let at = 10 * (i as u64 + 1);
            out.push(op(i as u64, input, Some(output), at - before, at + after));
        }
        out
    })
}

proptest! {
    #[test]
    fn executed_histories_are_linearizable(h in executed_history()) {
        prop_assert_eq!(verdict(&h), Verdict::Linearizable);
    }

    #[test]
    fn a_read_of_a_value_never_written_is_caught(h in executed_history()) {
        let mut h = h;
        let Some(i) = h.iter().position(|o| matches!(o.input, KvInput::Get { .. })) else {
            return Ok(());
        };
        h[i].output = Some(read(Some("never-written")));
        prop_assert!(!verdict(&h).is_linearizable());
    }
}
