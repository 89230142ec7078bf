//! Configuration diff for reload (SIGHUP): which neighbors to add, remove,
//! reset (a change the open session cannot absorb) or update in place, and
//! which global parts changed. Pure; the reload handler acts on the result.

use super::model::{Config, NeighborConfig};
use std::collections::BTreeSet;

/// How one neighbor changed: its name and the keys that differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborChange {
    pub name: String,
    /// Keys that changed, e.g. `["remote_as", "hold_time_s"]`.
    pub fields: Vec<&'static str>,
}

/// What a reload from `old` to `new` has to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Neighbors only in the new config (by name).
    pub neighbors_added: Vec<String>,
    /// Neighbors only in the old config.
    pub neighbors_removed: Vec<String>,
    /// Neighbors whose session must be reset: address, remote_as,
    /// local_address, port, families, password, hold time, passive,
    /// ttl_security, graceful_restart, shutdown — or a `[router]` change
    /// (asn, router_id, default hold time) that every OPEN carries.
    pub neighbors_reset: Vec<NeighborChange>,
    /// Neighbors changed without a reset: policies, max_prefixes, location,
    /// router, role, BFD timers (routes are re-evaluated, BFD re-negotiates).
    pub neighbors_updated: Vec<NeighborChange>,
    /// Named policies added, removed or changed.
    pub policies_changed: Vec<String>,
    pub router_changed: bool,
    /// `[router] listen` changed: listeners must be re-bound.
    pub listen_changed: bool,
    pub api_changed: bool,
    /// `[api] tokens_file` named another file (or none): the daemon
    /// re-reads it on every reload anyway.
    pub api_tokens_changed: bool,
    pub locations_changed: bool,
    pub registered_prefixes_changed: bool,
    pub originate_changed: bool,
    pub rules_changed: bool,
    /// `[rpki]` changed: RTR clients are started/stopped, routes re-evaluated.
    pub rpki_changed: bool,
    /// `[events]` changed: the engine's event file writer follows it.
    pub events_changed: bool,
    /// `[analytics]` changed: new routes are checked against the new lists.
    pub analytics_changed: bool,
    /// `[[bmp]]` changed: the engine task restarts the BMP exporters.
    pub bmp_changed: bool,
}

impl ConfigDiff {
    /// True when the reload changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ConfigDiff::default()
    }

    /// True when routes from `neighbor` must be re-run through import policy
    /// (its import policy or the built-in rules changed, or the neighbor did).
    pub fn needs_reimport(&self, neighbor: &NeighborConfig) -> bool {
        self.rules_changed
            || neighbor
                .import_policy
                .as_ref()
                .is_some_and(|p| self.policies_changed.contains(p))
            || self
                .neighbors_updated
                .iter()
                .any(|c| c.name == neighbor.name)
    }
}

/// Keys whose change needs a new session (they are in the OPEN or the socket).
fn reset_fields(
    o: &NeighborConfig,
    n: &NeighborConfig,
    default_hold_changed: bool,
) -> Vec<&'static str> {
    let mut f = Vec::new();
    let mut chk = |changed: bool, name: &'static str| {
        if changed {
            f.push(name)
        }
    };
    chk(o.address != n.address, "address");
    chk(o.remote_as != n.remote_as, "remote_as");
    chk(o.local_address != n.local_address, "local_address");
    chk(o.port != n.port, "port");
    chk(o.families != n.families, "families");
    chk(o.password != n.password, "password");
    chk(
        o.hold_time_s != n.hold_time_s || (n.hold_time_s.is_none() && default_hold_changed),
        "hold_time_s",
    );
    chk(o.send_hold_time_s != n.send_hold_time_s, "send_hold_time_s");
    chk(o.passive != n.passive, "passive");
    chk(o.ttl_security != n.ttl_security, "ttl_security");
    chk(o.graceful_restart != n.graceful_restart, "graceful_restart");
    chk(o.shutdown != n.shutdown, "shutdown");
    f
}

/// Keys whose change is applied to the running session.
fn update_fields(o: &NeighborConfig, n: &NeighborConfig) -> Vec<&'static str> {
    let mut f = Vec::new();
    let mut chk = |changed: bool, name: &'static str| {
        if changed {
            f.push(name)
        }
    };
    chk(o.import_policy != n.import_policy, "import_policy");
    chk(o.export_policy != n.export_policy, "export_policy");
    chk(o.builtin_rules != n.builtin_rules, "builtin_rules");
    chk(o.max_prefixes != n.max_prefixes, "max_prefixes");
    chk(o.location != n.location, "location");
    chk(o.router != n.router, "router");
    chk(o.role != n.role, "role");
    chk(o.bfd != n.bfd, "bfd");
    chk(
        o.customer_cone != n.customer_cone || o.customer_as_set_file != n.customer_as_set_file,
        "customer_asns",
    );
    f
}

/// Compares two validated configurations (neighbors matched by name).
pub fn diff(old: &Config, new: &Config) -> ConfigDiff {
    let (ro, rn) = (&old.router, &new.router);
    let router_changed = ro.asn != rn.asn || ro.router_id != rn.router_id;
    let default_hold_changed = ro.hold_time_s != rn.hold_time_s;
    let mut d = ConfigDiff {
        router_changed: router_changed || default_hold_changed || ro.location != rn.location,
        listen_changed: ro.listen != rn.listen,
        api_changed: old.api.listen != new.api.listen,
        api_tokens_changed: old.api.tokens_file != new.api.tokens_file,
        locations_changed: old.locations != new.locations,
        registered_prefixes_changed: old.registered_prefixes != new.registered_prefixes,
        originate_changed: old.originate != new.originate,
        rules_changed: old.rules != new.rules,
        ..ConfigDiff::default()
    };
    for n in &new.neighbors {
        let Some(o) = old.neighbors.iter().find(|o| o.name == n.name) else {
            d.neighbors_added.push(n.name.clone());
            continue;
        };
        let mut reset = reset_fields(o, n, default_hold_changed);
        if router_changed {
            reset.push("router");
        }
        let update = update_fields(o, n);
        if !reset.is_empty() {
            let mut fields = reset;
            fields.extend(update);
            d.neighbors_reset.push(NeighborChange {
                name: n.name.clone(),
                fields,
            });
        } else if !update.is_empty() {
            d.neighbors_updated.push(NeighborChange {
                name: n.name.clone(),
                fields: update,
            });
        }
    }
    for o in &old.neighbors {
        if !new.neighbors.iter().any(|n| n.name == o.name) {
            d.neighbors_removed.push(o.name.clone());
        }
    }
    let (op, np) = (old.policy_defs(), new.policy_defs());
    let names: BTreeSet<&String> = op.keys().chain(np.keys()).collect();
    d.rpki_changed = old.rpki != new.rpki;
    d.events_changed = old.events != new.events;
    d.analytics_changed = old.analytics != new.analytics;
    d.bmp_changed = old.bmp != new.bmp;
    d.policies_changed = names
        .into_iter()
        .filter(|k| op.get(*k) != np.get(*k))
        .cloned()
        .collect();
    d
}
