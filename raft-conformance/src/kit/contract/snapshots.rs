//! Cases about snapshots and compaction: `create_snapshot`, `compact`, a
//! snapshot installed by `write`, and all of it across a reopen.
//!
//! A log that keeps no snapshots (it refuses `create_snapshot` with
//! `Unsupported`, as the trait documents) is not broken: raft-core then
//! never asks it for one. [`supports_snapshots`] finds out which kind a
//! storage is, and these cases are skipped for the second kind.

use super::*;
use bytes::Bytes;
use raft_core::Snapshot;

/// Whether the factory's logs keep snapshots: `None` when they do, else why
/// not (what the probe got back).
pub(super) fn supports_snapshots<F: StorageFactory>(h: &Harness<'_, F>) -> Option<String> {
    let mut log = match h.fresh() {
        Ok(log) => log,
        Err(why) => return Some(why),
    };
    if let Err(why) = write(&mut log, run_of(1, 1, 2), None) {
        return Some(why);
    }
    match log.create_snapshot(1, None, Bytes::from_static(b"probe")) {
        Err(StorageError::Unsupported(what)) => Some(format!(
            "no snapshots (create_snapshot returned Unsupported: {what})"
        )),
        _ => None,
    }
}

fn data(index: u64) -> Bytes {
    Bytes::from(format!("state as of {index}"))
}

fn expect_snapshot(log: &impl LogStorage, index: u64, term: u64, what: &str) -> CaseResult {
    let snap = call("snapshot()", log.snapshot())?;
    expect_eq(
        &format!("snapshot() index and term {what}"),
        (snap.index(), snap.term()),
        (index, term),
    )?;
    expect_eq(&format!("snapshot() data {what}"), snap.data, data(index))?;
    expect_eq(
        &format!("snapshot() membership {what}"),
        snap.metadata.conf_state,
        voters(),
    )
}

fn expect_out_of_date<T: fmt::Debug>(what: &str, r: Result<T, StorageError>) -> CaseResult {
    match r {
        Err(StorageError::SnapshotOutOfDate) => Ok(()),
        Err(e) => Err(format!(
            "{what}: expected StorageError::SnapshotOutOfDate, got the error {e:?}"
        )),
        Ok(v) => Err(format!(
            "{what}: expected StorageError::SnapshotOutOfDate, got Ok({v:?})"
        )),
    }
}

/// A write that installs `snapshot`, then appends `entries`.
#[allow(clippy::field_reassign_with_default)]
fn install(snapshot: Snapshot, entries: Vec<Entry>) -> LogWrite {
    let mut w = log_write(entries, None);
    w.snapshot = Some(snapshot);
    w
}

pub(super) fn create_rules<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let mut entries = run_of(1, 1, 4);
    entries.extend(run_of(2, 5, 10));
    write(&mut log, entries.clone(), None)?;
    let snap = call("create_snapshot(6)", log.create_snapshot(6, None, data(6)))?;
    expect_eq(
        "create_snapshot(6)'s index and term",
        (snap.index(), snap.term()),
        (6, 2),
    )?;
    expect_snapshot(&log, 6, 2, "after create_snapshot(6)")?;
    // Creating a snapshot leaves the log alone.
    expect_log(&log, EntryId::default(), &entries, HardState::default())?;
    expect_out_of_date(
        "create_snapshot(6) again",
        log.create_snapshot(6, None, data(6)),
    )?;
    expect_out_of_date(
        "create_snapshot(3), older than the stored one",
        log.create_snapshot(3, None, data(3)),
    )?;
    expect_error(
        "create_snapshot(11), beyond last_index",
        log.create_snapshot(11, None, data(11)),
        Kind::Unavailable,
    )?;
    call("compact(8)", log.compact(8))?;
    expect_error(
        "create_snapshot(7), newer than the snapshot but compacted away",
        log.create_snapshot(7, None, data(7)),
        Kind::Compacted,
    )?;
    expect_snapshot(&log, 6, 2, "after the refused calls")
}

pub(super) fn compact_rules<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let mut entries = run_of(1, 1, 4);
    entries.extend(run_of(2, 5, 10));
    let hs = hard_state(2, 1, 10);
    write(&mut log, entries.clone(), Some(hs))?;
    call("create_snapshot(6)", log.create_snapshot(6, None, data(6)))?;
    call("compact(6)", log.compact(6))?;
    expect_log(&log, base(2, 6), &entries[6..], hs)?;
    expect_error(
        "entries(6, 8), compacted",
        log.entries(6, 8, u64::MAX),
        Kind::Compacted,
    )?;
    expect_error("term(5), compacted", log.term(5), Kind::Compacted)?;
    expect_error("compact(6) again", log.compact(6), Kind::Compacted)?;
    expect_error(
        "compact(3), below the first index",
        log.compact(3),
        Kind::Compacted,
    )?;
    expect_error(
        "compact(11), beyond last_index",
        log.compact(11),
        Kind::Unavailable,
    )?;
    expect_log(&log, base(2, 6), &entries[6..], hs)?;
    // The log goes on growing after a compaction, and compacts again.
    let more = run_of(3, 11, 12);
    write(&mut log, more.clone(), None)?;
    call("compact(10)", log.compact(10))?;
    expect_log(&log, base(2, 10), &more, hs)
}

pub(super) fn install_cuts_the_log<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    write(&mut log, run_of(1, 1, 10), None)?;
    // A snapshot beyond the log: everything goes, the log continues after it.
    let snap = Snapshot::new(20, 3, voters(), data(20));
    let after = run_of(3, 21, 22);
    log.write(install(snap, after.clone()))
        .map_err(|e| format!("installing a snapshot at 20 with entries 21..=22 failed: {e}"))?;
    expect_log(&log, base(3, 20), &after, HardState::default())?;
    expect_snapshot(&log, 20, 3, "after installing it")?;
    expect_error(
        "term(19), under the snapshot",
        log.term(19),
        Kind::Compacted,
    )?;
    // An older snapshot is refused whole: its entries are not written.
    let stale = install(Snapshot::new(15, 3, voters(), data(15)), run_of(3, 16, 30));
    expect_out_of_date("installing an older snapshot (15)", log.write(stale))?;
    expect_log(&log, base(3, 20), &after, HardState::default())?;
    // A snapshot inside the log replaces all of it too (etcd's
    // ApplySnapshot): entries after it may belong to another history.
    let inside = Snapshot::new(21, 3, voters(), data(21));
    log.write(install(inside, Vec::new()))
        .map_err(|e| format!("installing a snapshot at 21, inside the log, failed: {e}"))?;
    expect_log(&log, base(3, 21), &[], HardState::default())?;
    expect_snapshot(&log, 21, 3, "after installing one inside the log")
}

pub(super) fn snapshots_survive_reopen<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let entries = run_of(1, 1, 10);
    let hs = hard_state(1, 1, 10);
    write(&mut log, entries.clone(), Some(hs))?;
    call("create_snapshot(7)", log.create_snapshot(7, None, data(7)))?;
    call("compact(5)", log.compact(5))?;
    let mut log = h.reopen(log)?;
    expect_snapshot(
        &log,
        7,
        1,
        "after create_snapshot(7), compact(5) and a reopen",
    )?;
    expect_log(&log, base(1, 5), &entries[5..], hs)?;
    let after = run_of(4, 31, 33);
    log.write(install(
        Snapshot::new(30, 4, voters(), data(30)),
        after.clone(),
    ))
    .map_err(|e| format!("installing a snapshot at 30 failed: {e}"))?;
    let log = h.reopen(log)?;
    expect_snapshot(&log, 30, 4, "after installing it and a reopen")?;
    expect_log(&log, base(4, 30), &after, hs)
}
