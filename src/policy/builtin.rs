//! The built-in rules (README, "The rules and the decisions"), as named
//! rules with stable names (metric labels) and exact reasons (the cloud's
//! own prefix validation uses the same wording). Pure functions, called by
//! `PolicySet::import`: the peering-service checks on routes from
//! `peering-service` neighbors, transit hygiene (bogon prefixes and ASNs,
//! AS-path length, too-specific prefixes: the MANRS / NLNOG baseline) on
//! routes from `transit` neighbors.

use super::{Rejection, RouteContext, Rule};
use crate::config::RulesConfig;
use crate::wire::iana::{is_private_asn, is_reserved_asn};
use crate::wire::{Community, PathAttributes, Prefix};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Rule name: the route lacks `rules.require_community`.
pub const MISSING_COMMUNITY: Rule = Rule::MissingCommunity;
/// Rule name: a private ASN (RFC 6996) in the AS path.
pub const PRIVATE_ASN: Rule = Rule::PrivateAsn;
/// Rule name: a reserved ASN in the AS path.
pub const RESERVED_ASN: Rule = Rule::ReservedAsn;
/// Rule name: AS path too long for a prefix longer than /24 (IPv6: /48).
pub const AS_PATH_TOO_LONG: Rule = Rule::AsPathTooLong;
/// Rule name: a bogon prefix.
pub const BOGON: Rule = Rule::Bogon;
/// Rule name: a transit route more specific than /24 (IPv6: /48).
pub const TOO_SPECIFIC: Rule = Rule::TooSpecific;
/// Rule name: a transit route whose AS path does not start with the
/// neighbor's AS.
pub const FIRST_AS: Rule = Rule::FirstAs;
/// Rule name: an eBGP route with neither built-in rules nor an import
/// policy, or toward such a neighbor with no export policy (RFC 8212).
pub const NO_POLICY: Rule = Rule::NoPolicy;

/// Every built-in rule name, in evaluation order (to pre-register metric labels).
pub const RULES: [&str; 8] = [
    MISSING_COMMUNITY.fixed_name(),
    PRIVATE_ASN.fixed_name(),
    RESERVED_ASN.fixed_name(),
    AS_PATH_TOO_LONG.fixed_name(),
    BOGON.fixed_name(),
    TOO_SPECIFIC.fixed_name(),
    FIRST_AS.fixed_name(),
    NO_POLICY.fixed_name(),
];

/// IPv4 bogons: RFC 1122, 1918, 6598, 3927, 6890, 5737, 7526, 2544, 5771, 1112.
const BOGONS_V4: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// IPv6 bogons (RFC 4291, 6666, 5180, 7343, 3849, 3701, 4193, 3879), inside 2000::/3
/// or overlapping it; anything outside 2000::/3 is a bogon too.
const BOGONS_V6: [(Ipv6Addr, u8); 10] = [
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 8),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48),
    (Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x3ffe, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
];

/// Global unicast (RFC 4291 §2.4): IPv6 routes outside it are bogons.
const GLOBAL_UNICAST_V6: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
/// Shortest acceptable IPv4 prefix.
const MIN_LEN_V4: u8 = 8;
/// Shortest acceptable IPv6 prefix.
const MIN_LEN_V6: u8 = 16;
/// Longest acceptable IPv6 prefix.
const MAX_LEN_V6: u8 = 64;
/// Longer than this (IPv4) is subject to the AS-path length limit.
const LONG_PREFIX_V4: u8 = 24;
/// Longer than this (IPv6) is subject to the AS-path length limit.
const LONG_PREFIX_V6: u8 = 48;

/// True when `addr/len` lies inside `net/nlen` (integer form of either family).
fn inside(addr: u128, len: u8, net: u128, nlen: u8, bits: u8) -> bool {
    let shift = u32::from(bits.saturating_sub(nlen));
    len >= nlen && (nlen == 0 || addr.checked_shr(shift) == net.checked_shr(shift))
}

/// Why `prefix` is a bogon (`"bogon prefix P"`, with the range or the length
/// limit it breaks when that is not obvious), or `None`. Allocation-free
/// unless it is one.
pub fn bogon_reason(prefix: &Prefix) -> Option<String> {
    let p = prefix.trunc();
    let len = p.prefix_len();
    let (hit, too_short, too_long, outside) = match p {
        Prefix::V4(v4) => {
            let addr = u128::from(u32::from(v4.network()));
            let hit = BOGONS_V4
                .iter()
                .find(|(n, l)| inside(addr, len, u128::from(u32::from(*n)), *l, 32))
                .map(|(n, l)| format!("{n}/{l}"));
            (hit, (len < MIN_LEN_V4).then_some(MIN_LEN_V4), None, false)
        }
        Prefix::V6(v6) => {
            let addr = u128::from(v6.network());
            let hit = BOGONS_V6
                .iter()
                .find(|(n, l)| inside(addr, len, u128::from(*n), *l, 128))
                .map(|(n, l)| format!("{n}/{l}"));
            let (gu, gl) = GLOBAL_UNICAST_V6;
            (
                hit,
                (len < MIN_LEN_V6).then_some(MIN_LEN_V6),
                (len > MAX_LEN_V6).then_some(MAX_LEN_V6),
                !inside(addr, len, u128::from(gu), gl, 128),
            )
        }
    };
    if let Some(b) = hit {
        return Some(if b == p.to_string() {
            format!("bogon prefix {p}")
        } else {
            format!("bogon prefix {p} (in {b})")
        });
    }
    if outside {
        return Some(format!("bogon prefix {p} (outside 2000::/3)"));
    }
    if let Some(min) = too_short {
        return Some(format!("bogon prefix {p} (shorter than /{min})"));
    }
    too_long.map(|max| format!("bogon prefix {p} (longer than /{max})"))
}

/// The built-in checks, compiled from `[rules]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinRules {
    pub require_community: Option<Community>,
    pub reject_private_asn: bool,
    pub reject_reserved_asn: bool,
    pub max_as_path_len_longer_than_24: u32,
    pub reject_bogons: bool,
    pub allow_prefixes: Vec<Prefix>,
    /// Longest AS path from a transit neighbor.
    pub transit_max_as_path_len: u32,
    /// The reason a route without `require_community` is rejected for,
    /// written once (a fifth of a peering-service table fails it).
    missing_reason: String,
}

/// The reason a route without `c` is rejected for.
fn missing_reason(c: Option<Community>) -> String {
    c.map(|c| format!("missing community {c}"))
        .unwrap_or_default()
}

impl Default for BuiltinRules {
    fn default() -> Self {
        let require_community = Some(Community::new(8075, 8007));
        BuiltinRules {
            require_community,
            missing_reason: missing_reason(require_community),
            reject_private_asn: true,
            reject_reserved_asn: true,
            max_as_path_len_longer_than_24: 3,
            reject_bogons: true,
            allow_prefixes: Vec::new(),
            transit_max_as_path_len: 100,
        }
    }
}

/// What the built-in checks read from a route's attributes, worked out
/// once for every prefix that shares them (an UPDATE's NLRI, see
/// `policy::ahead`): per prefix only its length and the bogon ranges are
/// left to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathFacts {
    /// The required community is there (or none is required).
    has_community: bool,
    /// The first private ASN in the path, when that rule is on.
    private_asn: Option<u32>,
    /// The first reserved ASN in the path, when that rule is on.
    reserved_asn: Option<u32>,
    /// AS path length (RFC 4271 §9.1.2.2 a: an AS_SET counts 1).
    path_len: usize,
    first_as: Option<u32>,
}

fn rejection(rule: Rule, reason: String) -> Rejection {
    Rejection { rule, reason }
}

impl BuiltinRules {
    /// Compiles `[rules]`; the message names the bad key's value.
    pub fn from_config(rules: &RulesConfig) -> Result<BuiltinRules, String> {
        let require_community = match rules.require_community.as_deref() {
            None | Some("none") | Some("") => None,
            Some(c) => Some(crate::config::values::parse_community(c)?),
        };
        Ok(BuiltinRules {
            require_community,
            missing_reason: missing_reason(require_community),
            reject_private_asn: rules.reject_private_asn,
            reject_reserved_asn: rules.reject_reserved_asn,
            max_as_path_len_longer_than_24: rules.max_as_path_len_longer_than_24,
            reject_bogons: rules.reject_bogons,
            allow_prefixes: rules.allow_prefixes.iter().map(|p| p.trunc()).collect(),
            transit_max_as_path_len: rules.max_as_path_len,
        })
    }

    /// The facts of `attrs` these rules check.
    pub fn facts(&self, attrs: &PathAttributes) -> PathFacts {
        let path = attrs.as_path.as_ref();
        let asns = || path.into_iter().flat_map(|p| p.all_asns());
        PathFacts {
            has_community: self
                .require_community
                .is_none_or(|c| attrs.communities.contains(&c)),
            private_asn: self
                .reject_private_asn
                .then(|| asns().find(|a| is_private_asn(*a)))
                .flatten(),
            reserved_asn: self
                .reject_reserved_asn
                .then(|| asns().find(|a| is_reserved_asn(*a)))
                .flatten(),
            path_len: path.map_or(0, |p| p.path_len()),
            first_as: path.and_then(|p| p.first_as()),
        }
    }

    /// Transit hygiene on a route from a `transit` neighbor: bogon prefix
    /// (`reject_bogons`, `allow_prefixes`), private and reserved ASNs
    /// (`reject_private_asn`, `reject_reserved_asn`), an AS path longer
    /// than `max_as_path_len`, IPv4 longer than /24, IPv6 longer than /48,
    /// a path that does not start with the neighbor's AS. The first
    /// failure rejects. `facts` are [`Self::facts`] of `ctx.attrs`.
    pub fn check_transit(&self, ctx: &RouteContext, facts: &PathFacts) -> Result<(), Rejection> {
        self.run_transit(ctx, facts, &mut |r| Err(r))
    }

    /// Every transit check that fails, in order.
    pub fn transit_failures(&self, ctx: &RouteContext) -> Vec<Rejection> {
        let mut all = Vec::new();
        let _ = self.run_transit(ctx, &self.facts(ctx.attrs), &mut |r| {
            all.push(r);
            Ok(())
        });
        all
    }

    fn run_transit(
        &self,
        ctx: &RouteContext,
        facts: &PathFacts,
        fail: &mut dyn FnMut(Rejection) -> Result<(), Rejection>,
    ) -> Result<(), Rejection> {
        self.bogon(ctx, fail)?;
        asns(facts, fail)?;
        let len = facts.path_len;
        let max = self.transit_max_as_path_len;
        if u32::try_from(len).map_or(true, |l| l > max) {
            fail(rejection(
                AS_PATH_TOO_LONG,
                format!("AS path length {len} is over {max}"),
            ))?;
        }
        let (len, max) = match ctx.prefix {
            Prefix::V4(p) => (p.prefix_len(), LONG_PREFIX_V4),
            Prefix::V6(p) => (p.prefix_len(), LONG_PREFIX_V6),
        };
        if len > max {
            fail(rejection(
                TOO_SPECIFIC,
                format!("prefix longer than /{max} from a transit"),
            ))?;
        }
        let first = facts.first_as;
        if first != Some(ctx.neighbor_as) {
            let what = first.map_or("an empty AS path".to_string(), |a| format!("first AS {a}"));
            fail(rejection(
                FIRST_AS,
                format!("{what}, not the neighbor's AS {}", ctx.neighbor_as),
            ))?;
        }
        Ok(())
    }

    /// The bogon-prefix check (unless allowed).
    fn bogon(
        &self,
        ctx: &RouteContext,
        fail: &mut dyn FnMut(Rejection) -> Result<(), Rejection>,
    ) -> Result<(), Rejection> {
        if self.reject_bogons {
            let p = ctx.prefix.trunc();
            if !self.allow_prefixes.iter().any(|a| a.contains(&p)) {
                if let Some(reason) = bogon_reason(&p) {
                    fail(rejection(BOGON, reason))?;
                }
            }
        }
        Ok(())
    }

    /// Runs every enabled check in order, in one pass. `Err`: the first
    /// failure other than the required community, which rejects whatever
    /// the policy says. `Ok(Some)`: only the required community is missing
    /// (a policy may still take the route as a plain internet route).
    /// `facts` are [`Self::facts`] of `ctx.attrs`.
    pub fn check(
        &self,
        ctx: &RouteContext,
        facts: &PathFacts,
    ) -> Result<Option<Rejection>, Rejection> {
        let mut missing = None;
        self.run(ctx, facts, &mut |r| {
            if r.rule == MISSING_COMMUNITY {
                missing = Some(r);
                Ok(())
            } else {
                Err(r)
            }
        })?;
        Ok(missing)
    }

    /// Every enabled check that fails, in order (to explain a route fully,
    /// e.g. for `show routes --prefix` and the compliance audit).
    pub fn failures(&self, ctx: &RouteContext) -> Vec<Rejection> {
        let mut all = Vec::new();
        let _ = self.run(ctx, &self.facts(ctx.attrs), &mut |r| {
            all.push(r);
            Ok(())
        });
        all
    }

    /// Runs the checks, handing each failure to `fail`; stops when it errs.
    fn run(
        &self,
        ctx: &RouteContext,
        facts: &PathFacts,
        fail: &mut dyn FnMut(Rejection) -> Result<(), Rejection>,
    ) -> Result<(), Rejection> {
        if !facts.has_community {
            fail(rejection(MISSING_COMMUNITY, self.missing_reason.clone()))?;
        }
        asns(facts, fail)?;
        let long = match ctx.prefix {
            Prefix::V4(p) => p.prefix_len() > LONG_PREFIX_V4,
            Prefix::V6(p) => p.prefix_len() > LONG_PREFIX_V6,
        };
        let max = self.max_as_path_len_longer_than_24;
        if long && u32::try_from(facts.path_len).map_or(true, |l| l > max) {
            fail(rejection(
                AS_PATH_TOO_LONG,
                format!("AS path length should be <= {max}"),
            ))?;
        }
        self.bogon(ctx, fail)
    }
}

/// The private- and reserved-ASN checks.
fn asns(
    facts: &PathFacts,
    fail: &mut dyn FnMut(Rejection) -> Result<(), Rejection>,
) -> Result<(), Rejection> {
    if let Some(a) = facts.private_asn {
        fail(rejection(
            PRIVATE_ASN,
            format!("private ASN {a} in AS path"),
        ))?;
    }
    if let Some(a) = facts.reserved_asn {
        fail(rejection(
            RESERVED_ASN,
            format!("reserved ASN {a} in AS path"),
        ))?;
    }
    Ok(())
}
