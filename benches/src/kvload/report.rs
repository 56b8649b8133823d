//! The table the bench prints and the JSON it may write: each case with
//! both systems side by side and raft-kv's figures as ratios of etcd's.

use super::load::CaseResult;
use super::System;
use std::fmt::Write;
use std::time::Duration;

/// One case measured on both systems.
#[derive(Clone, Debug)]
pub struct Pair {
    /// raft-kv's result.
    pub kv: CaseResult,
    /// etcd's result, from the same run.
    pub etcd: CaseResult,
}

impl Pair {
    /// raft-kv's throughput over etcd's (above 1 is faster).
    pub fn throughput_ratio(&self) -> f64 {
        self.kv.ops_per_sec() / self.etcd.ops_per_sec().max(1e-9)
    }

    /// raft-kv's p99 over etcd's (below 1 is better).
    pub fn p99_ratio(&self) -> f64 {
        self.kv.percentile(0.99).as_secs_f64() / self.etcd.percentile(0.99).as_secs_f64().max(1e-9)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The table, one line per case.
pub fn table(pairs: &[Pair]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| op  | clients | {:>13} | p50 ms | p99 ms | {:>13} | p50 ms | p99 ms | ops/s ratio | p99 ratio |",
        "raft-kv ops/s", "etcd ops/s"
    );
    let _ = writeln!(
        out,
        "|-----|--------:|--------------:|-------:|-------:|--------------:|-------:|-------:|------------:|----------:|"
    );
    for p in pairs {
        let _ = writeln!(
            out,
            "| {:<3} | {:>7} | {:>13.0} | {:>6.2} | {:>6.2} | {:>13.0} | {:>6.2} | {:>6.2} | {:>10.2}× | {:>8.2}× |",
            p.kv.op.name(),
            p.kv.clients,
            p.kv.ops_per_sec(),
            ms(p.kv.percentile(0.5)),
            ms(p.kv.percentile(0.99)),
            p.etcd.ops_per_sec(),
            ms(p.etcd.percentile(0.5)),
            ms(p.etcd.percentile(0.99)),
            p.throughput_ratio(),
            p.p99_ratio(),
        );
    }
    for r in pairs.iter().flat_map(|p| [&p.kv, &p.etcd]) {
        if r.errors > 0 {
            let _ = writeln!(
                out,
                "{} {} x{}: {} errors, first: {}",
                r.system,
                r.op.name(),
                r.clients,
                r.errors,
                r.first_error.as_deref().unwrap_or("?")
            );
        }
    }
    out
}

fn result_json(r: &CaseResult) -> serde_json::Value {
    serde_json::json!({
        "ops": r.ok,
        "errors": r.errors,
        "seconds": r.elapsed.as_secs_f64(),
        "ops_per_sec": r.ops_per_sec(),
        "p50_ms": ms(r.percentile(0.5)),
        "p99_ms": ms(r.percentile(0.99)),
    })
}

/// The results as JSON: one object per case.
pub fn json(pairs: &[Pair]) -> serde_json::Value {
    let cases: Vec<serde_json::Value> = pairs
        .iter()
        .map(|p| {
            serde_json::json!({
                "op": p.kv.op.name(),
                "clients": p.kv.clients,
                (System::RaftKv.name()): result_json(&p.kv),
                (System::Etcd.name()): result_json(&p.etcd),
                "throughput_ratio": p.throughput_ratio(),
                "p99_ratio": p.p99_ratio(),
            })
        })
        .collect();
    serde_json::json!({ "value_bytes": super::VALUE_LEN, "cases": cases })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kvload::Op;

    fn result(system: &'static str, ok: u64, p: u64) -> CaseResult {
        CaseResult {
            system,
            op: Op::Put,
            clients: 16,
            ok,
            errors: 0,
            first_error: None,
            elapsed: Duration::from_secs(1),
            latencies: vec![Duration::from_millis(p); ok as usize],
        }
    }

    #[test]
    fn ratios_compare_raft_kv_with_etcd() {
        let pair = Pair {
            kv: result("raft-kv", 300, 2),
            etcd: result("etcd", 100, 4),
        };
        assert!((pair.throughput_ratio() - 3.0).abs() < 1e-9);
        assert!((pair.p99_ratio() - 0.5).abs() < 1e-9);
        let t = table(std::slice::from_ref(&pair));
        assert!(t.contains("3.00×") && t.contains("0.50×"), "{t}");
        let j = json(&[pair]);
        assert_eq!(j["cases"][0]["raft-kv"]["ops"], 300);
        assert_eq!(j["cases"][0]["etcd"]["ops"], 100);
    }
}
