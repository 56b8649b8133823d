//! `GET /metrics`: request counters and the node's Raft state in
//! Prometheus' text format.

use super::error::ApiError;
use super::Service;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use raft_core::Role;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Put,
    Get,
    Delete,
    Cas,
    Transfer,
}

const OPS: [(Op, &str); 5] = [
    (Op::Put, "put"),
    (Op::Get, "get"),
    (Op::Delete, "delete"),
    (Op::Cas, "cas"),
    (Op::Transfer, "transfer"),
];

/// Per operation: answered, redirected, failed (4xx/5xx).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    counts: [[AtomicU64; 3]; 5],
}

impl Counters {
    pub(crate) fn count(&self, op: Op, answer: &Result<Response, ApiError>) {
        let kind = match answer {
            Ok(_) => 0,
            Err(ApiError::Redirect { .. }) => 1,
            Err(_) => 2,
        };
        self.counts[op as usize][kind].fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) async fn render(State(svc): State<Service>) -> Response {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(&svc, &mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

fn write_all(svc: &Service, out: &mut String) -> std::fmt::Result {
    writeln!(
        out,
        "# HELP raft_kv_requests_total Requests by operation and result."
    )?;
    writeln!(out, "# TYPE raft_kv_requests_total counter")?;
    for (op, name) in OPS {
        for (i, result) in ["ok", "redirect", "error"].iter().enumerate() {
            let n = svc.inner.counters.counts[op as usize][i].load(Ordering::Relaxed);
            writeln!(
                out,
                "raft_kv_requests_total{{op=\"{name}\",result=\"{result}\"}} {n}"
            )?;
        }
    }
    let m = svc.inner.node.metrics();
    let keys = svc.inner.machine.store().len();
    let gauges: [(&str, &str, u64); 8] = [
        ("raft_term", "The node's current term.", m.term),
        (
            "raft_is_leader",
            "1 if this node leads.",
            u64::from(m.role == Role::Leader),
        ),
        (
            "raft_leader_id",
            "The leader this node knows (0: none).",
            m.leader.unwrap_or(0),
        ),
        (
            "raft_commit_index",
            "The highest index known committed.",
            m.commit,
        ),
        (
            "raft_applied_index",
            "The highest index applied to the store.",
            m.applied,
        ),
        (
            "raft_snapshots_made",
            "Snapshots this node made.",
            m.snapshots.made,
        ),
        (
            "raft_compacted_to",
            "The log is compacted up to this index.",
            m.snapshots.compacted_to,
        ),
        ("raft_kv_keys", "Keys in the store.", keys as u64),
    ];
    for (name, help, value) in gauges {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")?;
        writeln!(out, "{name}{{node=\"{}\"}} {value}", m.id)?;
    }
    // Readies (and entries) per sync is the ratio of these: how much each
    // fsync covered (group commit).
    let w = &m.writes;
    let counters: [(&str, &str, u64); 4] = [
        (
            "raft_log_writes_total",
            "Readies whose log changes were written.",
            w.writes,
        ),
        (
            "raft_log_entries_written_total",
            "Entries those writes carried.",
            w.entries,
        ),
        (
            "raft_log_syncs_total",
            "Syncs that made log writes durable.",
            w.syncs,
        ),
        (
            "raft_append_queue_full_total",
            "Times the append thread's queue filled and the loop held back.",
            w.backpressure,
        ),
    ];
    for (name, help, value) in counters {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} counter")?;
        writeln!(out, "{name}{{node=\"{}\"}} {value}", m.id)?;
    }
    Ok(())
}
