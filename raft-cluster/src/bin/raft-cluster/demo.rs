//! The default run: a local cluster, a load with a leadership transfer in
//! it, a failover, and checks; then a follower caught up by snapshot (see
//! `catchup`); then a node replaced while load runs (see `replace`).

use crate::catchup;
use crate::logs::read_log;
use crate::transfer::transfer_under_load;
use crate::AnyError;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use raft_cluster::cluster::{LocalCluster, StorageKind, TransportKind};
use raft_cluster::failover::check_after_failover;
use raft_cluster::load::{run_load, LoadSpec};
use raft_core::Role;
use raft_node::SnapshotPolicy;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of nodes (voters).
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// Entries to replicate.
    #[arg(long, default_value_t = 100_000)]
    entries: u64,
    /// Bytes of payload per entry.
    #[arg(long, default_value_t = 256)]
    entry_size: usize,
    /// Concurrent proposers, each waiting for its proposal to commit.
    #[arg(long, default_value_t = 256)]
    proposers: usize,
    /// Where to keep the RocksDB logs (default: a temporary directory,
    /// removed at exit). Must not already hold logs.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Snapshot interval (entries) of the catch-up phase.
    #[arg(long, default_value_t = 1_000)]
    snapshot_every: u64,
    /// Entries the catch-up phase's leader keeps behind each snapshot.
    #[arg(long, default_value_t = 100)]
    catch_up_keep: u64,
    /// Skip the catch-up-by-snapshot phase.
    #[arg(long)]
    no_catch_up: bool,
    /// Entries proposed in each of the replacement phase's three parts
    /// (before, during and after the replacement).
    #[arg(long, default_value_t = 20_000)]
    replace_entries: u64,
    /// Skip the node-replacement phase.
    #[arg(long)]
    no_replace: bool,
}

pub async fn run(args: DemoArgs) -> Result<(), AnyError> {
    if args.nodes < 3 {
        return Err("the failover check needs at least 3 nodes".into());
    }
    println!(
        "starting {} nodes: RocksDB logs, QUIC on 127.0.0.1 with development certificates",
        args.nodes
    );
    let started = Instant::now();
    // The failover check below reads every log whole from disk, so this
    // phase keeps them whole; the catch-up phase compacts.
    let cluster = LocalCluster::start_with(
        args.nodes,
        StorageKind::Rocks,
        TransportKind::Quic,
        args.data_dir,
        SnapshotPolicy::disabled(),
    )
    .await?;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await?;
    println!(
        "node {} elected leader at term {}, {:.0?} after start",
        leader.id(),
        leader.metrics().term,
        started.elapsed()
    );

    let bar = ProgressBar::new(args.entries);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} entries  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let spec = LoadSpec {
        entries: args.entries,
        entry_size: args.entry_size,
        proposers: args.proposers,
    };
    // A third of the way in, leadership moves to another node while the
    // proposers keep going (they follow the new leader).
    let (report, moved) = tokio::join!(
        run_load(&cluster, &spec, Some(bar.clone())),
        transfer_under_load(&cluster, args.entries / 3)
    );
    let (report, moved) = (report?, moved?);
    bar.finish_and_clear();
    println!("{moved}");
    let mb = report.throughput() * args.entry_size as f64 / 1e6;
    println!(
        "replicated {} entries of {} bytes with {} proposers in {:.2?}: {:.0} entries/s ({:.1} MB/s)",
        report.acks.len(),
        args.entry_size,
        args.proposers,
        report.elapsed,
        report.throughput(),
        mb
    );
    println!(
        "commit latency: p50 {:.2?}  p99 {:.2?}  max {:.2?}  ({} retries)",
        report.percentile(50.0),
        report.percentile(99.0),
        report.percentile(100.0),
        report.retries
    );

    // Failover: stop the leader and time the next election.
    let old = cluster.leader().ok_or("no leader after the load")?.clone();
    let old_term = old.metrics().term;
    let killed = Instant::now();
    old.shutdown().await?;
    let survivors: Vec<_> = cluster
        .nodes
        .iter()
        .filter(|n| n.id() != old.id())
        .collect();
    let new_leader = loop {
        if let Some(n) = survivors
            .iter()
            .find(|n| n.metrics().role == Role::Leader && n.metrics().term > old_term)
        {
            break *n;
        }
        if killed.elapsed() > Duration::from_secs(10) {
            return Err("no new leader within 10 s of killing the old one".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    println!(
        "killed leader {}; node {} took over at term {} after {:.0?}",
        old.id(),
        new_leader.id(),
        new_leader.metrics().term,
        killed.elapsed()
    );

    // The new leader commits something of its own term, then everyone
    // catches up before the logs are compared.
    let last = new_leader
        .propose(raft_cluster::load::payload(u64::MAX, args.entry_size))
        .await?;
    for n in &survivors {
        n.wait_for(|m| m.applied >= last).await?;
    }
    let states: Vec<_> = survivors.iter().map(|n| cluster.state(n.id())).collect();
    if states.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!("the survivors' states differ: {states:?}").into());
    }
    cluster.shutdown().await?;

    let mut logs = Vec::new();
    for node in &cluster.nodes {
        let dir = cluster
            .log_dir(node.id())
            .ok_or("RocksDB directory missing")?;
        logs.push((node.id(), read_log(&dir)?));
    }
    let ticket = |e: &raft_core::Entry| {
        raft_node::payload_of(&e.data).and_then(|p| raft_cluster::load::ticket_of(&p))
    };
    let summary = check_after_failover(&logs, old.id(), &report.acks, ticket)?;
    println!("{summary}");
    if let Some(Some(state)) = states.first() {
        println!(
            "survivors' state machines equal: {} payloads, checksum {:016x}",
            state.count, state.sum
        );
    }
    if !args.no_catch_up {
        catchup::run(catchup::CatchUp {
            nodes: args.nodes,
            snapshot_every: args.snapshot_every,
            keep: args.catch_up_keep,
            entry_size: args.entry_size,
            proposers: args.proposers,
        })
        .await?;
    }
    if !args.no_replace {
        crate::replace::run(crate::replace::Replace {
            snapshot_every: args.snapshot_every,
            keep: args.catch_up_keep,
            entries: args.replace_entries,
            entry_size: args.entry_size,
            proposers: args.proposers,
        })
        .await?;
    }
    println!("all checks passed");
    Ok(())
}
