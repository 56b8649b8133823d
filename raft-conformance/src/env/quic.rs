//! [`QuicWire`]: messages carried over real QUIC connections on 127.0.0.1
//! (the `quic` feature).

use super::wire::{Wire, WireError};
use raft_core::{Message, NodeId, Transport, TransportEvent};
use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{Config, QuicTransport};
use std::collections::HashMap;
use std::time::Duration;

/// How long one message may take to cross the QUIC wire (a first message
/// between two nodes includes their handshake).
pub const QUIC_CARRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends every message from the sender's QUIC endpoint to the recipient's,
/// over 127.0.0.1 with mutual TLS, and returns what the recipient decoded.
///
/// Endpoints are created on first use, one per node id, with certificates
/// from a throwaway CA. The wire owns a single-threaded tokio runtime that
/// runs only while a message is being carried, so nothing happens between
/// commands and etcd's delivery order is kept: one message at a time.
#[derive(Default)]
pub struct QuicWire {
    net: Option<QuicNet>,
}

struct QuicNet {
    // Field order matters: endpoints close before the runtime goes away.
    nodes: HashMap<NodeId, QuicTransport>,
    ca: DevCa,
    runtime: tokio::runtime::Runtime,
}

impl QuicNet {
    fn new() -> Result<QuicNet, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
        let ca = DevCa::new().map_err(|e| e.to_string())?;
        Ok(QuicNet {
            nodes: HashMap::new(),
            ca,
            runtime,
        })
    }

    /// Starts `id`'s endpoint if it has none, and introduces it to the rest.
    fn ensure(&mut self, id: NodeId) -> Result<(), String> {
        if self.nodes.contains_key(&id) {
            return Ok(());
        }
        let tls = self.ca.node_cert(id).map_err(|e| e.to_string())?;
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let mut config = Config::new(id, loopback, tls);
        // The runtime sleeps between commands; a slow script must not look
        // like a dead peer.
        config.idle_timeout = Duration::from_secs(600);
        config.keep_alive = Duration::from_secs(60);
        let _entered = self.runtime.enter();
        let node = QuicTransport::bind(config).map_err(|e| e.to_string())?;
        for other in self.nodes.values() {
            other.set_peer(id, node.local_addr());
            node.set_peer(other.id(), other.local_addr());
        }
        self.nodes.insert(id, node);
        Ok(())
    }

    fn carry(&mut self, message: Message) -> Result<Message, String> {
        let (from, to) = (message.from, message.to);
        if from == to {
            return Err("sender and recipient are the same node".to_string());
        }
        // The runtime's tasks run on this thread, whose subscriber prints
        // into the script's output; the transport's own logs are not
        // protocol output, so they are silenced while it works.
        let _quiet = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
        self.ensure(from)?;
        self.ensure(to)?;
        let [Some(sender), Some(recipient)] = self.nodes.get_disjoint_mut([&from, &to]) else {
            return Err("endpoint missing".to_string());
        };
        self.runtime.block_on(async {
            sender.send(vec![message]);
            let arrival = async {
                loop {
                    tokio::select! {
                        event = recipient.recv() => match event {
                            Some(TransportEvent::Message(m)) => return Ok(m),
                            // A report about some earlier message; this one
                            // may still arrive.
                            Some(_) => {}
                            None => return Err(format!("node {to}'s endpoint shut down")),
                        },
                        event = sender.recv() => match event {
                            Some(TransportEvent::Unreachable(peer)) if peer == to => {
                                return Err(format!("node {from} reports {to} unreachable"));
                            }
                            Some(_) => {}
                            None => return Err(format!("node {from}'s endpoint shut down")),
                        },
                    }
                }
            };
            tokio::time::timeout(QUIC_CARRY_TIMEOUT, arrival)
                .await
                .map_err(|_| format!("not delivered within {QUIC_CARRY_TIMEOUT:?}"))?
        })
    }
}

impl Wire for QuicWire {
    fn carry(&mut self, message: Message) -> Result<Message, WireError> {
        let what = format!("{} {}->{}", message.msg_type, message.from, message.to);
        let net = match &mut self.net {
            Some(net) => net,
            None => self.net.insert(QuicNet::new().map_err(|reason| WireError {
                message: what.clone(),
                reason,
            })?),
        };
        net.carry(message).map_err(|reason| WireError {
            message: what,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{Entry, MessageType};

    #[test]
    fn the_quic_wire_returns_what_the_recipient_decoded() {
        let mut wire = QuicWire::default();
        let mut m = Message::new(MessageType::MsgApp);
        (m.from, m.to, m.term, m.index, m.commit) = (1, 3, 2, 5, 4);
        m.entries = vec![Entry {
            term: 2,
            index: 6,
            ..Entry::new(&b"payload"[..])
        }];
        assert_eq!(wire.carry(m.clone()).unwrap(), m);
        let mut back = Message::new(MessageType::MsgAppResp);
        (back.from, back.to, back.index, back.reject) = (3, 1, 6, true);
        assert_eq!(wire.carry(back.clone()).unwrap(), back);
    }

    #[test]
    fn a_message_to_its_own_sender_is_an_error_not_a_hang() {
        let mut wire = QuicWire::default();
        let mut m = Message::new(MessageType::MsgHeartbeat);
        (m.from, m.to) = (2, 2);
        let err = wire.carry(m).unwrap_err();
        assert!(err.reason.contains("same node"), "{err}");
    }
}
