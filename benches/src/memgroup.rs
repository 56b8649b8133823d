//! Three (or more) raft-core nodes in one thread with in-memory logs and
//! message passing: the protocol's cost with no I/O at all.

use bytes::Bytes;
use raft_core::{Config, Entry, MemStorage, Message, RawNode, ReadyHandler, Role};

/// A group of raft-core nodes in one thread, with in-memory logs and messages passed by hand.
pub struct MemGroup {
    nodes: Vec<RawNode<MemStorage>>,
    /// Each Ready's messages, kept as the Ready handed them out (moving
    /// them into one list would copy every message once more).
    in_flight: Vec<Vec<Message>>,
}

impl MemGroup {
    /// `n` voters with node 1 elected leader.
    pub fn new(n: u64) -> raft_core::Result<MemGroup> {
        let mut nodes = Vec::new();
        for id in 1..=n {
            let config = {
                let mut cfg = Config::new(id);
                cfg.random_seed = Some(id);
                cfg.max_inflight_msgs = 256;
                cfg
            };
            nodes.push(RawNode::new(&config, MemStorage::with_voters(1..=n))?);
        }
        let mut group = MemGroup {
            nodes,
            in_flight: Vec::new(),
        };
        group.nodes[0].campaign()?;
        group.stabilize()?;
        Ok(group)
    }

    /// Whether node 1 leads.
    pub fn leader_is_one(&self) -> bool {
        self.nodes[0].status().soft_state.role == Role::Leader
    }

    /// The commit index of the node at position `node`.
    pub fn committed(&self, node: usize) -> u64 {
        self.nodes[node].status().hard_state.commit
    }

    /// Proposes `count` copies of `payload` at the leader and runs the group
    /// until every node has committed them and nothing is left to do.
    pub fn replicate(&mut self, count: usize, payload: &Bytes) -> raft_core::Result<()> {
        for _ in 0..count {
            self.nodes[0].propose(payload.clone())?;
        }
        self.stabilize()
    }

    /// Handles Readies and delivers messages until the group is quiet.
    pub fn stabilize(&mut self) -> raft_core::Result<()> {
        loop {
            let mut busy = false;
            for node in &mut self.nodes {
                let mut queue = Queue(&mut self.in_flight);
                busy |= node.handle_readies(&mut queue)? > 0;
            }
            // Batch by batch: flattening moves every message once more.
            for batch in std::mem::take(&mut self.in_flight) {
                for m in batch {
                    busy = true;
                    let to = (m.to - 1) as usize;
                    self.nodes[to].step(m)?;
                }
            }
            if !busy {
                return Ok(());
            }
        }
    }
}

/// Queues each batch of a Ready's messages as it comes; writes go to the
/// node's `MemStorage`, and nothing is applied.
struct Queue<'a>(&'a mut Vec<Vec<Message>>);

impl ReadyHandler<MemStorage> for Queue<'_> {
    type Error = raft_core::Error;

    fn send(&mut self, messages: Vec<Message>) {
        self.0.push(messages);
    }

    fn apply(&mut self, _committed: &[Entry]) -> raft_core::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicate_commits_everywhere() {
        let mut g = MemGroup::new(3).unwrap();
        assert!(g.leader_is_one());
        let before = g.committed(0);
        g.replicate(64, &Bytes::from(vec![7u8; 256])).unwrap();
        for node in 0..3 {
            assert_eq!(g.committed(node), before + 64);
        }
    }
}
