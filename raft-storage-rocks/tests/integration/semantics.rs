//! RocksStorage must be observably the same as MemStorage: random sequences
//! of writes, reads and restarts run against both, and every answer must
//! match, errors included.

use crate::common::entries;
use proptest::prelude::*;
use raft_core::{
    ConfState, Entry, EntryId, HardState, LogStorage, LogWrite, MemStorage, StorageError,
};
use raft_storage_rocks::{RocksStorage, StorageOptions};

#[derive(Clone, Debug)]
enum Op {
    /// Entries starting `back` indexes before `last + 1` (so 0 appends,
    /// more truncates a suffix); `skip` makes the batch non-contiguous and
    /// `jump` starts it past `last + 1`.
    Write {
        back: u64,
        count: u64,
        term: u64,
        hard_state: Option<(u64, u64, u64)>,
        sync: bool,
        skip: bool,
        jump: bool,
    },
    /// Entries in `[first + lo - 2, first + lo - 2 + len)`, so that both
    /// ends can fall outside the log.
    Read { lo: u64, len: u64, max_size: u64 },
    /// `term(first + at - 2)`.
    Term { at: u64 },
    /// Drop the RocksDB log and open its directory again.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..4, 0u64..6, 1u64..4, proptest::option::of((0u64..5, 0u64..4, 0u64..30)),
              any::<bool>(), proptest::bool::weighted(0.1), proptest::bool::weighted(0.1))
            .prop_map(|(back, count, term, hard_state, sync, skip, jump)| Op::Write {
                back, count, term, hard_state, sync, skip, jump
            }),
        3 => (0u64..30, 0u64..12, prop_oneof![Just(0u64), 0u64..200, Just(u64::MAX)])
            .prop_map(|(lo, len, max_size)| Op::Read { lo, len, max_size }),
        2 => (0u64..30).prop_map(|at| Op::Term { at }),
        1 => Just(Op::Reopen),
    ]
}

/// Error variants and messages, since `StorageError` is not `PartialEq`.
fn show<T: std::fmt::Debug>(r: Result<T, StorageError>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({e})"),
    }
}

fn run(ops: Vec<Op>, base: u64, cache: usize) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let conf = ConfState::with_voters([1, 2]);
    let base = EntryId {
        term: if base == 0 { 0 } else { 2 },
        index: base,
    };
    let options = StorageOptions {
        tail_cache_entries: cache,
        tail_cache_bytes: u64::MAX,
    };
    let mut mem = MemStorage::with_base(conf.clone(), base);
    let mut rocks = RocksStorage::create_with(&path, conf, base, options.clone()).unwrap();
    for op in ops {
        let first = mem.first_index().unwrap();
        let last = mem.last_index().unwrap();
        match op {
            Op::Write {
                back,
                count,
                term,
                hard_state,
                sync,
                skip,
                jump,
            } => {
                // Raft never truncates committed entries nor persists a
                // commit beyond its log, and `open` checks the latter.
                let commit = mem.hard_state().commit;
                let from =
                    (last + 1).saturating_sub(back).max(commit + 1) + if jump { 2 } else { 0 };
                let mut batch: Vec<Entry> = entries(from, from + count, term);
                batch.truncate(count as usize);
                if skip && batch.len() > 2 {
                    batch.remove(1);
                }
                let new_last = match batch.last() {
                    Some(e) if e.index >= first => e.index,
                    _ => last,
                };
                let write = LogWrite {
                    entries: batch,
                    hard_state: hard_state.map(|(term, vote, c)| HardState {
                        term,
                        vote,
                        commit: c.clamp(commit, new_last),
                    }),
                    snapshot: None,
                    sync,
                };
                prop_assert_eq!(show(rocks.write(write.clone())), show(mem.write(write)));
            }
            Op::Read { lo, len, max_size } => {
                let lo = (first + lo).saturating_sub(2);
                let (a, b) = (
                    rocks.entries(lo, lo + len, max_size),
                    mem.entries(lo, lo + len, max_size),
                );
                prop_assert_eq!(
                    show(a),
                    show(b),
                    "entries({}, {}, {})",
                    lo,
                    lo + len,
                    max_size
                );
            }
            Op::Term { at } => {
                let i = (first + at).saturating_sub(2);
                prop_assert_eq!(show(rocks.term(i)), show(mem.term(i)), "term({})", i);
            }
            Op::Reopen => {
                drop(rocks);
                rocks = RocksStorage::open_with(&path, options.clone()).unwrap();
            }
        }
        prop_assert_eq!(rocks.first_index().unwrap(), mem.first_index().unwrap());
        prop_assert_eq!(rocks.last_index().unwrap(), mem.last_index().unwrap());
        prop_assert_eq!(rocks.initial_state().unwrap(), mem.initial_state().unwrap());
    }
    Ok(())
}

proptest! {
    // Each case creates a RocksDB database (a few synced writes), so keep
    // the count modest; the operations per case are what find bugs.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_mem_storage(
        ops in proptest::collection::vec(op(), 1..60),
        base in prop_oneof![Just(0u64), Just(5u64)],
        cache in prop_oneof![Just(0usize), Just(3usize), Just(4096usize)],
    ) {
        run(ops, base, cache)?;
    }
}

#[test]
fn a_conflicting_suffix_is_gone_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut log =
        RocksStorage::create(&path, ConfState::with_voters([1]), EntryId::default()).unwrap();
    crate::common::append(&mut log, 1, 100, 1, None).unwrap();
    crate::common::append(&mut log, 40, 41, 2, None).unwrap();
    drop(log);
    // Without a cache every read below goes through RocksDB, so the range
    // tombstone itself is what is being tested.
    let off = StorageOptions {
        tail_cache_entries: 0,
        tail_cache_bytes: 0,
    };
    let log = RocksStorage::open_with(&path, off).unwrap();
    assert_eq!(log.last_index().unwrap(), 41);
    assert_eq!(log.term(39).unwrap(), 1);
    assert_eq!(log.term(40).unwrap(), 2);
    assert!(matches!(log.term(42), Err(StorageError::Unavailable)));
    let all = log.entries(1, 42, u64::MAX).unwrap();
    assert_eq!(all.len(), 41);
    assert_eq!(all[40], crate::common::entry(41, 2));
}
