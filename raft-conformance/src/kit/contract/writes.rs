//! Cases about writing: truncation, refusals, the hard state.

use super::*;

pub(super) fn conflicting_suffix<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let mut expected = run_of(1, 1, 10);
    write(&mut log, expected.clone(), None)?;
    // A new leader's entries from index 6 replace 6..=10, including the
    // ones (8..=10) the write does not itself overwrite.
    let replacement = run_of(2, 6, 7);
    write(&mut log, replacement.clone(), None)?;
    expected.truncate(5);
    expected.extend(replacement);
    expect_log(&log, EntryId::default(), &expected, HardState::default())?;
    expect_error("term(8), cut off", log.term(8), Kind::Unavailable)?;
    expect_error(
        "entries(6, 9), past the cut",
        log.entries(6, 9, u64::MAX),
        Kind::Unavailable,
    )?;
    // And the log goes on from the new end.
    let more = run_of(3, 8, 9);
    write(&mut log, more.clone(), None)?;
    expected.extend(more);
    expect_log(&log, EntryId::default(), &expected, HardState::default())
}

pub(super) fn replace_all<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let at = base(1, 5);
    let mut log = h.create(at)?;
    write(&mut log, run_of(1, 6, 8), None)?;
    let replacement = run_of(2, 6, 6);
    write(&mut log, replacement.clone(), None)?;
    expect_log(&log, at, &replacement, HardState::default())
}

pub(super) fn gap_refused<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let entries = run_of(1, 1, 3);
    let hs = hard_state(1, 1, 2);
    write(&mut log, entries.clone(), Some(hs))?;
    // Each refused write carries a hard state too: none of it may land.
    let later = hard_state(5, 2, 3);
    let refused = [
        ("entries starting at 5 after last index 3", run_of(1, 5, 6)),
        ("entries 4 then 6", vec![ent(1, 4, 1), ent(1, 6, 1)]),
        ("entries 4 then 4", vec![ent(1, 4, 1), ent(1, 4, 1)]),
    ];
    for (what, batch) in refused {
        let r = log.write(log_write(batch, Some(later)));
        expect_error(&format!("a write of {what}"), r, Kind::InvalidWrite)?;
        expect_log(&log, EntryId::default(), &entries, hs)
            .map_err(|e| format!("after the refused write of {what}: {e}"))?;
    }
    Ok(())
}

pub(super) fn hard_state_round_trip<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let first = hard_state(1, 2, 0);
    write(&mut log, Vec::new(), Some(first))?;
    expect_log(&log, EntryId::default(), &[], first)?;
    // Entries alone keep the hard state.
    let entries = run_of(1, 1, 4);
    write(&mut log, entries.clone(), None)?;
    expect_log(&log, EntryId::default(), &entries, first)?;
    // Entries and a hard state together.
    let mut all = entries;
    all.extend(run_of(2, 5, 6));
    let second = hard_state(2, 3, 5);
    write(&mut log, run_of(2, 5, 6), Some(second))?;
    expect_log(&log, EntryId::default(), &all, second)?;
    // A commit-only change, written without sync as raft-core does.
    let third = hard_state(2, 3, 6);
    let mut w = log_write(Vec::new(), Some(third));
    w.sync = false;
    call("an unsynced hard-state write", log.write(w))?;
    expect_log(&log, EntryId::default(), &all, third)
}

pub(super) fn empty_write<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let entries = run_of(1, 1, 3);
    let hs = hard_state(1, 1, 1);
    write(&mut log, entries.clone(), Some(hs))?;
    call("an empty write", log.write(LogWrite::default()))?;
    expect_log(&log, EntryId::default(), &entries, hs)
}
