//! # raft-benches
//!
//! The workspace assembled: a local cluster of [`raft_node`] nodes over
//! RocksDB logs and QUIC links ([`cluster`]), a client load generator that
//! measures throughput and commit latency ([`load`]), the `raft-cluster`
//! demo built on both, and the criterion benchmarks in `benches/`.
//!
//! ```no_run
//! use raft_benches::cluster::{LocalCluster, StorageKind, TransportKind};
//! use raft_benches::load::{run_load, LoadSpec};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = LocalCluster::start(3, StorageKind::Rocks, TransportKind::Quic, None).await?;
//! let report = run_load(&cluster, &LoadSpec { entries: 1000, entry_size: 256, proposers: 16 }, None).await?;
//! println!("{:.0} entries/s, p99 {:?}", report.throughput(), report.percentile(99.0));
//! cluster.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod cluster;
pub mod failover;
pub mod limits;
pub mod load;
pub mod memgroup;
