//! Export by role (RFC 4271 §9.1.3, DESIGN.md "On export"), run by the route
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
//! - the result is diffed against the neighbor's Adj-RIB-Out and sent as
//!   `ToPeer::Send` (one UPDATE per attribute set), End-of-RIB after the
//!   initial dump.

use super::core::{EngineCore, Pass};
use super::decide::{DecisionState, LP_INTERNET};
use super::messages::ToPeer;
use super::neighbor::Neighbor;
use crate::config::Role;
use crate::policy::parse::{parse_community, parse_large_community};
use crate::policy::{RouteContext, Verdict};
use crate::rib::{AttrId, NeighborIdx, PathFlags};
use crate::wire::update::{MpReach, MpUnreach};
use crate::wire::{AddPathPrefix, Afi, AsPath, Origin, PathAttributes, Prefix, Safi, Update};
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

/// Prefixes per export batch (bounds the attribute copies held at once).
const EXPORT_CHUNK: usize = 4096;

fn is_v4(p: &Prefix) -> bool {
    matches!(p, Prefix::V4(_))
}

/// End-of-RIB markers for the unicast families of a session (RFC 4724 §2).
pub fn end_of_rib(families: &[(Afi, Safi)]) -> Vec<Update> {
    families
        .iter()
        .filter(|(afi, safi)| *safi == Safi::UNICAST && (*afi == Afi::IPV4 || *afi == Afi::IPV6))
        .map(|&(afi, safi)| Update::end_of_rib(afi, safi))
        .collect()
}

impl EngineCore {
    /// Settles a pass: decisions, Loc-RIB best paths, exports, metrics.
    pub(crate) fn settle(&mut self, now: std::time::Instant, pass: &mut Pass) {
        self.recompute_decisions(now, pass);
        let prefixes: Vec<Prefix> = if pass.full {
            let mut all: HashSet<Prefix> = self.rib.prefixes().into_iter().collect();
            all.extend(pass.dirty.iter().copied());
            all.into_iter().collect()
        } else {
            pass.dirty.iter().copied().collect()
        };
        for p in &prefixes {
            self.update_best(p);
        }
        let established: Vec<NeighborIdx> = self
            .neighbors
            .iter()
            .flatten()
            .filter(|n| n.session.is_some())
            .map(|n| n.idx)
            .collect();
        // Every prefix a full or initial export to an internal neighbor
        // looks at, built once per pass.
        let mut wide: Option<HashSet<Prefix>> = None;
        for idx in established {
            let dump = pass.dumps.contains(&idx);
            let Some(nb) = self.nb(idx) else { continue };
            let internal = nb.cfg.role == Role::Internal;
            let targets: Vec<Prefix> = match (internal, dump || pass.full) {
                // Peers and transits only ever get originated prefixes.
                (false, true) => {
                    let mut t: HashSet<Prefix> = self.originate.keys().copied().collect();
                    t.extend(nb.out.iter().map(|(p, _)| *p));
                    t.into_iter().collect()
                }
                (false, false) => prefixes
                    .iter()
                    .filter(|p| self.originate.contains_key(*p) || nb.out.get(p).is_some())
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
                    t.extend(nb.out.iter().map(|(p, _)| *p).filter(|p| !set.contains(p)));
                    t
                }
                (true, false) => prefixes.clone(),
            };
            let mut updates = Vec::new();
            for chunk in targets.chunks(EXPORT_CHUNK) {
                updates.extend(self.export_prefixes(idx, chunk));
            }
            if dump {
                if let Some(s) = self.nb(idx).and_then(|n| n.session.as_ref()) {
                    updates.extend(end_of_rib(&s.families));
                }
            }
            if !updates.is_empty() {
                if let Some(nb) = self.nb(idx) {
                    pass.outputs.push((nb.name.clone(), ToPeer::Send(updates)));
                }
                pass.touched.insert(idx);
            }
        }
        self.update_metrics(pass);
        if !pass.touched.is_empty() {
            self.rpki_metrics();
        }
    }

    /// What `to` should have for `prefix` (before export policy).
    fn desired(&self, to: &Neighbor, prefix: &Prefix) -> Option<PathAttributes> {
        let session = to.session.as_ref()?;
        let afi = if is_v4(prefix) { Afi::IPV4 } else { Afi::IPV6 };
        if !session
            .families
            .iter()
            .any(|(a, s)| *a == afi && *s == Safi::UNICAST)
        {
            return None;
        }
        let local = session.local_address;
        let self_nh = |p: &Prefix, fallback: Option<IpAddr>| -> Option<IpAddr> {
            if local.is_ipv4() == is_v4(p) {
                Some(local)
            } else {
                fallback.filter(|f| f.is_ipv4() == is_v4(p))
            }
        };
        if let Some(o) = self.originate.get(prefix) {
            let mut a = PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(if to.ebgp {
                    AsPath::from_sequence(vec![self.cfg.router.asn])
                } else {
                    AsPath::default()
                }),
                next_hop: Some(self_nh(prefix, o.next_hop)?),
                communities: o
                    .communities
                    .iter()
                    .filter_map(|c| parse_community(c).ok())
                    .collect(),
                large_communities: o
                    .large_communities
                    .iter()
                    .filter_map(|c| parse_large_community(c).ok())
                    .collect(),
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
        if to.cfg.role != Role::Internal {
            return None;
        }
        let best = self
            .rib
            .paths(prefix)
            .iter()
            .find(|e| e.flags.contains(PathFlags::BEST))
            .copied()?;
        let src = self.nb(best.neighbor)?;
        if src.idx == to.idx || src.cfg.role == Role::Internal {
            return None;
        }
        let mut a = (*self.rib.attrs.get(best.effective())?).clone();
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
            if let Some(loc) = d.location.as_deref() {
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

    /// Diffs `prefixes` for neighbor `idx` against its Adj-RIB-Out and
    /// returns the UPDATEs that bring it in line.
    pub(crate) fn export_prefixes(&mut self, idx: NeighborIdx, prefixes: &[Prefix]) -> Vec<Update> {
        let Some(to) = self.nb(idx) else {
            return Vec::new();
        };
        let mut wanted: Vec<(Prefix, Option<PathAttributes>)> = Vec::with_capacity(prefixes.len());
        // Validating every exported prefix costs hash probes: only when some
        // policy can look at the state.
        let rpki_matters = self.rpki_in_policies();
        for p in prefixes {
            let d = self.desired(to, p).and_then(|a| {
                let ctx = RouteContext {
                    prefix: *p,
                    attrs: &a,
                    neighbor: &to.cfg.name,
                    neighbor_address: to.cfg.address,
                    neighbor_as: to.cfg.remote_as,
                    role: to.cfg.role,
                    location: &to.cfg.location,
                    // As the receiver will validate it (our AS is the
                    // origin of what we originate).
                    rpki: if rpki_matters {
                        self.rpki_state(p, a.as_path.as_ref().and_then(|x| x.origin_as()))
                    } else {
                        None
                    },
                };
                match self.policy.export(&to.cfg, &ctx) {
                    Verdict::Accept(Some(m)) | Verdict::Internet(Some(m)) => Some(m),
                    Verdict::Accept(None) | Verdict::Internet(None) => Some(a),
                    Verdict::Reject(_) => None,
                }
            });
            wanted.push((*p, d));
        }
        let mut announce: BTreeMap<AttrId, Vec<Prefix>> = BTreeMap::new();
        let mut withdraw: Vec<Prefix> = Vec::new();
        for (p, d) in wanted {
            let current = self.nb(idx).and_then(|n| n.out.get(&p));
            match d {
                Some(a) => {
                    let id = self.rib.attrs.intern(a);
                    if current == Some(id) {
                        self.rib.attrs.release(id);
                        continue;
                    }
                    if let Some(old) = self.nb_mut(idx).and_then(|n| n.out.insert(p, id)) {
                        self.rib.attrs.release(old);
                    }
                    announce.entry(id).or_default().push(p);
                }
                None => {
                    if let Some(old) = self.nb_mut(idx).and_then(|n| n.out.remove(&p)) {
                        self.rib.attrs.release(old);
                        withdraw.push(p);
                    }
                }
            }
        }
        let mut updates = self.withdraw_updates(&withdraw);
        for (id, ps) in announce {
            updates.extend(self.announce_updates(id, &ps));
        }
        updates
    }

    fn withdraw_updates(&self, withdraw: &[Prefix]) -> Vec<Update> {
        let mut out = Vec::new();
        let (v4, v6): (Vec<Prefix>, Vec<Prefix>) = withdraw.iter().partition(|p| is_v4(p));
        let ap = |ps: Vec<Prefix>| -> Vec<AddPathPrefix> {
            ps.into_iter()
                .map(|prefix| AddPathPrefix {
                    path_id: None,
                    prefix,
                })
                .collect()
        };
        if !v4.is_empty() {
            out.push(Update {
                withdrawn: ap(v4),
                ..Default::default()
            });
        }
        if !v6.is_empty() {
            out.push(Update {
                mp_unreach: Some(MpUnreach {
                    afi: Afi::IPV6,
                    safi: Safi::UNICAST,
                    withdrawn: ap(v6),
                }),
                ..Default::default()
            });
        }
        out
    }

    /// UPDATEs announcing `prefixes` with attribute set `id`.
    fn announce_updates(&self, id: AttrId, prefixes: &[Prefix]) -> Vec<Update> {
        let Some(attrs) = self.rib.attrs.get(id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let (v4, v6): (Vec<Prefix>, Vec<Prefix>) = prefixes.iter().partition(|p| is_v4(p));
        if !v4.is_empty() {
            out.push(Update {
                attrs: (*attrs).clone(),
                nlri: v4
                    .into_iter()
                    .map(|prefix| AddPathPrefix {
                        path_id: None,
                        prefix,
                    })
                    .collect(),
                ..Default::default()
            });
        }
        if !v6.is_empty() {
            if let Some(nh) = attrs.next_hop {
                let mut a = (*attrs).clone();
                a.next_hop = None;
                out.push(Update {
                    attrs: a,
                    mp_reach: Some(MpReach {
                        afi: Afi::IPV6,
                        safi: Safi::UNICAST,
                        next_hop: nh,
                        link_local_next_hop: None,
                        nlri: v6
                            .into_iter()
                            .map(|prefix| AddPathPrefix {
                                path_id: None,
                                prefix,
                            })
                            .collect(),
                    }),
                    ..Default::default()
                });
            }
        }
        out
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
        if safi != Safi::UNICAST {
            return;
        }
        let Some(nb) = self.nb(idx) else { return };
        let mut groups: BTreeMap<AttrId, Vec<Prefix>> = BTreeMap::new();
        for (p, id) in nb.out.iter() {
            if is_v4(p) == (afi == Afi::IPV4) {
                groups.entry(*id).or_default().push(*p);
            }
        }
        let name = nb.name.clone();
        let mut updates = Vec::new();
        for (id, ps) in groups {
            updates.extend(self.announce_updates(id, &ps));
        }
        if !updates.is_empty() {
            pass.outputs.push((name, ToPeer::Send(updates)));
        }
    }
}
