//! Read-only views for the API (`Query::{Neighbors, Routes, Decisions}`)
//! and the engine's Prometheus metrics, computed inside the route engine
//! task from its own state.

use super::core::EngineCore;
use super::pass::Pass;
use crate::config::LocationId;
use crate::messages::views::{AsPathElem, DecisionView, NeighborView, RouteView};
use crate::metrics::METRICS;
use crate::rib::{PathEntry, PathFlags};
use crate::wire::{Origin, PathAttributes, Prefix, SegmentType};
use std::time::{Duration, Instant};

pub(crate) fn as_path_view(a: &PathAttributes) -> Vec<AsPathElem> {
    let mut out = Vec::new();
    for s in a.as_path.iter().flat_map(|p| p.segments.iter()) {
        match s.kind {
            SegmentType::Sequence | SegmentType::ConfedSequence => {
                out.extend(s.asns.iter().map(|x| AsPathElem::Asn(*x)))
            }
            SegmentType::Set | SegmentType::ConfedSet => out.push(AsPathElem::Set(s.asns.clone())),
        }
    }
    out
}

/// The ORIGIN as the API names it.
pub(crate) fn origin_name(a: &PathAttributes) -> &'static str {
    match a.origin {
        Some(Origin::Igp) => "igp",
        Some(Origin::Egp) => "egp",
        Some(Origin::Incomplete) => "incomplete",
        None => "none",
    }
}

/// Milliseconds with microsecond precision, for the JSON views.
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

impl EngineCore {
    pub(crate) fn neighbor_views(&self, now: Instant) -> Vec<NeighborView> {
        self.neighbors
            .iter()
            .flatten()
            .map(|n| NeighborView {
                name: n.cfg.name.clone(),
                address: n.cfg.address.to_string(),
                remote_as: n.cfg.remote_as,
                location: n.cfg.location.clone(),
                role: n.cfg.role.as_str().to_string(),
                state: n.state.to_string(),
                bfd_state: n.bfd.as_str().to_string(),
                uptime_s: n
                    .established_at
                    .map_or(0, |t| now.saturating_duration_since(t).as_secs()),
                prefixes_received: n.received,
                prefixes_accepted: n.accepted,
                prefixes_rejected: n
                    .rejected
                    .iter()
                    .filter(|(_, v)| **v > 0)
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect(),
                last_error: n.last_error.clone(),
                state_since_s: n
                    .state_since
                    .map_or(0, |t| now.saturating_duration_since(t).as_secs()),
                last_error_age_s: n
                    .last_error_at
                    .map(|t| now.saturating_duration_since(t).as_secs()),
                rfc8212: rfc8212(&n.cfg),
                rtt_ms: n.rtt.map(|m| millis(m.mean)),
                rtt_var_ms: n.rtt.map(|m| millis(m.deviation)),
                bfd_rx_interval_ms: n.bfd_rx.map(|m| millis(m.mean)),
                bfd_rx_jitter_ms: n.bfd_rx.map(|m| millis(m.deviation)),
            })
            .collect()
    }

    pub(crate) fn route_view(&self, prefix: &Prefix, e: &PathEntry) -> Option<RouteView> {
        let nb = self.nb(e.neighbor)?;
        let accepted = e.flags.contains(PathFlags::ACCEPTED);
        let attrs = self.rib.attrs.get(if accepted {
            self.rib.effective(prefix, e)
        } else {
            e.attr
        })?;
        let rej = if accepted {
            None
        } else {
            self.rib.rejection(prefix, e)
        };
        let status = if !accepted {
            "rejected"
        } else if e.flags.contains(PathFlags::STALE) {
            "stale"
        } else {
            "accepted"
        };
        Some(RouteView {
            prefix: prefix.to_string(),
            neighbor: nb.cfg.name.clone(),
            peer: nb.cfg.address.to_string(),
            as_path: as_path_view(&attrs),
            origin: origin_name(&attrs).to_string(),
            communities: attrs.communities.iter().map(|c| c.to_string()).collect(),
            large_communities: attrs
                .large_communities
                .iter()
                .map(|c| c.to_string())
                .collect(),
            next_hop: attrs.next_hop.map(|n| n.to_string()),
            local_pref: attrs.local_pref,
            med: attrs.med,
            status: status.to_string(),
            rule: rej.map(|r| r.rule.to_string()),
            reason: rej.map(|r| r.reason.clone()),
            best: e.flags.contains(PathFlags::BEST),
            internet: e.flags.contains(PathFlags::INTERNET),
            rpki: super::rpki::flags_state(e.flags, self.rpki_enabled())
                .map(|s| s.as_str().to_string()),
        })
    }

    /// Routes: all, or those of exactly `prefix`, or with `longest` those
    /// of the most specific prefix covering it; accepted only unless `all`.
    pub(crate) fn route_views(
        &self,
        prefix: Option<&Prefix>,
        all: bool,
        longest: bool,
    ) -> Vec<RouteView> {
        let prefixes: Vec<Prefix> = match prefix {
            Some(p) if !longest => vec![p.trunc()],
            Some(p) => {
                let p = p.trunc();
                (0..=p.prefix_len())
                    .rev()
                    .filter_map(|len| Prefix::new(p.addr(), len).ok().map(|q| q.trunc()))
                    .find(|q| !self.rib.paths(q).is_empty())
                    .into_iter()
                    .collect()
            }
            None => {
                let mut v = self.rib.prefixes();
                v.sort_unstable();
                v
            }
        };
        let mut out = Vec::new();
        for p in prefixes {
            for e in self.rib.paths(&p) {
                let shown = all
                    || (e.flags.contains(PathFlags::ACCEPTED)
                        && !e.flags.contains(PathFlags::STALE));
                if shown {
                    out.extend(self.route_view(&p, e));
                }
            }
        }
        out
    }

    pub(crate) fn decision_views(&self) -> Vec<DecisionView> {
        self.decisions
            .values()
            .map(|d| {
                let (c, l) = d
                    .location
                    .map_or((None, None), |loc| self.location_communities(loc));
                let name = |l: LocationId| self.cfg.location_name(l).to_string();
                DecisionView {
                    prefix: d.prefix.to_string(),
                    peer_asn: d.peer_asn,
                    state: d.state.as_str().to_string(),
                    location: d.location.map(name),
                    primary: name(d.primary),
                    backup: d.backup.map(name),
                    neighbors: d
                        .neighbors
                        .iter()
                        .filter_map(|i| self.nb(*i).map(|n| n.cfg.name.clone()))
                        .collect(),
                    local_pref: d.state.local_pref(),
                    community: c
                        .map(|c| c.to_string())
                        .or_else(|| l.map(|l| l.to_string())),
                    reason: d.reason.clone(),
                    changed_at: d.changed_at,
                }
            })
            .collect()
    }

    /// Per-neighbor gauges of the neighbors a pass touched, and RIB totals.
    pub(crate) fn update_metrics(&mut self, pass: &Pass) {
        for idx in &pass.touched {
            let advertised = self.adj_rib_out(*idx).map_or(0, |o| o.len());
            let Some(n) = self.nb_mut(*idx) else { continue };
            if let Some(mp) = n.cfg.max_prefixes {
                let warn_at = (mp.limit as u64 * mp.warn_percent.min(100) as u64).div_ceil(100);
                if n.limit_count < warn_at {
                    n.warned = false;
                }
                if n.limit_count < mp.limit as u64 {
                    n.exceeded = false;
                }
            }
            let l = [n.cfg.name.as_str(), n.cfg.location.as_str()];
            METRICS
                .prefixes_received
                .with_label_values(&l)
                .set(n.received as i64);
            METRICS
                .prefixes_accepted
                .with_label_values(&l)
                .set(n.accepted as i64);
            METRICS
                .prefixes_advertised
                .with_label_values(&l)
                .set(advertised as i64);
            for (rule, v) in &n.rejected {
                METRICS
                    .prefixes_rejected
                    .with_label_values(&[l[0], l[1], rule.as_str()])
                    .set(*v as i64);
            }
            if let Some(mp) = n.cfg.max_prefixes {
                let ratio = n.limit_count as f64 / f64::from(mp.limit.max(1));
                METRICS
                    .max_prefix_utilization_ratio
                    .with_label_values(&l)
                    .set(ratio);
            }
        }
        METRICS.rib_paths.set(self.path_count() as i64);
        METRICS.rib_attribute_sets.set(self.attribute_sets() as i64);
    }
}

/// What RFC 8212 denies a neighbor (`"imports and exports nothing: …"`),
/// for `show neighbors`.
fn rfc8212(cfg: &crate::config::NeighborConfig) -> Option<String> {
    let dirs: Vec<String> = cfg
        .rfc8212_closed()
        .iter()
        .map(|d| format!("{d}s"))
        .collect();
    (!dirs.is_empty()).then(|| {
        format!(
            "{} nothing: no built-in rules and no policy (RFC 8212)",
            dirs.join(" and ")
        )
    })
}
