//! The `LogStorage` contract suite: every behaviour raft-core relies on,
//! checked case by case against any [`StorageFactory`].
//!
//! Cases are plain functions listed in [`cases`]; a new part of the
//! contract (snapshots, compaction) is a new function and a new line there.
//! Each case gets fresh logs from the factory, so cases are independent and
//! any one of them can be read on its own as a statement of the contract.

mod durability;
mod reads;
mod snapshots;
mod writes;

use super::StorageFactory;
use raft_core::{ConfState, Entry, EntryId, HardState, LogStorage, LogWrite, StorageError};
use std::fmt;

/// One case of the contract suite.
pub struct Case<F: StorageFactory> {
    /// What the case checks, as a snake_case sentence.
    pub name: &'static str,
    /// The case closes and reopens logs, so needs
    /// [`StorageFactory::can_reopen`].
    pub needs_reopen: bool,
    /// The case is about snapshots and compaction, which a log may not
    /// keep (see [`LogStorage`]'s documentation); it is skipped for logs
    /// whose `create_snapshot` answers `StorageError::Unsupported`.
    pub needs_snapshots: bool,
    run: fn(&Harness<'_, F>) -> CaseResult,
}

/// What a case returns: `Err` holds a message saying what the storage did
/// and what the contract asks for.
pub type CaseResult = Result<(), String>;

/// Every case, in the order they run.
pub fn cases<F: StorageFactory>() -> Vec<Case<F>> {
    let case = |name, run| Case {
        name,
        needs_reopen: false,
        needs_snapshots: false,
        run,
    };
    let durable = |name, run| Case {
        name,
        needs_reopen: true,
        needs_snapshots: false,
        run,
    };
    let snapshot = |name, needs_reopen, run| Case {
        name,
        needs_reopen,
        needs_snapshots: true,
        run,
    };
    vec![
        case("fresh_log_is_empty_with_its_membership", reads::fresh_log),
        case(
            "bootstrapped_log_starts_after_its_base",
            reads::bootstrapped_log,
        ),
        case("appended_entries_read_back_unchanged", reads::read_back),
        case("term_lookups_at_both_ends", reads::term_at_both_ends),
        case(
            "entries_honour_max_size_but_return_at_least_one",
            reads::size_limit,
        ),
        case(
            "reads_outside_the_log_are_typed_errors",
            reads::out_of_range,
        ),
        case("large_and_empty_payloads_round_trip", reads::payload_sizes),
        case("many_entries_in_many_writes_read_back", reads::many_writes),
        case(
            "conflicting_suffix_is_truncated",
            writes::conflicting_suffix,
        ),
        case(
            "a_write_may_replace_every_entry_after_the_base",
            writes::replace_all,
        ),
        case("a_gap_is_refused_and_changes_nothing", writes::gap_refused),
        case("hard_state_round_trips", writes::hard_state_round_trip),
        case("an_empty_write_changes_nothing", writes::empty_write),
        durable("synced_writes_survive_reopen", durability::synced_survive),
        durable(
            "truncation_survives_reopen",
            durability::truncation_survives,
        ),
        durable(
            "base_and_membership_survive_reopen",
            durability::base_survives,
        ),
        durable(
            "hard_state_alone_survives_reopen",
            durability::hard_state_survives,
        ),
        durable(
            "a_reopened_log_takes_more_writes",
            durability::appends_after_reopen,
        ),
        durable(
            "a_refused_write_leaves_nothing_after_reopen",
            durability::refused_leaves_nothing,
        ),
        snapshot(
            "create_snapshot_refuses_out_of_date_compacted_and_unavailable",
            false,
            snapshots::create_rules,
        ),
        snapshot(
            "compact_drops_the_prefix_and_refuses_out_of_range",
            false,
            snapshots::compact_rules,
        ),
        snapshot(
            "an_installed_snapshot_replaces_the_log_atomically",
            false,
            snapshots::install_cuts_the_log,
        ),
        snapshot(
            "snapshots_and_compaction_survive_reopen",
            true,
            snapshots::snapshots_survive_reopen,
        ),
    ]
}

/// What the cases use to get logs.
pub struct Harness<'a, F> {
    factory: &'a F,
}

impl<F: StorageFactory> Harness<'_, F> {
    /// A fresh log for node 1 of a three-voter group, starting after `base`.
    fn create(&self, base: EntryId) -> Result<F::Storage, String> {
        self.factory
            .create(1, voters(), base)
            .map_err(|e| format!("the factory could not create a log: {e}"))
    }

    /// A fresh log starting at index 1.
    fn fresh(&self) -> Result<F::Storage, String> {
        self.create(EntryId::default())
    }

    fn reopen(&self, log: F::Storage) -> Result<F::Storage, String> {
        self.factory
            .reopen(log)
            .map_err(|e| format!("the factory could not reopen the log: {e}"))
    }
}

/// How one case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The storage behaved as the contract says.
    Passed,
    /// It did not; the message says how.
    Failed(String),
    /// The case could not run for this factory (the reason says why).
    Skipped(String),
}

/// One case's name and verdict.
#[derive(Clone, Debug)]
pub struct CaseOutcome {
    /// The case's name.
    pub name: &'static str,
    /// How it ended.
    pub verdict: Verdict,
}

/// The verdicts of every case for one storage.
#[derive(Clone, Debug)]
pub struct ContractReport {
    /// The storage's name.
    pub storage: String,
    /// Every case, in order.
    pub cases: Vec<CaseOutcome>,
}

impl ContractReport {
    /// Cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseOutcome> {
        self.cases
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Failed(_)))
    }

    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Passed))
    }

    /// How many cases were skipped.
    pub fn skipped(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Skipped(_)))
    }

    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.verdict)).count()
    }
}

impl fmt::Display for ContractReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "LogStorage contract, storage={}:", self.storage)?;
        for case in &self.cases {
            match &case.verdict {
                Verdict::Passed => writeln!(f, "  ok   {}", case.name)?,
                Verdict::Failed(why) => writeln!(f, "  FAIL {}: {why}", case.name)?,
                Verdict::Skipped(why) => writeln!(f, "  skip {}: {why}", case.name)?,
            }
        }
        let failed = self.failures().count();
        writeln!(
            f,
            "  {} passed, {failed} failed, {} skipped",
            self.passed(),
            self.skipped()
        )
    }
}

/// Runs every case against `factory`.
pub fn run_contract<F: StorageFactory>(storage: &str, factory: &F) -> ContractReport {
    let harness = Harness { factory };
    let all = cases::<F>();
    let no_snapshots = if all.iter().any(|c| c.needs_snapshots) {
        snapshots::supports_snapshots(&harness)
    } else {
        None
    };
    let cases = all
        .into_iter()
        .map(|case| {
            let verdict = if let Some(why) = no_snapshots.as_ref().filter(|_| case.needs_snapshots)
            {
                Verdict::Skipped(why.clone())
            } else if case.needs_reopen && !factory.can_reopen() {
                Verdict::Skipped(
                    "the factory cannot reopen a log (StorageFactory::can_reopen)".to_string(),
                )
            } else {
                match (case.run)(&harness) {
                    Ok(()) => Verdict::Passed,
                    Err(why) => Verdict::Failed(why),
                }
            };
            CaseOutcome {
                name: case.name,
                verdict,
            }
        })
        .collect();
    ContractReport {
        storage: storage.to_string(),
        cases,
    }
}

// ---- helpers shared by the cases ----

/// The membership every case creates its log with: joint, with learners
/// and a learner to be, so that a storage that keeps only the voters fails.
fn voters() -> ConfState {
    let mut cs = ConfState::with_voters_and_learners([1, 2, 3], [5]);
    cs.voters_outgoing = vec![1, 2, 4];
    cs.learners_next = vec![4];
    cs.auto_leave = true;
    cs
}

fn base(term: u64, index: u64) -> EntryId {
    let mut id = EntryId::default();
    (id.term, id.index) = (term, index);
    id
}

/// An entry whose payload (`size` bytes) is derived from its position, so
/// that a misplaced entry is noticed.
fn ent(term: u64, index: u64, size: usize) -> Entry {
    let data: Vec<u8> = (0..size).map(|i| (index as usize + i) as u8).collect();
    let mut e = Entry::new(data);
    (e.term, e.index) = (term, index);
    e
}

/// Entries `lo..=hi` of `term` with payload sizes that vary by index.
fn run_of(term: u64, lo: u64, hi: u64) -> Vec<Entry> {
    (lo..=hi)
        .map(|i| ent(term, i, (i % 7) as usize * 5))
        .collect()
}

fn hard_state(term: u64, vote: u64, commit: u64) -> HardState {
    let mut hs = HardState::default();
    (hs.term, hs.vote, hs.commit) = (term, vote, commit);
    hs
}

// raft-core's structs are built by field assignment outside raft-core, so
// that they can become non-exhaustive.
#[allow(clippy::field_reassign_with_default)]
fn log_write(entries: Vec<Entry>, hs: Option<HardState>) -> LogWrite {
    let mut w = LogWrite::default();
    w.entries = entries;
    w.hard_state = hs;
    w.sync = true;
    w
}

fn write(log: &mut impl LogStorage, entries: Vec<Entry>, hs: Option<HardState>) -> CaseResult {
    let what = describe_write(&entries, hs.is_some());
    log.write(log_write(entries, hs))
        .map_err(|e| format!("write of {what} failed: {e}"))
}

fn describe_write(entries: &[Entry], with_hs: bool) -> String {
    let mut what = match (entries.first(), entries.last()) {
        (Some(a), Some(b)) => format!("entries {}..={} (term {})", a.index, b.index, a.term),
        _ => "no entries".to_string(),
    };
    if with_hs {
        what.push_str(" with a hard state");
    }
    what
}

fn call<T>(what: &str, r: Result<T, StorageError>) -> Result<T, String> {
    r.map_err(|e| format!("{what} failed: {e}"))
}

fn expect_eq<T: PartialEq + fmt::Debug>(what: &str, actual: T, expected: T) -> CaseResult {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

/// The typed errors the contract names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Compacted,
    Unavailable,
    InvalidWrite,
}

fn expect_error<T: fmt::Debug>(what: &str, r: Result<T, StorageError>, kind: Kind) -> CaseResult {
    let matches = |e: &StorageError| match kind {
        Kind::Compacted => matches!(e, StorageError::Compacted),
        Kind::Unavailable => matches!(e, StorageError::Unavailable),
        Kind::InvalidWrite => matches!(e, StorageError::InvalidWrite(_)),
    };
    match r {
        Err(e) if matches(&e) => Ok(()),
        Err(e) => Err(format!(
            "{what}: expected StorageError::{kind:?}, got the error {e:?}"
        )),
        Ok(v) => Err(format!(
            "{what}: expected StorageError::{kind:?}, got Ok({v:?})"
        )),
    }
}

/// Checks `log` holds exactly `entries` after `base`, and `hs`.
fn expect_log(
    log: &impl LogStorage,
    base: EntryId,
    entries: &[Entry],
    hs: HardState,
) -> CaseResult {
    let first = base.index + 1;
    let last = base.index + entries.len() as u64;
    expect_eq(
        "first_index()",
        call("first_index()", log.first_index())?,
        first,
    )?;
    expect_eq(
        "last_index()",
        call("last_index()", log.last_index())?,
        last,
    )?;
    expect_eq(
        &format!("term({}) (the base)", base.index),
        call("term(first_index - 1)", log.term(base.index))?,
        base.term,
    )?;
    for e in entries {
        let what = format!("term({})", e.index);
        expect_eq(&what, call(&what, log.term(e.index))?, e.term)?;
    }
    let read = call(
        &format!("entries({first}, {}, u64::MAX)", last + 1),
        log.entries(first, last + 1, u64::MAX),
    )?;
    if read != entries {
        return Err(format!(
            "entries({first}, {}, u64::MAX) returned {} entries that differ from the {} written{}",
            last + 1,
            read.len(),
            entries.len(),
            first_difference(&read, entries)
        ));
    }
    let state = call("initial_state()", log.initial_state())?;
    expect_eq("initial_state().hard_state", state.hard_state, hs)?;
    expect_eq("initial_state().conf_state", state.conf_state, voters())
}

fn first_difference(read: &[Entry], expected: &[Entry]) -> String {
    read.iter()
        .zip(expected)
        .find(|(a, b)| a != b)
        .map(|(a, b)| {
            format!(
                " (first difference: got term {} index {} with {} bytes, expected term {} index {} with {} bytes)",
                a.term,
                a.index,
                a.data.len(),
                b.term,
                b.index,
                b.data.len()
            )
        })
        .unwrap_or_default()
}
