//! `raft-cluster node`: one node of a cluster spread over hosts, with its
//! RocksDB log in `--data`, QUIC with the given certificates, and an
//! optional client port.

use crate::AnyError;
use clap::Args;
use raft_cluster::client::{Answer, MAX_REQUEST, READ_REQUEST, TRANSFER_REQUEST};
use raft_cluster::state::ChecksumMachine;
use raft_core::NodeId;
use raft_node::{NodeHandle, ProposeError, ReadError, TransferError};
use std::net::SocketAddr;
use std::path::Path;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(flatten)]
    node: raft_cluster::multihost::NodeArgs,
    /// Address for `raft-cluster propose` (TCP); none if omitted.
    #[arg(long)]
    client: Option<SocketAddr>,
}

pub async fn run(args: NodeArgs) -> Result<(), AnyError> {
    let NodeArgs { node: args, client } = args;
    let transport = args.bind_quic()?;
    let store = args.open_or_create_log()?;
    let mut node_config = raft_cluster::cluster::node_config(args.id);
    node_config.tick_interval = std::time::Duration::from_millis(100);
    let node = raft_node::spawn(node_config, store, transport, ChecksumMachine::new())?;
    println!(
        "node {} listening on {} (data in {})",
        args.id,
        args.listen,
        args.data.display()
    );
    if let Some(addr) = client {
        let listener = TcpListener::bind(addr).await?;
        println!("client port {addr}");
        let server = node.clone();
        tokio::spawn(async move { serve_clients(listener, server).await });
    }
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    node.shutdown().await?;
    Ok(())
}

async fn serve_clients(listener: TcpListener, node: NodeHandle) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let node = node.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_client(stream, node).await {
                        tracing::info!(%peer, error = %e, "client connection closed");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "accepting a client failed"),
        }
    }
}

async fn serve_client(mut stream: TcpStream, node: NodeHandle) -> Result<(), AnyError> {
    loop {
        let len = match stream.read_u32().await {
            Ok(len) => len,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if len == READ_REQUEST {
            let answer = match node.read_index().await {
                Ok(index) => Answer::Committed(index),
                Err(ReadError::NoLeader) => Answer::NotLeader(None),
                Err(ReadError::ShuttingDown) => Answer::ShuttingDown,
                Err(_) => Answer::Dropped,
            };
            answer.write_to(&mut stream).await?;
            continue;
        }
        if len == TRANSFER_REQUEST {
            let to = stream.read_u64().await?;
            let answer = match node.transfer_leader(to).await {
                Ok(()) => Answer::Committed(to),
                Err(TransferError::NoLeader) => Answer::NotLeader(None),
                Err(TransferError::ShuttingDown) => Answer::ShuttingDown,
                Err(e) => {
                    tracing::info!(to, error = %e, "leadership transfer failed");
                    Answer::Dropped
                }
            };
            answer.write_to(&mut stream).await?;
            continue;
        }
        if len > MAX_REQUEST {
            return Err(format!("request of {len} bytes refused").into());
        }
        let mut data = vec![0; len as usize];
        stream.read_exact(&mut data).await?;
        let answer = match node.propose(data).await {
            Ok(index) => Answer::Committed(index),
            Err(ProposeError::NotLeader { leader }) => Answer::NotLeader(leader),
            Err(ProposeError::ShuttingDown) => Answer::ShuttingDown,
            // Dropped, and any refusal a later raft-node adds: the proposal
            // did not commit here, and the client may retry it.
            Err(_) => Answer::Dropped,
        };
        answer.write_to(&mut stream).await?;
    }
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
