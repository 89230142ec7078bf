//! Interned path attributes: one packed copy ([`super::packed`]) per
//! distinct set, addressed by a 32-bit [`AttrId`] and reference counted so
//! unused sets are freed. Owned by the route engine task (inside its RIB);
//! no channels.
//!
//! Memory per distinct set: the packed bytes (~30–60 for a provider's set)
//! in one heap block, a 24-byte slot and a 4-byte entry in the lookup
//! table, which holds only ids and hashes the slots' bytes. [`Interner::get`]
//! unpacks on demand; a small direct-mapped cache of unpacked sets makes
//! the common case (many prefixes of one UPDATE, the few paths of one
//! prefix) a reference-count increment.

use super::packed;
use crate::wire::PathAttributes;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Index of an interned attribute set.
pub type AttrId = u32;

/// Marker for "no attribute set" in compact storage.
pub const NO_ATTR: AttrId = u32::MAX;

/// Entries in the cache of unpacked sets (a power of two).
const CACHE: usize = 1024;

/// One cache entry: an id and its unpacked set.
type Cached = Option<(AttrId, Arc<PathAttributes>)>;

#[derive(Debug, Default)]
struct Slot {
    /// The packed set; `None` when the slot is free.
    bytes: Option<Box<[u8]>>,
    refs: u32,
}

/// The attribute interner: packed sets in a slot table plus a lookup table.
#[derive(Debug, Default)]
pub struct Interner {
    slots: Vec<Slot>,
    free: Vec<AttrId>,
    index: HashTable<AttrId>,
    hasher: DefaultHashBuilder,
    /// Recently unpacked sets, slot `id % CACHE`.
    cache: RefCell<Vec<Cached>>,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    fn bytes(slots: &[Slot], id: AttrId) -> &[u8] {
        slots
            .get(id as usize)
            .and_then(|s| s.bytes.as_deref())
            .unwrap_or(&[])
    }

    /// Interns `attrs` and takes one reference on it.
    pub fn intern(&mut self, attrs: PathAttributes) -> AttrId {
        self.intern_ref(&attrs)
    }

    /// Interns a copy of `attrs` and takes one reference on it.
    pub fn intern_ref(&mut self, attrs: &PathAttributes) -> AttrId {
        let bytes = packed::pack(attrs);
        let hash = self.hasher.hash_one(&bytes[..]);
        let slots = &self.slots;
        if let Some(&id) = self
            .index
            .find(hash, |&id| Self::bytes(slots, id) == &bytes[..])
        {
            self.acquire(id);
            return id;
        }
        let slot = Slot {
            bytes: Some(bytes),
            refs: 1,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as AttrId
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(hash, id, |&id| hasher.hash_one(Self::bytes(slots, id)));
        id
    }

    /// Takes one more reference on `id`.
    pub fn acquire(&mut self, id: AttrId) {
        if let Some(s) = self.slots.get_mut(id as usize) {
            if s.bytes.is_some() {
                s.refs += 1;
            }
        }
    }

    /// Drops one reference on `id`; the set is freed with its last reference.
    pub fn release(&mut self, id: AttrId) {
        let Some(s) = self.slots.get_mut(id as usize) else {
            return;
        };
        if s.bytes.is_none() {
            return;
        }
        s.refs = s.refs.saturating_sub(1);
        if s.refs > 0 {
            return;
        }
        let Some(bytes) = s.bytes.take() else {
            return;
        };
        let hash = self.hasher.hash_one(&bytes[..]);
        if let Ok(entry) = self.index.find_entry(hash, |&x| x == id) {
            entry.remove();
        }
        self.free.push(id);
        let mut cache = self.cache.borrow_mut();
        if let Some(c) = cache.get_mut(id as usize % CACHE) {
            if c.as_ref().is_some_and(|(cid, _)| *cid == id) {
                *c = None;
            }
        }
    }

    /// The attribute set `id`, if live.
    pub fn get(&self, id: AttrId) -> Option<Arc<PathAttributes>> {
        let bytes = self.slots.get(id as usize)?.bytes.as_deref()?;
        let mut cache = self.cache.borrow_mut();
        if cache.is_empty() {
            cache.resize(CACHE, None);
        }
        let c = cache.get_mut(id as usize % CACHE)?;
        if let Some((cid, a)) = c {
            if *cid == id {
                return Some(a.clone());
            }
        }
        let a = Arc::new(packed::unpack(bytes)?);
        *c = Some((id, a.clone()));
        Some(a)
    }

    /// Puts `attrs`, the decoded form of set `id`, in the cache, so that
    /// the next [`Interner::get`] of `id` need not unpack it (the import
    /// pipeline has the set decoded from the wire when it interns it).
    pub fn prime(&self, id: AttrId, attrs: Arc<PathAttributes>) {
        let mut cache = self.cache.borrow_mut();
        if cache.is_empty() {
            cache.resize(CACHE, None);
        }
        if let Some(c) = cache.get_mut(id as usize % CACHE) {
            *c = Some((id, attrs));
        }
    }

    /// Number of live attribute sets.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no set is live.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Reference count of `id` (0 when not live).
    pub fn refs(&self, id: AttrId) -> u32 {
        self.slots
            .get(id as usize)
            .filter(|s| s.bytes.is_some())
            .map_or(0, |s| s.refs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::AsPath;

    fn attrs(asn: u32) -> PathAttributes {
        PathAttributes {
            as_path: Some(AsPath::from_sequence(vec![asn])),
            ..Default::default()
        }
    }

    #[test]
    fn equal_sets_share_one_index() {
        let mut i = Interner::new();
        let a = i.intern(attrs(1));
        let b = i.intern(attrs(1));
        let c = i.intern(attrs(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(i.len(), 2);
        assert_eq!(i.refs(a), 2);
        assert_eq!(i.get(c).as_deref(), Some(&attrs(2)));
    }

    #[test]
    fn last_release_frees_the_set_and_reuses_its_slot() {
        let mut i = Interner::new();
        let a = i.intern(attrs(1));
        // Unpacked into the cache, then freed: the cache must not serve it again.
        assert_eq!(i.get(a).as_deref(), Some(&attrs(1)));
        i.release(a);
        assert!(i.get(a).is_none());
        assert!(i.is_empty());
        let b = i.intern(attrs(3));
        assert_eq!(a, b);
        assert_eq!(
            i.get(b)
                .and_then(|x| x.as_path.as_ref().and_then(|p| p.origin_as())),
            Some(3)
        );
    }

    #[test]
    fn a_freed_set_can_be_interned_again_and_found() {
        let mut i = Interner::new();
        let a = i.intern(attrs(1));
        let b = i.intern(attrs(2));
        i.release(a);
        let c = i.intern(attrs(1));
        assert_eq!(i.intern(attrs(1)), c);
        assert_eq!(i.intern(attrs(2)), b);
        assert_eq!(i.len(), 2);
        assert_eq!(i.refs(c), 2);
    }

    #[test]
    fn ids_sharing_a_cache_entry_do_not_mix() {
        let mut i = Interner::new();
        let ids: Vec<AttrId> = (0..(CACHE as u32 + 2))
            .map(|n| i.intern(attrs(n)))
            .collect();
        for (n, &id) in ids.iter().enumerate().rev() {
            assert_eq!(i.get(id).as_deref(), Some(&attrs(n as u32)));
        }
        assert_eq!(i.get(ids[0]).as_deref(), Some(&attrs(0)));
        assert_eq!(i.get(ids[CACHE]).as_deref(), Some(&attrs(CACHE as u32)));
    }

    proptest::proptest! {
        /// The interner behaves like a reference-counted multiset of sets.
        #[test]
        fn matches_a_counting_model(ops in proptest::collection::vec((proptest::bool::ANY, 0u32..6), 1..200)) {
            let mut i = Interner::new();
            let mut model: std::collections::HashMap<u32, (AttrId, u32)> = Default::default();
            for (add, n) in ops {
                if add {
                    let id = i.intern(attrs(n));
                    let e = model.entry(n).or_insert((id, 0));
                    proptest::prop_assert_eq!(e.0, id);
                    e.1 += 1;
                } else if let Some(e) = model.get_mut(&n) {
                    i.release(e.0);
                    e.1 -= 1;
                    if e.1 == 0 {
                        model.remove(&n);
                    }
                }
            }
            proptest::prop_assert_eq!(i.len(), model.len());
            for (n, (id, refs)) in &model {
                proptest::prop_assert_eq!(i.refs(*id), *refs);
                let got = i.get(*id);
                proptest::prop_assert_eq!(got.as_deref(), Some(&attrs(*n)));
            }
        }
    }
}
