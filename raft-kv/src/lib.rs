//! # raft-kv
//!
//! The reference application built on this workspace's crates: a replicated
//! key-value store with put, get, delete and compare-and-swap, whose state
//! is snapshotted so the log can be compacted.
//!
//! This crate holds the part every replica runs: the [`Command`]s that go
//! through the log and their encoding, and the [`KvStore`] they are applied
//! to, with its snapshot format. Applying returns an [`Outcome`] for the
//! client that proposed the command. [`KvMachine`] is the store as
//! raft-node's `StateMachine`: outcomes go back to the proposer, snapshots
//! are captured on the Raft loop and encoded off it.
//!
//! With the `http` feature (on by default) the crate is also the service:
//! [`http`] is the HTTP/JSON API a node serves (writes through the log,
//! linearizable reads by default, followers redirect to the leader) and
//! [`local`] runs a cluster of such nodes on RocksDB and QUIC, which the
//! `raft-kv local` command starts. [`server::KvServer`] is one such node;
//! [`host::HostedKv`] starts one on a host of its own (the multi-host
//! mode, one process per node), with an optional link fault endpoint for
//! tests: `raft-kv node` and `raft-cluster node --kv-http` both run it.
//!
//! ```
//! use raft_kv::{Command, KvStore, Outcome};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut store = KvStore::new();
//! let put = Command::Put { key: "x".into(), value: "1".into() };
//! // Every replica decodes the same entry and applies it in log order.
//! let entry = put.encode();
//! store.apply(7, &Command::decode(&entry)?);
//! let cas = Command::Cas { key: "x".into(), expected: Some("1".into()), new: "2".into() };
//! assert_eq!(
//!     store.apply(8, &cas),
//!     Outcome::Cas { swapped: true, current: Some("2".into()) }
//! );
//!
//! // A snapshot taken now restores the same state elsewhere.
//! let snapshot = store.capture().encode();
//! let mut other = KvStore::new();
//! other.restore(&snapshot, 8)?;
//! assert_eq!(other.get("x"), Some("2"));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod command;
#[cfg(feature = "http")]
pub mod host;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod local;
mod machine;
#[cfg(feature = "http")]
pub mod server;
mod store;

pub use command::{Command, DecodeError, Outcome};
pub use machine::{decode_outcome, encode_outcome, KvMachine};
pub use store::{Captured, KvStore, SnapshotDecodeError};
