//! Client load: concurrent proposers driving a cluster, with every
//! acknowledgement recorded for throughput, latency and later checks.

use crate::cluster::LocalCluster;
use indicatif::ProgressBar;
use raft_node::ProposeError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// What to propose.
#[derive(Clone, Copy, Debug)]
pub struct LoadSpec {
    /// Proposals to make.
    pub entries: u64,
    /// Bytes per proposal.
    pub entry_size: usize,
    /// Concurrent proposers.
    pub proposers: usize,
}

/// One acknowledged proposal: the ticket it carried and where it committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The proposal's number.
    pub ticket: u64,
    /// The log index it committed at.
    pub index: u64,
}

/// What a load run measured.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Every acknowledged proposal.
    pub acks: Vec<Ack>,
    /// Each proposal's commit latency, retries included.
    pub latencies: Vec<Duration>,
    /// From the first proposal to the last acknowledgement.
    pub elapsed: Duration,
    /// Proposals refused or timed out, then retried.
    pub retries: u64,
}

/// Why a load run stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// No node led for this long.
    #[error("no leader for {0:?}; giving up")]
    NoLeader(Duration),
    /// A node shut down under the load.
    #[error("the cluster is shutting down")]
    ShuttingDown,
    /// A proposer task panicked.
    #[error("a proposer task failed: {0}")]
    Task(String),
}

impl LoadReport {
    /// Committed entries per second.
    pub fn throughput(&self) -> f64 {
        self.acks.len() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The latency below which `p` percent of proposals committed.
    pub fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// Nearest-rank percentile of unsorted samples.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The payload for `ticket`: its number first, so every entry in the log is
/// traceable to the proposal that made it, then filler up to `size`.
pub fn payload(ticket: u64, size: usize) -> Vec<u8> {
    let mut data = vec![0x5a; size.max(8)];
    data[..8].copy_from_slice(&ticket.to_be_bytes());
    data
}

/// Reads the ticket back from a payload written by [`payload`].
pub fn ticket_of(data: &[u8]) -> Option<u64> {
    data.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
}

/// Runs `spec.proposers` concurrent proposers until `spec.entries`
/// proposals are acknowledged. Each proposer waits for its proposal to
/// commit before sending the next. A proposer looks for the leader once and
/// again only when its proposal is refused, so that the load measures the
/// cluster rather than the search; it keeps its own records, merged at the
/// end, so that proposers do not contend on a shared report.
pub async fn run_load(
    cluster: &LocalCluster,
    spec: &LoadSpec,
    progress: Option<ProgressBar>,
) -> Result<LoadReport, LoadError> {
    let next_ticket = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..spec.proposers.max(1) {
        let nodes = cluster.nodes.clone();
        let next_ticket = next_ticket.clone();
        let progress = progress.clone();
        let spec = *spec;
        tasks.push(tokio::spawn(async move {
            let mut mine = LoadReport::default();
            let mut leader = find_leader(&nodes).await?;
            loop {
                let ticket = next_ticket.fetch_add(1, Ordering::Relaxed);
                if ticket >= spec.entries {
                    return Ok::<LoadReport, LoadError>(mine);
                }
                let data = bytes::Bytes::from(payload(ticket, spec.entry_size));
                let began = Instant::now();
                let index = loop {
                    match leader.propose(data.clone()).await {
                        Ok(index) => break index,
                        Err(ProposeError::ShuttingDown) => return Err(LoadError::ShuttingDown),
                        Err(_) => {
                            mine.retries += 1;
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            leader = find_leader(&nodes).await?;
                        }
                    }
                };
                mine.acks.push(Ack { ticket, index });
                mine.latencies.push(began.elapsed());
                if let Some(p) = &progress {
                    p.inc(1);
                }
            }
        }));
    }
    let mut report = LoadReport::default();
    for task in tasks {
        let mine = task.await.map_err(|e| LoadError::Task(e.to_string()))??;
        report.acks.extend(mine.acks);
        report.latencies.extend(mine.latencies);
        report.retries += mine.retries;
    }
    report.elapsed = start.elapsed();
    Ok(report)
}

async fn find_leader(nodes: &[raft_node::NodeHandle]) -> Result<raft_node::NodeHandle, LoadError> {
    const PATIENCE: Duration = Duration::from_secs(10);
    let start = Instant::now();
    loop {
        if let Some(n) = nodes
            .iter()
            .find(|n| n.metrics().role == raft_core::Role::Leader)
        {
            return Ok(n.clone());
        }
        if start.elapsed() > PATIENCE {
            return Err(LoadError::NoLeader(PATIENCE));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn payload_carries_its_ticket() {
        let p = payload(42, 256);
        assert_eq!(p.len(), 256);
        assert_eq!(ticket_of(&p), Some(42));
        assert_eq!(payload(1, 2).len(), 8, "room for the ticket at least");
    }
}
