//! The simulation on RocksDB disks (`--features rocks`, release builds only:
//! ci/sim.sh runs it). A crash closes and reopens the database.

#![cfg(feature = "rocks")]

use raft_sim::{run, SimOptions, SimStorage};

fn opts(storage: SimStorage) -> SimOptions {
    SimOptions {
        storage,
        fault_ticks: 300,
        trace: true,
        ..SimOptions::default()
    }
}

#[test]
fn rocksdb_disks_pass_and_behave_exactly_like_memory() {
    let mut crashes = 0;
    for seed in 0..4 {
        let mem = run(seed, &opts(SimStorage::memory())).expect("runs");
        let rocks = run(seed, &opts(SimStorage::rocks())).expect("runs");
        assert!(
            rocks.violation.is_none(),
            "seed {seed}: {:?}",
            rocks.violation
        );
        // The backend is below the loss model, so the run must not depend
        // on it: the same events, step for step (the first line names the
        // storage).
        assert_eq!(mem.trace[1..], rocks.trace[1..], "seed {seed} diverged");
        crashes += rocks.stats.crashes;
    }
    assert!(crashes > 0, "no seed reopened a database");
}
