//! `raft-cluster`: the workspace as a user runs it.
//!
//! With no arguments it starts a local 3-node cluster in one process
//! (RocksDB logs in a temporary directory, QUIC on 127.0.0.1 with
//! development certificates), replicates 100,000 entries of 256 bytes from
//! concurrent proposers, kills the leader, and checks that nothing committed
//! was lost; then, on three fresh nodes snapshotting every 1,000 entries,
//! stops a follower until the leader compacts past it, restarts it, and
//! checks it was caught up by snapshot to the same state. `raft-cluster node` runs one node of a multi-host cluster
//! (with `--kv-http`, applying to raft-kv's store and serving its HTTP API)
//! and `raft-cluster propose` is a small client for it.

mod catchup;
mod client;
mod demo;
mod logs;
mod multihost;
mod replace;
mod transfer;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "raft-cluster", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    demo: demo::DemoArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one node of a multi-host cluster; with `--kv-http`, it serves
    /// raft-kv's key-value HTTP API.
    Node(multihost::NodeArgs),
    /// Propose entries through the client ports of nodes started with
    /// `raft-cluster node --client`, following the leader among them.
    Propose(client::ProposeArgs),
    /// A linearizable read barrier through a client port: prints the read
    /// index the answering node has applied up to.
    Read(client::ReadArgs),
    /// Move leadership to another node through a client port.
    Transfer(client::TransferArgs),
    /// List, add, promote or remove members through the leader's client
    /// port: `member --to ... add 4 10.0.0.4:7001 --learner`, `promote 4`,
    /// `remove 1`, `list`.
    Member(client::MemberArgs),
    /// Write a development CA and node certificates (PEM) for a multi-host
    /// test cluster.
    DevCerts {
        /// Directory to write `ca.pem`, `node-<id>.pem`, `node-<id>.key`.
        #[arg(long)]
        out: PathBuf,
        /// Node ids to make certificates for.
        #[arg(long, num_args = 1.., default_values_t = [1, 2, 3])]
        ids: Vec<u64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("raft-cluster: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => demo::run(cli.demo).await,
            Some(Command::Node(args)) => multihost::run(args).await,
            Some(Command::Propose(args)) => client::run(args).await,
            Some(Command::Read(args)) => client::read(args).await,
            Some(Command::Transfer(args)) => client::transfer(args).await,
            Some(Command::Member(args)) => client::member(args).await,
            Some(Command::DevCerts { out, ids }) => multihost::write_dev_certs(&out, &ids),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raft-cluster: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `RUST_LOG` selects what. Errors only by default: the
/// demo kills a node on purpose, and its peers' warnings about it would
/// drown the report.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Errors of any sub-command, as one readable line.
pub type AnyError = Box<dyn std::error::Error + Send + Sync>;
