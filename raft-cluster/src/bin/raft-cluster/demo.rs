//! The default run: a local cluster, a load, a failover, and checks.

use crate::logs::read_log;
use crate::AnyError;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use raft_cluster::cluster::{LocalCluster, StorageKind, TransportKind};
use raft_cluster::failover::check_after_failover;
use raft_cluster::load::{run_load, LoadSpec};
use raft_core::Role;
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
    let cluster = LocalCluster::start(
        args.nodes,
        StorageKind::Rocks,
        TransportKind::Quic,
        args.data_dir,
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
    let report = run_load(&cluster, &spec, Some(bar.clone())).await?;
    bar.finish_and_clear();
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
    println!("all checks passed");
    Ok(())
}
