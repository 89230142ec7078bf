//! The HTTP API and `/metrics`: reads open to whoever reaches the address,
//! writes (control of the daemon, [`control`]) only with a token of the
//! `[api] tokens_file` ([`auth`]).
//!
//! `crate::messages::views` holds the JSON shapes (a contract with scripts and tests: README,
//! "Ask it what it sees"); the server answers from snapshots the route engine returns
//! over a query channel, so it never touches routing state directly.
//!
//! Task: one tokio task runs [`serve`] (or [`ApiServer::run`]); it sends
//! `ToEngine::Query` on the engine's `mpsc` channel and awaits a `oneshot`.
//! Endpoints: `GET /metrics`, `/healthz`, `/api/v1/{neighbors,routes,decisions,events,audit}`,
//! and the live event stream `/api/v1/events/stream` (Server-Sent Events,
//! fed by a `broadcast` channel of the engine task: see [`stream`]).
//! Writes (with `Authorization: Bearer TOKEN`, see [`control`]):
//! `POST /api/v1/neighbors/NAME/ACTION`, `POST /api/v1/reload`,
//! `PUT /api/v1/log-level`; they go to the daemon on its control channel.
//! The operator's views of one neighbor, the paged routes and the
//! configuration in effect are in [`views`].

pub mod auth;
pub mod control;
mod error;
pub mod params;
mod server;
pub mod stream;
pub mod views;

pub use error::HttpError;
pub use server::{
    serve, ApiServer, DRAIN_TIMEOUT, HEALTH_TIMEOUT, MAX_INFLIGHT_QUERIES, METRICS_CONTENT_TYPE,
    QUERY_TIMEOUT,
};
