//! The raft-kv service against a real etcd, under the same HTTP load.
//!
//! [`Systems::start`] brings up the local 3-node raft-kv cluster
//! ([`raft_kv::local::LocalKv`]: RocksDB in a temporary directory, QUIC on
//! loopback, linearizable reads) and a 3-node etcd on 127.0.0.1
//! ([`etcd::EtcdCluster`]), and waits until both answer. [`load::run_case`]
//! then drives one system with closed-loop clients, each on its own
//! keep-alive HTTP/1.1 connection to one of the three nodes, for a fixed
//! time, and returns throughput and latency percentiles.
//!
//! Both systems go through the same [`client::Session`]: raft-kv's
//! followers redirect writes to the leader (the session then writes to the
//! leader directly) and answer linearizable reads themselves; etcd's
//! members forward internally and never redirect. raft-kv is reached with
//! `PUT /kv/{key}` and `GET /kv/{key}`, etcd through its JSON gateway,
//! `POST /v3/kv/put` and `POST /v3/kv/range` (linearizable by default).
//!
//! The `kv-vs-etcd` binary runs every case and prints the table.

pub mod client;
pub mod etcd;
pub mod load;
pub mod report;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use client::{Call, Reply};
use hyper::{Method, StatusCode};
use raft_kv::local::{LocalError, LocalKv, LocalOptions};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// Why the bench could not run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BenchError {
    /// No `etcd` binary on `PATH`.
    #[error(
        "etcd is not installed (no `etcd` on PATH): run ci/setup.sh, which installs \
         Debian's etcd-server package, or pass --etcd PATH"
    )]
    EtcdMissing,
    /// An etcd member stopped before the cluster was ready.
    #[error("etcd member {member} exited ({status}); its last log lines:\n{log}")]
    EtcdExited {
        /// Which member (1-based).
        member: usize,
        /// How it exited.
        status: String,
        /// The end of its log.
        log: String,
    },
    /// A system did not become ready in time.
    #[error("{system} was not ready within {limit:?}")]
    NotReady {
        /// `raft-kv` or `etcd`.
        system: &'static str,
        /// How long the bench waited.
        limit: Duration,
    },
    /// A local operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A node could not be reached.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The node.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// A request could not be built.
    #[error("building a request: {0}")]
    Request(#[from] hyper::http::Error),
    /// A redirect without a usable `Location`.
    #[error("a redirect to an unusable location {0:?}")]
    BadRedirect(String),
    /// Redirects went on too long.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// A system answered a request with an error.
    #[error("{system} answered {status}: {body}")]
    Refused {
        /// `raft-kv` or `etcd`.
        system: &'static str,
        /// The status.
        status: StatusCode,
        /// The body, as text.
        body: String,
    },
    /// The raft-kv cluster could not start or stop.
    #[error(transparent)]
    Kv(#[from] LocalError),
    /// The run was interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// A load task failed to finish.
    #[error("a load client failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The system under load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// This workspace's reference service.
    RaftKv,
    /// etcd through its JSON gateway.
    Etcd,
}

impl System {
    /// The name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            System::RaftKv => "raft-kv",
            System::Etcd => "etcd",
        }
    }
}

/// The operation a case repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A write of a 256-byte value.
    Put,
    /// A linearizable read of a key written before.
    Get,
}

impl Op {
    /// The name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
        }
    }
}

/// The size of every value written.
pub const VALUE_LEN: usize = 256;

/// One system's nodes and how to talk to them.
#[derive(Clone, Debug)]
pub struct Target {
    /// Which system.
    pub system: System,
    /// Its nodes' HTTP addresses; load clients are spread over them.
    pub nodes: Vec<SocketAddr>,
    value: String,
}

impl Target {
    /// `system` served at `nodes`.
    pub fn new(system: System, nodes: Vec<SocketAddr>) -> Target {
        // ASCII, so raft-kv (which stores UTF-8) and etcd store the same bytes.
        let value = "v".repeat(VALUE_LEN);
        Target {
            system,
            nodes,
            value,
        }
    }

    /// The request doing `op` on key number `key`.
    pub fn call(&self, op: Op, key: u64) -> Call {
        let key = format!("bench-{key:08}");
        match (self.system, op) {
            (System::RaftKv, Op::Put) => Call {
                method: Method::PUT,
                path: format!("/kv/{key}"),
                body: Bytes::from(self.value.clone()),
                write: true,
            },
            (System::RaftKv, Op::Get) => Call {
                method: Method::GET,
                path: format!("/kv/{key}"),
                body: Bytes::new(),
                write: false,
            },
            (System::Etcd, Op::Put) => Call {
                method: Method::POST,
                path: "/v3/kv/put".into(),
                body: Bytes::from(format!(
                    r#"{{"key":"{}","value":"{}"}}"#,
                    B64.encode(&key),
                    B64.encode(&self.value)
                )),
                write: true,
            },
            (System::Etcd, Op::Get) => Call {
                method: Method::POST,
                path: "/v3/kv/range".into(),
                body: Bytes::from(format!(r#"{{"key":"{}"}}"#, B64.encode(&key))),
                write: false,
            },
        }
    }

    /// Whether `reply` is a success of `op`: a read must find its key
    /// (every key read was written first).
    pub fn check(&self, op: Op, reply: &Reply) -> Result<(), BenchError> {
        let found = match (self.system, op) {
            (_, Op::Put) | (System::RaftKv, Op::Get) => true,
            // The gateway answers 200 with no "kvs" for a missing key.
            (System::Etcd, Op::Get) => reply.body.windows(5).any(|w| w == b"\"kvs\""),
        };
        if reply.status == StatusCode::OK && found {
            Ok(())
        } else {
            Err(BenchError::Refused {
                system: self.system.name(),
                status: reply.status,
                body: String::from_utf8_lossy(&reply.body).into_owned(),
            })
        }
    }
}

/// What to measure.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Plan {
    /// The numbers of concurrent clients, one case each per operation.
    pub clients: Vec<usize>,
    /// How long each case runs on each system.
    pub duration: Duration,
    /// Keys `0..keys` are written first, then put and read at random.
    pub keys: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            clients: vec![1, 16, 128],
            duration: Duration::from_secs(3),
            keys: 1000,
        }
    }
}

/// Both systems, running and ready.
pub struct Systems {
    kv: LocalKv,
    etcd: etcd::EtcdCluster,
}

/// How long each system may take to elect a leader and answer.
const READY_LIMIT: Duration = Duration::from_secs(30);

impl Systems {
    /// Starts the local 3-node raft-kv cluster and a 3-node etcd with the
    /// binary `etcd_bin`, and waits until both answer a write. Call it on a
    /// multi-threaded runtime: raft-kv's nodes run on it.
    pub async fn start(etcd_bin: &Path) -> Result<Systems, BenchError> {
        // etcd first: its processes are killed if raft-kv fails to start.
        let mut etcd = etcd::EtcdCluster::start(etcd_bin, 3)?;
        let kv = LocalKv::start(LocalOptions::default()).await?;
        kv.wait_for_leader(READY_LIMIT).await?;
        etcd.wait_ready(READY_LIMIT).await?;
        let systems = Systems { kv, etcd };
        for target in systems.targets() {
            load::wait_writable(&target, READY_LIMIT).await?;
        }
        Ok(systems)
    }

    /// raft-kv's target, then etcd's.
    pub fn targets(&self) -> [Target; 2] {
        [
            Target::new(System::RaftKv, self.kv.http_addrs()),
            Target::new(System::Etcd, self.etcd.client_addrs()),
        ]
    }

    /// Runs every case of `plan` on both systems, alternating which goes
    /// first from one case to the next, after writing every key once on
    /// each. `progress` sees each result as it comes.
    pub async fn compare(
        &self,
        plan: &Plan,
        mut progress: impl FnMut(&load::CaseResult),
    ) -> Result<Vec<report::Pair>, BenchError> {
        let targets = self.targets();
        for target in &targets {
            load::preload(target, plan.keys, 16).await?;
        }
        let mut pairs = Vec::new();
        let cases = [Op::Put, Op::Get]
            .into_iter()
            .flat_map(|op| plan.clients.iter().map(move |c| (op, *c)));
        for (i, (op, clients)) in cases.enumerate() {
            let mut order = [&targets[0], &targets[1]];
            if i % 2 == 1 {
                order.reverse();
            }
            let mut results = Vec::new();
            for target in order {
                let r = load::run_case(target, op, clients, plan.duration, plan.keys).await?;
                progress(&r);
                results.push(r);
            }
            let (kv, etcd): (Vec<_>, Vec<_>) = results
                .into_iter()
                .partition(|r| r.system == System::RaftKv.name());
            if let (Some(kv), Some(etcd)) = (kv.into_iter().next(), etcd.into_iter().next()) {
                pairs.push(report::Pair { kv, etcd });
            }
        }
        Ok(pairs)
    }

    /// Stops raft-kv's nodes and etcd's processes.
    pub async fn shutdown(mut self) -> Result<(), BenchError> {
        self.kv.shutdown().await?;
        drop(self.etcd);
        Ok(())
    }
}
