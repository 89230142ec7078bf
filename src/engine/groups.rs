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
//! One shared group at a time, the first formed while no other holds it,
//! keeps its Adj-RIB-Out folded into the RIB's buckets
//! ([`crate::rib::folded`]): a full table exported to the internal
//! neighbors costs no map of its own. [`OutView`] reads either kind.
//!
//! This module holds the groups themselves ([`Groups`]); who joins which
//! and what a member is sent is `super::membership`. Owned by the route
//! engine; no channels.

use crate::rib::{AdjRibOut, AttrId, NeighborIdx, Rib};
use crate::wire::{Afi, Codec, Prefix, Safi};
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
    /// The key of an internal neighbor's session that may share: its
    /// negotiated codec and families and our local address.
    pub fn new(codec: Codec, families: Vec<(Afi, Safi)>, local_address: IpAddr) -> GroupKey {
        GroupKey {
            codec,
            families,
            local_address,
        }
    }
}

/// One group: its key, the routes its members were sent, its members.
#[derive(Debug)]
pub struct Group {
    /// `None`: a group of one that never takes another member.
    pub key: Option<GroupKey>,
    /// The routes its members were sent, unless `folded`.
    pub out: AdjRibOut,
    /// They are in the RIB's folded Adj-RIB-Out instead.
    pub folded: bool,
    /// Members in join order; `synced` of them hold `out` already (the
    /// others joined since the last settle and get it as a dump).
    pub members: Vec<NeighborIdx>,
    pub synced: usize,
}

impl Group {
    /// The routes its members were sent.
    pub fn view<'a>(&'a self, rib: &'a Rib) -> OutView<'a> {
        if self.folded {
            OutView::Folded(rib)
        } else {
            OutView::Own(&self.out)
        }
    }
}

/// A group's Adj-RIB-Out, wherever it is kept.
#[derive(Debug, Clone, Copy)]
pub enum OutView<'a> {
    Own(&'a AdjRibOut),
    Folded(&'a Rib),
}

impl<'a> OutView<'a> {
    /// What was advertised for `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<AttrId> {
        match self {
            OutView::Own(o) => o.get(prefix),
            OutView::Folded(r) => r.out_get(prefix),
        }
    }

    /// Every advertised route.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (Prefix, AttrId)> + 'a> {
        match *self {
            OutView::Own(o) => Box::new(o.iter()),
            OutView::Folded(r) => Box::new(r.out_iter()),
        }
    }

    /// Number of advertised prefixes.
    pub fn len(&self) -> usize {
        match self {
            OutView::Own(o) => o.len(),
            OutView::Folded(r) => r.out_len(),
        }
    }

    /// True when nothing is advertised.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
        // A new group that can share takes the fold when no group holds it.
        let folded = key.is_some() && !self.slots.iter().flatten().any(|g| g.folded);
        self.insert(Group {
            key,
            out: AdjRibOut::new(),
            folded,
            members: vec![idx],
            synced: 0,
        })
    }

    /// Removes `idx` from group `id`; when it was the last member the
    /// group is gone and its Adj-RIB-Out's references are released.
    pub fn leave(&mut self, idx: NeighborIdx, id: GroupId, rib: &mut Rib) {
        let Some(g) = self.get_mut(id) else {
            return;
        };
        if let Some(pos) = g.members.iter().position(|m| *m == idx) {
            g.members.remove(pos);
            if pos < g.synced {
                g.synced -= 1;
            }
        }
        if !g.members.is_empty() {
            return;
        }
        let released = if g.folded {
            rib.out_clear()
        } else {
            g.out.clear()
        };
        for a in released {
            rib.attrs.release(a);
        }
        self.slots[id as usize] = None;
        self.free.push(id);
    }

    /// Moves synced member `idx` out of group `id` into a group of its own
    /// with `key` and a copy of the group's Adj-RIB-Out (each copied entry
    /// takes its reference), kept as its own.
    pub fn split(
        &mut self,
        idx: NeighborIdx,
        id: GroupId,
        key: Option<GroupKey>,
        rib: &mut Rib,
    ) -> GroupId {
        let Some(g) = self.get(id) else {
            return self.join(idx, key);
        };
        let synced = g.members[..g.synced].contains(&idx);
        let mut out = AdjRibOut::new();
        if synced {
            let held: Vec<(Prefix, AttrId)> = g.view(rib).iter().collect();
            for (p, a) in held {
                rib.attrs.acquire(a);
                out.advertise(p, a);
            }
        }
        self.leave(idx, id, rib);
        self.insert(Group {
            key,
            out,
            folded: false,
            members: vec![idx],
            synced: usize::from(synced),
        })
    }
}
