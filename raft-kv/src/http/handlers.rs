//! The request handlers: the write path through the log, the three read
//! paths, and where a follower sends the client.

use super::error::ApiError;
use super::metrics::Op;
use super::Service;
use crate::command::{Command, Outcome};
use crate::machine::decode_outcome;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use raft_core::Role;
use raft_node::{ProposeError, ReadError, TransferError};
use serde::Deserialize;
use serde_json::json;

/// How fresh a read must be.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Consistency {
    /// After a read barrier on the leader: sees every write acknowledged
    /// before the read began.
    #[default]
    Linearizable,
    /// From the leader's store without a barrier: CheckQuorum makes a
    /// partitioned leader step down within an election timeout, so this is
    /// current unless clocks misbehave for that long.
    Lease,
    /// From this node's store, whatever it has applied.
    Stale,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadParams {
    #[serde(default)]
    consistency: Consistency,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasBody {
    expected: Option<String>,
    new: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    to: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    blocked: Vec<u64>,
}

type Answer = Result<Response, ApiError>;

impl Service {
    fn key(&self, key: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
        let Path(key) = key.map_err(|r| ApiError::BadRequest(r.body_text()))?;
        let limit = self.inner.config.max_key_len;
        if key.is_empty() || key.len() > limit {
            return Err(ApiError::BadRequest(format!(
                "a key is 1 to {limit} bytes, this one is {}",
                key.len()
            )));
        }
        Ok(key)
    }

    fn body(&self, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
        body.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(self.inner.config.body_limit)
            } else {
                ApiError::BadRequest(r.body_text())
            }
        })
    }

    /// Where to send a request this node cannot answer.
    fn redirect(&self, leader: Option<u64>, uri: &Uri) -> ApiError {
        let me = self.inner.node.id();
        let target = leader
            .filter(|l| *l != me)
            .and_then(|l| self.inner.peers.get(&l).map(|addr| (l, *addr)));
        match target {
            Some((leader, addr)) => {
                let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                ApiError::Redirect {
                    leader,
                    location: format!("http://{addr}{path}"),
                }
            }
            None => ApiError::NoLeader,
        }
    }

    /// Proposes `cmd` and waits for this node to apply it.
    async fn write(&self, cmd: Command, uri: &Uri) -> Result<(u64, Outcome), ApiError> {
        if self.inner.config.unsafe_ack_before_commit
            && self.inner.node.metrics().role == Role::Leader
        {
            // The planted bug: answer from a guess, commit (maybe) later.
            let mut guess = self.inner.machine.store().clone();
            let next = guess.applied() + 1;
            let outcome = guess.apply(next, &cmd);
            let node = self.inner.node.clone();
            let data = cmd.encode();
            tokio::spawn(async move { node.propose_with_response(data).await });
            return Ok((0, outcome));
        }
        match self.inner.node.propose_with_response(cmd.encode()).await {
            Ok(applied) => {
                let outcome = decode_outcome(&applied.response)
                    .map_err(|e| ApiError::Internal(format!("undecodable outcome: {e}")))?;
                Ok((applied.index, outcome))
            }
            Err(ProposeError::NotLeader { leader }) => Err(self.redirect(leader, uri)),
            Err(e) => Err(e.into()),
        }
    }

    /// Returns once this node's store holds every write acknowledged before
    /// the call: a ReadIndex round confirmed by the leader (nothing is
    /// written to the log), then this node applies up to the read index.
    /// Followers do this too, so they answer linearizable reads themselves.
    async fn read_barrier(&self) -> Result<(), ApiError> {
        match self.inner.node.read_index().await {
            Ok(_) => Ok(()),
            Err(ReadError::NoLeader) => Err(ApiError::NoLeader),
            Err(e) => Err(ApiError::Unavailable(e.to_string())),
        }
    }

    fn finish(&self, op: Op, answer: Answer) -> Response {
        self.inner.counters.count(op, &answer);
        answer.unwrap_or_else(IntoResponse::into_response)
    }
}

pub(crate) async fn put_key(
    State(svc): State<Service>,
    uri: Uri,
    key: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = async {
        let key = svc.key(key)?;
        let body = svc.body(body)?;
        let value = String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::BadRequest("the value is not UTF-8".into()))?;
        let cmd = Command::Put {
            key: key.clone(),
            value,
        };
        match svc.write(cmd, &uri).await? {
            (index, Outcome::Put { previous }) => Ok(Json(
                json!({ "key": key, "previous": previous, "index": index }),
            )
            .into_response()),
            (_, other) => Err(ApiError::Internal(format!("a put answered {other:?}"))),
        }
    };
    svc.finish(Op::Put, answer.await)
}

pub(crate) async fn delete_key(
    State(svc): State<Service>,
    uri: Uri,
    key: Result<Path<String>, PathRejection>,
) -> Response {
    let answer = async {
        let key = svc.key(key)?;
        match svc
            .write(Command::Delete { key: key.clone() }, &uri)
            .await?
        {
            (index, Outcome::Delete { existed }) => {
                Ok(Json(json!({ "key": key, "existed": existed, "index": index })).into_response())
            }
            (_, other) => Err(ApiError::Internal(format!("a delete answered {other:?}"))),
        }
    };
    svc.finish(Op::Delete, answer.await)
}

pub(crate) async fn cas_key(
    State(svc): State<Service>,
    uri: Uri,
    key: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = async {
        let key = svc.key(key)?;
        let body = svc.body(body)?;
        let CasBody { expected, new } = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("cas body: {e}")))?;
        let cmd = Command::Cas {
            key: key.clone(),
            expected,
            new,
        };
        match svc.write(cmd, &uri).await? {
            (index, Outcome::Cas { swapped, current }) => Ok(Json(json!({
                "key": key, "swapped": swapped, "current": current, "index": index
            }))
            .into_response()),
            (_, other) => Err(ApiError::Internal(format!("a cas answered {other:?}"))),
        }
    };
    svc.finish(Op::Cas, answer.await)
}

pub(crate) async fn get_key(
    State(svc): State<Service>,
    uri: Uri,
    key: Result<Path<String>, PathRejection>,
    params: Result<Query<ReadParams>, QueryRejection>,
) -> Response {
    let answer = async {
        let key = svc.key(key)?;
        let Query(params) = params.map_err(|r| ApiError::BadRequest(r.body_text()))?;
        let metrics = svc.inner.node.metrics();
        let leads = metrics.role == Role::Leader;
        match params.consistency {
            Consistency::Linearizable if !leads && svc.inner.config.unsafe_follower_local_reads => {
                // The planted bug: no barrier, whatever this follower has.
            }
            Consistency::Linearizable => svc.read_barrier().await?,
            Consistency::Lease if !leads => return Err(svc.redirect(metrics.leader, &uri)),
            Consistency::Lease | Consistency::Stale => {}
        }
        let value = svc.inner.machine.store().get(&key).map(str::to_owned);
        match value {
            Some(value) => Ok(Json(json!({ "key": key, "value": value })).into_response()),
            None => Err(ApiError::NotFound),
        }
    };
    svc.finish(Op::Get, answer.await)
}

pub(crate) async fn transfer(
    State(svc): State<Service>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = async {
        let body = svc.body(body)?;
        let TransferBody { to } = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("transfer body: {e}")))?;
        if !svc.inner.peers.contains_key(&to) {
            return Err(ApiError::BadRequest(format!(
                "no node {to} in this cluster"
            )));
        }
        match svc.inner.node.transfer_leader(to).await {
            Ok(()) => Ok(Json(json!({ "leader": to })).into_response()),
            Err(TransferError::NotVoter { .. }) => Err(ApiError::BadRequest(format!(
                "node {to} is not a voter and cannot lead"
            ))),
            Err(TransferError::NoLeader) => Err(ApiError::NoLeader),
            Err(e @ TransferError::Aborted { .. }) => Err(ApiError::Conflict(e.to_string())),
            Err(e) => Err(ApiError::Unavailable(e.to_string())),
        }
    };
    svc.finish(Op::Transfer, answer.await)
}

pub(crate) async fn get_faults(State(svc): State<Service>) -> Response {
    let blocked = svc
        .inner
        .config
        .link_faults
        .as_ref()
        .map(|f| f.blocked())
        .unwrap_or_default();
    Json(json!({ "blocked": blocked })).into_response()
}

/// Blocks exactly the listed peers (an empty list heals every link).
pub(crate) async fn set_faults(
    State(svc): State<Service>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = async {
        let body = svc.body(body)?;
        let FaultsBody { blocked } = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("faults body: {e}")))?;
        let faults = svc
            .inner
            .config
            .link_faults
            .as_ref()
            .ok_or(ApiError::NotFound)?;
        faults.set_blocked(blocked);
        tracing::info!(id = svc.inner.node.id(), blocked = ?faults.blocked(), "link faults set");
        Ok::<_, ApiError>(Json(json!({ "blocked": faults.blocked() })).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn status(State(svc): State<Service>) -> Response {
    let m = svc.inner.node.metrics();
    let keys = svc.inner.machine.store().len();
    let leader_http = m
        .leader
        .and_then(|l| svc.inner.peers.get(&l))
        .map(|a| a.to_string());
    Json(json!({
        "id": m.id,
        "role": format!("{:?}", m.role),
        "term": m.term,
        "leader": m.leader,
        "leader_http": leader_http,
        "commit": m.commit,
        "applied": m.applied,
        "keys": keys,
        "snapshots_made": m.snapshots.made,
        "compacted_to": m.snapshots.compacted_to,
    }))
    .into_response()
}

pub(crate) async fn no_route(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": format!("no such endpoint: {}", uri.path()) })),
    )
        .into_response()
}

pub(crate) async fn bad_method() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({ "error": "method not allowed on this endpoint" })),
    )
        .into_response()
}
