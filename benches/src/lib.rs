//! Benchmarks of replication throughput (criterion, in `benches/`) and the
//! `raft-cluster` demo. See the README for the numbers and how to reproduce
//! them.
//!
//! The library part holds the in-memory group the core benchmark drives, so
//! that tests can check it does what the benchmark claims.

pub mod memgroup;
