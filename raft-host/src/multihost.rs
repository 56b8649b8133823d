//! What every multi-host node command shares (`raft-cluster node`,
//! `raft-kv node`): its command-line options, its QUIC endpoint from PEM
//! files, its RocksDB log created on first start and reopened after, the
//! development certificates a test or demo gives it, and the signals that
//! stop it.

use clap::Args;
use raft_core::{ConfState, EntryId, NodeId};
use raft_storage_rocks::{RocksError, RocksStorage};
use raft_transport_quic::{QuicTransport, TlsError, TlsMaterial, TransportError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One node's place in a cluster spread over hosts.
#[derive(Args, Clone, Debug)]
#[non_exhaustive]
pub struct NodeArgs {
    /// This node's id (1, 2, ...), as named in its certificate.
    #[arg(long)]
    pub id: NodeId,
    /// Address to listen on for peers (QUIC/UDP).
    #[arg(long)]
    pub listen: SocketAddr,
    /// A peer as ID=ADDR; repeat for each other node.
    #[arg(long = "peer", value_parser = parse_peer)]
    pub peers: Vec<(NodeId, SocketAddr)>,
    /// Directory of this node's log; created on first start, reopened after.
    #[arg(long)]
    pub data: PathBuf,
    /// PEM of the CA that signed every node's certificate.
    #[arg(long)]
    pub ca: PathBuf,
    /// PEM of this node's certificate.
    #[arg(long)]
    pub cert: PathBuf,
    /// PEM of this node's private key.
    #[arg(long)]
    pub key: PathBuf,
}

/// Why a node could not be set up.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The log could not be created or opened.
    #[error(transparent)]
    Storage(#[from] RocksError),
    /// Certificates could not be loaded or made.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The QUIC endpoint could not start.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// There is no node with this id in the group.
    #[error("no node {0} in this group")]
    UnknownNode(NodeId),
}

/// Parses `ID=ADDR`, as `--peer` takes it.
pub fn parse_peer(s: &str) -> Result<(NodeId, SocketAddr), String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ID=ADDR, got {s:?}"))?;
    let id = id.parse().map_err(|_| format!("bad node id {id:?}"))?;
    let addr = addr.parse().map_err(|_| format!("bad address {addr:?}"))?;
    Ok((id, addr))
}

impl NodeArgs {
    /// Every voter: the peers and this node.
    pub fn voters(&self) -> Vec<NodeId> {
        let mut voters: Vec<NodeId> = self.peers.iter().map(|(id, _)| *id).collect();
        voters.push(self.id);
        voters
    }

    /// This node's QUIC endpoint, with its certificates and its peers.
    pub fn bind_quic(&self) -> Result<QuicTransport, SetupError> {
        let tls = TlsMaterial::from_pem_files(&self.ca, &self.cert, &self.key)?;
        let mut config = raft_transport_quic::Config::new(self.id, self.listen, tls);
        for (id, addr) in &self.peers {
            config = config.with_peer(*id, *addr);
        }
        Ok(QuicTransport::bind(config)?)
    }

    /// This node's log: created for [`NodeArgs::voters`] if `--data` is new
    /// or empty, reopened (with its snapshot) otherwise.
    pub fn open_or_create_log(&self) -> Result<RocksStorage, SetupError> {
        open_or_create(&self.data, &self.voters())
    }
}

/// Reopens the log in `dir`, or creates it for `voters` if `dir` is new.
pub fn open_or_create(dir: &Path, voters: &[NodeId]) -> Result<RocksStorage, SetupError> {
    let fresh = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(source) => {
            return Err(SetupError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    if fresh {
        let conf = ConfState::with_voters(voters.iter().copied());
        Ok(RocksStorage::create(dir, conf, EntryId::default())?)
    } else {
        Ok(RocksStorage::open(dir)?)
    }
}

/// Writes a development CA (`ca.pem`) and a certificate per node id
/// (`node-<id>.pem`, `node-<id>.key`) to `out`, for [`NodeArgs`]' `--ca`,
/// `--cert` and `--key`. Never for production: see
/// [`raft_transport_quic::dev_certs`].
pub fn write_dev_certs(out: &Path, ids: &[NodeId]) -> Result<(), SetupError> {
    let write = |name: String, text: &str| {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|source| SetupError::Io { path, source })
    };
    std::fs::create_dir_all(out).map_err(|source| SetupError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let ca = raft_transport_quic::dev_certs::DevCa::new()?;
    write("ca.pem".into(), &ca.cert_pem())?;
    for id in ids {
        let pem = ca.node_pem(*id)?;
        write(format!("node-{id}.pem"), &pem.cert)?;
        write(format!("node-{id}.key"), &pem.key)?;
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (how service managers and `kill` stop a
/// node), or with the error that kept either from being watched.
pub async fn stop_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_or_say_why_not() {
        assert_eq!(
            parse_peer("2=127.0.0.1:7002"),
            Ok((2, "127.0.0.1:7002".parse().unwrap()))
        );
        assert!(parse_peer("127.0.0.1:7002")
            .unwrap_err()
            .contains("ID=ADDR"));
        assert!(parse_peer("x=127.0.0.1:1").unwrap_err().contains("node id"));
        assert!(parse_peer("2=nowhere").unwrap_err().contains("address"));
    }

    #[test]
    fn a_log_is_created_once_then_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let first = open_or_create(&path, &[1, 2, 3]).unwrap();
        drop(first);
        // A second create would refuse the directory; reopening takes it.
        open_or_create(&path, &[1, 2, 3]).unwrap();
        let certs = dir.path().join("certs");
        write_dev_certs(&certs, &[1, 2]).unwrap();
        for name in ["ca.pem", "node-1.pem", "node-1.key", "node-2.key"] {
            assert!(certs.join(name).exists(), "{name}");
        }
    }
}
