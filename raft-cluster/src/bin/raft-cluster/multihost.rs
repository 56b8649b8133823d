//! `raft-cluster node`: one node of a cluster spread over hosts, with its
//! RocksDB log in `--data`, QUIC with the given certificates, and an
//! optional client port.

use crate::AnyError;
use clap::Args;
use raft_cluster::client_port::ClientPort;
use raft_cluster::multihost::open_or_create;
use raft_cluster::state::ChecksumMachine;
use raft_core::NodeId;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;

#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(flatten)]
    node: raft_cluster::multihost::NodeArgs,
    /// Address for `raft-cluster propose`, `read`, `transfer` and `member`
    /// (TCP); none if omitted.
    #[arg(long)]
    client: Option<SocketAddr>,
    /// Join a running cluster: a new log starts with no members (the
    /// `--peer`s are only where to find them), and the node waits for the
    /// leader to add it with `raft-cluster member add`.
    #[arg(long)]
    join: bool,
}

pub async fn run(args: NodeArgs) -> Result<(), AnyError> {
    let NodeArgs {
        node: args,
        client,
        join,
    } = args;
    let transport = args.bind_quic()?;
    let (control, local) = (transport.control(), transport.local_addr());
    // A joining node starts with no members: the leader adds it.
    let voters = if join { Vec::new() } else { args.voters() };
    let store = open_or_create(&args.data, &voters)?;
    let mut node_config = raft_cluster::cluster::node_config(args.id);
    node_config.tick_interval = std::time::Duration::from_millis(100);
    let node = raft_node::spawn(node_config, store, transport, ChecksumMachine::new())?;
    // Members added later are reached at the address their change carries;
    // removed ones are dropped.
    raft_cluster::membership::follow(&node, control.clone());
    println!(
        "node {} listening on {} (data in {})",
        args.id,
        args.listen,
        args.data.display()
    );
    if let Some(addr) = client {
        let listener = TcpListener::bind(addr).await?;
        println!("client port {addr}");
        ClientPort::new(node.clone())
            .with_peers(control, local)
            .spawn(listener);
    }
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    node.shutdown().await?;
    Ok(())
}

/// Writes a development CA and a certificate per node id.
pub fn write_dev_certs(out: &Path, ids: &[NodeId]) -> Result<(), AnyError> {
    raft_cluster::multihost::write_dev_certs(out, ids)?;
    println!(
        "wrote ca.pem and node certificates for {ids:?} to {}",
        out.display()
    );
    Ok(())
}
