//! Route policy: pure evaluation of compiled rules. A route goes in, the
//! verdict comes out: accept (maybe with modified attributes) or reject with
//! the rule's name and reason. No I/O and no state: the route engine calls it.
//!
//! The built-in peering-service checks (`../shared/DESIGN.md` "Rules") are
//! named rules an operator switches per neighbor role; general ordered rules
//! come from TOML (compiled in `config`).

use crate::config::Role;
use crate::wire::{PathAttributes, Prefix};
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
}

/// Why a route was rejected: the rule that took it and a human reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    /// Stable rule name, used as the metric label (e.g. `missing-community`).
    pub rule: String,
    /// What exactly failed, for `show routes` (e.g. "missing community 8075:8007").
    pub reason: String,
}

/// The outcome of evaluating policy on a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accept; `Some` when the policy changed attributes.
    Accept(Option<PathAttributes>),
    Reject(Rejection),
}

/// Every policy of a configuration, compiled, plus the built-in
/// peering-service checks. Immutable; a reload compiles a new one.
#[derive(Debug, Default)]
pub struct PolicySet {}

/// A policy that does not compile, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    pub message: String,
}

impl PolicySet {
    /// Compiles the policies and rules of `cfg`.
    pub fn compile(cfg: &crate::config::Config) -> Result<PolicySet, Vec<PolicyError>> {
        let _ = cfg;
        Ok(PolicySet {})
    }

    /// Import verdict for a route received from `neighbor`: the role's
    /// built-in checks (unless `import_policy = "accept-all"`), then the
    /// neighbor's named import policy.
    pub fn import(&self, neighbor: &crate::config::NeighborConfig, ctx: &RouteContext) -> Verdict {
        let _ = (neighbor, ctx);
        Verdict::Accept(None)
    }

    /// Export verdict for a route about to be sent to `neighbor`.
    pub fn export(&self, neighbor: &crate::config::NeighborConfig, ctx: &RouteContext) -> Verdict {
        let _ = (neighbor, ctx);
        Verdict::Accept(None)
    }
}
