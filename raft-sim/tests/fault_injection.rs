//! The simulator finds real protocol bugs: with one of raft-core's safety
//! rules switched off (its `fault-injection` feature, which this test
//! requires: `cargo test --release -p raft-sim --features fault-injection
//! --test fault_injection`), a violation turns up within the seed budget CI
//! runs, and shrinks to a short schedule that still fails.

use raft_core::{Config, Fault};
use raft_sim::shrink::shrink;
use raft_sim::{run, run_subset, Property, SimFault, SimOptions};

/// The number of seeds CI runs.
const CI_SEEDS: u64 = 2000;

fn hunt(hook: fn(&mut Config), expected: &[Property]) {
    hunt_with(
        SimOptions {
            config_hook: Some(hook),
            ..SimOptions::default()
        },
        expected,
    );
}

fn hunt_with(opts: SimOptions, expected: &[Property]) {
    let found = (0..CI_SEEDS).find_map(|seed| {
        let out = run(seed, &opts).expect("simulation runs");
        out.violation
            .filter(|v| expected.contains(&v.property))
            .map(|v| (seed, v))
    });
    let Some((seed, violation)) = found else {
        panic!("no {expected:?} violation in {CI_SEEDS} seeds");
    };
    let shrunk = shrink(seed, &opts, &violation, 200).expect("shrinking runs");
    let again = shrunk
        .outcome
        .violation
        .expect("the shrunk schedule still fails");
    assert_eq!(again.property, violation.property, "seed {seed}");
    assert!(
        shrunk.keep.len() < shrunk.original_len,
        "seed {seed}: nothing was removed"
    );
    // The printed replay command reproduces it exactly.
    let replay = run_subset(seed, &opts, Some(&shrunk.keep)).expect("replay runs");
    assert_eq!(replay.violation, Some(again));
}

#[test]
fn granting_votes_without_the_up_to_date_check_is_caught() {
    fn fault(c: &mut Config) {
        c.fault = Some(Fault::SkipUpToDateCheck);
    }
    hunt(
        fault,
        &[
            Property::LeaderCompleteness,
            Property::CommittedDurability,
            Property::StateMachineSafety,
        ],
    );
}

#[test]
fn committing_entries_of_older_terms_by_counting_is_caught() {
    fn fault(c: &mut Config) {
        c.fault = Some(Fault::CommitOldTermEntries);
    }
    hunt(
        fault,
        &[
            Property::LeaderCompleteness,
            Property::CommittedDurability,
            Property::StateMachineSafety,
        ],
    );
}

#[test]
fn restoring_a_snapshot_with_stale_data_is_caught() {
    hunt_with(
        SimOptions {
            sim_fault: Some(SimFault::StaleSnapshotData),
            ..SimOptions::default()
        },
        &[Property::SnapshotState],
    );
}

#[test]
fn compacting_past_the_snapshot_is_caught() {
    hunt_with(
        SimOptions {
            sim_fault: Some(SimFault::CompactPastSnapshot),
            ..SimOptions::default()
        },
        &[
            Property::Storage,
            Property::SnapshotState,
            Property::RaftError,
        ],
    );
}

#[test]
fn committing_with_the_incoming_majority_alone_while_joint_is_caught() {
    fn fault(c: &mut Config) {
        c.fault = Some(Fault::JointCommitIncomingOnly);
    }
    hunt(
        fault,
        &[
            Property::CommittedDurability,
            Property::LeaderCompleteness,
            Property::StateMachineSafety,
        ],
    );
}

#[test]
fn followers_answering_gets_from_their_own_state_is_caught() {
    hunt_with(
        SimOptions {
            sim_fault: Some(SimFault::StaleLocalReads),
            ..SimOptions::default()
        },
        &[Property::Linearizability],
    );
}

#[test]
fn answering_a_read_without_confirming_leadership_is_caught() {
    fn fault(c: &mut Config) {
        c.fault = Some(Fault::ReadWithoutHeartbeat);
    }
    hunt(fault, &[Property::LinearizableRead]);
}

#[test]
fn acknowledging_writes_before_the_append_thread_syncs_them_is_caught() {
    fn all_async(c: &mut Config) {
        c.async_storage_writes = true;
    }
    hunt_with(
        SimOptions {
            sim_fault: Some(SimFault::AckBeforeSync),
            config_hook: Some(all_async),
            ..SimOptions::default()
        },
        &[
            Property::CommittedDurability,
            Property::LeaderCompleteness,
            Property::StateMachineSafety,
            Property::ElectionSafety,
        ],
    );
}
