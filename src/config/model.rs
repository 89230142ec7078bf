//! The configuration data model: its field names (README, "Write a config")
//! are a contract. Every table rejects unknown keys.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

pub use super::analytics_model::*;
pub use super::policy_model::*;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub router: RouterConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub locations: Vec<LocationConfig>,
    #[serde(default)]
    pub neighbors: Vec<NeighborConfig>,
    #[serde(default)]
    pub registered_prefixes: Vec<RegisteredPrefix>,
    #[serde(default)]
    pub originate: Vec<OriginateConfig>,
    #[serde(default)]
    pub rules: RulesConfig,
    /// `[rpki]`: origin validation over RTR; absent = no validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpki: Option<RpkiConfig>,
    /// `[events]`: the event log's file (none: memory only).
    #[serde(default)]
    pub events: EventsConfig,
    /// `[analytics]`: the route-leak detector's lists.
    #[serde(default)]
    pub analytics: AnalyticsConfig,
    /// `[[bmp]]`: BMP collectors (RFC 7854) we export to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bmp: Vec<BmpConfig>,
    /// Where the named policies come from: inline `[policy.NAME]` tables or
    /// `policy = "FILE"` (a path relative to the config file).
    #[serde(
        default,
        rename = "policy",
        skip_serializing_if = "PolicySource::is_none"
    )]
    pub policy: PolicySource,
    /// The effective named policies (inline or read from the policy file),
    /// filled in by [`crate::config::parse`]; not a key of the file.
    #[serde(skip)]
    pub policies: std::collections::BTreeMap<String, PolicyDef>,
    /// The policy file as resolved (relative to the config file), when
    /// `policy = "FILE"`; not a key of the file.
    #[serde(skip)]
    pub policy_file: Option<std::path::PathBuf>,
    /// What the loader warns about (valid, but probably not meant, e.g. an
    /// eBGP neighbor that RFC 8212 leaves with nothing to import or
    /// export); `check` prints them, the daemon logs them. Not a key.
    #[serde(skip)]
    pub warnings: Vec<crate::config::ConfigError>,
}

/// A `[[locations]]` entry by its position in the file: what the engine
/// compares and keys on (names are for people: [`Config::location_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationId(pub u16);

impl Config {
    /// The id of the location named `name`.
    pub fn location_id(&self, name: &str) -> Option<LocationId> {
        let i = self.locations.iter().position(|l| l.name == name)?;
        u16::try_from(i).ok().map(LocationId)
    }

    /// The name of location `id` (empty when it has none).
    pub fn location_name(&self, id: LocationId) -> &str {
        self.locations
            .get(usize::from(id.0))
            .map_or("", |l| l.name.as_str())
    }

    /// The named policies: those the loader resolved, or the inline
    /// `[policy.NAME]` tables of a `Config` deserialized directly with
    /// `toml::from_str` (as tests do).
    pub fn policy_defs(&self) -> &std::collections::BTreeMap<String, PolicyDef> {
        match &self.policy {
            PolicySource::Inline(m) if self.policies.is_empty() => m,
            _ => &self.policies,
        }
    }

    /// The neighbor named `name`.
    pub fn neighbor(&self, name: &str) -> Option<&NeighborConfig> {
        self.neighbors.iter().find(|n| n.name == name)
    }
}

/// `[router]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    pub asn: u32,
    pub router_id: std::net::Ipv4Addr,
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    pub location: String,
    /// Hold time offered to peers unless a neighbor overrides it.
    #[serde(default = "default_hold_time")]
    pub hold_time_s: u16,
    /// Among usable sessions of one location, prefer the lower TCP RTT
    /// before the router-ID and peer-address tie-breaks (off by default).
    #[serde(default)]
    pub rtt_tiebreak: bool,
}

/// BGP's TCP port (RFC 4271 §8.2.1).
pub const BGP_PORT: u16 = 179;
/// Default port of the HTTP API (`[api] listen`).
pub const DEFAULT_API_PORT: u16 = 9179;

fn default_listen() -> Vec<SocketAddr> {
    vec![
        SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), BGP_PORT),
        SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), BGP_PORT),
    ]
}

fn default_hold_time() -> u16 {
    90
}

/// `[api]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    #[serde(default = "default_api_listen")]
    pub listen: SocketAddr,
    /// Who may change the running daemon over the API: a file of `NAME
    /// TOKEN` lines (`api::auth`). Absent: the API is read-only. A relative
    /// path is relative to the config file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_file: Option<std::path::PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: default_api_listen(),
            tokens_file: None,
        }
    }
}

fn default_api_listen() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), DEFAULT_API_PORT)
}

/// `[[locations]]`: an edge site (POP).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
}

/// A neighbor's role, which selects its built-in rules and export behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    PeeringService,
    Transit,
    Internal,
}

impl Role {
    /// The name written in the file and shown by the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PeeringService => "peering-service",
            Role::Transit => "transit",
            Role::Internal => "internal",
        }
    }
}

/// Address families a neighbor offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// `bfd = { ... }` on a neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BfdConfig {
    #[serde(default = "default_bfd_ms")]
    pub min_tx_ms: u32,
    #[serde(default = "default_bfd_ms")]
    pub min_rx_ms: u32,
    #[serde(default = "default_bfd_mult")]
    pub multiplier: u8,
}

fn default_bfd_ms() -> u32 {
    300
}
fn default_bfd_mult() -> u8 {
    3
}

/// What to do when a neighbor reaches its prefix limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxPrefixAction {
    /// Cease / Maximum Number of Prefixes Reached (RFC 4486), stay down `restart_after_s`.
    Teardown,
    /// Log and count only.
    Warn,
    /// Keep the session, ignore prefixes beyond the limit.
    Refuse,
}

/// `max_prefixes = { ... }` on a neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPrefixConfig {
    pub limit: u32,
    #[serde(default = "default_warn_percent")]
    pub warn_percent: u8,
    #[serde(default = "default_max_prefix_action")]
    pub action: MaxPrefixAction,
    #[serde(default = "default_restart_after")]
    pub restart_after_s: u32,
}

fn default_warn_percent() -> u8 {
    80
}
fn default_max_prefix_action() -> MaxPrefixAction {
    MaxPrefixAction::Teardown
}
fn default_restart_after() -> u32 {
    300
}

/// `[[neighbors]]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NeighborConfig {
    pub name: String,
    pub address: IpAddr,
    pub remote_as: u32,
    pub location: String,
    #[serde(default)]
    pub router: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub bfd: Option<BfdConfig>,
    #[serde(default)]
    pub max_prefixes: Option<MaxPrefixConfig>,
    /// Peering-service: the neighbor's customer cone (the ASNs it may
    /// carry routes from); another ASN behind its own is a route leak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_asns: Option<Vec<u32>>,
    /// Peering-service: more of the customer cone from an AS-SET file
    /// (relative to the config file; see `parse_as_set`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_as_set_file: Option<String>,
    /// `customer_asns` and the AS-SET file's ASNs, sorted; `None` when
    /// neither is set. Filled in by `config::parse`; not a key of the file.
    #[serde(skip)]
    pub customer_cone: Option<Vec<u32>>,
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// TCP port of the peer (default 179); labs and tests use others.
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_families")]
    pub families: Vec<Family>,
    #[serde(default)]
    pub passive: bool,
    #[serde(default)]
    pub hold_time_s: Option<u16>,
    /// RFC 9687 send hold time: a peer that takes none of our bytes for
    /// this long is torn down (NOTIFICATION 8). Default: twice the
    /// negotiated hold time, at least 480 s.
    #[serde(default)]
    pub send_hold_time_s: Option<u32>,
    #[serde(default)]
    pub import_policy: Option<String>,
    #[serde(default)]
    pub export_policy: Option<String>,
    /// TCP MD5 signature key (RFC 2385).
    #[serde(default)]
    pub password: Option<String>,
    /// GTSM (RFC 5082): require TTL 255 on single-hop sessions.
    #[serde(default)]
    pub ttl_security: bool,
    /// Accept and send graceful-restart (RFC 4724); on by default.
    #[serde(default = "default_true")]
    pub graceful_restart: bool,
    /// Administratively shut down: configured but never connects.
    #[serde(default)]
    pub shutdown: bool,
    /// The role's built-in rules (peering-service checks, transit
    /// hygiene). `false` switches them off; an eBGP neighbor with neither
    /// these rules nor an import (export) policy then imports (exports)
    /// nothing (RFC 8212).
    #[serde(default = "default_true")]
    pub builtin_rules: bool,
    /// Our BGP role on this session (RFC 9234), sent in the Role capability
    /// and used for the ONLY_TO_CUSTOMER route-leak procedures. Default from
    /// `role`: peering-service → `peer`, transit → `customer`, internal →
    /// none (roles are for eBGP).
    #[serde(default)]
    pub bgp_role: Option<LocalRole>,
    /// RFC 9234 §4.2 strict mode: refuse a peer that announces no role.
    #[serde(default)]
    pub strict_role: bool,
}

/// `bgp_role` (RFC 9234 §3.1): what we are to this neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocalRole {
    Provider,
    Customer,
    Peer,
    /// Route server.
    Rs,
    /// Route-server client.
    RsClient,
    /// No role: no Role capability, no ONLY_TO_CUSTOMER procedures.
    None,
}

impl NeighborConfig {
    /// Our effective RFC 9234 role toward this neighbor (`None`: no role).
    pub fn local_role(&self) -> Option<LocalRole> {
        match self.bgp_role {
            Some(LocalRole::None) => None,
            Some(r) => Some(r),
            None => match self.role {
                Role::PeeringService => Some(LocalRole::Peer),
                Role::Transit => Some(LocalRole::Customer),
                Role::Internal => None,
            },
        }
    }
}

impl NeighborConfig {
    /// The declared customer cone, sorted (`None`: not declared): what the
    /// loader resolved (`customer_asns` and the AS-SET file), else the
    /// `customer_asns` of a config deserialized directly (as tests do).
    pub fn customers(&self) -> Option<std::borrow::Cow<'_, [u32]>> {
        if let Some(c) = &self.customer_cone {
            return Some(c.as_slice().into());
        }
        let mut c = self.customer_asns.clone()?;
        c.sort_unstable();
        c.dedup();
        Some(c.into())
    }

    /// RFC 8212: the directions (`"import"`, `"export"`) in which this
    /// neighbor passes nothing: an eBGP neighbor with `builtin_rules =
    /// false` and no policy for that direction. Empty for every other.
    pub fn rfc8212_closed(&self) -> Vec<&'static str> {
        ["import", "export"]
            .into_iter()
            .filter(|d| self.rfc8212_closes(d))
            .collect()
    }

    /// True when RFC 8212 closes direction `dir` (`"import"`, `"export"`)
    /// of this neighbor (see [`Self::rfc8212_closed`]); asked per route.
    pub fn rfc8212_closes(&self, dir: &str) -> bool {
        if self.role == Role::Internal || self.builtin_rules {
            return false;
        }
        match dir {
            "import" => self.import_policy.is_none(),
            "export" => self.export_policy.is_none(),
            _ => false,
        }
    }
}

fn default_port() -> u16 {
    BGP_PORT
}
fn default_families() -> Vec<Family> {
    vec![Family::Ipv4, Family::Ipv6]
}
fn default_true() -> bool {
    true
}

/// `[[registered_prefixes]]`: a prefix registered to a peer ASN and activated
/// at a primary (and optional backup) location.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredPrefix {
    pub prefix: ipnet::IpNet,
    pub peer_asn: u32,
    /// Primary location; a registered prefix without one is not activated.
    #[serde(default)]
    pub primary: Option<String>,
    /// Backup location; `None` (no key, or `"none"`) fails over to the
    /// internet.
    #[serde(
        default,
        deserialize_with = "super::values::backup",
        skip_serializing_if = "Option::is_none"
    )]
    pub backup: Option<String>,
}

/// `[[originate]]`: one of our own prefixes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OriginateConfig {
    pub prefix: ipnet::IpNet,
    #[serde(default)]
    pub communities: Vec<String>,
    #[serde(default)]
    pub large_communities: Vec<String>,
    /// Next hop for IPv6 prefixes toward peers that have no IPv6 session address.
    #[serde(default)]
    pub next_hop: Option<IpAddr>,
}

/// `[rules]`: the built-in peering-service checks. Defaults are the rules.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// The community every peering-service route must carry (`"a:b"`);
    /// `"none"` switches the check off.
    #[serde(default = "default_required_community")]
    pub require_community: Option<String>,
    #[serde(default = "default_true")]
    pub reject_private_asn: bool,
    #[serde(default = "default_true")]
    pub reject_reserved_asn: bool,
    #[serde(default = "default_max_as_path_len")]
    pub max_as_path_len_longer_than_24: u32,
    #[serde(default = "default_true")]
    pub reject_bogons: bool,
    /// Exceptions to the bogon check: a route inside one of these prefixes is
    /// never a bogon (labs and tests use the RFC 5737 / RFC 3849 documentation space).
    #[serde(default)]
    pub allow_prefixes: Vec<ipnet::IpNet>,
    /// Longest AS path accepted from a `transit` neighbor.
    #[serde(default = "default_transit_max_as_path_len")]
    pub max_as_path_len: u32,
    /// Accept AS_SET / AS_CONFED_SET paths on eBGP sessions (RFC 9774
    /// treats them as withdrawn: off by default).
    #[serde(default)]
    pub allow_as_sets: bool,
}

fn default_transit_max_as_path_len() -> u32 {
    100
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            require_community: default_required_community(),
            reject_private_asn: true,
            reject_reserved_asn: true,
            max_as_path_len_longer_than_24: default_max_as_path_len(),
            reject_bogons: true,
            allow_prefixes: Vec::new(),
            max_as_path_len: default_transit_max_as_path_len(),
            allow_as_sets: false,
        }
    }
}

fn default_required_community() -> Option<String> {
    Some("8075:8007".to_string())
}
fn default_max_as_path_len() -> u32 {
    3
}

/// `[rpki]`: RPKI route origin validation (RFC 6811) with VRPs from RTR
/// caches (RFC 8210). The intervals are the RFC 8210 §6 defaults until a
/// cache's version-1 End of Data brings its own.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RpkiConfig {
    /// RTR caches as `host:port` (TCP).
    #[serde(default)]
    pub servers: Vec<String>,
    /// Reject `invalid` routes from peering-service and transit neighbors
    /// (built-in rule `rpki-invalid`).
    #[serde(default)]
    pub reject_invalid: bool,
    /// Refresh Interval, seconds (RFC 8210 §6: 1..=86400).
    #[serde(default = "default_rpki_refresh")]
    pub refresh_s: u32,
    /// Retry Interval, seconds (RFC 8210 §6: 1..=7200).
    #[serde(default = "default_rpki_retry")]
    pub retry_s: u32,
    /// Expire Interval, seconds (RFC 8210 §6: 600..=172800, above both others).
    #[serde(default = "default_rpki_expire")]
    pub expire_s: u32,
}

fn default_rpki_refresh() -> u32 {
    3600
}

fn default_rpki_retry() -> u32 {
    600
}

fn default_rpki_expire() -> u32 {
    7200
}

/// `[[bmp]]`: one BMP collector (RFC 7854) and the views sent to it:
/// Adj-RIB-In pre- and post-policy, the Loc-RIB (RFC 9069) and the
/// Adj-RIB-Out (RFC 8671).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BmpConfig {
    /// Unique; the metric label.
    pub name: String,
    /// The collector, `HOST:PORT` (we connect to it, RFC 7854 §3.2).
    pub address: String,
    /// Adj-RIB-In as received, including the routes import policy rejects.
    #[serde(default = "default_true")]
    pub pre_policy: bool,
    /// Adj-RIB-In after import policy (L flag).
    #[serde(default = "default_true")]
    pub post_policy: bool,
    /// Our best paths (RFC 9069, peer type 3).
    #[serde(default = "default_true")]
    pub loc_rib: bool,
    /// What we send each neighbor (RFC 8671, O flag).
    #[serde(default)]
    pub adj_rib_out: bool,
    /// Seconds between Statistics Reports (RFC 7854 §4.8), 0: none.
    #[serde(default = "default_bmp_stats_interval")]
    pub stats_interval_s: u32,
    /// Append our rejection TLV (rule and reason) to each pre-policy
    /// Route Monitoring message of a rejected route: not in RFC 7854, so
    /// off by default (the per-rule statistics carry the rules).
    #[serde(default)]
    pub rejection_tlv: bool,
}

fn default_bmp_stats_interval() -> u32 {
    60
}
