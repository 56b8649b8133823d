//! The application side of replication.

use bytes::Bytes;

/// What committed entries are applied to. Called from the Raft loop in log
/// order, once per committed proposal; keep it quick (hand heavy work to
/// another task), since the loop does nothing else meanwhile.
pub trait StateMachine: Send + 'static {
    /// Applies the entry committed at `index`, with the payload the proposer gave.
    fn apply(&mut self, index: u64, data: &Bytes);
}

/// A state machine that only counts and remembers the last index, for
/// benchmarks and tests that care about replication, not state.
#[derive(Clone, Debug, Default)]
pub struct NullStateMachine {
    /// Entries applied so far.
    pub applied: u64,
    /// The index of the last entry applied.
    pub last_index: u64,
}

impl StateMachine for NullStateMachine {
    fn apply(&mut self, index: u64, _data: &Bytes) {
        self.applied += 1;
        self.last_index = index;
    }
}

impl<F: FnMut(u64, &Bytes) + Send + 'static> StateMachine for F {
    fn apply(&mut self, index: u64, data: &Bytes) {
        self(index, data)
    }
}
