//! The HTTP server: binds the API socket, routes requests, asks the engine.
//!
//! Runs as one tokio task (spawned by `main` beside the route engine) plus
//! one task per connection (axum/hyper). It holds a clone of the engine's
//! `mpsc::Sender<ToEngine>` and asks each question with
//! [`ToEngine::Query`] and a `oneshot` for the answer, bounded by a timeout,
//! so a busy or dead engine yields a 503 instead of a hung client. The live
//! event stream (`super::stream`) asks once and then reads a `broadcast`
//! channel the engine task feeds.

use super::auth::TokenStore;
use super::error::HttpError;
use super::params;
use super::stream::{self, MAX_EVENT_STREAMS};
use crate::messages::control::ControlRequest;
use crate::messages::{Query, QueryReply, ToEngine};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

/// How long a data endpoint waits for the engine (send + answer).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `/healthz` waits for the engine before reporting 503.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// After shutdown, how long open requests may take to finish.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// At most this many API questions wait on the engine at once, so scripts
/// polling the API cannot crowd UPDATEs out of the engine's queue.
pub const MAX_INFLIGHT_QUERIES: usize = 8;
/// Prometheus text exposition format 0.0.4 content type.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Every path the API serves (listed in 404 answers).
pub(super) const PATHS: &str =
    "/metrics, /healthz, /api/v1/neighbors, /api/v1/neighbors/{name}, /api/v1/neighbors/{name}/adj-rib-out, /api/v1/routes, /api/v1/decisions, /api/v1/events, /api/v1/events/stream, /api/v1/audit, /api/v1/config";

/// What every handler shares: the way to the engine.
#[derive(Clone)]
pub(super) struct AppState {
    engine: mpsc::Sender<ToEngine>,
    query_timeout: Duration,
    health_timeout: Duration,
    /// [`MAX_INFLIGHT_QUERIES`] permits for data queries (`/healthz` skips it).
    inflight: Arc<Semaphore>,
    /// [`MAX_EVENT_STREAMS`] permits, one per open event stream.
    streams: Arc<Semaphore>,
    /// Becomes true when the server shuts down: the event streams end.
    stopping: watch::Receiver<bool>,
    /// The daemon's control channel (writes, `super::control`); `None`
    /// when no daemon is attached.
    pub(super) control: Option<mpsc::Sender<ControlRequest>>,
    /// Who may write (`[api] tokens_file`).
    pub(super) tokens: TokenStore,
}

impl AppState {
    /// Sends `q` to the engine and waits for the reply, at most `limit`
    /// (waiting for a permit or for room in a full engine queue counts
    /// against the limit too). `/healthz` passes `limited = false` so heavy
    /// API use never makes the daemon look dead to its supervisor.
    async fn ask(&self, q: Query, limit: Duration, limited: bool) -> Result<QueryReply, HttpError> {
        let (tx, rx) = oneshot::channel();
        let exchange = async {
            let _permit = match limited {
                true => Some(
                    self.inflight
                        .acquire()
                        .await
                        .map_err(|_| HttpError::EngineGone)?,
                ),
                false => None,
            };
            self.engine
                .send(ToEngine::Query(q, tx))
                .await
                .map_err(|_| HttpError::EngineGone)?;
            rx.await.map_err(|_| HttpError::EngineGone)
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(reply) => reply,
            Err(_) => {
                tracing::warn!(
                    timeout_ms = limit.as_millis() as u64,
                    "route engine did not answer an API query"
                );
                Err(HttpError::EngineTimeout(limit))
            }
        }
    }
}

impl AppState {
    /// [`AppState::ask`] for a data endpoint (query timeout, in-flight limit).
    pub(super) async fn ask_data(&self, q: Query) -> Result<QueryReply, HttpError> {
        self.ask(q, self.query_timeout, true).await
    }
}

/// A bound, not yet running API server. Bind first to learn the address
/// (tests bind port 0), then [`ApiServer::run`].
pub struct ApiServer {
    listener: TcpListener,
    state: AppState,
    stopping: watch::Sender<bool>,
}

impl ApiServer {
    /// Binds `listen`. The error names the address and the config key.
    pub async fn bind(listen: SocketAddr, engine: mpsc::Sender<ToEngine>) -> io::Result<Self> {
        let listener = TcpListener::bind(listen).await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot listen for the HTTP API on {listen}: {e} (set [api] listen to a free local address)"),
            )
        })?;
        let (stopping, stopping_rx) = watch::channel(false);
        Ok(Self {
            listener,
            state: AppState {
                engine,
                query_timeout: QUERY_TIMEOUT,
                health_timeout: HEALTH_TIMEOUT,
                inflight: Arc::new(Semaphore::new(MAX_INFLIGHT_QUERIES)),
                streams: Arc::new(Semaphore::new(MAX_EVENT_STREAMS)),
                stopping: stopping_rx,
                control: None,
                tokens: TokenStore::default(),
            },
            stopping,
        })
    }

    /// Enables the write endpoints: requests authenticated against
    /// `tokens` go to the daemon on `control`.
    pub fn with_control(
        mut self,
        control: mpsc::Sender<ControlRequest>,
        tokens: TokenStore,
    ) -> Self {
        self.state.control = Some(control);
        self.state.tokens = tokens;
        self
    }

    /// Overrides [`QUERY_TIMEOUT`] and [`HEALTH_TIMEOUT`] (tests use short ones).
    pub fn with_timeouts(mut self, query: Duration, health: Duration) -> Self {
        self.state.query_timeout = query;
        self.state.health_timeout = health;
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets open requests finish
    /// for at most [`DRAIN_TIMEOUT`] (a client stuck mid-request must not
    /// hold the daemon's exit hostage).
    pub async fn run<F>(self, shutdown: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let addr = self.listener.local_addr()?;
        tracing::info!(%addr, "HTTP API listening");
        let (stopping_tx, stopping_rx) = oneshot::channel::<()>();
        // Event streams never end by themselves: the signal ends them. The
        // sender lives as long as `run` (a dropped one would end them too).
        let streams = Arc::new(self.stopping);
        let end_streams = streams.clone();
        let signal = async move {
            shutdown.await;
            let _ = end_streams.send(true);
            let _ = stopping_tx.send(());
        };
        let server = axum::serve(self.listener, router(self.state))
            .with_graceful_shutdown(signal)
            .into_future();
        tokio::pin!(server);
        let drain_deadline = async {
            // Err: the signal was dropped because the server ended first.
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(DRAIN_TIMEOUT).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            r = &mut server => r,
            () = drain_deadline => {
                tracing::warn!(%addr, "HTTP API stopped with requests still open");
                Ok(())
            }
        }
    }
}

/// Binds `listen` and serves the API until `shutdown` completes.
pub async fn serve<F>(
    listen: SocketAddr,
    engine: mpsc::Sender<ToEngine>,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    ApiServer::bind(listen, engine).await?.run(shutdown).await
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics).fallback(method_not_allowed))
        .route("/healthz", get(healthz).fallback(method_not_allowed))
        .route(
            "/api/v1/neighbors",
            get(neighbors).fallback(method_not_allowed),
        )
        // Operator read views (issue 12): paged routes, one neighbor, its
        // Adj-RIB-Out, the configuration in effect (`super::views`).
        .route(
            "/api/v1/routes",
            get(super::views::routes).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/neighbors/:name",
            get(super::views::neighbor).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/neighbors/:name/adj-rib-out",
            get(super::views::adj_rib_out).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/config",
            get(super::views::config).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/decisions",
            get(decisions).fallback(method_not_allowed),
        )
        .route("/api/v1/events", get(events).fallback(method_not_allowed))
        .route(
            "/api/v1/events/stream",
            get(events_stream).fallback(method_not_allowed),
        )
        .route("/api/v1/audit", get(audit).fallback(method_not_allowed))
        // Authenticated writes (control of the daemon).
        .merge(super::control::routes())
        .fallback(not_found)
        .with_state(state)
}

async fn metrics(State(s): State<AppState>) -> Response {
    // The API holds a sender, so it can read the engine's queue depth at
    // scrape time without asking the (possibly busy) engine.
    let depth = s.engine.max_capacity() - s.engine.capacity();
    crate::metrics::METRICS
        .engine_queue_depth
        .set(i64::try_from(depth).unwrap_or(i64::MAX));
    let body = crate::metrics::gather();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(METRICS_CONTENT_TYPE),
        )],
        body,
    )
        .into_response()
}

async fn healthz(State(s): State<AppState>) -> Result<&'static str, HttpError> {
    // Events above u64::MAX: the cheapest question, its answer is empty.
    s.ask(Query::Events { since: u64::MAX }, s.health_timeout, false)
        .await
        .map(|_| "ok")
}

async fn neighbors(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, HttpError> {
    params::none(q.as_deref())?;
    match s.ask(Query::Neighbors, s.query_timeout, true).await? {
        QueryReply::Neighbors(v) => json(v).await,
        _ => Err(HttpError::WrongReply("neighbors")),
    }
}

async fn decisions(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, HttpError> {
    params::none(q.as_deref())?;
    match s.ask(Query::Decisions, s.query_timeout, true).await? {
        QueryReply::Decisions(v) => json(v).await,
        _ => Err(HttpError::WrongReply("decisions")),
    }
}

async fn events(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, HttpError> {
    let p = params::events(q.as_deref())?;
    match s
        .ask(Query::Events { since: p.since }, s.query_timeout, true)
        .await?
    {
        QueryReply::Events(v) => json(v).await,
        _ => Err(HttpError::WrongReply("events")),
    }
}

/// `GET /api/v1/events/stream[?since=SEQ]` with an optional
/// `Last-Event-ID` (which wins over `since`).
async fn events_stream(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, HttpError> {
    let p = params::stream(q.as_deref())?;
    let last_id = match headers.get("last-event-id") {
        Some(v) => Some(params::last_event_id(v.as_bytes())?),
        None => None,
    };
    let permit = s
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| HttpError::TooManyStreams(MAX_EVENT_STREAMS))?;
    let sse = stream::open(
        s.engine.clone(),
        last_id.or(p.since),
        s.query_timeout,
        s.stopping.clone(),
        permit,
    )
    .await?;
    Ok(sse.into_response())
}

async fn audit(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, HttpError> {
    let p = params::audit(q.as_deref())?;
    match s
        .ask(
            Query::Audit {
                peer_asn: p.peer_asn,
            },
            s.query_timeout,
            true,
        )
        .await?
    {
        QueryReply::Audit(r) => json(r).await,
        _ => Err(HttpError::WrongReply("audit")),
    }
}

/// A JSON answer, serialised on the blocking pool: a full table is tens of
/// megabytes and must not stall the runtime's workers (and the sessions).
pub(super) async fn json<T: Serialize + Send + 'static>(value: T) -> Result<Response, HttpError> {
    let body = tokio::task::spawn_blocking(move || serde_json::to_vec(&value))
        .await
        .map_err(|e| HttpError::Internal(e.to_string()))?
        .map_err(|e| HttpError::Internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

async fn not_found(uri: Uri) -> HttpError {
    HttpError::NotFound(uri.path().to_string())
}

async fn method_not_allowed(method: Method) -> Response {
    let mut r = HttpError::MethodNotAllowed(method.to_string()).into_response();
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}
