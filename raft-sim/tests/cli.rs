//! The `raft-sim` binary: summary line, exit codes, replay output.

use std::process::Command;

fn raft_sim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_raft-sim"))
        .args(args)
        .output()
        .expect("raft-sim starts");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_clean_range_prints_the_summary_and_exits_zero() {
    let (code, stdout, _) = raft_sim(&[
        "--seeds", "6", "--start", "40", "--ticks", "200", "--jobs", "2",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("6 seeds, 0 violations"), "{stdout}");
}

#[test]
fn replaying_a_seed_prints_its_events_and_is_repeatable() {
    let args = ["--seed", "3", "--nodes", "5", "--ticks", "200"];
    let (code, stdout, _) = raft_sim(&args);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("cluster of 5"), "{stdout}");
    assert!(stdout.contains("became leader of term"), "{stdout}");
    assert!(stdout.contains("converged:"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("1 seeds, 0 violations"),
        "{stdout}"
    );
    assert_eq!(raft_sim(&args).1, stdout);
}

#[test]
fn bad_arguments_exit_two_with_a_reason() {
    for (args, reason) in [
        (&["--seeds", "x"][..], "--seeds x"),
        (
            &["--seeds", "1", "--nodes", "4"][..],
            "--nodes must be 3 or 5",
        ),
        (
            &["--seeds", "1", "--storage", "disk"][..],
            "--storage must be mem or rocks",
        ),
        (&["--seeds", "2", "--keep", "1"][..], "--keep needs --seed"),
        (&[][..], "usage"),
    ] {
        let (code, _, stderr) = raft_sim(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
