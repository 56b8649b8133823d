//! The raft-cluster binary end to end: the one-command demo, and a
//! multi-host cluster of three `raft-cluster node` processes on loopback
//! driven by `raft-cluster propose`, `read`, `transfer` and `member`.

use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};

mod common;

use common::{
    assert_fresh_member_list, free_tcp, free_udp, read_index, succeeded, tls_args, Nodes, BIN,
};

#[test]
fn the_demo_replicates_fails_over_and_checks_its_logs() {
    let out = Command::new(BIN)
        .args([
            "--entries",
            "3000",
            "--proposers",
            "32",
            "--replace-entries",
            "2000",
        ])
        .output()
        .unwrap();
    let stdout = succeeded(&out);
    for expected in [
        "elected leader",
        "replicated 3000 entries of 256 bytes with 32 proposers",
        "commit latency: p50",
        "transferred leadership from node",
        "took over at term",
        "checked: 3000 acknowledged entries",
        "survivors' state machines equal",
        "restored its own snapshot at index",
        // The leader may send the snapshot again before the follower's answer
        // to the first arrives (the follower ignores the second); exactly one
        // is restored.
        "MsgSnap, follower received",
        "and restored 1 (snapshot at index",
        "state equal on all 3 nodes",
        "as a learner after",
        "by snapshot (restored 1",
        "promoted node 4 to voter",
        "voters [2, 3, 4]",
        "during    2000 entries",
        "members 2, 3, 4 agree",
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

fn propose(to: &[String], data: &str) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("propose");
    for endpoint in to {
        cmd.args(["--to", endpoint]);
    }
    cmd.arg(data).output().unwrap()
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
    let raft: Vec<SocketAddr> = (0..3).map(|_| free_udp()).collect();
    let client: Vec<SocketAddr> = (0..3).map(|_| free_tcp()).collect();
    let mut nodes = Nodes::default();
    for id in 1..=3u64 {
        let i = (id - 1) as usize;
        let mut cmd = Command::new(BIN);
        cmd.args(["node", "--id", &id.to_string()])
            .args(["--listen", &raft[i].to_string()])
            .args(["--client", &client[i].to_string()])
            .arg("--data")
            .arg(dir.path().join(format!("data-{id}")))
            .args(tls_args(&certs, id))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for peer in 1..=3u64 {
            if peer != id {
                cmd.arg("--peer")
                    .arg(format!("{peer}={}", raft[(peer - 1) as usize]));
            }
        }
        nodes.children.push(cmd.spawn().unwrap());
    }
    // Every node as an endpoint, untagged: the client tries them in turn
    // (and waits out the election, up to about 30 s) until one commits.
    let all = client.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let out = Command::new(BIN)
        .args([
            "propose",
            "--max-tries",
            "100",
            "--to",
            &all.join(","),
            "hello",
        ])
        .output()
        .unwrap();
    let stdout = succeeded(&out);
    assert!(stdout.starts_with("hello: committed at index"), "{stdout}");

    // Alone, a follower refuses and names the leader.
    let refusals: Vec<(usize, String)> = client
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            let out = propose(&[addr.to_string()], "x");
            (i, String::from_utf8_lossy(&out.stderr).into_owned())
        })
        .filter(|(_, e)| e.contains("not the leader"))
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    let leader_id = refusals[0].1.split("node ").nth(1).and_then(|rest| {
        rest.split_whitespace()
            .next()
            .and_then(|id| id.parse::<u64>().ok())
    });
    let leader_id = leader_id.unwrap_or_else(|| panic!("no leader named in {refusals:?}"));
    assert!(
        refusals
            .iter()
            .all(|(_, e)| e.contains(&format!("node {leader_id} leads"))),
        "{refusals:?}"
    );
    let leader = client[(leader_id - 1) as usize];
    let followers: Vec<SocketAddr> = refusals.iter().map(|(i, _)| client[*i]).collect();
    let tagged = |addr: SocketAddr| {
        let id = client.iter().position(|a| *a == addr).unwrap() + 1;
        format!("{id}={addr}")
    };

    // Sent first to a follower, with ids: the hint leads straight to the
    // leader, past the other follower.
    let out = propose(
        &[tagged(followers[0]), tagged(followers[1]), tagged(leader)],
        "via-hint",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("via-hint: committed at index"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "through node {leader_id} at {leader} after 2 tries"
        )),
        "{stderr}"
    );

    // Without ids the hint cannot be mapped: the next endpoint is tried.
    let out = propose(&[format!("{},{}", followers[0], leader)], "via-next");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("through {leader} after 2 tries")),
        "{stderr}"
    );

    // A linearizable read through a follower alone: it asks the leader and
    // answers once it has applied the writes above.
    let committed: u64 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .last()
        .and_then(|i| i.parse().ok())
        .unwrap_or(0);
    let (read, stdout) = read_index(&followers[0].to_string());
    assert!(
        committed > 0 && read >= committed,
        "{stdout} (write at {committed})"
    );

    // Leadership moves to the first follower; it then takes proposals.
    let target = client.iter().position(|a| *a == followers[0]).unwrap() + 1;
    let out = Command::new(BIN)
        .args(["transfer", "--to", &leader.to_string(), &target.to_string()])
        .output()
        .unwrap();
    let stdout = succeeded(&out);
    assert!(
        stdout.contains(&format!("node {target} leads now")),
        "{stdout}"
    );
    succeeded(&propose(&[followers[0].to_string()], "after-transfer"));

    // The leader lists the members with their QUIC addresses, and refuses
    // to remove one that is not there.
    let tagged_all: Vec<String> = client.iter().map(|a| tagged(*a)).collect();
    let member = |args: &[&str]| {
        Command::new(BIN)
            .args(["member", "--to", &tagged_all.join(",")])
            .args(args)
            .output()
            .unwrap()
    };
    let out = member(&["list"]);
    assert_fresh_member_list(&out, &raft);
    let out = member(&["remove", "9"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("invalid membership change: node 9 is not a member"),
        "{stderr}"
    );
}
