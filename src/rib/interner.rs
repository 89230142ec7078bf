//! Interned path attributes: one packed copy ([`super::packed`]) per
//! distinct set, addressed by a 32-bit [`AttrId`] and reference counted so
//! unused sets are freed. Owned by the route engine task (inside its RIB);
//! no channels.
//!
//! Memory per distinct set: the packed bytes (~30–60 for a provider's set)
//! in one heap block, a 16-byte slot, a 4-byte reference count and an
//! 8-byte entry in the lookup table: the id and 32 bits of the set's
//! hash, so the table grows without reading or hashing any set again (it
//! did, and a full table's 200k sets made that 3% of the engine's time
//! while it loaded). [`Interner::get`]
//! unpacks on demand; a small direct-mapped cache of unpacked sets makes
//! the common case (many prefixes of one UPDATE, the few paths of one
//! prefix) a reference-count increment.
//!
//! A derived set ([`Interner::intern_derived`]) is another set with its
//! LOCAL_PREF and ONLY_TO_CUSTOMER replaced: stored apart
//! ([`super::derived`]) as the other set's id and the two values in 16
//! bytes with its count, it holds a reference on that set. It is how the
//! exporter keeps what it sent internal neighbors of routes learned from
//! peers (the received set plus our LOCAL_PREF) without a second copy of
//! every set.
//!
//! A set whose last reference goes is dead at once ([`Interner::get`] and
//! [`Interner::len`] no longer see it) but stays indexed until
//! [`Interner::reclaim`], which the engine task runs once its queue is
//! empty: finding a set in the index means hashing its bytes again and a
//! few cache misses, which made freeing a neighbor's table (its session
//! down) a quarter of the time until the internal neighbors had the
//! withdrawals. A dead set interned again before that comes back as it was.

use super::derived::{self, DerivedSets, Key};
use super::packed;
use crate::decision::PathRank;
use crate::wire::{PackedSet, PathAttributes};
use hashbrown::{DefaultHashBuilder, HashTable};
use std::borrow::Cow;
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock};

/// The hash of packed sets, one seed for the whole process: a session task
/// hashes what it packs ([`packed_set`]) as the interner would.
static HASHER: LazyLock<DefaultHashBuilder> = LazyLock::new(DefaultHashBuilder::default);

fn hash_of(bytes: &[u8]) -> u64 {
    HASHER.hash_one(bytes)
}

/// One lookup-table entry: a set's id and the high half of its hash.
type Indexed = (AttrId, u32);

/// The part of a set's hash the lookup table keeps.
fn kept(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// The lookup table's hash of a set, made from the part it keeps: the
/// table's probe position reads the low bits, its tag the top seven.
fn spread(kept: u32) -> u64 {
    (u64::from(kept) << 32) | u64::from(kept)
}

/// `attrs` packed and hashed as the interner keys it, for
/// [`Interner::intern_packed`] (a session task does this work, off the
/// route engine's task).
pub fn packed_set(attrs: &PathAttributes) -> PackedSet {
    let bytes = packed::pack(attrs);
    PackedSet {
        hash: hash_of(&bytes),
        bytes,
    }
}

/// Index of an interned attribute set.
pub type AttrId = u32;

/// Marker for "no attribute set" in compact storage.
pub const NO_ATTR: AttrId = u32::MAX;

/// Entries in the cache of unpacked sets (a power of two).
const CACHE: usize = 1024;

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
    index: HashTable<Indexed>,
    /// Derived sets, by ids with [`derived::BIT`].
    derived: DerivedSets,
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

    /// Interns `set` (an UPDATE's attributes as [`packed_set`] packed and
    /// hashed them) and takes one reference on it: one probe, and `set`'s
    /// bytes become the stored copy when the set is new.
    pub fn intern_packed(&mut self, set: PackedSet) -> AttrId {
        debug_assert_eq!(set.hash, hash_of(&set.bytes), "a set hashed otherwise");
        self.intern_hashed(set.hash, Cow::Owned(set.bytes.into_vec()))
            .0
    }

    /// Keeps `attrs`, the decoded form of live set `id` (as it was
    /// received), in the cache: [`Interner::get`] and [`Interner::with`]
    /// then read it without unpacking (packing is lossless and canonical,
    /// so it is the same set). Moved in: no reference count is touched.
    pub fn keep_decoded(&self, id: AttrId, attrs: PathAttributes) {
        debug_assert_eq!(
            packed::pack(&attrs)[..],
            *Self::bytes(&self.slots, id),
            "attributes kept for another set"
        );
        if self.refs(id) > 0 {
            self.remember(id, Arc::new(attrs));
        }
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
        let base = match self.derived.key(base) {
            Some(k) => k.base(),
            None => base,
        };
        let unchanged = self.with(base, |whole| {
            whole.local_pref == local_pref && whole.only_to_customer == only_to_customer
        })?;
        if unchanged {
            self.acquire(base);
            return Some(base);
        }
        let (id, new) = self
            .derived
            .find_or_add(Key::new(base, local_pref, only_to_customer));
        if new {
            self.acquire(base);
        } else {
            self.acquire(id);
        }
        Some(id)
    }

    /// Finds or inserts `bytes` and takes one reference on it; `true` when
    /// the set is new.
    fn intern_bytes(&mut self, bytes: &[u8]) -> (AttrId, bool) {
        self.intern_hashed(hash_of(bytes), Cow::Borrowed(bytes))
    }

    /// [`Interner::intern_bytes`] with the hash known; owned bytes are
    /// kept as they are (their exact length) when the set is new.
    fn intern_hashed(&mut self, hash: u64, bytes: Cow<'_, [u8]>) -> (AttrId, bool) {
        let slots = &self.slots;
        let k = kept(hash);
        if let Some(&(id, _)) = self.index.find(spread(k), |&(id, h)| {
            h == k && *Self::bytes(slots, id) == *bytes
        }) {
            // A dead set comes back here.
            self.acquire(id);
            return (id, false);
        }
        let slot = Slot {
            bytes: Some(match bytes {
                Cow::Borrowed(b) => b.into(),
                Cow::Owned(v) => v.into_boxed_slice(),
            }),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                self.counts[id as usize] = 1;
                id
            }
            None => {
                // Unreachable in practice (a billion sets is far beyond
                // memory); a derived set stores its base below this.
                debug_assert!(self.slots.len() < derived::WHOLE_LIMIT as usize);
                self.slots.push(slot);
                self.counts.push(1);
                (self.slots.len() - 1) as AttrId
            }
        };
        self.index
            .insert_unique(spread(k), (id, k), |&(_, h)| spread(h));
        (id, true)
    }

    /// The reference count of `id`, whole or derived, if it has a
    /// place (dead sets have one until reclaimed).
    fn count_mut(&mut self, id: AttrId) -> Option<&mut u32> {
        if id & derived::BIT != 0 {
            return self.derived.count_mut(id);
        }
        self.slots.get(id as usize)?.bytes.as_ref()?;
        self.counts.get_mut(id as usize)
    }

    /// Takes one more reference on `id`.
    pub fn acquire(&mut self, id: AttrId) {
        let Some(n) = self.count_mut(id) else { return };
        *n = n.saturating_add(1);
        if *n == 1 {
            // Back from the dead: a derived set holds its base again.
            self.dead -= 1;
            if let Some(k) = self.derived.key(id) {
                self.acquire(k.base());
            }
        }
    }

    /// Drops one reference on `id`; with its last reference the set is
    /// dead, and freed by the next [`Interner::reclaim`].
    pub fn release(&mut self, id: AttrId) {
        let Some(n) = self.count_mut(id) else { return };
        if *n == 0 {
            return;
        }
        *n -= 1;
        if *n == 0 {
            self.dead += 1;
            self.dying.push(id);
            if let Some(k) = self.derived.key(id) {
                self.release(k.base());
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
            if self.refs(id) == 0 {
                self.free_slot(id);
            }
        }
    }

    /// Frees dead set `id`: out of the index, its slot reusable (its base,
    /// if derived, was released when it died).
    fn free_slot(&mut self, id: AttrId) {
        if self.derived.key(id).is_some() {
            self.derived.remove(id);
            self.dead -= 1;
            self.forget(id);
            return;
        }
        let Some(bytes) = self.slots.get_mut(id as usize).and_then(|s| s.bytes.take()) else {
            return;
        };
        self.dead -= 1;
        let k = kept(hash_of(&bytes[..]));
        if let Ok(entry) = self.index.find_entry(spread(k), |&(x, _)| x == id) {
            entry.remove();
        }
        self.free.push(id);
        self.forget(id);
    }

    /// Drops `id` from the cache of unpacked sets.
    fn forget(&self, id: AttrId) {
        let mut cache = self.cache.borrow_mut();
        if let Some(c) = cache.get_mut(id as usize % CACHE) {
            if c.as_ref().is_some_and(|(cid, _)| *cid == id) {
                *c = None;
            }
        }
    }

    /// The attribute set `id`, if live.
    pub fn get(&self, id: AttrId) -> Option<Arc<PathAttributes>> {
        if self.refs(id) == 0 {
            return None;
        }
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
        let a = Arc::new(match self.derived.key(id) {
            Some(k) => {
                let mut a = (*self.get(k.base())?).clone();
                a.local_pref = k.local_pref();
                a.only_to_customer = k.only_to_customer();
                a
            }
            None => packed::unpack(self.slots.get(id as usize)?.bytes.as_deref()?)?,
        });
        self.remember(id, a.clone());
        Some(a)
    }

    /// `f` of the attribute set `id`, if live, read in place when it is
    /// in the cache (no reference count touched: the hot paths of export
    /// read sets this way). `f` must not use the interner.
    pub fn with<R>(&self, id: AttrId, f: impl FnOnce(&PathAttributes) -> R) -> Option<R> {
        if self.refs(id) == 0 {
            return None;
        }
        if let Some(Some((cid, a))) = self.cache.borrow().get(id as usize % CACHE) {
            if *cid == id {
                return Some(f(a));
            }
        }
        self.get(id).map(|a| f(&a))
    }

    /// What the decision process reads of set `id`, if live: from the
    /// cache when the set is unpacked there, else read from its bytes
    /// without unpacking it (a path's rivals are rarely in the cache, and
    /// unpacking them for a comparison was most of a two-feed table's
    /// best-path time).
    pub fn rank(&self, id: AttrId) -> Option<PathRank> {
        if self.refs(id) == 0 {
            return None;
        }
        if let Some(Some((cid, a))) = self.cache.borrow().get(id as usize % CACHE) {
            if *cid == id {
                return Some(PathRank::of(a));
            }
        }
        match self.derived.key(id) {
            Some(k) => Some(PathRank {
                local_pref: k.local_pref(),
                ..self.rank(k.base())?
            }),
            None => packed::rank(self.slots.get(id as usize)?.bytes.as_deref()?),
        }
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
        self.index.len() + self.derived.len() - self.dead
    }

    /// True when no set is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reference count of `id` (0 when dead or unknown).
    pub fn refs(&self, id: AttrId) -> u32 {
        if id & derived::BIT != 0 {
            return self.derived.count(id);
        }
        match self.slots.get(id as usize).and_then(|s| s.bytes.as_ref()) {
            Some(_) => self.counts.get(id as usize).copied().unwrap_or(0),
            None => 0,
        }
    }
}

#[cfg(test)]
#[path = "interner_tests.rs"]
mod tests;
