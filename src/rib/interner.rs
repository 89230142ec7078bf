//! Interned path attributes: one shared `Arc<PathAttributes>` per distinct
//! set, addressed by a 32-bit [`AttrId`] and reference counted so unused sets
//! are dropped. Owned by the route engine task (inside its RIB); no channels.

use crate::wire::PathAttributes;
use std::collections::HashMap;
use std::sync::Arc;

/// Index of an interned attribute set.
pub type AttrId = u32;

/// Marker for "no attribute set" in compact storage.
pub const NO_ATTR: AttrId = u32::MAX;

#[derive(Debug)]
struct Slot {
    attrs: Arc<PathAttributes>,
    refs: u32,
}

/// The attribute interner: an index table plus a lookup map.
#[derive(Debug, Default)]
pub struct Interner {
    slots: Vec<Option<Slot>>,
    free: Vec<AttrId>,
    index: HashMap<Arc<PathAttributes>, AttrId>,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// Interns `attrs` and takes one reference on it.
    pub fn intern(&mut self, attrs: PathAttributes) -> AttrId {
        if let Some(&id) = self.index.get(&attrs) {
            self.acquire(id);
            return id;
        }
        let arc = Arc::new(attrs);
        let slot = Slot {
            attrs: arc.clone(),
            refs: 1,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(slot);
                id
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as AttrId
            }
        };
        self.index.insert(arc, id);
        id
    }

    /// Takes one more reference on `id`.
    pub fn acquire(&mut self, id: AttrId) {
        if let Some(Some(s)) = self.slots.get_mut(id as usize) {
            s.refs += 1;
        }
    }

    /// Drops one reference on `id`; the set is freed with its last reference.
    pub fn release(&mut self, id: AttrId) {
        let Some(entry) = self.slots.get_mut(id as usize) else {
            return;
        };
        let last = match entry {
            Some(s) => {
                s.refs = s.refs.saturating_sub(1);
                s.refs == 0
            }
            None => false,
        };
        if last {
            if let Some(s) = entry.take() {
                self.index.remove(&s.attrs);
                self.free.push(id);
            }
        }
    }

    /// The attribute set `id`, if live.
    pub fn get(&self, id: AttrId) -> Option<&Arc<PathAttributes>> {
        self.slots
            .get(id as usize)
            .and_then(|s| s.as_ref())
            .map(|s| &s.attrs)
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
            .and_then(|s| s.as_ref())
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
    }

    #[test]
    fn last_release_frees_the_set_and_reuses_its_slot() {
        let mut i = Interner::new();
        let a = i.intern(attrs(1));
        i.release(a);
        assert!(i.get(a).is_none());
        assert!(i.is_empty());
        let b = i.intern(attrs(3));
        assert_eq!(a, b);
        assert_eq!(
            i.get(b)
                .and_then(|x| x.as_path.as_ref())
                .and_then(|p| p.origin_as()),
            Some(3)
        );
    }
}
