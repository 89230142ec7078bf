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
    /// Why the session last went down; `None` once it is Established again.
    pub last_error: Option<String>,
    /// Seconds in the current state.
    #[serde(default)]
    pub state_since_s: u64,
    /// Seconds since `last_error` happened.
    #[serde(default)]
    pub last_error_age_s: Option<u64>,
    /// Set when RFC 8212 leaves this eBGP neighbor with nothing to import
    /// or export (no built-in rules, no policy for that direction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfc8212: Option<String>,
    /// Smoothed TCP round-trip time of the Established session, in
    /// milliseconds (kernel `TCP_INFO`, sampled every 5 s); `null` until
    /// measured and while the session is down.
    #[serde(default)]
    pub rtt_ms: Option<f64>,
    /// Mean deviation of that RTT, in milliseconds; with `rtt_ms`.
    #[serde(default)]
    pub rtt_var_ms: Option<f64>,
    /// Mean interval between the BFD control packets received, in
    /// milliseconds; `null` while BFD is not Up (or not configured).
    #[serde(default)]
    pub bfd_rx_interval_ms: Option<f64>,
    /// Mean deviation of that interval (jitter), in milliseconds; with
    /// `bfd_rx_interval_ms`.
    #[serde(default)]
    pub bfd_rx_jitter_ms: Option<f64>,
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

/// Outcome of one compliance check (`GET /api/v1/audit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditStatus {
    /// The requirement is met.
    Pass,
    /// Met only partly, or cannot be verified from config and live state.
    Warn,
    /// The requirement is not met.
    Fail,
}

impl AuditStatus {
    /// `PASS`, `WARN` or `FAIL`, as the human report prints it.
    pub fn label(self) -> &'static str {
        match self {
            AuditStatus::Pass => "PASS",
            AuditStatus::Warn => "WARN",
            AuditStatus::Fail => "FAIL",
        }
    }
}

/// One checked requirement, with the exact message a partner reads
/// (e.g. "fewer than two sessions in primary location").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheck {
    /// The partner requirement: `public-asn`, `sessions`, `local-redundancy`,
    /// `active-active`, `bfd`, `geo-redundancy`, `registration`,
    /// `activation`, `primary-location`, `backup-location`,
    /// `prefix-received`, `community-tagging`, `as-path`,
    /// `publicly-routable`, `import`, `routing`.
    pub requirement: String,
    pub status: AuditStatus,
    pub message: String,
    /// The location the check is about, when it is about one.
    pub location: Option<String>,
    /// The registered prefix the check is about, when it is about one.
    pub prefix: Option<String>,
    /// The session (neighbor name) the check is about, when it is about one.
    pub neighbor: Option<String>,
}

/// The audit of one partner (a peer ASN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerAudit {
    pub peer_asn: u32,
    /// No check failed.
    pub compliant: bool,
    pub pass: u32,
    pub warn: u32,
    pub fail: u32,
    /// Locations where the partner has peering-service sessions.
    pub locations: Vec<String>,
    /// The partner's peering-service sessions (neighbor names).
    pub sessions: Vec<String>,
    /// Prefixes registered to the partner.
    pub prefixes: Vec<String>,
    pub checks: Vec<AuditCheck>,
}

/// Totals over every audited partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuditSummary {
    pub partners: u32,
    pub compliant: u32,
    pub pass: u32,
    pub warn: u32,
    pub fail: u32,
}

impl AuditSummary {
    /// The totals of `partners`.
    pub fn of(partners: &[PartnerAudit]) -> Self {
        let mut s = AuditSummary {
            partners: partners.len() as u32,
            ..AuditSummary::default()
        };
        for p in partners {
            s.compliant += u32::from(p.compliant);
            s.pass += p.pass;
            s.warn += p.warn;
            s.fail += p.fail;
        }
        s
    }
}

/// `GET /api/v1/audit[?peer_asn=N]`: the partner requirements checked
/// against the configuration and live state (README, "Compliance audit").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Unix time in milliseconds when the report was computed.
    pub generated_at_ms: u64,
    /// Our ASN (`[router] asn`).
    pub local_asn: u32,
    pub summary: AuditSummary,
    /// One entry per partner, by ascending ASN.
    pub partners: Vec<PartnerAudit>,
    /// Requirements a daemon cannot see and the audit therefore does not
    /// check (an operator verifies them another way).
    #[serde(default)]
    pub not_checked: Vec<String>,
}
