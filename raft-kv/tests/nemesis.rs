//! The service as separate processes under a nemesis: three `raft-kv node`
//! processes on 127.0.0.1 (RocksDB logs in temporary directories, QUIC
//! between them), concurrent clients doing put, get, delete and
//! compare-and-swap over HTTP, while the nemesis SIGKILLs and restarts
//! processes, transfers leadership, and cuts links through the nodes'
//! `/admin/faults` endpoints. Each round's history is checked for
//! linearizability and for acknowledged writes lost after healing.

mod common;

use common::request;
use common::workload::{client, final_reads, perform, verdict, Ending, History, KEYS};
use raft_lincheck::kv::KvInput;
use raft_lincheck::{Recorder, Verdict};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODES: usize = 3;
const ROUNDS: u64 = 3;
const CLIENTS: u64 = 4;

fn free_tcp() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The node processes; dropping it kills every one still running, so no
/// process outlives the test, however it ends.
struct Processes {
    args: Vec<Vec<String>>,
    http: Vec<SocketAddr>,
    children: Vec<Option<Child>>,
    logs: PathBuf,
    _dir: tempfile::TempDir,
}

impl Processes {
    fn start() -> Processes {
        let dir = tempfile::Builder::new()
            .prefix("raft-kv-nemesis-")
            .tempdir()
            .unwrap();
        let certs = dir.path().join("certs");
        let status = Command::new(env!("CARGO_BIN_EXE_raft-kv"))
            .args(["dev-certs", "--ids", "1,2,3", "--out"])
            .arg(&certs)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "dev-certs failed");
        let quic: Vec<SocketAddr> = (0..NODES).map(|_| free_udp()).collect();
        let http: Vec<SocketAddr> = (0..NODES).map(|_| free_tcp()).collect();
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        let args = (1..=NODES)
            .map(|id| {
                let mut a: Vec<String> = vec![
                    "node".into(),
                    "--id".into(),
                    id.to_string(),
                    "--listen".into(),
                    quic[id - 1].to_string(),
                    "--http".into(),
                    http[id - 1].to_string(),
                    "--data".into(),
                    path(dir.path().join(format!("node-{id}"))),
                    "--ca".into(),
                    path(certs.join("ca.pem")),
                    "--cert".into(),
                    path(certs.join(format!("node-{id}.pem"))),
                    "--key".into(),
                    path(certs.join(format!("node-{id}.key"))),
                    "--tick-ms".into(),
                    "20".into(),
                    "--fault-injection".into(),
                ];
                for peer in (1..=NODES).filter(|p| *p != id) {
                    a.push("--peer".into());
                    a.push(format!("{peer}={}", quic[peer - 1]));
                    a.push("--peer-http".into());
                    a.push(format!("{peer}={}", http[peer - 1]));
                }
                a
            })
            .collect();
        let logs = dir.path().to_path_buf();
        let mut p = Processes {
            args,
            http,
            children: (0..NODES).map(|_| None).collect(),
            logs,
            _dir: dir,
        };
        for i in 0..NODES {
            p.spawn(i);
        }
        p
    }

    fn spawn(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log(i))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_raft-kv"))
            .args(&self.args[i])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
    }

    fn log(&self, i: usize) -> PathBuf {
        self.logs.join(format!("node-{}.log", i + 1))
    }

    /// SIGKILL: no shutdown path runs, the log is whatever reached disk.
    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn running(&self, i: usize) -> bool {
        self.children[i].is_some()
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for i in 0..NODES {
            self.kill(i);
        }
        if std::thread::panicking() {
            for i in 0..NODES {
                let log = std::fs::read_to_string(self.log(i)).unwrap_or_default();
                eprintln!("--- node {} stderr (tail) ---", i + 1);
                let start = log.len().saturating_sub(4000);
                eprintln!("{}", log.get(start..).unwrap_or(&log));
            }
        }
    }
}

async fn json(addr: SocketAddr, method: &str, path: &str, body: &str) -> Option<serde_json::Value> {
    let sent = request(addr, method, path, body.as_bytes());
    match tokio::time::timeout(Duration::from_secs(2), sent).await {
        Ok(Ok(reply)) if reply.status == 200 => serde_json::from_str(&reply.body).ok(),
        _ => None,
    }
}

/// The node (index) that reports leading, waiting up to 15 s.
async fn leader(p: &Processes) -> usize {
    let start = Instant::now();
    loop {
        for i in (0..NODES).filter(|i| p.running(*i)) {
            let status = json(p.http[i], "GET", "/status", "").await;
            if status.is_some_and(|s| s["role"] == "Leader") {
                return i;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no leader within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Blocks `blocked` (node ids) at node `i`; false if it did not answer.
async fn set_faults(p: &Processes, i: usize, blocked: &[usize]) -> bool {
    let body = serde_json::json!({ "blocked": blocked }).to_string();
    let answer = json(p.http[i], "POST", "/admin/faults", &body).await;
    answer.is_some_and(|a| a["blocked"] == serde_json::json!(blocked))
}

async fn heal(p: &Processes) {
    for i in (0..NODES).filter(|i| p.running(*i)) {
        let start = Instant::now();
        while !set_faults(p, i, &[]).await {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "node {} did not heal",
                i + 1
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[derive(Default, Debug)]
struct Faults {
    kills: u32,
    transfers: u32,
    transfers_done: u32,
    cuts: u32,
}

/// One round of faults: kill and restart the leader, move leadership, cut
/// the leader off from the others, kill and restart a follower.
async fn nemesis(p: &mut Processes, faults: &mut Faults, round: u64) {
    let pause = || tokio::time::sleep(Duration::from_millis(400));
    pause().await;
    let l = leader(p).await;
    p.kill(l);
    faults.kills += 1;
    pause().await;
    p.spawn(l);

    pause().await;
    let l = leader(p).await;
    let to = (l + 1 + round as usize % 2) % NODES;
    faults.transfers += 1;
    let body = serde_json::json!({ "to": to + 1 }).to_string();
    if json(p.http[l], "POST", "/transfer", &body).await.is_some() {
        faults.transfers_done += 1;
    }

    pause().await;
    let l = leader(p).await;
    let others: Vec<usize> = (0..NODES).filter(|i| *i != l).collect();
    let mut cut = set_faults(p, l, &others.iter().map(|i| i + 1).collect::<Vec<_>>()).await;
    for &o in &others {
        cut &= set_faults(p, o, &[l + 1]).await;
    }
    assert!(cut, "the fault endpoints did not answer");
    faults.cuts += 1;
    tokio::time::sleep(Duration::from_millis(700)).await;
    heal(p).await;

    pause().await;
    let l = leader(p).await;
    let follower = (l + 1 + round as usize) % NODES;
    p.kill(follower);
    faults.kills += 1;
    pause().await;
    p.spawn(follower);
}

/// Deletes every key, so that each round's history starts from the empty
/// store its model assumes (the previous round's values are still there).
async fn clear(nodes: &[SocketAddr]) {
    let start = Instant::now();
    for (i, key) in KEYS.iter().enumerate() {
        let input = KvInput::Delete {
            key: key.to_string(),
        };
        while !matches!(perform(nodes, i, &input).await, Ending::Done(..)) {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "could not clear key {key}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_stay_linearizable_under_kills_transfers_and_cuts() {
    let mut p = Processes::start();
    leader(&p).await;
    let nodes = p.http.clone();
    let mut faults = Faults::default();
    let (mut operations, mut unknown, mut anomalies) = (0, 0, 0);
    for round in 0..ROUNDS {
        clear(&nodes).await;
        let history: History = Arc::new(Mutex::new(Recorder::new()));
        let done = Arc::new(AtomicBool::new(false));
        // Fresh client ids each round keep the written values unique.
        let ids = round * 10 + 1..=round * 10 + CLIENTS;
        let clients: Vec<_> = ids
            .clone()
            .map(|c| {
                let (h, n, d) = (history.clone(), nodes.clone(), done.clone());
                tokio::spawn(client(h, n, c, ids.clone(), 20, d))
            })
            .collect();
        nemesis(&mut p, &mut faults, round).await;
        done.store(true, Ordering::Relaxed);
        for c in clients {
            c.await.unwrap();
        }
        heal(&p).await;
        leader(&p).await;
        final_reads(&nodes, &history).await;
        let checked = verdict(history);
        println!(
            "round {round}: {} operations ({} unknown): {:?}, {} acknowledged writes lost",
            checked.operations, checked.unknown, checked.verdict, checked.lost
        );
        operations += checked.operations;
        unknown += checked.unknown;
        anomalies += usize::from(checked.verdict != Verdict::Linearizable) + checked.lost;
    }
    println!(
        "nemesis: {ROUNDS} histories checked, {operations} operations, {unknown} unknown outcomes, \
         faults: {} kill+restart, {} leader transfers ({} done), {} leader cut-offs; anomalies = {anomalies}",
        faults.kills, faults.transfers, faults.transfers_done, faults.cuts
    );
    assert_eq!(anomalies, 0);
    assert!(faults.kills >= 1 && faults.cuts >= 1 && faults.transfers >= 1);
    assert!(
        operations - unknown > 100,
        "too few operations completed: {operations} ({unknown} unknown)"
    );
}
