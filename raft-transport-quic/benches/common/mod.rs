//! What the QUIC benches share: a pair of nodes on loopback.

use raft_transport_quic::dev_certs::DevCa;
use raft_transport_quic::{Config, QuicTransport};

/// Nodes 1 and 2 bound on loopback with development certificates, each
/// configured with the other as a peer; `tune` adjusts both configs.
pub fn quic_pair(tune: impl Fn(&mut Config)) -> (QuicTransport, QuicTransport) {
    let ca = DevCa::new().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let config = |id| {
        let mut c = Config::new(id, any, ca.node_cert(id).unwrap());
        tune(&mut c);
        c
    };
    let a = QuicTransport::bind(config(1)).unwrap();
    let b = QuicTransport::bind(config(2)).unwrap();
    a.set_peer(2, b.local_addr());
    b.set_peer(1, a.local_addr());
    (a, b)
}
