//! The node side of the client port (see [`crate::client`] for the
//! protocol): proposals, reads, transfers and membership requests, each
//! handed to the node and answered on the same connection.
//!
//! ```no_run
//! # async fn run(node: raft_node::NodeHandle, transport: &raft_transport_quic::QuicTransport)
//! # -> std::io::Result<()> {
//! use raft_cluster::client_port::ClientPort;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7100").await?;
//! ClientPort::new(node)
//!     .with_peers(transport.control(), transport.local_addr())
//!     .spawn(listener);
//! # Ok(()) }
//! ```

use crate::client::{Answer, MAX_REQUEST, READ_REQUEST, TRANSFER_REQUEST};
use crate::member_wire::{
    read_body, MemberAnswer, MemberList, MemberRefusal, MemberRequest, WireError,
    MAX_MEMBER_REQUEST, MEMBER_REQUEST,
};
use raft_core::Role;
use raft_node::{Membership, MembershipError, NodeHandle, ProposeError, ReadError, TransferError};
use raft_transport_quic::PeerControl;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Why a client connection was closed by the node.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PortError {
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A proposal over [`MAX_REQUEST`] bytes.
    #[error("request of {0} bytes refused")]
    TooLarge(u32),
    /// A malformed membership request.
    #[error("bad membership request: {0}")]
    BadRequest(#[from] WireError),
}

/// A node's client port: what answers `raft-cluster propose`, `read`,
/// `transfer` and `member`.
#[derive(Clone)]
pub struct ClientPort {
    node: NodeHandle,
    peers: Option<(PeerControl, SocketAddr)>,
}

impl ClientPort {
    /// A port for `node`. Membership lists name only the addresses members
    /// were added with, unless [`ClientPort::with_peers`] tells more.
    pub fn new(node: NodeHandle) -> ClientPort {
        ClientPort { node, peers: None }
    }

    /// Also names, in membership lists, the QUIC addresses the transport
    /// knows for its peers and its own (`local`): members of the initial
    /// configuration were never added by a change.
    pub fn with_peers(mut self, control: PeerControl, local: SocketAddr) -> ClientPort {
        self.peers = Some((control, local));
        self
    }

    /// Serves `listener` in a task until the process ends.
    pub fn spawn(self, listener: TcpListener) -> JoinHandle<()> {
        tokio::spawn(async move { self.serve(listener).await })
    }

    /// Serves `listener`, one task per connection.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let port = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = port.serve_connection(stream).await {
                            tracing::info!(%peer, error = %e, "client connection closed");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "accepting a client failed"),
            }
        }
    }

    /// Answers requests on one connection until the client closes it.
    pub async fn serve_connection(&self, mut stream: TcpStream) -> Result<(), PortError> {
        let node = &self.node;
        loop {
            let len = match stream.read_u32().await {
                Ok(len) => len,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let answer = match len {
                READ_REQUEST => match node.read_index().await {
                    Ok(index) => Answer::Committed(index),
                    Err(ReadError::NoLeader) => Answer::NotLeader(None),
                    Err(ReadError::ShuttingDown) => Answer::ShuttingDown,
                    Err(_) => Answer::Dropped,
                },
                TRANSFER_REQUEST => {
                    let to = stream.read_u64().await?;
                    match node.transfer_leader(to).await {
                        Ok(()) => Answer::Committed(to),
                        Err(TransferError::NoLeader) => Answer::NotLeader(None),
                        Err(TransferError::ShuttingDown) => Answer::ShuttingDown,
                        Err(e) => {
                            tracing::info!(to, error = %e, "leadership transfer failed");
                            Answer::Dropped
                        }
                    }
                }
                MEMBER_REQUEST => {
                    let body = read_body(&mut stream, MAX_MEMBER_REQUEST).await??;
                    let request = MemberRequest::decode(body)?;
                    let (tag, body) = self.member(request).await.encode();
                    stream.write_u8(tag).await?;
                    stream.write_u32(body.len() as u32).await?;
                    stream.write_all(&body).await?;
                    continue;
                }
                len if len > MAX_REQUEST => return Err(PortError::TooLarge(len)),
                len => {
                    let mut data = vec![0; len as usize];
                    stream.read_exact(&mut data).await?;
                    match node.propose(data).await {
                        Ok(index) => Answer::Committed(index),
                        Err(ProposeError::NotLeader { leader }) => Answer::NotLeader(leader),
                        Err(ProposeError::ShuttingDown) => Answer::ShuttingDown,
                        // Dropped, and any refusal a later raft-node adds:
                        // the proposal did not commit here, and the client
                        // may retry it.
                        Err(_) => Answer::Dropped,
                    }
                }
            };
            answer.write_to(&mut stream).await?;
        }
    }

    /// Carries out one membership request; only the leader answers with
    /// the members, so a list is as fresh as the group's last change.
    pub async fn member(&self, request: MemberRequest) -> MemberAnswer {
        let node = &self.node;
        let parsed = |address: &str| {
            address
                .parse::<SocketAddr>()
                .map_err(|_| MembershipError::Invalid {
                    reason: format!("address {address:?} is not IP:PORT"),
                })
        };
        let result = match request {
            MemberRequest::List => {
                let metrics = node.metrics();
                if metrics.role != Role::Leader {
                    return MemberAnswer::NotLeader(metrics.leader);
                }
                Ok(node.membership())
            }
            MemberRequest::AddVoter { id, address } => match parsed(&address) {
                Ok(_) => node.add_voter(id, address.into_bytes()).await,
                Err(e) => Err(e),
            },
            MemberRequest::AddLearner { id, address } => match parsed(&address) {
                Ok(_) => node.add_learner(id, address.into_bytes()).await,
                Err(e) => Err(e),
            },
            MemberRequest::Promote(id) => node.promote(id).await,
            MemberRequest::Remove(id) => node.remove(id).await,
        };
        match result {
            Ok(m) => MemberAnswer::Members(self.list(&m)),
            Err(MembershipError::NotLeader { leader }) => MemberAnswer::NotLeader(leader),
            Err(MembershipError::ChangeInProgress) => {
                MemberAnswer::Refused(MemberRefusal::ChangeInProgress)
            }
            Err(MembershipError::NoVoterLeft) => MemberAnswer::Refused(MemberRefusal::NoVoterLeft),
            Err(MembershipError::Invalid { reason }) => {
                MemberAnswer::Refused(MemberRefusal::Invalid(reason))
            }
            Err(MembershipError::Dropped { reason }) => {
                MemberAnswer::Refused(MemberRefusal::Dropped(reason))
            }
            Err(MembershipError::ShuttingDown) => MemberAnswer::ShuttingDown,
            Err(other) => MemberAnswer::Refused(MemberRefusal::Dropped(other.to_string())),
        }
    }

    /// `m` with every member's address this node knows.
    fn list(&self, m: &Membership) -> MemberList {
        let cs = &m.conf_state;
        let mut known: BTreeMap<u64, String> = BTreeMap::new();
        if let Some((control, local)) = &self.peers {
            known.extend(
                control
                    .peers()
                    .into_iter()
                    .map(|(id, a)| (id, a.to_string())),
            );
            known.insert(self.node.id(), local.to_string());
        }
        for (id, address) in &m.addresses {
            known.insert(*id, String::from_utf8_lossy(address).into_owned());
        }
        let members: Vec<u64> = cs
            .voters
            .iter()
            .chain(&cs.voters_outgoing)
            .chain(&cs.learners)
            .chain(&cs.learners_next)
            .copied()
            .collect();
        known.retain(|id, _| members.contains(id));
        let mut list = MemberList {
            index: m.index,
            voters: cs.voters.clone(),
            learners: cs.learners.clone(),
            voters_outgoing: cs.voters_outgoing.clone(),
            learners_next: cs.learners_next.clone(),
            addresses: known,
        };
        for ids in [
            &mut list.voters,
            &mut list.learners,
            &mut list.voters_outgoing,
            &mut list.learners_next,
        ] {
            ids.sort_unstable();
        }
        list
    }
}
