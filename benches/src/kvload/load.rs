//! The closed loop: each client sends its next request as soon as the last
//! is answered, on its own connection, until the case's time is up.

use super::client::Session;
use super::{BenchError, Op, Target};
use std::time::{Duration, Instant};

/// One case's outcome for one system.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// Which system.
    pub system: &'static str,
    /// Which operation.
    pub op: Op,
    /// How many concurrent clients.
    pub clients: usize,
    /// Operations answered with success.
    pub ok: u64,
    /// Operations that failed (error answer or broken connection).
    pub errors: u64,
    /// The first failure, to report.
    pub first_error: Option<String>,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Latencies of the successful operations, ascending.
    pub latencies: Vec<Duration>,
}

impl CaseResult {
    /// Successful operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency below which a fraction `q` of the operations finished
    /// (nearest rank); zero without operations.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// Spreads consecutive operations of all clients over the key space.
fn key_of(client: u64, n: u64, keys: u64) -> u64 {
    client
        .wrapping_mul(7_919)
        .wrapping_add(n.wrapping_mul(104_729))
        % keys.max(1)
}

/// After a failure a client pauses, so an unavailable system is not
/// hammered and errors are not counted by the thousand.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Runs `op` against `target` with `clients` closed-loop clients over keys
/// `0..keys` for `duration`. Client `i` talks to node `i mod n`.
pub async fn run_case(
    target: &Target,
    op: Op,
    clients: usize,
    duration: Duration,
    keys: u64,
) -> Result<CaseResult, BenchError> {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let target = target.clone();
        let home = target.nodes[c % target.nodes.len()];
        tasks.push(tokio::spawn(async move {
            let mut session = Session::new(home);
            let mut latencies = Vec::new();
            let (mut errors, mut first_error) = (0u64, None);
            let mut n = 0u64;
            while Instant::now() < deadline {
                let call = target.call(op, key_of(c as u64, n, keys));
                n += 1;
                let began = Instant::now();
                let outcome = match session.call(&call).await {
                    Ok(reply) => target.check(op, &reply),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(()) => latencies.push(began.elapsed()),
                    Err(e) => {
                        errors += 1;
                        if first_error.is_none() {
                            first_error = Some(e.to_string());
                        }
                        tokio::time::sleep(ERROR_PAUSE).await;
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut result = CaseResult {
        system: target.system.name(),
        op,
        clients,
        ok: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        let (latencies, errors, first_error) = task.await?;
        result.ok += latencies.len() as u64;
        result.latencies.extend(latencies);
        result.errors += errors;
        if result.first_error.is_none() {
            result.first_error = first_error;
        }
    }
    result.elapsed = start.elapsed();
    result.latencies.sort_unstable();
    Ok(result)
}

/// Writes every key in `0..keys` once with `clients` clients, so that every
/// read of a case finds its key; fails on the first error.
pub async fn preload(target: &Target, keys: u64, clients: u64) -> Result<(), BenchError> {
    let clients = clients.clamp(1, keys.max(1));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let target = target.clone();
        let mut session = Session::new(target.nodes[c as usize % target.nodes.len()]);
        tasks.push(tokio::spawn(async move {
            for key in (c..keys).step_by(clients as usize) {
                let reply = session.call(&target.call(Op::Put, key)).await?;
                target.check(Op::Put, &reply)?;
            }
            Ok::<_, BenchError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Retries a write on every node until each succeeds: a leader is elected
/// and known to every node.
pub async fn wait_writable(target: &Target, limit: Duration) -> Result<(), BenchError> {
    let deadline = Instant::now() + limit;
    for &node in &target.nodes {
        let mut session = Session::new(node);
        loop {
            let call = target.call(Op::Put, 0);
            let outcome = match session.call(&call).await {
                Ok(reply) => target.check(Op::Put, &reply),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => break,
                Err(e) if Instant::now() > deadline => {
                    tracing::warn!(system = target.system.name(), error = %e, "not writable");
                    return Err(BenchError::NotReady {
                        system: target.system.name(),
                        limit,
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spread_and_in_range() {
        let keys: std::collections::HashSet<u64> = (0..100).map(|n| key_of(3, n, 1000)).collect();
        assert_eq!(keys.len(), 100);
        assert!(keys.iter().all(|k| *k < 1000));
        assert_ne!(key_of(0, 0, 1000), key_of(1, 0, 1000));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let result = CaseResult {
            system: "x",
            op: Op::Get,
            clients: 1,
            ok: 100,
            errors: 0,
            first_error: None,
            elapsed: Duration::from_secs(2),
            latencies: (1..=100).map(Duration::from_millis).collect(),
        };
        assert_eq!(result.percentile(0.5), Duration::from_millis(50));
        assert_eq!(result.percentile(0.99), Duration::from_millis(99));
        assert_eq!(result.ops_per_sec(), 50.0);
    }
}
