//! The simulated key-value service: what the nodes apply next to their hash
//! chain, and the clients whose histories raft-lincheck checks after each
//! run.
//!
//! - [`command`]: a write (put, delete, compare-and-swap) as a log entry's
//!   payload, tagged with its client and sequence number. The payload is
//!   still what the hash chain folds, so the state machine checks see KV
//!   writes as any other proposal.
//! - [`store`]: each node's key-value state plus a session per client (the
//!   last sequence number applied and its result), which answers the
//!   client even when the node got the entry inside a snapshot, and drops
//!   a command the network delivered twice. It travels in the node's
//!   snapshots after the hash chain's state.
//! - [`clients`]: the simulated clients' bookkeeping: one operation at a
//!   time each, recorded at its call and at its answer (or given up as an
//!   unknown outcome).
//! - [`check`]: the history checked with raft-lincheck's key-value model,
//!   and the first answer that made a failing one fail.

pub mod check;
pub mod clients;
pub mod command;
pub mod store;

pub use check::Anomaly;
pub use clients::{KvClients, KvSummary};
pub use command::KvCommand;
pub use store::{KvDecodeError, KvStore};
