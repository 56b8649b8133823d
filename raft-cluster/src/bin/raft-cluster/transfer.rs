//! Leadership transfer under load, as an operator does before maintenance:
//! how long the cluster goes without a leader.

use crate::AnyError;
use raft_cluster::cluster::LocalCluster;
use raft_core::Role;
use std::time::{Duration, Instant};

/// Once the leader has applied `at` entries, moves leadership to another
/// node and returns a line saying how long no node led: from the old
/// leader stepping down (on the transferee's vote request) to the
/// transferee winning.
pub async fn transfer_under_load(cluster: &LocalCluster, at: u64) -> Result<String, AnyError> {
    let old = cluster
        .wait_for_leader(Duration::from_secs(10))
        .await?
        .clone();
    old.wait_for(|m| m.applied >= at).await?;
    let to = cluster
        .nodes
        .iter()
        .find(|n| n.id() != old.id())
        .ok_or("no other node to transfer to")?
        .clone();
    let asked = Instant::now();
    // Both watches see every change of role, so neither instant is missed.
    let stepped_down = async {
        old.wait_for(|m| m.role != Role::Leader).await?;
        Ok::<_, AnyError>(Instant::now())
    };
    let elected = async {
        to.wait_for(|m| m.role == Role::Leader).await?;
        Ok::<_, AnyError>(Instant::now())
    };
    let (moved, down, up) = tokio::join!(old.transfer_leader(to.id()), stepped_down, elected);
    moved?;
    let (down, up) = (down?, up?);
    Ok(format!(
        "transferred leadership from node {} to node {} under load in {:.1?}; no leader for {:.1?}",
        old.id(),
        to.id(),
        up.duration_since(asked),
        up.saturating_duration_since(down)
    ))
}
