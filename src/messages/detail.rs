//! JSON shapes of the per-neighbor read views (stable contract, like
//! [`super::views`]): `GET /api/v1/neighbors/{name}` ([`NeighborDetail`])
//! and `GET /api/v1/neighbors/{name}/adj-rib-out` ([`AdjRibOutRoute`]),
//! plus what a session task reports about itself that the engine does not
//! see otherwise ([`SessionDetail`], [`NotificationRecord`]).

use super::views::{AsPathElem, NeighborView};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What an Established session negotiated beyond [`super::SessionInfo`],
/// reported by the session task right after its `SessionUp`
/// (`Input::SessionDetail`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionDetail {
    /// Our BGP role (RFC 9234), when we sent one.
    pub local_role: Option<String>,
    /// The peer's BGP role, when it sent one.
    pub remote_role: Option<String>,
    /// The keepalive interval in force, in milliseconds (0: none).
    pub keepalive_ms: u64,
    /// The RFC 9687 send hold time in force, in seconds.
    pub send_hold_time_s: u64,
}

/// A NOTIFICATION a session sent or received, reported by the session task
/// (`Input::Notification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// True when we sent it, false when the peer did.
    pub sent: bool,
    pub notification: crate::wire::Notification,
}

/// `GET /api/v1/neighbors/{name}`: everything `show neighbor NAME` prints.
/// Its first fields are exactly a [`NeighborView`] (flattened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeighborDetail {
    #[serde(flatten)]
    pub summary: NeighborView,
    /// Our ASN toward this neighbor.
    pub local_as: u32,
    /// ebgp | ibgp
    pub session_type: String,
    /// The addresses of the Established session's TCP connection.
    pub local_address: Option<String>,
    pub remote_address: Option<String>,
    /// The peer's BGP identifier, while Established.
    pub remote_id: Option<String>,
    /// What the session negotiated; `null` while not Established.
    pub capabilities: Option<CapabilitiesView>,
    pub timers: TimersView,
    pub bfd: BfdDetailView,
    /// Route counters per address family (`ipv4-unicast`, `ipv6-unicast`).
    pub families: Vec<FamilyCounters>,
    /// Messages per type since the daemon started (every session of this
    /// neighbor), from the session task's counters.
    pub messages: MessageCounts,
    /// The last NOTIFICATION we sent to this neighbor, if any since start.
    pub last_notification_sent: Option<NotificationView>,
    /// The last NOTIFICATION this neighbor sent us.
    pub last_notification_received: Option<NotificationView>,
}

/// What both sides of the Established session agreed on (RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilitiesView {
    /// 4-octet AS numbers (RFC 6793).
    pub four_octet_as: bool,
    /// Multiprotocol families in use (RFC 4760), e.g. `ipv4-unicast`.
    pub families: Vec<String>,
    /// Route Refresh (RFC 2918).
    pub route_refresh: bool,
    /// Enhanced Route Refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Extended messages up to 65,535 octets (RFC 8654).
    pub extended_message: bool,
    /// The peer's graceful-restart capability (RFC 4724), when both do GR.
    pub graceful_restart: Option<GracefulRestartView>,
    /// Families where ADD-PATH receive is in force (RFC 7911).
    pub add_path_receive: Vec<String>,
    /// Our BGP role and the peer's (RFC 9234); `null` when not announced.
    pub local_role: Option<String>,
    pub remote_role: Option<String>,
}

/// The peer's graceful-restart capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GracefulRestartView {
    pub restart_time_s: u16,
    /// The peer restarted (R bit).
    pub restarting: bool,
    /// Families with forwarding state preserved, e.g. `ipv4-unicast`.
    pub families: Vec<String>,
}

/// Timers: configured, and in force on the Established session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimersView {
    /// `hold_time_s` of the neighbor's config.
    pub hold_time_configured_s: u32,
    /// min(ours, theirs) on the Established session (0: no hold timer).
    pub hold_time_negotiated_s: Option<u32>,
    /// The keepalive interval in force, in milliseconds.
    pub keepalive_ms: Option<u64>,
    /// The RFC 9687 send hold time: configured, or in force when Established.
    pub send_hold_time_s: Option<u64>,
}

/// BFD (RFC 5880) toward the neighbor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BfdDetailView {
    /// AdminDown | Down | Init | Up | disabled
    pub state: String,
    /// The last local diagnostic (RFC 5880 §4.1), code and name.
    pub diagnostic_code: Option<u8>,
    pub diagnostic: Option<String>,
    /// Configured intervals (`bfd = { … }`), `null` when BFD is off.
    pub min_tx_ms: Option<u32>,
    pub min_rx_ms: Option<u32>,
    pub multiplier: Option<u8>,
    /// Mean interval between received control packets and its deviation
    /// while Up.
    pub rx_interval_ms: Option<f64>,
    pub rx_jitter_ms: Option<f64>,
    /// The detection time last agreed with the remote system
    /// (`coldpotato_bfd_detection_time_seconds`); `null` until agreed.
    pub detection_time_ms: Option<f64>,
    /// The remote discriminator: `null` (the BFD service does not report
    /// it to the engine yet).
    pub remote_discriminator: Option<u32>,
}

/// Route counters of one address family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyCounters {
    /// `ipv4-unicast` | `ipv6-unicast`
    pub family: String,
    /// Paths in the Adj-RIB-In (pre-policy).
    pub received: u64,
    /// Accepted by import (stale included).
    pub accepted: u64,
    /// Rejected by a rule or policy.
    pub rejected: u64,
    /// Prefixes in our Adj-RIB-Out toward the neighbor.
    pub advertised: u64,
    /// Withdrawals received from the neighbor since the daemon started.
    pub withdrawn: u64,
}

/// Message counts by type (`open`, `update`, `notification`, `keepalive`,
/// `route_refresh`) in each direction.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageCounts {
    pub received: BTreeMap<String, u64>,
    pub sent: BTreeMap<String, u64>,
    pub received_total: u64,
    pub sent_total: u64,
}

/// One NOTIFICATION (RFC 4271 §4.5) as `show neighbor` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub code: u8,
    pub subcode: u8,
    /// E.g. `Cease`.
    pub code_name: String,
    /// E.g. `Administrative Shutdown`; `null` when unnamed.
    pub subcode_name: Option<String>,
    /// The RFC 9003 shutdown communication, when there is one.
    pub shutdown_communication: Option<String>,
    /// The whole NOTIFICATION in words, as the log prints it.
    pub text: String,
    /// Unix time in milliseconds.
    pub time_ms: u64,
    /// Seconds since then.
    pub age_s: u64,
}

/// `GET /api/v1/neighbors/{name}/adj-rib-out` item: one prefix as we
/// advertise it to the neighbor, attributes as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdjRibOutRoute {
    pub prefix: String,
    pub next_hop: Option<String>,
    pub as_path: Vec<AsPathElem>,
    pub origin: String,
    pub local_pref: Option<u32>,
    pub med: Option<u32>,
    pub communities: Vec<String>,
    pub large_communities: Vec<String>,
}
