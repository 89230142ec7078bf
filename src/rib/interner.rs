//! Interned path attributes: one packed copy ([`super::packed`]) per
//! distinct set, addressed by a 32-bit [`AttrId`] and reference counted so
//! unused sets are freed. Owned by the route engine task (inside its RIB);
//! no channels.
//!
//! Memory per distinct set: the packed bytes (~30–60 for a provider's set)
//! in one heap block, a 16-byte slot, a 4-byte reference count and a
//! 4-byte entry in the lookup table, which holds only ids and hashes the
//! slots' bytes. [`Interner::get`]
//! unpacks on demand; a small direct-mapped cache of unpacked sets makes
//! the common case (many prefixes of one UPDATE, the few paths of one
//! prefix) a reference-count increment.
//!
//! A derived set ([`Interner::intern_derived`]) is another set with its
//! LOCAL_PREF and ONLY_TO_CUSTOMER replaced: stored as the other set's id
//! and the two values (~11 bytes), it holds a reference on that set. It is
//! how the exporter keeps what it sent internal neighbors of routes learned
//! from peers (the received set plus our LOCAL_PREF) without a second copy
//! of every set.
//!
//! A set whose last reference goes is dead at once ([`Interner::get`] and
//! [`Interner::len`] no longer see it) but stays indexed until
//! [`Interner::reclaim`], which the engine task runs once its queue is
//! empty: finding a set in the index means hashing its bytes again and a
//! few cache misses, which made freeing a neighbor's table (its session
//! down) a quarter of the time until the internal neighbors had the
//! withdrawals. A dead set interned again before that comes back as it was.

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

/// The first two bytes of a derived set: bit 15 of the packed presence
/// mask, which [`packed::pack`] never sets.
const DERIVED: [u8; 2] = 0x8000u16.to_le_bytes();

/// One cache entry: an id and its unpacked set.
type Cached = Option<(AttrId, Arc<PathAttributes>)>;

/// One slot (16 bytes): the packed set; `None` when the slot is free. Its
/// reference count is in `Interner::counts` at the same index (beside it
/// in the slot, padding would make the slot 24 bytes).
#[derive(Debug, Default)]
struct Slot {
    bytes: Option<Box<[u8]>>,
}

/// The attribute interner: packed sets in a slot table plus a lookup table.
#[derive(Debug, Default)]
pub struct Interner {
    slots: Vec<Slot>,
    /// Reference count of each slot (0 when free).
    counts: Vec<u32>,
    free: Vec<AttrId>,
    index: HashTable<AttrId>,
    hasher: DefaultHashBuilder,
    /// Sets whose reference count fell to 0 since the last `reclaim`
    /// (still indexed; an id may be listed twice).
    dying: Vec<AttrId>,
    /// How many indexed sets have no reference.
    dead: usize,
    /// Recently unpacked sets, slot `id % CACHE`.
    cache: RefCell<Vec<Cached>>,
    /// Where a set is packed to be looked up: copied out, at its exact
    /// length, only when it is new.
    scratch: Vec<u8>,
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
        let mut b = std::mem::take(&mut self.scratch);
        packed::pack_into(attrs, &mut b);
        let id = self.intern_bytes(&b).0;
        self.scratch = b;
        id
    }

    /// [`Interner::intern_ref`], keeping `attrs` as the set's unpacked form
    /// in the cache ([`Interner::get`] then hands it out without
    /// unpacking: packing is lossless and canonical, so it is the same set).
    pub fn intern_decoded(&mut self, attrs: &Arc<PathAttributes>) -> AttrId {
        let id = self.intern_ref(attrs);
        self.remember(id, attrs.clone());
        id
    }

    /// Interns `base` with LOCAL_PREF and ONLY_TO_CUSTOMER replaced by
    /// `local_pref` and `only_to_customer`, and takes one reference on the
    /// result: `base` itself when that changes nothing, else a derived set
    /// (`base`'s id and the two values) that holds a reference on `base`.
    /// `None` when `base` is not live.
    pub fn intern_derived(
        &mut self,
        base: AttrId,
        local_pref: Option<u32>,
        only_to_customer: Option<u32>,
    ) -> Option<AttrId> {
        // A derived set always refers to a whole one.
        let base = match Self::derived(self.slots.get(base as usize)?.bytes.as_deref()?) {
            Some((b, _, _)) => b,
            None => base,
        };
        let whole = self.get(base)?;
        if whole.local_pref == local_pref && whole.only_to_customer == only_to_customer {
            self.acquire(base);
            return Some(base);
        }
        let mut b = std::mem::take(&mut self.scratch);
        b.clear();
        b.extend_from_slice(&DERIVED);
        b.extend_from_slice(&base.to_le_bytes());
        b.push(u8::from(local_pref.is_some()) | (u8::from(only_to_customer.is_some()) << 1));
        for v in [local_pref, only_to_customer].into_iter().flatten() {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let (id, new) = self.intern_bytes(&b);
        self.scratch = b;
        if new {
            self.acquire(base);
        }
        Some(id)
    }

    /// A derived set's base, LOCAL_PREF and ONLY_TO_CUSTOMER; `None` for
    /// a whole set.
    fn derived(bytes: &[u8]) -> Option<(AttrId, Option<u32>, Option<u32>)> {
        let rest = bytes.strip_prefix(&DERIVED)?;
        let (base, rest) = rest.split_first_chunk::<4>()?;
        let (&flags, mut rest) = rest.split_first()?;
        let mut take = |present: bool| -> Option<Option<u32>> {
            if !present {
                return Some(None);
            }
            let (v, r) = rest.split_first_chunk::<4>()?;
            rest = r;
            Some(Some(u32::from_le_bytes(*v)))
        };
        let lp = take(flags & 1 != 0)?;
        let otc = take(flags & 2 != 0)?;
        Some((AttrId::from_le_bytes(*base), lp, otc))
    }

    /// Finds or inserts `bytes` and takes one reference on it; `true` when
    /// the set is new.
    fn intern_bytes(&mut self, bytes: &[u8]) -> (AttrId, bool) {
        let hash = self.hasher.hash_one(bytes);
        let slots = &self.slots;
        if let Some(&id) = self.index.find(hash, |&id| Self::bytes(slots, id) == bytes) {
            // A dead set comes back here.
            self.acquire(id);
            return (id, false);
        }
        let slot = Slot {
            bytes: Some(bytes.into()),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                self.counts[id as usize] = 1;
                id
            }
            None => {
                self.slots.push(slot);
                self.counts.push(1);
                (self.slots.len() - 1) as AttrId
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(hash, id, |&id| hasher.hash_one(Self::bytes(slots, id)));
        (id, true)
    }

    /// Takes one more reference on `id`.
    pub fn acquire(&mut self, id: AttrId) {
        if let (Some(s), Some(n)) = (
            self.slots.get(id as usize),
            self.counts.get_mut(id as usize),
        ) {
            if s.bytes.is_some() {
                *n = n.saturating_add(1);
                if *n == 1 {
                    // Back from the dead: a derived set holds its base again.
                    self.dead -= 1;
                    if let Some((base, _, _)) = s.bytes.as_deref().and_then(Self::derived) {
                        self.acquire(base);
                    }
                }
            }
        }
    }

    /// Drops one reference on `id`; with its last reference the set is
    /// dead, and freed by the next [`Interner::reclaim`].
    pub fn release(&mut self, id: AttrId) {
        let (Some(s), Some(n)) = (
            self.slots.get(id as usize),
            self.counts.get_mut(id as usize),
        ) else {
            return;
        };
        if s.bytes.is_none() || *n == 0 {
            return;
        }
        *n -= 1;
        if *n == 0 {
            self.dead += 1;
            self.dying.push(id);
            if let Some((base, _, _)) = s.bytes.as_deref().and_then(Self::derived) {
                self.release(base);
            }
        }
    }

    /// Sets waiting for [`Interner::reclaim`] (an upper bound).
    pub fn dying(&self) -> usize {
        self.dying.len()
    }

    /// Frees the dead sets.
    pub fn reclaim(&mut self) {
        for id in std::mem::take(&mut self.dying) {
            if self.counts.get(id as usize) == Some(&0) {
                self.free_slot(id);
            }
        }
    }

    /// Frees dead set `id`: out of the index, its slot reusable (its base,
    /// if derived, was released when it died).
    fn free_slot(&mut self, id: AttrId) {
        let Some(bytes) = self.slots.get_mut(id as usize).and_then(|s| s.bytes.take()) else {
            return;
        };
        self.dead -= 1;
        let hash = self.hasher.hash_one(&bytes[..]);
        if let Ok(entry) = self.index.find_entry(hash, |&x| x == id) {
            entry.remove();
        }
        self.free.push(id);
        {
            let mut cache = self.cache.borrow_mut();
            if let Some(c) = cache.get_mut(id as usize % CACHE) {
                if c.as_ref().is_some_and(|(cid, _)| *cid == id) {
                    *c = None;
                }
            }
        }
    }

    /// The attribute set `id`, if live.
    pub fn get(&self, id: AttrId) -> Option<Arc<PathAttributes>> {
        if self.counts.get(id as usize).is_none_or(|&n| n == 0) {
            return None;
        }
        let bytes = self.slots.get(id as usize)?.bytes.as_deref()?;
        {
            let mut cache = self.cache.borrow_mut();
            if cache.is_empty() {
                cache.resize(CACHE, None);
            }
            if let Some(Some((cid, a))) = cache.get(id as usize % CACHE) {
                if *cid == id {
                    return Some(a.clone());
                }
            }
        }
        let a = Arc::new(match Self::derived(bytes) {
            Some((base, local_pref, only_to_customer)) => {
                let mut a = (*self.get(base)?).clone();
                a.local_pref = local_pref;
                a.only_to_customer = only_to_customer;
                a
            }
            None => packed::unpack(bytes)?,
        });
        self.remember(id, a.clone());
        Some(a)
    }

    /// Puts `attrs`, the decoded form of set `id`, in the cache.
    fn remember(&self, id: AttrId, attrs: Arc<PathAttributes>) {
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
        self.index.len() - self.dead
    }

    /// True when no set is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reference count of `id` (0 when not live).
    pub fn refs(&self, id: AttrId) -> u32 {
        self.slots
            .get(id as usize)
            .filter(|s| s.bytes.is_some())
            .and_then(|_| self.counts.get(id as usize))
            .map_or(0, |n| *n)
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
    fn a_set_interned_decoded_is_handed_out_without_unpacking() {
        let mut i = Interner::new();
        let a = Arc::new(attrs(1));
        let id = i.intern_decoded(&a);
        assert_eq!(i.intern(attrs(1)), id, "the same set as interned packed");
        let got = i.get(id).expect("live");
        assert!(
            Arc::ptr_eq(&got, &a),
            "the decoded set itself, from the cache"
        );
        assert_eq!(i.refs(id), 2);
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
        assert_eq!(i.dying(), 1);
        i.reclaim();
        assert_eq!(i.dying(), 0);
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
    fn a_dead_set_interned_again_comes_back_with_its_id_until_reclaimed() {
        let mut i = Interner::new();
        let base = i.intern(attrs(1));
        let d = i.intern_derived(base, Some(100), None).unwrap();
        i.release(d);
        i.release(base);
        assert!(i.is_empty());
        assert!(i.get(d).is_none() && i.get(base).is_none());
        // Back before the reclaim: the same ids, the derived set still on
        // its base.
        assert_eq!(i.intern(attrs(1)), base);
        assert_eq!(i.intern_derived(base, Some(100), None), Some(d));
        assert_eq!((i.refs(base), i.refs(d)), (2, 1));
        i.reclaim();
        assert_eq!(i.len(), 2, "nothing live is freed");
        i.release(d);
        assert_eq!(
            i.refs(base),
            1,
            "a dead derived set no longer holds its base"
        );
        i.release(d); // one too many: ignored
        i.release(base);
        assert!(i.is_empty());
        i.reclaim();
        assert!(i.is_empty());
        assert_eq!(i.dying(), 0);
        // Both slots are reused.
        let a = i.intern(attrs(5));
        let b = i.intern(attrs(6));
        let mut got = [a, b];
        got.sort_unstable();
        let mut want = [base, d];
        want.sort_unstable();
        assert_eq!(got, want);
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

    #[test]
    fn a_derived_set_is_its_base_with_two_values_replaced_and_keeps_it_alive() {
        let mut i = Interner::new();
        let base = i.intern(attrs(1));
        let d = i.intern_derived(base, Some(100), Some(64500)).unwrap();
        assert_ne!(d, base);
        let mut want = attrs(1);
        want.local_pref = Some(100);
        want.only_to_customer = Some(64500);
        assert_eq!(i.get(d).as_deref(), Some(&want));
        // The same derivation is the same set; derived from a derived set
        // it refers to the whole one.
        assert_eq!(i.intern_derived(base, Some(100), Some(64500)), Some(d));
        let d2 = i.intern_derived(d, Some(200), None).unwrap();
        want.local_pref = Some(200);
        want.only_to_customer = None;
        assert_eq!(i.get(d2).as_deref(), Some(&want));
        assert_eq!(i.refs(base), 3, "one for the caller, one per derived set");
        // Changing nothing is the base itself.
        assert_eq!(i.intern_derived(base, None, None), Some(base));
        assert_eq!(i.refs(base), 4);
        i.release(base);
        i.release(base);
        i.release(d2);
        assert_eq!(i.refs(base), 1, "held by the derived set only");
        assert_eq!(i.get(base).as_deref(), Some(&attrs(1)));
        i.release(d);
        assert_eq!(i.refs(d), 1);
        i.release(d);
        assert!(i.is_empty(), "the last derived set frees its base");
        assert!(i.intern_derived(base, Some(1), None).is_none());
    }

    #[test]
    fn a_derived_set_and_an_equal_whole_set_are_both_served_right() {
        let mut i = Interner::new();
        let base = i.intern(attrs(7));
        let d = i.intern_derived(base, Some(100), None).unwrap();
        let mut whole = attrs(7);
        whole.local_pref = Some(100);
        let w = i.intern(whole.clone());
        // Two ids for one set (the diff then re-sends it once): both read
        // back as the same attributes.
        assert_eq!(i.get(d), i.get(w));
        assert_eq!(i.get(w).as_deref(), Some(&whole));
    }

    proptest::proptest! {
        /// The interner behaves like a reference-counted multiset of sets.
        #[test]
        fn matches_a_counting_model(ops in proptest::collection::vec((0u8..5, 0u32..6), 1..200)) {
            let mut i = Interner::new();
            let mut model: std::collections::HashMap<u32, (AttrId, u32)> = Default::default();
            for (op, n) in ops {
                if op == 4 {
                    i.reclaim();
                } else if op < 2 {
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
