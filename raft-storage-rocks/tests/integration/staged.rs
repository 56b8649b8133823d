//! Staged writes and the tail cache: until a writer thread has run a staged
//! batch, its entries exist only in the storage's in-memory view, so a read
//! of them must be served from there, however small the cache's bounds.
//! A gap (the cache having let them go, RocksDB not having them yet) would
//! show up here as an error or a short read.

use crate::common::{entries, entry};
use raft_core::{ConfState, EntryId, LogStorage, LogWrite, PendingWrite, Staged};
use raft_storage_rocks::{RocksStorage, StorageOptions};

fn stage(log: &mut RocksStorage, from: u64, to: u64, term: u64) -> Box<dyn PendingWrite> {
    match log
        .stage_write(LogWrite::new(entries(from, to, term), None, true))
        .unwrap()
    {
        Staged::Pending(io) => io,
        Staged::Done => panic!("a write of entries {from}..={to} left no I/O"),
    }
}

fn terms(log: &RocksStorage, lo: u64, hi: u64) -> Vec<(u64, u64)> {
    let read = log.entries(lo, hi, u64::MAX).unwrap();
    for e in &read {
        assert_eq!(e, &entry(e.index, e.term), "entry {} changed", e.index);
    }
    read.iter().map(|e| (e.index, e.term)).collect()
}

fn expected(runs: &[(u64, u64, u64)]) -> Vec<(u64, u64)> {
    runs.iter()
        .flat_map(|&(from, to, term)| (from..=to).map(move |i| (i, term)))
        .collect()
}

#[test]
fn staged_entries_not_yet_written_are_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    // A cache of two entries: every staged batch below is larger.
    let options = StorageOptions::with_tail_cache(2, u64::MAX);
    let mut log = RocksStorage::create_with(
        &path,
        ConfState::with_voters([1]),
        EntryId::default(),
        options.clone(),
    )
    .unwrap();

    let first = stage(&mut log, 1, 10, 1);
    assert_eq!(terms(&log, 1, 11), expected(&[(1, 10, 1)]));
    assert_eq!(log.term(3).unwrap(), 1);

    // A second staged write replaces a suffix (a new leader's entries)
    // while the first has not run either.
    let second = stage(&mut log, 6, 12, 2);
    assert_eq!(terms(&log, 1, 13), expected(&[(1, 5, 1), (6, 12, 2)]));
    assert_eq!(log.term(4).unwrap(), 1);
    assert_eq!(log.term(7).unwrap(), 2);

    // The first batch runs: its own entries may now come from RocksDB,
    // the second's still only from memory.
    first.run(false).unwrap();
    let third = stage(&mut log, 13, 14, 2);
    assert_eq!(
        terms(&log, 1, 15),
        expected(&[(1, 5, 1), (6, 14, 2)]),
        "after the first batch ran"
    );

    second.run(false).unwrap();
    third.run(true).unwrap();
    // With everything written, the next append shrinks the cache back to
    // its bound.
    let fourth = stage(&mut log, 15, 15, 2);
    fourth.run(true).unwrap();
    let _ = stage(&mut log, 16, 16, 2);
    assert!(
        log.cached_entries() <= 3,
        "cache still holds {} entries",
        log.cached_entries()
    );
    assert_eq!(terms(&log, 1, 16), expected(&[(1, 5, 1), (6, 15, 2)]));
    drop(log);

    // What ran is on disk: a reopened log reads it all from RocksDB.
    let log = RocksStorage::open_with(&path, options).unwrap();
    assert_eq!(log.last_index().unwrap(), 15);
    assert_eq!(terms(&log, 1, 16), expected(&[(1, 5, 1), (6, 15, 2)]));
}
