//! Members that join empty and members removed for good, on correct
//! raft-core: the seeds pass every check, spares catch up (by snapshot,
//! since every node compacts), and a removed node never runs again.

use raft_sim::{run, SimOptions};

fn opts(nodes: usize) -> SimOptions {
    SimOptions {
        nodes: Some(nodes),
        fault_ticks: 400,
        trace: true,
        ..SimOptions::default()
    }
}

#[test]
fn spares_join_and_removed_members_stay_gone() {
    let (mut started, mut joins, mut by_snapshot, mut removals) = (0, 0, 0, 0);
    for nodes in [3, 5] {
        for seed in 300..340 {
            let out = run(seed, &opts(nodes)).expect("simulation runs");
            assert!(
                out.violation.is_none(),
                "seed {seed}, {nodes} nodes: {:?}",
                out.violation
            );
            let s = out.stats;
            assert!(s.spares_started <= out.profile.spares as u64, "{s:?}");
            assert!(s.joins <= s.spares_started, "{s:?}");
            assert!(s.joins_by_snapshot <= s.joins, "{s:?}");
            started += s.spares_started;
            joins += s.joins;
            by_snapshot += s.joins_by_snapshot;
            removals += s.removals;
            // After "nN removed ... stopped for good" nothing of nN runs:
            // it neither restarts nor leads nor changes term.
            for (at, line) in out.trace.iter().enumerate() {
                let Some(rest) = line.split("   n").nth(1) else {
                    continue;
                };
                if !rest.contains("stopped for good") {
                    continue;
                }
                let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let me = format!("n{id} ");
                let alive = out.trace[at + 1..].iter().find(|l| {
                    l.contains(&format!("{me}up at term"))
                        || l.contains(&format!("{me}became leader"))
                        || l.contains(&format!("{me}now in term"))
                });
                assert!(alive.is_none(), "seed {seed}: {line} / {alive:?}");
            }
        }
    }
    assert!(started >= 10, "spares started {started}");
    assert!(joins >= 5, "joins {joins}");
    assert!(
        by_snapshot >= 5,
        "joins caught up by snapshot {by_snapshot}"
    );
    assert!(removals >= 5, "removals {removals}");
}

#[test]
fn without_compaction_nobody_joins_but_removals_still_happen() {
    // A node joining empty learns the membership only from a snapshot.
    let (mut joins, mut removals) = (0, 0);
    for seed in 300..320 {
        let o = SimOptions {
            snapshot_every: Some(0),
            trace: false,
            ..opts(5)
        };
        let out = run(seed, &o).expect("simulation runs");
        assert!(out.violation.is_none(), "seed {seed}: {:?}", out.violation);
        joins += out.stats.joins;
        removals += out.stats.removals;
    }
    assert_eq!(joins, 0);
    assert!(removals > 0, "removals {removals}");
}
