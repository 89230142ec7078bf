//! Adj-RIB-Out: what was last advertised to one neighbor, per prefix, as an
//! interned attribute id, so exports are sent as diffs. Owned by the route
//! engine task; no channels.
//!
//! Keyed like the Adj-RIB-In ([`super::table`]): one map per family and
//! prefix length holding the bare address, so an IPv4 entry is 8 bytes
//! (plus the map's control byte) instead of 24 with a whole `IpNet` key.

use super::interner::AttrId;
use super::table::{PrefixKey, V4Key, V6Key};
use crate::wire::Prefix;
use hashbrown::hash_map::Entry;
use hashbrown::HashMap;

/// Per-length maps of one family.
#[derive(Debug, Clone)]
struct ByLen<K> {
    maps: Vec<HashMap<K, AttrId>>,
}

impl<K: PrefixKey> Default for ByLen<K> {
    fn default() -> Self {
        ByLen {
            maps: (0..=K::MAX_LEN).map(|_| HashMap::new()).collect(),
        }
    }
}

impl<K: PrefixKey> ByLen<K> {
    fn iter(&self) -> impl Iterator<Item = (Prefix, AttrId)> + '_ {
        self.maps
            .iter()
            .enumerate()
            .flat_map(|(len, m)| m.iter().map(move |(k, a)| (k.to_net(len as u8), *a)))
    }
}

/// The routes advertised to one neighbor (or one update group).
#[derive(Debug, Default, Clone)]
pub struct AdjRibOut {
    v4: ByLen<V4Key>,
    v6: ByLen<V6Key>,
    len: usize,
}

impl AdjRibOut {
    /// An empty Adj-RIB-Out.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was advertised for `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<AttrId> {
        if let Some((len, k)) = V4Key::from_net(prefix) {
            return self.v4.maps[usize::from(len)].get(&k).copied();
        }
        let (len, k) = V6Key::from_net(prefix)?;
        self.v6.maps[usize::from(len)].get(&k).copied()
    }

    /// Records that `attr` is advertised for `prefix`, in one probe:
    /// `None` when it already was, else `Some` of the id it replaces.
    pub fn advertise(&mut self, prefix: Prefix, attr: AttrId) -> Option<Option<AttrId>> {
        fn set<K: PrefixKey>(
            m: &mut HashMap<K, AttrId>,
            k: K,
            attr: AttrId,
        ) -> Option<Option<AttrId>> {
            match m.entry(k) {
                Entry::Occupied(o) if *o.get() == attr => None,
                Entry::Occupied(mut o) => Some(Some(o.insert(attr))),
                Entry::Vacant(v) => {
                    v.insert(attr);
                    Some(None)
                }
            }
        }
        let changed = if let Some((len, k)) = V4Key::from_net(&prefix) {
            set(&mut self.v4.maps[usize::from(len)], k, attr)
        } else {
            let (len, k) = V6Key::from_net(&prefix)?;
            set(&mut self.v6.maps[usize::from(len)], k, attr)
        };
        if changed == Some(None) {
            self.len += 1;
        }
        changed
    }

    /// Records a withdrawal; returns the attribute id it removes.
    pub fn remove(&mut self, prefix: &Prefix) -> Option<AttrId> {
        let old = if let Some((len, k)) = V4Key::from_net(prefix) {
            self.v4.maps[usize::from(len)].remove(&k)
        } else {
            let (len, k) = V6Key::from_net(prefix)?;
            self.v6.maps[usize::from(len)].remove(&k)
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Every advertised route.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, AttrId)> + '_ {
        self.v4.iter().chain(self.v6.iter())
    }

    /// Number of advertised prefixes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is advertised.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything (session down); returns the ids to release.
    pub fn clear(&mut self) -> Vec<AttrId> {
        let mut ids = Vec::with_capacity(self.len);
        for m in self.v4.maps.iter_mut() {
            ids.extend(m.drain().map(|(_, a)| a));
            m.shrink_to_fit();
        }
        for m in self.v6.maps.iter_mut() {
            ids.extend(m.drain().map(|(_, a)| a));
            m.shrink_to_fit();
        }
        self.len = 0;
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_entry_per_prefix_of_either_family() {
        let mut out = AdjRibOut::new();
        let a: Prefix = "192.0.2.0/24".parse().unwrap_or_default();
        let a16: Prefix = "192.0.0.0/16".parse().unwrap_or_default();
        let b: Prefix = "2001:db8::/32".parse().unwrap_or_default();
        assert_eq!(out.advertise(a, 1), Some(None));
        assert_eq!(out.advertise(a16, 2), Some(None));
        assert_eq!(out.advertise(b, 3), Some(None));
        assert_eq!(out.advertise(a, 4), Some(Some(1)));
        assert_eq!((out.len(), out.get(&a), out.get(&b)), (3, Some(4), Some(3)));
        let mut all: Vec<(Prefix, AttrId)> = out.iter().collect();
        all.sort();
        assert_eq!(all, vec![(a16, 2), (a, 4), (b, 3)]);
        assert_eq!(out.advertise(a, 4), None, "already advertised");
        assert_eq!(out.advertise(a, 5), Some(Some(4)));
        assert_eq!(out.advertise(a16, 6), Some(Some(2)));
        assert_eq!(out.len(), 3);
        out.advertise(a, 4);
        out.advertise(a16, 2);
        assert_eq!(out.remove(&a16), Some(2));
        assert_eq!(out.remove(&a16), None);
        let mut ids = out.clear();
        ids.sort();
        assert_eq!((ids, out.len(), out.get(&a)), (vec![3, 4], 0, None));
        assert_eq!(out.advertise(b, 7), Some(None), "new");
        assert_eq!((out.len(), out.get(&b)), (1, Some(7)));
    }
}
