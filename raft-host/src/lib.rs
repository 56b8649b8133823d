//! # raft-host
//!
//! What a process needs to host a Raft node on a real machine, shared by
//! every binary of this workspace that runs one (`raft-cluster node`,
//! `raft-kv node`): the node's command-line options ([`NodeArgs`]: id,
//! listen address, peers, data directory, certificates), its QUIC endpoint
//! from PEM files, its RocksDB log created on first start and reopened
//! after, development certificates for tests and demos, the signals that
//! stop it ([`multihost`]), and the node configuration the binaries start
//! from ([`config`]); and, for groups run inside one process (tests,
//! benchmarks, demos), where their logs live and how they reach each
//! other ([`local`]).
//!
//! It sits below both `raft-cluster` and `raft-kv`, so that `raft-cluster`
//! can serve `raft-kv`'s API without a package cycle.
//!
//! ```
//! use clap::Parser;
//! use raft_host::NodeArgs;
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     node: NodeArgs,
//! }
//!
//! let cli = Cli::try_parse_from([
//!     "node", "--id", "1", "--listen", "127.0.0.1:7001", "--peer", "2=127.0.0.1:7002",
//!     "--data", "/tmp/n1", "--ca", "ca.pem", "--cert", "node-1.pem", "--key", "node-1.key",
//! ])?;
//! assert_eq!(cli.node.voters(), vec![2, 1]);
//! # Ok::<(), clap::Error>(())
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod local;
pub mod multihost;

pub use config::{node_config, StorageKind, TransportKind};
pub use multihost::{
    open_or_create, parse_peer, stop_signal, write_dev_certs, NodeArgs, SetupError,
};
