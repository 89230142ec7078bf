//! The Adj-RIB-Out folded into the path tables: one update group's
//! advertised routes (usually the internal neighbors' group, the one a
//! peering edge exports a full table to) kept in each prefix's bucket
//! beside its paths ([`super::table::Bucket::out`]), so the export's diff
//! reads and writes the bucket the decision just touched instead of
//! probing a map of its own. A prefix the group still holds after its last
//! path went keeps a bucket with no path (counted apart, skipped by every
//! path reader) until the export withdraws it.
//!
//! Same contract as [`super::AdjRibOut`]. Owned by the route engine task;
//! no channels.

use super::interner::AttrId;
use super::map::Entry;
use super::store::Rib;
use super::table::{Bucket, PrefixKey, Table, NO_OUT};
use crate::wire::Prefix;

impl<K: PrefixKey> Table<K> {
    /// What the folded Adj-RIB-Out holds for `net`.
    pub fn out_get(&self, net: &Prefix) -> Option<AttrId> {
        let (len, k) = K::from_net(net)?;
        let b = self.by_len.get(usize::from(len))?.get(&k)?;
        (b.out != NO_OUT).then_some(b.out)
    }

    /// Records that `attr` is advertised for `net`, in one probe: `None`
    /// when it already was, else `Some` of the id it replaces.
    pub fn out_set(&mut self, net: &Prefix, attr: AttrId) -> Option<Option<AttrId>> {
        debug_assert_ne!(attr, NO_OUT, "an attribute id is never NO_OUT");
        let (len, k) = K::from_net(net)?;
        match self.by_len.get_mut(usize::from(len))?.entry(k) {
            Entry::Occupied(o) if o.get().out == attr => None,
            Entry::Occupied(mut o) => {
                let old = std::mem::replace(&mut o.get_mut().out, attr);
                if old == NO_OUT {
                    self.outs += 1;
                    Some(None)
                } else {
                    Some(Some(old))
                }
            }
            Entry::Vacant(v) => {
                // No path: an originated prefix.
                v.insert(Bucket {
                    slot: super::table::bare(),
                    out: attr,
                });
                self.bare += 1;
                self.outs += 1;
                Some(None)
            }
        }
    }

    /// Records a withdrawal; returns the id it removes.
    pub fn out_remove(&mut self, net: &Prefix) -> Option<AttrId> {
        let (len, k) = K::from_net(net)?;
        let Entry::Occupied(mut o) = self.by_len.get_mut(usize::from(len))?.entry(k) else {
            return None;
        };
        let old = std::mem::replace(&mut o.get_mut().out, NO_OUT);
        if old == NO_OUT {
            return None;
        }
        self.outs -= 1;
        if super::table::is_bare(&o.get().slot) {
            o.remove();
            self.bare -= 1;
        }
        Some(old)
    }

    /// Every entry of the folded Adj-RIB-Out.
    pub fn out_iter(&self) -> impl Iterator<Item = (Prefix, AttrId)> + '_ {
        self.by_len.iter().enumerate().flat_map(|(len, m)| {
            m.iter()
                .filter(|(_, b)| b.out != NO_OUT)
                .map(move |(k, b)| (k.to_net(len as u8), b.out))
        })
    }

    /// Forgets the folded Adj-RIB-Out; returns the ids to release.
    pub fn out_clear(&mut self) -> Vec<AttrId> {
        let mut ids = Vec::with_capacity(self.outs);
        if self.outs == 0 {
            return ids;
        }
        for m in &mut self.by_len {
            m.retain(|_, b| {
                if b.out != NO_OUT {
                    ids.push(std::mem::replace(&mut b.out, NO_OUT));
                }
                !super::table::is_bare(&b.slot)
            });
            super::table::shrink_sparse(m);
        }
        self.outs = 0;
        self.bare = 0;
        ids
    }
}

impl Rib {
    /// What the folded Adj-RIB-Out holds for `prefix`.
    pub fn out_get(&self, prefix: &Prefix) -> Option<AttrId> {
        match prefix {
            Prefix::V4(_) => self.v4.out_get(prefix),
            Prefix::V6(_) => self.v6.out_get(prefix),
        }
    }

    /// [`Table::out_set`] in `prefix`'s family.
    pub fn out_advertise(&mut self, prefix: &Prefix, attr: AttrId) -> Option<Option<AttrId>> {
        match prefix {
            Prefix::V4(_) => self.v4.out_set(prefix, attr),
            Prefix::V6(_) => self.v6.out_set(prefix, attr),
        }
    }

    /// [`Table::out_remove`] in `prefix`'s family.
    pub fn out_remove(&mut self, prefix: &Prefix) -> Option<AttrId> {
        match prefix {
            Prefix::V4(_) => self.v4.out_remove(prefix),
            Prefix::V6(_) => self.v6.out_remove(prefix),
        }
    }

    /// Every entry of the folded Adj-RIB-Out, IPv4 then IPv6.
    pub fn out_iter(&self) -> impl Iterator<Item = (Prefix, AttrId)> + '_ {
        self.v4.out_iter().chain(self.v6.out_iter())
    }

    /// Number of prefixes the folded Adj-RIB-Out holds.
    pub fn out_len(&self) -> usize {
        self.v4.outs + self.v6.outs
    }

    /// Forgets the folded Adj-RIB-Out; returns the ids to release.
    pub fn out_clear(&mut self) -> Vec<AttrId> {
        let mut ids = self.v4.out_clear();
        ids.extend(self.v6.out_clear());
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::{NeighborIdx, PathEntry, PathFlags, V4Key};
    use super::*;
    use std::collections::HashMap;

    fn entry(n: NeighborIdx) -> PathEntry {
        PathEntry {
            attr: 7,
            neighbor: n,
            flags: PathFlags::ACCEPTED,
            reason: 0,
        }
    }

    fn p(s: &str) -> Prefix {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn a_prefix_the_group_still_holds_keeps_a_bucket_no_path_reader_sees() {
        let mut t: Table<V4Key> = Table::default();
        let a = p("192.0.2.0/24");
        t.upsert(&a, entry(1));
        assert_eq!(t.out_set(&a, 5), Some(None));
        assert_eq!(t.out_set(&a, 5), None, "already advertised");
        // The last path goes before the export withdraws it.
        assert!(t.remove(&a, 1).is_some());
        assert_eq!((t.len(), t.is_empty(), t.get(&a).len()), (0, true, 0));
        assert!(t.get_mut(&a).is_none());
        assert_eq!(t.iter().count(), 0);
        assert_eq!(t.remove(&a, 1), None);
        assert_eq!(t.out_get(&a), Some(5));
        // A path comes back into the bare bucket.
        assert_eq!(t.upsert(&a, entry(2)), None);
        assert_eq!((t.len(), t.get(&a).len()), (1, 1));
        assert!(t.remove(&a, 2).is_some());
        // The withdrawal takes the bucket with it.
        assert_eq!(t.out_remove(&a), Some(5));
        assert_eq!(t.out_remove(&a), None);
        assert_eq!(t.by_len.iter().map(|m| m.len()).sum::<usize>(), 0);
        assert_eq!((t.bare, t.outs), (0, 0));
    }

    #[test]
    fn an_originated_prefix_has_no_path_and_clear_forgets_only_the_group() {
        let mut t: Table<V4Key> = Table::default();
        let (a, b) = (p("198.51.100.0/24"), p("203.0.113.0/24"));
        assert_eq!(t.out_set(&a, 3), Some(None));
        t.upsert(&b, entry(1));
        assert_eq!(t.out_set(&b, 4), Some(None));
        assert_eq!(t.out_set(&b, 6), Some(Some(4)));
        assert_eq!(t.len(), 1);
        let mut held: Vec<(Prefix, AttrId)> = t.out_iter().collect();
        held.sort();
        assert_eq!(held, vec![(a, 3), (b, 6)]);
        let mut ids = t.out_clear();
        ids.sort();
        assert_eq!(ids, vec![3, 6]);
        assert_eq!((t.out_get(&a), t.out_get(&b), t.len()), (None, None, 1));
        assert_eq!(t.get(&b), &[entry(1)]);
        assert_eq!(t.by_len.iter().map(|m| m.len()).sum::<usize>(), 1);
    }

    #[test]
    fn the_rib_dispatches_by_family() {
        let mut rib = Rib::new();
        let (a, b) = (p("192.0.2.0/24"), p("2001:db8::/32"));
        assert_eq!(rib.out_advertise(&a, 1), Some(None));
        assert_eq!(rib.out_advertise(&b, 2), Some(None));
        assert_eq!(
            (rib.out_len(), rib.out_get(&a), rib.out_get(&b)),
            (2, Some(1), Some(2))
        );
        assert_eq!(rib.out_iter().collect::<Vec<_>>(), vec![(a, 1), (b, 2)]);
        assert_eq!(rib.out_remove(&b), Some(2));
        assert_eq!(rib.out_clear(), vec![1]);
        assert_eq!(rib.out_len(), 0);
    }

    proptest::proptest! {
        /// Paths and the folded Adj-RIB-Out behave like two plain maps.
        #[test]
        fn paths_and_the_folded_out_match_two_plain_maps(
            ops in proptest::collection::vec((0u8..6, 0u32..6, 0u16..3, 0u32..4), 1..300)
        ) {
            let mut t: Table<V4Key> = Table::default();
            let mut paths: HashMap<(Prefix, NeighborIdx), PathEntry> = HashMap::new();
            let mut out: HashMap<Prefix, AttrId> = HashMap::new();
            for (op, addr, n, attr) in ops {
                let net = p(&format!("10.{addr}.0.0/16"));
                match op {
                    0 | 1 => {
                        let e = PathEntry { attr, ..entry(n) };
                        proptest::prop_assert_eq!(t.upsert(&net, e), paths.insert((net, n), e));
                    }
                    2 => proptest::prop_assert_eq!(t.remove(&net, n), paths.remove(&(net, n))),
                    3 => {
                        let want = match out.insert(net, attr) {
                            Some(old) if old == attr => None,
                            old => Some(old),
                        };
                        proptest::prop_assert_eq!(t.out_set(&net, attr), want);
                    }
                    4 => proptest::prop_assert_eq!(t.out_remove(&net), out.remove(&net)),
                    _ => {
                        let mut got = t.out_clear();
                        let mut want: Vec<AttrId> = out.drain().map(|(_, a)| a).collect();
                        got.sort();
                        want.sort();
                        proptest::prop_assert_eq!(got, want);
                    }
                }
                let with_paths: std::collections::HashSet<Prefix> = paths.keys().map(|k| k.0).collect();
                proptest::prop_assert_eq!(t.len(), with_paths.len());
                proptest::prop_assert_eq!(t.outs, out.len());
                let buckets: usize = t.by_len.iter().map(|m| m.len()).sum();
                let mut all = with_paths.clone();
                all.extend(out.keys().copied());
                proptest::prop_assert_eq!(buckets, all.len(), "no bucket outlives both");
            }
            let mut got: Vec<(Prefix, PathEntry)> = t.iter().flat_map(|(p, es)| es.iter().map(move |e| (p, *e))).collect();
            let mut want: Vec<(Prefix, PathEntry)> = paths.iter().map(|((p, _), e)| (*p, *e)).collect();
            got.sort_by_key(|(p, e)| (*p, e.neighbor));
            want.sort_by_key(|(p, e)| (*p, e.neighbor));
            proptest::prop_assert_eq!(got, want);
            let mut got: Vec<(Prefix, AttrId)> = t.out_iter().collect();
            let mut want: Vec<(Prefix, AttrId)> = out.into_iter().collect();
            got.sort();
            want.sort();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
