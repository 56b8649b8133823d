//! What carries a delivered message from its sender to its recipient.
//!
//! The environment decides *which* messages are delivered and in what order
//! (etcd's order); a [`Wire`] only moves each one. The in-memory wire hands
//! the message over as is; network wires (QUIC, or any [`Transport`] through
//! [`TransportWire`]) encode it, send it through real endpoints and decode
//! it on the other side, so a script's output proves the message survived
//! the trip unchanged.

use crate::kit::BoxError;
use raft_core::{Message, NodeId, Transport, TransportEvent};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Moves one message across a transport and returns it as the recipient
/// received it.
///
/// Implement it to run the interaction scripts over your own transport: the
/// environment calls `carry` once per delivered message, in etcd's delivery
/// order, and steps the recipient with what it returns. A wire must deliver
/// the message it was given, unchanged, or fail: the scripts' output then
/// shows any field the transport lost or altered.
pub trait Wire {
    /// Carries `message` from `message.from` to `message.to`.
    fn carry(&mut self, message: Message) -> Result<Message, WireError>;
}

/// A message that could not be carried.
#[derive(Debug, thiserror::Error)]
#[error("transport failed to carry {message}: {reason}")]
pub struct WireError {
    /// The message, described (`MsgApp 1->2`).
    pub message: String,
    /// What went wrong.
    pub reason: String,
}

impl WireError {
    /// The error for `message`, which could not be carried for `reason`.
    pub fn new(message: &Message, reason: impl fmt::Display) -> WireError {
        WireError {
            message: format!("{} {}->{}", message.msg_type, message.from, message.to),
            reason: reason.to_string(),
        }
    }
}

/// Hands messages over in process.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryWire;

impl Wire for MemoryWire {
    fn carry(&mut self, message: Message) -> Result<Message, WireError> {
        Ok(message)
    }
}

/// A named, shareable source of wires: each environment (each script run)
/// gets a fresh one. Cloning shares the constructor.
#[derive(Clone)]
pub struct WireSource {
    name: String,
    make: Arc<MakeWire>,
}

type MakeWire = dyn Fn() -> Result<Box<dyn Wire>, BoxError> + Send + Sync;

impl WireSource {
    /// Wires made by `make`, called `name` in reports.
    pub fn new<W, F>(name: impl Into<String>, make: F) -> WireSource
    where
        W: Wire + 'static,
        F: Fn() -> Result<W, BoxError> + Send + Sync + 'static,
    {
        WireSource {
            name: name.into(),
            make: Arc::new(move || Ok(Box::new(make()?) as Box<dyn Wire>)),
        }
    }

    /// Messages handed over in process.
    pub fn memory() -> WireSource {
        WireSource::new("memory", || Ok(MemoryWire))
    }

    /// Messages carried over QUIC with mutual TLS on 127.0.0.1.
    #[cfg(feature = "quic")]
    pub fn quic() -> WireSource {
        WireSource::new("quic", || Ok(super::quic::QuicWire::default()))
    }

    /// The transport `raft-script --transport NAME` means: `mem` (or
    /// `memory`), or `quic` when built with the `quic` feature.
    pub fn by_name(name: &str) -> Result<WireSource, super::UnknownBackend> {
        match name {
            "mem" | "memory" => Ok(WireSource::memory()),
            #[cfg(feature = "quic")]
            "quic" => Ok(WireSource::quic()),
            #[cfg(not(feature = "quic"))]
            "quic" => Err(super::UnknownBackend::NotBuilt {
                kind: "transport",
                name: name.to_string(),
                feature: "quic",
            }),
            _ => Err(super::UnknownBackend::Unknown {
                kind: "transport",
                name: name.to_string(),
            }),
        }
    }

    /// The name given at construction.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh wire.
    pub fn create(&self) -> Result<Box<dyn Wire>, BoxError> {
        (self.make)()
    }
}

impl Default for WireSource {
    fn default() -> WireSource {
        WireSource::memory()
    }
}

impl fmt::Debug for WireSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WireSource({})", self.name)
    }
}

/// A [`Wire`] over any synchronous-polling [`Transport`]: each message is
/// sent from the sender's endpoint and awaited, by polling
/// [`Transport::try_recv`], at the recipient's.
///
/// Endpoints are made on first use by `connect(node_id)`, which must return
/// an endpoint that can reach every endpoint made before it (and be reached
/// by them). Transports that need an async runtime to make progress are
/// better wrapped in a [`Wire`] of their own that drives that runtime, as
/// the QUIC wire does.
pub struct TransportWire<T, C> {
    connect: C,
    endpoints: HashMap<NodeId, T>,
    timeout: Duration,
}

impl<T, C> TransportWire<T, C>
where
    T: Transport,
    C: FnMut(NodeId) -> Result<T, BoxError>,
{
    /// A wire whose endpoints come from `connect`; each message must arrive
    /// within `timeout`.
    pub fn new(connect: C, timeout: Duration) -> TransportWire<T, C> {
        TransportWire {
            connect,
            endpoints: HashMap::new(),
            timeout,
        }
    }

    fn ensure(&mut self, id: NodeId) -> Result<(), BoxError> {
        if !self.endpoints.contains_key(&id) {
            let endpoint = (self.connect)(id)?;
            self.endpoints.insert(id, endpoint);
        }
        Ok(())
    }
}

impl<T, C> Wire for TransportWire<T, C>
where
    T: Transport,
    C: FnMut(NodeId) -> Result<T, BoxError>,
{
    fn carry(&mut self, message: Message) -> Result<Message, WireError> {
        let (from, to) = (message.from, message.to);
        if from == to {
            return Err(WireError::new(
                &message,
                "sender and recipient are the same node",
            ));
        }
        self.ensure(from)
            .and_then(|()| self.ensure(to))
            .map_err(|e| WireError::new(&message, format!("cannot make an endpoint: {e}")))?;
        let what = message.clone();
        let [Some(sender), Some(recipient)] = self.endpoints.get_disjoint_mut([&from, &to]) else {
            return Err(WireError::new(&what, "endpoint missing"));
        };
        sender.send(vec![message]);
        let deadline = Instant::now() + self.timeout;
        loop {
            match recipient.try_recv() {
                Some(TransportEvent::Message(m)) => return Ok(m),
                // A report about some earlier message; this one may still arrive.
                Some(_) => continue,
                None => {}
            }
            if let Some(TransportEvent::Unreachable(peer)) = sender.try_recv() {
                if peer == to {
                    return Err(WireError::new(
                        &what,
                        format!("node {from} reports {to} unreachable"),
                    ));
                }
            }
            if Instant::now() >= deadline {
                return Err(WireError::new(
                    &what,
                    format!("not delivered within {:?}", self.timeout),
                ));
            }
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{Entry, MemNetwork, MessageType};

    #[test]
    fn a_transport_wire_over_the_memory_network_delivers_unchanged() {
        let net = MemNetwork::new(16);
        let mut wire = TransportWire::new(|id| Ok(net.join(id)), Duration::from_secs(5));
        let mut m = Message::new(MessageType::MsgApp);
        (m.from, m.to, m.term, m.index) = (1, 2, 3, 4);
        let mut e = Entry::new(&b"data"[..]);
        (e.term, e.index) = (3, 5);
        m.entries = vec![e];
        assert_eq!(wire.carry(m.clone()).unwrap(), m);
        let mut self_msg = Message::new(MessageType::MsgHeartbeat);
        (self_msg.from, self_msg.to) = (2, 2);
        assert!(wire.carry(self_msg).is_err());
    }

    #[test]
    fn a_transport_that_loses_the_message_times_out_with_an_error() {
        let net = MemNetwork::new(16);
        net.cut(1, 2);
        let mut wire = TransportWire::new(|id| Ok(net.join(id)), Duration::from_millis(50));
        let mut m = Message::new(MessageType::MsgHeartbeat);
        (m.from, m.to) = (1, 2);
        let err = wire.carry(m).unwrap_err();
        assert!(err.to_string().contains("MsgHeartbeat 1->2"), "{err}");
    }

    #[test]
    fn names_the_build_cannot_provide_are_refused_clearly() {
        assert!(matches!(
            WireSource::by_name("pigeon"),
            Err(crate::env::UnknownBackend::Unknown { .. })
        ));
        #[cfg(not(feature = "quic"))]
        assert!(WireSource::by_name("quic")
            .unwrap_err()
            .to_string()
            .contains("--features quic"));
    }
}
