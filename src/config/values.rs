//! Values written as text in the configuration and their parsers:
//! communities (RFC 1997 and the well-known names), large communities
//! (RFC 8092), and the names of the built-in policies. Used by validation
//! (every bad value reported at its place), by the typed running
//! configuration (`crate::running`) and by the policy compiler.

use crate::wire::{Community, LargeCommunity};
use serde::{Deserialize, Deserializer};

/// `backup = "none"`: no backup location, fail over to the internet.
pub const BACKUP_NONE: &str = "none";

/// `[[registered_prefixes]] backup`: `"none"` is the same as no key.
pub fn backup<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|b| b != BACKUP_NONE))
}

/// Built-in import policy name: skip the role's built-in checks, accept all.
pub const ACCEPT_ALL: &str = "accept-all";
/// Built-in export policy name: announce nothing.
pub const EXPORT_NONE: &str = "none";

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
}
