//! `kv-vs-etcd`: the raft-kv service against a real 3-node etcd, same HTTP
//! load, one run. See `raft_benches::kvload`.

use clap::Parser;
use raft_benches::kvload::etcd::locate_etcd;
use raft_benches::kvload::{report, BenchError, Plan, Systems};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Puts and linearizable gets (256-byte values) at 1, 16 and 128 closed-loop
/// clients against the local 3-node raft-kv service and a 3-node etcd on
/// 127.0.0.1, alternating systems per case.
#[derive(Parser, Debug)]
#[command(name = "kv-vs-etcd")]
struct Args {
    /// Seconds each case runs on each system.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Concurrent clients per case, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,128")]
    clients: Vec<usize>,
    /// Size of the key space written first and then used by every case.
    #[arg(long, default_value_t = 1000)]
    keys: u64,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The etcd binary (default: `etcd` on PATH).
    #[arg(long)]
    etcd: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kv-vs-etcd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), BenchError> {
    let etcd = match args.etcd {
        Some(path) => path,
        None => locate_etcd(std::env::var_os("PATH").as_deref())?,
    };
    let seconds = if args.seconds.is_finite() && args.seconds > 0.0 {
        args.seconds
    } else {
        return Err(BenchError::Io {
            what: "reading --seconds".into(),
            source: std::io::Error::other("must be a positive number"),
        });
    };
    let mut plan = Plan::default();
    plan.clients = args.clients.into_iter().filter(|c| *c > 0).collect();
    plan.duration = Duration::from_secs_f64(seconds);
    plan.keys = args.keys.max(1);
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| BenchError::Io { what, source }
    };
    // raft-kv's nodes and the load clients get separate thread pools, so
    // the clients are scheduled the same way for both systems.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io("starting the server runtime"))?;
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("starting the client runtime"))?;
    eprintln!(
        "starting raft-kv (3 nodes) and etcd (3 members, {})",
        etcd.display()
    );
    let systems = servers.block_on(Systems::start(&etcd))?;
    let outcome = clients.block_on(async {
        tokio::select! {
            r = systems.compare(&plan, |r| {
                eprintln!(
                    "{:>7} {} x{:<3} {:>8.0} ops/s",
                    r.system, r.op.name(), r.clients, r.ops_per_sec()
                );
            }) => r,
            _ = tokio::signal::ctrl_c() => Err(BenchError::Interrupted),
        }
    });
    let stopped = servers.block_on(systems.shutdown());
    let pairs = outcome?;
    stopped?;
    println!("{}", report::table(&pairs));
    if let Some(path) = args.json {
        let what = format!("writing {}", path.display());
        let text = serde_json::to_string_pretty(&report::json(&pairs))
            .map_err(|e| io(&what)(std::io::Error::other(e)))?;
        std::fs::write(&path, text + "\n").map_err(io(&what))?;
    }
    Ok(())
}
