//! The choices every cluster this workspace starts makes the same way: the
//! node configuration it starts from, and, for clusters run inside one
//! process (`raft-cluster`'s `LocalCluster`, `raft-kv`'s `LocalKv`), where
//! the logs live and how messages travel.

use raft_core::{Config, NodeId};
use raft_node::NodeConfig;
use std::time::Duration;

/// Where the nodes' logs live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    /// raft-core's `MemStorage`: nothing survives the process.
    Memory,
    /// A RocksDB log per node, fsynced.
    Rocks,
}

/// How the nodes' messages travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// raft-core's `MemNetwork`, inside the process.
    InProcess,
    /// QUIC with mutual TLS on 127.0.0.1, development certificates.
    Quic,
}

/// Timing that suits one machine: 10 ms ticks, elections after 100–200 ms
/// of silence, CheckQuorum and pre-vote on as in production, and the
/// runtime's default snapshot policy. Nodes on hosts of their own start
/// from it with a longer tick.
pub fn node_config(id: NodeId) -> NodeConfig {
    let mut config = NodeConfig::new({
        let mut cfg = Config::new(id);
        cfg.check_quorum = true;
        cfg.max_inflight_msgs = 1024;
        // A removed leader stops leading at once rather than lead a group
        // it is no longer in until the application stops it.
        cfg.step_down_on_removal = true;
        cfg
    });
    config.tick_interval = Duration::from_millis(10);
    config.proposal_timeout_ticks = 500;
    config.proposal_queue = 65_536;
    config
}
