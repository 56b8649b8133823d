//! The kit, run from outside raft-conformance against a storage it does
//! not know: everything a user would run in their own CI.

use raft_conformance::env::{TransportWire, WireSource};
use raft_conformance::kit::{Kit, KitError};
use raft_core::{ConfState, EntryId, LogStorage, LogWrite, MemNetwork};
use raft_kit_filelog::{FileLog, FileLogFactory};
use std::path::Path;
use std::time::Duration;

fn kit() -> Kit<FileLogFactory> {
    Kit::new("filelog", FileLogFactory::new().unwrap())
}

#[test]
fn passes_the_contract_including_reopening_and_skips_snapshots() -> Result<(), KitError> {
    let report = kit().check_contract()?;
    assert!(report.passed() >= 19, "{report}");
    // An append-only file keeps no snapshots: those cases, and only those,
    // are skipped, and say why.
    assert_eq!(report.skipped(), 4, "{report}");
    for case in &report.cases {
        if let raft_conformance::kit::Verdict::Skipped(why) = &case.verdict {
            assert!(why.contains("no snapshots"), "{}: {why}", case.name);
        }
    }
    Ok(())
}

#[test]
fn passes_the_project_scripts() -> Result<(), KitError> {
    let report = kit().check_project_scripts()?;
    assert!(report.passed() >= 18, "{report}");
    Ok(())
}

/// etcd's scripts, found beside the workspace (or above it); required
/// where `REQUIRE_ETCD=1`.
#[test]
fn passes_etcds_scripts_when_present() -> Result<(), KitError> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace");
    match kit().etcd_scripts(workspace)? {
        Some(report) => assert!(report.passed() >= 10, "{report}"),
        None => eprintln!(
            "etcd's scripts not found above {}: not run",
            workspace.display()
        ),
    }
    Ok(())
}

#[test]
fn survives_the_simulation_with_crashes_reopening_the_file() -> Result<(), KitError> {
    let report = kit().simulate(0..12)?;
    assert!(report.crashes > 0, "{report}");
    assert!(report.acknowledged > 0, "{report}");
    // The file keeps no snapshots: the simulated nodes run without
    // compaction instead of failing.
    assert_eq!(report.snapshots_taken, 0, "{report}");
    Ok(())
}

/// A user's transport too: the project's scripts over raft-core's
/// in-memory `Transport`, through the `TransportWire` adapter.
#[test]
fn passes_the_project_scripts_over_a_transport() -> Result<(), KitError> {
    let wire = WireSource::new("mem-network", || {
        let net = MemNetwork::new(64);
        Ok(TransportWire::new(
            move |id| Ok(net.join(id)),
            Duration::from_secs(5),
        ))
    });
    let report = kit().with_wire(wire).check_project_scripts()?;
    assert!(
        report.combination.contains("transport=mem-network"),
        "{report}"
    );
    Ok(())
}

#[test]
fn a_torn_last_record_is_cut_off_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut log = FileLog::create(&path, ConfState::with_voters([1]), EntryId::default()).unwrap();
    let mut w = LogWrite::default();
    let mut e = raft_core::Entry::new(&b"kept"[..]);
    (e.term, e.index) = (1, 1);
    w.entries = vec![e];
    w.sync = true;
    log.write(w).unwrap();
    drop(log);
    // Half a record, as a crash in the middle of a write leaves it.
    let file = path.join("raft.log");
    let mut bytes = std::fs::read(&file).unwrap();
    let whole = bytes.len();
    bytes.extend([40, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&file, &bytes).unwrap();
    let log = FileLog::open(&path).unwrap();
    assert_eq!(log.last_index().unwrap(), 1);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), whole as u64);
}
