//! # raft-benches
//!
//! Helpers for the criterion benchmarks in `benches/`: a group of raft-core
//! nodes in one thread with no I/O ([`memgroup`], measured beside tikv's
//! raft-rs) and the disk's own synced-write limits ([`limits`]) that the
//! cluster benchmark is judged against. The clusters themselves come from
//! the `raft-cluster` crate. [`kvload`] measures the raft-kv service
//! against a real etcd under the same HTTP load (the `kv-vs-etcd` binary).

#![warn(missing_docs)]

pub mod kvload;
pub mod limits;
pub mod memgroup;
