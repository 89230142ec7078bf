//! JSON shapes of the API (stable contract; tests outside the crate rely on them).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /api/v1/neighbors` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeighborView {
    pub name: String,
    pub address: String,
    pub remote_as: u32,
    pub location: String,
    pub role: String,
    /// RFC 4271 state name: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
    pub state: String,
    /// AdminDown | Down | Init | Up | disabled
    pub bfd_state: String,
    pub uptime_s: u64,
    pub prefixes_received: u64,
    pub prefixes_accepted: u64,
    /// Rejected prefixes by rule name.
    pub prefixes_rejected: BTreeMap<String, u64>,
    pub last_error: Option<String>,
}

/// An AS_PATH element: an ASN of a sequence, or an AS_SET as a nested list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AsPathElem {
    Asn(u32),
    Set(Vec<u32>),
}

/// `GET /api/v1/routes` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteView {
    pub prefix: String,
    pub neighbor: String,
    pub peer: String,
    pub as_path: Vec<AsPathElem>,
    pub origin: String,
    pub communities: Vec<String>,
    pub large_communities: Vec<String>,
    pub next_hop: Option<String>,
    pub local_pref: Option<u32>,
    pub med: Option<u32>,
    /// accepted | rejected | stale
    pub status: String,
    /// The rule that rejected it, when rejected.
    pub rule: Option<String>,
    /// Why, when rejected.
    pub reason: Option<String>,
    pub best: bool,
    /// Accepted by import policy as a plain internet route
    /// (`action = "internet"`): not used for peering-service decisions.
    #[serde(default)]
    pub internet: bool,
    /// RPKI origin validation state (`valid|invalid|not-found`); absent
    /// when `[rpki]` is not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpki: Option<String>,
}

/// `GET /api/v1/decisions` item: where traffic to an activated prefix leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
    pub prefix: String,
    pub peer_asn: u32,
    /// primary | backup | internet | unreachable
    pub state: String,
    /// The location used (None for internet/unreachable).
    pub location: Option<String>,
    pub primary: String,
    pub backup: Option<String>,
    /// Neighbor names carrying the traffic, best first.
    pub neighbors: Vec<String>,
    pub local_pref: u32,
    pub community: Option<String>,
    /// Why this outcome (e.g. "2 sessions up at primary ams").
    pub reason: String,
    pub changed_at: u64,
}

/// `GET /api/v1/events` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub seq: u64,
    /// Unix time in milliseconds.
    pub time_ms: u64,
    pub kind: String,
    pub neighbor: Option<String>,
    pub prefix: Option<String>,
    pub message: String,
    /// Evidence: structured details (AS path, expected origin, counts …).
    pub evidence: serde_json::Value,
}
