//! The import pipeline for one UPDATE, run by the route engine task:
//! treat-as-withdraw (RFC 7606) → Adj-RIB-In store → max-prefix (RFC 4486
//! actions `teardown`, `warn`, `refuse`) → registered-prefix checks
//! (`origin-mismatch`, `unexpected-more-specific`) → RPKI origin validation
//! (state in two path flags; `rpki-invalid` with `[rpki] reject_invalid`,
//! see [`super::rpki`]) → import policy. Every
//! route is stored pre-policy with its status, so a reload re-applies policy
//! without a session reset and `show routes` explains a rejection.
//! End-of-RIB (RFC 4724 §2) from a restarting neighbor sweeps its stale routes.
//! Registered-prefix checks apply to routes from peering-service and transit
//! neighbors (internal neighbors carry our own decisions back); they and the
//! max-prefix limit are [`super::admission`].

use super::admission::{as_path_text, LimitOutcome, RULE_MAX_PREFIX};
use super::core::EngineCore;
use super::pass::Pass;
use super::rpki::state_flags;
use crate::analytics::leak::{route_leak, LeakCheck, LeakRules};
use crate::analytics::EventKind;
use crate::config::Role;
use crate::policy::ahead::{Ahead, PreImport};
use crate::policy::{Rejection, RouteContext, Rule, Verdict};
use crate::rib::{AttrId, NeighborIdx, PathEntry, PathFlags, PREFETCH_AHEAD};
use crate::rpki::RpkiState;
use crate::wire::{AddPathPrefix, Afi, AttrCause, PackedSet, PathAttributes, Prefix, Safi, Update};
use std::time::Instant;

/// Rule name of a route treated as withdrawn for AS 0 in its path (RFC 7607).
pub const RULE_AS_ZERO: Rule = Rule::AsZero;
/// Rule name of an eBGP route treated as withdrawn for an AS_SET or
/// AS_CONFED_SET in its path (RFC 9774), unless `[rules] allow_as_sets`.
pub const RULE_AS_SET: Rule = Rule::AsSet;

impl EngineCore {
    pub(crate) fn import_update(
        &mut self,
        idx: NeighborIdx,
        update: Box<Update>,
        ahead: Option<PreImport>,
        now: Instant,
        pass: &mut Pass,
    ) {
        let Some(nb) = self.nb(idx) else { return };
        if nb.tripped {
            return;
        }
        pass.touched.insert(idx);
        if let Some((afi, safi)) = update.end_of_rib_family() {
            if safi != Safi::UNICAST {
                return;
            }
            // Only a graceful restart leaves stale paths, and it sets the
            // deadline: without one there is nothing to sweep (and no
            // pass over the whole table at every End-of-RIB).
            if nb.gr_deadline.is_some() {
                let v4 = afi == Afi::IPV4;
                self.remove_paths(
                    idx,
                    |p, e| e.flags.contains(PathFlags::STALE) && matches!(p, Prefix::V4(_)) == v4,
                    pass,
                );
                let no_stale = self
                    .rib
                    .neighbor_paths(idx)
                    .iter()
                    .all(|(_, e)| !e.flags.contains(PathFlags::STALE));
                if let Some(nb) = self.nb_mut(idx) {
                    if no_stale {
                        nb.gr_deadline = None;
                    }
                }
            }
            pass.all_decisions = true;
            return;
        }
        if let Some(e) = update.attr_error {
            self.attr_error(idx, e, &update, now);
        }
        let withdraw_all = update.attr_error.is_some_and(|e| e.withdraws());
        let mut withdrawn: Vec<Prefix> = update.withdrawn.iter().map(|p| p.prefix).collect();
        if let Some(m) = &update.mp_unreach {
            withdrawn.extend(m.withdrawn.iter().map(|p| p.prefix));
        }
        if let Some(nb) = self.nb_mut(idx) {
            for p in &withdrawn {
                nb.detail.withdrawn[usize::from(matches!(p, Prefix::V6(_)))] += 1;
            }
        }
        if withdraw_all {
            withdrawn.extend(update.nlri.iter().map(|p| p.prefix));
            if let Some(m) = &update.mp_reach {
                withdrawn.extend(m.nlri.iter().map(|p| p.prefix));
            }
        }
        for p in withdrawn {
            self.withdraw(idx, &p, pass);
        }
        // RFC 7607: the routes are withdrawn, and kept as rejected paths
        // (`as-zero`) so `show routes` says why; other RFC 7606 cases carry
        // attributes that could not be read and are only withdrawn.
        let forced = match update.attr_error {
            Some(e) if e.withdraws() && e.cause == AttrCause::AsZero => {
                Some(super::attr_errors::as_zero_rejection(e))
            }
            _ if withdraw_all => return,
            _ => None,
        };
        // Verdicts made under an older policy or neighbor config are not
        // used, nor any while a policy matches the RPKI state.
        let current = |a: &PreImport| a.generation == self.import_gen && self.import_ahead;
        let (ahead, mp_ahead, [set, mp_set]) = match ahead {
            Some(a) if current(&a) => (Some(a.nlri), Some(a.mp_reach), a.sets),
            Some(a) => (None, None, a.sets),
            None => (None, None, [None, None]),
        };
        let mp = update.mp_reach.as_ref().filter(|m| !m.nlri.is_empty());
        // The UPDATE's attributes go to the interner's cache: the decoded
        // set the export of this pass reads (cloned only when MP_REACH
        // needs its own next hop too).
        let mut attrs = update.attrs;
        if !update.nlri.is_empty() {
            let v4 = match mp {
                Some(_) => attrs.clone(),
                None => std::mem::take(&mut attrs),
            };
            let v4 = Announced {
                attrs: v4,
                set,
                ahead,
            };
            self.announce_all(idx, v4, &update.nlri, &forced, now, pass);
            if self.nb(idx).is_some_and(|n| n.tripped) {
                return;
            }
        }
        if let Some(m) = mp {
            attrs.next_hop = Some(m.next_hop);
            let mp = Announced {
                attrs,
                set: mp_set,
                ahead: mp_ahead,
            };
            self.announce_all(idx, mp, &m.nlri, &forced, now, pass);
        }
    }

    /// Announces `nlri` with `attrs`, interned and checked once for all of
    /// them, with their import verdicts when the session worked them out
    /// (`ahead`, aligned with `nlri`); stops at a max-prefix teardown.
    fn announce_all(
        &mut self,
        idx: NeighborIdx,
        Announced { attrs, set, ahead }: Announced,
        nlri: &[AddPathPrefix],
        forced: &Option<Rejection>,
        now: Instant,
        pass: &mut Pass,
    ) {
        if nlri.is_empty() {
            return;
        }
        let id = match set {
            Some(set) => self.rib.attrs.intern_packed(set),
            None => self.rib.attrs.intern_ref(&attrs),
        };
        let checks = self.path_checks(idx, &attrs);
        let at = Announce {
            id,
            attrs: &attrs,
            checks: &checks,
        };
        let mut ahead = ahead.filter(|a| a.len() == nlri.len()).map(Vec::into_iter);
        // The RIB's memory for a prefix is asked for a few prefixes before
        // it is read, so the cache misses of a full table's new prefixes
        // overlap instead of coming one after the other.
        for p in nlri.iter().take(PREFETCH_AHEAD) {
            self.rib.prefetch(&p.prefix);
        }
        for (i, p) in nlri.iter().enumerate() {
            if let Some(next) = nlri.get(i + PREFETCH_AHEAD) {
                self.rib.prefetch(&next.prefix);
            }
            let pre = ahead.as_mut().and_then(Iterator::next);
            if !self.announce(idx, p.prefix, at, now, pass, forced.clone(), pre) {
                break;
            }
        }
        // The set as received goes to the interner's cache, moved: the
        // export of this pass reads it there.
        self.rib.attrs.keep_decoded(id, attrs);
        self.rib.attrs.release(id);
    }

    fn withdraw(&mut self, idx: NeighborIdx, p: &Prefix, pass: &mut Pass) {
        if let Some((old, rule)) = self.rib.remove(p, idx) {
            self.bmp_path_changed(idx, p.trunc(), Some(old), None);
            if let Some(nb) = self.nb_mut(idx) {
                nb.account(old.flags, rule.as_ref(), false);
            }
            if self.to_settle(p, Some(old), PathFlags::empty()) {
                pass.dirty.insert(p.trunc());
            }
        }
    }

    /// Stores one announced route with the UPDATE's attributes, rejected
    /// with `forced` when given; `false` stops the UPDATE (max-prefix
    /// teardown).
    #[allow(clippy::too_many_arguments)]
    fn announce(
        &mut self,
        idx: NeighborIdx,
        prefix: Prefix,
        Announce { id, attrs, checks }: Announce<'_>,
        now: Instant,
        pass: &mut Pass,
        forced: Option<Rejection>,
        ahead: Option<Ahead>,
    ) -> bool {
        let prefix = prefix.trunc();
        let old = self.rib.path(&prefix, idx);
        let counted = old.is_some_and(|o| !o.flags.contains(PathFlags::REFUSED));
        let mut refused = false;
        if !counted {
            match self.check_limit(idx, &prefix, now, pass) {
                LimitOutcome::Ok => {}
                LimitOutcome::Refuse => refused = true,
                LimitOutcome::Teardown => return false,
            }
        }
        let fresh = old.is_none_or(|o| o.attr != id);
        let outcome = if refused {
            let rej = Rejection {
                rule: RULE_MAX_PREFIX,
                reason: "beyond the max-prefix limit (action refuse)".to_string(),
            };
            (Err(rej), None)
        } else if let Some(rej) = forced {
            (Err(rej), None)
        } else {
            self.evaluate_checked(idx, &prefix, attrs, checks, fresh, now, ahead)
        };
        self.store(idx, prefix, id, old, outcome, refused, pass);
        true
    }

    /// Stores the evaluated path and keeps the counters right.
    /// `old` is the neighbor's path it replaces, as the caller read it.
    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        idx: NeighborIdx,
        prefix: Prefix,
        id: AttrId,
        old: Option<PathEntry>,
        (verdict, rpki): Outcome,
        refused: bool,
        pass: &mut Pass,
    ) {
        // Only a rejected path has a reason to look up.
        let old_rule = old
            .and_then(|o| self.rib.rejection(&prefix, &o))
            .map(|r| r.rule.clone());
        self.rib.attrs.acquire(id);
        let mut flags = state_flags(rpki);
        if refused {
            flags |= PathFlags::REFUSED;
        }
        let (post, rejection) = match verdict {
            Ok(ok) => {
                flags |= PathFlags::ACCEPTED;
                if ok.internet {
                    flags |= PathFlags::INTERNET;
                }
                (ok.attrs.map(|a| self.rib.attrs.intern(*a)), None)
            }
            Err(r) => (None, Some(r)),
        };
        if post.is_some() {
            flags |= PathFlags::POST;
        }
        let new_rule = rejection.as_ref().map(|r| r.rule.clone());
        let e = PathEntry {
            attr: id,
            neighbor: idx,
            flags,
            reason: 0,
        };
        let old = self.rib.store(&prefix, e, post, rejection);
        self.bmp_path_changed(idx, prefix, old, Some(e));
        if let Some(nb) = self.nb_mut(idx) {
            if let Some(o) = old {
                nb.account(o.flags, old_rule.as_ref(), false);
            }
            nb.account(flags, new_rule.as_ref(), true);
        }
        if self.to_settle(&prefix, old, flags) {
            pass.dirty.insert(prefix);
        }
    }

    /// Whether a path of `prefix` going from `old` to one with `flags`
    /// (empty: withdrawn) leaves anything to settle. Only accepted paths
    /// take part in best paths, decisions and exports, so a rejected path
    /// replacing a rejected one, or none, changes nothing there (a fifth of
    /// a peering-service table is rejected) — except for a registered
    /// prefix, whose series show what it is rejected for.
    fn to_settle(&self, prefix: &Prefix, old: Option<PathEntry>, flags: PathFlags) -> bool {
        flags.contains(PathFlags::ACCEPTED)
            || old.is_some_and(|o| o.flags.contains(PathFlags::ACCEPTED))
            || (!self.decisions.is_empty() && self.decisions.contains_key(&prefix.trunc()))
    }

    /// What import decides from an UPDATE's attributes and the neighbor
    /// alone (a loop, an AS_SET, an ONLY_TO_CUSTOMER leak, a possible
    /// route leak): worked out once per UPDATE, not per prefix.
    pub(crate) fn path_checks(&self, idx: NeighborIdx, attrs: &PathAttributes) -> PathChecks {
        let Some(nb) = self.nb(idx) else {
            return PathChecks::default();
        };
        let path = attrs.as_path.as_ref();
        // RFC 4271 §9.1.2: a route whose AS_PATH already holds our AS is a
        // loop and is never used (kept, explained, like every rejection).
        let own = self.cfg.router.asn;
        let rejection = if nb.ebgp && path.is_some_and(|p| p.all_asns().any(|a| a == own)) {
            Some(Rejection {
                rule: Rule::AsLoop,
                reason: format!("AS path contains our AS {own} (loop)"),
            })
        } else if nb.ebgp && !self.cfg.rules.allow_as_sets && path.is_some_and(|p| p.has_set()) {
            // RFC 9774 §3: an AS_SET or AS_CONFED_SET from an eBGP neighbor
            // is treated as withdrawn (kept, explained, like every rejection).
            Some(Rejection {
                rule: RULE_AS_SET,
                reason: "AS_SET in AS_PATH (RFC 9774): treated as withdrawn".into(),
            })
        } else {
            // RFC 9234 §5: ONLY_TO_CUSTOMER says whether this is a route leak.
            nb.cfg
                .local_role()
                .filter(|_| nb.ebgp)
                .and_then(|local| super::otc::ingress_leak(local, nb.cfg.remote_as, attrs))
        };
        let leak = if rejection.is_none() && nb.cfg.role == Role::PeeringService {
            let customers = nb.cfg.customers();
            let rules = LeakRules {
                neighbor_as: nb.cfg.remote_as,
                transit_free: &self.cfg.analytics.transit_free_asns,
                customers: customers.as_deref(),
            };
            path.and_then(|p| route_leak(p, &rules))
        } else {
            None
        };
        PathChecks { rejection, leak }
    }

    /// Registered-prefix checks, RPKI (`rpki-invalid`) then import policy,
    /// for a route and its attributes; the verdict and the route's
    /// RPKI state (`None` when RPKI is off). Events are logged when `fresh`
    /// (a new route or new attributes). An internal failure (unknown
    /// neighbor or attributes) has no RPKI state.
    pub(crate) fn evaluate(
        &mut self,
        idx: NeighborIdx,
        prefix: &Prefix,
        attrs: &PathAttributes,
        fresh: bool,
        now: Instant,
    ) -> Outcome {
        let checks = self.path_checks(idx, attrs);
        self.evaluate_checked(idx, prefix, attrs, &checks, fresh, now, None)
    }

    /// [`Self::evaluate`] with the UPDATE's [`PathChecks`] already made,
    /// and the import policy's verdict when the session worked it out
    /// (`ahead`; the session knows no RPKI state, so there is none while
    /// a policy matches it: see `import_ahead`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn evaluate_checked(
        &mut self,
        idx: NeighborIdx,
        prefix: &Prefix,
        attrs: &PathAttributes,
        checks: &PathChecks,
        fresh: bool,
        now: Instant,
        ahead: Option<Ahead>,
    ) -> Outcome {
        let Some(nb) = self.nb(idx) else {
            return (Err(internal_rejection()), None);
        };
        let role = nb.cfg.role;
        let origin = attrs.as_path.as_ref().and_then(|p| p.origin_as());
        let rpki = self.rpki_state(prefix, origin);
        if let Some(rej) = &checks.rejection {
            return (Err(rej.clone()), rpki);
        }
        if let Some(leak) = checks.leak.as_ref().filter(|_| fresh) {
            let name = nb.name.clone();
            let remote = nb.cfg.remote_as;
            let path = as_path_text(attrs);
            let asn = leak.asn;
            let (message, mut evidence) = match leak.check {
                LeakCheck::TransitFree => (
                    format!("possible route leak: transit-free AS{asn} in the AS path from {name}"),
                    serde_json::json!({ "transit_asn": asn }),
                ),
                LeakCheck::CustomerAsns => (
                    format!(
                        "possible route leak: AS{asn} in the AS path from {name} is not AS{remote} nor one of its customer_asns"
                    ),
                    serde_json::json!({}),
                ),
            };
            if let Some(obj) = evidence.as_object_mut() {
                obj.insert("as_path".into(), path.into());
                obj.insert("leak_asn".into(), asn.into());
                obj.insert("check".into(), leak.check.as_str().into());
            }
            self.event(
                now,
                EventKind::RouteLeak,
                Some(&name),
                Some(prefix),
                message,
                evidence,
            );
        }
        if role != Role::Internal {
            if let Some(rej) = self.check_registered(prefix, origin, idx, attrs, fresh, now) {
                return (Err(rej), rpki);
            }
        }
        if let Some(rej) = self.rpki_rejection(role, prefix, origin, rpki) {
            return (Err(rej), rpki);
        }
        let Some(nb) = self.nb(idx) else {
            let rej = Rejection {
                rule: Rule::Internal,
                reason: "unknown neighbor".into(),
            };
            return (Err(rej), None);
        };
        let accept = |internet| {
            Ok(Accepted {
                attrs: None,
                internet,
            })
        };
        match ahead {
            Some(Ahead::Accept) => return (accept(false), rpki),
            Some(Ahead::Internet) => return (accept(true), rpki),
            Some(Ahead::Reject(r)) => return (Err(r), rpki),
            Some(Ahead::Engine) | None => {}
        }
        let ctx = RouteContext::new(*prefix, attrs, &nb.cfg, rpki);
        let verdict = match self.policy.import(&nb.cfg, &ctx) {
            Verdict::Accept(attrs) => Ok(Accepted {
                attrs: attrs.map(Box::new),
                internet: false,
            }),
            Verdict::Internet(attrs) => Ok(Accepted {
                attrs: attrs.map(Box::new),
                internet: true,
            }),
            Verdict::Reject(r) => Err(r),
        };
        (verdict, rpki)
    }

    /// Re-applies registered-prefix checks and policy to every stored route
    /// (reload). Routes refused by max-prefix stay refused.
    pub(crate) fn reevaluate_all(&mut self, now: Instant, pass: &mut Pass) {
        let idxs: Vec<NeighborIdx> = self.neighbors.iter().flatten().map(|n| n.idx).collect();
        for idx in idxs {
            let paths = self.rib.neighbor_paths(idx);
            self.reevaluate_paths(idx, paths, now, pass);
            pass.touched.insert(idx);
        }
    }

    /// Re-applies the checks and policy to these stored paths of `idx`
    /// (reload, new RPKI data). Refused paths stay refused; stale stay stale.
    pub(crate) fn reevaluate_paths(
        &mut self,
        idx: NeighborIdx,
        paths: Vec<(Prefix, PathEntry)>,
        now: Instant,
        pass: &mut Pass,
    ) {
        for (p, e) in paths {
            if e.flags.contains(PathFlags::REFUSED) {
                continue;
            }
            let outcome = match self.rib.attrs.get(e.attr) {
                Some(attrs) => self.evaluate(idx, &p, &attrs, false, now),
                None => (Err(internal_rejection()), None),
            };
            let stale = e.flags.contains(PathFlags::STALE);
            self.store(idx, p, e.attr, Some(e), outcome, false, pass);
            if stale {
                if let Some(ps) = self.rib.paths_mut(&p) {
                    for x in ps.iter_mut().filter(|x| x.neighbor == idx) {
                        x.flags.insert(PathFlags::STALE);
                    }
                }
            }
        }
    }
}

/// The attributes an UPDATE announces its prefixes with: their interned
/// id, the decoded set and their [`PathChecks`].
#[derive(Clone, Copy)]
struct Announce<'a> {
    id: AttrId,
    attrs: &'a PathAttributes,
    checks: &'a PathChecks,
}

/// The checks of an UPDATE's attributes that hold for each of its
/// prefixes ([`EngineCore::path_checks`]).
#[derive(Debug, Default)]
pub(crate) struct PathChecks {
    /// A loop, an AS_SET or an ONLY_TO_CUSTOMER leak: every prefix is
    /// rejected with it.
    rejection: Option<Rejection>,
    /// A possible route leak: logged for each new route, not a rejection.
    leak: Option<crate::analytics::leak::Leak>,
}

/// The attributes one UPDATE announces a list of prefixes with: as
/// decoded, packed by the session task when it did ([`PackedSet`]), and
/// the prefixes' import verdicts when it worked them out.
struct Announced {
    attrs: PathAttributes,
    set: Option<PackedSet>,
    ahead: Option<Vec<Ahead>>,
}

/// The import verdict of a route and its RPKI state (`None`: RPKI off).
pub(crate) type Outcome = (Result<Accepted, Rejection>, Option<RpkiState>);

/// An accepted route: the post-policy attributes when policy changed them,
/// and whether policy took it as a plain internet route. (Boxed: the
/// outcome of every route is moved several times on its way to the RIB,
/// and a whole attribute set inline made each move a large copy.)
pub(crate) struct Accepted {
    attrs: Option<Box<PathAttributes>>,
    internet: bool,
}

/// The rejection of a path whose neighbor or attribute set is unknown to
/// the engine (a bug, kept visible rather than dropped).
fn internal_rejection() -> Rejection {
    Rejection {
        rule: Rule::Internal,
        reason: "unknown neighbor or attributes".into(),
    }
}
