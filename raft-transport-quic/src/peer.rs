//! One task per peer owns everything outbound to it: the queue, the choice
//! of connection, the stream, reconnection and backoff.
//!
//! Either node of a pair may dial, and both use whatever connection exists,
//! so a pair normally shares one connection. When both dial at once, both
//! settle on the connection dialed by the lower id, and the other one's
//! dialer closes it once its stream is acknowledged. A newer connection of
//! the same kind wins over an older one: it means the peer restarted.

use crate::codec::{encode_frames, encode_header};
use crate::inbound;
use crate::metrics::Metrics;
use crate::snapshot_send;
use crate::tls::{node_name, peer_node_id};
use crate::transport::Shared;
use crate::CloseCode;
use bytes::BytesMut;
use raft_core::{Message, NodeId};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Most messages taken off the queue for one write.
const MAX_BATCH: usize = 4096;
/// Live connections kept per peer. A correct peer has one, two during a
/// simultaneous dial or a restart; more means it keeps reconnecting, and
/// the oldest are closed rather than kept forever.
const MAX_LINKS: usize = 4;

/// A connection with the peer, however it was opened.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub conn: quinn::Connection,
    pub dialed_by_us: bool,
}

struct Outbound {
    conn: quinn::Connection,
    dialed_by_us: bool,
    stream: quinn::SendStream,
    /// The stream header goes out with the first frame, in the same write.
    header_sent: bool,
}

#[derive(Debug, Error)]
enum DialError {
    #[error("no address configured")]
    NoAddress,
    #[error("transport is shutting down")]
    Stopped,
    #[error(transparent)]
    Connect(#[from] quinn::ConnectError),
    #[error(transparent)]
    Connection(#[from] quinn::ConnectionError),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("peer certificate does not name node {expected}: {reason}")]
    Identity { expected: NodeId, reason: String },
}

struct PeerTask {
    shared: Arc<Shared>,
    peer: NodeId,
    /// Live connections, oldest first.
    links: Vec<Link>,
    out: Option<Outbound>,
    backoff: Duration,
    retry_at: Option<Instant>,
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    peer: NodeId,
    mut queue: mpsc::Receiver<Message>,
    mut conns: mpsc::UnboundedReceiver<Link>,
) {
    let backoff = shared.settings.backoff.initial;
    let mut task = PeerTask {
        shared,
        peer,
        links: Vec::new(),
        out: None,
        backoff,
        retry_at: None,
    };
    let mut batch = Vec::new();
    let mut buf = BytesMut::new();
    loop {
        tokio::select! {
            biased;
            link = conns.recv() => match link {
                Some(link) => task.add_link(link),
                None => break,
            },
            n = queue.recv_many(&mut batch, MAX_BATCH) => {
                if n == 0 {
                    break;
                }
                while let Ok(link) = conns.try_recv() {
                    task.add_link(link);
                }
                task.deliver(&mut batch, &mut buf).await;
                batch.clear();
            }
        }
    }
    if let Some(out) = task.out.take() {
        task.retire(out);
    }
    if task.shared.peer_addr(peer).is_none() && !task.shared.is_closed() {
        // The peer was removed: its inbound readers hold clones of these
        // connections, so dropping ours would leave them open.
        for link in task.links.drain(..) {
            link.conn
                .close(CloseCode::UnknownPeer.into(), b"peer removed");
        }
    }
    tracing::debug!(peer, "outbound task stopped");
}

impl PeerTask {
    fn add_link(&mut self, link: Link) {
        self.links.retain(|l| l.conn.close_reason().is_none());
        self.links.push(link);
        while self.links.len() > MAX_LINKS {
            let oldest = self.links.remove(0);
            tracing::warn!(
                peer = self.peer,
                "too many connections from peer; closing the oldest"
            );
            oldest
                .conn
                .close(CloseCode::Superseded.into(), b"too many connections");
        }
    }

    async fn deliver(&mut self, batch: &mut Vec<Message>, buf: &mut BytesMut) {
        let shared = self.shared.clone();
        let metrics = &shared.metrics;
        // Snapshots go on streams of their own, after this batch's frames;
        // Raft copes with a snapshot overtaking or trailing other messages.
        let mut snapshots = Vec::new();
        if batch.iter().any(snapshot_send::is_snapshot) {
            let (s, rest) = std::mem::take(batch)
                .into_iter()
                .partition(snapshot_send::is_snapshot);
            (snapshots, *batch) = (s, rest);
        }
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            self.lose(
                batch.len() + snapshots.len(),
                "backing off after a failed connection attempt",
            );
            self.fail_snapshots(&snapshots, "backing off after a failed connection attempt");
            return;
        }
        if let Err(e) = self.ensure_stream().await {
            Metrics::inc(&metrics.connect_failures);
            tracing::warn!(peer = self.peer, error = %e, backoff = ?self.backoff, "cannot connect to peer");
            self.retry_at = Instant::now().checked_add(self.backoff);
            self.backoff = self
                .backoff
                .saturating_mul(2)
                .min(self.shared.settings.backoff.max);
            self.lose(batch.len() + snapshots.len(), "connection attempt failed");
            self.fail_snapshots(&snapshots, "connection attempt failed");
            return;
        }
        self.retry_at = None;
        self.backoff = self.shared.settings.backoff.initial;
        let Some(out) = self.out.as_mut() else {
            self.fail_snapshots(&snapshots, "no stream");
            return;
        };
        let conn = out.conn.clone();
        self.write_frames(batch, buf).await;
        for m in &snapshots {
            snapshot_send::start(&shared, conn.clone(), m);
        }
    }

    fn fail_snapshots(&self, snapshots: &[Message], why: &'static str) {
        for m in snapshots {
            snapshot_send::fail(&self.shared, m.to, why);
        }
    }

    async fn write_frames(&mut self, batch: &[Message], buf: &mut BytesMut) {
        let shared = self.shared.clone();
        let metrics = &shared.metrics;
        let Some(out) = self.out.as_mut() else {
            return;
        };
        if batch.is_empty() {
            return;
        }
        buf.clear();
        if !out.header_sent {
            encode_header(buf);
        }
        let done = encode_frames(batch, self.shared.settings.max_frame_size, buf);
        if done.oversized > 0 {
            Metrics::add(&metrics.dropped_oversized, done.oversized as u64);
            self.shared.report_unreachable(self.peer);
        }
        if done.frames == 0 {
            return;
        }
        let len = buf.len() as u64;
        match out.stream.write_chunk(buf.split().freeze()).await {
            Ok(()) => {
                out.header_sent = true;
                Metrics::add(&metrics.messages_sent, done.messages as u64);
                Metrics::add(&metrics.frames_sent, done.frames as u64);
                Metrics::add(&metrics.bytes_sent, len);
            }
            Err(e) => {
                tracing::warn!(peer = self.peer, error = %e, "write failed; connection dropped");
                self.out = None;
                self.lose(done.messages, "write failed");
            }
        }
    }

    fn lose(&self, n: usize, why: &'static str) {
        tracing::debug!(peer = self.peer, messages = n, why, "messages lost");
        Metrics::add(&self.shared.metrics.dropped_connection, n as u64);
        self.shared.report_unreachable(self.peer);
    }

    /// The connection to send on now: the canonical one (dialed by the lower
    /// id) if alive, else any; the newest within each class.
    fn best_link(&self) -> Option<&Link> {
        let canonical = self.shared.id < self.peer;
        self.links
            .iter()
            .rev()
            .find(|l| l.dialed_by_us == canonical)
            .or_else(|| self.links.last())
    }

    async fn ensure_stream(&mut self) -> Result<(), DialError> {
        self.links.retain(|l| l.conn.close_reason().is_none());
        let best = self.best_link().map(|l| l.conn.stable_id());
        if let Some(out) = &self.out {
            if out.conn.close_reason().is_none() && Some(out.conn.stable_id()) == best {
                return Ok(());
            }
        }
        if let Some(old) = self.out.take() {
            self.retire(old);
        }
        let link = match self.best_link() {
            Some(link) => link.clone(),
            None => {
                let link = self.dial().await?;
                self.links.push(link.clone());
                link
            }
        };
        let timeout = self.shared.settings.connect_timeout;
        let stream = tokio::time::timeout(timeout, link.conn.open_uni())
            .await
            .map_err(|_| DialError::Timeout(timeout))??;
        self.watch(link.conn.clone());
        self.out = Some(Outbound {
            conn: link.conn,
            dialed_by_us: link.dialed_by_us,
            stream,
            header_sent: false,
        });
        Ok(())
    }

    /// Reports the peer unreachable as soon as the connection we send on
    /// dies: whatever was written but not yet acknowledged is lost, and
    /// Raft should fall back to probing rather than wait for responses.
    fn watch(&self, conn: quinn::Connection) {
        let shared = self.shared.clone();
        let peer = self.peer;
        self.shared.spawn(async move {
            let reason = conn.closed().await;
            let benign = match &reason {
                quinn::ConnectionError::LocallyClosed => true,
                quinn::ConnectionError::ApplicationClosed(close) => {
                    close.error_code == quinn::VarInt::from(CloseCode::Superseded)
                }
                _ => false,
            };
            if !benign && !shared.is_closed() {
                tracing::info!(peer, %reason, "connection to peer lost");
                shared.report_unreachable(peer);
            }
        });
    }

    /// Stops sending on a connection that is no longer the best. If we dialed
    /// it, we also close it, after the peer has acknowledged the stream's
    /// data so that nothing written is lost.
    fn retire(&self, mut old: Outbound) {
        if old.conn.close_reason().is_some() {
            return;
        }
        let _ = old.stream.finish();
        if old.dialed_by_us {
            let linger = self.shared.settings.connect_timeout;
            self.shared.spawn(async move {
                let _ = tokio::time::timeout(linger, old.stream.stopped()).await;
                old.conn.close(CloseCode::Superseded.into(), b"superseded");
            });
        }
    }

    async fn dial(&mut self) -> Result<Link, DialError> {
        let addr = self
            .shared
            .peer_addr(self.peer)
            .ok_or(DialError::NoAddress)?;
        let endpoint = self.shared.endpoint().ok_or(DialError::Stopped)?;
        let connecting = endpoint.connect_with(
            self.shared.client_config.clone(),
            addr,
            &node_name(self.peer),
        )?;
        let timeout = self.shared.settings.connect_timeout;
        let conn = tokio::time::timeout(timeout, async {
            let conn = connecting.await?;
            confirmed(&conn).await?;
            Ok::<_, DialError>(conn)
        })
        .await
        .map_err(|_| DialError::Timeout(timeout))??;
        // rustls matched *a* SAN to node-<peer>; also insist on exactly one
        // node name, as the listener side does.
        match peer_node_id(&conn) {
            Ok(id) if id == self.peer => {}
            other => {
                Metrics::inc(&self.shared.metrics.bad_identity);
                conn.close(
                    CloseCode::Identity.into(),
                    b"certificate names another node",
                );
                return Err(DialError::Identity {
                    expected: self.peer,
                    reason: match other {
                        Ok(id) => format!("it names {id}"),
                        Err(e) => e.to_string(),
                    },
                });
            }
        }
        Metrics::inc(&self.shared.metrics.connections_dialed);
        tracing::debug!(peer = self.peer, %addr, "connected");
        self.shared.spawn(inbound::serve_connection(
            self.shared.clone(),
            conn.clone(),
            self.peer,
        ));
        Ok(Link {
            conn,
            dialed_by_us: true,
        })
    }
}

/// Waits until the server has confirmed the handshake (its HANDSHAKE_DONE
/// frame). In TLS 1.3 the client finishes before the server has checked the
/// client's certificate, so without this a refused node would write its
/// first batch into a connection about to be closed, and never learn it.
async fn confirmed(conn: &quinn::Connection) -> Result<(), quinn::ConnectionError> {
    let mut pause = Duration::from_micros(250);
    loop {
        if conn.stats().frame_rx.handshake_done > 0 {
            return Ok(());
        }
        tokio::select! {
            reason = conn.closed() => return Err(reason),
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
