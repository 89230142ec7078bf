//! The registered-prefix half of the compliance audit: per registered
//! prefix (activation, sessions at primary and backup, received on every
//! primary session, built-in rules on each received route, publicly
//! routable space, where its traffic leaves) and the partner's routes on
//! prefixes not registered to it. Pure functions over [`EngineCore`], called
//! by [`super::audit`] inside the route engine task.

use super::{
    Checks, HeldPaths, Requirement, Scope, MIN_SESSIONS_PER_LOCATION, UNREGISTERED_EXAMPLES,
};
use crate::config::{RegisteredPrefix, BACKUP_NONE};
use crate::engine::core::EngineCore;
use crate::engine::decision::DecisionState;
use crate::engine::neighbor::Neighbor;
use crate::policy::builtin::bogon_reason;
use crate::policy::{RouteContext, Rule};
use crate::rib::PathFlags;
use crate::wire::Prefix;
use std::collections::{BTreeMap, BTreeSet};

/// Every check of one registered prefix.
pub(super) fn prefix_checks(
    core: &EngineCore,
    r: &RegisteredPrefix,
    sessions: &[&Neighbor],
    c: &mut Checks,
) {
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
    let backup = r.backup.as_deref();
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
    active_active(core, &p, &primaries, ps, c);
    route_rules(core, &p, sessions, c);
    routing(core, &p, primaries.len(), c);
}

/// Active-active at the primary location: every session announces `p`
/// alike. A longer AS path (prepending) or a higher MED on one session makes
/// it a backup to the others, which the partner requirements rule out.
fn active_active(core: &EngineCore, p: &Prefix, primaries: &[&Neighbor], s: Scope, c: &mut Checks) {
    let held: Vec<(&Neighbor, usize, u32)> = primaries
        .iter()
        .filter_map(|n| {
            let e = core.rib.path(p, n.idx)?;
            if e.flags.contains(PathFlags::STALE) {
                return None;
            }
            let a = core.rib.attrs.get(e.attr)?;
            // A missing MED is the lowest (RFC 4271 §9.1.2.2 c).
            let len = a.as_path.as_ref().map_or(0, |x| x.path_len());
            Some((*n, len, a.med.unwrap_or(0)))
        })
        .collect();
    if held.len() < 2 {
        return;
    }
    let shortest = held.iter().map(|h| h.1).min().unwrap_or(0);
    let lowest_med = held.iter().map(|h| h.2).min().unwrap_or(0);
    let mut alike = true;
    for (n, len, med) in &held {
        let name = &n.cfg.name;
        if *len > shortest {
            alike = false;
            c.fail(
                Requirement::ActiveActive,
                s.session(n),
                format!(
                    "session {name} announces {p} with a longer AS path ({len} vs {shortest}: prepended), so it only backs up the others: not active-active"
                ),
            );
        } else if *med > lowest_med {
            alike = false;
            c.fail(
                Requirement::ActiveActive,
                s.session(n),
                format!(
                    "session {name} announces {p} with a higher MED ({med} vs {lowest_med}), so it only backs up the others: not active-active"
                ),
            );
        }
    }
    if alike {
        c.pass(
            Requirement::ActiveActive,
            s,
            format!(
                "{p} announced alike (AS path length, MED) on the {} sessions at the primary location",
                held.len()
            ),
        );
    }
}

/// A current (not stale) path of `n` for `p` is in the Adj-RIB-In.
fn received(core: &EngineCore, p: &Prefix, n: &Neighbor) -> bool {
    core.rib
        .path(p, n.idx)
        .is_some_and(|e| !e.flags.contains(PathFlags::STALE))
}

/// The bogon rule (README, "The rules and the decisions") on the
/// registered prefix itself.
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
        let rpki = crate::engine::rpki::flags_state(e.flags, core.rpki_enabled());
        let ctx = RouteContext::new(*p, &attrs, &n.cfg, rpki);
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
        if let Some(rej) = core.rib.rejection(p, e) {
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
        location: d.location.map(|l| core.cfg.location_name(l)),
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
fn rule_requirement(rule: &Rule) -> Requirement {
    match rule {
        Rule::MissingCommunity => Requirement::CommunityTagging,
        Rule::PrivateAsn | Rule::ReservedAsn | Rule::AsPathTooLong => Requirement::AsPath,
        Rule::Bogon => Requirement::PubliclyRoutable,
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
pub(super) fn unregistered(
    core: &EngineCore,
    asn: u32,
    sessions: &[&Neighbor],
    held: &HeldPaths,
    c: &mut Checks,
) {
    let mut found: BTreeSet<Prefix> = BTreeSet::new();
    let mut rejected: BTreeMap<Rule, Rejected> = BTreeMap::new();
    for n in sessions {
        for (p, e) in held.get(&n.idx).into_iter().flatten().copied() {
            if e.flags.contains(PathFlags::STALE) || core.registered.get(&p) == Some(&asn) {
                continue;
            }
            found.insert(p);
            if e.flags.contains(PathFlags::ACCEPTED) {
                continue;
            }
            if let Some(r) = core.rib.rejection(&p, &e) {
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
pub(super) fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}
