//! The service's errors and how each becomes an HTTP answer with a JSON
//! body. Which status a client sees decides whether it may retry: 4xx and
//! 307 mean nothing was proposed; 503 after a proposal means the outcome is
//! unknown.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use thiserror::Error;

/// Why a request was not answered with data.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed (bad JSON, bad UTF-8, bad parameter).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The key holds no value.
    #[error("key not found")]
    NotFound,
    /// The body is larger than the service accepts.
    #[error("request body over the limit of {0} bytes")]
    TooLarge(usize),
    /// Another node leads: ask it (the `Location` header names it).
    #[error("not the leader; leader is node {leader} at {location}")]
    Redirect {
        /// The leader's id.
        leader: u64,
        /// The same request at the leader.
        location: String,
    },
    /// No leader is known (election under way): nothing was proposed.
    #[error("no leader is known; retry later")]
    NoLeader,
    /// The proposal or read barrier did not complete: a write may still
    /// take effect.
    #[error("outcome unknown: {0}")]
    Unavailable(String),
    /// The request lost a race (a leadership transfer another node won).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The state machine answered something this service cannot read.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Redirect { .. } => StatusCode::TEMPORARY_REDIRECT,
            ApiError::NoLeader | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.to_string() });
        if let ApiError::Redirect { leader, location } = &self {
            body["leader"] = (*leader).into();
            body["location"] = location.clone().into();
        }
        let mut response = (self.status(), Json(body)).into_response();
        if let ApiError::Redirect { location, .. } = &self {
            // The location is built from a socket address and the request's
            // own path, so it is always a valid header; if not, the JSON
            // body still names the leader.
            if let Ok(value) = HeaderValue::from_str(location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
        }
        response
    }
}

impl From<raft_node::ProposeError> for ApiError {
    fn from(e: raft_node::ProposeError) -> ApiError {
        ApiError::Unavailable(e.to_string())
    }
}
