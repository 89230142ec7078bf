//! Update groups (as OpenBGPD's and FRR's): established internal neighbors
//! whose exports cannot differ — no export policy, the same negotiated
//! codec and families, the same local address — share one Adj-RIB-Out and
//! one encoding. A pass diffs and encodes each group once and hands the
//! same bytes (`Bytes`, reference counted) to every member: a second, third
//! or fourth route reflector costs neither a copy of the Adj-RIB-Out nor a
//! second export.
//!
//! Every other established neighbor (eBGP, an export policy) is a group of
//! its own. A neighbor joins a group when its session comes up (at the
//! next settle) and leaves it when the session goes down; the last member
//! out releases the group's attribute references. A member whose key
//! changes (a reload gave it an export policy) is split off with a copy of
//! the group's Adj-RIB-Out, which is what it holds.
//!
//! Owned by the route engine ([`super::core::EngineCore`]); no channels.

use super::core::{EngineCore, Pass};
use super::export::Outbox;
use super::neighbor::Neighbor;
use crate::config::Role;
use crate::messages::ToPeer;
use crate::rib::{AdjRibOut, AttrId, Interner, NeighborIdx};
use crate::wire::{AddPathPrefix, Afi, Codec, Safi};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Index of a group in [`Groups`].
pub type GroupId = u32;

/// What makes two internal neighbors' exports identical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKey {
    codec: Codec,
    families: Vec<(Afi, Safi)>,
    local_address: IpAddr,
}

impl GroupKey {
    /// The key of an established neighbor that can share, else `None`
    /// (a group of its own).
    pub fn of(nb: &Neighbor) -> Option<GroupKey> {
        let s = nb.session.as_ref()?;
        (nb.cfg.role == Role::Internal && !nb.ebgp && nb.cfg.export_policy.is_none()).then(|| {
            GroupKey {
                codec: s.codec,
                families: s.families.clone(),
                local_address: s.local_address,
            }
        })
    }
}

/// One group: its key, the routes its members were sent, its members.
#[derive(Debug)]
pub struct Group {
    /// `None`: a group of one that never takes another member.
    pub key: Option<GroupKey>,
    pub out: AdjRibOut,
    /// Members in join order; `synced` of them hold `out` already (the
    /// others joined since the last settle and get it as a dump).
    pub members: Vec<NeighborIdx>,
    pub synced: usize,
}

/// Every group, by id.
#[derive(Debug, Default)]
pub struct Groups {
    slots: Vec<Option<Group>>,
    free: Vec<GroupId>,
}

impl Groups {
    /// The group `id`.
    pub fn get(&self, id: GroupId) -> Option<&Group> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    /// The group `id`, mutably.
    pub fn get_mut(&mut self, id: GroupId) -> Option<&mut Group> {
        self.slots.get_mut(id as usize).and_then(Option::as_mut)
    }

    /// Ids of the live groups.
    pub fn ids(&self) -> Vec<GroupId> {
        (0..self.slots.len() as GroupId)
            .filter(|&i| self.slots[i as usize].is_some())
            .collect()
    }

    fn insert(&mut self, g: Group) -> GroupId {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(g);
                id
            }
            None => {
                self.slots.push(Some(g));
                (self.slots.len() - 1) as GroupId
            }
        }
    }

    /// Adds `idx` to a group with `key` (a new one when none has it, or
    /// when `key` is `None`), as not yet synced.
    pub fn join(&mut self, idx: NeighborIdx, key: Option<GroupKey>) -> GroupId {
        if key.is_some() {
            let found = self
                .slots
                .iter()
                .position(|g| g.as_ref().is_some_and(|g| g.key == key));
            if let Some(id) = found {
                if let Some(g) = self.slots[id].as_mut() {
                    g.members.push(idx);
                    return id as GroupId;
                }
            }
        }
        self.insert(Group {
            key,
            out: AdjRibOut::new(),
            members: vec![idx],
            synced: 0,
        })
    }

    /// Removes `idx` from group `id`; the attribute ids to release when it
    /// was the last member (the group is gone).
    pub fn leave(&mut self, idx: NeighborIdx, id: GroupId) -> Vec<AttrId> {
        let Some(g) = self.get_mut(id) else {
            return Vec::new();
        };
        if let Some(pos) = g.members.iter().position(|m| *m == idx) {
            g.members.remove(pos);
            if pos < g.synced {
                g.synced -= 1;
            }
        }
        if !g.members.is_empty() {
            return Vec::new();
        }
        let released = g.out.clear();
        self.slots[id as usize] = None;
        self.free.push(id);
        released
    }

    /// Moves synced member `idx` out of group `id` into a group of its own
    /// with `key` and a copy of the group's Adj-RIB-Out (each copied entry
    /// takes its reference in `attrs`).
    pub fn split(
        &mut self,
        idx: NeighborIdx,
        id: GroupId,
        key: Option<GroupKey>,
        attrs: &mut Interner,
    ) -> GroupId {
        let Some(g) = self.get(id) else {
            return self.join(idx, key);
        };
        let synced = g.members[..g.synced].contains(&idx);
        let out = if synced {
            for (_, a) in g.out.iter() {
                attrs.acquire(a);
            }
            g.out.clone()
        } else {
            AdjRibOut::new()
        };
        for a in self.leave(idx, id) {
            attrs.release(a);
        }
        self.insert(Group {
            key,
            out,
            members: vec![idx],
            synced: usize::from(synced),
        })
    }
}

impl EngineCore {
    /// What was last advertised to neighbor `idx` (its group's Adj-RIB-Out).
    pub(crate) fn adj_rib_out(&self, idx: NeighborIdx) -> Option<&AdjRibOut> {
        let g = self.nb(idx)?.group?;
        self.groups.get(g).map(|g| &g.out)
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
            let key = GroupKey::of(nb);
            let idx = nb.idx;
            let id = match nb.group {
                None => self.groups.join(idx, key),
                Some(g) => {
                    if self.groups.get(g).is_some_and(|g| g.key == key) {
                        continue;
                    }
                    self.groups.split(idx, g, key, &mut self.rib.attrs)
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
        for a in self.groups.leave(idx, id) {
            self.rib.attrs.release(a);
        }
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
        outbox.withdraw(&withdraw);
        for (id, ps) in by_set {
            if let Some(attrs) = self.rib.attrs.get(id) {
                outbox.announce(&attrs, &ps);
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
