//! The policy language as it is written in TOML (`[policy.NAME]` tables,
//! inline in the config file or in the `policy = "FILE"` file). Plain data:
//! `crate::policy` compiles it into a `PolicySet` at load time.
//!
//! ```toml
//! [policy.contoso-in]
//! default = "reject"                  # when no rule decides: "accept" or "reject"
//!
//! [[policy.contoso-in.rule]]          # rules run in order; first accept/reject wins
//! name = "customer-space"
//! match.prefix = ["203.0.113.0/24 le 28"]   # all listed conditions must hold
//! set.local_pref = 200                # applied when the rule matches
//! action = "accept"                   # accept | reject | next
//! ```

use super::model::Role;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The `policy` key: a file path or inline `[policy.NAME]` tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PolicySource {
    /// No `policy` key: only the built-in policies exist.
    #[default]
    None,
    /// `policy = "FILE"`, relative to the config file.
    File(String),
    /// `[policy.NAME]` tables in the config file itself.
    Inline(BTreeMap<String, PolicyDef>),
}

impl PolicySource {
    /// True when the config has no `policy` key.
    pub fn is_none(&self) -> bool {
        matches!(self, PolicySource::None)
    }
}

impl<'de> Deserialize<'de> for PolicySource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PolicySource;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a policy file path or [policy.NAME] tables")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PolicySource, E> {
                Ok(PolicySource::File(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PolicySource, A::Error> {
                BTreeMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(PolicySource::Inline)
            }
        }
        d.deserialize_any(V)
    }
}

/// A policy file: nothing but `[policy.NAME]` tables.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default)]
    pub policy: BTreeMap<String, PolicyDef>,
}

/// `[policy.NAME]`: ordered rules and what happens when none decides.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDef {
    /// Required, so that every policy file states its own default.
    pub default: DefaultAction,
    /// `[[policy.NAME.rule]]`, evaluated in file order.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleDef>,
}

/// A policy's verdict when no rule accepted or rejected the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    Accept,
    Reject,
}

/// What a matching rule does after its `set` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Accept the route (with the changes made so far).
    Accept,
    /// Reject the route with the rule's `reason`.
    Reject,
    /// Keep the changes and continue with the next rule.
    Next,
    /// Import only: accept the route as a plain internet route. It is used
    /// and sent to `internal` neighbors like a transit route, never for a
    /// peering-service decision, and it is the one way to take a route from
    /// a peering-service neighbor that lacks the required community (README,
    /// "The rules and the decisions"); the other built-in checks still apply. In an export policy
    /// it accepts.
    Internet,
}

/// `[[policy.NAME.rule]]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Unique within the policy; part of the rejection's rule label.
    pub name: String,
    /// Conditions, all of which must hold; an empty `match` matches every route.
    #[serde(default, rename = "match")]
    pub matches: MatchDef,
    /// Attribute changes applied when the rule matches.
    #[serde(default)]
    pub set: SetDef,
    pub action: RuleAction,
    /// Why, for `action = "reject"` (shown by `show routes`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `match.*`: every listed condition must hold; within a list any entry may match.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchDef {
    /// Prefix list: `"PREFIX"` (exact), `"PREFIX le N"`, `"PREFIX ge N"`, `"PREFIX ge N le M"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix: Vec<String>,
    /// The route carries at least one of these communities (`"a:b"` or a well-known name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub community: Vec<String>,
    /// The route carries none of these communities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_community: Vec<String>,
    /// The route carries at least one of these large communities (`"a:b:c"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub large_community: Vec<String>,
    /// AS path length (RFC 4271: an AS_SET counts 1) within `min`..=`max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_path_len: Option<LenRange>,
    /// Any of these ASNs appears anywhere in the AS path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub as_path_contains: Vec<u32>,
    /// The origin AS (last ASN of the path) is one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin_as: Vec<u32>,
    /// The route came from one of these neighbors (by name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbor: Vec<String>,
    /// The route came from a neighbor with one of these roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role: Vec<Role>,
    /// The route came from a neighbor at one of these locations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<String>,
    /// The route's RPKI origin validation state (RFC 6811) is one of these
    /// (`"valid"`, `"invalid"`, `"not-found"`). Never matches when `[rpki]`
    /// is not configured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rpki: Vec<crate::rpki::RpkiState>,
}

/// `as_path_len = { min = 1, max = 3 }`; either bound may be left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LenRange {
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
}

/// `set.*`: attribute changes of a matching rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_community: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_community: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_large_community: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_large_community: Vec<String>,
    /// Prepend our own ASN this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepend: Option<u8>,
}

impl SetDef {
    /// True when the rule changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == SetDef::default()
    }
}
