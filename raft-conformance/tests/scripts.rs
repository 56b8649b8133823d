//! The crate's own interaction scripts (`scripts/*.txt`), replayed under
//! every storage × transport combination and pinned as insta snapshots.
//!
//! The scripts hold commands and comments only; their outputs live in
//! `tests/snapshots/<script>.snap`, one per script. Every combination is
//! asserted against that same snapshot, because storage and transport must
//! not change a single line of protocol output.
//!
//! Regenerate after an intended change with
//! `INSTA_UPDATE=always cargo test -p raft-conformance --test scripts`, then
//! read the diff of every `.snap` file before committing it.

use insta::internals::Content;
use raft_conformance::datadriven::{self, Item};
#[allow(unused_imports)]
use raft_conformance::{run_file, EnvOptions, StorageSource, WireSource};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// One way of storing logs and carrying messages.
struct Combination {
    /// Names the combination in snapshot metadata and failure reports.
    name: &'static str,
    options: EnvOptions,
}

/// Every combination this build can run the scripts under: memory always,
/// RocksDB with the `rocks` feature, QUIC with the `quic` feature, and
/// RocksDB over QUIC with both. Each one is checked against the same
/// snapshots.
fn combinations() -> Vec<Combination> {
    #[allow(unused_mut)]
    let mut all = vec![Combination {
        name: "storage=memory transport=memory",
        options: EnvOptions::default(),
    }];
    #[cfg(feature = "quic")]
    all.push(Combination {
        name: "storage=memory transport=quic",
        options: EnvOptions {
            transport: WireSource::quic(),
            ..EnvOptions::default()
        },
    });
    #[cfg(feature = "rocks")]
    all.push(Combination {
        name: "storage=rocks transport=memory",
        options: EnvOptions {
            storage: StorageSource::rocks(),
            ..EnvOptions::default()
        },
    });
    #[cfg(all(feature = "rocks", feature = "quic"))]
    all.push(Combination {
        name: "storage=rocks transport=quic",
        options: EnvOptions {
            storage: StorageSource::rocks(),
            transport: WireSource::quic(),
        },
    });
    all
}

/// CI builds with both backends (ci/test.sh sets `RAFT_ALL_BACKENDS=1`):
/// there, fewer than four combinations means a feature went missing, not a
/// choice to skip them.
#[test]
fn every_combination_runs_where_all_backends_are_required() {
    let names: Vec<&str> = combinations().iter().map(|c| c.name).collect();
    if std::env::var("RAFT_ALL_BACKENDS").is_ok_and(|v| v == "1") {
        assert_eq!(
            names.len(),
            4,
            "RAFT_ALL_BACKENDS=1 but only {names:?} are built"
        );
    } else {
        assert!(names.contains(&"storage=memory transport=memory"));
    }
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// The scripts, sorted so that runs and reports are in a stable order:
/// `scripts/*.txt`, then `scripts/beyond-spec/*.txt` (features the TLA+
/// specification does not model, so trace validation skips them).
fn scripts() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in [scripts_dir(), scripts_dir().join("beyond-spec")] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|entry| entry.expect("readable directory entry").path())
            .filter(|p| p.extension().is_some_and(|ext| ext == "txt"))
            .collect();
        paths.sort();
        all.extend(paths);
    }
    all
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("a script has a file name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn scripts_directory_is_not_empty() {
    let scripts = scripts();
    assert!(
        !scripts.is_empty(),
        "no *.txt script in {}",
        scripts_dir().display()
    );
}

/// Outputs belong in the snapshots: an output pasted into a script would be
/// silently replaced on every run and never checked.
#[test]
fn scripts_parse_and_hold_commands_and_comments_only() {
    for path in scripts() {
        let name = stem(&path);
        let text = std::fs::read_to_string(&path).expect("readable script");
        let script = datadriven::parse(&name, &text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        assert!(
            matches!(script.items.first(), Some(Item::Verbatim(l)) if l.starts_with('#')),
            "{name}: a script starts with a comment saying what it demonstrates"
        );
        assert!(script.directives().next().is_some(), "{name}: no commands");
        for d in script.directives() {
            assert_eq!(
                d.expected.as_deref(),
                Some(""),
                "{name}:{}: `{}` must be followed by `----` and a blank line, with no output",
                d.line,
                d.cmd
            );
        }
    }
}

#[test]
fn scripts_match_snapshots() {
    let combinations = combinations();
    let mut failures = Vec::new();
    for path in scripts() {
        let name = stem(&path);
        // The first combination's output is the reference the others must
        // reproduce exactly, whatever the snapshot update mode.
        let mut reference: Option<(&str, String)> = None;
        for combination in &combinations {
            let run = match run_file(&path, combination.options.clone()) {
                Ok(run) => run,
                Err(e) => {
                    failures.push(format!("{name} [{}]: {e}", combination.name));
                    continue;
                }
            };
            let output = run.rewritten();
            match &reference {
                None => reference = Some((combination.name, output.clone())),
                Some((first, expected)) if *expected != output => {
                    failures.push(format!(
                        "{name}: output under [{}] differs from [{first}]",
                        combination.name
                    ));
                    continue;
                }
                Some(_) => {}
            }
            let mut settings = insta::Settings::clone_current();
            settings.set_prepend_module_to_snapshot(false);
            settings.set_snapshot_path("snapshots");
            settings.set_input_file(&path);
            settings.set_omit_expression(true);
            settings.set_description(format!("{name}.txt under {}", combination.name));
            settings.set_raw_info(&Content::Map(vec![
                (
                    Content::from("script"),
                    Content::from(
                        path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                            .unwrap_or(&path)
                            .display()
                            .to_string(),
                    ),
                ),
                (
                    Content::from("combination"),
                    Content::from(combination.name),
                ),
            ]));
            // A mismatch panics inside insta; catch it so that one run reports
            // every failing script instead of the first one only.
            let asserted = catch_unwind(AssertUnwindSafe(|| {
                settings.bind(|| insta::assert_snapshot!(name.as_str(), output));
            }));
            if asserted.is_err() {
                failures.push(format!(
                    "{name} [{}]: output differs from tests/snapshots/{name}.snap",
                    combination.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
