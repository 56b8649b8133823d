//! # raft-cluster
//!
//! The workspace assembled into a cluster a user can run: a local group of
//! [`raft_node`] nodes over RocksDB logs and QUIC links ([`cluster`]), a
//! client load generator that measures throughput and commit latency
//! ([`load`]), and the checks made on the logs after a failover
//! ([`failover`]). The `raft-cluster` binary builds on them: with no
//! arguments it runs the one-command demo; `raft-cluster node` runs one node
//! of a cluster spread over hosts (its setup in `raft-host`, re-exported
//! as [`multihost`]; with `--kv-http` it applies to `raft-kv`'s store and
//! serves its HTTP API), and `raft-cluster propose` is its client
//! ([`client`]), which finds the leader among the nodes it is given.
//!
//! ```
//! use raft_cluster::cluster::{LocalCluster, StorageKind, TransportKind};
//! use raft_cluster::load::{run_load, LoadSpec};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // StorageKind::Rocks and TransportKind::Quic give the real thing.
//! let cluster = LocalCluster::start(3, StorageKind::Memory, TransportKind::InProcess, None).await?;
//! cluster.wait_for_leader(std::time::Duration::from_secs(10)).await?;
//! let spec = LoadSpec { entries: 200, entry_size: 256, proposers: 8 };
//! let report = run_load(&cluster, &spec, None).await?;
//! assert_eq!(report.acks.len(), 200);
//! println!("{:.0} entries/s, p99 {:?}", report.throughput(), report.percentile(99.0));
//! cluster.shutdown().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod client;
pub mod client_port;
pub mod cluster;
pub mod failover;
pub mod load;
pub mod member_wire;
pub mod membership;
pub mod multihost;
pub mod state;
