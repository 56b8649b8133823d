//! Quorum arithmetic: which index a majority has reached, and whether a vote
//! is won, lost or still open. Pure functions over a voter set, so they can be
//! tested exhaustively (see the proptests), and the joint configurations of
//! membership changes built from two of them ([`JointConfig`]).

mod joint;
mod majority;

pub use joint::JointConfig;
pub(crate) use majority::majority_index;
pub use majority::MajorityConfig;

/// The outcome of counting votes so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    /// Neither outcome is decided yet: enough voters have not answered.
    Pending,
    /// A majority can no longer be reached.
    Lost,
    /// A majority granted.
    Won,
}
