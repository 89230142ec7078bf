//! Why each rejected path was rejected, kept for `show routes` (owned by
//! [`super::Rib`]).
//!
//! A full table from a peering-service neighbor can leave a fifth of its
//! routes rejected, nearly all for the same few reasons. The texts are
//! therefore interned (one copy of each distinct [`Rejection`], reference
//! counted). A path rejected for one of the first 255 distinct reasons
//! carries the reason's id in its own entry (`PathEntry::reason`, a byte
//! the entry has room for) and costs nothing here; any other costs one
//! compact map entry: neighbor, prefix length and bare address to a 4-byte
//! reason id.

use super::table::{NeighborIdx, PrefixKey, V4Key, V6Key};
use crate::policy::Rejection;
use crate::wire::Prefix;
use hashbrown::HashMap;

type ReasonId = u32;

/// Interned rejection reasons with reference counts.
#[derive(Debug, Default)]
struct Reasons {
    slots: Vec<(Option<Rejection>, u32)>,
    free: Vec<ReasonId>,
    index: HashMap<Rejection, ReasonId>,
    /// The reason interned last: a table's rejections mostly repeat the
    /// one before (a fifth of a peering-service table lacks the required
    /// community), and comparing with it spares hashing the text.
    last: Option<ReasonId>,
}

impl Reasons {
    fn intern(&mut self, r: Rejection) -> ReasonId {
        if let Some(id) = self.last {
            if let Some((Some(held), n)) = self.slots.get_mut(id as usize) {
                if *held == r {
                    *n += 1;
                    return id;
                }
            }
        }
        if let Some(&id) = self.index.get(&r) {
            self.slots[id as usize].1 += 1;
            self.last = Some(id);
            return id;
        }
        let slot = (Some(r.clone()), 1);
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as ReasonId
            }
        };
        self.index.insert(r, id);
        self.last = Some(id);
        id
    }

    fn release(&mut self, id: ReasonId) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        slot.1 = slot.1.saturating_sub(1);
        if slot.1 == 0 {
            if let Some(r) = slot.0.take() {
                self.index.remove(&r);
                self.free.push(id);
            }
        }
    }

    fn get(&self, id: ReasonId) -> Option<&Rejection> {
        self.slots.get(id as usize)?.0.as_ref()
    }
}

/// The rejection reason of every rejected path.
#[derive(Debug, Default)]
pub struct Rejections {
    v4: HashMap<(NeighborIdx, u8, V4Key), ReasonId>,
    v6: HashMap<(NeighborIdx, u8, V6Key), ReasonId>,
    reasons: Reasons,
}

/// Reason ids below this travel in the path's entry, as `id + 1`.
const INLINE: ReasonId = 255;

impl Rejections {
    /// Records why `neighbor`'s path for `prefix` was rejected; returns the
    /// byte its entry carries (`id + 1`), or 0 when the reason is kept here.
    /// A reason kept here for the same path before is replaced; an inline
    /// one is the caller's to [`Rejections::remove`].
    pub fn insert(&mut self, neighbor: NeighborIdx, prefix: &Prefix, r: Rejection) -> u8 {
        let id = self.reasons.intern(r);
        if id < INLINE {
            // A reason this path had aside goes.
            if !self.v4.is_empty() || !self.v6.is_empty() {
                self.remove(neighbor, prefix, 0);
            }
            return (id + 1) as u8;
        }
        let old = if let Some((len, k)) = V4Key::from_net(prefix) {
            self.v4.insert((neighbor, len, k), id)
        } else if let Some((len, k)) = V6Key::from_net(prefix) {
            self.v6.insert((neighbor, len, k), id)
        } else {
            None
        };
        if let Some(old) = old {
            self.reasons.release(old);
        }
        0
    }

    /// Forgets the reason for `neighbor`'s path for `prefix`, whose entry
    /// carries `inline` ([`Rejections::insert`]'s byte).
    pub fn remove(&mut self, neighbor: NeighborIdx, prefix: &Prefix, inline: u8) {
        if inline > 0 {
            self.reasons.release(ReasonId::from(inline) - 1);
            return;
        }
        let old = if let Some((len, k)) = V4Key::from_net(prefix) {
            self.v4.remove(&(neighbor, len, k))
        } else if let Some((len, k)) = V6Key::from_net(prefix) {
            self.v6.remove(&(neighbor, len, k))
        } else {
            None
        };
        if let Some(old) = old {
            self.reasons.release(old);
        }
    }

    /// Why `neighbor`'s path for `prefix`, whose entry carries `inline`,
    /// was rejected.
    pub fn get(&self, neighbor: NeighborIdx, prefix: &Prefix, inline: u8) -> Option<&Rejection> {
        if inline > 0 {
            return self.reasons.get(ReasonId::from(inline) - 1);
        }
        let id = if let Some((len, k)) = V4Key::from_net(prefix) {
            self.v4.get(&(neighbor, len, k))
        } else {
            let (len, k) = V6Key::from_net(prefix)?;
            self.v6.get(&(neighbor, len, k))
        };
        self.reasons.get(*id?)
    }

    /// Number of distinct reason texts held (the tests' view of sharing).
    #[cfg(test)]
    pub fn distinct_reasons(&self) -> usize {
        self.reasons.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rej(rule: &'static str, reason: &str) -> Rejection {
        Rejection {
            rule: rule.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn shares_one_copy_of_each_reason_and_frees_it_with_its_last_path() {
        let mut t = Rejections::default();
        let p = |s: &str| -> Prefix { s.parse().unwrap_or_default() };
        let missing = rej("missing-community", "missing community 8075:8007");
        let mut bytes = Vec::new();
        for i in 0..100u32 {
            bytes.push(t.insert(1, &p(&format!("45.0.{i}.0/24")), missing.clone()));
        }
        // The first distinct reasons travel in the entries: nothing aside.
        assert!(bytes.iter().all(|&b| b == bytes[0] && b > 0));
        let bogon = rej("bogon", "bogon prefix");
        let b2 = t.insert(2, &p("45.0.0.0/24"), bogon.clone());
        let b3 = t.insert(1, &p("2001:db8::/32"), bogon.clone());
        assert_eq!(t.distinct_reasons(), 2);
        assert_eq!((t.v4.len(), t.v6.len()), (0, 0));
        assert_eq!(t.get(1, &p("45.0.7.0/24"), bytes[7]), Some(&missing));
        assert_eq!(
            t.get(2, &p("45.0.0.0/24"), b2).map(|r| r.rule.as_str()),
            Some("bogon")
        );
        assert_eq!(t.get(3, &p("45.0.0.0/24"), 0), None);
        // Replacing a reason releases the old one (the caller's part for an
        // inline one).
        let b2 = {
            let new = t.insert(2, &p("45.0.0.0/24"), missing.clone());
            t.remove(2, &p("45.0.0.0/24"), b2);
            new
        };
        t.remove(1, &p("2001:db8::/32"), b3);
        assert_eq!(t.distinct_reasons(), 1);
        for (i, b) in bytes.iter().enumerate() {
            t.remove(1, &p(&format!("45.0.{i}.0/24")), *b);
        }
        t.remove(2, &p("45.0.0.0/24"), b2);
        assert_eq!((t.distinct_reasons(), t.v4.len()), (0, 0));
    }

    #[test]
    fn the_last_reason_freed_and_its_place_reused_is_not_mistaken_for_it() {
        let mut t = Rejections::default();
        let p = |s: &str| -> Prefix { s.parse().unwrap_or_default() };
        let a = rej("missing-community", "missing community 8075:8007");
        let b = rej("bogon", "bogon prefix 10.0.0.0/8");
        let ba = t.insert(1, &p("45.0.0.0/24"), a.clone());
        t.remove(1, &p("45.0.0.0/24"), ba);
        assert_eq!(t.distinct_reasons(), 0);
        // B takes A's freed place; A comes back in another.
        let bb = t.insert(1, &p("10.0.0.0/8"), b.clone());
        let ba = t.insert(1, &p("45.0.0.0/24"), a.clone());
        assert_ne!(ba, bb);
        assert_eq!(t.insert(1, &p("45.0.1.0/24"), a.clone()), ba);
        assert_eq!(t.get(1, &p("10.0.0.0/8"), bb), Some(&b));
        assert_eq!(t.get(1, &p("45.0.0.0/24"), ba), Some(&a));
        assert_eq!(t.distinct_reasons(), 2);
    }

    #[test]
    fn reasons_past_the_first_255_are_kept_aside_and_freed_the_same() {
        let mut t = Rejections::default();
        let p = |i: u32| -> Prefix { format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap() };
        let bytes: Vec<u8> = (0..300u32)
            .map(|i| t.insert(7, &p(i), rej("origin-mismatch", &format!("origin AS{i}"))))
            .collect();
        assert!(bytes[..255].iter().all(|&b| b > 0));
        assert!(bytes[255..].iter().all(|&b| b == 0));
        assert_eq!(t.v4.len(), 45);
        assert_eq!(
            t.get(7, &p(299), 0).map(|r| r.reason.as_str()),
            Some("origin AS299")
        );
        assert_eq!(
            t.get(7, &p(3), bytes[3]).map(|r| r.reason.as_str()),
            Some("origin AS3")
        );
        // A path whose reason was aside and now fits inline leaves nothing
        // aside.
        let shared = t.insert(7, &p(299), rej("origin-mismatch", "origin AS3"));
        assert_eq!(shared, bytes[3]);
        assert_eq!(t.v4.len(), 44);
        for (i, b) in bytes.iter().enumerate().take(299) {
            t.remove(7, &p(i as u32), *b);
        }
        t.remove(7, &p(299), shared);
        assert_eq!((t.distinct_reasons(), t.v4.len()), (0, 0));
    }
}
