//! What carries a delivered message from its sender to its recipient.
//!
//! The environment decides *which* messages are delivered and in what order
//! (etcd's order); a [`Wire`] only moves each one. The in-memory wire hands
//! the message over as is; network wires (QUIC) encode it, send it through
//! real endpoints and decode it on the other side, so a script's output
//! proves the message survived the trip unchanged.

use super::TransportKind;
use raft_core::Message;

/// Moves one message across a transport and returns it as the recipient
/// received it.
pub trait Wire {
    fn carry(&mut self, message: Message) -> Result<Message, WireError>;
}

/// A message that could not be carried.
#[derive(Debug, thiserror::Error)]
#[error("transport failed to carry {message}: {reason}")]
pub struct WireError {
    pub message: String,
    pub reason: String,
}

/// Hands messages over in process.
pub struct MemoryWire;

impl Wire for MemoryWire {
    fn carry(&mut self, message: Message) -> Result<Message, WireError> {
        Ok(message)
    }
}

/// The wire for `kind`.
pub fn new_wire(kind: TransportKind) -> Box<dyn Wire> {
    match kind {
        TransportKind::Memory => Box::new(MemoryWire),
    }
}
