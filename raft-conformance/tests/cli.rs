//! The `raft-script` binary as a user runs it: exit codes, what goes to
//! stdout and stderr, and how errors point at the offending file and line.

use raft_conformance::{run_text, EnvOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A two-node election, small enough to reason about in assertions.
const SCRIPT: &str = "\
# Two voters elect node 1.
add-nodes 2 voters=(1,2) index=2
----

campaign 1
----

stabilize
----

raft-state
----
";

const RAFT_STATE: &str =
    "1: StateLeader (Voter) Term:1 Lead:1\n2: StateFollower (Voter) Term:1 Lead:1\n";

/// A script file under the system temp directory, removed when dropped so
/// that failing tests do not leave files behind either.
struct TempScript {
    path: PathBuf,
}

impl TempScript {
    fn new(tag: &str, text: &str) -> TempScript {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("raft-script-cli-{}-{n}-{tag}.txt", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, text).expect("write temp script");
        TempScript { path }
    }

    fn file_name(&self) -> String {
        self.path
            .file_name()
            .expect("temp script has a name")
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for TempScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn raft_script(args: &[&str], scripts: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raft-script"))
        .args(args)
        .args(scripts)
        .output()
        .expect("run raft-script")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}

/// SCRIPT with every output filled in, as the library computes it.
fn rewritten() -> String {
    run_text("cli.txt", SCRIPT, EnvOptions::default())
        .expect("SCRIPT runs")
        .rewritten()
}

#[test]
fn run_prints_the_rewritten_script() {
    let script = TempScript::new("run", SCRIPT);
    let out = raft_script(&["run"], &[&script.path]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let printed = stdout(&out);
    assert_eq!(printed, rewritten());
    assert!(printed.starts_with("# Two voters elect node 1.\n"));
    assert!(printed.ends_with(&format!("raft-state\n----\n{RAFT_STATE}")));
    assert!(printed.contains("> 1 handling Ready\n"));
    assert_eq!(stderr(&out), "");
}

#[test]
fn check_accepts_a_script_whose_outputs_match() {
    let script = TempScript::new("match", &rewritten());
    let out = raft_script(&["check"], &[&script.path]);
    assert_eq!(out.status.code(), Some(0), "stdout: {}", stdout(&out));
    let report = stdout(&out);
    assert!(report.contains(&format!("ok   {}", script.path.display())));
    assert!(report.contains("1 passed, 0 failed"));
}

#[test]
fn check_reports_an_altered_output_with_a_diff() {
    let good = rewritten();
    let wrong = "2: StateFollower (Voter) Term:1 Lead:2";
    let bad_text = good.replacen("2: StateFollower (Voter) Term:1 Lead:1", wrong, 1);
    assert_ne!(bad_text, good, "the replaced line is in the output");
    let bad = TempScript::new("altered", &bad_text);
    let fine = TempScript::new("fine", &good);

    let out = raft_script(&["check"], &[&fine.path, &bad.path]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(report.contains(&format!("ok   {}", fine.path.display())));
    assert!(report.contains(&format!("FAIL {}", bad.path.display())));
    // The mismatch names the directive by file, line and command, then
    // shows the expected line removed and the actual one added.
    let line = bad_text
        .lines()
        .position(|l| l == "raft-state")
        .expect("raft-state directive")
        + 1;
    assert!(
        report.contains(&format!("{}:{line}: raft-state\n", bad.file_name())),
        "report: {report}"
    );
    assert!(report.contains("--- expected\n+++ actual\n"));
    assert!(report.contains(&format!("-{wrong}\n")));
    assert!(report.contains("+2: StateFollower (Voter) Term:1 Lead:1\n"));
    assert!(report.contains(" 1: StateLeader (Voter) Term:1 Lead:1\n"));
    assert!(report.contains("1 passed, 1 failed"));
}

#[test]
fn run_refuses_an_unparsable_directive_naming_file_and_line() {
    let script = TempScript::new(
        "unclosed-list",
        "# The voter list is never closed.\n\nadd-nodes 3 voters=(1,2\n----\n\n",
    );
    let out = raft_script(&["run"], &[&script.path]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:3: cannot parse directive", script.file_name())),
        "stderr: {err}"
    );
}

#[test]
fn run_refuses_an_unterminated_output_block_naming_file_and_line() {
    let script = TempScript::new(
        "unterminated",
        "add-nodes 1 voters=(1) index=2\n----\n----\nINFO an output that never ends\n",
    );
    let out = raft_script(&["run"], &[&script.path]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    // The block is opened by the second `----`, on line 3.
    assert!(
        err.contains(&format!("{}:3: unterminated", script.file_name())),
        "stderr: {err}"
    );
}

/// `check` treats a script it cannot read as a failed script in its report,
/// alongside the others, rather than stopping.
#[test]
fn check_fails_on_an_unparsable_script_naming_file_and_line() {
    let script = TempScript::new("unclosed-check", "add-nodes 3 voters=(1,2\n----\n\n");
    let out = raft_script(&["check"], &[&script.path]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(
        report.contains(&format!("{}:1: cannot parse directive", script.file_name())),
        "report: {report}"
    );
    assert!(report.contains("0 passed, 1 failed"));
}

#[test]
fn unknown_storage_and_transport_are_refused() {
    let script = TempScript::new("options", SCRIPT);
    for (option, kind) in [("--storage", "storage"), ("--transport", "transport")] {
        for command in ["run", "check"] {
            let out = raft_script(&[command, option, "floppy"], &[&script.path]);
            assert_eq!(out.status.code(), Some(2), "{command} {option} floppy");
            assert_eq!(stdout(&out), "", "nothing runs");
            let err = stderr(&out);
            assert!(
                err.contains(&format!("unknown {kind} \"floppy\"")),
                "stderr: {err}"
            );
            assert!(err.contains("usage:"), "stderr: {err}");
        }
    }
}

#[test]
fn the_memory_storage_and_transport_are_accepted_by_name() {
    let script = TempScript::new("mem", SCRIPT);
    let out = raft_script(
        &["run", "--storage", "mem", "--transport", "memory"],
        &[&script.path],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), rewritten());
}

#[test]
fn a_missing_script_is_reported_with_its_path() {
    let missing = std::env::temp_dir().join(format!(
        "raft-script-cli-{}-does-not-exist.txt",
        std::process::id()
    ));
    let out = raft_script(&["run"], &[&missing]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains(&missing.display().to_string()),
        "stderr: {err}"
    );
}

/// Backends left out of the build are named with the feature that adds
/// them, not reported as unknown.
#[test]
fn a_backend_this_build_left_out_names_its_feature() {
    let script = TempScript::new("not-built", SCRIPT);
    let missing: Vec<(&str, &str, &str)> = [
        (!cfg!(feature = "rocks")).then_some(("--storage", "rocks", "--features rocks")),
        (!cfg!(feature = "quic")).then_some(("--transport", "quic", "--features quic")),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (option, name, feature) in missing {
        let out = raft_script(&["run", option, name], &[&script.path]);
        assert_eq!(out.status.code(), Some(2), "{option} {name}");
        let err = stderr(&out);
        assert!(err.contains(feature), "stderr: {err}");
        assert!(err.contains("not built in"), "stderr: {err}");
    }
}
