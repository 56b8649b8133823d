//! # raft-node
//!
//! The runtime around [`raft_core`]: a tokio task per node that ticks the
//! state machine on a timer, takes messages from a [`raft_core::Transport`]
//! and proposals from [`NodeHandle`]s, and handles every Ready — send what
//! may leave early, persist with one write (and at most one fsync) per Ready,
//! send the responses that needed the write, apply committed entries to your
//! [`StateMachine`], advance.
//!
//! Proposals that arrive while a Ready is being written wait in the queue and
//! all go into the next Ready: under load, one fsync commits many proposals
//! (group commit). [`NodeHandle::propose`] resolves with the entry's index
//! once it is committed and applied on this node.
//!
//! raft-core stays free of tokio; this crate is where the runtime lives.
//!
//! ```
//! use raft_core::{Config, MemNetwork, MemStorage};
//! use raft_node::{spawn, NodeConfig, NullStateMachine};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let net = MemNetwork::new(1024);
//! let mut nodes = Vec::new();
//! for id in 1..=3 {
//!     let mut config = NodeConfig::new(Config::new(id));
//!     config.tick_interval = Duration::from_millis(10);
//!     let storage = MemStorage::with_voters([1, 2, 3]);
//!     nodes.push(spawn(config, storage, net.join(id), NullStateMachine::default())?);
//! }
//! // Wait for a leader, then propose through it.
//! let leader = nodes[0].wait_for(|m| m.leader.is_some()).await?.leader.unwrap();
//! let leader = &nodes[(leader - 1) as usize];
//! let leader = leader.wait_for(|m| m.role == raft_core::Role::Leader).await.map(|_| leader)?;
//! let index = leader.propose(&b"hello"[..]).await?;
//! assert!(index > 0);
//! for node in &nodes {
//!     node.shutdown().await?;
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod config;
mod driver;
mod envelope;
mod error;
mod handle;
mod metrics;
mod snapshotting;
mod state_machine;

pub use config::{NodeConfig, NodeConfigError, SnapshotPolicy};
pub use envelope::payload_of;
pub use error::{NodeError, ProposeError};
pub use handle::{spawn, NodeHandle};
pub use metrics::{Metrics, SnapshotMetrics};
pub use state_machine::{NullStateMachine, SnapshotError, SnapshotJob, StateMachine};
