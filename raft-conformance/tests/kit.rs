//! The kit run against the storages this workspace ships (MemStorage, and
//! RocksStorage with the `rocks` feature), and against storages broken on
//! purpose, which the contract suite must catch by name.

// raft-core's structs are built by field assignment outside raft-core.
#![allow(clippy::field_reassign_with_default)]

use raft_conformance::env::MemoryFactory;
use raft_conformance::kit::{Kit, Verdict};
use raft_core::{Entry, InitialState, LogStorage, LogWrite, MemStorage, StorageError};

#[test]
fn mem_storage_passes_the_contract_and_the_project_scripts() {
    let kit = Kit::new("memory", MemoryFactory);
    let contract = kit.check_contract().unwrap();
    assert_eq!(contract.failures().count(), 0);
    assert!(contract.passed() >= 13, "{contract}");
    // MemStorage keeps nothing across a restart: the durability cases say
    // so instead of passing.
    assert!(contract.skipped() >= 6, "{contract}");
    let scripts = kit.check_project_scripts().unwrap();
    assert_eq!(
        scripts.scripts.len(),
        raft_conformance::kit::PROJECT_SCRIPTS.len()
    );
    assert!(scripts.passed() >= 22, "{scripts}");
}

#[test]
fn mem_storage_runs_etcd_scripts_when_present() {
    let kit = Kit::new("memory", MemoryFactory);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(report) = kit.etcd_scripts(root).unwrap() {
        assert!(report.passed() >= 10, "{report}");
    }
}

#[cfg(feature = "rocks")]
#[test]
fn rocks_storage_passes_the_whole_contract_and_the_scripts() {
    let kit = Kit::new("rocks", raft_conformance::kit::rocks::RocksFactory);
    let contract = kit.check_contract().unwrap();
    assert_eq!(contract.skipped(), 0, "RocksStorage reopens: {contract}");
    kit.check_project_scripts().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(report) = kit.etcd_scripts(root).unwrap() {
        assert!(report.passed() >= 10, "{report}");
    }
    let sim = kit.simulate(0..4).unwrap();
    assert!(sim.crashes > 0, "{sim}");
    assert!(sim.snapshots_taken > 0, "{sim}");
}

/// MemStorage with one rule of the contract broken.
struct Broken {
    log: MemStorage,
    flaw: Flaw,
}

#[derive(Clone, Copy)]
enum Flaw {
    /// Returns the whole range whatever the size limit.
    IgnoresMaxSize,
    /// Returns nothing when the first entry alone is over the limit.
    NothingWhenOverLimit,
    /// Reports every term below the first index as 0 instead of Compacted.
    NoCompactedError,
    /// Keeps the old suffix beyond a shorter conflicting write.
    KeepsStaleSuffix,
    /// Forgets the hard state.
    DropsHardState,
    /// Keeps snapshots, but a write carrying one appends its entries to the
    /// old log instead of replacing the log with the snapshot.
    InstallIgnoresSnapshot,
}

impl LogStorage for Broken {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        let mut s = self.log.initial_state()?;
        if matches!(self.flaw, Flaw::DropsHardState) {
            s.hard_state = Default::default();
        }
        Ok(s)
    }
    fn entries(&self, lo: u64, hi: u64, max_size: u64) -> Result<Vec<Entry>, StorageError> {
        match self.flaw {
            Flaw::IgnoresMaxSize => self.log.entries(lo, hi, u64::MAX),
            Flaw::NothingWhenOverLimit => {
                let e = self.log.entries(lo, hi, max_size)?;
                let over = e.first().is_some_and(|f| f.encoded_size() > max_size);
                Ok(if over { Vec::new() } else { e })
            }
            _ => self.log.entries(lo, hi, max_size),
        }
    }
    fn term(&self, index: u64) -> Result<u64, StorageError> {
        match self.log.term(index) {
            Err(StorageError::Compacted) if matches!(self.flaw, Flaw::NoCompactedError) => Ok(0),
            r => r,
        }
    }
    fn first_index(&self) -> Result<u64, StorageError> {
        self.log.first_index()
    }
    fn last_index(&self) -> Result<u64, StorageError> {
        self.log.last_index()
    }
    fn write(&mut self, mut write: LogWrite) -> Result<(), StorageError> {
        if matches!(self.flaw, Flaw::InstallIgnoresSnapshot) {
            write.snapshot = None;
        }
        if matches!(self.flaw, Flaw::KeepsStaleSuffix) {
            let last = self.log.last_index()?;
            let tail_end = write.entries.last().map(|e| e.index);
            if let Some(end) = tail_end.filter(|&end| end < last) {
                let kept = self.log.entries(end + 1, last + 1, u64::MAX)?;
                self.log.write(write)?;
                let mut again = LogWrite::default();
                again.entries = kept;
                return self.log.write(again);
            }
        }
        self.log.write(write)
    }
    // The broken storages keep no snapshots, except the one whose flaw is
    // in installing them.
    fn snapshot(&self) -> Result<raft_core::Snapshot, StorageError> {
        match self.flaw {
            Flaw::InstallIgnoresSnapshot => self.log.snapshot(),
            _ => Err(StorageError::SnapshotTemporarilyUnavailable),
        }
    }
    fn compact(&mut self, compact_index: u64) -> Result<(), StorageError> {
        match self.flaw {
            Flaw::InstallIgnoresSnapshot => self.log.compact(compact_index),
            _ => Err(StorageError::Unsupported("log compaction")),
        }
    }
    fn create_snapshot(
        &mut self,
        index: u64,
        conf_state: Option<raft_core::ConfState>,
        data: bytes::Bytes,
    ) -> Result<raft_core::Snapshot, StorageError> {
        match self.flaw {
            Flaw::InstallIgnoresSnapshot => {
                LogStorage::create_snapshot(&mut self.log, index, conf_state, data)
            }
            _ => Err(StorageError::Unsupported("snapshots")),
        }
    }
}

fn failed_cases(flaw: Flaw) -> Vec<&'static str> {
    let kit = Kit::new("broken", move |_node, conf_state, base| {
        Ok::<_, String>(Broken {
            log: MemStorage::with_base(conf_state, base),
            flaw,
        })
    });
    let report = kit.contract();
    assert!(kit.check_contract().is_err());
    report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Failed(_)))
        .map(|c| c.name)
        .collect()
}

#[test]
fn each_broken_rule_fails_the_case_that_names_it() {
    let cases = [
        (
            Flaw::IgnoresMaxSize,
            "entries_honour_max_size_but_return_at_least_one",
        ),
        (
            Flaw::NothingWhenOverLimit,
            "entries_honour_max_size_but_return_at_least_one",
        ),
        (Flaw::NoCompactedError, "term_lookups_at_both_ends"),
        (Flaw::KeepsStaleSuffix, "conflicting_suffix_is_truncated"),
        (Flaw::DropsHardState, "hard_state_round_trips"),
        (
            Flaw::InstallIgnoresSnapshot,
            "an_installed_snapshot_replaces_the_log_atomically",
        ),
    ];
    for (flaw, case) in cases {
        let failed = failed_cases(flaw);
        assert!(
            failed.contains(&case),
            "{case} not among the failures {failed:?}"
        );
    }
}

#[test]
fn a_storage_without_snapshots_skips_the_snapshot_cases_instead_of_failing() {
    let kit = Kit::new("no snapshots", |_node, conf_state, base| {
        Ok::<_, String>(Broken {
            log: MemStorage::with_base(conf_state, base),
            flaw: Flaw::DropsHardState,
        })
    });
    let report = kit.contract();
    let snapshot_cases: Vec<_> = report
        .cases
        .iter()
        .filter(|c| c.name.contains("snapshot") || c.name.contains("compact"))
        .collect();
    assert_eq!(snapshot_cases.len(), 4, "{report}");
    for case in snapshot_cases {
        match &case.verdict {
            Verdict::Skipped(why) => assert!(why.contains("no snapshots"), "{why}"),
            other => panic!("{}: {other:?}", case.name),
        }
    }
    // With snapshots, the same cases run (and here pass).
    let kit = Kit::new("memory", MemoryFactory);
    let report = kit.contract();
    for name in [
        "create_snapshot_refuses_out_of_date_compacted_and_unavailable",
        "compact_drops_the_prefix_and_refuses_out_of_range",
        "an_installed_snapshot_replaces_the_log_atomically",
    ] {
        let case = report.cases.iter().find(|c| c.name == name).unwrap();
        assert_eq!(case.verdict, Verdict::Passed, "{name}: {report}");
    }
}

#[test]
fn a_failure_report_names_the_case_and_what_went_wrong() {
    let kit = Kit::new("broken", |_node, conf_state, base| {
        Ok::<_, String>(Broken {
            log: MemStorage::with_base(conf_state, base),
            flaw: Flaw::IgnoresMaxSize,
        })
    });
    let err = kit.check_contract().unwrap_err().to_string();
    assert!(
        err.contains("FAIL entries_honour_max_size_but_return_at_least_one: entries(1, 13, 0)"),
        "{err}"
    );
    assert!(err.contains("storage=broken"), "{err}");
}

#[test]
fn a_script_directory_reports_protocol_differences_as_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let script = "\
add-nodes 2 voters=(1,2) index=2
----
INFO a log line the comparison ignores

campaign 1
----
INFO 1 is starting a new election at term 1
INFO also ignored

stabilize
----
ok

raft-state
----
1: StateLeader (Voter) Term:1 Lead:1
2: StateFollower (Voter) Term:1 Lead:2
";
    std::fs::write(dir.path().join("altered.txt"), script).unwrap();
    let kit = Kit::new("memory", MemoryFactory);
    let report = kit.scripts_in(dir.path()).unwrap_err().to_string();
    // Only the two protocol differences: stabilize printed Readies where the
    // script says ok, and node 2 follows node 1, not itself.
    assert!(report.contains("FAIL altered.txt"), "{report}");
    assert!(
        report.contains("-ok\n") || report.contains("    -ok"),
        "{report}"
    );
    assert!(
        report.contains("-2: StateFollower (Voter) Term:1 Lead:2"),
        "{report}"
    );
    assert!(
        report.contains("+2: StateFollower (Voter) Term:1 Lead:1"),
        "{report}"
    );
    assert!(
        !report.contains("add-nodes"),
        "logs alone never differ: {report}"
    );
    assert!(!report.contains(":5: campaign"), "{report}");
    assert!(report.contains("0 passed, 1 failed"), "{report}");
}

#[test]
fn an_empty_script_directory_fails_rather_than_passing() {
    let dir = tempfile::tempdir().unwrap();
    let err = Kit::new("memory", MemoryFactory)
        .scripts_in(dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no scripts"), "{err}");
}
