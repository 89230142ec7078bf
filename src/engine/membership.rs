//! Update-group membership and what a member is sent: established
//! neighbors join the group their key names at each settle (see
//! [`super::groups`]), leave it when their session goes down, and a late
//! joiner, a route refresh or a backlog resync gets the group's Adj-RIB-Out
//! as held ([`EngineCore::send_as_held`]).

use super::core::EngineCore;
use super::groups::{GroupKey, OutView};
use super::neighbor::Neighbor;
use super::outbox::Outbox;
use super::pass::Pass;
use crate::config::Role;
use crate::messages::ToPeer;
use crate::rib::{AttrId, NeighborIdx};
use crate::wire::{AddPathPrefix, Afi};
use std::collections::BTreeMap;

/// The group key of an established neighbor that can share, else `None`
/// (a group of its own): internal, iBGP, no export policy.
fn group_key(nb: &Neighbor) -> Option<GroupKey> {
    let s = nb.session.as_ref()?;
    (nb.cfg.role == Role::Internal && !nb.ebgp && nb.cfg.export_policy.is_none())
        .then(|| GroupKey::new(s.codec, s.families.clone(), s.local_address))
}

impl EngineCore {
    /// What was last advertised to neighbor `idx` (its group's Adj-RIB-Out).
    pub(crate) fn adj_rib_out(&self, idx: NeighborIdx) -> Option<OutView<'_>> {
        let g = self.nb(idx)?.group?;
        self.groups.get(g).map(|g| g.view(&self.rib))
    }

    /// Puts every established neighbor in the group its key says: joins
    /// the sessions that came up, splits off a member whose key changed.
    pub(crate) fn assign_groups(&mut self) {
        for i in 0..self.neighbors.len() {
            let Some(nb) = self.neighbors[i].as_ref() else {
                continue;
            };
            if nb.session.is_none() {
                continue;
            }
            let key = group_key(nb);
            let idx = nb.idx;
            let id = match nb.group {
                None => self.groups.join(idx, key),
                Some(g) => {
                    if self.groups.get(g).is_some_and(|g| g.key == key) {
                        continue;
                    }
                    self.groups.split(idx, g, key, &mut self.rib)
                }
            };
            if let Some(nb) = self.neighbors[i].as_mut() {
                nb.group = Some(id);
            }
        }
    }

    /// Takes `idx` out of its group (session down, neighbor removed).
    pub(crate) fn leave_group(&mut self, idx: NeighborIdx) {
        let Some(id) = self.nb_mut(idx).and_then(|n| n.group.take()) else {
            return;
        };
        self.groups.leave(idx, id, &mut self.rib);
    }

    /// Sends group `id`'s whole Adj-RIB-Out to member `idx` (a late
    /// joiner's initial dump), of `afi` only when given, then End-of-RIB
    /// when `end_of_rib`.
    pub(crate) fn dump_out(
        &self,
        idx: NeighborIdx,
        afi: Option<Afi>,
        end_of_rib: bool,
        pass: &mut Pass,
    ) {
        let Some(out) = self.adj_rib_out(idx) else {
            return;
        };
        let held = out.iter().filter(|(p, _)| {
            let fam = if matches!(p, crate::wire::Prefix::V4(_)) {
                Afi::IPV4
            } else {
                Afi::IPV6
            };
            afi.is_none_or(|a| a == fam)
        });
        if self.send_as_held(idx, held.map(|(p, id)| (p, Some(id))), end_of_rib, pass) {
            pass.touched.insert(idx);
        }
    }

    /// Sends `entries` to `idx` as its Adj-RIB-Out holds them (`None`: not
    /// held, withdrawn; the withdrawals first, then the announcements
    /// grouped by attribute set), then End-of-RIB when `end_of_rib`: the
    /// late joiner's dump, a route refresh and the backlog resync. `false`
    /// when `idx` has no session.
    pub(crate) fn send_as_held(
        &self,
        idx: NeighborIdx,
        entries: impl Iterator<Item = (crate::wire::Prefix, Option<AttrId>)>,
        end_of_rib: bool,
        pass: &mut Pass,
    ) -> bool {
        let Some(nb) = self.nb(idx) else { return false };
        let Some(session) = nb.session.as_ref() else {
            return false;
        };
        let mut by_set: BTreeMap<AttrId, Vec<AddPathPrefix>> = BTreeMap::new();
        let mut withdraw = Vec::new();
        for (prefix, id) in entries {
            let p = AddPathPrefix {
                path_id: None,
                prefix,
            };
            match id {
                Some(id) => by_set.entry(id).or_default().push(p),
                None => withdraw.push(p),
            }
        }
        let mut outbox = Outbox::new(session.codec);
        outbox.withdraw(withdraw);
        for (id, ps) in by_set {
            if let Some(attrs) = self.rib.attrs.get(id) {
                outbox.announce(attrs, ps);
            }
        }
        if end_of_rib {
            outbox.end_of_rib(&session.families);
        }
        let name = nb.name.clone();
        pass.outputs.extend(
            outbox
                .finish()
                .into_iter()
                .map(|e| (name.clone(), ToPeer::Wire(e))),
        );
        true
    }
}
