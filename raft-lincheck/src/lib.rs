//! # raft-lincheck
//!
//! Checks that a concurrent history of operations is *linearizable*: that
//! some order of the operations, consistent with real time (an operation
//! that returned before another was called comes first), explains every
//! answer the clients saw. It is how the project tests that a service on
//! Raft keeps its promises under faults: record what clients did, then ask
//! whether any single-copy execution could have produced it.
//!
//! - **The search** is Wing and Gong's backtracking with Lowe's memoization
//!   of (operations linearized, state) pairs, the algorithm of Porcupine and
//!   Knossos, written here as a small dependency-free crate so that the
//!   simulator and the service tests share it. (stateright's
//!   `LinearizabilityTester` does the same search but is tied to
//!   stateright's actor model and has no per-key partitioning.)
//! - **Partitioning**: a [`Model`] can split a history into independent
//!   objects (the keys of a key-value store), which keeps the search small.
//! - **Unknown outcomes**: an operation whose answer never came (timeout,
//!   killed node) may take effect at any time after its call, or never.
//! - **Bounded**: a [`Budget`] caps the work; past it the verdict is
//!   [`Verdict::Unknown`], never a guess.
//!
//! ## Example
//!
//! ```
//! use raft_lincheck::kv::{KvInput, KvModel, KvOutput};
//! use raft_lincheck::{check, Budget, Recorder, Verdict};
//!
//! # fn main() -> Result<(), raft_lincheck::HistoryError> {
//! let put = |v: &str| KvInput::Put { key: "x".into(), value: v.into() };
//! let get = || KvInput::Get { key: "x".into() };
//!
//! let mut h = Recorder::new();
//! h.call(1, put("a"))?;
//! h.ret(1, KvOutput::Done)?;        // the write was acknowledged...
//! h.call(2, get())?;
//! h.ret(2, KvOutput::Value(None))?; // ...and a later read missed it
//! let verdict = check(&KvModel, &h.finish_all(), Budget::default())?;
//! assert!(matches!(verdict, Verdict::NotLinearizable { .. }));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod history;
pub mod kv;
mod model;
mod search;

pub use history::{HistoryError, Operation, Recorder};
pub use model::Model;
pub use search::{check, Budget, Verdict};
