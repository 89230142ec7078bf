//! What crosses tasks: the messages between session tasks, BFD, the RTR
//! clients, the API and the route engine, and the views the engine answers
//! with ([`views`], the API's JSON shapes). A neutral module: `engine`,
//! `session`, `bfd`, `api`, `analytics` and `cli` depend on it, and it on
//! none of them (see ARCHITECTURE.md, "Tasks and channels").
//!
//! Channels: one bounded `mpsc::Sender<ToEngine>` shared by every producer
//! (back-pressure on UPDATE storms); one `mpsc::Sender<ToPeer>` per
//! established session, handed to the engine in [`ToEngine::Attach`] just
//! before its [`Input::SessionUp`]. The engine core sees [`Input`] only: the
//! channels (session outputs, query replies) stay with the engine task.
//! Live events reach the API's streams on a `broadcast` channel the engine
//! task feeds ([`ToEngine::SubscribeEvents`] hands out a receiver).

pub mod control;
pub mod detail;
pub mod encoded;
pub mod paging;
pub mod views;

pub use encoded::{Encoded, Job, SetRef, Step};

use crate::policy::ahead::{ImportEval, PreImport};
use crate::running::Running;
use crate::wire::{Afi, Codec, GracefulRestart, Notification, Prefix, Safi, Update};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use views::{AuditReport, DecisionView, EventView, NeighborView, RouteView};

/// A neighbor is named by its configured `name` (unique, stable across reloads).
pub type NeighborName = Arc<str>;

/// The six states of RFC 4271 §8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SessionState {
    /// The RFC 4271 name, as shown in the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Idle => "Idle",
            SessionState::Connect => "Connect",
            SessionState::Active => "Active",
            SessionState::OpenSent => "OpenSent",
            SessionState::OpenConfirm => "OpenConfirm",
            SessionState::Established => "Established",
        }
    }

    /// Every state, for metrics that set one gauge per state.
    pub const ALL: [SessionState; 6] = [
        SessionState::Idle,
        SessionState::Connect,
        SessionState::Active,
        SessionState::OpenSent,
        SessionState::OpenConfirm,
        SessionState::Established,
    ];
}

/// What an established session negotiated.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub remote_as: u32,
    pub remote_id: Ipv4Addr,
    pub local_address: IpAddr,
    pub remote_address: IpAddr,
    pub codec: Codec,
    /// Families both sides support.
    pub families: Vec<(Afi, Safi)>,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    /// The peer's graceful-restart capability, if any.
    pub graceful_restart: Option<GracefulRestart>,
    pub hold_time: u16,
    /// What BMP's Peer Up carries (RFC 7854 §4.10): ports and both OPENs.
    pub wire: SessionWire,
}

/// The connection and OPEN messages of an established session, as BMP's
/// Peer Up reports them (RFC 7854 §4.10).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionWire {
    pub local_port: u16,
    pub remote_port: u16,
    /// Our OPEN, the whole BGP message as sent.
    pub sent_open: bytes::Bytes,
    /// The peer's OPEN, the whole BGP message (re-encoded from the decoded
    /// message: the same capabilities in the same order).
    pub received_open: bytes::Bytes,
}

/// Why an established session ended, for BMP's Peer Down (RFC 7854 §4.9):
/// sent just before [`Input::SessionDown`] by the session task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownCause {
    /// We sent this NOTIFICATION.
    Sent(Notification),
    /// The peer sent this NOTIFICATION.
    Received(Notification),
    /// The connection closed (or was closed by us) without one.
    Closed,
}

/// BFD session state as the service reports it (RFC 5880 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BfdStatus {
    AdminDown,
    Down,
    Init,
    Up,
    /// No BFD configured for this neighbor.
    Disabled,
}

impl BfdStatus {
    /// The name used in the API (`AdminDown|Down|Init|Up|disabled`).
    pub fn as_str(self) -> &'static str {
        match self {
            BfdStatus::AdminDown => "AdminDown",
            BfdStatus::Down => "Down",
            BfdStatus::Init => "Init",
            BfdStatus::Up => "Up",
            BfdStatus::Disabled => "disabled",
        }
    }
}

/// To the route engine task. UPDATE (inside `Input`) dominates traffic, so
/// it is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ToEngine {
    /// Something that happened, for the engine core.
    Input(Input),
    /// A session reached Established: `tx` carries the engine's output to
    /// it. Sent just before that session's [`Input::SessionUp`] on the same
    /// channel (see [`ToEngine::session_up`]).
    Attach {
        neighbor: NeighborName,
        tx: mpsc::Sender<ToPeer>,
    },
    /// A read-only question from the API, answered on `reply`.
    Query(Query, oneshot::Sender<QueryReply>),
    /// A live event stream (`GET /api/v1/events/stream`): the events after
    /// `since` (none when `None`) and a receiver of every event from then
    /// on, taken at the same moment (no gap, no repeat).
    SubscribeEvents {
        since: Option<u64>,
        reply: oneshot::Sender<EventSubscription>,
    },
}

/// One event as the engine publishes it to the event file and the live
/// streams.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEvent {
    pub event: EventView,
    /// A per-route event published again with its final count when its
    /// window closes (same `seq`; the later copy wins).
    pub revised: bool,
}

/// The answer to [`ToEngine::SubscribeEvents`].
#[derive(Debug)]
pub struct EventSubscription {
    /// The kept events after `since`, oldest first.
    pub backlog: Vec<EventView>,
    /// Every event published after the backlog.
    pub live: broadcast::Receiver<Arc<PublishedEvent>>,
    /// The newest sequence number at the moment of the subscription (0:
    /// none yet).
    pub last_seq: u64,
}

impl ToEngine {
    /// The two messages that announce an established session, in order.
    pub fn session_up(
        neighbor: NeighborName,
        info: SessionInfo,
        tx: mpsc::Sender<ToPeer>,
    ) -> [ToEngine; 2] {
        [
            ToEngine::Attach {
                neighbor: neighbor.clone(),
                tx,
            },
            ToEngine::Input(Input::SessionUp { neighbor, info }),
        ]
    }
}

impl From<Input> for ToEngine {
    fn from(input: Input) -> Self {
        ToEngine::Input(input)
    }
}

/// The engine core's one input (no channels: the task keeps those). UPDATE
/// dominates traffic, so it is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Input {
    /// The session reached Established (its channel came in
    /// [`ToEngine::Attach`]).
    SessionUp {
        neighbor: NeighborName,
        info: SessionInfo,
    },
    /// The session left Established. With `graceful_restart` the routes are
    /// kept as stale for that long (RFC 4724 §4.2) instead of withdrawn.
    SessionDown {
        neighbor: NeighborName,
        reason: String,
        graceful_restart: Option<Duration>,
    },
    /// The FSM changed state (for the API and metrics), with the last error.
    PeerState {
        neighbor: NeighborName,
        state: SessionState,
        last_error: Option<String>,
    },
    /// An UPDATE from an Established session (already decoded; RFC 7606
    /// treat-as-withdraw is flagged inside).
    Update {
        neighbor: NeighborName,
        /// Boxed: moved through the engine's channel and batch by pointer
        /// (it is ~360 bytes, and most of `Input`'s size without the box).
        update: Box<Update>,
        /// Its import verdicts, worked out by the session task when it has
        /// the engine's [`crate::policy::ahead::ImportEval`].
        ahead: Option<PreImport>,
    },
    /// The peer asked for our routes again (RFC 2918).
    RouteRefresh {
        neighbor: NeighborName,
        afi: Afi,
        safi: Safi,
    },
    /// The BFD service's view of a neighbor changed.
    Bfd {
        neighbor: NeighborName,
        status: BfdStatus,
        diagnostic: u8,
    },
    /// The kernel's RTT estimate of an Established session's TCP
    /// connection (`TCP_INFO`), every few seconds; forgotten when the
    /// session goes down.
    SessionRtt {
        neighbor: NeighborName,
        /// Smoothed RTT.
        rtt: Duration,
        /// Its mean deviation.
        rttvar: Duration,
    },
    /// What the BFD service measures of the control packets it receives
    /// from a neighbor while Up, every few seconds; forgotten when BFD
    /// leaves Up.
    BfdRx {
        neighbor: NeighborName,
        /// Mean interval between received packets.
        interval: Duration,
        /// Mean deviation of that interval.
        jitter: Duration,
    },
    /// A new, validated and compiled configuration (SIGHUP).
    Reload(Running),
    /// A new RPKI VRP snapshot from the RTR clients (`None`: no data yet).
    Rpki(crate::rpki::Snapshot),
    /// Send `prefixes` to the neighbor again as its Adj-RIB-Out holds them
    /// now, then End-of-RIB when `end_of_rib`: the engine task dropped UPDATEs
    /// queued for a session that fell too far behind (`engine::backlog`).
    Resend {
        neighbor: NeighborName,
        prefixes: Vec<Prefix>,
        end_of_rib: bool,
    },
    /// The peer's Beginning (`end: false`) or End (`end: true`) of
    /// Route Refresh (RFC 7313 §4): the routes of that family are marked
    /// stale, and those not re-advertised by the end are removed.
    RefreshDemarcation {
        neighbor: NeighborName,
        afi: Afi,
        safi: Safi,
        end: bool,
    },
    /// Send the neighbor our Adj-RIB-Out of these families again (an
    /// operator's `refresh out`), within BoRR/EoRR when the session
    /// negotiated Enhanced Route Refresh (RFC 7313).
    RefreshOut {
        neighbor: NeighborName,
        families: Vec<(Afi, Safi)>,
    },
    /// An operator changed the running daemon (`messages::control`): kept
    /// as a `control` event naming the action and who asked.
    Control {
        action: &'static str,
        neighbor: Option<NeighborName>,
        who: String,
        message: String,
    },
    /// What an Established session negotiated beyond its [`SessionInfo`]
    /// (roles, timers), sent by the session task right after `SessionUp`
    /// (`show neighbor NAME`).
    SessionDetail {
        neighbor: NeighborName,
        detail: detail::SessionDetail,
    },
    /// A NOTIFICATION the session sent or received (`show neighbor NAME`).
    /// Telemetry: sent with `try_send`, never waited for.
    Notification {
        neighbor: NeighborName,
        record: detail::NotificationRecord,
    },
    /// Why the session is about to go down (the [`Input::SessionDown`]
    /// that follows): the NOTIFICATION BMP's Peer Down carries.
    DownCause {
        neighbor: NeighborName,
        cause: DownCause,
    },
}

/// From the route engine to one session task.
#[derive(Debug)]
pub enum ToPeer {
    /// Send these UPDATEs (End-of-RIB included as an empty UPDATE / MP_UNREACH).
    Send(Vec<Update>),
    /// Send these already encoded UPDATEs: what the engine's exporter
    /// produces, straight from the attribute sets with no per-prefix copy.
    Wire(Encoded),
    /// Ask the peer for its routes again (RFC 2918).
    RequestRefresh { afi: Afi, safi: Safi },
    /// Run import policy on the UPDATEs delivered from now on with this
    /// (the engine's policy and neighbor config, as of a generation).
    ImportEval(Arc<ImportEval>),
    /// Tear the session down with this NOTIFICATION and do not reconnect, in
    /// either direction, for `hold_down` (max-prefix: RFC 4486).
    Teardown {
        notification: Notification,
        hold_down: Option<Duration>,
    },
}

/// API questions.
#[derive(Debug, Clone)]
pub enum Query {
    Neighbors,
    Routes {
        /// Only this prefix (exact), or with `longest` the most specific
        /// prefix that covers it and has paths.
        prefix: Option<ipnet::IpNet>,
        /// Include rejected and stale routes.
        all: bool,
        /// Longest match for `prefix` instead of the exact prefix.
        longest: bool,
    },
    Decisions,
    Events {
        since: u64,
    },
    /// The compliance audit, of one partner ASN or of all.
    Audit {
        peer_asn: Option<u32>,
    },
    /// One page of routes (`GET /api/v1/routes`; `paging` has the order).
    RoutesPage(paging::RoutesQuery),
    /// One neighbor in detail (`GET /api/v1/neighbors/{name}`).
    Neighbor {
        name: String,
    },
    /// One page of what we advertise to a neighbor
    /// (`GET /api/v1/neighbors/{name}/adj-rib-out`).
    AdjRibOut {
        name: String,
        after: Option<paging::RouteKey>,
        limit: usize,
    },
    /// The configuration in effect, secrets redacted (`GET /api/v1/config`).
    Config,
}

/// API answers.
#[derive(Debug, Clone)]
pub enum QueryReply {
    Neighbors(Vec<NeighborView>),
    Routes(Vec<RouteView>),
    Decisions(Vec<DecisionView>),
    Events(Vec<EventView>),
    Audit(AuditReport),
    RoutesPage(paging::RoutePage),
    Neighbor(Box<detail::NeighborDetail>),
    AdjRibOut {
        routes: Vec<detail::AdjRibOutRoute>,
        next: Option<paging::RouteKey>,
    },
    Config(serde_json::Value),
    /// The query named a neighbor that is not configured.
    UnknownNeighbor(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_crosses_to_the_engine_by_pointer() {
        // Every message to the engine is moved through its channel and
        // batch at the size of the largest variant: an UPDATE's ~360 bytes
        // stay in their box.
        let input = std::mem::size_of::<Input>();
        assert!(
            input <= 200,
            "Input is {input} bytes (432 with the UPDATE inline)"
        );
    }
}
