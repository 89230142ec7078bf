//! Semantic validation of a deserialized [`Config`]: every rule of the
//! configuration contract that serde cannot express, all errors collected
//! (never only the first), each at the key path of the offending value.
//! Runs inside `config::parse`; pure.

use super::error::{cfg_path, ConfigError, PathSeg, Source};
use super::model::{Config, Family, Role};
use super::values::{parse_community, parse_large_community, ACCEPT_ALL, EXPORT_NONE};
use crate::wire::iana::{is_private_asn, is_reserved_asn};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// The checks of `[[bmp]]`, `[events]`, `[rpki]` and the route-leak lists.
mod sections;
use sections::{check_bmp, check_events, check_leak_lists, check_rpki};

/// Smallest BFD interval accepted (ms): faster is not sustainable in software.
pub const MIN_BFD_INTERVAL_MS: u32 = 10;
/// RFC 4271 §4.2: a hold time is 0 or at least 3 seconds.
pub const MIN_HOLD_TIME_S: u16 = 3;
/// RFC 2385 keys are limited by the kernel (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_MD5_KEY_LEN: usize = 80;
struct V<'a> {
    src: &'a Source,
    out: Vec<ConfigError>,
}

impl V<'_> {
    fn err(&mut self, path: Vec<PathSeg>, msg: String) {
        self.out.push(self.src.at(&path, msg));
    }
}

/// What is valid but probably not meant, each at its key: an eBGP
/// neighbor with no max-prefix limit, one that RFC 8212 leaves with
/// nothing to import or export (`builtin_rules = false` and no policy for
/// that direction), and a customer cone that names a transit-free network.
pub(crate) fn warnings(cfg: &Config, src: &Source) -> Vec<ConfigError> {
    let mut out = Vec::new();
    for (i, n) in cfg.neighbors.iter().enumerate() {
        let tier1: Vec<String> = n
            .customer_cone
            .iter()
            .flatten()
            .filter(|a| cfg.analytics.transit_free_asns.contains(a))
            .map(|a| format!("AS{a}"))
            .collect();
        if !tier1.is_empty() {
            let key = match n.customer_asns.is_some() {
                true => "customer_asns",
                false => "customer_as_set_file",
            };
            out.push(src.at(
                &[
                    PathSeg::Key("neighbors".into()),
                    PathSeg::Index(i),
                    PathSeg::Key(key.into()),
                ],
                format!(
                    "warning: the customers of \"{}\" include transit-free {} ([analytics] \
                     transit_free_asns): a path through them is still reported as a route leak",
                    n.name,
                    tier1.join(", ")
                ),
            ));
        }
        if n.role == Role::Internal {
            continue;
        }
        if n.max_prefixes.is_none() && !n.shutdown {
            out.push(src.at(
                &[PathSeg::Key("neighbors".into()), PathSeg::Index(i)],
                format!(
                    "warning: eBGP neighbor \"{}\" has no max_prefixes limit: a leaked full table \
                     would be taken whole",
                    n.name
                ),
            ));
        }
        let missing = n.rfc8212_closed();
        if !missing.is_empty() {
            let what = missing.join(" or ");
            out.push(src.at(
                &[
                    PathSeg::Key("neighbors".into()),
                    PathSeg::Index(i),
                    PathSeg::Key("builtin_rules".into()),
                ],
                format!(
                    "warning: eBGP neighbor \"{}\" has builtin_rules = false and no {what} policy: \
                     it will {what} nothing (RFC 8212)",
                    n.name
                ),
            ));
        }
    }
    out
}

/// Checks `cfg` (parsed from `src`) and returns every error found.
/// `policies_known` is false when the policy file failed to load (its
/// references are then not checked, to avoid follow-on errors).
pub(crate) fn validate(cfg: &Config, src: &Source, policies_known: bool) -> Vec<ConfigError> {
    let mut v = V {
        src,
        out: Vec::new(),
    };
    let locations: Vec<&str> = cfg.locations.iter().map(|l| l.name.as_str()).collect();
    let known_location = |l: &str| locations.contains(&l);

    // [router]
    let r = &cfg.router;
    if r.router_id == Ipv4Addr::UNSPECIFIED {
        v.err(
            cfg_path!["router", "router_id"],
            "router_id must not be 0.0.0.0".into(),
        );
    }
    if r.asn == 0 || r.asn == 23456 {
        v.err(
            cfg_path!["router", "asn"],
            format!(
                "invalid local ASN {} (0 and AS_TRANS 23456 cannot be used)",
                r.asn
            ),
        );
    }
    check_hold_time(&mut v, r.hold_time_s, cfg_path!["router", "hold_time_s"]);
    if !known_location(&r.location) {
        v.err(
            cfg_path!["router", "location"],
            unknown_location(&r.location, &locations),
        );
    }

    // [[locations]]
    let mut seen = HashMap::new();
    for (i, l) in cfg.locations.iter().enumerate() {
        if let Some(first) = seen.insert(l.name.as_str(), i) {
            v.err(
                cfg_path!["locations", i, "name"],
                format!(
                    "duplicate location \"{}\" (also locations #{})",
                    l.name,
                    first + 1
                ),
            );
        }
    }

    // [[neighbors]]
    let mut names = HashMap::new();
    let mut addrs = HashMap::new();
    for (i, n) in cfg.neighbors.iter().enumerate() {
        let at = |k: &str| cfg_path!["neighbors", i, k];
        if let Some(first) = names.insert(n.name.as_str(), i) {
            v.err(
                at("name"),
                format!(
                    "duplicate neighbor name \"{}\" (first defined in neighbors #{})",
                    n.name,
                    first + 1
                ),
            );
        }
        if let Some(first) = addrs.insert((n.address, n.port), i) {
            v.err(
                at("address"),
                format!(
                    "duplicate neighbor address {} (also neighbor \"{}\")",
                    n.address,
                    cfg.neighbors.get(first).map_or("?", |f| f.name.as_str())
                ),
            );
        }
        if !known_location(&n.location) {
            v.err(at("location"), unknown_location(&n.location, &locations));
        }
        check_remote_as(&mut v, cfg, n.remote_as, n.role, at("remote_as"));
        if n.name.trim().is_empty() {
            v.err(at("name"), "neighbor name must not be empty".into());
        }
        let ours = cfg.router.asn;
        if n.role == Role::Internal && n.remote_as != ours && n.remote_as != 0 {
            v.err(
                at("remote_as"),
                format!(
                    "an internal neighbor is iBGP: remote_as must be our own ASN {ours}, not {}",
                    n.remote_as
                ),
            );
        }
        if n.role != Role::Internal && n.remote_as == ours {
            v.err(
                at("remote_as"),
                format!(
                    "remote_as {ours} is our own ASN: a {} neighbor is eBGP (use role = \"internal\" for iBGP)",
                    n.role.as_str()
                ),
            );
        }
        if cfg
            .router
            .listen
            .iter()
            .any(|l| l.ip() == n.address && l.port() == n.port)
            || n.local_address == Some(n.address)
        {
            v.err(
                at("address"),
                format!(
                    "neighbor address {} port {} is our own (a session with ourselves)",
                    n.address, n.port
                ),
            );
        }
        if let Some(h) = n.hold_time_s {
            check_hold_time(&mut v, h, at("hold_time_s"));
        }
        if n.send_hold_time_s == Some(0) {
            v.err(
                at("send_hold_time_s"),
                "send hold time must be at least 1 second (RFC 9687)".to_string(),
            );
        }
        if let Some(b) = n.bfd {
            for (k, ms) in [("min_tx_ms", b.min_tx_ms), ("min_rx_ms", b.min_rx_ms)] {
                if ms < MIN_BFD_INTERVAL_MS {
                    v.err(
                        cfg_path!["neighbors", i, "bfd", k],
                        format!("BFD {k} must be at least {MIN_BFD_INTERVAL_MS} ms, not {ms}"),
                    );
                }
            }
            if b.multiplier == 0 {
                v.err(
                    cfg_path!["neighbors", i, "bfd", "multiplier"],
                    "BFD multiplier must be at least 1".into(),
                );
            }
        }
        if let Some(m) = n.max_prefixes {
            if m.limit == 0 {
                v.err(
                    cfg_path!["neighbors", i, "max_prefixes", "limit"],
                    "max_prefixes limit must be at least 1".into(),
                );
            }
            if !(1..=100).contains(&m.warn_percent) {
                v.err(
                    cfg_path!["neighbors", i, "max_prefixes", "warn_percent"],
                    format!("warn_percent must be 1..=100, not {}", m.warn_percent),
                );
            }
        }
        if let Some(la) = n.local_address {
            if la.is_ipv4() != n.address.is_ipv4() {
                v.err(
                    at("local_address"),
                    format!(
                        "local_address {la} is not in the same address family as address {}",
                        n.address
                    ),
                );
            }
        }
        if n.families.is_empty() {
            v.err(
                at("families"),
                "families must name at least one address family".into(),
            );
        }
        for (j, f) in n.families.iter().enumerate() {
            if n.families[..j].contains(f) {
                v.err(
                    cfg_path!["neighbors", i, "families", j],
                    format!("family \"{}\" listed twice", family_name(*f)),
                );
            }
        }
        if n.port == 0 {
            v.err(at("port"), "port must not be 0".into());
        }
        if let Some(pw) = &n.password {
            if pw.is_empty() || pw.len() > MAX_MD5_KEY_LEN {
                v.err(
                    at("password"),
                    format!("password must be 1..={MAX_MD5_KEY_LEN} bytes (TCP MD5, RFC 2385)"),
                );
            }
        }
        if n.remote_as == cfg.router.asn
            && n.bgp_role
                .is_some_and(|r| r != crate::config::LocalRole::None)
        {
            v.err(
                at("bgp_role"),
                "bgp_role is for eBGP sessions (RFC 9234); this neighbor is in our AS".into(),
            );
        }
        if n.strict_role && (n.local_role().is_none() || n.remote_as == cfg.router.asn) {
            v.err(
                at("strict_role"),
                "strict_role needs a BGP role on an eBGP session (set bgp_role)".into(),
            );
        }
        if policies_known {
            check_policy_ref(
                &mut v,
                cfg,
                n.import_policy.as_deref(),
                ACCEPT_ALL,
                "import",
                at("import_policy"),
            );
            check_policy_ref(
                &mut v,
                cfg,
                n.export_policy.as_deref(),
                EXPORT_NONE,
                "export",
                at("export_policy"),
            );
        }
    }

    // [[registered_prefixes]]
    let mut seen_prefixes = HashMap::new();
    for (i, p) in cfg.registered_prefixes.iter().enumerate() {
        if let Some(first) = seen_prefixes.insert(p.prefix.trunc(), i) {
            v.err(
                cfg_path!["registered_prefixes", i, "prefix"],
                format!(
                    "prefix {} is registered twice (also registered_prefixes #{})",
                    p.prefix,
                    first + 1
                ),
            );
        }
        if p.prefix.trunc() != p.prefix {
            v.err(
                cfg_path!["registered_prefixes", i, "prefix"],
                format!(
                    "registered prefix {} has host bits set (did you mean {}?)",
                    p.prefix,
                    p.prefix.trunc()
                ),
            );
        }
        if let Some(l) = &p.primary {
            if !known_location(l) {
                v.err(
                    cfg_path!["registered_prefixes", i, "primary"],
                    unknown_location(l, &locations),
                );
            }
        }
        if let Some(l) = &p.backup {
            if !known_location(l) {
                v.err(
                    cfg_path!["registered_prefixes", i, "backup"],
                    unknown_location(l, &locations),
                );
            } else if p.primary.as_ref() == Some(l) {
                v.err(
                    cfg_path!["registered_prefixes", i, "backup"],
                    format!("backup location \"{l}\" is the primary location"),
                );
            }
        }
    }

    // [[originate]]
    let mut seen_prefixes = HashMap::new();
    for (i, o) in cfg.originate.iter().enumerate() {
        if let Some(first) = seen_prefixes.insert(o.prefix.trunc(), i) {
            v.err(
                cfg_path!["originate", i, "prefix"],
                format!(
                    "prefix {} is originated twice (also originate #{})",
                    o.prefix,
                    first + 1
                ),
            );
        }
        if o.prefix.trunc() != o.prefix {
            v.err(
                cfg_path!["originate", i, "prefix"],
                format!(
                    "originated prefix {} has host bits set (did you mean {}?)",
                    o.prefix,
                    o.prefix.trunc()
                ),
            );
        }
        for (j, c) in o.communities.iter().enumerate() {
            if let Err(m) = parse_community(c) {
                v.err(cfg_path!["originate", i, "communities", j], m);
            }
        }
        for (j, c) in o.large_communities.iter().enumerate() {
            if let Err(m) = parse_large_community(c) {
                v.err(cfg_path!["originate", i, "large_communities", j], m);
            }
        }
        if let Some(nh) = o.next_hop {
            if nh.is_unspecified() {
                v.err(
                    cfg_path!["originate", i, "next_hop"],
                    "next_hop must not be the unspecified address".into(),
                );
            }
        }
    }

    // [rules] (require_community is compiled, and reported, by the policy set)
    if cfg.rules.max_as_path_len == 0 {
        v.err(
            cfg_path!["rules", "max_as_path_len"],
            "max_as_path_len must be at least 1".to_string(),
        );
    }
    for (i, p) in cfg.rules.allow_prefixes.iter().enumerate() {
        if p.trunc() != *p {
            v.err(
                cfg_path!["rules", "allow_prefixes", i],
                format!("prefix {p} has host bits set (did you mean {}?)", p.trunc()),
            );
        }
    }

    // [rpki]
    if let Some(r) = &cfg.rpki {
        check_rpki(&mut v, r);
    }
    check_events(&mut v, &cfg.events);
    check_leak_lists(&mut v, cfg);
    check_bmp(&mut v, &cfg.bmp);
    v.out
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    }
}

fn unknown_location(name: &str, known: &[&str]) -> String {
    if known.is_empty() {
        format!("unknown location \"{name}\" (no [[locations]] are defined)")
    } else {
        format!("unknown location \"{name}\" (known: {})", known.join(", "))
    }
}

fn check_hold_time(v: &mut V, h: u16, path: Vec<PathSeg>) {
    if h != 0 && h < MIN_HOLD_TIME_S {
        v.err(
            path,
            format!("hold time must be 0 or at least {MIN_HOLD_TIME_S} seconds, not {h}"),
        );
    }
}

fn check_remote_as(v: &mut V, cfg: &Config, asn: u32, role: Role, path: Vec<PathSeg>) {
    if asn == 0 {
        v.err(
            path,
            "remote_as 0 is reserved and cannot be used (RFC 7607)".into(),
        );
    } else if asn == 23456 {
        v.err(
            path,
            "remote_as 23456 is AS_TRANS, a placeholder that is never a real peer's ASN (RFC 6793); \
             use the peer's 4-octet ASN"
                .into(),
        );
    } else if is_private_asn(asn) && role != Role::Internal {
        let role = role.as_str();
        v.err(
            path,
            format!(
                "remote_as {asn} is a private ASN (RFC 6996), not allowed for a {role} neighbor"
            ),
        );
    } else if is_reserved_asn(asn) && cfg.rules.reject_reserved_asn {
        v.err(path, format!("remote_as {asn} is a reserved ASN (set rules.reject_reserved_asn = false for labs)"));
    }
}

fn check_policy_ref(
    v: &mut V,
    cfg: &Config,
    name: Option<&str>,
    builtin: &str,
    dir: &str,
    path: Vec<PathSeg>,
) {
    let Some(name) = name else { return };
    if name == builtin || cfg.policy_defs().contains_key(name) {
        return;
    }
    let mut known: Vec<&str> = vec![builtin];
    known.extend(cfg.policy_defs().keys().map(String::as_str));
    v.err(
        path,
        format!(
            "unknown {dir} policy \"{name}\" (known: {})",
            known.join(", ")
        ),
    );
}
