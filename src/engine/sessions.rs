//! What a session's coming and going does to the engine: Established
//! (stale routes per RFC 4724, the initial dump), down (withdraw or keep
//! stale), BFD up and down, RTT samples for the tie-break, and removing a
//! neighbor's paths with its counters kept right.

use super::core::EngineCore;
use super::neighbor::{rtt_rank, Measured};
use super::pass::Pass;
use crate::analytics::EventKind;
use crate::config::Role;
use crate::messages::{BfdStatus, SessionInfo, SessionState, ToPeer};
use crate::policy::ahead::ImportEval;
use crate::policy::Rule;
use crate::rib::{NeighborIdx, PathFlags};
use crate::wire::{Afi, Prefix, Safi};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl EngineCore {
    pub(crate) fn session_up(
        &mut self,
        name: &str,
        info: SessionInfo,
        now: Instant,
        pass: &mut Pass,
    ) {
        let Some(&idx) = self.by_name.get(name) else {
            tracing::warn!(
                neighbor = name,
                "session up for an unknown neighbor ignored"
            );
            return;
        };
        let families = info.families.clone();
        let restart = info.graceful_restart.clone();
        let remote = info.remote_address.to_string();
        // A new session starts from an empty Adj-RIB-Out (its group is
        // chosen at the next settle), even when no SessionDown came first
        // (a collision replaced the session).
        self.leave_group(idx);
        if let Some(nb) = self.nb_mut(idx) {
            nb.session = Some(info);
            nb.forget_rtt();
            nb.established_at = Some(now);
            if nb.state != SessionState::Established {
                nb.state_since = Some(now);
            }
            nb.state = SessionState::Established;
            nb.last_error = None;
            nb.last_error_at = None;
            nb.tripped = false;
        }
        // RFC 4724 §4.2: stale routes are kept only for the families the
        // new session carries and for which the peer's new Graceful Restart
        // capability says it kept its forwarding state (F bit); the others go
        // now (no capability at all: every family).
        let kept = |p: &Prefix| {
            let fam = if matches!(p, Prefix::V4(_)) {
                Afi::IPV4
            } else {
                Afi::IPV6
            };
            families
                .iter()
                .any(|(a, s)| *a == fam && *s == Safi::UNICAST)
                && restart.as_ref().is_some_and(|gr| {
                    gr.families
                        .iter()
                        .any(|(a, s, forwarding)| *a == fam && *s == Safi::UNICAST && *forwarding)
                })
        };
        self.remove_paths(
            idx,
            |p, e| e.flags.contains(PathFlags::STALE) && !kept(p),
            pass,
        );
        self.event(
            now,
            EventKind::SessionUp,
            Some(name),
            None,
            format!("session with {name} established"),
            serde_json::json!({ "remote_address": remote }),
        );
        pass.dumps.push(idx);
        pass.touched.insert(idx);
        pass.all_decisions = true;
        self.send_import_eval(idx, pass);
        self.bmp_peer_up(idx, now);
    }

    /// Hands the neighbor's session what it needs to run import policy on
    /// its UPDATEs itself: the current policy and the neighbor's config, as
    /// of `import_gen` ([`crate::policy::ahead`]).
    pub(crate) fn send_import_eval(&self, idx: NeighborIdx, pass: &mut Pass) {
        let Some(nb) = self.nb(idx) else { return };
        let eval = ImportEval::new(self.import_gen, self.policy.clone(), nb.cfg.clone())
            .enabled(self.import_ahead);
        pass.outputs
            .push((nb.name.clone(), ToPeer::ImportEval(Arc::new(eval))));
    }

    pub(crate) fn session_down(
        &mut self,
        name: &str,
        reason: String,
        gr: Option<Duration>,
        now: Instant,
        pass: &mut Pass,
    ) {
        let Some(&idx) = self.by_name.get(name) else {
            return;
        };
        self.bmp_peer_down(idx, now);
        let Some(nb) = self.nb_mut(idx) else { return };
        nb.session = None;
        nb.forget_rtt();
        nb.established_at = None;
        nb.tripped = false;
        if nb.state == SessionState::Established {
            nb.state = SessionState::Idle;
        }
        nb.last_error = Some(reason.clone());
        let gr = gr.filter(|_| nb.cfg.graceful_restart);
        self.leave_group(idx);
        match gr {
            Some(t) => {
                let mut stale = 0u64;
                for (p, _) in self.rib.neighbor_paths(idx) {
                    if let Some(ps) = self.rib.paths_mut(&p) {
                        for e in ps.iter_mut().filter(|e| e.neighbor == idx) {
                            e.flags.insert(PathFlags::STALE);
                            stale += 1;
                        }
                    }
                    pass.dirty.insert(p);
                }
                if let Some(nb) = self.nb_mut(idx) {
                    nb.gr_deadline = Some(now + t);
                }
                self.event(
                    now,
                    EventKind::SessionDown,
                    Some(name),
                    None,
                    format!("session with {name} down ({reason}); {stale} routes kept stale for {}s", t.as_secs()),
                    serde_json::json!({ "reason": reason, "graceful_restart_s": t.as_secs(), "stale_routes": stale }),
                );
            }
            None => {
                let removed = self.remove_paths(idx, |_, _| true, pass);
                if let Some(nb) = self.nb_mut(idx) {
                    nb.gr_deadline = None;
                    nb.reset_counters();
                }
                self.event(
                    now,
                    EventKind::SessionDown,
                    Some(name),
                    None,
                    format!("session with {name} down ({reason}); {removed} routes withdrawn"),
                    serde_json::json!({ "reason": reason, "withdrawn_routes": removed }),
                );
            }
        }
        pass.touched.insert(idx);
        pass.all_decisions = true;
    }

    pub(crate) fn bfd(
        &mut self,
        name: &str,
        status: BfdStatus,
        diagnostic: u8,
        now: Instant,
        pass: &mut Pass,
    ) {
        let Some(&idx) = self.by_name.get(name) else {
            return;
        };
        let Some(nb) = self.nb_mut(idx) else { return };
        if nb.cfg.bfd.is_none() {
            return;
        }
        nb.detail.bfd_diagnostic = Some(diagnostic);
        let was_up = nb.bfd == BfdStatus::Up;
        nb.bfd = status;
        let is_up = status == BfdStatus::Up;
        if !is_up {
            nb.bfd_rx = None;
        }
        if was_up == is_up {
            return;
        }
        for (p, _) in self.rib.neighbor_paths(idx) {
            pass.dirty.insert(p);
        }
        pass.all_decisions = true;
        let (kind, word) = if is_up {
            (EventKind::BfdUp, "up")
        } else {
            (EventKind::BfdDown, "down")
        };
        self.event(
            now,
            kind,
            Some(name),
            None,
            format!(
                "BFD with {name} {word} ({}, diagnostic {diagnostic})",
                status.as_str()
            ),
            serde_json::json!({ "state": status.as_str(), "diagnostic": diagnostic }),
        );
    }

    /// A new RTT sample of an Established session. With `[router]
    /// rtt_tiebreak` on, a peering-service session whose tie-break figure
    /// moved has its prefixes' decisions recomputed.
    pub(crate) fn session_rtt(
        &mut self,
        name: &str,
        rtt: Duration,
        rttvar: Duration,
        pass: &mut Pass,
    ) {
        let Some(&idx) = self.by_name.get(name) else {
            return;
        };
        let tiebreak = self.cfg.router.rtt_tiebreak;
        let Some(nb) = self.nb_mut(idx) else { return };
        if nb.session.is_none() {
            // Sent before the session went down, read after.
            return;
        }
        nb.rtt = Some(Measured {
            mean: rtt,
            deviation: rttvar,
        });
        let rank = rtt_rank(nb.rtt_rank, rtt);
        if nb.rtt_rank == Some(rank) {
            return;
        }
        nb.rtt_rank = Some(rank);
        if tiebreak && nb.cfg.role == Role::PeeringService {
            for (p, _) in self.rib.neighbor_paths(idx) {
                pass.dirty.insert(p);
            }
        }
    }

    /// Removes paths of `idx` matching `pred`, keeping counters right;
    /// returns how many went.
    pub(crate) fn remove_paths(
        &mut self,
        idx: NeighborIdx,
        pred: impl FnMut(&Prefix, &crate::rib::PathEntry) -> bool,
        pass: &mut Pass,
    ) -> usize {
        // Rejection rules must be read before the RIB forgets them.
        let victims = self.rib.remove_where(idx, pred);
        let n = victims.len();
        for (p, e) in &victims {
            self.bmp_path_changed(idx, *p, Some(*e), None);
        }
        // One path per prefix: distinct prefixes.
        pass.dirty
            .extend_distinct(victims.iter().map(|(p, _)| *p).collect());
        if let Some(nb) = self.nb_mut(idx) {
            for flags in victims.iter().map(|(_, e)| e.flags) {
                if flags.contains(PathFlags::ACCEPTED) {
                    nb.account(flags, None, false);
                } else {
                    // The rule is gone with the path: recount rejected by rule below.
                    nb.received = nb.received.saturating_sub(1);
                    if !flags.contains(PathFlags::REFUSED) {
                        nb.limit_count = nb.limit_count.saturating_sub(1);
                    }
                }
            }
        }
        if victims
            .iter()
            .any(|(_, e)| !e.flags.contains(PathFlags::ACCEPTED))
        {
            self.recount_rejected(idx);
        }
        pass.touched.insert(idx);
        n
    }

    /// Recomputes a neighbor's rejected-by-rule counters from the RIB.
    pub(crate) fn recount_rejected(&mut self, idx: NeighborIdx) {
        let mut counts: BTreeMap<Rule, u64> = BTreeMap::new();
        for (p, e) in self.rib.neighbor_paths(idx) {
            if !e.flags.contains(PathFlags::ACCEPTED) {
                let rule = self
                    .rib
                    .rejection(&p, &e)
                    .map_or(Rule::Unknown, |r| r.rule.clone());
                *counts.entry(rule).or_default() += 1;
            }
        }
        if let Some(nb) = self.nb_mut(idx) {
            for v in nb.rejected.values_mut() {
                *v = 0;
            }
            nb.rejected.extend(counts);
        }
    }
}
