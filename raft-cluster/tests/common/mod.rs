//! What the raft-cluster process tests share: free loopback ports, the
//! node processes killed however a test ends, and `raft-cluster read`.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_raft-cluster");

pub fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

pub fn free_tcp() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The node processes, killed however the test ends; their stderr is
/// printed if it failed.
#[derive(Default)]
pub struct Nodes {
    pub children: Vec<Child>,
    /// Each node's log file, printed if the test failed (may be empty).
    pub logs: Vec<PathBuf>,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            for log in &self.logs {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let start = text.len().saturating_sub(3000);
                eprintln!(
                    "--- {} ---\n{}",
                    log.display(),
                    text.get(start..).unwrap_or(&text)
                );
            }
        }
    }
}

/// Asks `to`'s client port for a linearizable read barrier and returns its
/// read index, with the command's output for messages.
pub fn read_index(to: &str) -> (u64, String) {
    let out = Command::new(BIN)
        .args(["read", "--to", to])
        .output()
        .unwrap();
    let stdout = succeeded(&out);
    let read: u64 = stdout
        .split("index ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("no read index in {stdout}"));
    (read, stdout)
}

/// Checks `raft-cluster member list`'s answer: success, the three voters
/// of a fresh group, and each node's QUIC address at `quic[id - 1]`.
pub fn assert_fresh_member_list(out: &Output, quic: &[SocketAddr]) {
    let stdout = succeeded(out);
    assert!(
        stdout.starts_with("voters [1, 2, 3], learners []"),
        "{stdout}"
    );
    for (i, addr) in quic.iter().enumerate() {
        let line = format!("node {}: voter at {addr}", i + 1);
        assert!(stdout.contains(&line), "{line:?} missing in {stdout}");
    }
}

/// A command's standard output, after checking it succeeded (its output
/// and errors in the message if not).
pub fn succeeded(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The `--ca`, `--cert` and `--key` options of node `id`, whose
/// development certificates were written to `certs`.
pub fn tls_args(certs: &std::path::Path, id: impl std::fmt::Display) -> [std::ffi::OsString; 6] {
    [
        "--ca".into(),
        certs.join("ca.pem").into(),
        "--cert".into(),
        certs.join(format!("node-{id}.pem")).into(),
        "--key".into(),
        certs.join(format!("node-{id}.key")).into(),
    ]
}
