//! Interaction scripts for the kit: the project's own (compiled into the
//! crate, with the outputs pinned in its snapshots) and any directory of
//! etcd-format scripts (etcd's own testdata).

use super::protocol::protocol_mismatches;
use super::KitError;
use crate::diff::Mismatch;
use crate::env::EnvOptions;
use crate::runner::{run_text, RunError};
use std::fmt;
use std::path::{Path, PathBuf};

/// One of the project's scripts: its commands with the expected outputs,
/// as pinned in `tests/snapshots/NAME.snap`.
#[derive(Clone, Copy, Debug)]
pub struct ProjectScript {
    /// The script's name (`scripts/NAME.txt`, or
    /// `scripts/beyond-spec/NAME.txt` when `beyond_spec`).
    pub name: &'static str,
    /// Whether the script exercises what the TLA+ specification does not
    /// model (ReadIndex, leadership transfer), which keeps it out of trace
    /// validation.
    pub beyond_spec: bool,
    snapshot: &'static str,
}

impl ProjectScript {
    /// The script's path inside raft-conformance.
    pub fn path(&self) -> String {
        match self.beyond_spec {
            true => format!("scripts/beyond-spec/{}.txt", self.name),
            false => format!("scripts/{}.txt", self.name),
        }
    }

    /// The script with every expected output filled in.
    pub fn text(&self) -> &'static str {
        // An insta snapshot is a `---`-fenced header, then the content.
        self.snapshot
            .strip_prefix("---\n")
            .and_then(|rest| rest.split_once("\n---\n"))
            .map_or(self.snapshot, |(_, body)| body)
    }
}

macro_rules! project_scripts {
    ($($name:literal),* $(,)?; beyond_spec: $($beyond:literal),* $(,)?) => {
        &[$(ProjectScript {
            name: $name,
            beyond_spec: false,
            snapshot: include_str!(concat!("../../tests/snapshots/", $name, ".snap")),
        }),*
        $(, ProjectScript {
            name: $beyond,
            beyond_spec: true,
            snapshot: include_str!(concat!("../../tests/snapshots/", $beyond, ".snap")),
        })*]
    };
}

/// The project's scripts (`raft-conformance/scripts/`), compiled in so that
/// the kit runs them from any crate. A test checks the list against the
/// directory.
pub const PROJECT_SCRIPTS: &[ProjectScript] = project_scripts![
    "bad_commands",
    "check_quorum",
    "commit_rules",
    "election_basic",
    "election_prevote",
    "five_nodes",
    "forget_leader",
    "heartbeats",
    "inflight_limits",
    "log_conflicts",
    "max_committed_size",
    "membership",
    "one_vote_per_term",
    "proposals",
    "single_node",
    "split_vote",
    "term_rules",
    "unreachable_probe",
    "up_to_date_check";
    beyond_spec:
    "read_index_lease",
    "read_index_safe",
    "read_index_single_voter",
    "transfer_leadership",
];

/// How one script ended.
#[derive(Debug)]
pub enum ScriptVerdict {
    /// Every command printed the expected protocol output.
    Passed,
    /// Some commands did not.
    Differs(Vec<Mismatch>),
    /// The script could not be run to its end.
    Error(String),
}

/// One script's name and verdict.
#[derive(Debug)]
pub struct ScriptOutcome {
    /// The script's file name.
    pub name: String,
    /// How it ended.
    pub verdict: ScriptVerdict,
}

/// The verdicts of a set of scripts under one storage × transport.
#[derive(Debug)]
pub struct ScriptsReport {
    /// What the scripts were (`project scripts`, or a directory).
    pub set: String,
    /// The combination they ran under (`storage=... transport=...`).
    pub combination: String,
    /// Every script, in order.
    pub scripts: Vec<ScriptOutcome>,
}

impl ScriptsReport {
    /// How many scripts failed or could not run.
    pub fn failed(&self) -> usize {
        self.scripts
            .iter()
            .filter(|s| !matches!(s.verdict, ScriptVerdict::Passed))
            .count()
    }

    /// How many scripts passed.
    pub fn passed(&self) -> usize {
        self.scripts.len() - self.failed()
    }

    /// `Ok(self)` when every script passed and there was at least one.
    pub fn into_result(self) -> Result<ScriptsReport, KitError> {
        if self.failed() == 0 && !self.scripts.is_empty() {
            Ok(self)
        } else {
            Err(KitError::Failed(self.to_string()))
        }
    }
}

impl fmt::Display for ScriptsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}, {}:", self.set, self.combination)?;
        for s in &self.scripts {
            match &s.verdict {
                ScriptVerdict::Passed => writeln!(f, "  ok   {}", s.name)?,
                ScriptVerdict::Error(e) => writeln!(f, "  FAIL {}: {e}", s.name)?,
                ScriptVerdict::Differs(mismatches) => {
                    writeln!(f, "  FAIL {} (protocol output differs):", s.name)?;
                    for m in mismatches {
                        for line in m.to_string().lines() {
                            writeln!(f, "    {line}")?;
                        }
                    }
                }
            }
        }
        if self.scripts.is_empty() {
            writeln!(f, "  no scripts")?;
        }
        writeln!(f, "  {} passed, {} failed", self.passed(), self.failed())
    }
}

/// Runs the script `text` (with its expected outputs) and compares.
pub fn check_script(name: &str, text: &str, options: &EnvOptions) -> ScriptOutcome {
    let verdict = match run_text(name, text, options.clone()) {
        Ok(run) => {
            let mismatches = protocol_mismatches(&run.script, &run.outputs);
            if mismatches.is_empty() {
                ScriptVerdict::Passed
            } else {
                ScriptVerdict::Differs(mismatches)
            }
        }
        Err(e) => ScriptVerdict::Error(e.to_string()),
    };
    ScriptOutcome {
        name: name.to_string(),
        verdict,
    }
}

/// Runs the project's scripts under `options`.
pub fn check_project_scripts(options: &EnvOptions) -> ScriptsReport {
    ScriptsReport {
        set: "project scripts".to_string(),
        combination: options.describe(),
        scripts: PROJECT_SCRIPTS
            .iter()
            .map(|s| check_script(&format!("{}.txt", s.name), s.text(), options))
            .collect(),
    }
}

/// Runs every `*.txt` script in `dir` (in name order) under `options`,
/// comparing each with the outputs the file holds.
pub fn check_directory(dir: &Path, options: &EnvOptions) -> Result<ScriptsReport, KitError> {
    let listing = std::fs::read_dir(dir).map_err(|source| KitError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in listing {
        let path = entry
            .map_err(|source| KitError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.extension().is_some_and(|e| e == "txt") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut scripts = Vec::new();
    for path in paths {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let outcome = match std::fs::read_to_string(&path) {
            Ok(text) => check_script(&name, &text, options),
            Err(e) => ScriptOutcome {
                name,
                verdict: ScriptVerdict::Error(
                    RunError::Read {
                        path: path.display().to_string(),
                        source: e,
                    }
                    .to_string(),
                ),
            },
        };
        scripts.push(outcome);
    }
    Ok(ScriptsReport {
        set: format!("scripts in {}", dir.display()),
        combination: options.describe(),
        scripts,
    })
}

/// Where etcd's reference scripts are: `$ETCD_REFERENCE/testdata` when that
/// variable is set, else `shared/etcd/testdata` beside `start` or beside any
/// directory above it (so both a clone with `shared/` as its sibling and a
/// worktree further down find it). `None` when there are none.
pub fn find_etcd_testdata(start: &Path) -> Option<PathBuf> {
    find_testdata(std::env::var_os("ETCD_REFERENCE").map(PathBuf::from), start)
}

fn find_testdata(reference: Option<PathBuf>, start: &Path) -> Option<PathBuf> {
    if let Some(dir) = reference {
        let testdata = dir.join("testdata");
        return testdata.is_dir().then_some(testdata);
    }
    start
        .ancestors()
        .map(|a| a.join("shared").join("etcd").join("testdata"))
        .find(|p| p.is_dir())
}

/// Whether the environment asks for etcd's scripts to be present
/// (`REQUIRE_ETCD=1`), so that their absence fails instead of skipping.
pub fn etcd_required() -> bool {
    std::env::var("REQUIRE_ETCD").is_ok_and(|v| v == "1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadriven;

    #[test]
    fn etcd_testdata_is_found_beside_the_clone_or_further_up() {
        let root = tempfile::tempdir().unwrap();
        let testdata = root.path().join("shared/etcd/testdata");
        std::fs::create_dir_all(&testdata).unwrap();
        // CI: the clone is a sibling of shared/.
        let clone = root.path().join("clone");
        // A worktree two levels further down.
        let worktree = root.path().join("wt/kit/raft-conformance");
        std::fs::create_dir_all(&worktree).unwrap();
        std::fs::create_dir_all(&clone).unwrap();
        assert_eq!(find_testdata(None, &clone), Some(testdata.clone()));
        assert_eq!(find_testdata(None, &worktree), Some(testdata.clone()));
        // ETCD_REFERENCE wins, and names the directory holding testdata/.
        let other = tempfile::tempdir().unwrap();
        assert_eq!(find_testdata(Some(other.path().into()), &clone), None);
        std::fs::create_dir(other.path().join("testdata")).unwrap();
        assert_eq!(
            find_testdata(Some(other.path().into()), &clone),
            Some(other.path().join("testdata"))
        );
        let nowhere = tempfile::tempdir().unwrap();
        assert_eq!(find_testdata(None, nowhere.path()), None);
    }

    #[test]
    fn the_compiled_in_list_is_the_scripts_directory() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk: Vec<String> = Vec::new();
        for dir in ["scripts", "scripts/beyond-spec"] {
            let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "txt"))
                .map(|p| format!("{dir}/{}.txt", p.file_stem().unwrap().to_string_lossy()))
                .collect();
            names.sort();
            on_disk.extend(names);
        }
        let listed: Vec<String> = PROJECT_SCRIPTS.iter().map(ProjectScript::path).collect();
        assert_eq!(listed, on_disk, "add new scripts to PROJECT_SCRIPTS");
    }

    #[test]
    fn project_scripts_hold_their_commands_and_outputs() {
        for s in PROJECT_SCRIPTS {
            let on_disk =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(s.path()))
                    .unwrap();
            let pinned = datadriven::parse(s.name, s.text()).unwrap();
            let source = datadriven::parse(s.name, &on_disk).unwrap();
            let commands = |script: &datadriven::Script| -> Vec<Vec<String>> {
                script.directives().map(|d| d.raw_command.clone()).collect()
            };
            assert_eq!(commands(&pinned), commands(&source), "{}", s.name);
            assert!(
                pinned
                    .directives()
                    .any(|d| d.expected.as_deref().is_some_and(|e| !e.is_empty())),
                "{}: the snapshot holds outputs",
                s.name
            );
        }
    }
}
