//! # raft-conformance
//!
//! Interaction scripts in the format of etcd-io/raft's datadriven tests, and
//! the environment that replays them against raft-core, so that "behaves
//! like etcd" is something a diff can check.
//!
//! A script is a list of commands (`add-nodes`, `campaign`, `propose`,
//! `stabilize`, `deliver-msgs`, ...); each command's output is what etcd's
//! `rafttest.InteractionEnv` prints: Readies, messages, states, logs and
//! progress, in etcd's exact format, plus log lines (which start with their
//! level word and are free in wording). The `raft-script` binary runs
//! scripts (`run` prints the script with outputs filled in, `check` diffs
//! them); the crate's own scripts live in `scripts/` with their outputs
//! pinned as insta snapshots.
//!
//! ```
//! use raft_conformance::{run_text, EnvOptions};
//!
//! let script = "\
//! add-nodes 1 voters=(1) index=2
//! ----
//!
//! campaign 1
//! ----
//!
//! stabilize
//! ----
//!
//! raft-state
//! ----
//! ";
//! let run = run_text("example.txt", script, EnvOptions::default()).unwrap();
//! assert_eq!(run.outputs[3], "1: StateLeader (Voter) Term:1 Lead:1\n");
//! // `rewritten()` is the script with every output filled in.
//! assert!(run.rewritten().contains("> 1 handling Ready"));
//! ```

#![warn(missing_docs)]

pub mod datadriven;
pub mod diff;
pub mod env;
pub mod output;
pub mod runner;
pub mod trace;

pub use env::{EnvOptions, StorageKind, TransportKind};
pub use runner::{run_file, run_text, Run, RunError};
#[cfg(feature = "trace")]
pub use runner::{run_file_traced, run_text_traced};
