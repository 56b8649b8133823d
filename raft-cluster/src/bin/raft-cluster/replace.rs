//! The demo's third part: a node replaced while load runs. Node 4 joins
//! as a learner, catches up by snapshot, is promoted, and node 1 is
//! removed; throughput is printed before, during and after.

use crate::AnyError;
use raft_cluster::cluster::{LocalCluster, StorageKind, TransportKind};
use raft_cluster::load::{run_load, LoadReport, LoadSpec};
use raft_node::{Membership, MembershipError, NodeHandle, SnapshotPolicy};
use std::time::{Duration, Instant};

/// How the replacement phase runs.
pub struct Replace {
    pub snapshot_every: u64,
    pub keep: u64,
    pub entries: u64,
    pub entry_size: usize,
    pub proposers: usize,
}

fn line(what: &str, r: &LoadReport) {
    println!(
        "  {what:<7} {:>6} entries in {:>8.2?}: {:>7.0} entries/s, p99 {:.2?}, {} retries",
        r.acks.len(),
        r.elapsed,
        r.throughput(),
        r.percentile(99.0),
        r.retries
    );
}

pub async fn run(plan: Replace) -> Result<(), AnyError> {
    let mut policy = SnapshotPolicy::every_entries(plan.snapshot_every);
    policy.catch_up_entries = plan.keep;
    println!("node replacement under load: 3 nodes; node 4 joins as a learner, is promoted, node 1 is removed");
    let mut cluster =
        LocalCluster::start_with(3, StorageKind::Rocks, TransportKind::Quic, None, policy).await?;
    cluster.wait_for_leader(Duration::from_secs(10)).await?;
    let spec = LoadSpec {
        entries: plan.entries,
        entry_size: plan.entry_size,
        proposers: plan.proposers,
    };
    let before = run_load(&cluster, &spec, None).await?;

    let (new_id, address) = cluster.add_node().await?;
    let old_id = 1;
    let handles: Vec<NodeHandle> = cluster.nodes.clone();
    let newcomer = handles[new_id as usize - 1].clone();
    let steps = async {
        let t = Instant::now();
        change(&handles, |l| {
            let address = address.clone();
            async move { l.add_learner(new_id, address).await }
        })
        .await?;
        println!(
            "  added node {new_id} ({address}) as a learner after {:.0?}",
            t.elapsed()
        );
        // Caught up: it restored a snapshot and applied what the leader had
        // committed when it looked.
        let target = leader(&handles).await?.metrics().commit;
        tokio::time::timeout(
            Duration::from_secs(20),
            newcomer.wait_for(|m| m.snapshots.restored >= 1 && m.applied >= target),
        )
        .await
        .map_err(|_| format!("node {new_id} did not catch up within 20 s"))??;
        let m = newcomer.metrics();
        println!(
            "  node {new_id} caught up to index {} by snapshot (restored {}, snapshot at {}) after {:.0?}",
            m.applied, m.snapshots.restored, m.snapshots.last_index, t.elapsed()
        );
        change(&handles, |l| async move { l.promote(new_id).await }).await?;
        println!(
            "  promoted node {new_id} to voter after {:.0?}",
            t.elapsed()
        );
        let m = change(&handles, |l| async move { l.remove(old_id).await }).await?;
        println!(
            "  removed node {old_id} after {:.0?}: voters {:?}",
            t.elapsed(),
            m.conf_state.voters
        );
        Ok::<(), AnyError>(())
    };
    let (during, steps) = tokio::join!(run_load(&cluster, &spec, None), steps);
    steps?;
    let during = during?;
    cluster.stop_node(old_id).await?;
    let after = run_load(&cluster, &spec, None).await?;
    println!(
        "throughput ({} proposers, {} bytes):",
        plan.proposers, plan.entry_size
    );
    line("before", &before);
    line("during", &during);
    line("after", &after);

    // Everyone left applies one last entry, then the states are compared.
    let survivors: Vec<&NodeHandle> = cluster.nodes.iter().filter(|n| n.id() != old_id).collect();
    let last = leader(&handles)
        .await?
        .propose(raft_cluster::load::payload(u64::MAX, plan.entry_size))
        .await?;
    for n in &survivors {
        tokio::time::timeout(Duration::from_secs(20), n.wait_for(|m| m.applied >= last))
            .await
            .map_err(|_| format!("node {} did not apply index {last}", n.id()))??;
        let m = n.membership();
        if m.is_voter(old_id) || !m.is_voter(new_id) {
            return Err(format!("node {} has membership {:?}", n.id(), m.conf_state).into());
        }
    }
    let states: Vec<_> = survivors.iter().map(|n| cluster.state(n.id())).collect();
    if states.windows(2).any(|w| w[0] != w[1]) || states.iter().any(Option::is_none) {
        return Err(format!("the members' states differ: {states:?}").into());
    }
    let expected = before.acks.len() + during.acks.len() + after.acks.len() + 1;
    if let Some(Some(s)) = states.first() {
        if s.count < expected as u64 {
            return Err(format!("{} payloads applied, {expected} acknowledged", s.count).into());
        }
        println!(
            "members 2, 3, {new_id} agree: {} payloads (the {expected} acknowledged, and {} retried after their proposer dropped them), checksum {:016x} at index {}",
            s.count, s.count - expected as u64, s.sum, s.last_index
        );
    }
    cluster.shutdown().await?;
    Ok(())
}

async fn leader(nodes: &[NodeHandle]) -> Result<NodeHandle, AnyError> {
    let start = Instant::now();
    loop {
        if let Some(n) = nodes
            .iter()
            .find(|n| n.metrics().role == raft_core::Role::Leader)
        {
            return Ok(n.clone());
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err("no leader within 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Asks whoever leads for a change, again while the leader is busy with
/// another change or is being replaced.
async fn change<F, Fut>(nodes: &[NodeHandle], ask: F) -> Result<Membership, AnyError>
where
    F: Fn(NodeHandle) -> Fut,
    Fut: std::future::Future<Output = Result<Membership, MembershipError>>,
{
    for _ in 0..500 {
        match ask(leader(nodes).await?).await {
            Ok(m) => return Ok(m),
            Err(MembershipError::ChangeInProgress | MembershipError::NotLeader { .. }) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err("the membership change was refused 500 times".into())
}
