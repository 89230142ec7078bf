//! The route engine's BMP feed (RFC 7854; Loc-RIB RFC 9069; Adj-RIB-Out
//! RFC 8671): what the engine tells the `[[bmp]]` collectors through the
//! [`Hub`] it owns (one bounded queue per collector; the exporter tasks of
//! `bmp::client` turn the feed into BMP messages).
//!
//! - Peer Up when a session is established (both OPENs as on the wire, from
//!   `SessionInfo::wire`), Peer Down with the NOTIFICATION the session task
//!   reported just before (`Input::DownCause`).
//! - Route Monitoring: the import pipeline notes which (neighbor, prefix)
//!   changed ([`EngineCore::bmp_path_changed`], a no-op without a connected
//!   collector); at the end of the pass the current state of each is sent,
//!   grouped by attribute set: pre-policy (every path as received, a
//!   rejected one with our rejection TLV: rule and reason), post-policy
//!   (accepted paths, L flag; a path that stops being accepted is
//!   withdrawn), the Loc-RIB (peer type 3: each prefix's best path, with the
//!   LOCAL_PREF and location communities of its nearest-edge decision) and,
//!   when asked, each neighbor's Adj-RIB-Out (O flag).
//! - A collector that (re)connects gets a full dump, paced by the room in
//!   its queue so that a large table never overflows a collector that keeps
//!   up ([`EngineCore::bmp_poll`], called by the engine task every turn and
//!   every few milliseconds while a dump runs); changes during a dump are
//!   sent as they happen (the dump reads the RIB when it gets to a prefix).
//! - Statistics Reports every `stats_interval_s` per collector: per
//!   neighbor type 0 (routes its import policy rejects, as the Adj-RIB-In
//!   holds them now), 7 and 9 (Adj-RIB-In, per AFI); for the Loc-RIB 8 and 10.
//!
//! Without `[[bmp]]` the engine holds no [`BmpState`] and every hook
//! returns at its first test: no encoding and no allocation per route.

use super::core::EngineCore;
use super::decision::DecisionState;
use crate::bmp::feed::{
    afi_of, bmp_peer_up, notification_bytes, peer_of, updates, BmpState, Dump, Groups, Key,
    ViewKey, POST, PRE, RESERVE, STEP, US,
};
use crate::bmp::hub::{Feed, Hub, Views};
use crate::bmp::msg::{DownReason, Peer, Stat, View};
use crate::config::BmpConfig;
use crate::messages::DownCause;
use crate::rib::{NeighborIdx, PathEntry, PathFlags};
use crate::wire::{AddPathPrefix, Afi, Capability, Codec, Open, PathAttributes, Prefix, Safi};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

impl EngineCore {
    /// Installs (or, with `None`, removes) the BMP hub for `collectors`:
    /// every collector that connects to it gets a full dump.
    pub fn attach_bmp(&mut self, hub: Option<Hub>, collectors: &[BmpConfig]) {
        self.bmp = hub.map(|h| Box::new(BmpState::new(h, collectors)));
    }

    /// True while a BMP dump is in progress (the task then polls often).
    pub fn bmp_dumping(&self) -> bool {
        self.bmp.as_ref().is_some_and(|b| !b.dumps.is_empty())
    }

    /// Wall time of `now` for a per-peer header.
    fn bmp_at(&self, now: Instant) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.wall_ms(now))
    }

    /// Starts the dumps collectors asked for and continues those in
    /// progress, as far as their queues have room.
    pub fn bmp_poll(&mut self, now: Instant) {
        let Some(mut b) = self.bmp.take() else { return };
        for c in b.hub.take_dump_requests() {
            self.bmp_start_dump(&mut b, c, now);
        }
        let mut dumps = std::mem::take(&mut b.dumps);
        dumps.retain_mut(|d| self.bmp_dump_step(&mut b, d, now));
        b.dumps = dumps;
        b.active = b.hub.any_connected();
        self.bmp = Some(b);
    }

    fn bmp_start_dump(&self, b: &mut BmpState, c: usize, now: Instant) {
        let Some(views) = b.hub.views(c) else { return };
        b.dumps.retain(|d| d.collector != c);
        let at = self.bmp_at(now);
        let us = self.bmp_us();
        b.hub.dump_to(
            c,
            Feed::LocRibUp {
                us,
                at,
                open: self.bmp_our_open(),
            },
        );
        for nb in self.neighbors.iter().flatten() {
            let Some(s) = &nb.session else { continue };
            b.hub.dump_to(c, bmp_peer_up(s, at));
        }
        let mut prefixes = self.rib.prefixes();
        if views.adj_rib_out {
            let known: hashbrown::HashSet<Prefix> = prefixes.iter().copied().collect();
            let mut extra: Vec<Prefix> = self
                .originate
                .keys()
                .filter(|p| !known.contains(*p))
                .copied()
                .collect();
            prefixes.append(&mut extra);
        }
        tracing::info!(
            collector = c,
            prefixes = prefixes.len(),
            "BMP: full dump starting"
        );
        b.dumps.push(Dump {
            collector: c,
            views,
            prefixes,
            pos: 0,
        });
        if let Some((Some(_), next)) = b.stats.get_mut(c) {
            // The first Statistics Report follows the dump's start.
            *next = Some(now);
        }
    }

    /// One step of a dump; false when it is over (done or cut off).
    fn bmp_dump_step(&self, b: &mut BmpState, d: &mut Dump, now: Instant) -> bool {
        let c = d.collector;
        let at = self.bmp_at(now);
        let mut read = 0;
        let reserve = (b.hub.capacity(c) / 8).clamp(1, RESERVE);
        while d.pos < d.prefixes.len() && read < STEP {
            if !b.hub.connected(c) {
                return false;
            }
            let room = b.hub.room(c);
            if room < 2 * reserve {
                return true;
            }
            let mut groups = Groups::default();
            while d.pos < d.prefixes.len() && read < STEP && 2 * groups.len() + reserve < room {
                let p = d.prefixes[d.pos];
                d.pos += 1;
                read += 1;
                self.bmp_dump_prefix(&d.views, &p, &mut groups);
            }
            self.bmp_emit(groups, at, |feed| b.hub.dump_to(c, feed));
        }
        if d.pos < d.prefixes.len() {
            return b.hub.connected(c);
        }
        tracing::info!(
            collector = c,
            prefixes = d.prefixes.len(),
            "BMP: full dump sent"
        );
        false
    }

    /// Everything the dump of `views` says about prefix `p`.
    fn bmp_dump_prefix(&self, views: &Views, p: &Prefix, groups: &mut Groups) {
        for e in self.rib.paths(p) {
            let established = self.nb(e.neighbor).is_some_and(|n| n.session.is_some());
            if established && views.pre_policy {
                groups.add(self.bmp_pre_key(p, e), *p);
            }
            if established && views.post_policy && e.flags.contains(PathFlags::ACCEPTED) {
                groups.add(
                    Key::announce(ViewKey::Post, e.neighbor, self.rib.effective(p, e)),
                    *p,
                );
            }
            if views.loc_rib && e.flags.contains(PathFlags::BEST) {
                groups.add(self.bmp_loc_key(p, e), *p);
            }
        }
        if views.adj_rib_out {
            for nb in self.neighbors.iter().flatten() {
                if nb.session.is_none() {
                    continue;
                }
                if let Some(id) = self.adj_rib_out(nb.idx).and_then(|o| o.get(p)) {
                    groups.add(Key::announce(ViewKey::Out, nb.idx, id), *p);
                }
            }
        }
    }

    fn bmp_pre_key(&self, p: &Prefix, e: &PathEntry) -> Key {
        let mut k = Key::announce(ViewKey::Pre, e.neighbor, e.attr);
        if !e.flags.contains(PathFlags::ACCEPTED) {
            k.rejection = self
                .rib
                .rejection(p, e)
                .map(|r| (r.rule.to_string(), r.reason.clone()));
        }
        k
    }

    fn bmp_loc_key(&self, p: &Prefix, e: &PathEntry) -> Key {
        let mut k = Key::announce(ViewKey::Loc, US, self.rib.effective(p, e));
        if self.decisions.contains_key(p) {
            k.decided = Some(*p);
        }
        k
    }

    /// Turns groups into feed items, handed to `sink`.
    fn bmp_emit(&self, groups: Groups, at: SystemTime, mut sink: impl FnMut(Feed)) {
        let us = self.bmp_us();
        for (key, prefixes) in groups.map {
            let peer = if key.idx == US {
                us
            } else {
                match self.nb(key.idx).and_then(|n| n.session.as_ref()) {
                    Some(s) => peer_of(s),
                    // Down since: its Peer Down said it all.
                    None => continue,
                }
            };
            let attrs = match key.attr {
                Some(id) => match self.rib.attrs.get(id) {
                    Some(a) => Some(self.bmp_loc_attrs(&key, (*a).clone())),
                    None => continue,
                },
                None => None,
            };
            let (v4, v6): (Vec<Prefix>, Vec<Prefix>) =
                prefixes.into_iter().partition(|p| afi_of(p) == 0);
            for (family, is_v4) in [(v4, true), (v6, false)] {
                if family.is_empty() {
                    continue;
                }
                for u in updates(attrs.as_ref(), &family, is_v4) {
                    sink(Feed::Route {
                        view: key.view.view(),
                        peer,
                        at,
                        update: Box::new(u),
                        codec: Codec::default(),
                        rejection: key.rejection.clone(),
                    });
                }
            }
        }
    }

    /// A Loc-RIB route of an activated registered prefix carries its
    /// decision: LOCAL_PREF (300 primary, 200 backup, 100 internet) and the
    /// location communities, as our internal neighbors receive it.
    fn bmp_loc_attrs(&self, key: &Key, mut a: PathAttributes) -> PathAttributes {
        let Some(d) = key.decided.as_ref().and_then(|p| self.decisions.get(p)) else {
            return a;
        };
        if d.state != DecisionState::Unreachable {
            a.local_pref = Some(d.state.local_pref());
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
        a
    }

    /// The Loc-RIB instance's peer (RFC 9069 §4.1): us.
    fn bmp_us(&self) -> Peer {
        Peer {
            address: IpAddr::V4(self.cfg.router.router_id),
            asn: self.cfg.router.asn,
            bgp_id: self.cfg.router.router_id,
            two_octet_as: false,
        }
    }

    /// Our OPEN for the Loc-RIB Peer Up (RFC 9069 §5.3).
    fn bmp_our_open(&self) -> bytes::Bytes {
        let asn = self.cfg.router.asn;
        let open = Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(23456),
            hold_time: 90,
            bgp_id: self.cfg.router.router_id,
            capabilities: vec![
                Capability::Multiprotocol {
                    afi: Afi::IPV4,
                    safi: Safi::UNICAST,
                },
                Capability::Multiprotocol {
                    afi: Afi::IPV6,
                    safi: Safi::UNICAST,
                },
                Capability::FourOctetAs(asn),
            ],
        };
        crate::bmp::client::open_bytes(&open)
    }

    /// Hook (import, removal): the path of `idx` for `prefix` went from
    /// `old` to `new`. Free without a connected collector.
    pub(crate) fn bmp_path_changed(
        &mut self,
        idx: NeighborIdx,
        prefix: Prefix,
        old: Option<PathEntry>,
        new: Option<PathEntry>,
    ) {
        let Some(b) = self.bmp.as_mut() else { return };
        if !b.active {
            return;
        }
        // The post-policy set of the replaced path is gone from the RIB:
        // a change that involves one counts as a change of the view.
        let accepted = |e: &Option<PathEntry>| {
            e.as_ref()
                .filter(|e| e.flags.contains(PathFlags::ACCEPTED))
                .map(|e| (e.attr, e.flags.contains(PathFlags::POST)))
        };
        let mut bits = 0;
        if old.map(|e| e.attr) != new.map(|e| e.attr)
            || old.map(|e| e.flags.contains(PathFlags::ACCEPTED))
                != new.map(|e| e.flags.contains(PathFlags::ACCEPTED))
        {
            // New attributes, or a new verdict (its rejection TLV).
            bits |= PRE;
        }
        let (was, is) = (accepted(&old), accepted(&new));
        if was != is || is.is_some_and(|(_, post)| post) {
            bits |= POST;
        }
        if bits != 0 {
            *b.paths.entry((idx, prefix)).or_default() |= bits;
        }
        if old.is_some_and(|e| e.flags.contains(PathFlags::BEST)) {
            b.loc_gone.insert(prefix);
        }
    }

    /// Hook (a member joined a running update group and was sent its whole
    /// Adj-RIB-Out): every entry of `idx` is new.
    pub(crate) fn bmp_out_joined(&mut self, idx: NeighborIdx) {
        let wanted = self
            .bmp
            .as_ref()
            .is_some_and(|b| b.active && b.hub.wants(View::AdjRibOut));
        if !wanted {
            return;
        }
        let all: Vec<AddPathPrefix> = self
            .adj_rib_out(idx)
            .into_iter()
            .flat_map(|o| o.iter())
            .map(|(prefix, _)| AddPathPrefix {
                path_id: None,
                prefix,
            })
            .collect();
        self.bmp_out_changed(idx, all.iter());
    }

    /// Hook (export): these Adj-RIB-Out entries of `idx` changed.
    pub(crate) fn bmp_out_changed<'a>(
        &mut self,
        idx: NeighborIdx,
        prefixes: impl Iterator<Item = &'a AddPathPrefix>,
    ) {
        let Some(b) = self.bmp.as_mut() else { return };
        if b.active && b.hub.wants(View::AdjRibOut) {
            b.out.extend(prefixes.map(|p| (idx, p.prefix)));
        }
    }

    /// Hook (settle, before the Loc-RIB is recomputed): each prefix's best
    /// path now, when some collector wants the Loc-RIB.
    pub(crate) fn bmp_bests_before(&self, prefixes: &[Prefix]) -> Option<Vec<Option<PathEntry>>> {
        let b = self.bmp.as_ref()?;
        if !b.active || !b.hub.wants(View::LocRib) {
            return None;
        }
        Some(
            prefixes
                .iter()
                .map(|p| {
                    self.rib
                        .paths(p)
                        .iter()
                        .find(|e| e.flags.contains(PathFlags::BEST))
                        .copied()
                })
                .collect(),
        )
    }

    /// Hook (end of settle): publishes what this pass changed.
    pub(crate) fn bmp_settle(
        &mut self,
        prefixes: &[Prefix],
        bests: &[Option<PathEntry>],
        before: Option<Vec<Option<PathEntry>>>,
        now: Instant,
    ) {
        let Some(mut b) = self.bmp.take() else { return };
        if b.active {
            let mut groups = Groups::default();
            for ((idx, p), bits) in b.paths.drain() {
                let path = self.rib.path(&p, idx);
                if bits & PRE != 0 {
                    match &path {
                        Some(e) => groups.add(self.bmp_pre_key(&p, e), p),
                        None => groups.add(Key::withdraw(ViewKey::Pre, idx), p),
                    }
                }
                if bits & POST != 0 {
                    match path.filter(|e| e.flags.contains(PathFlags::ACCEPTED)) {
                        Some(e) => groups.add(
                            Key::announce(ViewKey::Post, idx, self.rib.effective(&p, &e)),
                            p,
                        ),
                        None => groups.add(Key::withdraw(ViewKey::Post, idx), p),
                    }
                }
            }
            if let Some(before) = before {
                for ((p, old), new) in prefixes.iter().zip(&before).zip(bests) {
                    // A post-policy set is known only for the path now
                    // stored: one that had one is taken as changed.
                    let key = |e: &Option<PathEntry>| {
                        e.map(|e| (e.neighbor, e.attr, e.flags.contains(PathFlags::POST)))
                    };
                    let same = key(old) == key(new)
                        && !new.is_some_and(|e| e.flags.contains(PathFlags::POST))
                        && !b.loc_gone.contains(p);
                    // A decided prefix's attributes follow its decision.
                    if same && !self.decisions.contains_key(p) {
                        continue;
                    }
                    match new {
                        Some(e) => groups.add(self.bmp_loc_key(p, e), *p),
                        None if old.is_some() || b.loc_gone.contains(p) => {
                            groups.add(Key::withdraw(ViewKey::Loc, US), *p)
                        }
                        None => {}
                    }
                }
            }
            for (idx, p) in b.out.drain() {
                match self.adj_rib_out(idx).and_then(|o| o.get(&p)) {
                    Some(id) => groups.add(Key::announce(ViewKey::Out, idx, id), p),
                    None => groups.add(Key::withdraw(ViewKey::Out, idx), p),
                }
            }
            let at = self.bmp_at(now);
            self.bmp_emit(groups, at, |feed| b.hub.publish(&feed));
            b.active = b.hub.any_connected();
        } else {
            b.paths.clear();
            b.out.clear();
        }
        b.loc_gone.clear();
        self.bmp = Some(b);
    }

    /// Hook (session up): Peer Up, then the neighbor's paths the RIB kept
    /// (graceful restart) as if new.
    pub(crate) fn bmp_peer_up(&mut self, idx: NeighborIdx, now: Instant) {
        let Some(b) = self.bmp.as_ref() else { return };
        if !b.active {
            return;
        }
        let at = self.bmp_at(now);
        let Some(s) = self.nb(idx).and_then(|n| n.session.as_ref()) else {
            return;
        };
        let up = bmp_peer_up(s, at);
        let kept = self.rib.neighbor_paths(idx);
        let Some(b) = self.bmp.as_mut() else { return };
        b.causes.remove(&idx);
        b.hub.publish(&up);
        for (p, e) in kept {
            *b.paths.entry((idx, p)).or_default() |= PRE
                | if e.flags.contains(PathFlags::ACCEPTED) {
                    POST
                } else {
                    0
                };
        }
    }

    /// Hook (`Input::DownCause`): keeps the cause for the Peer Down.
    pub(crate) fn bmp_down_cause(&mut self, neighbor: &str, cause: DownCause) {
        let Some(&idx) = self.by_name.get(neighbor) else {
            return;
        };
        if let Some(b) = self.bmp.as_mut() {
            b.causes.insert(idx, cause);
        }
    }

    /// Hook (session down, before the session is forgotten): Peer Down.
    pub(crate) fn bmp_peer_down(&mut self, idx: NeighborIdx, now: Instant) {
        let at = self.bmp_at(now);
        let Some(peer) = self.nb(idx).and_then(|n| n.session.as_ref()).map(peer_of) else {
            return;
        };
        let Some(b) = self.bmp.as_mut() else { return };
        let reason = match b.causes.remove(&idx) {
            Some(DownCause::Sent(n)) => DownReason::LocalNotification(notification_bytes(&n)),
            Some(DownCause::Received(n)) => DownReason::RemoteNotification(notification_bytes(&n)),
            Some(DownCause::Closed) | None => DownReason::RemoteNoData,
        };
        if b.active {
            b.hub.publish(&Feed::PeerDown { peer, at, reason });
        }
    }

    /// Hook (timer): Statistics Reports to the collectors they are due to.
    pub(crate) fn bmp_tick(&mut self, now: Instant) {
        let Some(mut b) = self.bmp.take() else { return };
        let due: Vec<usize> = (0..b.stats.len())
            .filter(|&c| b.hub.connected(c))
            .filter(|&c| matches!(b.stats[c], (Some(_), next) if next.is_none_or(|t| t <= now)))
            .collect();
        if !due.is_empty() {
            let feeds = self.bmp_statistics(now);
            for c in due {
                if let Some((Some(every), next)) = b.stats.get_mut(c) {
                    *next = Some(now + *every);
                }
                for f in &feeds {
                    b.hub.dump_to(c, f.clone());
                }
            }
        }
        self.bmp = Some(b);
    }

    /// The Statistics Reports: per established neighbor and for the Loc-RIB.
    fn bmp_statistics(&self, now: Instant) -> Vec<Feed> {
        let at = self.bmp_at(now);
        let mut per: HashMap<NeighborIdx, [u64; 2]> = HashMap::new();
        let mut loc = [0u64; 2];
        for (p, paths) in self.rib.iter() {
            let f = afi_of(&p);
            for e in paths {
                if let Some(c) = per.get_mut(&e.neighbor) {
                    c[f] += 1;
                } else {
                    let mut c = [0; 2];
                    c[f] = 1;
                    per.insert(e.neighbor, c);
                }
                if e.flags.contains(PathFlags::BEST) {
                    loc[f] += 1;
                }
            }
        }
        let mut out = Vec::new();
        for nb in self.neighbors.iter().flatten() {
            let Some(s) = &nb.session else { continue };
            let c = per.get(&nb.idx).copied().unwrap_or_default();
            let rejected: u64 = nb.rejected.values().sum();
            let mut stats = vec![
                Stat::RejectedByPolicy(u32::try_from(rejected).unwrap_or(u32::MAX)),
                Stat::AdjRibIn(c[0] + c[1]),
                Stat::AdjRibInFamily(1, 1, c[0]),
                Stat::AdjRibInFamily(2, 1, c[1]),
            ];
            stats.extend(
                nb.rejected
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(rule, n)| Stat::RejectedByRule(*n, rule.to_string())),
            );
            out.push(Feed::Stats {
                view: View::PrePolicy,
                peer: peer_of(s),
                at,
                stats,
            });
        }
        out.push(Feed::Stats {
            view: View::LocRib,
            peer: self.bmp_us(),
            at,
            stats: vec![
                Stat::LocRib(loc[0] + loc[1]),
                Stat::LocRibFamily(1, 1, loc[0]),
                Stat::LocRibFamily(2, 1, loc[1]),
            ],
        });
        out
    }
}
