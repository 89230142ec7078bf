//! RPKI origin validation inside the route engine task: the current VRP
//! snapshot (from the RTR clients' `watch` channel, see [`crate::rpki`]),
//! each path's state in two [`PathFlags`] bits, the built-in rule
//! `rpki-invalid`, re-evaluation of the paths whose state a new snapshot
//! changes (no session reset), and the `coldpotato_rpki_routes` gauge.

use super::core::EngineCore;
use super::pass::Pass;
use crate::config::Role;
use crate::metrics::METRICS;
use crate::policy::{Rejection, Rule};
use crate::rib::{NeighborIdx, PathEntry, PathFlags};
use crate::rpki::{RpkiState, Snapshot, VrpTable};
use crate::wire::Prefix;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Rule name of a route rejected as RPKI invalid (`[rpki] reject_invalid`).
pub const RULE_RPKI_INVALID: Rule = Rule::RpkiInvalid;

/// The two flag bits of a state.
pub fn state_flags(state: Option<RpkiState>) -> PathFlags {
    match state {
        Some(RpkiState::Valid) => PathFlags::RPKI_VALID,
        Some(RpkiState::Invalid) => PathFlags::RPKI_INVALID,
        _ => PathFlags::empty(),
    }
}

/// The state the flags carry, when RPKI is `enabled`.
pub fn flags_state(flags: PathFlags, enabled: bool) -> Option<RpkiState> {
    if !enabled {
        None
    } else if flags.contains(PathFlags::RPKI_VALID) {
        Some(RpkiState::Valid)
    } else if flags.contains(PathFlags::RPKI_INVALID) {
        Some(RpkiState::Invalid)
    } else {
        Some(RpkiState::NotFound)
    }
}

/// A route's origin AS for a rejection reason: `AS64500`, or why there is none.
pub(crate) fn origin_text(origin: Option<u32>) -> String {
    origin.map_or("none (AS_SET or empty path)".to_string(), |o| {
        format!("AS{o}")
    })
}

impl EngineCore {
    /// Whether `[rpki]` is configured.
    pub fn rpki_enabled(&self) -> bool {
        self.cfg.rpki.is_some()
    }

    /// Whether some policy rule matches on `rpki` (export then validates).
    pub(crate) fn rpki_in_policies(&self) -> bool {
        self.cfg.rpki.is_some()
            && self
                .cfg
                .policy_defs()
                .values()
                .any(|p| p.rules.iter().any(|r| !r.matches.rpki.is_empty()))
    }

    /// The validation state of a route, `None` when RPKI is off. Until a
    /// first snapshot arrives every route is `not-found`.
    pub(crate) fn rpki_state(&self, prefix: &Prefix, origin: Option<u32>) -> Option<RpkiState> {
        self.cfg.rpki.as_ref()?;
        Some(match &self.rpki {
            Some(t) => t.validate(prefix, origin),
            None => RpkiState::NotFound,
        })
    }

    /// The `rpki-invalid` rejection, when `reject_invalid` is on, the route
    /// comes from a peering-service or transit neighbor and is invalid.
    pub(crate) fn rpki_rejection(
        &self,
        role: Role,
        prefix: &Prefix,
        origin: Option<u32>,
        state: Option<RpkiState>,
    ) -> Option<Rejection> {
        if state != Some(RpkiState::Invalid)
            || role == Role::Internal
            || !self.cfg.rpki.as_ref().is_some_and(|r| r.reject_invalid)
        {
            return None;
        }
        let covering = self
            .rpki
            .as_ref()
            .map(|t| t.covering(prefix))
            .unwrap_or_default();
        const SHOWN: usize = 3;
        let mut vrps: Vec<String> = covering.iter().take(SHOWN).map(|v| v.to_string()).collect();
        if covering.len() > SHOWN {
            vrps.push(format!("and {} more", covering.len() - SHOWN));
        }
        let origin = origin_text(origin);
        let plural = if covering.len() == 1 { "VRP" } else { "VRPs" };
        Some(Rejection {
            rule: RULE_RPKI_INVALID,
            reason: format!(
                "RPKI invalid: origin {origin} not authorized for {prefix} ({plural} {})",
                vrps.join(", ")
            ),
        })
    }

    /// A new VRP snapshot: re-evaluates the paths whose state changes.
    /// Only prefixes covered by a VRP that came or went can change, so the
    /// RIB is scanned against that (usually tiny) difference, and only
    /// those paths are validated against the whole table.
    pub(crate) fn rpki_update(&mut self, snapshot: Snapshot, now: Instant, pass: &mut Pass) {
        let old = std::mem::replace(&mut self.rpki, snapshot);
        if !self.rpki_enabled() {
            return;
        }
        let started = Instant::now();
        let diff: Arc<VrpTable> = match (&old, &self.rpki) {
            (None, None) => return,
            (None, Some(t)) | (Some(t), None) => t.clone(),
            (Some(o), Some(n)) => Arc::new(o.changes(n)),
        };
        if diff.is_empty() {
            return;
        }
        let mut todo: HashMap<NeighborIdx, Vec<(Prefix, PathEntry)>> = HashMap::new();
        let mut changed = 0usize;
        for (p, paths) in self.rib.iter() {
            if !diff.covers(&p) {
                continue;
            }
            for &e in paths {
                if e.flags.contains(PathFlags::REFUSED) {
                    continue;
                }
                let origin = self
                    .rib
                    .attrs
                    .get(e.attr)
                    .and_then(|a| a.as_path.as_ref().and_then(|x| x.origin_as()));
                if flags_state(e.flags, true) != self.rpki_state(&p, origin) {
                    todo.entry(e.neighbor).or_default().push((p, e));
                    changed += 1;
                }
            }
        }
        for (idx, paths) in todo {
            self.reevaluate_paths(idx, paths, now, pass);
            pass.touched.insert(idx);
        }
        tracing::info!(
            vrps = self.rpki.as_ref().map_or(0, |t| t.len()),
            vrps_changed = diff.len(),
            changed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "RPKI: VRP snapshot applied"
        );
        if changed > 0 {
            pass.all_decisions = true;
        }
    }

    /// Sets `coldpotato_rpki_routes` from the neighbors' counters.
    pub(crate) fn rpki_metrics(&self) {
        if !self.rpki_enabled() {
            return;
        }
        let mut sum = [0u64; 3];
        for n in self.neighbors.iter().flatten() {
            for (s, v) in sum.iter_mut().zip(n.rpki) {
                *s += v;
            }
        }
        for (state, v) in [RpkiState::Valid, RpkiState::Invalid, RpkiState::NotFound]
            .iter()
            .zip(sum)
        {
            METRICS
                .rpki_routes
                .with_label_values(&[state.as_str()])
                .set(v as i64);
        }
    }
}
