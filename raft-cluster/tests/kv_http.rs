//! `raft-cluster node --kv-http` as three processes on 127.0.0.1: each node
//! applies to raft-kv's store and serves its HTTP API beside the client
//! port. A follower redirects a write to the leader's API, a linearizable
//! read through the other follower sees it, and the client port still
//! lists the members and answers read barriers.

mod common;

use common::{assert_fresh_member_list, free_tcp, free_udp, read_index, tls_args, Nodes, BIN};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An HTTP answer: status, `Location` header, body.
struct Reply {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

/// One request per connection (`Connection: close`); `None` if the node
/// did not answer in time.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Option<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let location = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.trim().to_string());
    Some(Reply {
        status,
        location,
        body: body.to_string(),
    })
}

fn start(dir: &Path, quic: &[SocketAddr], client: &[SocketAddr], api: &[SocketAddr]) -> Nodes {
    let certs = dir.join("certs");
    let status = Command::new(BIN)
        .args(["dev-certs", "--out"])
        .arg(&certs)
        .args(["--ids", "1", "2", "3"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "dev-certs failed");
    let mut nodes = Nodes {
        children: Vec::new(),
        logs: Vec::new(),
    };
    for id in 1..=3usize {
        let i = id - 1;
        let log = dir.join(format!("node-{id}.log"));
        let mut cmd = Command::new(BIN);
        cmd.args(["node", "--id", &id.to_string()])
            .args(["--listen", &quic[i].to_string()])
            .args(["--client", &client[i].to_string()])
            .args(["--kv-http", &api[i].to_string()])
            .arg("--data")
            .arg(dir.join(format!("data-{id}")))
            .args(tls_args(&certs, id))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for peer in (1..=3usize).filter(|p| *p != id) {
            cmd.arg("--peer").arg(format!("{peer}={}", quic[peer - 1]));
            cmd.arg("--kv-peer-http")
                .arg(format!("{peer}={}", api[peer - 1]));
        }
        nodes.children.push(cmd.spawn().unwrap());
        nodes.logs.push(log);
    }
    nodes
}

/// The index of the node whose API reports leading, and which every node
/// names as leader, waiting up to 30 s.
fn agreed_leader(api: &[SocketAddr]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let statuses: Vec<Option<Value>> = api
            .iter()
            .map(|a| http(*a, "GET", "/status", "").filter(|r| r.status == 200))
            .map(|r| r.map(|r| r.json()))
            .collect();
        let leaders: Vec<Option<u64>> = statuses
            .iter()
            .map(|s| s.as_ref().and_then(|s| s["leader"].as_u64()))
            .collect();
        if let Some(Some(leader)) = leaders.first() {
            let i = (*leader - 1) as usize;
            let leads = statuses[i].as_ref().is_some_and(|s| s["role"] == "Leader");
            if leads && leaders.iter().all(|l| *l == Some(*leader)) {
                return i;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no agreed leader within 30 s: {statuses:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn three_kv_nodes_redirect_writes_read_linearizably_and_list_members() {
    let dir = tempfile::tempdir().unwrap();
    let quic: Vec<SocketAddr> = (0..3).map(|_| free_udp()).collect();
    let client: Vec<SocketAddr> = (0..3).map(|_| free_tcp()).collect();
    let api: Vec<SocketAddr> = (0..3).map(|_| free_tcp()).collect();
    let _nodes = start(dir.path(), &quic, &client, &api);

    let leader = agreed_leader(&api);
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();

    // A write to a follower is redirected to the same path on the
    // leader's API, which --kv-peer-http told it.
    let redirect = http(api[followers[0]], "PUT", "/kv/greeting", "hello").unwrap();
    assert_eq!(redirect.status, 307, "{}", redirect.body);
    let location = redirect.location.unwrap();
    assert_eq!(location, format!("http://{}/kv/greeting", api[leader]));
    let put = http(api[leader], "PUT", "/kv/greeting", "hello").unwrap();
    assert_eq!(put.status, 200, "{}", put.body);
    let put = put.json();
    assert_eq!(put["key"], "greeting");
    assert_eq!(put["previous"], Value::Null);
    let written = put["index"].as_u64().unwrap();
    assert!(written > 0, "{put}");

    // A linearizable read (the default) through the other follower: it
    // waits for the leader's read index, so it sees the write.
    let get = http(api[followers[1]], "GET", "/kv/greeting", "").unwrap();
    assert_eq!(get.status, 200, "{}", get.body);
    assert_eq!(
        get.json(),
        serde_json::json!({"key": "greeting", "value": "hello"})
    );
    let absent = http(api[followers[1]], "GET", "/kv/nothing", "").unwrap();
    assert_eq!(absent.status, 404, "{}", absent.body);

    // The client port works beside the API: the members, and a read
    // barrier at a follower that covers the write.
    let tagged: Vec<String> = client
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{}={a}", i + 1))
        .collect();
    let out = Command::new(BIN)
        .args(["member", "--to", &tagged.join(","), "list"])
        .output()
        .unwrap();
    assert_fresh_member_list(&out, &quic);
    let (read, stdout) = read_index(&client[followers[0]].to_string());
    assert!(read >= written, "{stdout} (write at {written})");
}
