//! The partner compliance audit (DESIGN.md "Compliance audit"): the
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

use super::core::EngineCore;
use super::decide::DecisionState;
use super::messages::BfdStatus;
use super::neighbor::Neighbor;
use crate::api::model::{AuditCheck, AuditReport, AuditStatus, AuditSummary, PartnerAudit};
use crate::config::{RegisteredPrefix, Role};
use crate::policy::builtin::{self, bogon_reason, is_private_asn, is_reserved_asn};
use crate::policy::RouteContext;
use crate::rib::{NeighborIdx, PathEntry, PathFlags};
use crate::wire::Prefix;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

/// The backup location value that means "fail over to the internet".
const BACKUP_NONE: &str = "none";
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
    let mut summary = AuditSummary {
        partners: partners.len() as u32,
        ..AuditSummary::default()
    };
    for p in &partners {
        summary.compliant += u32::from(p.compliant);
        summary.pass += p.pass;
        summary.warn += p.warn;
        summary.fail += p.fail;
    }
    AuditReport {
        generated_at_ms: core.wall_ms(now),
        local_asn: core.cfg.router.asn,
        summary,
        partners,
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
    for (p, paths) in core.rib.v4.iter().chain(core.rib.v6.iter()) {
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
        prefix_checks(core, r, &sessions, &mut c);
    }
    unregistered(core, asn, &sessions, held, &mut c);

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

/// DESIGN rule 5: the partner's ASN is public; a reserved one only while
/// `reject_reserved_asn` is off (labs).
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
        if n.state == "Established" {
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

/// Every check of one registered prefix.
fn prefix_checks(core: &EngineCore, r: &RegisteredPrefix, sessions: &[&Neighbor], c: &mut Checks) {
    let p = r.prefix.trunc();
    let s = Scope::prefix(&p);
    c.pass(
        Requirement::Registration,
        s,
        format!("prefix {p} registered to AS{}", r.peer_asn),
    );
    publicly_routable(core, &p, c);
    let Some(primary) = r.primary.as_deref() else {
        c.fail(
            Requirement::Activation,
            s,
            format!("prefix {p} not activated (no primary location)"),
        );
        return;
    };
    let backup = r.backup.as_deref().filter(|b| *b != BACKUP_NONE);
    c.pass(
        Requirement::Activation,
        s,
        format!(
            "prefix {p} activated: primary {primary}, backup {}",
            backup.unwrap_or(BACKUP_NONE)
        ),
    );
    let at = |loc: &str| -> Vec<&Neighbor> {
        sessions
            .iter()
            .copied()
            .filter(|n| n.cfg.location == loc)
            .collect()
    };
    let primaries = at(primary);
    let ps = Scope {
        location: Some(primary),
        ..s
    };
    if primaries.len() < MIN_SESSIONS_PER_LOCATION {
        c.fail(
            Requirement::PrimaryLocation,
            ps,
            "fewer than two sessions in primary location".to_string(),
        );
    } else {
        c.pass(
            Requirement::PrimaryLocation,
            ps,
            format!(
                "{} {} in primary location {primary}",
                primaries.len(),
                plural(primaries.len(), "session", "sessions")
            ),
        );
    }
    match backup {
        None => c.pass(
            Requirement::BackupLocation,
            s,
            "backup location none: traffic fails over to the internet".to_string(),
        ),
        Some(b) => {
            let bs = Scope {
                location: Some(b),
                ..s
            };
            let backups = at(b);
            if backups.is_empty() {
                c.fail(
                    Requirement::BackupLocation,
                    bs,
                    "no sessions in backup location".to_string(),
                );
            } else {
                c.pass(
                    Requirement::BackupLocation,
                    bs,
                    format!(
                        "{} {} in backup location {b}",
                        backups.len(),
                        plural(backups.len(), "session", "sessions")
                    ),
                );
                if !backups.iter().any(|n| received(core, &p, n)) {
                    c.warn(
                        Requirement::PrefixReceived,
                        bs,
                        format!("prefix not received at backup location {b}"),
                    );
                }
            }
        }
    }
    for n in &primaries {
        let ns = s.session(n);
        let name = &n.cfg.name;
        match core.rib.path(&p, n.idx) {
            None => c.fail(
                Requirement::PrefixReceived,
                ns,
                format!("prefix not received on session {name}"),
            ),
            Some(e) if e.flags.contains(PathFlags::STALE) => c.warn(
                Requirement::PrefixReceived,
                ns,
                format!(
                    "prefix received on session {name} only as a stale route (graceful restart)"
                ),
            ),
            Some(_) => c.pass(
                Requirement::PrefixReceived,
                ns,
                format!("prefix received on session {name}"),
            ),
        }
    }
    route_rules(core, &p, sessions, c);
    routing(core, &p, primaries.len(), c);
}

/// A current (not stale) path of `n` for `p` is in the Adj-RIB-In.
fn received(core: &EngineCore, p: &Prefix, n: &Neighbor) -> bool {
    core.rib
        .path(p, n.idx)
        .is_some_and(|e| !e.flags.contains(PathFlags::STALE))
}

/// DESIGN rule 4 on the registered prefix itself.
fn publicly_routable(core: &EngineCore, p: &Prefix, c: &mut Checks) {
    let s = Scope::prefix(p);
    let rules = &core.cfg.rules;
    match bogon_reason(p) {
        None => c.pass(
            Requirement::PubliclyRoutable,
            s,
            format!("prefix {p} is publicly routable"),
        ),
        Some(why) => {
            let allowed = rules.allow_prefixes.iter().any(|a| a.trunc().contains(p));
            if rules.reject_bogons && !allowed {
                c.fail(Requirement::PubliclyRoutable, s, why);
            } else {
                c.warn(
                    Requirement::PubliclyRoutable,
                    s,
                    format!("{why}; allowed here by [rules], not publicly routable"),
                );
            }
        }
    }
}

/// The built-in peering-service rules on every route the partner sent for
/// `p` (pre-policy attributes, every failing rule, not only the first), and
/// any other rule that rejected it, from the RIB's rejection reasons.
fn route_rules(core: &EngineCore, p: &Prefix, sessions: &[&Neighbor], c: &mut Checks) {
    let builtin = core.policy.builtin();
    let s = Scope::prefix(p);
    let mut seen = 0usize;
    let mut community_fail = false;
    let mut path_fail = false;
    for e in core.rib.paths(p) {
        let Some(n) = sessions.iter().find(|n| n.idx == e.neighbor) else {
            continue;
        };
        let Some(attrs) = core.rib.attrs.get(e.attr) else {
            continue;
        };
        seen += 1;
        let ns = s.session(n);
        let ctx = RouteContext {
            prefix: *p,
            attrs: &attrs,
            neighbor: &n.cfg.name,
            neighbor_address: n.cfg.address,
            neighbor_as: n.cfg.remote_as,
            role: n.cfg.role,
            location: &n.cfg.location,
        };
        let failures = builtin.failures(&ctx);
        for f in &failures {
            let req = match rule_requirement(&f.rule) {
                // The prefix itself is checked once by `publicly_routable`.
                Requirement::PubliclyRoutable => continue,
                r => r,
            };
            community_fail |= req == Requirement::CommunityTagging;
            path_fail |= req == Requirement::AsPath;
            c.fail(req, ns, f.reason.clone());
        }
        if e.flags.contains(PathFlags::ACCEPTED) {
            continue;
        }
        if let Some(rej) = core.rib.rejection(p, e.neighbor) {
            if !failures.iter().any(|f| f.rule == rej.rule) {
                c.fail(
                    rule_requirement(&rej.rule),
                    ns,
                    format!(
                        "rejected on session {} by {}: {}",
                        n.cfg.name, rej.rule, rej.reason
                    ),
                );
            }
        }
    }
    if seen == 0 {
        return;
    }
    if !community_fail {
        let msg = match builtin.require_community {
            Some(comm) => format!("received routes carry community {comm}"),
            None => "no community required ([rules] require_community is off)".to_string(),
        };
        c.pass(Requirement::CommunityTagging, s, msg);
    }
    if !path_fail {
        c.pass(
            Requirement::AsPath,
            s,
            "AS paths pass: no private ASN, length within the limit".to_string(),
        );
    }
}

/// Where traffic toward `p` leaves now: passes only at the primary location
/// over every partner session there (active-active).
fn routing(core: &EngineCore, p: &Prefix, at_primary: usize, c: &mut Checks) {
    let Some(d) = core.decisions.get(p) else {
        return;
    };
    let s = Scope {
        location: d.location.as_deref(),
        ..Scope::prefix(p)
    };
    let msg = format!("traffic leaves at {}: {}", d.state.as_str(), d.reason);
    match d.state {
        DecisionState::Primary if d.neighbors.len() >= at_primary => {
            c.pass(Requirement::Routing, s, msg)
        }
        DecisionState::Primary => c.warn(
            Requirement::Routing,
            s,
            format!(
                "{msg} (on {} of {at_primary} sessions: not active-active)",
                d.neighbors.len()
            ),
        ),
        _ => c.warn(Requirement::Routing, s, msg),
    }
}

/// The requirement a rejection rule of the RIB belongs to.
fn rule_requirement(rule: &str) -> Requirement {
    match rule {
        builtin::MISSING_COMMUNITY => Requirement::CommunityTagging,
        builtin::PRIVATE_ASN | builtin::RESERVED_ASN | builtin::AS_PATH_TOO_LONG => {
            Requirement::AsPath
        }
        builtin::BOGON => Requirement::PubliclyRoutable,
        _ => Requirement::Import,
    }
}

/// Routes of one rejection rule on unregistered prefixes: how many, and the first.
struct Rejected {
    count: usize,
    example: (Prefix, String, String),
}

/// Prefixes the partner announces that are not registered to it (they get
/// no optimized routing), and the rules that rejected any of them.
fn unregistered(
    core: &EngineCore,
    asn: u32,
    sessions: &[&Neighbor],
    held: &HeldPaths,
    c: &mut Checks,
) {
    let mut found: BTreeSet<Prefix> = BTreeSet::new();
    let mut rejected: BTreeMap<String, Rejected> = BTreeMap::new();
    for n in sessions {
        for (p, e) in held.get(&n.idx).into_iter().flatten().copied() {
            if e.flags.contains(PathFlags::STALE) || core.registered.get(&p) == Some(&asn) {
                continue;
            }
            found.insert(p);
            if e.flags.contains(PathFlags::ACCEPTED) {
                continue;
            }
            if let Some(r) = core.rib.rejection(&p, n.idx) {
                rejected
                    .entry(r.rule.clone())
                    .and_modify(|x| x.count += 1)
                    .or_insert_with(|| Rejected {
                        count: 1,
                        example: (p, n.cfg.name.clone(), r.reason.clone()),
                    });
            }
        }
    }
    if found.is_empty() {
        return;
    }
    let mut examples: Vec<String> = found
        .iter()
        .take(UNREGISTERED_EXAMPLES)
        .map(|p| p.to_string())
        .collect();
    if found.len() > UNREGISTERED_EXAMPLES {
        examples.push("…".to_string());
    }
    c.warn(
        Requirement::Registration,
        Scope::default(),
        format!(
            "{} received {} not registered to AS{asn}: {}",
            found.len(),
            plural(found.len(), "prefix", "prefixes"),
            examples.join(", ")
        ),
    );
    for (rule, r) in rejected {
        let (p, session, reason) = &r.example;
        c.fail(
            rule_requirement(&rule),
            Scope::default(),
            format!(
                "{} {} rejected by {rule}, e.g. {p} on session {session}: {reason}",
                r.count,
                plural(r.count, "route", "routes"),
            ),
        );
    }
}

/// `one` for 1, else `many`.
fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}
