//! `raft-kv`: the replicated key-value service.
//!
//! `raft-kv local` starts a 3-node cluster in this process (RocksDB logs,
//! QUIC between the nodes, HTTP on 127.0.0.1:8081-8083 by default) and
//! serves until Ctrl-C. `raft-kv node` runs one node of a cluster spread
//! over hosts (one process each), and `raft-kv dev-certs` writes the
//! development certificates its `--ca`, `--cert` and `--key` take.

mod node;

use clap::{Parser, Subcommand};
use raft_core::NodeId;
use raft_kv::local::{LocalKv, LocalOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "raft-kv", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a local cluster serving the HTTP API until Ctrl-C.
    Local {
        /// How many nodes.
        #[arg(long, default_value_t = 3)]
        nodes: u64,
        /// Node i serves HTTP on 127.0.0.1:(port + i - 1).
        #[arg(long, default_value_t = 8081)]
        port: u16,
        /// Keep the RocksDB logs here (a fresh directory) instead of a
        /// temporary one.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run one node of a multi-host cluster serving the HTTP API until
    /// Ctrl-C or SIGTERM.
    Node(node::NodeArgs),
    /// Write a development CA and node certificates (ca.pem, node-ID.pem,
    /// node-ID.key) for `node`; never for production.
    DevCerts {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Node ids, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        ids: Vec<NodeId>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("raft-kv: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Local {
                nodes,
                port,
                data_dir,
            } => local(nodes, port, data_dir).await,
            Command::Node(args) => node::run(args).await,
            Command::DevCerts { out, ids } => {
                raft_host::write_dev_certs(&out, &ids)?;
                println!(
                    "wrote ca.pem and certificates for nodes {ids:?} to {}",
                    out.display()
                );
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raft-kv: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn local(
    nodes: u64,
    port: u16,
    data_dir: Option<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = LocalOptions::default();
    options.nodes = nodes;
    options.http_port = port;
    options.data_dir = data_dir;
    let mut cluster = LocalKv::start(options).await?;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await?;
    println!("raft-kv: {nodes} nodes on RocksDB + QUIC; node {leader} leads");
    for (i, addr) in cluster.http_addrs().iter().enumerate() {
        println!("  node {}: http://{addr}", i + 1);
    }
    println!("Ctrl-C stops the cluster.");
    tokio::signal::ctrl_c().await?;
    cluster.shutdown().await?;
    Ok(())
}
