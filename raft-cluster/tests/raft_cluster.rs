//! The raft-cluster binary end to end: the one-command demo, and a
//! multi-host cluster of three `raft-cluster node` processes on loopback
//! driven by `raft-cluster propose`.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_raft-cluster");

#[test]
fn the_demo_replicates_fails_over_and_checks_its_logs() {
    let out = Command::new(BIN)
        .args(["--entries", "3000", "--proposers", "32"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "elected leader",
        "replicated 3000 entries of 256 bytes with 32 proposers",
        "commit latency: p50",
        "took over at term",
        "checked: 3000 acknowledged entries",
        "all checks passed",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn the_demo_refuses_a_data_dir_that_already_holds_logs() {
    let dir = tempfile::tempdir().unwrap();
    let first = Command::new(BIN)
        .args(["--entries", "10", "--proposers", "2", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(first.status.success());
    let again = Command::new(BIN)
        .args(["--entries", "10", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("FAILED"), "{stderr}");
}

fn free_udp_port() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn free_tcp_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn propose(to: SocketAddr, data: &str) -> Output {
    Command::new(BIN)
        .args(["propose", "--to", &to.to_string(), data])
        .output()
        .unwrap()
}

#[test]
fn three_node_processes_elect_a_leader_and_commit_through_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let status = Command::new(BIN)
        .args(["dev-certs", "--out"])
        .arg(&certs)
        .args(["--ids", "1", "2", "3"])
        .status()
        .unwrap();
    assert!(status.success());
    let raft: Vec<SocketAddr> = (0..3).map(|_| free_udp_port()).collect();
    let client: Vec<SocketAddr> = (0..3).map(|_| free_tcp_port()).collect();
    let mut nodes = Nodes(Vec::new());
    for id in 1..=3u64 {
        let i = (id - 1) as usize;
        let mut cmd = Command::new(BIN);
        cmd.args(["node", "--id", &id.to_string()])
            .args(["--listen", &raft[i].to_string()])
            .args(["--client", &client[i].to_string()])
            .arg("--data")
            .arg(dir.path().join(format!("data-{id}")))
            .arg("--ca")
            .arg(certs.join("ca.pem"))
            .arg("--cert")
            .arg(certs.join(format!("node-{id}.pem")))
            .arg("--key")
            .arg(certs.join(format!("node-{id}.key")))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for peer in 1..=3u64 {
            if peer != id {
                cmd.arg("--peer")
                    .arg(format!("{peer}={}", raft[(peer - 1) as usize]));
            }
        }
        nodes.0.push(cmd.spawn().unwrap());
    }
    // Ask every node until one commits: followers answer "not the leader".
    let deadline = Instant::now() + Duration::from_secs(30);
    let committed = loop {
        let found = client.iter().find_map(|addr| {
            let out = propose(*addr, "hello");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            (out.status.success() && stdout.contains("committed at index")).then_some(stdout)
        });
        if let Some(stdout) = found {
            break stdout;
        }
        assert!(
            Instant::now() < deadline,
            "no node committed a proposal within 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        committed.starts_with("hello: committed at index"),
        "{committed}"
    );
    // A follower names the leader.
    let refusals: Vec<String> = client
        .iter()
        .map(|addr| String::from_utf8_lossy(&propose(*addr, "x").stderr).into_owned())
        .filter(|e| e.contains("not the leader"))
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals.iter().all(|e| e.contains("leads")), "{refusals:?}");
}
