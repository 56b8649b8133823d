//! Cases about what survives closing and reopening a log.

use super::*;

pub(super) fn synced_survive<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let entries = run_of(1, 1, 50);
    let hs = hard_state(1, 1, 40);
    write(&mut log, entries.clone(), Some(hs))?;
    let log = h.reopen(log)?;
    expect_log(&log, EntryId::default(), &entries, hs)
}

pub(super) fn truncation_survives<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let mut expected = run_of(1, 1, 10);
    write(&mut log, expected.clone(), None)?;
    write(&mut log, run_of(2, 6, 6), None)?;
    let log = h.reopen(log)?;
    expected.truncate(5);
    expected.extend(run_of(2, 6, 6));
    expect_log(&log, EntryId::default(), &expected, HardState::default())?;
    expect_error(
        "term(7), cut off before the reopen",
        log.term(7),
        Kind::Unavailable,
    )
}

pub(super) fn base_survives<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let at = base(3, 7);
    let mut log = h.create(at)?;
    let entries = run_of(3, 8, 9);
    write(&mut log, entries.clone(), None)?;
    let log = h.reopen(log)?;
    expect_log(&log, at, &entries, HardState::default())?;
    expect_error(
        "term(6), below the base after reopen",
        log.term(6),
        Kind::Compacted,
    )
}

pub(super) fn hard_state_survives<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let hs = hard_state(4, 3, 0);
    write(&mut log, Vec::new(), Some(hs))?;
    let log = h.reopen(log)?;
    expect_log(&log, EntryId::default(), &[], hs)
}

pub(super) fn appends_after_reopen<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let mut expected = run_of(1, 1, 5);
    write(&mut log, expected.clone(), None)?;
    let mut log = h.reopen(log)?;
    // One append that extends and one that truncates, then reopen again.
    write(&mut log, run_of(1, 6, 8), None)?;
    write(&mut log, run_of(2, 7, 9), Some(hard_state(2, 2, 6)))?;
    expected.extend(run_of(1, 6, 6));
    expected.extend(run_of(2, 7, 9));
    expect_log(&log, EntryId::default(), &expected, hard_state(2, 2, 6))?;
    let log = h.reopen(log)?;
    expect_log(&log, EntryId::default(), &expected, hard_state(2, 2, 6))
}

pub(super) fn refused_leaves_nothing<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let entries = run_of(1, 1, 3);
    let hs = hard_state(1, 1, 2);
    write(&mut log, entries.clone(), Some(hs))?;
    let r = log.write(log_write(run_of(1, 5, 5), Some(hard_state(9, 9, 3))));
    expect_error("a write leaving a gap", r, Kind::InvalidWrite)?;
    let log = h.reopen(log)?;
    expect_log(&log, EntryId::default(), &entries, hs)
}
