//! Derived attribute sets' storage, for [`super::Interner`]: a whole set's
//! id with LOCAL_PREF and ONLY_TO_CUSTOMER replaced, kept inline in one
//! 16-byte entry with its reference count, and found again by those three
//! values. No channels; the interner owns it and does the counting.
//!
//! Derived ids carry bit 31 ([`BIT`]); whole ids stay below 2^30, so a
//! derived entry holds its two presence flags in its base id's top bits.
//! Per set: the entry, plus ~5.7 bytes of lookup table; nothing on the
//! heap per set (a derived set used to be a 16-byte slot, a 4-byte count
//! and a 16-byte heap block), and finding one, or growing the table, reads
//! only the entries.

use super::interner::AttrId;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// Marks a derived id.
pub const BIT: AttrId = 1 << 31;
/// In [`Key::base`]: LOCAL_PREF present.
const HAS_LP: u32 = 1 << 31;
/// In [`Key::base`]: ONLY_TO_CUSTOMER present.
const HAS_OTC: u32 = 1 << 30;
/// Whole ids are below this.
pub const WHOLE_LIMIT: AttrId = 1 << 30;
/// [`Key::base`] of a free entry (both flags and an id no whole set has).
const FREE: u32 = u32::MAX;

/// What a derived set is: its base and the two values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The whole set's id, with the presence flags in bits 31 and 30.
    base: u32,
    lp: u32,
    otc: u32,
}

impl Key {
    /// `base` (a whole id) with `local_pref` and `only_to_customer`.
    pub fn new(base: AttrId, local_pref: Option<u32>, only_to_customer: Option<u32>) -> Self {
        let mut b = base & !(HAS_LP | HAS_OTC);
        if local_pref.is_some() {
            b |= HAS_LP;
        }
        if only_to_customer.is_some() {
            b |= HAS_OTC;
        }
        Key {
            base: b,
            lp: local_pref.unwrap_or(0),
            otc: only_to_customer.unwrap_or(0),
        }
    }

    /// The whole set it is derived from.
    pub fn base(&self) -> AttrId {
        self.base & !(HAS_LP | HAS_OTC)
    }

    /// Its LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        (self.base & HAS_LP != 0).then_some(self.lp)
    }

    /// Its ONLY_TO_CUSTOMER.
    pub fn only_to_customer(&self) -> Option<u32> {
        (self.base & HAS_OTC != 0).then_some(self.otc)
    }
}

/// One derived set: 16 bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Key,
    /// References (0: dead, or free when `key.base` is [`FREE`]).
    count: u32,
}

/// The derived sets: entries addressed by id (without [`BIT`]) and a
/// lookup table of those ids, keyed by [`Key`].
#[derive(Debug, Default)]
pub struct DerivedSets {
    entries: Vec<Entry>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl DerivedSets {
    fn entry(&self, id: AttrId) -> Option<&Entry> {
        if id & BIT == 0 {
            return None;
        }
        self.entries
            .get((id & !BIT) as usize)
            .filter(|e| e.key.base != FREE)
    }

    /// The derived set `id` (dead or alive), if it is one.
    pub fn key(&self, id: AttrId) -> Option<Key> {
        self.entry(id).map(|e| e.key)
    }

    /// The reference count of `id`, if it is a derived set (dead: 0).
    pub fn count_mut(&mut self, id: AttrId) -> Option<&mut u32> {
        self.entry(id)?;
        self.entries
            .get_mut((id & !BIT) as usize)
            .map(|e| &mut e.count)
    }

    /// The reference count of `id` (0: dead, free or not derived).
    pub fn count(&self, id: AttrId) -> u32 {
        self.entry(id).map_or(0, |e| e.count)
    }

    /// The id of `key`, found (its count untouched; `false`) or added
    /// with one reference (`true`).
    pub fn find_or_add(&mut self, key: Key) -> (AttrId, bool) {
        let hash = self.hasher.hash_one(key);
        let entries = &self.entries;
        if let Some(&i) = self.index.find(hash, |&i| entries[i as usize].key == key) {
            return (i | BIT, false);
        }
        let e = Entry { key, count: 1 };
        let i = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = e;
                i
            }
            None => {
                self.entries.push(e);
                (self.entries.len() - 1) as u32
            }
        };
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index
            .insert_unique(hash, i, |&i| hasher.hash_one(entries[i as usize].key));
        (i | BIT, true)
    }

    /// Forgets derived set `id` (its id is reused).
    pub fn remove(&mut self, id: AttrId) {
        let Some(key) = self.key(id) else { return };
        let i = id & !BIT;
        let hash = self.hasher.hash_one(key);
        if let Ok(found) = self.index.find_entry(hash, |&x| x == i) {
            found.remove();
        }
        if let Some(e) = self.entries.get_mut(i as usize) {
            e.key.base = FREE;
            e.count = 0;
        }
        self.free.push(i);
    }

    /// Derived sets held, dead ones included.
    pub fn len(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_16_bytes_and_a_key_reads_back_what_it_was_given() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
        for (lp, otc) in [
            (None, None),
            (Some(0), None),
            (None, Some(7)),
            (Some(u32::MAX), Some(0)),
        ] {
            let k = Key::new(12345, lp, otc);
            assert_eq!(
                (k.base(), k.local_pref(), k.only_to_customer()),
                (12345, lp, otc)
            );
        }
        assert_ne!(Key::new(1, Some(0), None), Key::new(1, None, None));
    }

    #[test]
    fn sets_are_found_again_and_their_ids_reused_once_removed() {
        let mut d = DerivedSets::default();
        let (a, new_a) = d.find_or_add(Key::new(1, Some(100), None));
        let (b, new_b) = d.find_or_add(Key::new(1, Some(200), None));
        assert!(new_a && new_b && a != b && a & BIT != 0);
        assert_eq!(d.find_or_add(Key::new(1, Some(100), None)), (a, false));
        assert_eq!(d.key(a).map(|k| k.local_pref()), Some(Some(100)));
        d.remove(a);
        assert_eq!(d.key(a), None);
        assert_eq!(d.len(), 1);
        assert!(d.count_mut(a).is_none(), "a free entry has no count");
        let (c, new_c) = d.find_or_add(Key::new(2, None, Some(9)));
        assert!(new_c);
        assert_eq!(c, a, "the freed id is reused");
        assert_eq!(d.key(5), None, "a whole id is not a derived one");
    }
}
