//! What the service tests share: a bare HTTP/1.1 client (one request per
//! connection, so a stopped node's port is never held), a cluster
//! starter, and the recorded workload of the linearizability tests
//! ([`workload`]).

#![allow(dead_code)]

pub mod workload;

use raft_kv::http::ServiceConfig;
use raft_kv::local::{LocalKv, LocalOptions};
use raft_kv::local::{StorageKind, TransportKind};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// Why a request got no answer, and whether it may have been acted on.
#[derive(Debug)]
pub enum Failure {
    /// The connection was refused: nothing was sent.
    Refused,
    /// Sent, but no complete answer: the server may have acted on it.
    Lost(String),
}

pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Reply, Failure> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|_| Failure::Refused)?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    // A server refusing an oversized body may close before reading it all;
    // its answer is still there to read.
    let _ = stream.write_all(&out).await;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| Failure::Lost(e.to_string()))?;
    parse(&raw)
        .ok_or_else(|| Failure::Lost(format!("bad answer: {:?}", String::from_utf8_lossy(&raw))))
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Reply {
        status,
        headers,
        body: body.to_string(),
    })
}

/// Splits `http://host:port/path` into its address and path.
pub fn split_location(location: &str) -> (SocketAddr, String) {
    let rest = location.strip_prefix("http://").expect("http location");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    (host.parse().expect("an address"), path.to_string())
}

/// Three nodes on RocksDB logs with in-process links (restartable), a
/// leader elected.
pub async fn cluster(service: ServiceConfig) -> LocalKv {
    let mut options = LocalOptions::default();
    options.storage = StorageKind::Rocks;
    options.transport = TransportKind::InProcess;
    options.service = service;
    let cluster = LocalKv::start(options).await.expect("cluster starts");
    cluster
        .wait_for_leader(Duration::from_secs(10))
        .await
        .expect("a leader");
    cluster
}
