//! Which rule rejected a route ([`Rule`]): a built-in rule is a variant, a
//! policy's rule is its `POLICY/RULE` label, made once when the policy is
//! compiled and shared by every route it rejects. No rejected path carries
//! a `String` of its rule, and the engine's per-rule counters compare
//! variants, not text. The name ([`Rule::as_str`]) is the stable label the
//! metrics, the API, the CLI and BMP show.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// The rule that rejected a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `missing-community`: the route lacks `rules.require_community`.
    MissingCommunity,
    /// `private-asn`: a private ASN (RFC 6996) in the AS path.
    PrivateAsn,
    /// `reserved-asn`: a reserved ASN in the AS path.
    ReservedAsn,
    /// `as-path-too-long`: AS path too long for a prefix longer than /24
    /// (IPv6: /48), or a transit route's path over its limit.
    AsPathTooLong,
    /// `bogon`: a bogon prefix.
    Bogon,
    /// `too-specific`: a transit route more specific than /24 (IPv6: /48).
    TooSpecific,
    /// `first-as`: a transit route whose AS path does not start with the
    /// neighbor's AS.
    FirstAs,
    /// `no-policy`: RFC 8212, an eBGP session with no rules and no policy.
    NoPolicy,
    /// `export-none`: `export_policy = "none"`.
    ExportNone,
    /// `unknown-policy`: the neighbor names a policy the set does not have.
    UnknownPolicy,
    /// `otc-leak`: RFC 9234 route leak (OTC).
    OtcLeak,
    /// `rpki-invalid`: RFC 6811 origin validation found it invalid.
    RpkiInvalid,
    /// `max-prefix`: beyond the max-prefix limit (action refuse).
    MaxPrefix,
    /// `origin-mismatch`: a registered prefix from another origin AS.
    OriginMismatch,
    /// `unexpected-more-specific`: a more-specific of a registered prefix.
    UnexpectedMoreSpecific,
    /// `as-zero`: AS 0 in the AS path (RFC 7607).
    AsZero,
    /// `as-set`: an AS_SET in the AS path (RFC 9774).
    AsSet,
    /// `as-loop`: our own AS in the AS path.
    AsLoop,
    /// `internal`: a path the engine could not evaluate.
    Internal,
    /// `unknown`: a rejected path whose reason is not held.
    Unknown,
    /// A policy's rule: `POLICY/RULE`, or `POLICY/default`.
    Policy(Arc<str>),
}

/// Every rule that is not a policy's, for [`Rule::named`].
const FIXED: [Rule; 20] = [
    Rule::MissingCommunity,
    Rule::PrivateAsn,
    Rule::ReservedAsn,
    Rule::AsPathTooLong,
    Rule::Bogon,
    Rule::TooSpecific,
    Rule::FirstAs,
    Rule::NoPolicy,
    Rule::ExportNone,
    Rule::UnknownPolicy,
    Rule::OtcLeak,
    Rule::RpkiInvalid,
    Rule::MaxPrefix,
    Rule::OriginMismatch,
    Rule::UnexpectedMoreSpecific,
    Rule::AsZero,
    Rule::AsSet,
    Rule::AsLoop,
    Rule::Internal,
    Rule::Unknown,
];

impl Rule {
    /// The rule's stable name (the `rule` metric label).
    pub fn as_str(&self) -> &str {
        match self {
            Rule::Policy(label) => label,
            fixed => fixed.fixed_name(),
        }
    }

    /// A fixed rule's name; "" for a policy's (see [`Rule::as_str`]).
    pub const fn fixed_name(&self) -> &'static str {
        match self {
            Rule::MissingCommunity => "missing-community",
            Rule::PrivateAsn => "private-asn",
            Rule::ReservedAsn => "reserved-asn",
            Rule::AsPathTooLong => "as-path-too-long",
            Rule::Bogon => "bogon",
            Rule::TooSpecific => "too-specific",
            Rule::FirstAs => "first-as",
            Rule::NoPolicy => "no-policy",
            Rule::ExportNone => "export-none",
            Rule::UnknownPolicy => "unknown-policy",
            Rule::OtcLeak => "otc-leak",
            Rule::RpkiInvalid => "rpki-invalid",
            Rule::MaxPrefix => "max-prefix",
            Rule::OriginMismatch => "origin-mismatch",
            Rule::UnexpectedMoreSpecific => "unexpected-more-specific",
            Rule::AsZero => "as-zero",
            Rule::AsSet => "as-set",
            Rule::AsLoop => "as-loop",
            Rule::Internal => "internal",
            Rule::Unknown => "unknown",
            Rule::Policy(_) => "",
        }
    }

    /// The rule of this name: a fixed one by its name, anything else a
    /// policy's label.
    pub fn named(name: &str) -> Rule {
        FIXED
            .iter()
            .find(|r| r.fixed_name() == name)
            .cloned()
            .unwrap_or_else(|| Rule::Policy(Arc::from(name)))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Rule {
    fn from(name: &str) -> Rule {
        Rule::named(name)
    }
}

/// By name, as the counters and metrics list them. A policy label always
/// has a `/`, so no fixed rule shares a name with one; the tie-break keeps
/// the order total anyway.
impl Ord for Rule {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str()
            .cmp(other.as_str())
            .then_with(|| matches!(self, Rule::Policy(_)).cmp(&matches!(other, Rule::Policy(_))))
    }
}

impl PartialOrd for Rule {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<str> for Rule {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Rule {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_maps_to_its_rule_and_back() {
        for r in FIXED {
            assert_eq!(Rule::named(r.as_str()), r);
            assert!(!r.as_str().is_empty() && !r.as_str().contains('/'));
        }
        let label = Rule::named("transit-in/no-leaks");
        assert_eq!(label, Rule::Policy(Arc::from("transit-in/no-leaks")));
        assert_eq!(label, "transit-in/no-leaks");
        assert_eq!(Rule::named("bogon"), Rule::Bogon);
        assert_eq!(Rule::Bogon.to_string(), "bogon");
        assert_eq!(
            serde_json::to_string(&Rule::MaxPrefix).unwrap_or_default(),
            "\"max-prefix\""
        );
    }

    #[test]
    fn rules_sort_by_name() {
        let mut v = [
            Rule::PrivateAsn,
            Rule::named("p/default"),
            Rule::Bogon,
            Rule::MissingCommunity,
        ];
        v.sort();
        let names: Vec<&str> = v.iter().map(Rule::as_str).collect();
        assert_eq!(
            names,
            ["bogon", "missing-community", "p/default", "private-asn"]
        );
    }
}
