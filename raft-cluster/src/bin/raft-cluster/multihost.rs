//! `raft-cluster node`: one node of a cluster spread over hosts, with its
//! RocksDB log in `--data`, QUIC with the given certificates, an optional
//! client port, and with `--kv-http` raft-kv's store and HTTP API.

use crate::AnyError;
use clap::Args;
use raft_cluster::client_port::ClientPort;
use raft_cluster::state::ChecksumMachine;
use raft_core::NodeId;
use raft_host::{open_or_create, parse_peer};
use raft_kv::host::{HostOptions, HostedKv};
use raft_node::NodeHandle;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;

/// Nodes on hosts of their own tick slower than a local cluster's: real
/// networks and disks are slower than loopback.
const TICK: Duration = Duration::from_millis(100);

#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(flatten)]
    node: raft_host::NodeArgs,
    /// Address for `raft-cluster propose`, `read`, `transfer` and `member`
    /// (TCP); none if omitted.
    #[arg(long)]
    client: Option<SocketAddr>,
    /// Join a running cluster: a new log starts with no members (the
    /// `--peer`s are only where to find them), and the node waits for the
    /// leader to add it with `raft-cluster member add`.
    #[arg(long)]
    join: bool,
    /// Apply to raft-kv's key-value store and serve its HTTP API (as
    /// `raft-kv node --http` does) on this address; without it the node
    /// applies to a checksum of the entries.
    #[arg(long)]
    kv_http: Option<SocketAddr>,
    /// A peer's key-value HTTP API as ID=ADDR, so followers can redirect
    /// clients to the leader; repeat for each other node.
    #[arg(long = "kv-peer-http", value_parser = parse_peer, requires = "kv_http")]
    kv_peer_http: Vec<(NodeId, SocketAddr)>,
}

/// The node, whichever state machine it applies to.
enum Running {
    Checksum(NodeHandle),
    Kv(HostedKv),
}

impl Running {
    fn node(&self) -> &NodeHandle {
        match self {
            Running::Checksum(node) => node,
            Running::Kv(hosted) => hosted.node(),
        }
    }

    async fn stop(self) -> Result<(), raft_node::NodeError> {
        match self {
            Running::Checksum(node) => node.shutdown().await,
            Running::Kv(hosted) => hosted.stop().await,
        }
    }
}

pub async fn run(args: NodeArgs) -> Result<(), AnyError> {
    let NodeArgs {
        node: args,
        client,
        join,
        kv_http,
        kv_peer_http,
    } = args;
    let (running, control, local) = match kv_http {
        Some(http) => {
            let mut options = HostOptions::new(http);
            options.peer_http = kv_peer_http;
            options.tick = TICK;
            options.join = join;
            let hosted = HostedKv::start(&args, options).await?;
            let (control, local) = (hosted.peer_control().clone(), hosted.quic_addr());
            (Running::Kv(hosted), control, local)
        }
        None => {
            let transport = args.bind_quic()?;
            let (control, local) = (transport.control(), transport.local_addr());
            // A joining node starts with no members: the leader adds it.
            let voters = if join { Vec::new() } else { args.voters() };
            let store = open_or_create(&args.data, &voters)?;
            let mut config = raft_host::node_config(args.id);
            config.tick_interval = TICK;
            let node = raft_node::spawn(config, store, transport, ChecksumMachine::new())?;
            (Running::Checksum(node), control, local)
        }
    };
    // Members added later are reached at the address their change carries;
    // removed ones are dropped.
    raft_cluster::membership::follow(running.node(), control.clone());
    println!(
        "node {} listening on {} (data in {})",
        args.id,
        args.listen,
        args.data.display()
    );
    if let Running::Kv(hosted) = &running {
        println!("key-value API on http://{}", hosted.http_addr());
    }
    if let Some(addr) = client {
        let listener = TcpListener::bind(addr).await?;
        println!("client port {addr}");
        ClientPort::new(running.node().clone())
            .with_peers(control, local)
            .spawn(listener);
    }
    raft_host::stop_signal().await?;
    println!("shutting down");
    running.stop().await?;
    Ok(())
}

/// Writes a development CA and a certificate per node id.
pub fn write_dev_certs(out: &Path, ids: &[NodeId]) -> Result<(), AnyError> {
    raft_host::write_dev_certs(out, ids)?;
    println!(
        "wrote ca.pem and node certificates for {ids:?} to {}",
        out.display()
    );
    Ok(())
}
