//! `raft-kv node`: one node of a cluster spread over hosts, serving the
//! HTTP API, with its RocksDB log in `--data` (reopened, snapshot and all,
//! when the directory already holds one) and QUIC between the nodes.

use raft_core::NodeId;
use raft_host::parse_peer;
use raft_kv::host::{HostOptions, HostedKv};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    #[command(flatten)]
    node: raft_host::NodeArgs,
    /// Address of this node's HTTP API.
    #[arg(long)]
    http: SocketAddr,
    /// A peer's HTTP API as ID=ADDR, so followers can redirect clients to
    /// the leader and transfers can name it; repeat for each other node.
    #[arg(long = "peer-http", value_parser = parse_peer)]
    peer_http: Vec<(NodeId, SocketAddr)>,
    /// Raft tick in milliseconds (elections take about ten ticks).
    #[arg(long, default_value_t = 100)]
    tick_ms: u64,
    /// Serve `GET`/`POST /admin/faults`, which drops Raft messages to and
    /// from the listed peers. For fault-injection tests only: anyone who
    /// can reach the HTTP port can then partition this node.
    #[arg(long)]
    fault_injection: bool,
}

pub async fn run(args: NodeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = HostOptions::new(args.http);
    options.peer_http = args.peer_http;
    options.tick = Duration::from_millis(args.tick_ms);
    options.fault_injection = args.fault_injection;
    let hosted = HostedKv::start(&args.node, options).await?;
    println!(
        "raft-kv node {} serving http://{} (Raft on {}, data in {}){}",
        args.node.id,
        hosted.http_addr(),
        hosted.quic_addr(),
        args.node.data.display(),
        if args.fault_injection {
            "; fault injection on"
        } else {
            ""
        }
    );
    raft_host::stop_signal().await?;
    hosted.stop().await?;
    Ok(())
}
