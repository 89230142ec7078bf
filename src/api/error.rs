//! HTTP error answers of the API: each failure maps to one status code and
//! a JSON body `{"error": "..."}`. Produced by the handlers in `super::server`.

use super::params::ParamError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::time::Duration;
use thiserror::Error;

/// A failed API request.
#[derive(Debug, Error)]
pub enum HttpError {
    /// Malformed query string → 400.
    #[error(transparent)]
    BadRequest(#[from] ParamError),
    /// The engine's channel is closed → 503.
    #[error("the route engine is not running")]
    EngineGone,
    /// The engine did not answer in time → 503.
    #[error("the route engine did not answer within {} ms", .0.as_millis())]
    EngineTimeout(Duration),
    /// The engine answered another question → 500 (a bug, never peer input).
    #[error("the route engine answered a different question than {0}")]
    WrongReply(&'static str),
    /// Serialising the answer failed → 500 (a bug, never peer input).
    #[error("internal error: {0}")]
    Internal(String),
    /// No such path → 404.
    #[error("no such path {0}; the API serves {paths}, and the writes {writes}", paths = super::server::PATHS, writes = super::control::PATHS)]
    NotFound(String),
    /// Not GET/HEAD → 405.
    #[error("method {0} not allowed: this path is read-only (GET, HEAD); changes go to the POST paths under /api/v1/neighbors/NAME/, /api/v1/reload and /api/v1/log-level")]
    MethodNotAllowed(String),
    /// The path names a neighbor that is not configured → 404.
    #[error("no neighbor named \"{0}\" (GET /api/v1/neighbors lists them)")]
    UnknownNeighbor(String),
    /// Every event stream slot is taken → 503.
    #[error("too many event streams open (at most {0}); try again later")]
    TooManyStreams(usize),
}

impl HttpError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::EngineGone | HttpError::EngineTimeout(_) | HttpError::TooManyStreams(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            HttpError::WrongReply(_) | HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HttpError::NotFound(_) | HttpError::UnknownNeighbor(_) => StatusCode::NOT_FOUND,
            HttpError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}
