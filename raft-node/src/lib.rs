//! # raft-node
//!
//! The runtime around [`raft_core`]: a tokio task per node that ticks the
//! state machine on a timer, takes messages from a [`raft_core::Transport`]
//! and proposals from [`NodeHandle`]s, and handles every Ready — send what
//! may leave early, write the log, send the responses that needed the write
//! once it is durable, apply committed entries to your [`StateMachine`].
//!
//! ## Writing the log
//!
//! [`NodeConfig::storage_writes`] says how ([`StorageWrites`]):
//!
//! - **Background** (opt-in; `Auto` picks it for a storage that stages its
//!   writes, as RocksDB's does): the Raft loop never waits for the disk. raft-core runs with async storage writes; the loop stages each
//!   Ready's write (readers see it at once) and hands its I/O to the node's
//!   append thread, which writes whatever accumulated meanwhile and syncs
//!   once for all of it (group commit across Readies), then hands the
//!   appends back. Only then do their responses (votes, append
//!   acknowledgements, the leader's own) leave or get stepped, as etcd's
//!   async storage writes require. The thread holds at most
//!   [`NodeConfig::append_queue`] Readies; while it is full the loop takes
//!   no input and makes no Ready ([`WriteMetrics`] shows the Readies and
//!   entries per sync and how often that happened).
//! - **Inline** (the default: it measured faster than Background so far,
//!   see the README's "Storage writes"): the loop writes each Ready
//!   itself — in place for memory, through tokio's `block_in_place` for a
//!   log that blocks — with one write (and at most one fsync) per Ready.
//!
//! Either way proposals that arrive while the loop is busy wait in the
//! queue and all go into the next Ready: under load, one fsync commits many
//! proposals (group commit). [`NodeHandle::propose`] resolves with the entry's index
//! once it is committed and applied on this node; a client with many
//! entries at hand hands them over at once with
//! [`NodeHandle::propose_batch`], which resolves with one result per entry,
//! in order.
//!
//! raft-core stays free of tokio; this crate is where the runtime lives.
//!
//! ## Snapshots and log compaction
//!
//! A [`SnapshotPolicy`] in [`NodeConfig`] (on by default: every 10,000
//! applied entries, as etcd's server; also or instead every N applied
//! bytes; [`SnapshotPolicy::disabled`] turns it off) decides when the
//! runtime folds the applied state into a snapshot:
//!
//! 1. on the Raft loop, [`StateMachine::snapshot`] captures the state (the
//!    cheap part) and returns a [`SnapshotJob`];
//! 2. a [`SnapshotJob::blocking`] job serialises on tokio's blocking pool
//!    while the loop keeps ticking, stepping and applying (one job at a
//!    time); a [`SnapshotJob::ready`] one is already bytes;
//! 3. back on the loop, the bytes are stored with
//!    [`LogStorage::create_snapshot`](raft_core::LogStorage::create_snapshot)
//!    at the index applied when the state was captured, and the log is
//!    compacted up to [`SnapshotPolicy::catch_up_entries`] before it, so that
//!    a follower slightly behind still catches up from the log.
//!
//! A follower the leader's log can no longer serve receives the snapshot in
//! a `MsgSnap`; raft-core installs it in the log and the runtime hands its
//! data to [`StateMachine::restore`] before applying the entries after it.
//! At start, [`spawn`] restores the state machine from the storage's
//! snapshot (unless `raft.applied` says the state machine kept its own
//! state that far), so a restarted node applies only the rest.
//! [`Metrics::snapshots`] counts what happened (made, sent, received,
//! restored) and where the log now starts.
//!
//! The trait's defaults snapshot nothing and restore nothing, so closures
//! and stateless machines keep working; a state machine with real state
//! must implement both.
//!
//! ## Linearizable reads and leadership transfer
//!
//! [`NodeHandle::read_index`] is a read barrier: it resolves with a read
//! index once the local state machine has applied up to it, and a read of
//! the state machine after that sees every write acknowledged before the
//! call — on a follower too, whose request travels to the leader (raft's
//! ReadIndex). Nothing goes through the log. The path:
//!
//! 1. callers queue on the Raft loop; whenever no round is in flight, one
//!    ReadIndex request leaves for all of them ([`Metrics::read_rounds`]
//!    counts the rounds), so concurrent reads share a confirmation;
//! 2. the leader confirms it still leads — by a heartbeat round a quorum
//!    acknowledges under [`ReadMode::Safe`], from its CheckQuorum lease
//!    under [`ReadMode::Lease`] — and answers with its commit index as of
//!    the request (a new leader holds reads until it commits an entry of
//!    its own term);
//! 3. the node waits until it has applied that index, then resolves.
//!
//! A leader cut off from its quorum cannot confirm, so its reads fail with
//! [`ReadError::Timeout`] after [`NodeConfig::read_timeout_ticks`] instead
//! of answering stale; a change of leader or term fails the reads in
//! flight at once ([`ReadError::Dropped`]), and a node knowing no leader
//! refuses at once ([`ReadError::NoLeader`]). All of them may be retried.
//!
//! [`NodeHandle::transfer_leader`] asks the leader (directly, or through
//! the follower it is called on) to hand leadership to a voter and
//! resolves when that voter leads, with a [`TransferError`] when it is not
//! a voter, another node won, or raft gave the transfer up.
//!
//! ## Membership changes
//!
//! [`NodeHandle::add_voter`], [`NodeHandle::add_learner`],
//! [`NodeHandle::promote`], [`NodeHandle::remove`] and, for several at once,
//! [`NodeHandle::change_members`] (a joint configuration that raft-core
//! leaves by itself) propose a change on the leader and resolve once it is
//! *applied* there, with the new [`Membership`]. They fail with a typed
//! [`MembershipError`]: not the leader, a change already in progress (Raft
//! makes one at a time; the configuration is joint; or the leader's
//! term has not yet applied its first entry), a change that would leave no
//! voter or names members wrongly (both refused before anything is
//! proposed, since raft-core cannot apply them), dropped (not applied within
//! the proposal timeout, or replaced by a new leader's entries).
//!
//! Committed conf-change entries never reach the [`StateMachine`]:
//! raft-core applies them, and the runtime keeps the resulting
//! `ConfState`, stores it with every snapshot (as of the snapshot's index)
//! and, on restart, takes it back from storage. Each change carries in its
//! context the addresses of the members it adds;
//! [`NodeHandle::watch_membership`] publishes the membership with those
//! addresses, which is what an application follows to add and remove
//! transport peers.
//!
//! A new member starts with an empty log and no membership and joins from
//! a snapshot: the leader's log does not hold the group's bootstrap
//! configuration (it is in storage, not in entries), and raft refuses a
//! snapshot that does not name the node, so the runtime makes a snapshot
//! as soon as a change adding a member is applied, whatever the policy; and
//! a change adding a member to a log never compacted (still starting at
//! index 1) waits until a snapshot was made and the log compacted up to it,
//! so that the new member is sent a snapshot, never the log from index 1. A
//! node that applies its own removal fails its waiting proposals at once.
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
//! // A linearizable read through a follower: it has applied the write.
//! let follower = nodes.iter().find(|n| n.id() != leader.id()).unwrap();
//! let read = follower.read_index().await?;
//! assert!(read >= index && follower.metrics().applied >= index);
//! for node in &nodes {
//!     node.shutdown().await?;
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod append_worker;
mod config;
mod driver;
mod envelope;
mod error;
mod handle;
mod member_ops;
mod membership;
mod metrics;
mod proposals;
mod reads;
mod ready_io;
mod snapshotting;
mod state_machine;
mod transfer;

pub use config::{NodeConfig, NodeConfigError, ReadMode, SnapshotPolicy, StorageWrites};
pub use envelope::payload_of;
pub use error::{NodeError, ProposeError, ReadError, TransferError};
pub use handle::{spawn, NodeHandle};
pub use membership::{MemberChange, Membership, MembershipError};
pub use metrics::{Metrics, SnapshotMetrics, WriteMetrics};
pub use state_machine::{Applied, NullStateMachine, SnapshotError, SnapshotJob, StateMachine};
