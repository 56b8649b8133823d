//! Keeps a node's QUIC peers in step with the group's membership: each
//! member added by a change carries its address (`IP:PORT`, UTF-8) in the
//! change's context; a removed member's connections are closed.

use raft_core::NodeId;
use raft_node::{Membership, NodeHandle};
use raft_transport_quic::PeerControl;
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// Starts a task that follows `node`'s membership and updates `control`'s
/// peers; it ends when the node stops.
pub fn follow(node: &NodeHandle, control: PeerControl) {
    let mut rx = node.watch_membership();
    let me = node.id();
    tokio::spawn(async move {
        loop {
            let current = rx.borrow_and_update().clone();
            update_peers(me, &current, &control);
            if rx.changed().await.is_err() {
                return;
            }
        }
    });
}

fn update_peers(me: NodeId, m: &Membership, control: &PeerControl) {
    for (id, address) in &m.addresses {
        match std::str::from_utf8(address)
            .ok()
            .and_then(|a| a.parse::<SocketAddr>().ok())
        {
            Some(addr) => control.set_peer(*id, addr),
            None => tracing::warn!(me, peer = id, "member address is not IP:PORT; ignored"),
        }
    }
    let cs = &m.conf_state;
    let members: BTreeSet<NodeId> = cs
        .voters
        .iter()
        .chain(&cs.voters_outgoing)
        .chain(&cs.learners)
        .chain(&cs.learners_next)
        .copied()
        .collect();
    // A node that has not yet learnt the group (a new member before its
    // first snapshot) knows no members: it keeps the peers it was given.
    if members.is_empty() || !members.contains(&me) {
        return;
    }
    for (id, _) in control.peers() {
        if !members.contains(&id) {
            control.remove_peer(id);
        }
    }
}
