//! MemStorage's snapshot and compaction operations and their typed errors,
//! case by case as etcd's MemoryStorage (storage_test.go).

mod common;

use common::*;
use raft_core::{ConfState, EntryId, LogStorage, LogWrite, MemStorage, Snapshot, StorageError};

/// Entries 3..=5 at terms 3, 4, 5 after a base at 3/3, as etcd's tests set up.
fn store_3_to_5() -> MemStorage {
    let base = EntryId { term: 3, index: 3 };
    let mut s = MemStorage::with_base(ConfState::with_voters([1, 2, 3]), base);
    s.write(LogWrite::new(vec![ent(4, 4), ent(5, 5)], None, true))
        .unwrap();
    s
}

#[test]
fn compact_drops_the_prefix_and_keeps_the_term_at_the_cut() {
    // (index to compact, first index and term at the cut if it succeeds)
    let cases: [(u64, Option<(u64, u64)>); 4] =
        [(2, None), (3, None), (4, Some((5, 4))), (5, Some((6, 5)))];
    for (index, want) in cases {
        let mut s = store_3_to_5();
        match (s.compact(index), want) {
            (Ok(()), Some((first, term))) => {
                assert_eq!(s.first_index().unwrap(), first, "compact {index}");
                assert_eq!(s.term(index).unwrap(), term, "compact {index}");
                assert_eq!(s.last_index().unwrap(), 5, "compact {index}");
                assert!(matches!(s.term(index - 1), Err(StorageError::Compacted)));
            }
            (Err(StorageError::Compacted), None) => {
                assert_eq!(s.first_index().unwrap(), 4, "unchanged after {index}");
            }
            (got, want) => panic!("compact {index}: got {got:?}, want {want:?}"),
        }
    }
    let mut s = store_3_to_5();
    assert!(matches!(s.compact(6), Err(StorageError::Unavailable)));
}

#[test]
fn create_snapshot_needs_a_newer_index_inside_the_log() {
    let mut s = store_3_to_5();
    let cs = ConfState::with_voters([1, 2]);
    let snap = s
        .create_snapshot(4, Some(cs.clone()), &b"data"[..])
        .unwrap();
    assert_eq!((snap.index(), snap.term()), (4, 4));
    assert_eq!(snap.metadata.conf_state, cs);
    assert_eq!(s.snapshot().unwrap(), snap);
    assert!(matches!(
        s.create_snapshot(4, None, &b""[..]),
        Err(StorageError::SnapshotOutOfDate)
    ));
    assert!(matches!(
        s.create_snapshot(6, None, &b""[..]),
        Err(StorageError::Unavailable)
    ));
    // Without a ConfState, the last one given is kept (etcd's rule): it is
    // also the configuration a restart starts from.
    let snap = s.create_snapshot(5, None, &b"more"[..]).unwrap();
    assert_eq!(snap.metadata.conf_state, cs);
    assert_eq!(s.initial_state().unwrap().conf_state, cs);
    assert_eq!(s.last_index().unwrap(), 5, "the log is untouched");
}

#[test]
fn apply_snapshot_replaces_the_log_unless_out_of_date() {
    let mut s = store_3_to_5();
    let newer = Snapshot::new(8, 6, ConfState::with_voters([1, 4]), &b"x"[..]);
    s.apply_snapshot(newer.clone()).unwrap();
    assert_eq!(s.first_index().unwrap(), 9);
    assert_eq!(s.last_index().unwrap(), 8);
    assert_eq!(s.term(8).unwrap(), 6);
    assert_eq!(
        s.initial_state().unwrap().conf_state,
        newer.metadata.conf_state
    );
    assert_eq!(s.snapshot().unwrap(), newer);
    let older = Snapshot::new(7, 6, ConfState::default(), &b""[..]);
    assert!(matches!(
        s.apply_snapshot(older),
        Err(StorageError::SnapshotOutOfDate)
    ));
    assert!(matches!(
        s.apply_snapshot(newer),
        Err(StorageError::SnapshotOutOfDate)
    ));
}

#[test]
fn a_write_installs_its_snapshot_before_its_entries_or_nothing_at_all() {
    let mut s = store_3_to_5();
    let snap = Snapshot::new(10, 6, ConfState::with_voters([1, 2, 3]), &b""[..]);
    let mut w = LogWrite::new(vec![ent(6, 11), ent(6, 12)], Some(hs_term(6)), true);
    w.snapshot = Some(snap.clone());
    // A gap after the snapshot is refused, and nothing changes.
    let mut gap = w.clone();
    gap.entries = vec![ent(6, 12)];
    assert!(matches!(s.write(gap), Err(StorageError::InvalidWrite(_))));
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (4, 5));
    s.write(w.clone()).unwrap();
    assert_eq!(
        (s.first_index().unwrap(), s.last_index().unwrap()),
        (11, 12)
    );
    assert_eq!(s.term(10).unwrap(), 6);
    assert_eq!(s.hard_state().term, 6);
    // The same snapshot again is out of date; the write changes nothing.
    assert!(matches!(s.write(w), Err(StorageError::SnapshotOutOfDate)));
    assert_eq!(s.last_index().unwrap(), 12);
}
