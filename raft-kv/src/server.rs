//! One node of the service: a Raft node applying to a [`KvMachine`] and the
//! HTTP API in front of it. [`crate::local::LocalKv`] runs several in one
//! process; `raft-kv node` runs one per process (the multi-host mode).

use crate::http::{serve, Service, ServiceConfig};
use crate::machine::KvMachine;
use raft_core::{LogStorage, NodeId, Transport};
use raft_node::{spawn, NodeConfig, NodeError, NodeHandle};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running node and its HTTP service.
pub struct KvServer {
    node: NodeHandle,
    machine: KvMachine,
    stop_http: oneshot::Sender<()>,
    http: JoinHandle<()>,
}

impl KvServer {
    /// Starts a node on `storage` and `transport` (restoring the store from
    /// the log's snapshot, if it has one) and serves the API on `listener`.
    /// `peers` maps every node id, this one's included, to its service's
    /// address, for redirects and transfers.
    pub fn start<S, T>(
        config: NodeConfig,
        storage: S,
        transport: T,
        listener: tokio::net::TcpListener,
        peers: HashMap<NodeId, SocketAddr>,
        service: ServiceConfig,
    ) -> Result<KvServer, NodeError>
    where
        S: LogStorage + Send + 'static,
        T: Transport + Send + 'static,
    {
        let id = config.raft.id;
        let machine = KvMachine::new();
        let node = spawn(config, storage, transport, machine.clone())?;
        let service = Service::new(node.clone(), machine.clone(), peers, service);
        let (stop_http, stopped) = oneshot::channel();
        let http = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = serve(listener, service, shutdown).await {
                tracing::warn!(id, error = %e, "HTTP service stopped");
            }
        });
        Ok(KvServer {
            node,
            machine,
            stop_http,
            http,
        })
    }

    /// The Raft node.
    pub fn node(&self) -> &NodeHandle {
        &self.node
    }

    /// The store it applies to.
    pub fn machine(&self) -> &KvMachine {
        &self.machine
    }

    /// Stops the service and the node (the log stays).
    pub async fn stop(self) -> Result<(), NodeError> {
        let id = self.node.id();
        let _ = self.stop_http.send(());
        let stopped = self.node.shutdown().await;
        // Requests in flight fail fast once the node is down; a client
        // holding a connection open must not keep the port taken.
        if tokio::time::timeout(Duration::from_secs(2), self.http)
            .await
            .is_err()
        {
            tracing::warn!(id, "HTTP service slow to stop");
        }
        stopped
    }
}
