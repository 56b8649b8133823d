//! Membership changes: the requests ([`ConfChange`], [`ConfChangeV2`]),
//! their encoding in log entries, and the [`Changer`] that computes the
//! configuration a change leads to (etcd's `confchange` package).
//!
//! A change takes effect when it is *applied*, not when it is appended
//! (etcd's choice, unlike the Raft paper). Several changes at once go
//! through a joint configuration, where both the old and the new voters
//! must agree (Raft thesis §4.3); a single change may be applied directly.
//!
//! ## Example: a one-node group adds a learner, then two voters at once
//!
//! ```
//! use raft_core::{
//!     ConfChange, ConfChangeTransition, ConfChangeType, ConfChangeV2, ConfState, Config, Entry,
//!     Error, MemStorage, Message, RawNode, ReadyHandler,
//! };
//!
//! /// Keeps the configuration each applied change led to, as an
//! /// application stores it with its state (for snapshots).
//! struct App {
//!     conf_state: ConfState,
//! }
//!
//! impl ReadyHandler<MemStorage> for App {
//!     type Error = Error;
//!     fn send(&mut self, _messages: Vec<Message>) {}
//!     fn apply(&mut self, _committed: &[Entry]) -> Result<(), Error> {
//!         Ok(())
//!     }
//!     fn conf_changed(&mut self, _entry: &Entry, cs: &ConfState) -> Result<(), Error> {
//!         self.conf_state = cs.clone();
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut node = RawNode::new(&Config::new(1), MemStorage::with_voters([1]))?;
//! let mut app = App { conf_state: ConfState::default() };
//! node.campaign()?;
//! node.handle_readies(&mut app)?;
//!
//! // A v1 change: one node, applied directly once committed.
//! node.propose_conf_change(ConfChange::new(ConfChangeType::AddLearnerNode, 2))?;
//! node.handle_readies(&mut app)?;
//! assert_eq!(app.conf_state, ConfState::with_voters_and_learners([1], [2]));
//!
//! // Two voters at once go through a joint configuration, which the
//! // leader leaves by itself (the automatic transition).
//! let changes = ConfChangeV2::changes_from_tokens("v2 v3")?;
//! node.propose_conf_change(ConfChangeV2::new(ConfChangeTransition::Auto, changes))?;
//! node.handle_readies(&mut app)?;
//! assert_eq!(app.conf_state.voters_outgoing, vec![1], "joint: (1 2 3)&&(1)");
//! # Ok(())
//! # }
//! ```
//!
//! The joint configuration is left once nodes 2 and 3 (which this example
//! does not run) have the leave entry: it needs a majority of `(1 2 3)`.

mod changer;
mod protobuf;
mod types;

pub use changer::Changer;
pub use types::{
    AnyConfChange, ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2,
};

use thiserror::Error;

/// Why a membership change could not be decoded or applied. Applying never
/// changes anything when it fails.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfChangeError {
    /// A joint configuration cannot be entered again before it is left.
    #[error("config is already joint")]
    AlreadyJoint,
    /// Only a configuration with voters can become joint.
    #[error("can't make a zero-voter config joint")]
    ZeroVoterJoint,
    /// Leaving a joint configuration needs one.
    #[error("can't leave a non-joint config")]
    NotJoint,
    /// A direct (not joint) change was asked for while joint.
    #[error("can't apply simple config change in joint config")]
    SimpleWhileJoint,
    /// A direct change may change at most one voter; more need a joint
    /// configuration.
    #[error("more than one voter changed without entering joint config")]
    TooManyVoterChanges,
    /// The change would leave no voter.
    #[error("removed all voters")]
    RemovedAllVoters,
    /// The resulting configuration breaks an invariant (a bug, or a
    /// corrupted configuration to restore).
    #[error("invalid configuration: {0}")]
    Invariant(String),
    /// The entry's payload is not a valid encoded change.
    #[error("cannot decode conf change: {0}")]
    Decode(String),
    /// A token of etcd's `v1 l2 r3 u4` notation is too short.
    #[error("unknown token {0}")]
    Token(String),
    /// A token of etcd's notation starts with a letter other than `v`,
    /// `l`, `r` or `u`.
    #[error("unknown input: {0}")]
    UnknownInput(String),
    /// A token's node id is not a number.
    #[error("strconv.ParseUint: parsing {0}: invalid syntax")]
    NodeId(String),
}
