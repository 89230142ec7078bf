//! Compact per-prefix path storage: the Adj-RIB-In of every neighbor and the
//! Loc-RIB (the `BEST` flag) in one hash table per address family, with
//! one Adj-RIB-Out folded into the same buckets ([`super::folded`]). Owned
//! by the route engine task; no channels.

use super::interner::AttrId;
use super::map::{Entry, Map};
use crate::wire::Prefix;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Index of a neighbor in the engine's neighbor table (stable while it exists).
pub type NeighborIdx = u16;

bitflags::bitflags! {
    /// Status of one path in the Adj-RIB-In.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct PathFlags: u8 {
        /// Import (max-prefix, registered-prefix checks and policy) accepted it;
        /// otherwise it is rejected and its `Rejection` is in the side table.
        const ACCEPTED = 1;
        /// Kept after a graceful restart (RFC 4724 §4.2) and not yet re-announced.
        const STALE = 2;
        /// The Loc-RIB winner for its prefix.
        const BEST = 4;
        /// Refused by the max-prefix `refuse` action (not counted against the limit).
        const REFUSED = 8;
        /// Accepted by import policy as a plain internet route
        /// (`action = "internet"`): never a peering-service decision candidate.
        const INTERNET = 16;
        /// RPKI origin validation (RFC 6811) found it `valid`.
        const RPKI_VALID = 32;
        /// RPKI origin validation (RFC 6811) found it `invalid`. Neither
        /// RPKI bit: `not-found`, or RPKI is off.
        const RPKI_INVALID = 64;
        /// Import policy changed the attributes: the post-policy set is in
        /// the RIB's side table ([`super::Rib::effective`]).
        const POST = 128;
    }
}

/// One path: 8 bytes. The post-policy attributes, in the rare case import
/// policy changed them, are kept aside (flag [`PathFlags::POST`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathEntry {
    /// Attributes as received (pre-policy).
    pub attr: AttrId,
    pub neighbor: NeighborIdx,
    pub flags: PathFlags,
    /// A rejected path's reason, when it is one of the first 255 distinct
    /// reasons held (`super::rejections`); 0: none, or kept aside. Set by
    /// [`super::Rib::store`]; callers leave it 0.
    pub reason: u8,
}

/// Marks a table slot that points at a longer path list instead of holding
/// a path: never a real neighbor index (the engine stops at `u16::MAX`
/// neighbors, so indices end at `u16::MAX - 1`).
const LIST: NeighborIdx = NeighborIdx::MAX;
/// `flags` of a list slot that holds no path: the bucket stays for its
/// folded Adj-RIB-Out entry ([`Bucket::out`]).
const BARE: u8 = 1;
/// `flags` of a list slot: the list is a pair in [`Table::pairs`].
const PAIR: u8 = 2;
/// `flags` of a list slot: the list is in [`Table::spill`].
const SPILL: u8 = 3;
/// Pairs per chunk of [`Table::pairs`] (no doubling slack, no big copies).
const PAIR_CHUNK: usize = 4096;

/// One table slot, 8 bytes: the prefix's only path inline (the common case
/// when peers' tables differ), or, when `neighbor == LIST`, `attr` indexes
/// its pair (two paths: the common case for a full table from two
/// transits) or its spill list (three or more), or it holds no path.
type Slot = PathEntry;

fn list_slot(kind: u8, index: u32) -> Slot {
    PathEntry {
        attr: index,
        neighbor: LIST,
        flags: PathFlags::from_bits_retain(kind),
        reason: 0,
    }
}

/// A slot without paths.
pub(super) fn bare() -> Slot {
    list_slot(BARE, 0)
}

/// Whether `s` holds no path.
pub(super) fn is_bare(s: &Slot) -> bool {
    s.neighbor == LIST && s.flags.bits() == BARE
}

/// What the table holds per prefix: its paths, and the entry of the
/// Adj-RIB-Out folded into the table ([`NO_OUT`]: none). 12 bytes, 16
/// with an IPv4 key: the folded Adj-RIB-Out costs no probe and no bucket
/// of its own.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    pub(super) slot: Slot,
    pub(super) out: AttrId,
}

/// [`Bucket::out`] of a prefix the folded Adj-RIB-Out does not hold.
pub(super) const NO_OUT: AttrId = AttrId::MAX;

/// A compact prefix key: the address bits (the length selects the table).
pub trait PrefixKey: Copy + Eq + Hash {
    /// Maximum prefix length of the family.
    const MAX_LEN: u8;
    /// The length and key of `net` (host bits cleared), or `None` for the other family.
    fn from_net(net: &Prefix) -> Option<(u8, Self)>;
    /// The prefix back.
    fn to_net(self, len: u8) -> Prefix;
}

/// IPv4 prefix address (4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct V4Key(u32);

impl PrefixKey for V4Key {
    const MAX_LEN: u8 = 32;
    fn from_net(net: &Prefix) -> Option<(u8, Self)> {
        match net.trunc() {
            IpNet::V4(n) => Some((n.prefix_len(), V4Key(u32::from(n.addr())))),
            IpNet::V6(_) => None,
        }
    }
    fn to_net(self, len: u8) -> Prefix {
        Ipv4Net::new(Ipv4Addr::from(self.0), len.min(32))
            .map_or_else(|_| IpNet::V4(Ipv4Net::default()), IpNet::V4)
    }
}

/// IPv6 prefix address as two 64-bit halves (8-byte aligned, not 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct V6Key {
    hi: u64,
    lo: u64,
}

impl PrefixKey for V6Key {
    const MAX_LEN: u8 = 128;
    fn from_net(net: &Prefix) -> Option<(u8, Self)> {
        match net.trunc() {
            IpNet::V6(n) => {
                let a = u128::from(n.addr());
                Some((
                    n.prefix_len(),
                    V6Key {
                        hi: (a >> 64) as u64,
                        lo: a as u64,
                    },
                ))
            }
            IpNet::V4(_) => None,
        }
    }
    fn to_net(self, len: u8) -> Prefix {
        let addr = Ipv6Addr::from(((self.hi as u128) << 64) | self.lo as u128);
        Ipv6Net::new(addr, len.min(128)).map_or_else(|_| IpNet::V6(Ipv6Net::default()), IpNet::V6)
    }
}

/// One family's table: one hash map per prefix length (so the key is only
/// the address and a resize touches one length), address → its bucket.
#[derive(Debug)]
pub struct Table<K: PrefixKey> {
    pub(super) by_len: Vec<Map<K>>,
    /// Buckets that hold no path, only a folded Adj-RIB-Out entry.
    pub(super) bare: usize,
    /// Buckets that hold a folded Adj-RIB-Out entry.
    pub(super) outs: usize,
    /// The path lists slots point at (apart from the maps, so a slot can be
    /// held while a list is made or freed).
    lists: Lists,
}

/// Path lists of more than one path.
#[derive(Debug, Default)]
struct Lists {
    /// Two-path lists, in fixed-size chunks.
    pairs: Vec<Box<[[PathEntry; 2]]>>,
    free_pairs: Vec<u32>,
    /// Path lists longer than two.
    spill: Vec<Vec<PathEntry>>,
    free_spill: Vec<u32>,
}

impl Lists {
    fn pair(&self, i: u32) -> Option<&[PathEntry; 2]> {
        let i = i as usize;
        self.pairs.get(i / PAIR_CHUNK)?.get(i % PAIR_CHUNK)
    }

    fn pair_mut(&mut self, i: u32) -> Option<&mut [PathEntry; 2]> {
        let i = i as usize;
        self.pairs.get_mut(i / PAIR_CHUNK)?.get_mut(i % PAIR_CHUNK)
    }

    fn new_pair(&mut self, two: [PathEntry; 2]) -> Slot {
        let i = match self.free_pairs.pop() {
            Some(i) => i,
            None => {
                let n = self.pairs.len() * PAIR_CHUNK;
                let empty = [list_slot(0, 0); 2];
                self.pairs.push(vec![empty; PAIR_CHUNK].into_boxed_slice());
                self.free_pairs
                    .extend((n as u32 + 1..(n + PAIR_CHUNK) as u32).rev());
                n as u32
            }
        };
        if let Some(p) = self.pair_mut(i) {
            *p = two;
        }
        list_slot(PAIR, i)
    }

    fn new_spill(&mut self, v: Vec<PathEntry>) -> Slot {
        let i = match self.free_spill.pop() {
            Some(i) => {
                self.spill[i as usize] = v;
                i
            }
            None => {
                self.spill.push(v);
                (self.spill.len() - 1) as u32
            }
        };
        list_slot(SPILL, i)
    }

    fn slice<'a>(&'a self, s: &'a Slot) -> &'a [PathEntry] {
        match (s.neighbor, s.flags.bits()) {
            (LIST, PAIR) => self.pair(s.attr).map_or(&[], |p| &p[..]),
            (LIST, BARE) => &[],
            (LIST, _) => self
                .spill
                .get(s.attr as usize)
                .map_or(&[], |v| v.as_slice()),
            _ => std::slice::from_ref(s),
        }
    }

    /// [`Lists::slice`], mutable (`None` when a list slot's list is missing).
    fn slice_mut<'a>(&'a mut self, s: &'a mut Slot) -> Option<&'a mut [PathEntry]> {
        match (s.neighbor, s.flags.bits()) {
            (LIST, PAIR) => self.pair_mut(s.attr).map(|p| &mut p[..]),
            (LIST, BARE) => None,
            (LIST, _) => self
                .spill
                .get_mut(s.attr as usize)
                .map(|v| v.as_mut_slice()),
            _ => Some(std::slice::from_mut(s)),
        }
    }

    /// Adds `e` to the paths of `slot` or replaces its neighbor's; returns
    /// the path replaced.
    fn upsert(&mut self, slot: &mut Slot, e: PathEntry) -> Option<PathEntry> {
        let cur = *slot;
        match (cur.neighbor, cur.flags.bits()) {
            (LIST, BARE) => {
                *slot = e;
                None
            }
            (LIST, PAIR) => {
                let pair = self.pair_mut(cur.attr)?;
                if let Some(p) = pair.iter_mut().find(|p| p.neighbor == e.neighbor) {
                    return Some(std::mem::replace(p, e));
                }
                let [a, b] = *pair;
                self.free_pairs.push(cur.attr);
                *slot = self.new_spill(vec![a, b, e]);
                None
            }
            (LIST, _) => {
                let v = self.spill.get_mut(cur.attr as usize)?;
                if let Some(p) = v.iter_mut().find(|p| p.neighbor == e.neighbor) {
                    return Some(std::mem::replace(p, e));
                }
                v.push(e);
                None
            }
            _ if cur.neighbor == e.neighbor => Some(std::mem::replace(slot, e)),
            _ => {
                *slot = self.new_pair([cur, e]);
                None
            }
        }
    }

    /// Takes `neighbor`'s path out of `cur`'s paths: the path and what the
    /// slot holds next (`None`: nothing, the prefix goes), or `None` when
    /// `neighbor` has no path there.
    fn remove(&mut self, cur: Slot, neighbor: NeighborIdx) -> Option<(PathEntry, Option<Slot>)> {
        match (cur.neighbor, cur.flags.bits()) {
            (LIST, BARE) => None,
            (LIST, PAIR) => {
                let [a, b] = *self.pair(cur.attr)?;
                let (old, keep) = if a.neighbor == neighbor {
                    (a, b)
                } else if b.neighbor == neighbor {
                    (b, a)
                } else {
                    return None;
                };
                self.free_pairs.push(cur.attr);
                Some((old, Some(keep)))
            }
            (LIST, _) => {
                let i = cur.attr;
                let v = self.spill.get_mut(i as usize)?;
                let pos = v.iter().position(|p| p.neighbor == neighbor)?;
                let old = v.remove(pos);
                if v.len() == 2 {
                    let two = [v[0], v[1]];
                    self.spill[i as usize] = Vec::new();
                    self.free_spill.push(i);
                    Some((old, Some(self.new_pair(two))))
                } else {
                    Some((old, Some(cur)))
                }
            }
            _ if cur.neighbor == neighbor => Some((cur, None)),
            _ => None,
        }
    }
}

/// Hands back a map's memory once it is under a quarter full (after a
/// table left).
pub(super) fn shrink_sparse<K: PrefixKey>(m: &mut Map<K>) {
    if m.len() < m.capacity() / 4 {
        m.shrink_to_fit();
    }
}

impl<K: PrefixKey> Default for Table<K> {
    fn default() -> Self {
        Table {
            by_len: (0..=K::MAX_LEN).map(|_| Map::default()).collect(),
            bare: 0,
            outs: 0,
            lists: Lists::default(),
        }
    }
}

impl<K: PrefixKey> Table<K> {
    /// The paths of `net` (empty when unknown or of the other family).
    pub fn get(&self, net: &Prefix) -> &[PathEntry] {
        let Some((len, k)) = K::from_net(net) else {
            return &[];
        };
        match self.by_len.get(len as usize).and_then(|m| m.get(&k)) {
            Some(b) => self.lists.slice(&b.slot),
            None => &[],
        }
    }

    /// Asks the CPU for the memory a probe for `net` will read (a hint;
    /// see [`super::map`]).
    pub fn prefetch(&self, net: &Prefix) {
        if let Some((len, k)) = K::from_net(net) {
            if let Some(m) = self.by_len.get(len as usize) {
                m.prefetch(&k);
            }
        }
    }

    /// Mutable access to the paths of `net`.
    pub fn get_mut(&mut self, net: &Prefix) -> Option<&mut [PathEntry]> {
        let (len, k) = K::from_net(net)?;
        let b = self.by_len.get_mut(len as usize)?.get_mut(&k)?;
        self.lists.slice_mut(&mut b.slot)
    }

    /// Inserts or replaces the path of `e.neighbor`; returns the old one.
    /// A path of neighbor index `u16::MAX` (never assigned) is not stored.
    /// One hash probe.
    pub fn upsert(&mut self, net: &Prefix, e: PathEntry) -> Option<PathEntry> {
        if e.neighbor == LIST {
            return None;
        }
        let (len, k) = K::from_net(net)?;
        match self.by_len.get_mut(len as usize)?.entry(k) {
            Entry::Vacant(v) => {
                v.insert(Bucket {
                    slot: e,
                    out: NO_OUT,
                });
                None
            }
            Entry::Occupied(mut o) => {
                let b = o.get_mut();
                if is_bare(&b.slot) {
                    self.bare -= 1;
                }
                self.lists.upsert(&mut b.slot, e)
            }
        }
    }

    /// Removes the path of `neighbor`; returns it. One hash probe.
    pub fn remove(&mut self, net: &Prefix, neighbor: NeighborIdx) -> Option<PathEntry> {
        if neighbor == LIST {
            return None;
        }
        let (len, k) = K::from_net(net)?;
        let Entry::Occupied(mut o) = self.by_len.get_mut(len as usize)?.entry(k) else {
            return None;
        };
        let (old, next) = self.lists.remove(o.get().slot, neighbor)?;
        match next {
            Some(n) => o.get_mut().slot = n,
            // The folded Adj-RIB-Out still holds the prefix: kept until
            // the export withdraws it.
            None if o.get().out != NO_OUT => {
                o.get_mut().slot = bare();
                self.bare += 1;
            }
            None => {
                o.remove();
            }
        }
        Some(old)
    }

    /// Every prefix with its paths.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &[PathEntry])> + '_ {
        self.by_len.iter().enumerate().flat_map(move |(len, m)| {
            m.iter()
                .filter(|(_, b)| !is_bare(&b.slot))
                .map(move |(k, b)| (k.to_net(len as u8), self.lists.slice(&b.slot)))
        })
    }

    /// Number of prefixes with paths.
    pub fn len(&self) -> usize {
        self.by_len.iter().map(|m| m.len()).sum::<usize>() - self.bare
    }

    /// True when no prefix has a path.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every path of `neighbor` for which `pred` holds; returns them.
    pub fn remove_where(
        &mut self,
        neighbor: NeighborIdx,
        mut pred: impl FnMut(&Prefix, &PathEntry) -> bool,
    ) -> Vec<(Prefix, PathEntry)> {
        let mut hits = Vec::new();
        for (p, paths) in self.iter() {
            if let Some(e) = paths.iter().find(|e| e.neighbor == neighbor && pred(&p, e)) {
                hits.push((p, *e));
            }
        }
        for (p, _) in &hits {
            self.remove(p, neighbor);
        }
        for m in &mut self.by_len {
            shrink_sparse(m);
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: NeighborIdx) -> PathEntry {
        PathEntry {
            attr: 0,
            neighbor: n,
            flags: PathFlags::ACCEPTED,
            reason: 0,
        }
    }

    #[test]
    fn path_entries_stay_eight_bytes_and_ipv4_buckets_16() {
        assert_eq!(std::mem::size_of::<PathEntry>(), 8);
        assert_eq!(std::mem::size_of::<(V4Key, Bucket)>(), 16);
        assert_eq!(std::mem::size_of::<(V6Key, Bucket)>(), 32);
    }

    #[test]
    fn keys_round_trip_both_families() {
        for s in [
            "10.0.0.0/8",
            "192.0.2.128/25",
            "0.0.0.0/0",
            "2001:db8::/32",
            "::/0",
        ] {
            let p: Prefix = s.parse().unwrap();
            let back = V4Key::from_net(&p)
                .map(|(l, k)| k.to_net(l))
                .or_else(|| V6Key::from_net(&p).map(|(l, k)| k.to_net(l)));
            assert_eq!(back, Some(p));
        }
    }

    #[test]
    fn paths_grow_inline_then_spill_and_shrink_back() {
        let mut t: Table<V4Key> = Table::default();
        let k: Prefix = "10.0.0.0/8".parse().unwrap();
        for n in 0..4 {
            assert!(t.upsert(&k, entry(n)).is_none());
        }
        assert_eq!(t.get(&k).len(), 4);
        assert!(t.upsert(&k, entry(2)).is_some());
        for n in [1, 3, 0] {
            assert!(t.remove(&k, n).is_some());
        }
        assert_eq!(
            t.get(&k).iter().map(|e| e.neighbor).collect::<Vec<_>>(),
            vec![2]
        );
        assert!(t.remove(&k, 2).is_some());
        assert!(t.is_empty());
        // The spill slot is reused, and a pair chunk is allocated once.
        for n in 0..3 {
            t.upsert(&k, entry(n));
        }
        assert_eq!(t.lists.spill.len(), 1);
        assert_eq!(t.lists.pairs.len(), 1);
    }

    #[test]
    fn same_address_with_different_lengths_are_different_prefixes() {
        let mut t: Table<V4Key> = Table::default();
        t.upsert(&"10.0.0.0/8".parse().unwrap(), entry(1));
        t.upsert(&"10.0.0.0/16".parse().unwrap(), entry(2));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(&"10.0.0.0/16".parse().unwrap())[0].neighbor, 2);
    }

    proptest::proptest! {
        /// The compact table behaves like a plain map from (prefix, neighbor) to entry.
        #[test]
        fn table_matches_a_plain_map_model(ops in proptest::collection::vec((0u8..3, 0u32..8, 0u8..3, 0u16..5), 1..200)) {
            let mut t: Table<V4Key> = Table::default();
            let mut model: std::collections::HashMap<(Prefix, NeighborIdx), PathEntry> = Default::default();
            for (op, addr, len, n) in ops {
                let net: Prefix = Ipv4Net::new(Ipv4Addr::from(addr << 24), 8 + len * 8).map(IpNet::V4).unwrap();
                let e = PathEntry { attr: addr, neighbor: n, flags: PathFlags::ACCEPTED, reason: 0 };
                if op < 2 {
                    proptest::prop_assert_eq!(t.upsert(&net, e), model.insert((net, n), e));
                } else {
                    proptest::prop_assert_eq!(t.remove(&net, n), model.remove(&(net, n)));
                }
            }
            let mut got: Vec<(Prefix, PathEntry)> = t.iter().flat_map(|(p, es)| es.iter().map(move |e| (p, *e))).collect();
            let mut want: Vec<(Prefix, PathEntry)> = model.iter().map(|((p, _), e)| (*p, *e)).collect();
            got.sort_by_key(|(p, e)| (*p, e.neighbor));
            want.sort_by_key(|(p, e)| (*p, e.neighbor));
            proptest::prop_assert_eq!(got, want);
        }
    }
}
