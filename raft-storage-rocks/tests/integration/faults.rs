//! Bad input on disk: each case is a typed error on open or on the read
//! that meets it, never a panic. The damage is done with the rocksdb crate
//! directly, the way another program or a bug would.

use crate::common::append;
use raft_core::{ConfState, EntryId, HardState, LogStorage, StorageError};
use raft_storage_rocks::format::{self, CF_ENTRIES, CF_META};
use raft_storage_rocks::{RocksError, RocksStorage, StorageOptions};
use rocksdb::{Options, DB};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn no_cache() -> StorageOptions {
    StorageOptions::with_tail_cache(0, 0)
}

/// A log with entries 1..=20 at term 1, committed up to 10.
fn log_of_20() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut log =
        RocksStorage::create(&path, ConfState::with_voters([1]), EntryId::default()).unwrap();
    let hs = HardState {
        term: 1,
        vote: 1,
        commit: 10,
    };
    append(&mut log, 1, 20, 1, Some(hs)).unwrap();
    (dir, path)
}

/// Opens the database under the log as a plain RocksDB, to damage it.
fn raw(path: &Path) -> DB {
    DB::open_cf(&Options::default(), path, [CF_META, CF_ENTRIES]).unwrap()
}

fn tamper(path: &Path, f: impl FnOnce(&DB)) {
    let db = raw(path);
    f(&db);
}

fn put(path: &Path, cf: &str, key: &[u8], value: &[u8]) {
    tamper(path, |db| {
        db.put_cf(db.cf_handle(cf).unwrap(), key, value).unwrap()
    });
}

fn delete(path: &Path, cf: &str, key: &[u8]) {
    tamper(path, |db| {
        db.delete_cf(db.cf_handle(cf).unwrap(), key).unwrap()
    });
}

fn open_err(path: &Path) -> RocksError {
    RocksStorage::open(path).expect_err("open must refuse this directory")
}

#[test]
fn a_missing_or_empty_directory_is_not_found_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing");
    assert!(matches!(open_err(&missing), RocksError::NotFound { .. }));
    assert!(!missing.exists(), "open must not create the directory");
    assert!(matches!(open_err(dir.path()), RocksError::NotFound { .. }));
}

#[test]
fn another_programs_files_are_foreign() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a database").unwrap();
    assert!(matches!(open_err(dir.path()), RocksError::Foreign { .. }));
    let file = dir.path().join("notes.txt");
    assert!(matches!(open_err(&file), RocksError::Foreign { .. }));
}

#[test]
fn another_rocksdb_database_is_foreign() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::default();
    opts.create_if_missing(true);
    let db = DB::open(&opts, dir.path()).unwrap();
    db.put(b"user:1", b"alice").unwrap();
    drop(db);
    let err = open_err(dir.path());
    assert!(matches!(err, RocksError::Foreign { .. }), "{err}");
}

#[test]
fn our_column_families_without_the_marker_are_foreign() {
    let (_dir, path) = log_of_20();
    delete(&path, CF_META, format::KEY_FORMAT);
    assert!(matches!(open_err(&path), RocksError::Foreign { .. }));
    put(&path, CF_META, format::KEY_FORMAT, b"some other marker");
    assert!(matches!(open_err(&path), RocksError::Foreign { .. }));
}

#[test]
fn a_newer_format_version_is_refused() {
    let (_dir, path) = log_of_20();
    let mut marker = format::MAGIC.to_vec();
    marker.extend_from_slice(&(format::FORMAT_VERSION + 1).to_be_bytes());
    put(&path, CF_META, format::KEY_FORMAT, &marker);
    match open_err(&path) {
        RocksError::UnsupportedVersion {
            found, supported, ..
        } => {
            assert_eq!(
                (found, supported),
                (format::FORMAT_VERSION + 1, format::FORMAT_VERSION)
            );
        }
        other => panic!("expected UnsupportedVersion, got {other}"),
    }
}

#[test]
fn corrupted_or_missing_metadata_is_refused() {
    for key in [
        format::KEY_HARD_STATE,
        format::KEY_CONF_STATE,
        format::KEY_BASE,
    ] {
        let (_dir, path) = log_of_20();
        put(&path, CF_META, key, b"\x01garbage");
        assert!(
            matches!(open_err(&path), RocksError::Corrupted(_)),
            "{key:?}"
        );
        delete(&path, CF_META, key);
        assert!(
            matches!(open_err(&path), RocksError::Corrupted(_)),
            "{key:?}"
        );
    }
}

#[test]
fn a_corrupted_entry_in_the_cached_tail_fails_open() {
    let (_dir, path) = log_of_20();
    put(
        &path,
        CF_ENTRIES,
        &format::entry_key(18),
        b"\x01\x07not an entry type",
    );
    let err = open_err(&path);
    assert!(
        matches!(err, RocksError::Corrupted(ref m) if m.contains("18")),
        "{err}"
    );
}

#[test]
fn a_corrupted_entry_further_back_fails_the_reads_that_meet_it() {
    let (_dir, path) = log_of_20();
    put(&path, CF_ENTRIES, &format::entry_key(5), b"\x09");
    let log = RocksStorage::open_with(&path, no_cache()).unwrap();
    assert!(matches!(log.term(5), Err(StorageError::Corrupted(_))));
    assert!(matches!(
        log.entries(3, 8, u64::MAX),
        Err(StorageError::Corrupted(_))
    ));
    // Reads that do not touch it still work.
    assert_eq!(log.entries(6, 21, u64::MAX).unwrap().len(), 15);
    assert_eq!(log.term(4).unwrap(), 1);
}

#[test]
fn a_foreign_key_among_the_entries_is_refused() {
    let (_dir, path) = log_of_20();
    // It sorts after every index stored here, so open meets it as the
    // "last entry".
    put(&path, CF_ENTRIES, b"hello", b"world");
    assert!(matches!(open_err(&path), RocksError::Corrupted(_)));
}

#[test]
fn a_gap_in_the_middle_is_found_by_the_read_or_by_open() {
    let (_dir, path) = log_of_20();
    delete(&path, CF_ENTRIES, &format::entry_key(7));
    // With the default cache the gap lies inside the tail open loads.
    assert!(matches!(open_err(&path), RocksError::Corrupted(_)));
    let log = RocksStorage::open_with(&path, no_cache()).unwrap();
    assert!(matches!(log.term(7), Err(StorageError::Corrupted(_))));
    let err = log.entries(1, 21, u64::MAX).unwrap_err();
    assert!(
        matches!(err, StorageError::Corrupted(ref m) if m.contains("entry 7")),
        "{err}"
    );
    assert_eq!(log.entries(8, 21, u64::MAX).unwrap().len(), 13);
}

#[test]
fn a_missing_first_or_last_entry_fails_open() {
    let (_dir, path) = log_of_20();
    delete(&path, CF_ENTRIES, &format::entry_key(1));
    let err = RocksStorage::open_with(&path, no_cache()).unwrap_err();
    assert!(
        matches!(err, RocksError::Corrupted(ref m) if m.contains("first entry is 2")),
        "{err}"
    );

    // Losing the tail down past the commit index is data loss Raft cannot
    // repair by itself: the hard state says entry 10 was committed.
    let (_dir, path) = log_of_20();
    tamper(&path, |db| {
        let cf = db.cf_handle(CF_ENTRIES).unwrap();
        db.delete_range_cf(cf, format::entry_key(10), format::entry_key(21))
            .unwrap();
    });
    let err = RocksStorage::open_with(&path, no_cache()).unwrap_err();
    assert!(
        matches!(err, RocksError::Corrupted(ref m) if m.contains("commits index 10")),
        "{err}"
    );
}

#[test]
fn create_refuses_existing_data_and_unusable_paths() {
    let (dir, path) = log_of_20();
    let err = RocksStorage::create(&path, ConfState::default(), EntryId::default()).unwrap_err();
    assert!(matches!(err, RocksError::AlreadyExists { .. }));
    // The refused create left the log alone.
    assert_eq!(RocksStorage::open(&path).unwrap().last_index().unwrap(), 20);

    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = RocksStorage::create(&file, ConfState::default(), EntryId::default()).unwrap_err();
    assert!(matches!(err, RocksError::AlreadyExists { .. }));
    // A parent that is a regular file fails even for root, unlike a
    // read-only directory.
    let under_file = file.join("log");
    let err =
        RocksStorage::create(&under_file, ConfState::default(), EntryId::default()).unwrap_err();
    assert!(matches!(err, RocksError::Io { .. }), "{err}");
    // No staging directories are left behind by the failed creates.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn an_empty_directory_can_hold_a_new_log() {
    let dir = tempfile::tempdir().unwrap();
    let base = EntryId { term: 3, index: 7 };
    let log = RocksStorage::create(dir.path(), ConfState::with_voters([4, 5]), base).unwrap();
    drop(log);
    let log = RocksStorage::open(dir.path()).unwrap();
    assert_eq!(
        (log.first_index().unwrap(), log.last_index().unwrap()),
        (8, 7)
    );
    assert_eq!(log.term(7).unwrap(), 3);
    assert_eq!(log.conf_state(), &ConfState::with_voters([4, 5]));
    assert_eq!(log.base(), base);
}

#[test]
fn a_refused_write_changes_nothing_on_disk_or_in_memory() {
    let (_dir, path) = log_of_20();
    let mut log = RocksStorage::open(&path).unwrap();
    let hs = HardState {
        term: 9,
        vote: 2,
        commit: 12,
    };
    let err = append(&mut log, 22, 23, 9, Some(hs)).unwrap_err();
    assert!(matches!(err, StorageError::InvalidWrite(_)));
    assert_eq!(log.last_index().unwrap(), 20);
    assert_eq!(log.hard_state().term, 1);
    drop(log);
    let log = RocksStorage::open(&path).unwrap();
    assert_eq!((log.last_index().unwrap(), log.hard_state().term), (20, 1));
}
