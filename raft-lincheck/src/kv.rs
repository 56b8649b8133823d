//! A key-value store with put, get, delete and compare-and-swap: the model
//! of the project's reference service.

use crate::history::Operation;
use crate::model::Model;
use std::collections::BTreeMap;

/// A request to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KvInput {
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Write a key.
    Put {
        /// The key.
        key: String,
        /// The value written.
        value: String,
    },
    /// Remove a key.
    Delete {
        /// The key.
        key: String,
    },
    /// Write `new` if the key holds `expected` (`None`: if it is absent).
    Cas {
        /// The key.
        key: String,
        /// The value the key must hold.
        expected: Option<String>,
        /// The value written if it does.
        new: String,
    },
}

impl KvInput {
    /// The key the request is about.
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get { key }
            | KvInput::Put { key, .. }
            | KvInput::Delete { key }
            | KvInput::Cas { key, .. } => key,
        }
    }
}

/// The store's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KvOutput {
    /// What a get read (`None`: absent).
    Value(Option<String>),
    /// A put or delete took effect.
    Done,
    /// Whether a compare-and-swap swapped.
    Swapped(bool),
}

/// The key-value model; keys are checked apart.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

impl Model for KvModel {
    /// The value of the one key a partition is about.
    type State = Option<String>;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> Option<String> {
        None
    }

    fn step(
        &self,
        state: &Option<String>,
        input: &KvInput,
        output: Option<&KvOutput>,
    ) -> Vec<Option<String>> {
        match (input, output) {
            (KvInput::Get { .. }, None) => vec![state.clone()],
            (KvInput::Get { .. }, Some(KvOutput::Value(read))) if read == state => {
                vec![state.clone()]
            }
            (KvInput::Put { value, .. }, None | Some(KvOutput::Done)) => vec![Some(value.clone())],
            (KvInput::Delete { .. }, None | Some(KvOutput::Done)) => vec![None],
            (KvInput::Cas { expected, new, .. }, output) => {
                let matches = expected == state;
                match output {
                    None if matches => vec![Some(new.clone()), state.clone()],
                    None => vec![state.clone()],
                    Some(KvOutput::Swapped(true)) if matches => vec![Some(new.clone())],
                    Some(KvOutput::Swapped(false)) if !matches => vec![state.clone()],
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    fn partition(&self, history: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in history.iter().enumerate() {
            by_key.entry(op.input.key()).or_default().push(i);
        }
        by_key.into_values().collect()
    }
}
