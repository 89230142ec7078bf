//! Loc-RIB best paths and nearest-edge decisions, run by the route engine
//! task after every input that changed paths.
//!
//! For each activated prefix (`[[registered_prefixes]]` with `primary`) the
//! candidates are usable accepted routes from peering-service neighbors for
//! that exact prefix (usable: BFD Up when configured; graceful-restart stale
//! routes count, losing to fresh ones). The state is
//! - `primary`: routes at the primary location (all of them, active-active,
//!   ordered by `decision::compare`; with `[router] rtt_tiebreak` the
//!   sessions' RTTs take part, see `decision::Step::Rtt`);
//! - else `backup`: routes at the backup location (unless `backup = "none"`);
//! - else `internet`: routes from `transit` neighbors for the prefix or a
//!   covering prefix (longest match per neighbor);
//! - else `unreachable`.
//!
//! Encoding toward `internal` neighbors (the "BGP tag"):
//! LOCAL_PREF 300 (primary), 200 (backup), 100 (internet), see
//! [`super::decision`]; the location community `<router.asn>:<1000 + i>`
//! where `i` is the location's 1-based index in `[[locations]]` (only when
//! router.asn fits 16 bits), and always the large community
//! `<router.asn>:1:<i>` (RFC 8092). Internet and unreachable carry no
//! location community.
//!
//! For an activated prefix the Loc-RIB best path is the decision's first
//! route for that exact prefix (none when the internet decision rests on a
//! covering transit route only: the covering route carries the traffic);
//! when unreachable, and for every other prefix, it is plain
//! `decision::best` among usable routes (any route beats none).

use super::core::EngineCore;
use super::pass::Pass;
use crate::analytics::EventKind;
use crate::config::{LocationId, Role};
use crate::decision::{self, Candidate, PathRank};
use crate::metrics::METRICS;
use crate::rib::{NeighborIdx, PathEntry, PathFlags};
use crate::wire::{Community, LargeCommunity, Prefix};
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::net::Ipv4Addr;
use std::time::Instant;

use super::decision::{Decision, DecisionState, LOCATION_COMMUNITY_BASE, LOCATION_LARGE_FUNCTION};

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl EngineCore {
    /// A best-path candidate for one stored path (`attr`, which the
    /// callers made the effective, post-policy set), read from its
    /// interned set without unpacking it.
    pub(crate) fn candidate(&self, e: &PathEntry) -> Option<Candidate> {
        Some(candidate_of(
            self.nb(e.neighbor)?,
            e,
            self.rib.attrs.rank(e.attr)?,
        ))
    }

    /// The indices of `paths` ordered by `first`, then best first by
    /// `decision::compare` (equal when either cannot be compared), the
    /// sessions' RTTs taking part when `rtt`; stable, each path's
    /// attributes unpacked once.
    fn best_first(
        &self,
        paths: &[PathEntry],
        first: impl Fn(usize, usize) -> Ordering,
        rtt: bool,
    ) -> SmallVec<[usize; 4]> {
        let cands: SmallVec<[Option<Candidate>; 4]> = paths
            .iter()
            .map(|e| {
                let mut c = self.candidate(e)?;
                if rtt {
                    c.rtt_ms = self.nb(e.neighbor).and_then(|n| n.rtt_rank);
                }
                Some(c)
            })
            .collect();
        let mut idx: SmallVec<[usize; 4]> = (0..paths.len()).collect();
        idx.sort_by(|&i, &j| {
            first(i, j).then_with(|| match (&cands[i], &cands[j]) {
                (Some(x), Some(y)) => decision::compare(x, y).0,
                _ => Ordering::Equal,
            })
        });
        idx
    }

    /// Usable accepted paths of `prefix`, each with `attr` its effective
    /// (post-policy) set, as decisions compare them.
    pub(crate) fn usable(&self, prefix: &Prefix) -> SmallVec<[PathEntry; 4]> {
        self.rib
            .paths(prefix)
            .iter()
            .filter(|e| {
                e.flags.contains(PathFlags::ACCEPTED)
                    && self.nb(e.neighbor).is_some_and(|n| n.usable())
            })
            .map(|e| PathEntry {
                attr: self.rib.effective(prefix, e),
                ..*e
            })
            .collect()
    }

    /// Sorts paths best first by `decision::compare` (stable), the
    /// sessions' RTTs taking part when `rtt`.
    fn order(&self, paths: &mut [PathEntry], rtt: bool) {
        if paths.len() < 2 {
            return;
        }
        let idx = self.best_first(paths, |_, _| Ordering::Equal, rtt);
        let sorted: SmallVec<[PathEntry; 4]> = idx.iter().map(|&i| paths[i]).collect();
        paths.copy_from_slice(&sorted);
    }

    /// Established, usable peering-service sessions carrying `prefix` at
    /// `location` (prefix monitoring).
    pub(crate) fn sessions_at(&self, prefix: &Prefix, location: LocationId) -> usize {
        self.at_location(prefix, location).len()
    }

    /// Usable peering-service paths of `prefix` at `location`, best first
    /// (lower RTT first among otherwise equal sessions with `[router]
    /// rtt_tiebreak`).
    fn at_location(&self, prefix: &Prefix, location: LocationId) -> Vec<PathEntry> {
        let mut v: Vec<PathEntry> = self
            .usable(prefix)
            .into_iter()
            .filter(|e| {
                !e.flags.contains(PathFlags::INTERNET)
                    && self.nb(e.neighbor).is_some_and(|n| {
                        n.cfg.role == Role::PeeringService && n.location == Some(location)
                    })
            })
            .collect();
        self.order(&mut v, self.cfg.router.rtt_tiebreak);
        v
    }

    /// Neighbors with a usable internet route for `prefix` or a covering
    /// one: transit neighbors, and peering-service neighbors whose route
    /// import policy took as a plain internet route.
    fn transit_paths(&self, prefix: &Prefix) -> Vec<NeighborIdx> {
        // The matched prefix length and path of each neighbor that has one.
        let (mut lens, mut found): (SmallVec<[u8; 4]>, SmallVec<[PathEntry; 4]>) =
            Default::default();
        for nb in self.neighbors.iter().flatten() {
            let internet_only = match nb.cfg.role {
                Role::Transit => false,
                Role::PeeringService => true,
                Role::Internal => continue,
            };
            if !nb.usable() {
                continue;
            }
            for len in (0..=prefix.prefix_len()).rev() {
                let Ok(cover) = Prefix::new(prefix.addr(), len).map(|p| p.trunc()) else {
                    continue;
                };
                if let Some(e) = self.rib.path(&cover, nb.idx) {
                    if e.flags.contains(PathFlags::ACCEPTED)
                        && (!internet_only || e.flags.contains(PathFlags::INTERNET))
                    {
                        lens.push(len);
                        found.push(PathEntry {
                            attr: self.rib.effective(&cover, &e),
                            ..e
                        });
                        break;
                    }
                }
            }
        }
        // Most specific first, then best first.
        self.best_first(&found, |i, j| lens[j].cmp(&lens[i]), false)
            .into_iter()
            .map(|i| found[i].neighbor)
            .collect()
    }

    /// Recomputes the decision of `prefix`: (state, location, neighbors, reason).
    fn evaluate_decision(
        &self,
        d: &Decision,
    ) -> (DecisionState, Option<LocationId>, Vec<NeighborIdx>, String) {
        let p = &d.prefix;
        let primary = self.cfg.location_name(d.primary);
        let prim = self.at_location(p, d.primary);
        if !prim.is_empty() {
            let reason = format!(
                "{} at primary {primary}",
                plural(prim.len(), "session", "sessions"),
            );
            return (
                DecisionState::Primary,
                Some(d.primary),
                prim.iter().map(|e| e.neighbor).collect(),
                reason,
            );
        }
        let mut reason = format!("no session at primary {primary}");
        match d.backup {
            Some(id) => {
                let b = self.cfg.location_name(id);
                let back = self.at_location(p, id);
                if !back.is_empty() {
                    reason.push_str(&format!("; {} at backup {b}", back.len()));
                    return (
                        DecisionState::Backup,
                        Some(id),
                        back.iter().map(|e| e.neighbor).collect(),
                        reason,
                    );
                }
                reason.push_str(&format!("; none at backup {b}"));
            }
            None => reason.push_str("; no backup"),
        }
        let transit = self.transit_paths(p);
        if !transit.is_empty() {
            reason.push_str(&format!(
                "; {}",
                plural(transit.len(), "internet route", "internet routes")
            ));
            return (DecisionState::Internet, None, transit, reason);
        }
        reason.push_str("; no internet route");
        (DecisionState::Unreachable, None, Vec::new(), reason)
    }

    /// Decisions that `pass` may have changed, recomputed; changed prefixes
    /// become dirty (their export changes).
    pub(crate) fn recompute_decisions(&mut self, now: Instant, pass: &mut Pass) {
        if self.decisions.is_empty() {
            return;
        }
        let targets: Vec<Prefix> = if pass.all_decisions || pass.full {
            self.decisions.keys().copied().collect()
        } else {
            let mut t = Vec::new();
            for p in pass.dirty.iter() {
                let (Ok(lo), Ok(hi)) = (
                    Prefix::new(p.network(), 0),
                    Prefix::new(p.broadcast(), p.max_prefix_len()),
                ) else {
                    continue;
                };
                t.extend(
                    self.decisions
                        .range(lo..=hi)
                        .map(|(k, _)| *k)
                        .filter(|k| p.contains(k)),
                );
            }
            t.sort_unstable();
            t.dedup();
            t
        };
        let mut changed = false;
        for p in targets {
            let Some(d) = self.decisions.get(&p) else {
                continue;
            };
            let (state, location, neighbors, reason) = self.evaluate_decision(d);
            let suboptimal_now = state != DecisionState::Primary && self.received_away_only(d);
            let same = d.state == state && d.location == location && d.neighbors == neighbors;
            let was_suboptimal = d.suboptimal;
            let old_state = d.state;
            let names: Vec<String> = neighbors
                .iter()
                .filter_map(|i| self.nb(*i).map(|n| n.cfg.name.clone()))
                .collect();
            let t = self.wall_ms(now);
            let Some(d) = self.decisions.get_mut(&p) else {
                continue;
            };
            d.reason = reason.clone();
            d.suboptimal = suboptimal_now;
            let primary = self.cfg.location_name(d.primary).to_string();
            if !same {
                d.state = state;
                d.location = location;
                d.neighbors = neighbors;
                d.changed_at = t;
                changed = true;
                pass.dirty.insert(p);
                METRICS
                    .decision_changes_total
                    .with_label_values(&[state.as_str()])
                    .inc();
                self.event(
                    now,
                    EventKind::DecisionChanged,
                    None,
                    Some(&p),
                    format!(
                        "{p}: {} → {} ({reason})",
                        old_state.as_str(),
                        state.as_str()
                    ),
                    serde_json::json!({
                        "from": old_state.as_str(),
                        "to": state.as_str(),
                        "location": location.map(|l| self.cfg.location_name(l)),
                        "neighbors": names,
                        "reason": reason,
                    }),
                );
            }
            self.prefix_metrics(&p);
            if suboptimal_now && !was_suboptimal {
                self.event(
                    now,
                    EventKind::SuboptimalRouting,
                    None,
                    Some(&p),
                    format!("{p} is received only away from its primary {primary}"),
                    serde_json::json!({ "primary": primary, "state": state.as_str(), "neighbors": names }),
                );
            }
        }
        if changed || pass.full {
            self.decision_metrics();
        }
    }

    /// The prefix is received from peering-service neighbors, none at its primary.
    fn received_away_only(&self, d: &Decision) -> bool {
        let mut away = false;
        for e in self.rib.paths(&d.prefix) {
            if let Some(n) = self.nb(e.neighbor) {
                if n.cfg.role == Role::PeeringService && e.flags.contains(PathFlags::ACCEPTED) {
                    if n.location == Some(d.primary) {
                        return false;
                    }
                    away = true;
                }
            }
        }
        away
    }

    fn decision_metrics(&self) {
        METRICS.decisions.reset();
        for d in self.decisions.values() {
            let loc = d.location.map_or("", |l| self.cfg.location_name(l));
            METRICS
                .decisions
                .with_label_values(&[d.state.as_str(), loc])
                .inc();
        }
    }

    /// Marks the Loc-RIB winner of `prefix` (the `BEST` flag) and returns
    /// it, and whether it may have moved: false only when there is a
    /// winner and it is the very path entry that was flagged before (a
    /// path stored since is a new entry, never flagged). One probe of the
    /// RIB: the paths are read and flagged in place (this runs for every
    /// changed prefix of every pass).
    pub(crate) fn update_best(&mut self, prefix: &Prefix) -> (Option<PathEntry>, bool) {
        let paths = match prefix {
            Prefix::V4(_) => self.rib.v4.get_mut(prefix),
            Prefix::V6(_) => self.rib.v6.get_mut(prefix),
        };
        let Some(paths) = paths else {
            return (None, true);
        };
        let before = paths
            .iter()
            .find(|e| e.flags.contains(PathFlags::BEST))
            .copied();
        let attrs = &self.rib.attrs;
        let posts = &self.rib.posts;
        let neighbors = &self.neighbors;
        let nb = |i: NeighborIdx| neighbors.get(usize::from(i)).and_then(Option::as_ref);
        let usable: SmallVec<[PathEntry; 4]> = paths
            .iter()
            .filter(|e| {
                e.flags.contains(PathFlags::ACCEPTED) && nb(e.neighbor).is_some_and(|n| n.usable())
            })
            .copied()
            .collect();
        let mut winner: Option<NeighborIdx> = None;
        let mut follow_decision = false;
        if let Some(d) = self.decisions.get(prefix) {
            if d.state != DecisionState::Unreachable {
                follow_decision = true;
                winner = d
                    .neighbors
                    .iter()
                    .find(|n| usable.iter().any(|e| e.neighbor == **n))
                    .copied();
            }
        }
        if winner.is_none() && !follow_decision {
            if let [only] = usable.as_slice() {
                // One usable path is the best one; nothing to unpack or compare.
                winner = Some(only.neighbor);
            } else {
                // What the decision reads, from the packed sets: a
                // rival's set is rarely unpacked in the cache.
                let cands: SmallVec<[Candidate; 4]> = usable
                    .iter()
                    .filter_map(|e| {
                        let rank = attrs.rank(posts.effective(prefix, e))?;
                        Some(candidate_of(nb(e.neighbor)?, e, rank))
                    })
                    .collect();
                if cands.len() == usable.len() {
                    winner = decision::best(&cands).map(|(i, _)| usable[i].neighbor);
                }
            }
        }
        let mut best = None;
        for e in paths.iter_mut() {
            e.flags.set(PathFlags::BEST, Some(e.neighbor) == winner);
            if Some(e.neighbor) == winner {
                best = Some(*e);
            }
        }
        // No winner is always news: the import may have replaced the
        // winner with a rejected path (whose entry holds no flag).
        (best, best.is_none() || best != before)
    }

    /// The location community pair for `location` (`asn:1000+i`, `asn:1:i`).
    pub(crate) fn location_communities(
        &self,
        location: LocationId,
    ) -> (Option<Community>, Option<LargeCommunity>) {
        let i = u32::from(location.0) + 1;
        let asn = self.cfg.router.asn;
        let std = (asn <= u16::MAX as u32 && i + LOCATION_COMMUNITY_BASE <= u16::MAX as u32)
            .then(|| Community::new(asn as u16, (LOCATION_COMMUNITY_BASE + i) as u16));
        let large = LargeCommunity {
            global: asn,
            local1: LOCATION_LARGE_FUNCTION,
            local2: i,
        };
        (std, Some(large))
    }
}

/// Path `e` of neighbor `nb` as the best-path selection compares it.
fn candidate_of(nb: &super::neighbor::Neighbor, e: &PathEntry, path: PathRank) -> Candidate {
    Candidate {
        path,
        ebgp: nb.ebgp,
        peer_as: nb.cfg.remote_as,
        router_id: nb
            .session
            .as_ref()
            .map_or(Ipv4Addr::UNSPECIFIED, |s| s.remote_id),
        peer_address: nb.cfg.address,
        stale: e.flags.contains(PathFlags::STALE),
        rtt_ms: None,
    }
}
