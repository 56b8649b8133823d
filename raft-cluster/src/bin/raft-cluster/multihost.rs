//! `raft-cluster node`: one node of a cluster spread over hosts, with its
//! RocksDB log in `--data`, QUIC with the given certificates, and an
//! optional client port.

use crate::AnyError;
use clap::Args;
use raft_cluster::client_port::ClientPort;
use raft_cluster::state::ChecksumMachine;
use raft_core::{ConfState, EntryId, NodeId};
use raft_storage_rocks::RocksStorage;
use raft_transport_quic::{QuicTransport, TlsMaterial};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::net::TcpListener;

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// This node's id (1, 2, ...), as named in its certificate.
    #[arg(long)]
    id: NodeId,
    /// Address to listen on for peers (QUIC/UDP).
    #[arg(long)]
    listen: SocketAddr,
    /// A peer as ID=ADDR; repeat for each other node.
    #[arg(long = "peer", value_parser = parse_peer)]
    peers: Vec<(NodeId, SocketAddr)>,
    /// Directory of this node's log; created on first start, reopened after.
    #[arg(long)]
    data: PathBuf,
    /// PEM of the CA that signed every node's certificate.
    #[arg(long)]
    ca: PathBuf,
    /// PEM of this node's certificate.
    #[arg(long)]
    cert: PathBuf,
    /// PEM of this node's private key.
    #[arg(long)]
    key: PathBuf,
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

fn parse_peer(s: &str) -> Result<(NodeId, SocketAddr), String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ID=ADDR, got {s:?}"))?;
    let id = id.parse().map_err(|_| format!("bad node id {id:?}"))?;
    let addr = addr.parse().map_err(|_| format!("bad address {addr:?}"))?;
    Ok((id, addr))
}

pub async fn run(args: NodeArgs) -> Result<(), AnyError> {
    let tls = TlsMaterial::from_pem_files(&args.ca, &args.cert, &args.key)?;
    let mut config = raft_transport_quic::Config::new(args.id, args.listen, tls);
    for (id, addr) in &args.peers {
        config = config.with_peer(*id, *addr);
    }
    let transport = QuicTransport::bind(config)?;
    let (control, local) = (transport.control(), transport.local_addr());
    let mut voters: Vec<NodeId> = Vec::new();
    if !args.join {
        voters.extend(args.peers.iter().map(|(id, _)| *id));
        voters.push(args.id);
    }
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
    if let Some(addr) = args.client {
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

/// Reopens the log in `dir`, or creates it for `voters` if `dir` is new.
fn open_or_create(dir: &Path, voters: &[NodeId]) -> Result<RocksStorage, AnyError> {
    let fresh = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(e.into()),
    };
    if fresh {
        let conf = ConfState::with_voters(voters.iter().copied());
        Ok(RocksStorage::create(dir, conf, EntryId::default())?)
    } else {
        Ok(RocksStorage::open(dir)?)
    }
}

/// Writes a development CA and a certificate per node id.
pub fn write_dev_certs(out: &Path, ids: &[NodeId]) -> Result<(), AnyError> {
    std::fs::create_dir_all(out)?;
    let ca = raft_transport_quic::dev_certs::DevCa::new()?;
    std::fs::write(out.join("ca.pem"), ca.cert_pem())?;
    for id in ids {
        let pem = ca.node_pem(*id)?;
        std::fs::write(out.join(format!("node-{id}.pem")), pem.cert)?;
        std::fs::write(out.join(format!("node-{id}.key")), pem.key)?;
    }
    println!(
        "wrote ca.pem and node certificates for {ids:?} to {}",
        out.display()
    );
    Ok(())
}
