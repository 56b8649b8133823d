//! `raft-sim`: runs seeds of the deterministic Raft simulation.
//!
//! ```text
//! raft-sim --seeds N [--start S] [--nodes 3|5] [--storage mem|rocks] [--jobs J]
//! raft-sim --seed S [--keep I,J,...] [--nodes 3|5] [--storage mem|rocks]
//! ```
//!
//! A range prints `N seeds, K violations` and exits 1 on any violation, each
//! reported with its seed, the property, a shortened event sequence and the
//! command that replays it. `--seed` replays one seed, printing its events.

use raft_sim::shrink::shrink;
use raft_sim::{run, run_subset, Outcome, SimError, SimOptions, SimStorage};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const USAGE: &str = "usage: raft-sim --seeds N [--start S] | --seed S [--keep I,J,..]
  [--nodes 3|5] [--storage mem|rocks] [--ticks T] [--jobs J] [--no-shrink]
  [--no-client-ops (no reads, transfers or membership changes)]
  [--snapshot-every K (0: no compaction; default: the seed decides)]
  [--fault skip-up-to-date|commit-old-term|joint-incoming-only|read-without-heartbeat
           |stale-snapshot|compact-past-snapshot|stale-local-reads|ack-before-sync]
  (--fault needs a build with --features fault-injection)";

struct Args {
    seeds: u64,
    start: u64,
    single: Option<u64>,
    keep: Option<Vec<usize>>,
    jobs: usize,
    shrink: bool,
    fault: Option<String>,
    opts: SimOptions,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        seeds: 0,
        start: 0,
        single: None,
        keep: None,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        shrink: true,
        fault: None,
        opts: SimOptions::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--seeds" => a.seeds = num(value()?)?,
            "--start" => a.start = num(value()?)?,
            "--seed" => a.single = Some(num(value()?)?),
            "--nodes" => match num(value()?)? {
                n @ (3 | 5) => a.opts.nodes = Some(n as usize),
                n => return Err(format!("--nodes must be 3 or 5, not {n}")),
            },
            "--storage" => {
                a.opts.storage = SimStorage::by_name(&value()?).map_err(|e| e.to_string())?
            }
            "--ticks" => a.opts.fault_ticks = num(value()?)?,
            "--snapshot-every" => a.opts.snapshot_every = Some(num(value()?)?),
            "--jobs" => a.jobs = num(value()?)?.max(1) as usize,
            "--keep" => {
                let v = value()?;
                let list: Result<Vec<usize>, _> = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse::<usize>())
                    .collect();
                a.keep = Some(list.map_err(|e| format!("--keep {v}: {e}"))?);
            }
            "--no-shrink" => a.shrink = false,
            "--no-client-ops" => a.opts.client_ops = false,
            "--fault" => a.fault = Some(value()?),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.single.is_none() && a.seeds == 0 {
        return Err(USAGE.to_string());
    }
    if a.keep.is_some() && a.single.is_none() {
        return Err("--keep needs --seed".to_string());
    }
    if let Some(name) = a.fault.clone() {
        inject(&name, &mut a.opts)?;
    }
    Ok(a)
}

#[cfg(feature = "fault-injection")]
fn inject(name: &str, opts: &mut SimOptions) -> Result<(), String> {
    use raft_core::{Config, Fault};
    use raft_sim::SimFault;
    fn skip(c: &mut Config) {
        c.fault = Some(Fault::SkipUpToDateCheck);
    }
    fn old_term(c: &mut Config) {
        c.fault = Some(Fault::CommitOldTermEntries);
    }
    fn joint(c: &mut Config) {
        c.fault = Some(Fault::JointCommitIncomingOnly);
    }
    fn read(c: &mut Config) {
        c.fault = Some(Fault::ReadWithoutHeartbeat);
    }
    match name {
        "skip-up-to-date" => opts.config_hook = Some(skip),
        "commit-old-term" => opts.config_hook = Some(old_term),
        "joint-incoming-only" => opts.config_hook = Some(joint),
        "read-without-heartbeat" => opts.config_hook = Some(read),
        "stale-snapshot" => opts.sim_fault = Some(SimFault::StaleSnapshotData),
        "compact-past-snapshot" => opts.sim_fault = Some(SimFault::CompactPastSnapshot),
        "stale-local-reads" => opts.sim_fault = Some(SimFault::StaleLocalReads),
        "ack-before-sync" => {
            // Only append threads can break it: every node gets one.
            fn all_async(c: &mut Config) {
                c.async_storage_writes = true;
            }
            opts.sim_fault = Some(SimFault::AckBeforeSync);
            opts.config_hook = Some(all_async);
        }
        other => return Err(format!("unknown fault {other}")),
    }
    Ok(())
}

#[cfg(not(feature = "fault-injection"))]
fn inject(_name: &str, _opts: &mut SimOptions) -> Result<(), String> {
    Err("--fault needs a build with --features fault-injection".to_string())
}

/// The command that replays `seed` with the options that matter.
fn replay_command(a: &Args, seed: u64, keep: Option<&[usize]>) -> String {
    let mut cmd = format!("raft-sim --seed {seed}");
    if let Some(n) = a.opts.nodes {
        cmd += &format!(" --nodes {n}");
    }
    if a.opts.storage.name() != SimStorage::memory().name() {
        cmd += &format!(" --storage {}", a.opts.storage.name());
    }
    if a.opts.fault_ticks != SimOptions::default().fault_ticks {
        cmd += &format!(" --ticks {}", a.opts.fault_ticks);
    }
    if !a.opts.client_ops {
        cmd += " --no-client-ops";
    }
    if let Some(k) = a.opts.snapshot_every {
        cmd += &format!(" --snapshot-every {k}");
    }
    if let Some(f) = &a.fault {
        cmd += &format!(" --fault {f}");
    }
    if let Some(keep) = keep {
        let list: Vec<String> = keep.iter().map(|i| i.to_string()).collect();
        cmd += &format!(" --keep {}", list.join(","));
    }
    cmd
}

/// Prints a failing seed: property, shortened schedule, its event log.
fn report(a: &Args, out: &Outcome) -> Result<(), SimError> {
    let Some(v) = &out.violation else {
        return Ok(());
    };
    let mut text = format!(
        "\n=== seed {} VIOLATION: {} ({})\n{v}\n",
        out.seed, v.property, out.profile.nodes
    );
    if a.shrink {
        let s = shrink(out.seed, &a.opts, v, 1000)?;
        let still = s
            .outcome
            .violation
            .as_ref()
            .map_or("(gone on replay)".to_string(), |v| v.to_string());
        text += &format!(
            "shrunk the schedule from {} to {} events in {} runs; it still fails: {still}\n--- event sequence\n",
            s.original_len,
            s.keep.len(),
            s.runs
        );
        for line in &s.outcome.trace {
            text += line;
            text.push('\n');
        }
        text += &format!(
            "--- replay: {}\n    full run: {}\n",
            replay_command(a, out.seed, Some(&s.keep)),
            replay_command(a, out.seed, None)
        );
    } else {
        text += &format!("--- replay: {}\n", replay_command(a, out.seed, None));
    }
    print!("{text}");
    Ok(())
}

fn run_range(a: &Args) -> Result<u64, SimError> {
    let next = AtomicU64::new(a.start);
    let end = a.start + a.seeds;
    let failures: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let error: Mutex<Option<SimError>> = Mutex::new(None);
    let started = Instant::now();
    // Long runs report progress on stderr, twenty times.
    let done = AtomicU64::new(0);
    // Snapshot activity over the range: taken, installed by followers,
    // restored at restarts, and seeds that never compacted.
    let snaps = [(); 5].map(|_| AtomicU64::new(0));
    // Reads served, transfers done, membership changes applied, joint
    // configurations entered.
    let ops = [(); 4].map(|_| AtomicU64::new(0));
    // Key-value operations checked, histories checked, unknown outcomes,
    // histories beyond the search budget.
    let kv = [(); 4].map(|_| AtomicU64::new(0));
    // Spares started, joins (caught up by snapshot), removals for good.
    let members = [(); 4].map(|_| AtomicU64::new(0));
    // Async-mode nodes, syncs, writes synced, queued writes lost in crashes.
    let appends = [(); 4].map(|_| AtomicU64::new(0));
    let progress_every = if a.seeds >= 10_000 {
        a.seeds / 20
    } else {
        u64::MAX
    };
    std::thread::scope(|scope| {
        for _ in 0..a.jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= end {
                    return;
                }
                let result = run(seed, &a.opts);
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                if finished.is_multiple_of(progress_every) {
                    let failed = failures.lock().map(|f| f.len()).unwrap_or(0);
                    eprintln!(
                        "progress: {finished}/{} seeds, {failed} violations, {:.0} s",
                        a.seeds,
                        started.elapsed().as_secs_f64()
                    );
                }
                match result {
                    Ok(out) if out.violation.is_some() => {
                        if let Err(e) = report(a, &out) {
                            error.lock().map(|mut g| *g = Some(e)).ok();
                        }
                        failures.lock().map(|mut f| f.push(out)).ok();
                    }
                    Ok(out) => {
                        let s = &out.stats;
                        let counts = [
                            s.snapshots_created,
                            s.snapshots_installed,
                            s.restored_at_boot,
                            s.crashes_installing,
                            u64::from(s.snapshots_created == 0),
                        ];
                        for (total, n) in snaps.iter().zip(counts) {
                            total.fetch_add(n, Ordering::Relaxed);
                        }
                        let counts = [
                            s.reads_served,
                            s.transfers_done,
                            s.conf_changes_applied,
                            s.joint_entered,
                        ];
                        for (total, n) in ops.iter().zip(counts) {
                            total.fetch_add(n, Ordering::Relaxed);
                        }
                        let counts = [
                            s.kv.ops,
                            u64::from(s.kv.checked && !s.kv.inconclusive),
                            s.kv.unknown,
                            u64::from(s.kv.inconclusive),
                        ];
                        for (total, n) in kv.iter().zip(counts) {
                            total.fetch_add(n, Ordering::Relaxed);
                        }
                        let counts = [s.spares_started, s.joins, s.joins_by_snapshot, s.removals];
                        for (total, n) in members.iter().zip(counts) {
                            total.fetch_add(n, Ordering::Relaxed);
                        }
                        let counts = [s.async_nodes, s.syncs, s.writes_synced, s.async_writes_lost];
                        for (total, n) in appends.iter().zip(counts) {
                            total.fetch_add(n, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        error.lock().map(|mut g| *g = Some(e)).ok();
                        next.store(end, Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().ok().flatten() {
        return Err(e);
    }
    let failed = failures.into_inner().map(|f| f.len()).unwrap_or(0) as u64;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} seeds, {} violations ({:.1} s, {:.1} seeds/s, {} jobs)",
        a.seeds,
        failed,
        secs,
        a.seeds as f64 / secs.max(1e-9),
        a.jobs
    );
    let [taken, installed, booted, crashed, none] = snaps.map(|n| n.into_inner());
    println!(
        "snapshots in passing seeds: {taken} taken, {installed} installed by followers ({crashed} crashes inside an install), {booted} restored at restarts; {none} seeds never compacted"
    );
    let [reads, transfers, changes, joint] = ops.map(|n| n.into_inner());
    println!(
        "client operations in passing seeds: {reads} reads served, {transfers} leader transfers done, {changes} membership changes applied ({joint} entering a joint configuration)"
    );
    let [kv_ops, histories, unknown, inconclusive] = kv.map(|n| n.into_inner());
    println!(
        "key-value clients in passing seeds: {kv_ops} operations in {histories} histories checked linearizable, {unknown} unknown outcomes, {inconclusive} histories beyond the search budget"
    );
    let [started, joins, by_snapshot, removals] = members.map(|n| n.into_inner());
    println!(
        "membership in passing seeds: {started} spare nodes started empty, {joins} joined ({by_snapshot} caught up by snapshot), {removals} members removed for good"
    );
    let [nodes, syncs, synced, lost] = appends.map(|n| n.into_inner());
    println!(
        "async storage writes in passing seeds: {nodes} nodes, {syncs} append-thread syncs making {synced} writes durable, {lost} queued writes lost in crashes"
    );
    Ok(failed)
}

fn run_single(a: &Args, seed: u64) -> Result<u64, SimError> {
    let opts = SimOptions {
        trace: true,
        ..a.opts.clone()
    };
    let out = run_subset(seed, &opts, a.keep.as_deref())?;
    for line in &out.trace {
        println!("{line}");
    }
    let s = &out.stats;
    println!(
        "seed {seed}: {} nodes, {} ticks, {} messages sent ({} dropped, {} cut, {} duplicated), {} leaders, {} committed, {} acknowledged, {} crashes ({} in a write after sends; {} unsynced writes lost); snapshots: {} taken, {} sent, {} installed, {} failed sends, {} restored at restart, {} crashes inside an install",
        out.profile.nodes,
        s.ticks,
        s.net.sent,
        s.net.dropped,
        s.net.cut,
        s.net.duplicated,
        s.leaders_elected,
        s.committed,
        s.acked,
        s.crashes,
        s.crashes_after_sends,
        s.unsynced_writes_lost,
        s.snapshots_created,
        s.snapshots_sent,
        s.snapshots_installed,
        s.snapshot_failures,
        s.restored_at_boot,
        s.crashes_installing
    );
    println!(
        "seed {seed}: async storage writes on {} nodes: {} syncs making {} writes durable, {} queued writes lost in crashes",
        s.async_nodes, s.syncs, s.writes_synced, s.async_writes_lost
    );
    println!(
        "seed {seed}: reads {} asked, {} served; transfers {} asked, {} done; membership changes {} proposed, {} applied, {} joint",
        s.reads_asked,
        s.reads_served,
        s.transfers_asked,
        s.transfers_done,
        s.conf_changes_proposed,
        s.conf_changes_applied,
        s.joint_entered
    );
    println!(
        "seed {seed}: key-value clients: {} operations checked{}, {} unknown outcomes{}",
        s.kv.ops,
        if s.kv.checked { "" } else { " (no history)" },
        s.kv.unknown,
        if s.kv.inconclusive {
            "; beyond the search budget: no verdict"
        } else {
            ""
        }
    );
    println!(
        "seed {seed}: {} spares started, {} joined ({} by snapshot), {} removed for good",
        s.spares_started, s.joins, s.joins_by_snapshot, s.removals
    );
    // A subset is already the shortened replay; shrinking it again would
    // only repeat the search.
    if a.keep.is_none() {
        report(a, &out)?;
    }
    let failed = u64::from(out.violation.is_some());
    println!("1 seeds, {failed} violations");
    Ok(failed)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let result = match args.single {
        Some(seed) => run_single(&args, seed),
        None => run_range(&args),
    };
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("raft-sim: {e}");
            ExitCode::from(2)
        }
    }
}
