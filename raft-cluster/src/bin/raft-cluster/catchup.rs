//! The demo's second part: a follower stopped while the leader compacts
//! past it is caught up by snapshot when it restarts.

use crate::AnyError;
use raft_cluster::cluster::{LocalCluster, StorageKind, TransportKind};
use raft_cluster::load::{run_load, LoadSpec};
use raft_node::SnapshotPolicy;
use std::time::{Duration, Instant};

/// How the catch-up phase runs.
pub struct CatchUp {
    pub nodes: u64,
    pub snapshot_every: u64,
    pub keep: u64,
    pub entry_size: usize,
    pub proposers: usize,
}

pub async fn run(plan: CatchUp) -> Result<(), AnyError> {
    let mut policy = SnapshotPolicy::every_entries(plan.snapshot_every);
    policy.catch_up_entries = plan.keep;
    println!(
        "catch-up by snapshot: {} fresh nodes, a snapshot every {} entries keeping {} behind it",
        plan.nodes, plan.snapshot_every, plan.keep
    );
    let mut cluster = LocalCluster::start_with(
        plan.nodes,
        StorageKind::Rocks,
        TransportKind::Quic,
        None,
        policy,
    )
    .await?;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await?.id();
    let spec = |entries| LoadSpec {
        entries,
        entry_size: plan.entry_size,
        proposers: plan.proposers,
    };
    let follower = cluster
        .nodes
        .iter()
        .map(|n| n.id())
        .find(|id| *id != leader)
        .ok_or("no follower")?;
    // One interval first, so that the follower also has a snapshot of its
    // own to restore when it restarts.
    run_load(&cluster, &spec(plan.snapshot_every), None).await?;
    let own = &cluster.nodes[follower as usize - 1];
    tokio::time::timeout(
        Duration::from_secs(10),
        own.wait_for(|m| m.snapshots.made >= 1),
    )
    .await
    .map_err(|_| format!("follower {follower} made no snapshot of its own"))??;
    cluster.stop_node(follower).await?;
    let stopped_at = cluster.nodes[follower as usize - 1].metrics().applied;
    println!("stopped follower {follower} at applied index {stopped_at}");

    // Propose in rounds until the leader's log no longer holds what the
    // stopped follower needs next.
    let mut proposed = 0;
    let compacted = loop {
        let leader = cluster.wait_for_leader(Duration::from_secs(10)).await?;
        // The last round's snapshot is stored just after its last entry
        // applied; give it that moment before proposing another round.
        let past = |m: &raft_node::Metrics| m.snapshots.compacted_to > stopped_at;
        if let Ok(Ok(m)) =
            tokio::time::timeout(Duration::from_millis(500), leader.wait_for(past)).await
        {
            break m.snapshots.compacted_to;
        }
        if proposed > 20 * plan.snapshot_every {
            return Err(format!(
                "the leader did not compact past index {stopped_at} after {proposed} entries"
            )
            .into());
        }
        run_load(&cluster, &spec(plan.snapshot_every), None).await?;
        proposed += plan.snapshot_every;
    };
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .await?
        .clone();
    println!(
        "proposed {proposed} more entries; leader {} snapshotted at {} and compacted its log to {compacted}, past the follower",
        leader.id(),
        leader.metrics().snapshots.last_index
    );

    let restarted = Instant::now();
    let node = cluster.restart_node(follower).await?.clone();
    let at_start = node.metrics();
    if at_start.snapshots.restored != 1 {
        return Err(
            format!("restarted follower {follower} did not restore its own snapshot").into(),
        );
    }
    println!(
        "restarted follower {follower}: restored its own snapshot at index {}, its log starts after {}",
        at_start.snapshots.last_index, at_start.snapshots.compacted_to
    );
    let last = leader
        .propose(raft_cluster::load::payload(u64::MAX, plan.entry_size))
        .await?;
    for n in &cluster.nodes {
        tokio::time::timeout(Duration::from_secs(20), n.wait_for(|m| m.applied >= last))
            .await
            .map_err(|_| format!("node {} did not apply index {last} within 20 s", n.id()))??;
    }
    let m = node.metrics();
    println!(
        "follower {follower} caught up to index {last} in {:.0?}: leader sent {} MsgSnap, follower received {} and restored {} (snapshot at index {})",
        restarted.elapsed(),
        leader.metrics().snapshots.sent,
        m.snapshots.received,
        m.snapshots.restored - at_start.snapshots.restored,
        m.snapshots.last_index
    );
    if m.snapshots.received == 0 || m.snapshots.restored <= at_start.snapshots.restored {
        return Err(format!(
            "follower {follower} caught up without a snapshot from the leader: {:?}",
            m.snapshots
        )
        .into());
    }
    if m.snapshots.last_index <= stopped_at {
        return Err(format!(
            "follower {follower} restored a snapshot at {} that does not cover the gap after {stopped_at}",
            m.snapshots.last_index
        )
        .into());
    }

    let states: Vec<_> = cluster
        .nodes
        .iter()
        .map(|n| (n.id(), cluster.state(n.id())))
        .collect();
    let reference = states[0].1.ok_or("no state for node 1")?;
    for (id, state) in &states {
        if *state != Some(reference) {
            return Err(
                format!("node {id}'s state {state:?} differs from node 1's {reference:?}").into(),
            );
        }
    }
    println!(
        "state equal on all {} nodes: {} payloads applied, checksum {:016x} at index {}",
        states.len(),
        reference.count,
        reference.sum,
        reference.last_index
    );
    cluster.shutdown().await?;
    Ok(())
}
