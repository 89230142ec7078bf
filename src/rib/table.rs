//! Compact per-prefix path storage: the Adj-RIB-In of every neighbor and the
//! Loc-RIB (the `BEST` flag) in one hash table per address family. Owned by
//! the route engine task; no channels.

use super::interner::{AttrId, Interner, NO_ATTR};
use crate::policy::Rejection;
use crate::wire::Prefix;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Index of a neighbor in the engine's neighbor table (stable while it exists).
pub type NeighborIdx = u16;

bitflags::bitflags! {
    /// Status of one path in the Adj-RIB-In.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct PathFlags: u8 {
        /// Import (max-prefix, registered-prefix checks and policy) accepted it;
        /// otherwise it is rejected and its [`Rejection`] is in the side table.
        const ACCEPTED = 1;
        /// Kept after a graceful restart (RFC 4724 §4.2) and not yet re-announced.
        const STALE = 2;
        /// The Loc-RIB winner for its prefix.
        const BEST = 4;
        /// Refused by the max-prefix `refuse` action (not counted against the limit).
        const REFUSED = 8;
    }
}

/// One path: 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathEntry {
    /// Attributes as received (pre-policy).
    pub attr: AttrId,
    /// Attributes after import policy ([`NO_ATTR`] when unchanged).
    pub post: AttrId,
    pub neighbor: NeighborIdx,
    pub flags: PathFlags,
}

impl PathEntry {
    /// The attributes to use for decisions and export (post-policy).
    pub fn effective(&self) -> AttrId {
        if self.post == NO_ATTR {
            self.attr
        } else {
            self.post
        }
    }
}

/// The paths of one prefix: up to two inline (the common case), more boxed.
#[derive(Debug, Clone)]
enum Paths {
    One(PathEntry),
    Two([PathEntry; 2]),
    Many(Box<Vec<PathEntry>>),
}

impl Paths {
    fn as_slice(&self) -> &[PathEntry] {
        match self {
            Paths::One(e) => std::slice::from_ref(e),
            Paths::Two(a) => &a[..],
            Paths::Many(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [PathEntry] {
        match self {
            Paths::One(e) => std::slice::from_mut(e),
            Paths::Two(a) => &mut a[..],
            Paths::Many(v) => v,
        }
    }

    fn push(&mut self, e: PathEntry) {
        *self = match std::mem::replace(self, Paths::One(e)) {
            Paths::One(a) => Paths::Two([a, e]),
            Paths::Two([a, b]) => Paths::Many(Box::new(vec![a, b, e])),
            Paths::Many(mut v) => {
                v.push(e);
                Paths::Many(v)
            }
        };
    }

    /// Removes entry `i`; `false` when nothing is left.
    fn remove(&mut self, i: usize) -> bool {
        let next = match std::mem::replace(self, Paths::Many(Box::default())) {
            Paths::One(_) => return false,
            Paths::Two(a) => Paths::One(a[1 - i.min(1)]),
            Paths::Many(mut v) => {
                v.remove(i);
                match v.len() {
                    2 => Paths::Two([v[0], v[1]]),
                    _ => Paths::Many(v),
                }
            }
        };
        *self = next;
        true
    }
}

/// A compact prefix key.
pub trait PrefixKey: Copy + Eq + Hash {
    /// The key of `net` (host bits cleared), or `None` for the other family.
    fn from_net(net: &Prefix) -> Option<Self>;
    /// The prefix back.
    fn to_net(self) -> Prefix;
}

/// IPv4 prefix packed as `addr << 8 | len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct V4Key(u64);

impl PrefixKey for V4Key {
    fn from_net(net: &Prefix) -> Option<Self> {
        match net.trunc() {
            IpNet::V4(n) => Some(V4Key(((u32::from(n.addr()) as u64) << 8) | n.prefix_len() as u64)),
            IpNet::V6(_) => None,
        }
    }
    fn to_net(self) -> Prefix {
        let addr = Ipv4Addr::from((self.0 >> 8) as u32);
        let len = (self.0 & 0xff) as u8;
        Ipv4Net::new(addr, len.min(32)).map_or_else(|_| IpNet::V4(Ipv4Net::default()), IpNet::V4)
    }
}

/// IPv6 prefix as two 64-bit halves and a length (8-byte aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct V6Key {
    hi: u64,
    lo: u64,
    len: u8,
}

impl PrefixKey for V6Key {
    fn from_net(net: &Prefix) -> Option<Self> {
        match net.trunc() {
            IpNet::V6(n) => {
                let a = u128::from(n.addr());
                Some(V6Key {
                    hi: (a >> 64) as u64,
                    lo: a as u64,
                    len: n.prefix_len(),
                })
            }
            IpNet::V4(_) => None,
        }
    }
    fn to_net(self) -> Prefix {
        let addr = Ipv6Addr::from(((self.hi as u128) << 64) | self.lo as u128);
        Ipv6Net::new(addr, self.len.min(128)).map_or_else(|_| IpNet::V6(Ipv6Net::default()), IpNet::V6)
    }
}

/// One family's table: prefix → its paths.
#[derive(Debug)]
pub struct Table<K: PrefixKey> {
    map: HashMap<K, Paths>,
}

impl<K: PrefixKey> Default for Table<K> {
    fn default() -> Self {
        Table {
            map: HashMap::new(),
        }
    }
}

impl<K: PrefixKey> Table<K> {
    /// The paths of `key` (empty when unknown).
    pub fn get(&self, key: &K) -> &[PathEntry] {
        self.map.get(key).map_or(&[], |p| p.as_slice())
    }

    /// Mutable access to the paths of `key`.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut [PathEntry]> {
        self.map.get_mut(key).map(|p| p.as_mut_slice())
    }

    /// Inserts or replaces the path of `e.neighbor`; returns the old one.
    pub fn upsert(&mut self, key: K, e: PathEntry) -> Option<PathEntry> {
        match self.map.get_mut(&key) {
            Some(paths) => {
                let slice = paths.as_mut_slice();
                if let Some(slot) = slice.iter_mut().find(|p| p.neighbor == e.neighbor) {
                    return Some(std::mem::replace(slot, e));
                }
                paths.push(e);
                None
            }
            None => {
                self.map.insert(key, Paths::One(e));
                None
            }
        }
    }

    /// Removes the path of `neighbor`; returns it.
    pub fn remove(&mut self, key: &K, neighbor: NeighborIdx) -> Option<PathEntry> {
        let paths = self.map.get_mut(key)?;
        let i = paths.as_slice().iter().position(|p| p.neighbor == neighbor)?;
        let old = paths.as_slice()[i];
        if !paths.remove(i) {
            self.map.remove(key);
        }
        Some(old)
    }

    /// Every prefix with its paths.
    pub fn iter(&self) -> impl Iterator<Item = (K, &[PathEntry])> + '_ {
        self.map.iter().map(|(k, p)| (*k, p.as_slice()))
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Removes every path of `neighbor` for which `pred` holds; returns
    /// the removed (key, entry) pairs.
    pub fn remove_where(
        &mut self,
        neighbor: NeighborIdx,
        mut pred: impl FnMut(K, &PathEntry) -> bool,
    ) -> Vec<(K, PathEntry)> {
        let mut hits = Vec::new();
        for (k, paths) in self.map.iter() {
            if let Some(e) = paths.as_slice().iter().find(|p| p.neighbor == neighbor && pred(*k, p)) {
                hits.push((*k, *e));
            }
        }
        for (k, _) in &hits {
            self.remove(k, neighbor);
        }
        hits
    }
}

/// The whole RIB: both families, the interner and the rejection reasons.
#[derive(Debug, Default)]
pub struct Rib {
    pub v4: Table<V4Key>,
    pub v6: Table<V6Key>,
    pub attrs: Interner,
    rejections: HashMap<(NeighborIdx, Prefix), Rejection>,
}

impl Rib {
    /// An empty RIB.
    pub fn new() -> Self {
        Self::default()
    }

    /// The paths of `prefix`.
    pub fn paths(&self, prefix: &Prefix) -> &[PathEntry] {
        if let Some(k) = V4Key::from_net(prefix) {
            self.v4.get(&k)
        } else if let Some(k) = V6Key::from_net(prefix) {
            self.v6.get(&k)
        } else {
            &[]
        }
    }

    /// Mutable paths of `prefix`.
    pub fn paths_mut(&mut self, prefix: &Prefix) -> Option<&mut [PathEntry]> {
        if let Some(k) = V4Key::from_net(prefix) {
            self.v4.get_mut(&k)
        } else {
            V6Key::from_net(prefix).and_then(|k| self.v6.get_mut(&k))
        }
    }

    /// The path of `neighbor` for `prefix`.
    pub fn path(&self, prefix: &Prefix, neighbor: NeighborIdx) -> Option<PathEntry> {
        self.paths(prefix).iter().find(|p| p.neighbor == neighbor).copied()
    }

    /// Stores a path (the caller has already taken references on its
    /// attribute ids); releases the replaced path's references and returns it.
    pub fn store(&mut self, prefix: &Prefix, e: PathEntry, rejection: Option<Rejection>) -> Option<PathEntry> {
        let old = if let Some(k) = V4Key::from_net(prefix) {
            self.v4.upsert(k, e)
        } else if let Some(k) = V6Key::from_net(prefix) {
            self.v6.upsert(k, e)
        } else {
            None
        };
        match rejection {
            Some(r) => {
                self.rejections.insert((e.neighbor, prefix.trunc()), r);
            }
            None => {
                if old.is_some_and(|o| !o.flags.contains(PathFlags::ACCEPTED)) {
                    self.rejections.remove(&(e.neighbor, prefix.trunc()));
                }
            }
        }
        if let Some(o) = old {
            self.release_entry(&o);
        }
        old
    }

    /// Removes the path of `neighbor` for `prefix` and releases it.
    pub fn remove(&mut self, prefix: &Prefix, neighbor: NeighborIdx) -> Option<PathEntry> {
        let old = if let Some(k) = V4Key::from_net(prefix) {
            self.v4.remove(&k, neighbor)
        } else {
            V6Key::from_net(prefix).and_then(|k| self.v6.remove(&k, neighbor))
        };
        if let Some(o) = old {
            if !o.flags.contains(PathFlags::ACCEPTED) {
                self.rejections.remove(&(neighbor, prefix.trunc()));
            }
            self.release_entry(&o);
        }
        old
    }

    /// Removes every path of `neighbor` matching `pred`; returns (prefix, entry).
    pub fn remove_where(
        &mut self,
        neighbor: NeighborIdx,
        mut pred: impl FnMut(&Prefix, &PathEntry) -> bool,
    ) -> Vec<(Prefix, PathEntry)> {
        let mut out: Vec<(Prefix, PathEntry)> = self
            .v4
            .remove_where(neighbor, |k, e| pred(&k.to_net(), e))
            .into_iter()
            .map(|(k, e)| (k.to_net(), e))
            .collect();
        out.extend(
            self.v6
                .remove_where(neighbor, |k, e| pred(&k.to_net(), e))
                .into_iter()
                .map(|(k, e)| (k.to_net(), e)),
        );
        for (p, e) in &out {
            if !e.flags.contains(PathFlags::ACCEPTED) {
                self.rejections.remove(&(neighbor, *p));
            }
            self.release_entry(e);
        }
        out
    }

    /// Every path of `neighbor` as (prefix, entry).
    pub fn neighbor_paths(&self, neighbor: NeighborIdx) -> Vec<(Prefix, PathEntry)> {
        let mut out = Vec::new();
        for (k, ps) in self.v4.iter() {
            if let Some(e) = ps.iter().find(|p| p.neighbor == neighbor) {
                out.push((k.to_net(), *e));
            }
        }
        for (k, ps) in self.v6.iter() {
            if let Some(e) = ps.iter().find(|p| p.neighbor == neighbor) {
                out.push((k.to_net(), *e));
            }
        }
        out
    }

    /// Every prefix in the RIB.
    pub fn prefixes(&self) -> Vec<Prefix> {
        let mut out: Vec<Prefix> = self.v4.iter().map(|(k, _)| k.to_net()).collect();
        out.extend(self.v6.iter().map(|(k, _)| k.to_net()));
        out
    }

    /// Why the path of `neighbor` for `prefix` was rejected.
    pub fn rejection(&self, prefix: &Prefix, neighbor: NeighborIdx) -> Option<&Rejection> {
        self.rejections.get(&(neighbor, prefix.trunc()))
    }

    /// Total number of paths.
    pub fn path_count(&self) -> usize {
        self.v4.iter().map(|(_, p)| p.len()).sum::<usize>() + self.v6.iter().map(|(_, p)| p.len()).sum::<usize>()
    }

    fn release_entry(&mut self, e: &PathEntry) {
        self.attrs.release(e.attr);
        if e.post != NO_ATTR {
            self.attrs.release(e.post);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: NeighborIdx) -> PathEntry {
        PathEntry {
            attr: 0,
            post: NO_ATTR,
            neighbor: n,
            flags: PathFlags::ACCEPTED,
        }
    }

    #[test]
    fn path_entries_stay_twelve_bytes() {
        assert_eq!(std::mem::size_of::<PathEntry>(), 12);
        assert!(std::mem::size_of::<Paths>() <= 32);
    }

    #[test]
    fn keys_round_trip_both_families() {
        for s in ["10.0.0.0/8", "192.0.2.128/25", "0.0.0.0/0", "2001:db8::/32", "::/0"] {
            let p: Prefix = s.parse().unwrap();
            let back = V4Key::from_net(&p)
                .map(|k| k.to_net())
                .or_else(|| V6Key::from_net(&p).map(|k| k.to_net()));
            assert_eq!(back, Some(p));
        }
    }

    #[test]
    fn paths_grow_inline_then_boxed_and_shrink_back() {
        let mut t: Table<V4Key> = Table::default();
        let k = V4Key::from_net(&"10.0.0.0/8".parse().unwrap()).unwrap();
        for n in 0..4 {
            assert!(t.upsert(k, entry(n)).is_none());
        }
        assert_eq!(t.get(&k).len(), 4);
        assert!(t.upsert(k, entry(2)).is_some());
        for n in [1, 3, 0] {
            assert!(t.remove(&k, n).is_some());
        }
        assert_eq!(t.get(&k).iter().map(|e| e.neighbor).collect::<Vec<_>>(), vec![2]);
        assert!(t.remove(&k, 2).is_some());
        assert!(t.is_empty());
    }
}
