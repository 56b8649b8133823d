//! When the append threads of nodes with async storage writes sync.

use super::{RunStats, Sim};
use crate::checker::Violation;
use crate::node::{Input, SimNode};
use crate::rng::Rng;
use crate::schedule::stream;

impl Sim {
    /// At each time unit of the fault phase, every node with queued writes
    /// syncs them with the seed's chance; after it, at once. Drawn from the node and the time, as crash losses
    /// are, so that the shrinker's removals elsewhere leave a node's syncs
    /// where they were while it has writes queued.
    pub(super) fn sync_append_threads(&mut self) -> Result<(), Violation> {
        // Once the faults end, disks are prompt as the network is reliable:
        // the liveness bounds assume a healthy cluster, and a slow sync per
        // entry (with one entry per append) would not fit in them.
        let rate = if self.now >= self.schedule.heal_at {
            1000
        } else {
            self.schedule.profile.sync_per_mille
        };
        for i in 0..self.nodes.len() {
            if !self.nodes[i].has_pending_appends() {
                continue;
            }
            let id = i as u64 + 1;
            let key = self.seed ^ self.now.rotate_left(32);
            if Rng::stream(key, stream::SYNC + id).chance(rate) {
                self.note(|| format!("n{id} append thread syncs"));
                self.feed(id, Input::Sync)?;
            }
        }
        Ok(())
    }
}

/// Adds `node`'s append thread counters to the run's.
pub(super) fn count_async(stats: &mut RunStats, node: &SimNode) {
    if !node.is_async() {
        return;
    }
    let c = node.async_counts();
    stats.async_nodes += 1;
    stats.syncs += c.syncs;
    stats.writes_synced += c.writes_synced;
    stats.async_writes_lost += c.writes_lost;
}
