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
//! 2. when [`RawNode::has_ready`], take the [`Ready`]: send the messages
//!    that may leave early, write its entries and hard state to your
//!    [`LogStorage`] (durably if `must_sync`), send the responses that
//!    vouch for that write, apply its committed entries;
//! 3. call [`RawNode::advance`].
//!
//! Steps 2 and 3 are written once, in [`RawNode::handle_readies`]: you
//! implement a [`ReadyHandler`] with your transport and state machine, and
//! it calls them in the right order (see [`ready_loop`]).
//!
//! What lives where: [`storage`] defines the log contract (with
//! [`MemStorage`]), [`transport`] the messaging contract (with
//! [`MemNetwork`]); the protocol itself is split by concern (elections,
//! replication, heartbeats, proposals, ...) in private modules, with the
//! quorum arithmetic in [`quorum`], per-peer flow control and the
//! configuration in force in [`tracker`], and membership changes in
//! [`confchange`].
//! [`describe`] renders everything in etcd's debug format.
//!
//! In scope: the four roles with pre-vote (on by default), CheckQuorum and
//! its leader lease, log replication with etcd's probe/replicate flow
//! control, proposals and forwarding, MsgUnreachable and MsgForgetLeader,
//! snapshots and log compaction (`MsgSnap`, [`Ready::snapshot`],
//! [`RawNode::report_snapshot`]), membership changes and learners
//! ([`RawNode::propose_conf_change`], [`RawNode::apply_conf_change`],
//! joint configurations, see [`confchange`]), leadership transfer
//! ([`RawNode::transfer_leader`]), ReadIndex ([`RawNode::read_index`],
//! [`Ready::read_states`], [`ReadOnlyOption`]) and asynchronous storage
//! writes (`Config::async_storage_writes`).
//!
//! ## Cargo features
//!
//! All off by default. `trace` records protocol events for trace validation
//! against the TLA+ specification; `fault-injection` lets a [`Config`] break
//! one safety rule on purpose, so a simulator can prove its checks catch
//! it; `testing` adds test hooks that set state a deployment must leave to
//! the protocol (`RawNode::set_randomized_election_timeout`).
//!
//! ## Example: a one-node group commits a proposal
//!
//! ```
//! use raft_core::{Config, Entry, Error, MemStorage, Message, RawNode, ReadyHandler, Role};
//!
//! /// A one-node group's application: no peers, a list for a state machine.
//! struct App {
//!     applied: Vec<Vec<u8>>,
//! }
//!
//! impl ReadyHandler<MemStorage> for App {
//!     type Error = Error;
//!
//!     // A lone node has no peers: nothing ever reaches here.
//!     fn send(&mut self, _messages: Vec<Message>) {}
//!
//!     // `persist` keeps its default: `MemStorage::write`.
//!
//!     fn apply(&mut self, committed: &[Entry]) -> Result<(), Error> {
//!         for e in committed.iter().filter(|e| !e.data.is_empty()) {
//!             self.applied.push(e.data.to_vec());
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut node = RawNode::new(&Config::new(1), MemStorage::with_voters([1]))?;
//! let mut app = App { applied: Vec::new() };
//!
//! // The node votes for itself only once that vote is durable, so the
//! // election completes inside the Ready loop.
//! node.campaign()?;
//! node.handle_readies(&mut app)?;
//! assert_eq!(node.status().soft_state.role, Role::Leader);
//!
//! node.propose(&b"hello"[..])?;
//! node.handle_readies(&mut app)?;
//! assert_eq!(app.applied, vec![b"hello".to_vec()]);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod async_writes;
pub mod confchange;
mod config;
pub mod describe;
mod error;
mod log;
mod message;
pub mod quorum;
mod raft;
mod raw_node;
mod read_only;
pub mod ready_loop;
mod rng;
mod snapshot;
mod status;
pub mod storage;
#[cfg(feature = "trace")]
pub mod trace;
pub mod tracker;
pub mod transport;
mod types;

pub use confchange::{
    AnyConfChange, ConfChange, ConfChangeError, ConfChangeSingle, ConfChangeTransition,
    ConfChangeType, ConfChangeV2,
};
#[cfg(feature = "fault-injection")]
pub use config::Fault;
pub use config::{Config, ConfigError, ReadOnlyOption};
pub use error::{Error, Result};
pub use message::{is_local_thread, Message, MessageType, LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD};
pub use raw_node::{RawNode, Ready};
pub use read_only::ReadState;
pub use ready_loop::ReadyHandler;
pub use snapshot::{Snapshot, SnapshotMetadata, SnapshotStatus};
pub use status::Status;
pub use storage::{
    InitialState, LogStorage, LogWrite, MemStorage, PendingWrite, Staged, StorageError, WrapsLog,
    WriteKind,
};
pub use transport::{
    FaultyTransport, LinkFaults, MemNetwork, MemTransport, Transport, TransportEvent,
};
pub use types::{
    ConfState, Entry, EntryId, EntryType, HardState, NodeId, Role, SoftState, NO_NODE,
};
