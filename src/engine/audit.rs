//! The partner compliance audit (README, "Compliance audit"): the
//! peering-service partner requirements checked against the configuration
//! and the route engine's live state (sessions, BFD, Adj-RIB-In with its
//! rejection reasons, decisions), as a report an operator can hand to a
//! partner.
//!
//! A pure function over [`EngineCore`], run inside the route engine task
//! when the API asks `Query::Audit` (the reply goes back on the query's
//! `oneshot`); no channels or I/O of its own.
//!
//! The requirements come from the partner walkthrough (`seeds/004`,
//! "Technical requirements"): a public ASN; redundant interconnect at each
//! location (two sessions, on two routers); geo redundancy (two
//! locations); active-active BGP sessions; BGP with BFD, configured and up;
//! publicly routable address space; prefixes registered, activated and
//! advertised with community 8075:8007; no private ASN in the AS path and an
//! AS path shorter than four for prefixes longer than /24. Failure messages
//! use the cloud's own prefix-validation wording ("fewer than two sessions
//! in primary location", "no sessions in backup location", "missing
//! community 8075:8007", "prefix not received on session X", …).
//!
//! This file holds the partner- and location-level checks; `prefixes`
//! the registered-prefix ones.

mod prefixes;

use super::core::EngineCore;
use super::neighbor::Neighbor;
use crate::config::{RegisteredPrefix, Role};
use crate::messages::views::{AuditCheck, AuditReport, AuditStatus, AuditSummary, PartnerAudit};
use crate::messages::{BfdStatus, SessionState};
use crate::metrics::METRICS;
use crate::rib::{NeighborIdx, PathEntry};
use crate::wire::iana::{is_private_asn, is_reserved_asn};
use crate::wire::Prefix;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

/// Sessions a location needs for local redundancy ("redundant Interconnect
/// (PNI) at each interconnect location"; "interconnection must support fail
/// over across two routers").
const MIN_SESSIONS_PER_LOCATION: usize = 2;
/// Locations a partner needs for geo redundancy.
const MIN_LOCATIONS: usize = 2;
/// Unregistered prefixes named in the registration warning before "…".
const UNREGISTERED_EXAMPLES: usize = 5;

/// The partner requirement a check belongs to (its API name in `requirement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// "The Peer MUST provide own Autonomous System Number (ASN), which MUST be public."
    PublicAsn,
    /// The partner has peering-service sessions at all.
    Sessions,
    /// "redundant Interconnect (PNI) at each interconnect location".
    LocalRedundancy,
    /// "BGP sessions as Active-Active … should not be provisioned as Primary and backup".
    ActiveActive,
    /// "BFD must be configured and up … to start route exchange".
    Bfd,
    /// "geo redundancy in place to ensure failover if there are site failures".
    GeoRedundancy,
    /// "All prefixes are registered".
    Registration,
    /// Activated: primary (and backup) interconnect location set.
    Activation,
    /// Sessions at the prefix's primary location.
    PrimaryLocation,
    /// Sessions at the prefix's backup location.
    BackupLocation,
    /// The prefix is received on every session at its primary location.
    PrefixReceived,
    /// "advertised with community string 8075:8007".
    CommunityTagging,
    /// "a private ASN cannot be in the AS path"; AS path < 4 for prefixes longer than /24.
    AsPath,
    /// "their own publicly routable IPv4 address space".
    PubliclyRoutable,
    /// Another import rule rejected the route (origin mismatch, max-prefix, policy, …).
    Import,
    /// Where traffic toward the prefix leaves now (the decision).
    Routing,
}

impl Requirement {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::PublicAsn => "public-asn",
            Requirement::Sessions => "sessions",
            Requirement::LocalRedundancy => "local-redundancy",
            Requirement::ActiveActive => "active-active",
            Requirement::Bfd => "bfd",
            Requirement::GeoRedundancy => "geo-redundancy",
            Requirement::Registration => "registration",
            Requirement::Activation => "activation",
            Requirement::PrimaryLocation => "primary-location",
            Requirement::BackupLocation => "backup-location",
            Requirement::PrefixReceived => "prefix-received",
            Requirement::CommunityTagging => "community-tagging",
            Requirement::AsPath => "as-path",
            Requirement::PubliclyRoutable => "publicly-routable",
            Requirement::Import => "import",
            Requirement::Routing => "routing",
        }
    }
}

/// Where a check applies: location, registered prefix, session.
#[derive(Debug, Clone, Copy, Default)]
struct Scope<'a> {
    location: Option<&'a str>,
    prefix: Option<&'a Prefix>,
    neighbor: Option<&'a str>,
}

impl<'a> Scope<'a> {
    fn at(location: &'a str) -> Self {
        Scope {
            location: Some(location),
            ..Scope::default()
        }
    }

    fn prefix(prefix: &'a Prefix) -> Self {
        Scope {
            prefix: Some(prefix),
            ..Scope::default()
        }
    }

    fn session(self, n: &'a Neighbor) -> Self {
        Scope {
            location: Some(n.cfg.location.as_str()),
            neighbor: Some(n.cfg.name.as_str()),
            ..self
        }
    }
}

/// The checks of one partner, collected in order.
#[derive(Debug, Default)]
struct Checks(Vec<AuditCheck>);

impl Checks {
    fn add(&mut self, req: Requirement, status: AuditStatus, scope: Scope, message: String) {
        self.0.push(AuditCheck {
            requirement: req.as_str().to_string(),
            status,
            message,
            location: scope.location.map(str::to_string),
            prefix: scope.prefix.map(|p| p.to_string()),
            neighbor: scope.neighbor.map(str::to_string),
        });
    }

    fn pass(&mut self, req: Requirement, scope: Scope, message: String) {
        self.add(req, AuditStatus::Pass, scope, message);
    }

    fn warn(&mut self, req: Requirement, scope: Scope, message: String) {
        self.add(req, AuditStatus::Warn, scope, message);
    }

    fn fail(&mut self, req: Requirement, scope: Scope, message: String) {
        self.add(req, AuditStatus::Fail, scope, message);
    }
}

/// Audits every partner (or only `peer_asn`): the ASNs of peering-service
/// neighbors and of registered prefixes.
pub fn audit(core: &EngineCore, peer_asn: Option<u32>, now: Instant) -> AuditReport {
    let mut asns: BTreeSet<u32> = core
        .neighbors
        .iter()
        .flatten()
        .filter(|n| n.cfg.role == Role::PeeringService)
        .map(|n| n.cfg.remote_as)
        .collect();
    asns.extend(core.cfg.registered_prefixes.iter().map(|r| r.peer_asn));
    let asns: Vec<u32> = asns
        .into_iter()
        .filter(|a| peer_asn.is_none_or(|want| want == *a))
        .collect();
    let held = partner_paths(core, &asns);
    let partners: Vec<PartnerAudit> = asns.into_iter().map(|a| partner(core, a, &held)).collect();
    let summary = AuditSummary::of(&partners);
    if peer_asn.is_none() {
        publish(&partners);
    }
    AuditReport {
        generated_at_ms: core.wall_ms(now),
        local_asn: core.cfg.router.asn,
        summary,
        partners,
        not_checked: NOT_CHECKED.iter().map(|s| s.to_string()).collect(),
    }
}

/// What the partner requirements ask that no BGP speaker can see.
pub const NOT_CHECKED: [&str; 3] = [
    "LACP on the interconnect's link bundles",
    "the partner's firewall and ACLs toward the interconnect",
    "the ratio of routers to circuits at each location",
];

/// `coldpotato_audit_checks{partner,check,result}` from a full audit: every
/// requirement a partner has checks for, with all three results (zeros
/// included, so an alert sees a failure go back to 0).
fn publish(partners: &[PartnerAudit]) {
    let g = &METRICS.audit_checks;
    g.reset();
    for p in partners {
        let asn = p.peer_asn.to_string();
        let mut counts: BTreeMap<&str, [i64; 3]> = BTreeMap::new();
        for c in &p.checks {
            let i = match c.status {
                AuditStatus::Pass => 0,
                AuditStatus::Warn => 1,
                AuditStatus::Fail => 2,
            };
            counts.entry(c.requirement.as_str()).or_default()[i] += 1;
        }
        for (check, n) in counts {
            for (result, v) in ["pass", "warn", "fail"].into_iter().zip(n) {
                g.with_label_values(&[&asn, check, result]).set(v);
            }
        }
    }
}

/// Paths held from each partner session, by neighbor, in prefix order.
type HeldPaths = HashMap<NeighborIdx, Vec<(Prefix, PathEntry)>>;

/// Every path of the audited partners' sessions, in one pass over the RIB
/// (a full transit table makes a pass per session too slow for the engine task).
fn partner_paths(core: &EngineCore, asns: &[u32]) -> HeldPaths {
    let wanted: HashSet<NeighborIdx> = core
        .neighbors
        .iter()
        .flatten()
        .filter(|n| n.cfg.role == Role::PeeringService && asns.contains(&n.cfg.remote_as))
        .map(|n| n.idx)
        .collect();
    let mut held = HeldPaths::new();
    if wanted.is_empty() {
        return held;
    }
    for (p, paths) in core.rib.iter() {
        for e in paths.iter().filter(|e| wanted.contains(&e.neighbor)) {
            held.entry(e.neighbor).or_default().push((p, *e));
        }
    }
    for v in held.values_mut() {
        v.sort_unstable_by_key(|(p, _)| *p);
    }
    held
}

/// Locations in `[[locations]]` order, unknown ones last by name.
fn location_rank(core: &EngineCore, name: &str) -> (usize, String) {
    let i = core
        .cfg
        .locations
        .iter()
        .position(|l| l.name == name)
        .unwrap_or(usize::MAX);
    (i, name.to_string())
}

fn partner(core: &EngineCore, asn: u32, held: &HeldPaths) -> PartnerAudit {
    let sessions: Vec<&Neighbor> = core
        .neighbors
        .iter()
        .flatten()
        .filter(|n| n.cfg.role == Role::PeeringService && n.cfg.remote_as == asn)
        .collect();
    let mut by_location: BTreeMap<(usize, String), Vec<&Neighbor>> = BTreeMap::new();
    for n in &sessions {
        by_location
            .entry(location_rank(core, &n.cfg.location))
            .or_default()
            .push(n);
    }
    let registered: Vec<&RegisteredPrefix> = core
        .cfg
        .registered_prefixes
        .iter()
        .filter(|r| r.peer_asn == asn)
        .collect();

    let mut c = Checks::default();
    public_asn(core, asn, &mut c);
    if sessions.is_empty() {
        c.fail(
            Requirement::Sessions,
            Scope::default(),
            format!("no peering-service sessions with AS{asn}"),
        );
    }
    for ((_, loc), list) in &by_location {
        location_checks(loc, list, &mut c);
    }
    geo_redundancy(&by_location, &mut c);
    for r in &registered {
        prefixes::prefix_checks(core, r, &sessions, &mut c);
    }
    prefixes::unregistered(core, asn, &sessions, held, &mut c);

    let count = |s: AuditStatus| c.0.iter().filter(|x| x.status == s).count() as u32;
    let (pass, warn, fail) = (
        count(AuditStatus::Pass),
        count(AuditStatus::Warn),
        count(AuditStatus::Fail),
    );
    PartnerAudit {
        peer_asn: asn,
        compliant: fail == 0,
        pass,
        warn,
        fail,
        locations: by_location.keys().map(|(_, l)| l.clone()).collect(),
        sessions: sessions.iter().map(|n| n.cfg.name.clone()).collect(),
        prefixes: registered
            .iter()
            .map(|r| r.prefix.trunc().to_string())
            .collect(),
        checks: c.0,
    }
}

/// The reserved- and private-ASN rules on the partner's own ASN: it is
/// public; a reserved one only while `reject_reserved_asn` is off (labs).
fn public_asn(core: &EngineCore, asn: u32, c: &mut Checks) {
    let s = Scope::default();
    if is_private_asn(asn) {
        c.fail(
            Requirement::PublicAsn,
            s,
            format!("partner ASN {asn} is private (RFC 6996); a public ASN is required"),
        );
    } else if is_reserved_asn(asn) {
        let msg = format!("partner ASN {asn} is reserved; a public ASN is required");
        if core.cfg.rules.reject_reserved_asn {
            c.fail(Requirement::PublicAsn, s, msg);
        } else {
            c.warn(
                Requirement::PublicAsn,
                s,
                format!("{msg} (allowed while reject_reserved_asn is off)"),
            );
        }
    } else {
        c.pass(
            Requirement::PublicAsn,
            s,
            format!("partner ASN {asn} is public"),
        );
    }
}

/// Local redundancy, active-active sessions and BFD at one location.
fn location_checks(loc: &str, list: &[&Neighbor], c: &mut Checks) {
    let s = Scope::at(loc);
    let names = list
        .iter()
        .map(|n| n.cfg.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() < MIN_SESSIONS_PER_LOCATION {
        c.fail(
            Requirement::LocalRedundancy,
            s,
            format!("fewer than two sessions in location {loc} ({names})"),
        );
    } else {
        let unset: Vec<&str> = list
            .iter()
            .filter(|n| n.cfg.router.is_none())
            .map(|n| n.cfg.name.as_str())
            .collect();
        let routers: BTreeSet<&str> = list
            .iter()
            .filter_map(|n| n.cfg.router.as_deref())
            .collect();
        if routers.len() >= MIN_SESSIONS_PER_LOCATION {
            let r = routers.into_iter().collect::<Vec<_>>().join(", ");
            c.pass(
                Requirement::LocalRedundancy,
                s,
                format!("{} sessions in location {loc} on routers {r}", list.len()),
            );
        } else if unset.is_empty() {
            let r = routers.into_iter().collect::<Vec<_>>().join(", ");
            c.fail(
                Requirement::LocalRedundancy,
                s,
                format!("all sessions in location {loc} end on one router ({r}); two routers are required"),
            );
        } else {
            c.warn(
                Requirement::LocalRedundancy,
                s,
                format!(
                    "{} sessions in location {loc}, but router not set on {}: two different routers cannot be verified",
                    list.len(),
                    unset.join(", ")
                ),
            );
        }
    }
    for n in list {
        let s = Scope::default().session(n);
        let name = &n.cfg.name;
        if n.state == SessionState::Established {
            c.pass(
                Requirement::ActiveActive,
                s,
                format!("session {name} is Established"),
            );
        } else if n.cfg.shutdown {
            c.fail(
                Requirement::ActiveActive,
                s,
                format!("session {name} is administratively shut down (shutdown = true)"),
            );
        } else {
            let why = n
                .last_error
                .as_deref()
                .map_or(String::new(), |e| format!(": {e}"));
            c.fail(
                Requirement::ActiveActive,
                s,
                format!("session {name} is {}, not Established{why}", n.state),
            );
        }
        match (n.cfg.bfd.is_some(), n.bfd) {
            (false, _) => c.fail(
                Requirement::Bfd,
                s,
                format!("BFD not configured on session {name}"),
            ),
            (true, BfdStatus::Up) => {
                c.pass(Requirement::Bfd, s, format!("BFD Up on session {name}"))
            }
            // The remote taking BFD AdminDown is not a failure (RFC 5882 §3.2), but not up either.
            (true, BfdStatus::AdminDown) => c.warn(
                Requirement::Bfd,
                s,
                format!("BFD AdminDown on session {name}"),
            ),
            (true, st) => c.fail(
                Requirement::Bfd,
                s,
                format!("BFD {} on session {name}", st.as_str()),
            ),
        }
    }
}

fn geo_redundancy(by_location: &BTreeMap<(usize, String), Vec<&Neighbor>>, c: &mut Checks) {
    let locs: Vec<&str> = by_location.keys().map(|(_, l)| l.as_str()).collect();
    let s = Scope::default();
    match locs.len() {
        0 => {}
        n if n >= MIN_LOCATIONS => c.pass(
            Requirement::GeoRedundancy,
            s,
            format!("sessions in {n} locations ({})", locs.join(", ")),
        ),
        _ => c.fail(
            Requirement::GeoRedundancy,
            s,
            format!(
                "sessions in only one location ({}); geo redundancy needs two",
                locs.join(", ")
            ),
        ),
    }
}
