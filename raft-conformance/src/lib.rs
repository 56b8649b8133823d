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
//!
//! ## Extensions of etcd's format
//!
//! Commands etcd's `InteractionEnv` does not have, for rules its harness
//! cannot reach. A script using them cannot run against etcd itself.
//!
//! - `read-index N CTX`: node `N` calls [`raft_core::RawNode::read_index`]
//!   with request context `CTX` (one word, taken as bytes). Prints nothing;
//!   the confirmed read appears in a later Ready of `N` as
//!   `ReadStates [{INDEX [BYTES]}]`, which is etcd's own rendering of
//!   `Ready.ReadStates` (Go's `%v`, the context as decimal bytes).
//!
//! Scripts that use ReadIndex or leadership transfer live in
//! `scripts/beyond-spec/`: the TLA+ specification models neither, so trace
//! validation (`ci/trace.sh`, which replays `scripts/*.txt`) leaves them
//! out; their outputs are pinned like every other script's.
//!
//! ## Your storage, your transport: the kit
//!
//! [`kit::Kit`] runs these checks against a `LogStorage` you wrote, from
//! your own tests: the [`LogStorage` contract suite](kit::contract), the
//! project's scripts and etcd's (every node's log from your factory,
//! compared at the protocol level), and raft-sim's simulation on your log.
//! Storage and transport are open: [`StorageSource`] and [`WireSource`]
//! wrap any factory and any [`Wire`]; `raft-script --storage rocks` and
//! `--transport quic` come with the `rocks` and `quic` features, which the
//! default build leaves out (no C++, no QUIC stack).
//!
//! ```
//! use raft_conformance::kit::Kit;
//! use raft_core::MemStorage;
//!
//! let kit = Kit::new("mine", |_node, conf_state, base| {
//!     Ok::<_, String>(MemStorage::with_base(conf_state, base))
//! });
//! let report = kit.check_contract().unwrap();
//! println!("{report}"); // "ok   fresh_log_is_empty_with_its_membership" ...
//! assert!(report
//!     .cases
//!     .iter()
//!     .any(|c| c.name == "conflicting_suffix_is_truncated"));
//! ```

#![warn(missing_docs)]

pub mod datadriven;
pub mod diff;
pub mod env;
pub mod kit;
pub mod output;
pub mod runner;
pub mod trace;

pub use env::{EnvOptions, StorageSource, Wire, WireSource};
pub use runner::{run_file, run_text, Run, RunError};
#[cfg(feature = "trace")]
pub use runner::{run_file_traced, run_text_traced};

/// The README's code blocks, compiled and run as doctests, so that the
/// README's kit example stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
