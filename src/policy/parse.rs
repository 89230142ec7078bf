//! Parsing of the policy vocabulary's values: communities (RFC 1997 and the
//! well-known names), large communities (RFC 8092) and prefix-list entries
//! (`"PREFIX ge N le M"`). Shared by config validation and policy compilation.

use crate::wire::{Community, LargeCommunity, Prefix};

/// Well-known community names accepted wherever a community is written.
pub const WELL_KNOWN_COMMUNITIES: [(&str, Community); 5] = [
    ("no-export", Community::NO_EXPORT),
    ("no-advertise", Community::NO_ADVERTISE),
    ("no-export-subconfed", Community::NO_EXPORT_SUBCONFED),
    ("graceful-shutdown", Community::GRACEFUL_SHUTDOWN),
    ("blackhole", Community::BLACKHOLE),
];

/// Parses `"a:b"` (two 16-bit parts) or a well-known name (`no-export`,
/// `no-advertise`, `no-export-subconfed`, `graceful-shutdown`, `blackhole`).
pub fn parse_community(s: &str) -> Result<Community, String> {
    let t = s.trim();
    let name = t.to_ascii_lowercase().replace('_', "-");
    if let Some((_, c)) = WELL_KNOWN_COMMUNITIES.iter().find(|(n, _)| *n == name) {
        return Ok(*c);
    }
    let bad = || {
        format!("invalid community \"{s}\": expected \"a:b\" with a and b in 0..=65535, or a well-known name")
    };
    let (a, b) = t.split_once(':').ok_or_else(bad)?;
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    Ok(Community::new(a, b))
}

/// Parses `"a:b:c"` (three 32-bit parts, RFC 8092).
pub fn parse_large_community(s: &str) -> Result<LargeCommunity, String> {
    let bad = || {
        format!(
            "invalid large community \"{s}\": expected \"a:b:c\" with each part in 0..=4294967295"
        )
    };
    let mut parts = s.trim().split(':');
    let mut next =
        || -> Result<u32, String> { parts.next().ok_or_else(bad)?.parse().map_err(|_| bad()) };
    let lc = LargeCommunity {
        global: next()?,
        local1: next()?,
        local2: next()?,
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(lc)
}

/// One prefix-list entry: routes inside `net` whose length is within `ge..=le`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixEntry {
    pub net: Prefix,
    pub ge: u8,
    pub le: u8,
}

impl PrefixEntry {
    /// True when `route` (same family) lies inside `net` with a length in `ge..=le`.
    pub fn matches(&self, route: &Prefix) -> bool {
        let len = route.prefix_len();
        len >= self.ge && len <= self.le && self.net.contains(&route.trunc())
    }
}

/// Parses `"PREFIX"` (exactly that prefix), `"PREFIX le N"`, `"PREFIX ge N"`
/// or `"PREFIX ge N le M"`, requiring len ≤ ge ≤ le ≤ the family's maximum.
pub fn parse_prefix_entry(s: &str) -> Result<PrefixEntry, String> {
    let mut words = s.split_whitespace();
    let first = words.next().ok_or_else(|| "empty prefix".to_string())?;
    let net: Prefix = first
        .parse()
        .map_err(|_| format!("invalid prefix \"{first}\": expected ADDRESS/LENGTH"))?;
    if net.trunc() != net {
        return Err(format!(
            "prefix {net} has host bits set (did you mean {}?)",
            net.trunc()
        ));
    }
    let max = net.max_prefix_len();
    let (mut ge, mut le) = (None, None);
    while let Some(w) = words.next() {
        let slot = match w {
            "ge" => &mut ge,
            "le" => &mut le,
            other => {
                return Err(format!(
                    "in \"{s}\": expected \"ge N\" or \"le N\" after the prefix, found \"{other}\""
                ))
            }
        };
        let n: u8 = words
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("in \"{s}\": \"{w}\" needs a prefix length"))?;
        if slot.replace(n).is_some() {
            return Err(format!("in \"{s}\": \"{w}\" given twice"));
        }
    }
    let len = net.prefix_len();
    let (ge, le) = match (ge, le) {
        (None, None) => (len, len),
        (Some(g), None) => (g, max),
        (None, Some(l)) => (len, l),
        (Some(g), Some(l)) => (g, l),
    };
    if !(len <= ge && ge <= le && le <= max) {
        return Err(format!(
            "in \"{s}\": lengths must satisfy {len} <= ge <= le <= {max}"
        ));
    }
    Ok(PrefixEntry { net, ge, le })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_parses_numbers_and_well_known_names() {
        assert_eq!(parse_community("8075:8007"), Ok(Community::new(8075, 8007)));
        assert_eq!(parse_community("no-export"), Ok(Community::NO_EXPORT));
        assert_eq!(
            parse_community("GRACEFUL_SHUTDOWN"),
            Ok(Community::GRACEFUL_SHUTDOWN)
        );
        assert!(parse_community("65536:1").is_err());
        assert!(parse_community("1:2:3").is_err());
        assert!(parse_community("nope").is_err());
    }

    #[test]
    fn large_community_needs_three_32_bit_parts() {
        assert_eq!(
            parse_large_community("4200000000:1:2"),
            Ok(LargeCommunity {
                global: 4_200_000_000,
                local1: 1,
                local2: 2
            })
        );
        assert!(parse_large_community("1:2").is_err());
        assert!(parse_large_community("1:2:3:4").is_err());
        assert!(parse_large_community("1:2:4294967296").is_err());
    }

    #[test]
    fn prefix_entry_ge_le_bound_the_matched_lengths() {
        let e = parse_prefix_entry("203.0.113.0/24 le 28").unwrap_or_else(|e| panic!("{e}"));
        assert!(e.matches(&"203.0.113.0/24".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(e.matches(&"203.0.113.16/28".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(!e.matches(&"203.0.113.16/29".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(!e.matches(&"203.0.112.0/23".parse().unwrap_or_else(|e| panic!("{e}"))));
        let exact = parse_prefix_entry("2001:db8::/32").unwrap_or_else(|e| panic!("{e}"));
        assert!(!exact.matches(&"2001:db8::/48".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(parse_prefix_entry("10.0.0.0/8 ge 7").is_err());
        assert!(parse_prefix_entry("10.0.0.0/8 le 33").is_err());
        assert!(parse_prefix_entry("10.0.0.1/8").is_err());
        assert!(parse_prefix_entry("10.0.0.0/8 foo 3").is_err());
    }
}
