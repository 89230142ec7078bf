//! Route policy: pure evaluation of compiled rules. A route goes in, the
//! verdict comes out: accept (maybe with modified attributes) or reject with
//! the rule's name and reason. No I/O and no state: the route engine calls it,
//! and the session tasks, ahead of it ([`ahead`]).
//!
//! The built-in peering-service checks (README, "The rules and the decisions") are
//! named rules (`builtin`) applied to `peering-service` neighbors; general
//! ordered rules come from the TOML policy language (`config::PolicyDef`,
//! compiled by `compiled`). `PolicySet` is built once per (re)load by the
//! config loader and shared read-only (`Arc`) with the route engine task.

pub mod ahead;
pub mod builtin;
pub mod compiled;
pub mod parse;
pub mod rule;

pub use rule::Rule;

use crate::config::{PathSeg, Role};
use crate::wire::{PathAttributes, Prefix};
use std::collections::HashMap;
use std::net::IpAddr;

/// What policy sees of one route.
#[derive(Debug, Clone, Copy)]
pub struct RouteContext<'a> {
    pub prefix: Prefix,
    pub attrs: &'a PathAttributes,
    /// Neighbor name, as configured.
    pub neighbor: &'a str,
    pub neighbor_address: IpAddr,
    pub neighbor_as: u32,
    pub role: Role,
    pub location: &'a str,
    /// RPKI origin validation state (RFC 6811); `None` when RPKI is off.
    pub rpki: Option<crate::rpki::RpkiState>,
}

impl<'a> RouteContext<'a> {
    /// The context of `prefix` with `attrs` to or from `neighbor` (the one
    /// place it is built: import, export and the audit).
    pub fn new(
        prefix: Prefix,
        attrs: &'a PathAttributes,
        neighbor: &'a crate::config::NeighborConfig,
        rpki: Option<crate::rpki::RpkiState>,
    ) -> Self {
        RouteContext {
            prefix,
            attrs,
            neighbor: &neighbor.name,
            neighbor_address: neighbor.address,
            neighbor_as: neighbor.remote_as,
            role: neighbor.role,
            location: &neighbor.location,
            rpki,
        }
    }
}

/// Why a route was rejected: the rule that took it and a human reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Rejection {
    /// Stable rule name, used as the metric label (e.g. `missing-community`).
    pub rule: Rule,
    /// What exactly failed, for `show routes` (e.g. "missing community 8075:8007").
    pub reason: String,
}

/// The outcome of evaluating policy on a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accept; `Some` when the policy changed attributes.
    Accept(Option<PathAttributes>),
    /// Accept as a plain internet route (a rule with `action = "internet"`):
    /// used like a transit route, never for peering-service decisions.
    Internet(Option<PathAttributes>),
    Reject(Rejection),
}

/// Every policy of a configuration, compiled, plus the built-in
/// peering-service checks. Immutable; a reload compiles a new one.
#[derive(Debug, Default)]
pub struct PolicySet {
    /// Our ASN, prepended by `set.prepend`.
    asn: u32,
    builtin: builtin::BuiltinRules,
    policies: HashMap<String, compiled::Policy>,
}

/// A policy that does not compile, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    pub message: String,
    /// Key path of the offending value in the file that holds the policy
    /// (`policy.NAME.rule.N...`); empty when it has no single place.
    pub path: Vec<PathSeg>,
}

pub use crate::config::values::{ACCEPT_ALL, EXPORT_NONE};
/// Rule label of a rejection by `export_policy = "none"`.
pub const EXPORT_NONE_RULE: Rule = Rule::ExportNone;
/// Rule label when a neighbor names a policy this set does not have
/// (validation prevents it; the route is rejected rather than let through).
pub const UNKNOWN_POLICY_RULE: Rule = Rule::UnknownPolicy;

impl PolicySet {
    /// Compiles the policies and rules of `cfg`.
    pub fn compile(cfg: &crate::config::Config) -> Result<PolicySet, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let builtin = builtin::BuiltinRules::from_config(&cfg.rules).unwrap_or_else(|message| {
            errors.push(PolicyError {
                message,
                path: vec![
                    PathSeg::Key("rules".into()),
                    PathSeg::Key("require_community".into()),
                ],
            });
            builtin::BuiltinRules::default()
        });
        let neighbors: Vec<String> = cfg.neighbors.iter().map(|n| n.name.clone()).collect();
        let locations: Vec<String> = cfg.locations.iter().map(|l| l.name.clone()).collect();
        let known = compiled::KnownNames {
            neighbors: &neighbors,
            locations: &locations,
        };
        let mut policies = HashMap::new();
        for (name, def) in cfg.policy_defs() {
            let base = [PathSeg::Key("policy".into()), PathSeg::Key(name.clone())];
            if name == ACCEPT_ALL || name == EXPORT_NONE {
                errors.push(PolicyError {
                    message: format!("policy name \"{name}\" is reserved for the built-in policy"),
                    path: base.to_vec(),
                });
                continue;
            }
            match compiled::Policy::compile(name, def, &base, known) {
                Ok(p) => {
                    policies.insert(name.clone(), p);
                }
                Err(e) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(PolicySet {
                asn: cfg.router.asn,
                builtin,
                policies,
            })
        } else {
            Err(errors)
        }
    }

    /// True when `name` is a compiled policy of this set.
    pub fn has_policy(&self, name: &str) -> bool {
        self.policies.contains_key(name)
    }

    /// The built-in peering-service checks alone (for explaining a route).
    pub fn builtin(&self) -> &builtin::BuiltinRules {
        &self.builtin
    }

    /// Import verdict for a route received from `neighbor`: the role's
    /// built-in rules (unless `import_policy = "accept-all"` or
    /// `builtin_rules = false`: peering-service checks, transit hygiene),
    /// then the neighbor's named import policy. A route that fails only the
    /// required-community check is rejected for it unless the named policy
    /// takes it as a plain internet route (`action = "internet"`). An eBGP
    /// neighbor with neither built-in rules nor an import policy imports
    /// nothing (RFC 8212).
    pub fn import(&self, neighbor: &crate::config::NeighborConfig, ctx: &RouteContext) -> Verdict {
        self.import_with(neighbor, ctx, None)
    }

    /// [`Self::import`], with the built-in rules' facts of `ctx.attrs`
    /// worked out already (`facts`, from [`builtin::BuiltinRules::facts`]):
    /// the prefixes of one UPDATE share them.
    pub fn import_with(
        &self,
        neighbor: &crate::config::NeighborConfig,
        ctx: &RouteContext,
        facts: Option<&builtin::PathFacts>,
    ) -> Verdict {
        let named = neighbor.import_policy.as_deref();
        if let Some(r) = no_policy(neighbor, "import") {
            return Verdict::Reject(r);
        }
        let rules = neighbor.builtin_rules && named != Some(ACCEPT_ALL);
        let mut missing_community = None;
        if rules && matches!(neighbor.role, Role::Transit | Role::PeeringService) {
            let own;
            let facts = match facts {
                Some(f) => f,
                None => {
                    own = self.builtin.facts(ctx.attrs);
                    &own
                }
            };
            if neighbor.role == Role::Transit {
                if let Err(r) = self.builtin.check_transit(ctx, facts) {
                    return Verdict::Reject(r);
                }
            } else {
                match self.builtin.check(ctx, facts) {
                    Ok(missing) => missing_community = missing,
                    Err(r) => return Verdict::Reject(r),
                }
            }
        }
        let verdict = match named {
            None | Some(ACCEPT_ALL) => Verdict::Accept(None),
            Some(name) => self.named(name, "import", ctx),
        };
        match (missing_community, verdict) {
            (None, v) | (Some(_), v @ (Verdict::Internet(_) | Verdict::Reject(_))) => v,
            (Some(r), Verdict::Accept(_)) => Verdict::Reject(r),
        }
    }

    /// Every reason `import` would reject the route for, not only the
    /// first: each failing built-in check, then the named policy's rejection
    /// (evaluated as if the built-in checks had passed). Empty = accepted.
    pub fn explain_import(
        &self,
        neighbor: &crate::config::NeighborConfig,
        ctx: &RouteContext,
    ) -> Vec<Rejection> {
        let named = neighbor.import_policy.as_deref();
        if let Some(r) = no_policy(neighbor, "import") {
            return vec![r];
        }
        let rules = neighbor.builtin_rules && named != Some(ACCEPT_ALL);
        let mut all = Vec::new();
        if rules && neighbor.role == Role::PeeringService {
            all = self.builtin.failures(ctx);
        }
        if rules && neighbor.role == Role::Transit {
            all = self.builtin.transit_failures(ctx);
        }
        if let Some(name) = named.filter(|n| *n != ACCEPT_ALL) {
            match self.named(name, "import", ctx) {
                Verdict::Reject(r) => all.push(r),
                Verdict::Internet(_) => all.retain(|r| r.rule != builtin::MISSING_COMMUNITY),
                Verdict::Accept(_) => {}
            }
        }
        all
    }

    /// Export verdict for a route about to be sent to `neighbor`: the
    /// neighbor's named export policy (`"none"` rejects everything; no
    /// policy accepts unchanged).
    pub fn export(&self, neighbor: &crate::config::NeighborConfig, ctx: &RouteContext) -> Verdict {
        if let Some(r) = no_policy(neighbor, "export") {
            return Verdict::Reject(r);
        }
        match neighbor.export_policy.as_deref() {
            None => Verdict::Accept(None),
            Some(EXPORT_NONE) => Verdict::Reject(Rejection {
                rule: EXPORT_NONE_RULE,
                reason: "export policy is \"none\"".to_string(),
            }),
            Some(name) => match self.named(name, "export", ctx) {
                Verdict::Internet(m) => Verdict::Accept(m),
                v => v,
            },
        }
    }

    fn named(&self, name: &str, dir: &str, ctx: &RouteContext) -> Verdict {
        match self.policies.get(name) {
            Some(p) => p.eval(ctx, self.asn),
            None => Verdict::Reject(Rejection {
                rule: UNKNOWN_POLICY_RULE,
                reason: format!("unknown {dir} policy \"{name}\""),
            }),
        }
    }
}

/// RFC 8212: an eBGP neighbor with neither built-in rules nor a policy for
/// this direction (`"import"`, `"export"`) gets the `no-policy` rejection.
fn no_policy(neighbor: &crate::config::NeighborConfig, dir: &str) -> Option<Rejection> {
    neighbor.rfc8212_closes(dir).then(|| Rejection {
        rule: builtin::NO_POLICY,
        reason: format!(
            "eBGP neighbor with no built-in rules and no {dir} policy: nothing is {dir}ed (RFC 8212)"
        ),
    })
}
