//! The HTTP/JSON service a node runs in front of its Raft node and store.
//!
//! | request | answer |
//! |---|---|
//! | `PUT /kv/{key}` (body: the value) | `{"key","previous","index"}` |
//! | `GET /kv/{key}[?consistency=linearizable\|lease\|stale]` | `{"key","value"}`, 404 if absent |
//! | `DELETE /kv/{key}` | `{"key","existed","index"}` |
//! | `POST /kv/{key}/cas` (body: `{"expected": string or null, "new": string}`) | `{"key","swapped","current","index"}` |
//! | `POST /transfer` (body: `{"to": id}`) | `{"leader"}` once `to` leads |
//! | `GET /status` | the node's Raft state as JSON |
//! | `GET /metrics` | Prometheus text |
//! | `GET`/`POST /admin/faults` (body: `{"blocked": [ids]}`) | `{"blocked"}`; only with [`ServiceConfig::link_faults`] |
//!
//! Writes go through the log with
//! [`NodeHandle::propose_with_response`](raft_node::NodeHandle::propose_with_response)
//! and answer with the [`Outcome`](crate::Outcome) the store returned.
//! Linearizable reads (the default) wait for
//! [`NodeHandle::read_index`](raft_node::NodeHandle::read_index) on any
//! node, followers included, then read the local store. A follower answers
//! writes and lease reads with `307 Temporary Redirect` to the same path at
//! the leader (the method and body are kept), or `503` while no leader is
//! known. Errors are JSON `{"error": ...}`.

mod error;
mod handlers;
mod metrics;

pub use error::ApiError;

use crate::machine::KvMachine;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use raft_core::LinkFaults;
use raft_node::NodeHandle;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Limits and switches of the service.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The largest request body accepted; larger ones get 413.
    pub body_limit: usize,
    /// The longest key accepted, in bytes; longer ones get 400.
    pub max_key_len: usize,
    /// A planted bug for the linearizability tests: followers answer
    /// linearizable reads from their own store without a read barrier.
    #[doc(hidden)]
    pub unsafe_follower_local_reads: bool,
    /// A planted bug for the linearizability tests: the leader answers a
    /// write with the outcome it predicts from its store, before the write
    /// is committed (the proposal goes on in the background).
    #[doc(hidden)]
    pub unsafe_ack_before_commit: bool,
    /// The node's link fault hook, to serve `/admin/faults` (which blocks
    /// Raft messages to and from the listed peers) for fault-injection
    /// tests; without it the endpoint does not exist. Never expose it to
    /// untrusted clients: it partitions the node at will.
    pub link_faults: Option<LinkFaults>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            body_limit: 1 << 20,
            max_key_len: 1024,
            unsafe_follower_local_reads: false,
            unsafe_ack_before_commit: false,
            link_faults: None,
        }
    }
}

/// One node's service: its Raft node, its store, and where every node's
/// service listens (to redirect to the leader).
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    node: NodeHandle,
    machine: KvMachine,
    peers: HashMap<u64, SocketAddr>,
    config: ServiceConfig,
    counters: metrics::Counters,
}

impl Service {
    /// The service of `node` over `machine` (the state machine the node
    /// applies to); `peers` maps node ids to their services' addresses.
    pub fn new(
        node: NodeHandle,
        machine: KvMachine,
        peers: HashMap<u64, SocketAddr>,
        config: ServiceConfig,
    ) -> Service {
        Service {
            inner: Arc::new(Inner {
                node,
                machine,
                peers,
                config,
                counters: metrics::Counters::default(),
            }),
        }
    }

    /// The routes, ready for `axum::serve`.
    pub fn router(&self) -> Router {
        let mut router = Router::new();
        if self.inner.config.link_faults.is_some() {
            router = router.route(
                "/admin/faults",
                get(handlers::get_faults).post(handlers::set_faults),
            );
        }
        router
            .route(
                "/kv/{key}",
                get(handlers::get_key)
                    .put(handlers::put_key)
                    .delete(handlers::delete_key),
            )
            .route("/kv/{key}/cas", post(handlers::cas_key))
            .route("/transfer", post(handlers::transfer))
            .route("/status", get(handlers::status))
            .route("/metrics", get(metrics::render))
            .fallback(handlers::no_route)
            .method_not_allowed_fallback(handlers::bad_method)
            .layer(DefaultBodyLimit::max(self.inner.config.body_limit))
            .with_state(self.clone())
    }
}

/// Serves `service` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Service,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, service.router())
        .with_graceful_shutdown(shutdown)
        .await
}
