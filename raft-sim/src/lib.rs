//! # raft-sim
//!
//! Deterministic simulation of raft-core clusters under faults. Hand-written
//! tests cover the cases someone thought of; this explores the ones nobody
//! did, and replays any of them exactly from a seed.
//!
//! A seed decides everything: the cluster (3 or 5 nodes, pre-vote,
//! CheckQuorum, flow-control limits), a schedule of faults and client
//! proposals ([`Schedule`]), and the random streams for per-message drops,
//! duplicates and delays, and for what a crash loses. Nodes run raft-core's
//! [`RawNode`](raft_core::RawNode) through the Ready contract on simulated
//! disks ([`storage`]) where unsynced writes can be lost; in half the seeds
//! some or all nodes use async storage writes, their writes queued on a
//! simulated append thread until a later sync (a crash loses the queue and
//! the responses waiting on it); the network
//! ([`network`]) drops, duplicates, delays and reorders messages and cuts
//! links. Membership changes too: learners demoted and promoted, joint
//! configurations, spare nodes that join with an empty log and catch up by
//! snapshot, members removed for good (their process stops). After the
//! fault phase the cluster heals, and must elect a leader and commit new
//! proposals on every current member within a bound.
//!
//! After every step (a message delivered, a tick, a proposal, a fault) the
//! [`checker`] verifies election safety, log matching, leader completeness,
//! state machine safety, that committed entries stay on a majority of disks
//! and acknowledged ones are never lost, and that terms, commit indexes and
//! votes never go backwards. A violation stops the run; [`shrink`] then
//! removes scheduled events while the same property still breaks, so the
//! report is short.
//!
//! Key-value clients ([`kv`]) run against the cluster too: gets through
//! ReadIndex, puts, deletes and compare-and-swaps through the log, each
//! recorded with its call and answer (or as an unknown outcome). Once the
//! run ends, raft-lincheck checks that history against its key-value
//! model; a non-linearizable one is a [`Property::Linearizability`]
//! violation, shrunk like any other.
//!
//! ```
//! use raft_sim::{run, SimOptions};
//!
//! # fn main() -> Result<(), raft_sim::SimError> {
//! let opts = SimOptions { nodes: Some(3), fault_ticks: 100, ..SimOptions::default() };
//! let outcome = run(7, &opts)?;
//! assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
//! assert!(outcome.stats.leaders_elected >= 1);
//! // Same seed, same run.
//! assert_eq!(run(7, &opts)?.stats.net.sent, outcome.stats.net.sent);
//! # Ok(())
//! # }
//! ```
//!
//! The `raft-sim` binary runs ranges of seeds (`--seeds N --start S`), and
//! replays one with its event log (`--seed S`); see the crate's README.

#![warn(missing_docs)]

pub mod backend;
pub mod checker;
pub mod kv;
pub mod network;
mod node;
mod options;
mod rng;
pub mod schedule;
pub mod shrink;
mod sim;
pub mod state_machine;
pub mod storage;

pub use backend::{BackendFactory, SimStorage};
pub use checker::{Property, Violation};
pub use rng::Rng;
pub use schedule::{Event, NetParams, Profile, Schedule, Timed, TICK};
pub use sim::{run, run_subset, Outcome, RunStats, SimError, SimOptions};
#[cfg(feature = "fault-injection")]
pub use state_machine::SimFault;
