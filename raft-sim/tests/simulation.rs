//! The simulator on correct raft-core: seeds pass every check, exercise the
//! whole fault model, and replay exactly.

use raft_sim::{run, run_subset, Schedule, SimOptions};

fn opts(nodes: usize) -> SimOptions {
    SimOptions {
        nodes: Some(nodes),
        fault_ticks: 400,
        ..SimOptions::default()
    }
}

#[test]
fn seeds_pass_every_check_and_exercise_every_fault() {
    let (mut crashes, mut lost, mut dropped, mut duplicated, mut cut, mut leaders) =
        (0, 0, 0, 0, 0, 0);
    let mut after_sends = 0;
    // Async-mode nodes, syncs, writes they made durable, queued writes lost.
    let mut appends = [0; 4];
    let (mut taken, mut sent, mut installed, mut failed, mut booted) = (0, 0, 0, 0, 0);
    let (mut seeds_with_installs, mut seeds_compacting, mut crashed_installing) = (0, 0, 0);
    for nodes in [3, 5] {
        for seed in 0..40 {
            let out = run(seed, &opts(nodes)).expect("simulation runs");
            assert!(
                out.violation.is_none(),
                "seed {seed}, {nodes} nodes: {:?}",
                out.violation
            );
            assert!(out.stats.acked > 0, "seed {seed} committed nothing");
            crashes += out.stats.crashes;
            after_sends += out.stats.crashes_after_sends;
            lost += out.stats.unsynced_writes_lost;
            dropped += out.stats.net.dropped;
            duplicated += out.stats.net.duplicated;
            cut += out.stats.net.cut;
            leaders += out.stats.leaders_elected;
            taken += out.stats.snapshots_created;
            sent += out.stats.snapshots_sent;
            installed += out.stats.snapshots_installed;
            failed += out.stats.snapshot_failures;
            booted += out.stats.restored_at_boot;
            seeds_with_installs += u64::from(out.stats.snapshots_installed > 0);
            seeds_compacting += u64::from(out.stats.snapshots_created > 0);
            crashed_installing += out.stats.crashes_installing;
            let s = &out.stats;
            let counts = [s.async_nodes, s.syncs, s.writes_synced, s.async_writes_lost];
            for (total, n) in appends.iter_mut().zip(counts) {
                *total += n;
            }
        }
    }
    let [async_nodes, syncs, synced, async_lost] = appends;
    assert!(
        async_nodes > 0 && syncs > 0 && async_lost > 0,
        "{async_nodes} async nodes, {syncs} syncs, {async_lost} queued writes lost"
    );
    assert!(
        synced > syncs,
        "no sync made more than one write durable ({synced} writes in {syncs} syncs)"
    );
    assert!(
        crashes > 0 && lost > 0,
        "crashes {crashes}, unsynced writes lost {lost}"
    );
    assert!(
        after_sends > 0,
        "no crash landed between a Ready's early sends and its write"
    );
    assert!(
        dropped > 0 && duplicated > 0 && cut > 0,
        "dropped {dropped} duplicated {duplicated} cut {cut}"
    );
    // Compaction is in every seed's schedule; only the quietest of these
    // short runs commit too little to reach their first snapshot.
    assert!(
        seeds_compacting >= 70,
        "{seeds_compacting} of 80 seeds compacted"
    );
    // Followers behind a compaction caught up by snapshot, some sends were
    // lost to the faults (and reported), and restarts restored snapshots.
    assert!(
        installed > 20 && seeds_with_installs > 10 && sent >= installed,
        "{taken} snapshots taken, {sent} sent, {installed} installed in {seeds_with_installs} seeds"
    );
    assert!(failed > 0, "no snapshot send failed ({sent} sent)");
    assert!(booted > 20, "only {booted} restarts restored a snapshot");
    assert!(
        crashed_installing > 0,
        "no crash landed inside a snapshot install"
    );
    eprintln!(
        "{taken} snapshots taken, {sent} sent, {installed} installed, {failed} failed sends, {booted} restored at restarts, {crashed_installing} crashes inside an install"
    );
    assert!(
        leaders > 80 * 2,
        "only {leaders} leaders in 80 runs: faults should force re-elections"
    );
}

#[test]
fn a_seed_replays_exactly_and_seeds_differ() {
    let traced = SimOptions {
        trace: true,
        ..opts(5)
    };
    let a = run(11, &traced).expect("runs");
    let b = run(11, &traced).expect("runs");
    assert!(a.trace.len() > 50);
    assert_eq!(a.trace, b.trace);
    assert_ne!(a.trace, run(12, &traced).expect("runs").trace);
}

#[test]
fn keeping_every_event_is_the_full_run_and_dropping_all_still_converges() {
    let traced = SimOptions {
        trace: true,
        ..opts(3)
    };
    let events = Schedule::generate(5, Some(3), traced.fault_ticks, traced.client_ops)
        .events
        .len();
    let all: Vec<usize> = (0..events).collect();
    let full = run(5, &traced).expect("runs");
    assert_eq!(
        run_subset(5, &traced, Some(&all)).expect("runs").trace,
        full.trace
    );
    let calm = run_subset(5, &traced, Some(&[])).expect("runs");
    assert!(calm.violation.is_none(), "{:?}", calm.violation);
    assert_eq!(calm.stats.crashes, 0);
    assert_eq!(calm.stats.net.dropped, 0);
    // With no client proposals only the live ones (and leaders' empty
    // entries) commit.
    assert_eq!(calm.stats.acked, traced.live_proposals);
}

#[test]
fn reads_transfers_and_membership_changes_happen_under_faults() {
    let (mut reads, mut transfers, mut changes, mut joint, mut proposed) = (0, 0, 0, 0, 0);
    for nodes in [3, 5] {
        for seed in 0..20 {
            let out = run(seed, &opts(nodes)).expect("simulation runs");
            assert!(
                out.violation.is_none(),
                "seed {seed}, {nodes} nodes: {:?}",
                out.violation
            );
            let s = out.stats;
            assert!(s.reads_served <= s.reads_asked, "seed {seed}: {s:?}");
            assert!(s.transfers_done <= s.transfers_asked, "seed {seed}: {s:?}");
            reads += s.reads_served;
            transfers += s.transfers_done;
            changes += s.conf_changes_applied;
            joint += s.joint_entered;
            proposed += s.conf_changes_proposed;
        }
    }
    assert!(reads > 100, "reads served {reads}");
    assert!(transfers > 5, "transfers done {transfers}");
    // Changes applied include the auto-leaves raft-core proposes itself.
    assert!(
        changes > 20 && proposed > 10,
        "changes {changes}, proposed {proposed}"
    );
    assert!(joint > 5, "joint configurations entered {joint}");
}

#[test]
fn without_client_ops_no_read_transfer_or_change_happens() {
    let quiet = SimOptions {
        client_ops: false,
        ..opts(5)
    };
    let out = run(3, &quiet).expect("simulation runs");
    assert!(out.violation.is_none(), "{:?}", out.violation);
    let s = out.stats;
    assert_eq!(
        (s.reads_asked, s.transfers_asked, s.conf_changes_applied),
        (0, 0, 0)
    );
}

#[test]
fn key_value_histories_are_checked_under_faults() {
    let (mut ops, mut checked, mut unknown, mut inconclusive) = (0, 0, 0, 0);
    for nodes in [3, 5] {
        for seed in 0..20 {
            let out = run(seed, &opts(nodes)).expect("simulation runs");
            assert!(
                out.violation.is_none(),
                "seed {seed}, {nodes} nodes: {:?}",
                out.violation
            );
            let kv = out.stats.kv;
            assert!(kv.checked, "seed {seed}, {nodes} nodes: no history: {kv:?}");
            ops += kv.ops;
            checked += u64::from(kv.checked);
            unknown += kv.unknown;
            inconclusive += u64::from(kv.inconclusive);
        }
    }
    assert_eq!(checked, 40);
    assert_eq!(inconclusive, 0, "histories beyond the search budget");
    // Faults leave some clients without an answer.
    assert!(ops > 40 * 10, "{ops} operations checked");
    assert!(unknown > 0, "{unknown} unknown outcomes");
    eprintln!("{ops} key-value operations checked, {unknown} unknown outcomes");
}

#[test]
fn without_client_ops_there_is_no_key_value_history() {
    let quiet = SimOptions {
        client_ops: false,
        ..opts(3)
    };
    let out = run(4, &quiet).expect("simulation runs");
    assert!(out.violation.is_none(), "{:?}", out.violation);
    assert_eq!((out.stats.kv.ops, out.stats.kv.checked), (0, false));
}
