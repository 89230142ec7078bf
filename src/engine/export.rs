//! Export by role (RFC 4271 §9.1.3; README, "The rules and the decisions"), run by the route
//! engine task at the end of every input:
//! - `[[originate]]` prefixes go to every neighbor; we build their
//!   attributes (AS_PATH `[our asn]` toward eBGP, empty toward iBGP; NEXT_HOP
//!   the session's local address or `originate.next_hop`; LOCAL_PREF only
//!   toward iBGP);
//! - learned routes go only to `internal` neighbors: each prefix's Loc-RIB
//!   best (never back to its source, never internal → internal), iBGP keeps
//!   NEXT_HOP and gets LOCAL_PREF (the decision's, with the location
//!   communities, for activated prefixes); peering-service and transit
//!   neighbors never receive them;
//! - `PolicySet::export` is applied last;
//! - the result is diffed against the neighbor's Adj-RIB-Out and handed
//!   over, per attribute set with its prefixes, as `ToPeer::Wire` pieces
//!   ([`Outbox`]) that the first member's session task encodes into
//!   UPDATEs for the session's codec; End-of-RIB after the initial dump.

use super::core::EngineCore;
use super::decision::{DecisionState, LP_INTERNET};
use super::neighbor::Neighbor;
use super::outbox::{by_set, Outbox};
use super::pass::Pass;
use crate::config::Role;
use crate::messages::ToPeer;
use crate::policy::{RouteContext, Verdict};
use crate::rib::{AttrId, NeighborIdx, PathEntry, PathFlags, PREFETCH_AHEAD};
use crate::wire::{AddPathPrefix, Afi, AsPath, Origin, PathAttributes, Prefix, Safi};
use hashbrown::HashMap;
use std::collections::HashSet;
use std::net::IpAddr;

/// Prefixes per export batch (bounds the attribute copies held at once).
const EXPORT_CHUNK: usize = 4096;

fn is_v4(p: &Prefix) -> bool {
    matches!(p, Prefix::V4(_))
}

/// Where an exported route comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// One of our `[[originate]]` prefixes.
    Originated,
    /// The Loc-RIB best path: its post-policy attribute set and neighbor.
    Learned { attr: AttrId, from: NeighborIdx },
}

impl EngineCore {
    /// Settles a pass: decisions, Loc-RIB best paths, exports, metrics.
    pub(crate) fn settle(&mut self, now: std::time::Instant, pass: &mut Pass) {
        self.recompute_decisions(now, pass);
        let prefixes: Vec<Prefix> = if pass.full {
            let mut all: HashSet<Prefix> = self.rib.prefixes().into_iter().collect();
            all.extend(pass.dirty.take());
            all.into_iter().collect()
        } else {
            pass.dirty.take()
        };
        // The winners, aligned with `prefixes`: the export of an internal
        // neighbor's incremental pass reads them here instead of probing
        // the RIB again for every prefix.
        let before = self.bmp_bests_before(&prefixes);
        let mut moved = Vec::with_capacity(prefixes.len());
        // Each prefix's RIB memory is asked for a few prefixes ahead, as
        // the import does: a full table's pass reads cold buckets.
        for p in prefixes.iter().take(PREFETCH_AHEAD) {
            self.rib.prefetch(p);
        }
        let bests: Vec<Option<PathEntry>> = prefixes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if let Some(next) = prefixes.get(i + PREFETCH_AHEAD) {
                    self.rib.prefetch(next);
                }
                let (best, m) = self.update_best(p);
                moved.push(m);
                best
            })
            .collect();
        // What an internal neighbor's incremental export looks at: the
        // prefixes whose winner moved. In a pass of UPDATEs alone (no
        // reload, session or RPKI change: those re-decide everything) an
        // unmoved winner of a prefix with no nearest-edge decision exports
        // what it did (its source, set and policy inputs are the same), so
        // its diff would find nothing. With two real full feeds racing
        // (the bench's real2), 44% of the prefixes a pass changed.
        // Any other pass exports every prefix it changed, with no copy.
        let moved_only = (!pass.full && !pass.all_decisions).then(|| {
            prefixes
                .iter()
                .zip(&bests)
                .zip(&moved)
                .filter(|((p, _), m)| **m || self.decisions.contains_key(*p))
                .map(|((p, b), _)| (*p, *b))
                .unzip::<_, _, Vec<Prefix>, Vec<Option<PathEntry>>>()
        });
        let (moved_prefixes, moved_bests) = match &moved_only {
            Some((p, b)) => (p.as_slice(), b.as_slice()),
            None => (prefixes.as_slice(), bests.as_slice()),
        };
        // Established neighbors in their update groups: each group is
        // diffed once, its pieces (encoded once) shared by its members.
        self.assign_groups();
        // Every prefix a full or initial export to an internal neighbor
        // looks at, built once per pass.
        let mut wide: Option<HashSet<Prefix>> = None;
        for gid in self.groups.ids() {
            let Some(g) = self.groups.get(gid) else {
                continue;
            };
            // Members that hold the group's Adj-RIB-Out, and the joiners:
            // a new group's joiners get the export itself as their dump; a
            // running group's get its Adj-RIB-Out once the pass is in it.
            let (synced, joining) = g.members.split_at(g.synced);
            let (synced, joining) = (synced.to_vec(), joining.to_vec());
            let fresh = synced.is_empty();
            let receivers = if fresh { &joining } else { &synced };
            let Some(&rep) = receivers.first() else {
                continue;
            };
            let Some(nb) = self.nb(rep) else { continue };
            let Some(session) = nb.session.as_ref() else {
                continue;
            };
            let codec = session.codec;
            let families = session.families.clone();
            let internal = nb.cfg.role == Role::Internal;
            let full = fresh || pass.full;
            let aligned = internal && !full;
            let out = g.view(&self.rib);
            let targets: Vec<Prefix> = match (internal, full) {
                // Peers and transits only ever get originated prefixes.
                (false, true) => {
                    let mut t: HashSet<Prefix> = self.originate.keys().copied().collect();
                    t.extend(out.iter().map(|(p, _)| p));
                    t.into_iter().collect()
                }
                (false, false) => prefixes
                    .iter()
                    .filter(|p| self.originate.contains_key(*p) || out.get(p).is_some())
                    .copied()
                    .collect(),
                (true, true) => {
                    let set = wide.get_or_insert_with(|| {
                        let mut all: HashSet<Prefix> = prefixes.iter().copied().collect();
                        all.extend(self.originate.keys().copied());
                        if !pass.full {
                            all.extend(self.rib.prefixes());
                        }
                        all
                    });
                    let mut t: Vec<Prefix> = set.iter().copied().collect();
                    t.extend(out.iter().map(|(p, _)| p).filter(|p| !set.contains(p)));
                    t
                }
                (true, false) => moved_prefixes.to_vec(),
            };
            let mut outbox = Outbox::new(codec);
            for (i, chunk) in targets.chunks(EXPORT_CHUNK).enumerate() {
                let hint = aligned.then(|| &moved_bests[i * EXPORT_CHUNK..][..chunk.len()]);
                self.export_prefixes(gid, rep, chunk, hint, &mut outbox);
            }
            if fresh {
                outbox.end_of_rib(&families);
            }
            let pieces = outbox.finish();
            for &idx in receivers {
                if pieces.is_empty() {
                    break;
                }
                if let Some(nb) = self.nb(idx) {
                    let name = &nb.name;
                    pass.outputs.extend(
                        pieces
                            .iter()
                            .map(|e| (name.clone(), ToPeer::Wire(e.clone()))),
                    );
                    pass.touched.insert(idx);
                }
            }
            if !fresh {
                for &idx in &joining {
                    self.dump_out(idx, None, true, pass);
                    self.bmp_out_joined(idx);
                }
            }
            if let Some(g) = self.groups.get_mut(gid) {
                g.synced = g.members.len();
            }
        }
        self.bmp_settle(&prefixes, &bests, before, now);
        self.update_metrics(pass);
        if !pass.touched.is_empty() {
            self.rpki_metrics();
        }
    }

    /// Where what `to` should have for `prefix` comes from, if anything:
    /// one of our `[[originate]]` prefixes, or the Loc-RIB best path.
    fn source(&self, to: &Neighbor, prefix: &Prefix, best: Option<PathEntry>) -> Option<Source> {
        let session = to.session.as_ref()?;
        let afi = if is_v4(prefix) { Afi::IPV4 } else { Afi::IPV6 };
        if !session
            .families
            .iter()
            .any(|(a, s)| *a == afi && *s == Safi::UNICAST)
        {
            return None;
        }
        if self.originate.contains_key(prefix) {
            return Some(Source::Originated);
        }
        if to.cfg.role != Role::Internal {
            return None;
        }
        let best = best?;
        let src = self.nb(best.neighbor)?;
        if src.idx == to.idx || src.cfg.role == Role::Internal {
            return None;
        }
        Some(Source::Learned {
            attr: self.rib.effective(prefix, &best),
            from: src.idx,
        })
    }

    /// What `to` should have for `prefix` from `source` (before export policy).
    fn build(&self, to: &Neighbor, prefix: &Prefix, source: Source) -> Option<PathAttributes> {
        let local = to.session.as_ref()?.local_address;
        let self_nh = |p: &Prefix, fallback: Option<IpAddr>| -> Option<IpAddr> {
            if local.is_ipv4() == is_v4(p) {
                Some(local)
            } else {
                fallback.filter(|f| f.is_ipv4() == is_v4(p))
            }
        };
        let (attr, from) = match source {
            Source::Learned { attr, from } => (attr, from),
            Source::Originated => {
                let o = self.originate.get(prefix)?;
                let mut a = PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(if to.ebgp {
                        AsPath::from_sequence(vec![self.cfg.router.asn])
                    } else {
                        AsPath::default()
                    }),
                    next_hop: Some(self_nh(prefix, o.next_hop)?),
                    communities: o.communities.clone(),
                    large_communities: o.large_communities.clone(),
                    ..Default::default()
                };
                if !to.ebgp {
                    a.local_pref = Some(LP_INTERNET);
                } else if let Some(local) = to.cfg.local_role() {
                    // RFC 9234 §5: toward a customer or a peer, mark it ours.
                    super::otc::egress(local, self.cfg.router.asn, &mut a).then_some(())?;
                }
                return Some(a);
            }
        };
        let src = self.nb(from)?;
        let mut a = self.rib.attrs.with(attr, PathAttributes::clone)?;
        // RFC 7607 §2: never propagate AS 0. The decoder already treats such
        // routes as withdrawn; this guards every other way a path is built.
        if a.carries_as_zero() {
            tracing::debug!(%prefix, "not exported: AS 0 in its path (RFC 7607)");
            return None;
        }
        // RFC 9234 §5: a route from a provider or a peer carries on as
        // "only to customers" (the neighbor's AS) inside our network.
        if let Some(local) = src.cfg.local_role().filter(|_| src.ebgp) {
            a.only_to_customer = super::otc::implied(local, src.cfg.remote_as, &a);
        }
        // Not activated: the LOCAL_PREF import policy set, else the default.
        // Activated: the decision's LOCAL_PREF encodes the ranking.
        let mut lp = a.local_pref.unwrap_or(LP_INTERNET);
        if let Some(d) = self.decisions.get(prefix) {
            if d.state != DecisionState::Unreachable {
                lp = d.state.local_pref();
            }
            if let Some(loc) = d.location {
                let (c, l) = self.location_communities(loc);
                if let Some(c) = c.filter(|c| !a.communities.contains(c)) {
                    a.communities.push(c);
                }
                if let Some(l) = l.filter(|l| !a.large_communities.contains(l)) {
                    a.large_communities.push(l);
                }
            }
        }
        if to.ebgp {
            a.as_path = Some(
                a.as_path
                    .unwrap_or_default()
                    .prepended(self.cfg.router.asn, 1),
            );
            a.next_hop = Some(self_nh(prefix, None)?);
            a.local_pref = None;
        } else {
            a.local_pref = Some(lp);
        }
        Some(a)
    }

    /// Diffs `prefixes` for update group `gid` (built for its member
    /// `idx`: every member's export is the same) against the group's
    /// Adj-RIB-Out and puts the UPDATEs that bring it in line into
    /// `outbox`.
    ///
    /// Two phases: first, read-only, what the neighbor should have; routes
    /// whose exported attributes cannot depend on the prefix (learned, no
    /// decision, no export policy) share one built set per (source set,
    /// source neighbor), so a full table builds each set once, not once per
    /// prefix. Then the sets are interned once each and diffed against the
    /// Adj-RIB-Out, and each set goes to `outbox` with its prefixes (the
    /// session task encodes them straight from it).
    ///
    /// `bests`, when given, holds each prefix's Loc-RIB winner (aligned
    /// with `prefixes`), as `settle` just computed them.
    pub(crate) fn export_prefixes(
        &mut self,
        gid: super::groups::GroupId,
        idx: NeighborIdx,
        prefixes: &[Prefix],
        bests: Option<&[Option<PathEntry>]>,
        outbox: &mut Outbox,
    ) {
        let Some(to) = self.nb(idx) else { return };
        // Validating every exported prefix costs hash probes: only when some
        // policy can look at the state.
        let rpki_matters = self.rpki_in_policies();
        let shareable = to.cfg.export_policy.is_none();
        // Sized for the call up front: growing these insert by insert, with
        // a rehash of the map at each doubling on every call, showed in
        // profiles.
        let mut sets: Vec<PathAttributes> = Vec::with_capacity(prefixes.len());
        // Per set: the received set it is a derivation of (see below).
        let mut bases: Vec<Option<AttrId>> = Vec::with_capacity(prefixes.len());
        let mut shared: HashMap<(AttrId, NeighborIdx, bool), Option<usize>> =
            HashMap::with_capacity(prefixes.len());
        let mut wanted: Vec<(Prefix, Option<usize>)> = Vec::with_capacity(prefixes.len());
        for (i, p) in prefixes.iter().enumerate() {
            let best = match bests {
                Some(b) => b.get(i).copied().flatten(),
                None => self
                    .rib
                    .paths(p)
                    .iter()
                    .find(|e| e.flags.contains(PathFlags::BEST))
                    .copied(),
            };
            let source = self.source(to, p, best);
            let key = match source {
                Some(Source::Learned { attr, from, .. })
                    if shareable && !self.decisions.contains_key(p) =>
                {
                    Some((attr, from, is_v4(p)))
                }
                _ => None,
            };
            if let Some(&set) = key.as_ref().and_then(|k| shared.get(k)) {
                wanted.push((*p, set));
                continue;
            }
            let built = source.and_then(|src| self.build(to, p, src)).and_then(|a| {
                // As the receiver will validate it (our AS is the origin
                // of what we originate).
                let rpki = if rpki_matters {
                    self.rpki_state(p, a.as_path.as_ref().and_then(|x| x.origin_as()))
                } else {
                    None
                };
                let ctx = RouteContext::new(*p, &a, &to.cfg, rpki);
                match self.policy.export(&to.cfg, &ctx) {
                    Verdict::Accept(Some(m)) | Verdict::Internet(Some(m)) => Some(m),
                    Verdict::Accept(None) | Verdict::Internet(None) => Some(a),
                    Verdict::Reject(_) => None,
                }
            });
            // A shared set toward an iBGP neighbor is usually the source
            // set with our LOCAL_PREF (and ONLY_TO_CUSTOMER): kept in the
            // Adj-RIB-Out as a derivation of it, not a second whole copy.
            let base = key.filter(|_| !to.ebgp).map(|(attr, _, _)| attr);
            let set = built.map(|mut a| {
                let base = base.filter(|&b| {
                    self.rib
                        .attrs
                        .with(b, |whole| only_lp_otc_differ(&mut a, whole))
                        .unwrap_or(false)
                });
                sets.push(a);
                bases.push(base);
                sets.len() - 1
            });
            if let Some(k) = key {
                shared.insert(k, set);
            }
            wanted.push((*p, set));
        }
        // One reference per set while diffing; each Adj-RIB-Out entry takes its own.
        let ids: Vec<AttrId> = sets
            .iter()
            .zip(&bases)
            .map(|(a, base)| {
                base.and_then(|b| {
                    self.rib
                        .attrs
                        .intern_derived(b, a.local_pref, a.only_to_customer)
                })
                .unwrap_or_else(|| self.rib.attrs.intern_ref(a))
            })
            .collect();
        // (set, prefix) to announce, grouped by set below: one vector for
        // the pass instead of one per set.
        // Sized once: growing it by doubling, pass after pass, showed as a
        // hot spot (fresh pages written for every copy).
        let mut announce: Vec<(u32, Prefix)> = Vec::with_capacity(wanted.len());
        let mut withdraw: Vec<AddPathPrefix> = Vec::new();
        let Some(g) = self.groups.get_mut(gid) else {
            for id in ids {
                self.rib.attrs.release(id);
            }
            return;
        };
        // The folded Adj-RIB-Out's entries sit in the buckets `settle`
        // just read for the winners: no probe of a map of its own. A large
        // pass has pushed the first ones out of the cache by now, so they
        // are asked for again, ahead.
        let (folded, out) = (g.folded, &mut g.out);
        if folded {
            for (p, _) in wanted.iter().take(PREFETCH_AHEAD) {
                self.rib.prefetch(p);
            }
        }
        for (i, &(prefix, set)) in wanted.iter().enumerate() {
            if folded {
                if let Some((next, _)) = wanted.get(i + PREFETCH_AHEAD) {
                    self.rib.prefetch(next);
                }
            }
            match set {
                Some(set) => {
                    let id = ids[set];
                    let replaced = if folded {
                        self.rib.out_advertise(&prefix, id)
                    } else {
                        out.advertise(prefix, id)
                    };
                    let Some(replaced) = replaced else {
                        continue;
                    };
                    self.rib.attrs.acquire(id);
                    if let Some(old) = replaced {
                        self.rib.attrs.release(old);
                    }
                    announce.push((set as u32, prefix));
                }
                None => {
                    let removed = if folded {
                        self.rib.out_remove(&prefix)
                    } else {
                        out.remove(&prefix)
                    };
                    if let Some(old) = removed {
                        self.rib.attrs.release(old);
                        withdraw.push(AddPathPrefix {
                            path_id: None,
                            prefix,
                        });
                    }
                }
            }
        }
        for id in ids {
            self.rib.attrs.release(id);
        }
        // Every member of the group was sent the same.
        let members = self
            .groups
            .get(gid)
            .map(|g| g.members.clone())
            .unwrap_or_default();
        let (flat, starts) = by_set(&announce, sets.len());
        for m in members {
            self.bmp_out_changed(m, withdraw.iter().chain(&flat));
        }
        outbox.withdraw(withdraw);
        outbox.announce_runs(sets, flat, starts);
    }

    /// Sends `prefixes` to the neighbor again as its Adj-RIB-Out holds them
    /// now: announced with their attributes, withdrawn when absent; then
    /// End-of-RIB when `end_of_rib`. The resync after the engine task
    /// dropped UPDATEs queued for a session that fell too far behind.
    pub(crate) fn resend(
        &mut self,
        idx: NeighborIdx,
        prefixes: &[Prefix],
        end_of_rib: bool,
        pass: &mut Pass,
    ) {
        let out = self.adj_rib_out(idx);
        let held = prefixes.iter().map(|&p| (p, out.and_then(|o| o.get(&p))));
        self.send_as_held(idx, held, end_of_rib, pass);
    }

    /// Resends one family of the neighbor's Adj-RIB-Out (RFC 2918). No
    /// BoRR/EoRR demarcation (RFC 7313) is sent.
    pub(crate) fn route_refresh(
        &mut self,
        idx: NeighborIdx,
        afi: Afi,
        safi: Safi,
        pass: &mut Pass,
    ) {
        if safi == Safi::UNICAST {
            self.dump_out(idx, Some(afi), false, pass);
        }
    }
}

/// Whether `a` is `whole` but for LOCAL_PREF and ONLY_TO_CUSTOMER
/// (compared in place: no copy of either set).
fn only_lp_otc_differ(a: &mut PathAttributes, whole: &PathAttributes) -> bool {
    let kept = (a.local_pref, a.only_to_customer);
    a.local_pref = whole.local_pref;
    a.only_to_customer = whole.only_to_customer;
    let same = a == whole;
    (a.local_pref, a.only_to_customer) = kept;
    same
}
