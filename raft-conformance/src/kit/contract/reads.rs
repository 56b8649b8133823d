//! Cases about reading: bounds, terms, ranges, the size limit.

use super::*;
use raft_core::storage::clone_within_size;

pub(super) fn fresh_log<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let log = h.fresh()?;
    expect_log(&log, EntryId::default(), &[], HardState::default())
}

pub(super) fn bootstrapped_log<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let at = base(2, 5);
    let log = h.create(at)?;
    expect_log(&log, at, &[], HardState::default())?;
    expect_error("term(4), below the base", log.term(4), Kind::Compacted)?;
    expect_error(
        "term(6), beyond the last index",
        log.term(6),
        Kind::Unavailable,
    )
}

pub(super) fn read_back<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let entries = run_of(1, 1, 20);
    write(&mut log, entries.clone(), None)?;
    expect_log(&log, EntryId::default(), &entries, HardState::default())?;
    for (lo, hi) in [(1, 2), (5, 9), (20, 21), (1, 21)] {
        let what = format!("entries({lo}, {hi}, u64::MAX)");
        let read = call(&what, log.entries(lo, hi, u64::MAX))?;
        expect_eq(
            &what,
            read,
            entries[(lo - 1) as usize..(hi - 1) as usize].to_vec(),
        )?;
    }
    Ok(())
}

pub(super) fn term_at_both_ends<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let at = base(2, 5);
    let mut log = h.create(at)?;
    write(&mut log, run_of(3, 6, 10), None)?;
    expect_eq("term(5), first_index - 1", call("term(5)", log.term(5))?, 2)?;
    expect_eq("term(6), first_index", call("term(6)", log.term(6))?, 3)?;
    expect_eq("term(10), last_index", call("term(10)", log.term(10))?, 3)?;
    expect_error(
        "term(4), below first_index - 1",
        log.term(4),
        Kind::Compacted,
    )?;
    expect_error(
        "term(11), beyond last_index",
        log.term(11),
        Kind::Unavailable,
    )
}

pub(super) fn size_limit<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let entries: Vec<Entry> = (1..=12).map(|i| ent(1, i, 10 + i as usize * 3)).collect();
    write(&mut log, entries.clone(), None)?;
    let size = |range: std::ops::Range<usize>| -> u64 {
        entries[range].iter().map(Entry::encoded_size).sum()
    };
    for lo in [1u64, 4, 12] {
        let from = (lo - 1) as usize;
        let one = size(from..from + 1);
        let mut limits = vec![0, 1, one - 1, one, u64::MAX];
        if from + 3 <= entries.len() {
            let three = size(from..from + 3);
            limits.extend([three - 1, three, three + 1]);
        }
        for max in limits {
            let what = format!("entries({lo}, 13, {max})");
            let read = call(&what, log.entries(lo, 13, max))?;
            // The same prefix raft-core's own MemStorage returns.
            let expected = clone_within_size(&entries[from..], max);
            if read.is_empty() {
                return Err(format!(
                    "{what}: returned no entry; at least one must come back"
                ));
            }
            expect_eq(
                &format!("{what}: number of entries"),
                read.len(),
                expected.len(),
            )?;
            expect_eq(&what, read, expected)?;
        }
    }
    Ok(())
}

pub(super) fn out_of_range<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.create(base(2, 5))?;
    write(&mut log, run_of(2, 6, 10), None)?;
    expect_error(
        "entries(5, 7), from below first_index",
        log.entries(5, 7, u64::MAX),
        Kind::Compacted,
    )?;
    expect_error(
        "entries(1, 3), wholly below first_index",
        log.entries(1, 3, u64::MAX),
        Kind::Compacted,
    )?;
    expect_error(
        "entries(6, 12), past last_index + 1",
        log.entries(6, 12, u64::MAX),
        Kind::Unavailable,
    )?;
    expect_error(
        "entries(8, 7), an inverted range",
        log.entries(8, 7, u64::MAX),
        Kind::Unavailable,
    )?;
    for lo in 6..=11 {
        let what = format!("entries({lo}, {lo}, u64::MAX), an empty range");
        expect_eq(
            &what,
            call(&what, log.entries(lo, lo, u64::MAX))?,
            Vec::new(),
        )?;
    }
    Ok(())
}

pub(super) fn payload_sizes<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    // A leader's empty entry, a byte, and a payload larger than most pages
    // and buffers.
    let entries = vec![
        ent(1, 1, 0),
        ent(1, 2, 1),
        ent(1, 3, 300 * 1024),
        ent(2, 4, 0),
    ];
    write(&mut log, entries.clone(), None)?;
    expect_log(&log, EntryId::default(), &entries, HardState::default())
}

pub(super) fn many_writes<F: StorageFactory>(h: &Harness<'_, F>) -> CaseResult {
    let mut log = h.fresh()?;
    let mut all = Vec::new();
    for batch in 0..40u64 {
        let entries = run_of(1 + batch / 10, batch * 50 + 1, batch * 50 + 50);
        all.extend(entries.clone());
        write(&mut log, entries, None)?;
    }
    expect_log(&log, EntryId::default(), &all, HardState::default())?;
    let what = "entries(1, 2001, 4096)";
    let read = call(what, log.entries(1, 2001, 4096))?;
    expect_eq(what, read, clone_within_size(&all, 4096))
}
