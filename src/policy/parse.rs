//! Parsing of the policy language's own values: prefix-list entries
//! (`"PREFIX ge N le M"`). Communities are the config's values
//! (`crate::config::values`), shared with the rest of the file.

use crate::wire::Prefix;

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
