//! One prefix length's map of the RIB table ([`super::table`]): a hash
//! table of (key, bucket) with the few operations the table uses, plus
//! [`Map::prefetch`], which asks the CPU for the memory a key's probe will
//! read before the probe runs.
//!
//! On a full table nearly every received prefix is new: its probe misses
//! the cache on the control bytes and its insert misses again on the
//! bucket, two misses in a row the engine waits for, prefix after prefix
//! (a third of the engine's time on case 1 of `benches/full_table.rs`).
//! The import loop prefetches a few prefixes ahead, so those misses
//! overlap the work on the prefixes before them. hashbrown does not say
//! where a key's probe starts; it is `hash & (buckets - 1)` in its control
//! bytes, with bucket `i` stored `i + 1` buckets below them (hashbrown's
//! layout since its first release). The start of the control bytes is
//! found from the address and index of any full bucket. Should the layout
//! ever change, the prefetches only miss: a prefetch never faults and
//! changes nothing the program reads.

use super::table::Bucket;
use hashbrown::hash_table::{self, HashTable};
use hashbrown::DefaultHashBuilder;
use std::hash::{BuildHasher, Hash};

/// A map from `K` to its [`Bucket`].
#[derive(Debug)]
pub struct Map<K> {
    table: HashTable<(K, Bucket)>,
    hasher: DefaultHashBuilder,
}

impl<K> Default for Map<K> {
    fn default() -> Self {
        Map {
            table: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }
}

/// A key's place in the map, as [`Map::entry`] finds it.
pub enum Entry<'a, K> {
    Occupied(Occupied<'a, K>),
    Vacant(Vacant<'a, K>),
}

/// A key that is in the map.
pub struct Occupied<'a, K>(hash_table::OccupiedEntry<'a, (K, Bucket)>);

/// A key that is not.
pub struct Vacant<'a, K> {
    entry: hash_table::VacantEntry<'a, (K, Bucket)>,
    key: K,
}

impl<K> Occupied<'_, K> {
    pub fn get(&self) -> &Bucket {
        &self.0.get().1
    }

    pub fn get_mut(&mut self) -> &mut Bucket {
        &mut self.0.get_mut().1
    }

    /// Removes the key and its bucket.
    pub fn remove(self) {
        self.0.remove();
    }
}

impl<K> Vacant<'_, K> {
    pub fn insert(self, b: Bucket) {
        self.entry.insert((self.key, b));
    }
}

/// Maps smaller than this stay in the cache: no prefetch.
const PREFETCH_MIN: usize = 1 << 12;

impl<K: Copy + Eq + Hash> Map<K> {
    fn hash(&self, k: &K) -> u64 {
        self.hasher.hash_one(k)
    }

    pub fn get(&self, k: &K) -> Option<&Bucket> {
        self.table
            .find(self.hash(k), |(x, _)| x == k)
            .map(|(_, b)| b)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut Bucket> {
        let hash = self.hash(k);
        self.table.find_mut(hash, |(x, _)| x == k).map(|(_, b)| b)
    }

    pub fn entry(&mut self, key: K) -> Entry<'_, K> {
        let Map { table, hasher } = self;
        match table.entry(
            hasher.hash_one(key),
            |(x, _)| *x == key,
            |(x, _)| hasher.hash_one(x),
        ) {
            hash_table::Entry::Occupied(o) => Entry::Occupied(Occupied(o)),
            hash_table::Entry::Vacant(entry) => Entry::Vacant(Vacant { entry, key }),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &Bucket)> + '_ {
        self.table.iter().map(|(k, b)| (k, b))
    }

    /// Keeps the buckets for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut Bucket) -> bool) {
        self.table.retain(|(k, b)| keep(k, b));
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    pub fn shrink_to_fit(&mut self) {
        let Map { table, hasher } = self;
        table.shrink_to_fit(|(x, _)| hasher.hash_one(x));
    }

    /// Asks for the cache lines `k`'s probe reads first (its group of
    /// control bytes and the bucket where the probe starts); a hint, see
    /// the module's header.
    pub fn prefetch(&self, k: &K) {
        if self.table.len() < PREFETCH_MIN {
            return;
        }
        let Some(ctrl) = self.ctrl() else { return };
        let pos = (self.hash(k) as usize) & (self.table.num_buckets() - 1);
        let size = std::mem::size_of::<(K, Bucket)>();
        prefetch(ctrl.wrapping_add(pos));
        prefetch(ctrl.wrapping_sub((pos + 1) * size));
    }

    /// Where the control bytes start: `i + 1` buckets above full bucket
    /// `i`. A map this full has one among its first few buckets.
    fn ctrl(&self) -> Option<*const u8> {
        let size = std::mem::size_of::<(K, Bucket)>();
        (0..self.table.num_buckets().min(64)).find_map(|i| {
            let b: *const (K, Bucket) = self.table.get_bucket(i)?;
            Some(b.cast::<u8>().wrapping_add((i + 1) * size))
        })
    }
}

#[cfg(target_arch = "x86_64")]
fn prefetch(p: *const u8) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: a prefetch is a hint: it never faults, whatever the address,
    // and changes no memory the program reads.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
fn prefetch(_: *const u8) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::interner::AttrId;
    use crate::rib::table::{bare, NO_OUT};

    fn bucket(out: AttrId) -> Bucket {
        Bucket { slot: bare(), out }
    }

    #[test]
    fn finds_inserts_and_removes_like_a_map() {
        let mut m: Map<u32> = Map::default();
        for k in 0..10_000u32 {
            match m.entry(k) {
                Entry::Vacant(v) => v.insert(bucket(k)),
                Entry::Occupied(_) => panic!("{k} is new"),
            }
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get(&77).map(|b| b.out), Some(77));
        if let Some(b) = m.get_mut(&77) {
            b.out = NO_OUT;
        }
        assert_eq!(m.get(&77).map(|b| b.out), Some(NO_OUT));
        match m.entry(5) {
            Entry::Occupied(o) => o.remove(),
            Entry::Vacant(_) => panic!("5 is there"),
        }
        assert!(m.get(&5).is_none());
        m.retain(|k, _| k % 2 == 0); // the evens stay (5 went already)
        assert_eq!(m.len(), 5_000);
        assert_eq!(m.iter().filter(|(k, _)| *k % 2 == 1).count(), 0);
        m.retain(|k, _| *k < 10);
        m.shrink_to_fit();
        assert!(m.capacity() < 64, "{}", m.capacity());
    }

    #[test]
    fn the_control_bytes_are_found_where_a_probe_reads_them() {
        let mut m: Map<u32> = Map::default();
        for k in 0..(PREFETCH_MIN as u32 * 2) {
            if let Entry::Vacant(v) = m.entry(k) {
                v.insert(bucket(k));
            }
        }
        let ctrl = m.ctrl().expect("a full bucket among the first");
        // Every full bucket sits `index + 1` buckets below the control
        // bytes: the address `prefetch` computes for a probe at `index`.
        let size = std::mem::size_of::<(u32, Bucket)>();
        for i in 0..m.table.num_buckets() {
            if let Some(b) = m.table.get_bucket(i) {
                let at: *const (u32, Bucket) = b;
                assert_eq!(at.cast::<u8>(), ctrl.wrapping_sub((i + 1) * size));
            }
        }
        m.prefetch(&3);
    }
}
