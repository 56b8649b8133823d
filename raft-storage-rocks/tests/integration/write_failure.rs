//! A write the disk refuses returns a typed error and keeps what was synced.
//!
//! Why not a read-only directory: tests may run as root, which ignores
//! permission bits, so a `chmod 0500` directory would still accept writes.
//! The file-size limit (`RLIMIT_FSIZE`) binds root too: once the WAL would
//! grow past it, the kernel fails the write with `EFBIG` ("File too large"),
//! which is what a full disk looks like to RocksDB (a failed append). The
//! limit is per process, so a child (this test binary again, told so by
//! [`CHILD_DIR`]) runs under it while the parent checks the result.

use crate::common::{append, child_command, entry};
use raft_core::{ConfState, EntryId, HardState, LogStorage, LogWrite, StorageError};
use raft_storage_rocks::RocksStorage;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

const CHILD_DIR: &str = "RAFT_ROCKS_FSIZE_CHILD_DIR";
const TEST_NAME: &str = "write_failure::a_write_past_the_file_size_limit_fails_cleanly";
/// Small enough to hit within a few hundred writes, big enough for RocksDB
/// to open (and write its new WAL, MANIFEST and OPTIONS files) under it.
const LIMIT_BYTES: u64 = 256 << 10;

#[test]
fn a_write_past_the_file_size_limit_fails_cleanly() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut log =
        RocksStorage::create(&path, ConfState::with_voters([1]), EntryId::default()).unwrap();
    append(
        &mut log,
        1,
        10,
        1,
        Some(HardState {
            term: 1,
            vote: 1,
            commit: 10,
        }),
    )
    .unwrap();
    drop(log);

    let mut cmd = child_command(TEST_NAME, &[(CHILD_DIR, path.display().to_string())]);
    let mut child = cmd.spawn().unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(child.wait().unwrap().success(), "child failed: {lines:?}");
    let synced: Vec<u64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("synced ")?.parse().ok())
        .collect();
    let failure = lines
        .iter()
        .find_map(|l| l.strip_prefix("failed "))
        .expect("no write failed");
    eprintln!("{} synced writes, then: {failure}", synced.len());
    assert!(
        failure.starts_with("io:"),
        "expected an I/O error, got {failure}"
    );
    assert!(
        synced.len() > 10,
        "the limit was hit too early to mean anything: {lines:?}"
    );

    let last_synced = *synced.last().unwrap();
    let log = RocksStorage::open(&path).unwrap();
    let last = log.last_index().unwrap();
    assert!(
        last >= last_synced,
        "synced entry {last_synced} lost; log ends at {last}"
    );
    for e in log.entries(1, last + 1, u64::MAX).unwrap() {
        let expected = if e.index <= 10 {
            entry(e.index, 1)
        } else {
            big(e.index)
        };
        assert_eq!(e, expected);
    }
    assert!(log.hard_state().commit >= last_synced);
}

fn big(index: u64) -> raft_core::Entry {
    raft_core::Entry {
        data: vec![b'x'; 2048].into(),
        ..entry(index, 1)
    }
}

/// Writes 2 KiB entries, synced, under the file-size limit until one fails;
/// prints `synced INDEX` after each success and `failed KIND: ERROR` once.
fn child(dir: &Path) {
    let mut log = RocksStorage::open(dir).unwrap();
    // SAFETY: plain libc calls with valid arguments; this process runs only
    // this test (`--exact`, one thread), so nothing else sees the limit.
    unsafe {
        // Without this the kernel kills the process with SIGXFSZ instead of
        // failing the write.
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: LIMIT_BYTES,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    let mut out = std::io::stdout().lock();
    for _ in 0..10_000 {
        let index = log.last_index().unwrap() + 1;
        let write = LogWrite {
            entries: vec![big(index)],
            hard_state: Some(HardState {
                term: 1,
                vote: 1,
                commit: index,
            }),
            snapshot: None,
            sync: true,
        };
        match log.write(write) {
            Ok(()) => writeln!(out, "synced {index}").unwrap(),
            Err(e) => {
                let kind = match e {
                    StorageError::Io(_) => "io",
                    StorageError::Corrupted(_) => "corrupted",
                    _ => "other",
                };
                writeln!(out, "failed {kind}: {e}").unwrap();
                // Nothing of the failed write is visible in memory either.
                assert_eq!(log.last_index().unwrap(), index - 1);
                assert_eq!(log.hard_state().commit, index - 1);
                return;
            }
        }
    }
}
