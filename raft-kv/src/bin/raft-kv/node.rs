//! `raft-kv node`: one node of a cluster spread over hosts, serving the
//! HTTP API, with its RocksDB log in `--data` (reopened, snapshot and all,
//! when the directory already holds one) and QUIC between the nodes.

use raft_cluster::multihost::parse_peer;
use raft_core::{FaultyTransport, LinkFaults, NodeId};
use raft_kv::http::ServiceConfig;
use raft_kv::server::KvServer;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    #[command(flatten)]
    node: raft_cluster::multihost::NodeArgs,
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
    let NodeArgs {
        node: args,
        http,
        peer_http,
        tick_ms,
        fault_injection,
    } = args;
    let quic = args.bind_quic()?;
    let log = args.open_or_create_log()?;
    let faults = LinkFaults::new();
    let mut service = ServiceConfig::default();
    if fault_injection {
        service.link_faults = Some(faults.clone());
    }
    let mut peers: HashMap<NodeId, SocketAddr> = peer_http.into_iter().collect();
    peers.insert(args.id, http);
    let mut config = raft_cluster::cluster::node_config(args.id);
    config.tick_interval = Duration::from_millis(tick_ms.max(1));
    let listener = tokio::net::TcpListener::bind(http).await?;
    let server = KvServer::start(
        config,
        log,
        FaultyTransport::new(quic, faults),
        listener,
        peers,
        service,
    )?;
    println!(
        "raft-kv node {} serving http://{http} (Raft on {}, data in {}){}",
        args.id,
        args.listen,
        args.data.display(),
        if fault_injection {
            "; fault injection on"
        } else {
            ""
        }
    );
    stopped().await?;
    server.stop().await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, which is how service managers stop it.
async fn stopped() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
