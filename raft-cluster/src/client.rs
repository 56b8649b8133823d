//! The client port a node opens with `raft-cluster node --client ADDR`, and
//! a client for it that finds the leader among several endpoints.
//!
//! The protocol is one request per frame, over TCP: a u32 length and the
//! payload to propose. The answer is a tag byte then a u64: 0 = committed at
//! that index, 1 = not the leader (the u64 is the leader's id, 0 if none is
//! known), 2 = dropped, 3 = shutting down.
//!
//! Two lengths above [`MAX_REQUEST`] are requests of their own, with no
//! payload to propose: [`READ_REQUEST`] asks for a linearizable read
//! barrier (answered "committed" with the read index once the node has
//! applied up to it; any node serves it, a follower through its leader),
//! and [`TRANSFER_REQUEST`], followed by a u64 node id, asks for
//! leadership to move there (answered "committed" with that id once it
//! leads). A refused read or transfer is answered "dropped", or "not the
//! leader" with 0 when the node knows no leader. A third,
//! [`MEMBER_REQUEST`], asks the leader to list or change the members; its
//! request and answer are laid out in [`crate::member_wire`].
//!
//! Only the leader accepts proposals (raft-node answers a follower's with
//! `NotLeader`), so [`Client`] does what etcdctl does with `--endpoints`: it
//! is given several nodes' client addresses, follows the leader hint in a
//! refusal when it knows that node's address, tries the next endpoint when it
//! does not, and gives up after a bounded number of tries.

use crate::member_wire::{
    read_body, MemberAnswer, MemberList, MemberRefusal, MemberRequest, WireError,
    MAX_MEMBER_ANSWER, MEMBER_REQUEST,
};
use raft_core::NodeId;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const COMMITTED: u8 = 0;
const NOT_LEADER: u8 = 1;
const DROPPED: u8 = 2;
const SHUTTING_DOWN: u8 = 3;

/// Requests larger than this are refused by the server.
pub const MAX_REQUEST: u32 = 16 << 20;
/// The length word of a linearizable read request.
pub const READ_REQUEST: u32 = u32::MAX;
/// The length word of a leadership transfer request (a u64 id follows).
pub const TRANSFER_REQUEST: u32 = u32::MAX - 1;

/// What a client asks a node for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// Propose this payload; only the leader accepts.
    Propose(&'a [u8]),
    /// A linearizable read barrier.
    Read,
    /// Move leadership to this node.
    Transfer(NodeId),
    /// List or change the members (the leader answers).
    Member(&'a MemberRequest),
}

/// What came back, by the kind of request.
enum Reply {
    Plain(Answer),
    Members(MemberAnswer),
}

/// What the leader-following loop does with a reply.
enum Step<T> {
    Done(T),
    Retry(Option<NodeId>),
    Fail(ClientError),
}

/// Judges replies to proposals, reads and transfers.
fn plain(reply: Reply) -> Step<u64> {
    match reply {
        Reply::Plain(Answer::Committed(index)) => Step::Done(index),
        Reply::Plain(Answer::NotLeader(leader)) => Step::Retry(leader),
        Reply::Plain(_) => Step::Retry(None),
        Reply::Members(_) => Step::Fail(ClientError::UnexpectedAnswer(u8::MAX)),
    }
}

/// How long the client waits for a TCP connection to a node.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A node's answer to one proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The proposal committed at this index.
    Committed(u64),
    /// The node does not lead; it names the leader when it knows one.
    NotLeader(Option<NodeId>),
    /// Raft refused the proposal or it timed out; it may still commit.
    Dropped,
    /// The node is stopping.
    ShuttingDown,
}

impl Answer {
    /// Writes the answer as the wire's tag byte and u64.
    pub async fn write_to(self, stream: &mut TcpStream) -> std::io::Result<()> {
        let (tag, value) = match self {
            Answer::Committed(index) => (COMMITTED, index),
            Answer::NotLeader(leader) => (NOT_LEADER, leader.unwrap_or(0)),
            Answer::Dropped => (DROPPED, 0),
            Answer::ShuttingDown => (SHUTTING_DOWN, 0),
        };
        stream.write_u8(tag).await?;
        stream.write_u64(value).await
    }

    async fn read_from(stream: &mut TcpStream) -> Result<Answer, ClientError> {
        let tag = stream.read_u8().await?;
        let value = stream.read_u64().await?;
        match tag {
            COMMITTED => Ok(Answer::Committed(value)),
            NOT_LEADER => Ok(Answer::NotLeader((value != 0).then_some(value))),
            DROPPED => Ok(Answer::Dropped),
            SHUTTING_DOWN => Ok(Answer::ShuttingDown),
            other => Err(ClientError::UnexpectedAnswer(other)),
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Committed(index) => write!(f, "committed at index {index}"),
            Answer::NotLeader(Some(leader)) => write!(f, "not the leader; node {leader} leads"),
            Answer::NotLeader(None) => write!(f, "not the leader; no leader known yet"),
            Answer::Dropped => write!(f, "proposal dropped"),
            Answer::ShuttingDown => write!(f, "the node is shutting down"),
        }
    }
}

/// One node's client address, with its id when the user gave it
/// (`ID=ADDR`): only then can a leader hint naming that id lead to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The node's id, if known.
    pub id: Option<NodeId>,
    /// The node's client address.
    pub addr: SocketAddr,
}

impl FromStr for Endpoint {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Endpoint, ClientError> {
        let bad = || ClientError::BadEndpoint(s.to_string());
        let (id, addr) = match s.split_once('=') {
            Some((id, addr)) => (Some(id.trim().parse().map_err(|_| bad())?), addr),
            None => (None, s),
        };
        if id == Some(0) {
            return Err(bad());
        }
        let addr = addr.trim().parse().map_err(|_| bad())?;
        Ok(Endpoint { id, addr })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "node {id} at {}", self.addr),
            None => write!(f, "{}", self.addr),
        }
    }
}

/// Parses a comma-separated list of endpoints (`ADDR` or `ID=ADDR` each).
pub fn parse_endpoints(list: &str) -> Result<Vec<Endpoint>, ClientError> {
    list.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// Why a proposal could not be made.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No endpoint was given.
    #[error("no endpoint given")]
    NoEndpoints,
    /// An endpoint is neither `ADDR` nor `ID=ADDR` with a non-zero id.
    #[error("bad endpoint {0:?}: expected ADDR or ID=ADDR, e.g. 10.0.0.1:7100 or 1=10.0.0.1:7100")]
    BadEndpoint(String),
    /// The payload does not fit in a request.
    #[error("a request of {0} bytes is over the limit of {MAX_REQUEST}")]
    TooLarge(usize),
    /// The connection failed or closed mid-answer.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The server sent a tag this client does not know.
    #[error("unexpected answer tag {0}")]
    UnexpectedAnswer(u8),
    /// A membership request or answer was malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The leader refused the membership change.
    #[error(transparent)]
    Refused(#[from] MemberRefusal),
    /// A node named a leader whose client address is not among the endpoints,
    /// and every endpoint has refused.
    #[error("not the leader; node {0} leads, and its client address is not among the endpoints (give it as {0}=ADDR)")]
    LeaderNotListed(NodeId),
    /// No endpoint committed the proposal within the allowed tries.
    #[error("gave up after {tries} tries; last: {last}")]
    GaveUp {
        /// How many requests were made.
        tries: u32,
        /// What the last one ended with.
        last: String,
    },
}

/// A committed proposal, and where it went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The log index the proposal committed at.
    pub index: u64,
    /// The endpoint that committed it (the leader).
    pub endpoint: Endpoint,
    /// How many requests it took, this one included.
    pub tries: u32,
}

/// A client for several nodes' client ports that sends each proposal to
/// the leader, keeping one connection to the last node that accepted one.
pub struct Client {
    endpoints: Vec<Endpoint>,
    max_tries: u32,
    current: usize,
    connection: Option<(usize, TcpStream)>,
}

impl Client {
    /// A client for `endpoints`, making at most `max_tries` requests per
    /// proposal (at least one).
    pub fn new(endpoints: Vec<Endpoint>, max_tries: u32) -> Result<Client, ClientError> {
        if endpoints.is_empty() {
            return Err(ClientError::NoEndpoints);
        }
        Ok(Client {
            endpoints,
            max_tries: max_tries.max(1),
            current: 0,
            connection: None,
        })
    }

    /// Proposes `data` until a leader commits it, following leader hints.
    ///
    /// A refusal that names a leader listed with its id goes straight to
    /// it; any other failure moves on to the next endpoint not yet tried in
    /// this round. After a round in which every endpoint failed without
    /// naming a reachable leader (an election under way, say), the client
    /// waits a little before the next round.
    pub async fn propose(&mut self, data: &[u8]) -> Result<Committed, ClientError> {
        u32::try_from(data.len())
            .ok()
            .filter(|len| *len <= MAX_REQUEST)
            .ok_or(ClientError::TooLarge(data.len()))?;
        self.call(Request::Propose(data)).await
    }

    /// A linearizable read barrier on whichever endpoint answers first: the
    /// answer's `index` is the read index that node has applied up to.
    pub async fn read(&mut self) -> Result<Committed, ClientError> {
        self.call(Request::Read).await
    }

    /// Moves leadership to node `to`; the answer's `index` is `to`.
    pub async fn transfer(&mut self, to: NodeId) -> Result<Committed, ClientError> {
        self.call(Request::Transfer(to)).await
    }

    /// Lists or changes the members through the leader: the answer is the
    /// membership after the change. A refusal (a change in progress, one
    /// that would leave no voter, an invalid one) ends in
    /// [`ClientError::Refused`] without further tries.
    pub async fn member(&mut self, request: &MemberRequest) -> Result<MemberList, ClientError> {
        let judge = |reply: Reply| match reply {
            Reply::Members(MemberAnswer::Members(list)) => Step::Done(list),
            Reply::Members(MemberAnswer::NotLeader(leader)) => Step::Retry(leader),
            Reply::Members(MemberAnswer::Refused(refusal)) => Step::Fail(refusal.into()),
            Reply::Members(_) => Step::Retry(None),
            Reply::Plain(_) => Step::Fail(ClientError::UnexpectedAnswer(u8::MAX)),
        };
        Ok(self.follow(Request::Member(request), judge).await?.0)
    }

    async fn call(&mut self, request: Request<'_>) -> Result<Committed, ClientError> {
        let (index, endpoint, tries) = self.follow(request, plain).await?;
        Ok(Committed {
            index,
            endpoint,
            tries,
        })
    }

    /// Sends `request` until a node answers it to `judge`'s satisfaction,
    /// following leader hints as [`Client::propose`] describes; returns the
    /// result, the endpoint that gave it and the number of tries.
    async fn follow<T>(
        &mut self,
        request: Request<'_>,
        judge: impl Fn(Reply) -> Step<T>,
    ) -> Result<(T, Endpoint, u32), ClientError> {
        let mut failed = vec![false; self.endpoints.len()];
        let mut rounds = 0u32;
        let mut last = String::new();
        for tries in 1..=self.max_tries {
            let at = self.current;
            let hint = match self.ask(at, request).await {
                Ok(reply) => {
                    let text = match &reply {
                        Reply::Plain(answer) => answer.to_string(),
                        Reply::Members(answer) => format!("{answer:?}"),
                    };
                    match judge(reply) {
                        Step::Done(value) => return Ok((value, self.endpoints[at], tries)),
                        Step::Fail(e) => return Err(e),
                        Step::Retry(leader) => {
                            tracing::debug!(endpoint = %self.endpoints[at], answer = %text, "request refused");
                            last = format!("{}: {text}", self.endpoints[at]);
                            leader
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(endpoint = %self.endpoints[at], error = %e, "request failed");
                    self.connection = None;
                    last = format!("{}: {e}", self.endpoints[at]);
                    None
                }
            };
            failed[at] = true;
            let listed_leader = hint.and_then(|leader| {
                self.endpoints
                    .iter()
                    .position(|e| e.id == Some(leader))
                    .filter(|i| !failed[*i])
            });
            if let Some(next) = listed_leader {
                self.current = next;
                continue;
            }
            let len = self.endpoints.len();
            match (1..=len)
                .map(|step| (at + step) % len)
                .find(|i| !failed[*i])
            {
                Some(next) => self.current = next,
                None => {
                    if let Some(leader) = hint {
                        if self.endpoints.iter().all(|e| e.id != Some(leader)) {
                            return Err(ClientError::LeaderNotListed(leader));
                        }
                    }
                    rounds += 1;
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(rounds.min(10))))
                        .await;
                    failed.iter_mut().for_each(|f| *f = false);
                    self.current = (at + 1) % len;
                }
            }
        }
        Err(ClientError::GaveUp {
            tries: self.max_tries,
            last,
        })
    }

    /// One request to endpoint `at`, over the kept connection when it is
    /// to that endpoint.
    async fn ask(&mut self, at: usize, request: Request<'_>) -> Result<Reply, ClientError> {
        let stream = match &mut self.connection {
            Some((i, stream)) if *i == at => stream,
            slot => {
                let addr = self.endpoints[at].addr;
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
                    .await
                    .map_err(|_| {
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no connection to {addr} within {CONNECT_TIMEOUT:?}"),
                        )
                    })??;
                &mut slot.insert((at, stream)).1
            }
        };
        match request {
            Request::Propose(data) => {
                // `propose` checked that the length fits.
                stream.write_u32(data.len() as u32).await?;
                stream.write_all(data).await?;
            }
            Request::Read => stream.write_u32(READ_REQUEST).await?,
            Request::Transfer(to) => {
                stream.write_u32(TRANSFER_REQUEST).await?;
                stream.write_u64(to).await?;
            }
            Request::Member(member) => {
                let body = member.encode()?;
                stream.write_u32(MEMBER_REQUEST).await?;
                stream.write_u32(body.len() as u32).await?;
                stream.write_all(&body).await?;
                let tag = stream.read_u8().await?;
                let body = read_body(stream, MAX_MEMBER_ANSWER).await??;
                return Ok(Reply::Members(MemberAnswer::decode(tag, body)?));
            }
        }
        Ok(Reply::Plain(Answer::read_from(stream).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn endpoints_parse_with_and_without_ids() {
        let list = parse_endpoints("127.0.0.1:7100, 2=127.0.0.1:7101,,").unwrap();
        assert_eq!(
            list,
            vec![
                Endpoint {
                    id: None,
                    addr: "127.0.0.1:7100".parse().unwrap()
                },
                Endpoint {
                    id: Some(2),
                    addr: "127.0.0.1:7101".parse().unwrap()
                },
            ]
        );
        for bad in ["x", "0=127.0.0.1:1", "a=127.0.0.1:1", "1=nowhere"] {
            assert!(
                matches!(bad.parse::<Endpoint>(), Err(ClientError::BadEndpoint(_))),
                "{bad}"
            );
        }
    }

    /// A fake node that gives `answer` to every request and counts them.
    async fn fake_node(answer: Answer) -> (Endpoint, tokio::sync::watch::Receiver<u32>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (count_tx, count_rx) = tokio::sync::watch::channel(0u32);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let count_tx = count_tx.clone();
                tokio::spawn(async move {
                    while let Ok(len) = stream.read_u32().await {
                        let mut data = vec![0; len as usize];
                        if stream.read_exact(&mut data).await.is_err() {
                            return;
                        }
                        count_tx.send_modify(|n| *n += 1);
                        if answer.write_to(&mut stream).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (Endpoint { id: None, addr }, count_rx)
    }

    #[tokio::test]
    async fn a_hint_naming_a_listed_leader_goes_straight_to_it() {
        let (follower, follower_asked) = fake_node(Answer::NotLeader(Some(3))).await;
        let (other, other_asked) = fake_node(Answer::NotLeader(Some(3))).await;
        let (mut leader, _) = fake_node(Answer::Committed(7)).await;
        leader.id = Some(3);
        let mut client = Client::new(vec![follower, other, leader], 5).unwrap();
        let committed = client.propose(b"x").await.unwrap();
        assert_eq!(committed.index, 7);
        assert_eq!(committed.endpoint, leader);
        assert_eq!(committed.tries, 2);
        assert_eq!(*follower_asked.borrow(), 1);
        assert_eq!(*other_asked.borrow(), 0, "the hint skipped the other node");
        // The next proposal starts at the leader.
        assert_eq!(client.propose(b"y").await.unwrap().tries, 1);
        assert_eq!(*follower_asked.borrow(), 1);
    }

    #[tokio::test]
    async fn an_unlisted_leader_means_trying_the_next_endpoint() {
        let (follower, _) = fake_node(Answer::NotLeader(Some(3))).await;
        let (leader, _) = fake_node(Answer::Committed(4)).await;
        let mut client = Client::new(vec![follower, leader], 5).unwrap();
        let committed = client.propose(b"x").await.unwrap();
        assert_eq!(
            (committed.index, committed.endpoint, committed.tries),
            (4, leader, 2)
        );
    }

    #[tokio::test]
    async fn refusals_from_every_endpoint_end_in_a_typed_error() {
        let (follower, asked) = fake_node(Answer::NotLeader(Some(3))).await;
        let mut client = Client::new(vec![follower], 5).unwrap();
        let err = client.propose(b"x").await.unwrap_err();
        assert!(matches!(err, ClientError::LeaderNotListed(3)), "{err}");
        assert_eq!(*asked.borrow(), 1);

        let (no_leader, asked) = fake_node(Answer::NotLeader(None)).await;
        let mut client = Client::new(vec![no_leader], 3).unwrap();
        let err = client.propose(b"x").await.unwrap_err();
        assert!(
            matches!(err, ClientError::GaveUp { tries: 3, ref last } if last.contains("no leader known")),
            "{err}"
        );
        assert_eq!(*asked.borrow(), 3);
    }

    #[tokio::test]
    async fn an_endpoint_that_is_down_is_skipped() {
        let down = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let (leader, _) = fake_node(Answer::Committed(9)).await;
        let down = Endpoint {
            id: None,
            addr: down,
        };
        let mut client = Client::new(vec![down, leader], 5).unwrap();
        assert_eq!(client.propose(b"x").await.unwrap().endpoint, leader);
    }

    #[test]
    fn no_endpoints_is_an_error() {
        assert!(matches!(
            Client::new(Vec::new(), 3),
            Err(ClientError::NoEndpoints)
        ));
    }
}
