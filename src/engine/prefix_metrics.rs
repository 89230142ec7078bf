//! Prefix monitoring: for every activated registered prefix (never per
//! received route, so the series stay bounded by the registration), its
//! decision state, the sessions that carry it at its primary and backup
//! locations, when its decision last changed, and whether what is received
//! for it is as registered (origin, RPKI). Written by the route engine task
//! for the registered prefixes a pass touched; removed when a reload drops
//! the registration.

use super::admission::RULE_ORIGIN_MISMATCH;
use super::core::EngineCore;
use super::decision::DecisionState;
use crate::metrics::METRICS;
use crate::rib::PathFlags;
use crate::wire::Prefix;

const STATES: [DecisionState; 4] = [
    DecisionState::Primary,
    DecisionState::Backup,
    DecisionState::Internet,
    DecisionState::Unreachable,
];

impl EngineCore {
    /// Sets the series of registered prefix `p` from its decision.
    pub(crate) fn prefix_metrics(&self, p: &Prefix) {
        let Some(d) = self.decisions.get(p) else {
            return;
        };
        let label = p.to_string();
        for s in STATES {
            METRICS
                .registered_prefix_state
                .with_label_values(&[&label, s.as_str()])
                .set(i64::from(d.state == s));
        }
        let primary = self.sessions_at(p, d.primary);
        let backup = d.backup.map_or(0, |b| self.sessions_at(p, b));
        for (site, n) in [("primary", primary), ("backup", backup)] {
            METRICS
                .registered_prefix_sessions
                .with_label_values(&[&label, site])
                .set(n as i64);
        }
        METRICS
            .registered_prefix_last_change_timestamp_seconds
            .with_label_values(&[&label])
            .set((d.changed_at / 1000) as i64);
        let paths = self.rib.paths(p);
        let origin_ok = !paths.iter().any(|e| {
            self.rib
                .rejection(p, e)
                .is_some_and(|r| r.rule == RULE_ORIGIN_MISMATCH)
        });
        let rpki_ok = !paths
            .iter()
            .any(|e| e.flags.contains(PathFlags::RPKI_INVALID));
        for (check, ok) in [("origin", origin_ok), ("rpki", rpki_ok)] {
            METRICS
                .registered_prefix_as_registered
                .with_label_values(&[&label, check])
                .set(i64::from(ok));
        }
    }

    /// Removes the series of a prefix that is no longer registered.
    pub(crate) fn forget_prefix_metrics(p: &Prefix) {
        let label = p.to_string();
        for s in STATES {
            let _ = METRICS
                .registered_prefix_state
                .remove_label_values(&[&label, s.as_str()]);
        }
        for site in ["primary", "backup"] {
            let _ = METRICS
                .registered_prefix_sessions
                .remove_label_values(&[&label, site]);
        }
        let _ = METRICS
            .registered_prefix_last_change_timestamp_seconds
            .remove_label_values(&[&label]);
        for check in ["origin", "rpki"] {
            let _ = METRICS
                .registered_prefix_as_registered
                .remove_label_values(&[&label, check]);
        }
    }
}
