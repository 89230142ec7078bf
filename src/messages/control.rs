//! Control of the running daemon: what the API's authenticated write
//! endpoints ask for and what they are answered.
//!
//! Channel: the API server holds an `mpsc::Sender<ControlRequest>` (bounded,
//! [`CONTROL_QUEUE`]); the daemon's main loop receives the requests and
//! carries them out (per-neighbor actions through the neighbor's peer task,
//! reload through the same code as SIGHUP), then answers on the request's
//! `oneshot`. The action is recorded as an event by the engine
//! ([`super::Input::Control`]).

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// Control requests waiting for the daemon.
pub const CONTROL_QUEUE: usize = 16;

/// An action on one neighbor (`coldpotato neighbor NAME …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighborAction {
    /// Cease / Administrative Shutdown (RFC 4486, with the RFC 9003
    /// communication); the session stays Idle until [`NeighborAction::Enable`].
    Shutdown { message: Option<String> },
    /// Lifts [`NeighborAction::Shutdown`].
    Enable,
    /// Cease / Administrative Reset (with the RFC 9003 communication), then
    /// the session comes back as usual.
    Reset { message: Option<String> },
    /// Ask the peer for its routes again (ROUTE-REFRESH, RFC 2918/7313).
    RefreshIn,
    /// Send the peer our Adj-RIB-Out again.
    RefreshOut,
    /// End a max-prefix restart penalty now.
    ClearMaxPrefix,
}

impl NeighborAction {
    /// The action's name, as in the API path and the event.
    pub fn as_str(&self) -> &'static str {
        match self {
            NeighborAction::Shutdown { .. } => "shutdown",
            NeighborAction::Enable => "enable",
            NeighborAction::Reset { .. } => "reset",
            NeighborAction::RefreshIn => "refresh-in",
            NeighborAction::RefreshOut => "refresh-out",
            NeighborAction::ClearMaxPrefix => "clear-max-prefix",
        }
    }
}

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAction {
    /// An action on the neighbor of this configured name.
    Neighbor {
        name: String,
        action: NeighborAction,
    },
    /// Re-read and apply the configuration file (as SIGHUP).
    Reload,
    /// Replace the log filter (`error`…`trace` or a `RUST_LOG` directive).
    LogLevel { directive: String },
}

impl ControlAction {
    /// The action's name in events and log lines.
    pub fn as_str(&self) -> &'static str {
        match self {
            ControlAction::Neighbor { action, .. } => action.as_str(),
            ControlAction::Reload => "reload",
            ControlAction::LogLevel { .. } => "log-level",
        }
    }
}

/// A request to the daemon.
#[derive(Debug)]
pub struct ControlRequest {
    pub action: ControlAction,
    /// Who asked: the name of the token (`[api] tokens_file`).
    pub who: String,
    pub reply: oneshot::Sender<Result<ControlDone, ControlRefused>>,
}

/// A carried-out action: `POST …` answers 200 with this JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlDone {
    /// Always true (the refusals are HTTP errors).
    pub ok: bool,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbor: Option<String>,
    /// One line saying what was done.
    pub message: String,
    /// Reload: what changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

/// Why an action was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlRefused {
    /// No neighbor of that name (404).
    #[error("no neighbor named {0:?}")]
    UnknownNeighbor(String),
    /// The action makes no sense in the neighbor's present state (409).
    #[error("{0}")]
    Conflict(String),
    /// The new configuration does not validate; the running one stays (422).
    #[error("configuration rejected, the running configuration is kept:\n{}", .0.join("\n"))]
    InvalidConfig(Vec<String>),
    /// A bad argument, such as a log directive that does not parse (400).
    #[error("{0}")]
    BadRequest(String),
    /// The daemon could not do it (500).
    #[error("{0}")]
    Failed(String),
}
