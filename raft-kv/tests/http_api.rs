//! The HTTP API against an in-process 3-node cluster: the write and read
//! paths, a follower's redirect, and every kind of bad request.

mod common;

use common::{cluster, request, split_location};
use raft_kv::http::ServiceConfig;
use raft_kv::local::{LocalKv, LocalOptions};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puts_gets_cas_delete_and_a_followers_redirect() {
    let mut kv = cluster(ServiceConfig::default()).await;
    let leader = kv.leader().expect("a leader");
    let at = kv.http_addr(leader).expect("leader address");
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let f_at = kv.http_addr(follower).expect("follower address");

    let put = request(at, "PUT", "/kv/color", b"blue").await.unwrap();
    assert_eq!(put.status, 200, "{put:?}");
    assert_eq!(put.json()["previous"], serde_json::Value::Null);
    let put = request(at, "PUT", "/kv/color", b"teal").await.unwrap();
    assert_eq!(put.json()["previous"], "blue");

    let get = request(at, "GET", "/kv/color", b"").await.unwrap();
    assert_eq!(
        (get.status, get.json()["value"].clone()),
        (200, "teal".into())
    );

    let cas = br#"{"expected":"teal","new":"green"}"#;
    let swapped = request(at, "POST", "/kv/color/cas", cas).await.unwrap();
    assert_eq!(swapped.json()["swapped"], true);
    let again = request(at, "POST", "/kv/color/cas", cas).await.unwrap();
    assert_eq!(again.json()["swapped"], false);
    assert_eq!(again.json()["current"], "green");
    let create = br#"{"expected":null,"new":"1"}"#;
    let created = request(at, "POST", "/kv/fresh/cas", create).await.unwrap();
    assert_eq!(created.json()["swapped"], true);

    // A follower answers linearizable reads itself, after a ReadIndex
    // round through the leader.
    let read = request(f_at, "GET", "/kv/color", b"").await.unwrap();
    assert_eq!(
        (read.status, read.json()["value"].clone()),
        (200, "green".into())
    );

    // A follower sends writes and lease reads to the leader, keeping the
    // path and query.
    for (method, path) in [("PUT", "/kv/shape"), ("GET", "/kv/color?consistency=lease")] {
        let moved = request(f_at, method, path, b"round").await.unwrap();
        assert_eq!(moved.status, 307, "{moved:?}");
        let (addr, to) = split_location(moved.header("location").expect("a Location"));
        assert_eq!((addr, to.as_str()), (at, path));
        assert_eq!(moved.json()["leader"], leader);
        let there = request(addr, method, &to, b"round").await.unwrap();
        assert_eq!(there.status, 200, "{there:?}");
    }
    let get = request(at, "GET", "/kv/shape", b"").await.unwrap();
    assert_eq!(get.json()["value"], "round");

    // A stale read answers from the follower's own store, which catches up.
    let mut seen = None;
    for _ in 0..200 {
        let r = request(f_at, "GET", "/kv/shape?consistency=stale", b"")
            .await
            .unwrap();
        if r.status == 200 {
            seen = Some(r.json()["value"].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, Some("round".into()));

    let del = request(at, "DELETE", "/kv/color", b"").await.unwrap();
    assert_eq!(del.json()["existed"], true);
    let gone = request(at, "GET", "/kv/color", b"").await.unwrap();
    assert_eq!(gone.status, 404);
    assert!(gone.json()["error"].is_string());
    let del = request(at, "DELETE", "/kv/color", b"").await.unwrap();
    assert_eq!(del.json()["existed"], false);

    let status = request(at, "GET", "/status", b"").await.unwrap().json();
    assert_eq!(status["role"], "Leader");
    assert_eq!(status["leader_http"], at.to_string());
    assert_eq!(status["keys"], 2);
    let metrics = request(at, "GET", "/metrics", b"").await.unwrap();
    assert!(metrics
        .body
        .contains("raft_kv_requests_total{op=\"put\",result=\"ok\"} 3"));
    assert!(metrics
        .body
        .contains(&format!("raft_is_leader{{node=\"{leader}\"}} 1")));
    kv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_moves_leadership_and_writes_follow() {
    let mut kv = cluster(ServiceConfig::default()).await;
    let leader = kv.leader().expect("a leader");
    let to = (1..=3).find(|id| *id != leader).expect("a follower");
    let at = kv.http_addr(leader).unwrap();
    let body = format!("{{\"to\":{to}}}");
    let moved = request(at, "POST", "/transfer", body.as_bytes())
        .await
        .unwrap();
    assert_eq!(moved.status, 200, "{moved:?}");
    assert_eq!(moved.json()["leader"], to);
    // The old leader now redirects writes to the new one.
    let put = request(at, "PUT", "/kv/k", b"v").await.unwrap();
    assert_eq!(put.status, 307, "{put:?}");
    let (addr, path) = split_location(put.header("location").unwrap());
    assert_eq!(addr, kv.http_addr(to).unwrap());
    let put = request(addr, "PUT", &path, b"v").await.unwrap();
    assert_eq!(put.status, 200, "{put:?}");
    kv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_4xx_with_a_json_error() {
    let mut config = ServiceConfig::default();
    config.body_limit = 1024;
    config.max_key_len = 16;
    let mut kv = cluster(config).await;
    let at = kv.http_addr(kv.leader().expect("a leader")).unwrap();

    let big = vec![b'a'; 4096];
    let long_key = format!("/kv/{}", "k".repeat(17));
    let cases: Vec<(&str, &str, &[u8], u16)> = vec![
        ("PUT", "/kv/big", &big, 413),
        ("POST", "/kv/big/cas", &big, 413),
        ("PUT", "/kv/bin", &[0xff, 0xfe], 400),
        ("PUT", &long_key, b"v", 400),
        ("POST", "/kv/k/cas", b"not json", 400),
        ("POST", "/kv/k/cas", br#"{"new":1}"#, 400),
        ("POST", "/kv/k/cas", br#"{"expected":"a"}"#, 400),
        ("POST", "/kv/k/cas", br#"{"new":"b","extra":0}"#, 400),
        ("GET", "/kv/k?consistency=sometimes", b"", 400),
        ("GET", "/kv/k?nonsense=1", b"", 400),
        ("POST", "/transfer", b"{}", 400),
        ("POST", "/transfer", br#"{"to":9}"#, 400),
        ("GET", "/nowhere", b"", 404),
        ("PATCH", "/kv/k", b"", 405),
    ];
    for (method, path, body, status) in cases {
        let reply = request(at, method, path, body).await.unwrap();
        assert_eq!(reply.status, status, "{method} {path}: {reply:?}");
        assert!(
            reply.json()["error"].is_string(),
            "{method} {path}: {reply:?}"
        );
    }
    // Nothing above reached the log: the store is empty and still serves.
    let status = request(at, "GET", "/status", b"").await.unwrap().json();
    assert_eq!(status["keys"], 0);
    let ok = request(at, "PUT", "/kv/k", &[b'v'; 1000]).await.unwrap();
    assert_eq!(ok.status, 200);
    kv.shutdown().await.unwrap();
}

/// The value a node serves at `path` once it answers 200 (within 5 s).
async fn read_eventually(at: std::net::SocketAddr, path: &str) -> Option<serde_json::Value> {
    for _ in 0..500 {
        if let Ok(r) = request(at, "GET", path, b"").await {
            if r.status == 200 {
                return Some(r.json()["value"].clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quic_cluster_serves_and_a_restarted_leader_rejoins() {
    // What `raft-kv local` runs: RocksDB logs and QUIC links.
    let mut kv = LocalKv::start(LocalOptions::default()).await.unwrap();
    let leader = kv.wait_for_leader(Duration::from_secs(10)).await.unwrap();
    let at = kv.http_addr(leader).unwrap();
    let put = request(at, "PUT", "/kv/k", b"before").await.unwrap();
    assert_eq!(put.status, 200, "{put:?}");

    kv.stop_node(leader).await.unwrap();
    assert!(request(at, "GET", "/status", b"").await.is_err());
    let next = kv.wait_for_leader(Duration::from_secs(10)).await.unwrap();
    assert_ne!(next, leader);
    let put = request(kv.http_addr(next).unwrap(), "PUT", "/kv/k", b"after")
        .await
        .unwrap();
    assert_eq!(put.json()["previous"], "before");

    // Back on its log and its old addresses, it catches up and answers a
    // linearizable read itself.
    kv.restart_node(leader).await.unwrap();
    assert_eq!(read_eventually(at, "/kv/k").await, Some("after".into()));
    kv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_links_cut_and_heal_through_the_fault_hook() {
    let mut kv = LocalKv::start(LocalOptions::default()).await.unwrap();
    let old = kv.wait_for_leader(Duration::from_secs(10)).await.unwrap();
    for other in (1..=3).filter(|id| *id != old) {
        kv.cut(old, other).unwrap();
    }
    assert_eq!(kv.link_faults(old).unwrap().blocked().len(), 2);
    // The other two elect among themselves; CheckQuorum deposes the old one.
    let mut new = None;
    for _ in 0..1000 {
        new = (1..=3).filter(|id| *id != old).find(|id| {
            kv.node(*id)
                .is_some_and(|n| n.metrics().role == raft_core::Role::Leader)
        });
        if new.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let new = new.expect("the cut-off majority elects a leader");
    kv.heal().unwrap();
    assert!(kv.link_faults(old).unwrap().blocked().is_empty());
    let at = kv.http_addr(new).unwrap();
    assert_eq!(request(at, "PUT", "/kv/k", b"v").await.unwrap().status, 200);
    // Healed, the old leader catches up and reads the write itself.
    let old_at = kv.http_addr(old).unwrap();
    assert_eq!(read_eventually(old_at, "/kv/k").await, Some("v".into()));
    kv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_endpoint_exists_only_when_switched_on() {
    let mut off = cluster(ServiceConfig::default()).await;
    let at = off.http_addr(1).unwrap();
    let reply = request(at, "POST", "/admin/faults", br#"{"blocked":[2]}"#)
        .await
        .unwrap();
    assert_eq!(reply.status, 404, "{reply:?}");
    off.shutdown().await.unwrap();

    let faults = raft_core::LinkFaults::new();
    let mut config = ServiceConfig::default();
    config.link_faults = Some(faults.clone());
    let mut on = cluster(config).await;
    let at = on.http_addr(1).unwrap();
    let set = request(at, "POST", "/admin/faults", br#"{"blocked":[3,2]}"#)
        .await
        .unwrap();
    assert_eq!(set.status, 200, "{set:?}");
    assert_eq!(set.json()["blocked"], serde_json::json!([2, 3]));
    assert_eq!(faults.blocked(), vec![2, 3]);
    let get = request(at, "GET", "/admin/faults", b"").await.unwrap();
    assert_eq!(get.json()["blocked"], serde_json::json!([2, 3]));
    let bad = request(at, "POST", "/admin/faults", br#"{"blocked":"all"}"#)
        .await
        .unwrap();
    assert_eq!(bad.status, 400, "{bad:?}");
    let healed = request(at, "POST", "/admin/faults", br#"{"blocked":[]}"#)
        .await
        .unwrap();
    assert_eq!(healed.json()["blocked"], serde_json::json!([]));
    assert!(faults.blocked().is_empty());
    on.shutdown().await.unwrap();
}
