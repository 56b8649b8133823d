//! Snapshots and compaction on RocksDB: the same answers as MemStorage,
//! kept across reopen, and damaged snapshot records refused at open.

use crate::common::{append, entries};
use raft_core::{
    ConfState, EntryId, HardState, LogStorage, LogWrite, MemStorage, Snapshot, StorageError,
};
use raft_storage_rocks::format::{self, CF_META};
use raft_storage_rocks::{RocksError, RocksStorage};
use rocksdb::{Options, DB};
use std::path::Path;

fn voters() -> ConfState {
    ConfState::with_voters([1, 2, 3])
}

/// RocksDB and MemStorage logs with entries 1..=20 at term 1.
fn both(path: &Path) -> (RocksStorage, MemStorage) {
    let mut rocks = RocksStorage::create(path, voters(), EntryId::default()).unwrap();
    let mut mem = MemStorage::with_voters([1, 2, 3]);
    append(&mut rocks, 1, 20, 1, None).unwrap();
    append(&mut mem, 1, 20, 1, None).unwrap();
    (rocks, mem)
}

fn ends(log: &(impl LogStorage + ?Sized)) -> (u64, u64) {
    (log.first_index().unwrap(), log.last_index().unwrap())
}

#[test]
fn compaction_moves_the_first_index_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let (mut rocks, mut mem) = both(&path);
    let logs: [&mut dyn LogStorage; 2] = [&mut rocks, &mut mem];
    for log in logs {
        log.compact(10).unwrap();
        assert_eq!(ends(&*log), (11, 20));
        assert_eq!(log.term(10).unwrap(), 1);
        assert!(matches!(log.term(9), Err(StorageError::Compacted)));
        assert!(matches!(
            log.entries(10, 12, u64::MAX),
            Err(StorageError::Compacted)
        ));
        assert_eq!(log.entries(11, 21, u64::MAX).unwrap(), entries(11, 20, 1));
        assert!(matches!(log.compact(10), Err(StorageError::Compacted)));
        assert!(matches!(log.compact(21), Err(StorageError::Unavailable)));
    }
    // Entries still append after a compaction.
    append(&mut rocks, 21, 22, 2, None).unwrap();
    drop(rocks);
    let rocks = RocksStorage::open(&path).unwrap();
    assert_eq!(ends(&rocks), (11, 22));
    assert_eq!(rocks.entries(11, 23, u64::MAX).unwrap().len(), 12);
}

#[test]
fn a_snapshot_install_replaces_the_log_atomically_and_durably() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let (mut rocks, mut mem) = both(&path);
    let snap = Snapshot::new(30, 3, ConfState::with_voters([1, 2, 3, 4]), &b"state"[..]);
    let mut w = LogWrite::new(
        entries(31, 32, 3),
        Some(HardState {
            term: 3,
            vote: 0,
            commit: 30,
        }),
        true,
    );
    w.snapshot = Some(snap.clone());
    rocks.write(w.clone()).unwrap();
    mem.write(w.clone()).unwrap();
    let logs: [&dyn LogStorage; 2] = [&rocks, &mem];
    for log in logs {
        assert_eq!(ends(log), (31, 32));
        assert_eq!(log.term(30).unwrap(), 3);
        assert_eq!(log.snapshot().unwrap(), snap);
        assert_eq!(
            log.initial_state().unwrap().conf_state,
            snap.metadata.conf_state
        );
    }
    // Installing it again is out of date, and changes nothing.
    assert!(matches!(
        rocks.write(w),
        Err(StorageError::SnapshotOutOfDate)
    ));
    drop(rocks);
    let rocks = RocksStorage::open(&path).unwrap();
    assert_eq!(ends(&rocks), (31, 32));
    assert_eq!(rocks.snapshot().unwrap(), snap);
    assert_eq!(rocks.initial_state().unwrap().hard_state.commit, 30);
    assert_eq!(rocks.entries(31, 33, u64::MAX).unwrap(), entries(31, 32, 3));
}

#[test]
fn created_snapshots_are_kept_and_checked_like_memstorage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let (mut rocks, mut mem) = both(&path);
    let a = rocks.create_snapshot(15, None, &b"s15"[..]).unwrap();
    let b = mem.create_snapshot(15, None, &b"s15"[..]).unwrap();
    assert_eq!(a, b);
    assert!(matches!(
        rocks.create_snapshot(15, None, &b""[..]),
        Err(RocksError::SnapshotOutOfDate)
    ));
    assert!(matches!(
        rocks.create_snapshot(21, None, &b""[..]),
        Err(RocksError::Unavailable)
    ));
    rocks.compact(15).unwrap();
    drop(rocks);
    let rocks = RocksStorage::open(&path).unwrap();
    assert_eq!(rocks.snapshot().unwrap(), a);
    assert_eq!(ends(&rocks), (16, 20));
}

fn put_meta(path: &Path, key: &[u8], value: &[u8]) {
    let db = DB::open_cf(&Options::default(), path, [CF_META, format::CF_ENTRIES]).unwrap();
    db.put_cf(db.cf_handle(CF_META).unwrap(), key, value)
        .unwrap();
}

#[test]
fn damaged_snapshot_metadata_is_a_typed_error_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let (mut rocks, _) = both(&path);
    let snap = rocks.create_snapshot(10, None, &b"state"[..]).unwrap();
    drop(rocks);
    let good = format::encode_snapshot(&snap);
    for bad in [
        good[..good.len().min(12)].to_vec(),
        {
            let mut v = good.clone();
            v[0] = 9; // an unknown record version
            v
        },
        {
            let mut v = good.clone();
            v[20] = 0xff; // a membership length beyond the record
            v
        },
    ] {
        put_meta(&path, format::KEY_SNAPSHOT, &bad);
        assert!(matches!(
            RocksStorage::open(&path),
            Err(RocksError::Corrupted(_))
        ));
    }
    // A snapshot beyond the end of the log: entries after it were lost.
    let ahead = Snapshot::new(25, 1, voters(), &b""[..]);
    put_meta(
        &path,
        format::KEY_SNAPSHOT,
        &format::encode_snapshot(&ahead),
    );
    assert!(matches!(
        RocksStorage::open(&path),
        Err(RocksError::Corrupted(_))
    ));
    put_meta(&path, format::KEY_SNAPSHOT, &good);
    assert_eq!(RocksStorage::open(&path).unwrap().snapshot().unwrap(), snap);
}
