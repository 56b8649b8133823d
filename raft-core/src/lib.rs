//! # raft-core
//!
//! etcd's Raft consensus protocol (etcd-io/raft v3.7) as a sans-IO state
//! machine: it never touches a disk, a socket or a clock. You drive it, and
//! it tells you what to persist, what to send and what to apply.
//!
//! The loop is etcd's:
//!
//! 1. feed the node input — [`RawNode::tick`] on a timer,
//!    [`RawNode::step`] for each message from a peer, [`RawNode::propose`]
//!    for client commands;
//! 2. when [`RawNode::has_ready`], take the [`Ready`]: write its entries and
//!    hard state to your [`LogStorage`] (durably if `must_sync`), send its
//!    messages, apply its committed entries;
//! 3. call [`RawNode::advance`].
//!
//! What lives where: [`storage`] defines the log contract (with
//! [`MemStorage`]), [`transport`] the messaging contract (with
//! [`MemNetwork`]); the protocol itself is split by concern (elections,
//! replication, heartbeats, proposals, ...) in private modules, with the
//! quorum arithmetic in [`quorum`] and per-peer flow control in [`tracker`].
//! [`describe`] renders everything in etcd's debug format.
//!
//! In scope: the four roles with pre-vote (on by default), CheckQuorum and
//! its leader lease, log replication with etcd's probe/replicate flow
//! control, proposals and forwarding, MsgUnreachable and MsgForgetLeader,
//! snapshots and log compaction (`MsgSnap`, [`Ready::snapshot`],
//! [`RawNode::report_snapshot`]). Not yet: membership changes, ReadIndex,
//! learners, leader transfer, asynchronous storage writes.
//!
//! ## Example: a one-node group commits a proposal
//!
//! ```
//! use raft_core::{Config, LogStorage, MemStorage, RawNode, Role};
//!
//! /// Persist, send, apply, advance: one turn of the Ready loop.
//! fn handle_readies(node: &mut RawNode<MemStorage>, applied: &mut Vec<Vec<u8>>) -> raft_core::Result<()> {
//!     while node.has_ready() {
//!         let rd = node.ready()?;
//!         node.store_mut().write(rd.log_write())?; // 1. persist
//!         assert!(rd.messages.is_empty());           // 2. send (no peers here)
//!         for e in &rd.committed_entries {           // 3. apply
//!             if !e.data.is_empty() {
//!                 applied.push(e.data.to_vec());
//!             }
//!         }
//!         node.advance()?;
//!     }
//!     Ok(())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut node = RawNode::new(&Config::new(1), MemStorage::with_voters([1]))?;
//! let mut applied = Vec::new();
//!
//! // The node votes for itself only once that vote is durable, so the
//! // election completes inside the Ready loop.
//! node.campaign()?;
//! handle_readies(&mut node, &mut applied)?;
//! assert_eq!(node.status().soft_state.role, Role::Leader);
//!
//! node.propose(&b"hello"[..])?;
//! handle_readies(&mut node, &mut applied)?;
//! assert_eq!(applied, vec![b"hello".to_vec()]);
//! # Ok(())
//! # }
//! ```

mod config;
pub mod describe;
mod error;
mod log;
mod message;
pub mod quorum;
mod raft;
mod raw_node;
mod rng;
mod snapshot;
mod status;
pub mod storage;
#[cfg(feature = "trace")]
pub mod trace;
pub mod tracker;
pub mod transport;
mod types;

#[cfg(feature = "fault-injection")]
pub use config::Fault;
pub use config::{Config, ConfigError};
pub use error::{Error, Result};
pub use message::{Message, MessageType};
pub use raw_node::{RawNode, Ready};
pub use snapshot::{Snapshot, SnapshotMetadata, SnapshotStatus};
pub use status::Status;
pub use storage::{InitialState, LogStorage, LogWrite, MemStorage, StorageError};
pub use transport::{MemNetwork, MemTransport, Transport, TransportEvent};
pub use types::{
    ConfState, Entry, EntryId, EntryType, HardState, NodeId, Role, SoftState, NO_NODE,
};
