//! What a checked object is: a sequential specification.

use crate::history::Operation;
use std::hash::Hash;

/// A sequential specification: the states an object can be in and how each
/// operation, with the answer a client saw, moves it.
pub trait Model {
    /// The object's state. Hashed to remember what the search has tried.
    type State: Clone + Eq + Hash;
    /// A request.
    type Input;
    /// An answer.
    type Output;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The states `input` can lead to from `state` when it answered
    /// `output` (`None`: the answer is unknown). Empty when that answer is
    /// impossible in `state`; several when the answer leaves a choice (an
    /// unanswered compare-and-swap may or may not have swapped).
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Vec<Self::State>;

    /// Groups of operations that can be checked apart (a key-value store's
    /// keys are independent objects), as positions in `history`. One group
    /// of everything by default.
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..history.len()).collect()]
    }
}
