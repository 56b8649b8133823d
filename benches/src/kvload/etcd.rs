//! A real 3-node etcd on 127.0.0.1: Debian's `etcd-server` binary, one
//! process per member, temporary data directories, free ports, etcd's
//! default fsync behaviour. The processes are killed when the
//! [`EtcdCluster`] is dropped, whichever way the bench ends.

use super::client::Connections;
use super::BenchError;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use std::ffi::OsStr;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running members; dropping it kills them.
pub struct EtcdCluster {
    children: Vec<Child>,
    clients: Vec<SocketAddr>,
    dir: tempfile::TempDir,
}

/// Finds `etcd` on `path` (a `PATH`-style list of directories).
pub fn locate_etcd(path: Option<&OsStr>) -> Result<PathBuf, BenchError> {
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("etcd"))
        .find(|candidate| candidate.is_file())
        .ok_or(BenchError::EtcdMissing)
}

/// `n` ports free on 127.0.0.1 a moment ago: all are held at once so they
/// differ, then released for etcd to bind.
fn free_ports(n: usize) -> Result<Vec<u16>, BenchError> {
    let io = |source| BenchError::Io {
        what: "picking free ports".into(),
        source,
    };
    let listeners = (0..n)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)
}

impl EtcdCluster {
    /// Starts `nodes` members of one new cluster with the binary `etcd`.
    pub fn start(etcd: &Path, nodes: usize) -> Result<EtcdCluster, BenchError> {
        let dir = tempfile::Builder::new()
            .prefix("etcd-bench-")
            .tempdir()
            .map_err(|source| BenchError::Io {
                what: "creating etcd's data directory".into(),
                source,
            })?;
        let ports = free_ports(2 * nodes)?;
        let (client_ports, peer_ports) = ports.split_at(nodes);
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        let initial: Vec<String> = peer_ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("m{}={}", i + 1, url(*p)))
            .collect();
        let mut cluster = EtcdCluster {
            children: Vec::new(),
            clients: client_ports
                .iter()
                .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
                .collect(),
            dir,
        };
        for i in 0..nodes {
            let name = format!("m{}", i + 1);
            let log = cluster.log_path(i);
            let open_log = || {
                std::fs::File::create(&log).map_err(|source| BenchError::Io {
                    what: format!("creating {}", log.display()),
                    source,
                })
            };
            let child = Command::new(etcd)
                .arg("--name")
                .arg(&name)
                .arg("--data-dir")
                .arg(cluster.dir.path().join(&name))
                .arg("--listen-client-urls")
                .arg(url(client_ports[i]))
                .arg("--advertise-client-urls")
                .arg(url(client_ports[i]))
                .arg("--listen-peer-urls")
                .arg(url(peer_ports[i]))
                .arg("--initial-advertise-peer-urls")
                .arg(url(peer_ports[i]))
                .arg("--initial-cluster")
                .arg(initial.join(","))
                .arg("--initial-cluster-token")
                .arg(format!("kv-vs-etcd-{}", std::process::id()))
                .arg("--initial-cluster-state")
                .arg("new")
                .stdin(Stdio::null())
                .stdout(open_log()?)
                .stderr(open_log()?)
                .spawn()
                .map_err(|source| BenchError::Io {
                    what: format!("starting {}", etcd.display()),
                    source,
                })?;
            cluster.children.push(child);
        }
        Ok(cluster)
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("m{}.log", i + 1))
    }

    /// The members' client addresses (the JSON gateway), member 1 first.
    pub fn client_addrs(&self) -> Vec<SocketAddr> {
        self.clients.clone()
    }

    /// Waits until every member reports itself healthy (a leader is known
    /// and no alarm is raised), failing early if a member exits.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<(), BenchError> {
        let deadline = Instant::now() + limit;
        for i in 0..self.clients.len() {
            let mut conns = Connections::default();
            loop {
                self.check_running(i)?;
                let reply = conns
                    .send(Method::GET, self.clients[i], "/health", Bytes::new())
                    .await;
                if let Ok((StatusCode::OK, _, body)) = reply {
                    if body.windows(6).any(|w| w == b"\"true\"") {
                        break;
                    }
                }
                if Instant::now() > deadline {
                    return Err(BenchError::NotReady {
                        system: "etcd",
                        limit,
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    fn check_running(&mut self, i: usize) -> Result<(), BenchError> {
        let exited = self.children[i]
            .try_wait()
            .map_err(|source| BenchError::Io {
                what: "checking on etcd".into(),
                source,
            })?;
        match exited {
            None => Ok(()),
            Some(status) => {
                let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                Err(BenchError::EtcdExited {
                    member: i + 1,
                    status: status.to_string(),
                    log: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
                })
            }
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            if let Err(e) = child.kill() {
                tracing::debug!(error = %e, "etcd already gone");
            }
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_without_etcd_names_the_setup_script() {
        let empty = tempfile::tempdir().unwrap();
        let err = locate_etcd(Some(empty.path().as_os_str())).unwrap_err();
        assert!(matches!(err, BenchError::EtcdMissing));
        assert!(err.to_string().contains("ci/setup.sh"), "{err}");
        assert!(matches!(locate_etcd(None), Err(BenchError::EtcdMissing)));
    }

    #[test]
    fn free_ports_differ() {
        let ports = free_ports(6).unwrap();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 6);
    }
}
