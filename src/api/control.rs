//! The API's write endpoints: control of the running daemon, for holders of
//! a token of the `[api] tokens_file` (`super::auth`).
//!
//! - `POST /api/v1/neighbors/{name}/{action}` with `action` one of
//!   `shutdown`, `enable`, `reset`, `refresh-in`, `refresh-out`,
//!   `clear-max-prefix`; `shutdown` and `reset` take an optional JSON body
//!   `{"message": "TEXT"}` (the RFC 9003 shutdown communication).
//! - `POST /api/v1/reload`: as SIGHUP; answers what changed, or the
//!   configuration errors (422) while the running configuration stays.
//! - `PUT /api/v1/log-level` with `{"level": "DIRECTIVE"}`.
//!
//! Every request is authenticated first (401 without a valid token, 403
//! when writes are not configured), so nothing about the daemon is learnt
//! without a token. The handler sends a `ControlRequest` to the daemon over
//! the bounded control channel and waits (at most [`CONTROL_TIMEOUT`]) for
//! its answer: 200 with a `ControlDone`, 404 for an unknown neighbor, 409
//! when the action does not fit the session's state.

use super::auth::AuthError;
use super::error::HttpError;
use super::params;
use super::server::AppState;
use crate::messages::control::{
    ControlAction, ControlDone, ControlRefused, ControlRequest, NeighborAction,
};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a write waits for the daemon (a reload reads and validates
/// the whole configuration).
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// The write paths (listed in 404 answers).
pub(super) const PATHS: &str = "POST /api/v1/neighbors/NAME/{shutdown,enable,reset,refresh-in,refresh-out,clear-max-prefix}, POST /api/v1/reload, PUT /api/v1/log-level";

/// The write routes, merged into the API's router.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/neighbors/:name/:action",
            post(neighbor).fallback(only("POST")),
        )
        .route("/api/v1/reload", post(reload).fallback(only("POST")))
        .route("/api/v1/log-level", put(log_level).fallback(only("PUT")))
}

/// A refused or failed write.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Refused(#[from] ControlRefused),
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The body is not the JSON the endpoint takes → 400.
    #[error("invalid request body: {0}")]
    Body(String),
    /// This server was started without a daemon to control → 503.
    #[error("this API server cannot change anything (no daemon attached)")]
    NoDaemon,
    /// The daemon did not answer → 503.
    #[error("the daemon did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
}

impl ControlError {
    fn status(&self) -> StatusCode {
        match self {
            ControlError::Auth(AuthError::WritesDisabled) => StatusCode::FORBIDDEN,
            ControlError::Auth(_) => StatusCode::UNAUTHORIZED,
            ControlError::Refused(r) => match r {
                ControlRefused::UnknownNeighbor(_) => StatusCode::NOT_FOUND,
                ControlRefused::Conflict(_) => StatusCode::CONFLICT,
                ControlRefused::InvalidConfig(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ControlRefused::BadRequest(_) => StatusCode::BAD_REQUEST,
                ControlRefused::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ControlError::Http(e) => e.status(),
            ControlError::Body(_) => StatusCode::BAD_REQUEST,
            ControlError::NoDaemon | ControlError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = serde_json::json!({ "error": self.to_string() });
        if let ControlError::Refused(ControlRefused::InvalidConfig(errs)) = &self {
            body["errors"] = serde_json::json!(errs);
        }
        let mut r = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"coldpotato\""),
            );
        }
        r
    }
}

/// `{"message": "..."}` of shutdown and reset.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    #[serde(default)]
    message: Option<String>,
}

/// `{"level": "..."}` of the log level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelBody {
    level: String,
}

async fn neighbor(
    State(s): State<AppState>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Json<ControlDone>, ControlError> {
    let who = authorize(&s, &headers)?;
    params::none(q.as_deref()).map_err(HttpError::from)?;
    let message = || -> Result<Option<String>, ControlError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let b: MessageBody =
            serde_json::from_slice(&body).map_err(|e| ControlError::Body(e.to_string()))?;
        Ok(b.message.filter(|m| !m.is_empty()))
    };
    let action = match action.as_str() {
        "shutdown" => NeighborAction::Shutdown {
            message: message()?,
        },
        "reset" => NeighborAction::Reset {
            message: message()?,
        },
        "enable" => NeighborAction::Enable,
        "refresh-in" => NeighborAction::RefreshIn,
        "refresh-out" => NeighborAction::RefreshOut,
        "clear-max-prefix" => NeighborAction::ClearMaxPrefix,
        _ => return Err(HttpError::NotFound(format!("/api/v1/neighbors/{name}/{action}")).into()),
    };
    ask(&s, ControlAction::Neighbor { name, action }, who).await
}

async fn reload(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Json<ControlDone>, ControlError> {
    let who = authorize(&s, &headers)?;
    params::none(q.as_deref()).map_err(HttpError::from)?;
    ask(&s, ControlAction::Reload, who).await
}

async fn log_level(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Json<ControlDone>, ControlError> {
    let who = authorize(&s, &headers)?;
    params::none(q.as_deref()).map_err(HttpError::from)?;
    let b: LevelBody =
        serde_json::from_slice(&body).map_err(|e| ControlError::Body(e.to_string()))?;
    ask(&s, ControlAction::LogLevel { directive: b.level }, who).await
}

/// The name of the token the request carries, or why it may not write.
fn authorize(s: &AppState, headers: &HeaderMap) -> Result<String, ControlError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match s.tokens.authorize(header) {
        Ok(who) => Ok(who),
        Err(e) => {
            tracing::warn!(error = %e, "API write refused");
            Err(e.into())
        }
    }
}

/// Hands the action to the daemon and waits for its answer.
async fn ask(
    s: &AppState,
    action: ControlAction,
    who: String,
) -> Result<Json<ControlDone>, ControlError> {
    let control = s.control.as_ref().ok_or(ControlError::NoDaemon)?;
    let (reply, rx) = oneshot::channel();
    let req = ControlRequest { action, who, reply };
    let exchange = async {
        control
            .send(req)
            .await
            .map_err(|_| ControlError::NoDaemon)?;
        rx.await.map_err(|_| ControlError::NoDaemon)
    };
    match tokio::time::timeout(CONTROL_TIMEOUT, exchange).await {
        Ok(Ok(Ok(done))) => Ok(Json(done)),
        Ok(Ok(Err(refused))) => Err(refused.into()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ControlError::Timeout(CONTROL_TIMEOUT)),
    }
}

/// 405 naming the one method a write path takes.
fn only(
    method: &'static str,
) -> impl Fn(axum::http::Method) -> std::future::Ready<Response> + Clone {
    move |m: axum::http::Method| {
        let body = serde_json::json!({
            "error": format!("method {m} not allowed here: use {method}")
        });
        let mut r = (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(method));
        std::future::ready(r)
    }
}
