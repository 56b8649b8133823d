//! The kv-vs-etcd bench's load loop, briefly, against both systems: CI
//! notices if etcd is missing (this fails, naming ci/setup.sh) or if either
//! system stops answering the bench's requests.

use raft_benches::kvload::etcd::locate_etcd;
use raft_benches::kvload::{Plan, Systems};
use std::time::Duration;

#[test]
fn the_load_loop_succeeds_on_raft_kv_and_on_etcd() {
    let etcd = match locate_etcd(std::env::var_os("PATH").as_deref()) {
        Ok(path) => path,
        // Not a skip: the comparison is part of what CI checks.
        Err(e) => panic!("{e} (CI={:?})", std::env::var_os("CI")),
    };
    let servers = tokio::runtime::Runtime::new().unwrap();
    let clients = tokio::runtime::Runtime::new().unwrap();
    let systems = servers.block_on(Systems::start(&etcd)).unwrap();
    let mut plan = Plan::default();
    plan.clients = vec![1];
    plan.duration = Duration::from_millis(300);
    plan.keys = 20;
    let pairs = clients.block_on(systems.compare(&plan, |_| ())).unwrap();
    servers.block_on(systems.shutdown()).unwrap();

    assert_eq!(pairs.len(), 2, "a put case and a get case");
    for pair in &pairs {
        for r in [&pair.kv, &pair.etcd] {
            assert!(
                r.ok > 0,
                "{} {}: no operation succeeded; first error: {:?}",
                r.system,
                r.op.name(),
                r.first_error
            );
            assert!(r.percentile(0.99) >= r.percentile(0.5));
        }
        assert!(pair.throughput_ratio() > 0.0);
    }
}
