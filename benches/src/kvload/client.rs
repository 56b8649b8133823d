//! The one HTTP/1.1 client both systems are measured through: keep-alive
//! connections (one per node a load client talks to), and `307` redirects
//! followed the way a raft-kv client follows them, remembering where writes
//! go. etcd never redirects, so for it the same code is a plain call.

use super::BenchError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, LOCATION};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;

/// How many redirects one request may follow: a follower names the leader,
/// so one hop is normal; more means leadership is moving.
const MAX_REDIRECTS: usize = 3;

/// An answer with its body read to the end.
#[derive(Debug)]
pub struct Reply {
    /// The final status, after redirects.
    pub status: StatusCode,
    /// The whole body.
    pub body: Bytes,
}

/// One request, built once per operation.
#[derive(Clone, Debug)]
pub struct Call {
    /// `PUT`, `GET` or `POST`.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Empty for reads without a body.
    pub body: Bytes,
    /// Writes follow the remembered leader; reads stay on the home node.
    pub write: bool,
}

/// Keep-alive connections to the nodes, opened on first use and again
/// after a failure.
#[derive(Default)]
pub struct Connections {
    open: HashMap<SocketAddr, SendRequest<Full<Bytes>>>,
}

impl Connections {
    async fn sender(
        &mut self,
        addr: SocketAddr,
    ) -> Result<&mut SendRequest<Full<Bytes>>, BenchError> {
        let stale = self.open.get(&addr).is_none_or(|s| s.is_closed());
        if stale {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|source| BenchError::Connect { addr, source })?;
            // Both servers answer in one write; the client must not hold a
            // small request back waiting for an ACK either.
            stream
                .set_nodelay(true)
                .map_err(|source| BenchError::Connect { addr, source })?;
            let (sender, conn) = handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(%addr, error = %e, "connection closed");
                }
            });
            self.open.insert(addr, sender);
        }
        self.open.get_mut(&addr).ok_or(BenchError::Connect {
            addr,
            source: std::io::ErrorKind::NotConnected.into(),
        })
    }

    /// Sends one request on the connection to `addr` and reads the answer.
    pub async fn send(
        &mut self,
        method: Method,
        addr: SocketAddr,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Option<String>, Bytes), BenchError> {
        let sender = self.sender(addr).await?;
        sender.ready().await?;
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, addr.to_string())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let response = match sender.send_request(request).await {
            Ok(r) => r,
            Err(e) => {
                self.open.remove(&addr);
                return Err(e.into());
            }
        };
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, location, body))
    }
}

/// One load client: its home node (where it reads, and where its writes
/// go until a redirect names the leader) and its connections.
pub struct Session {
    home: SocketAddr,
    writer: SocketAddr,
    conns: Connections,
}

impl Session {
    /// A client whose home is `home`.
    pub fn new(home: SocketAddr) -> Session {
        Session {
            home,
            writer: home,
            conns: Connections::default(),
        }
    }

    /// Runs `call`, following redirects.
    pub async fn call(&mut self, call: &Call) -> Result<Reply, BenchError> {
        let mut addr = if call.write { self.writer } else { self.home };
        let mut path = call.path.clone();
        for _ in 0..=MAX_REDIRECTS {
            let (status, location, body) = self
                .conns
                .send(call.method.clone(), addr, &path, call.body.clone())
                .await?;
            if status != StatusCode::TEMPORARY_REDIRECT {
                return Ok(Reply { status, body });
            }
            let location = location.ok_or(BenchError::BadRedirect(String::new()))?;
            (addr, path) = parse_location(&location)?;
            if call.write {
                self.writer = addr;
            }
        }
        Err(BenchError::TooManyRedirects(MAX_REDIRECTS))
    }
}

/// The node and path a `Location` header names; only socket addresses are
/// expected, as both services are on 127.0.0.1.
fn parse_location(location: &str) -> Result<(SocketAddr, String), BenchError> {
    let bad = || BenchError::BadRedirect(location.to_owned());
    let uri: Uri = location.parse().map_err(|_| bad())?;
    let addr = uri
        .authority()
        .and_then(|a| a.as_str().parse().ok())
        .ok_or_else(bad)?;
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    Ok((addr, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_names_the_node_and_the_path() {
        let (addr, path) = parse_location("http://127.0.0.1:4001/kv/a?x=1").unwrap();
        assert_eq!(addr, "127.0.0.1:4001".parse().unwrap());
        assert_eq!(path, "/kv/a?x=1");
        assert!(matches!(
            parse_location("http://leader.example/kv/a"),
            Err(BenchError::BadRedirect(_))
        ));
    }
}
