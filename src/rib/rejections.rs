//! Why each rejected path was rejected, kept for `show routes` (owned by
//! [`super::Rib`]).
//!
//! A full table from a peering-service neighbor can leave a fifth of its
//! routes rejected, nearly all for the same few reasons. The texts are
//! therefore interned (one copy of each distinct [`Rejection`], reference
//! counted), and a rejected path costs one compact map entry: neighbor,
//! prefix length and bare address to a 4-byte reason id.

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
}

impl Reasons {
    fn intern(&mut self, r: Rejection) -> ReasonId {
        if let Some(&id) = self.index.get(&r) {
            self.slots[id as usize].1 += 1;
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

impl Rejections {
    /// Records why `neighbor`'s path for `prefix` was rejected.
    pub fn insert(&mut self, neighbor: NeighborIdx, prefix: &Prefix, r: Rejection) {
        let id = self.reasons.intern(r);
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
    }

    /// Forgets the reason for `neighbor`'s path for `prefix`.
    pub fn remove(&mut self, neighbor: NeighborIdx, prefix: &Prefix) {
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

    /// Why `neighbor`'s path for `prefix` was rejected.
    pub fn get(&self, neighbor: NeighborIdx, prefix: &Prefix) -> Option<&Rejection> {
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
        for i in 0..100u32 {
            t.insert(1, &p(&format!("45.0.{i}.0/24")), missing.clone());
        }
        t.insert(2, &p("45.0.0.0/24"), rej("bogon", "bogon prefix"));
        t.insert(1, &p("2001:db8::/32"), rej("bogon", "bogon prefix"));
        assert_eq!(t.distinct_reasons(), 2);
        assert_eq!(t.get(1, &p("45.0.7.0/24")), Some(&missing));
        assert_eq!(
            t.get(2, &p("45.0.0.0/24")).map(|r| r.rule.as_ref()),
            Some("bogon")
        );
        assert_eq!(t.get(3, &p("45.0.0.0/24")), None);
        // Replacing a reason releases the old one.
        t.insert(2, &p("45.0.0.0/24"), missing.clone());
        t.remove(1, &p("2001:db8::/32"));
        assert_eq!(t.distinct_reasons(), 1);
        for i in 0..100u32 {
            t.remove(1, &p(&format!("45.0.{i}.0/24")));
        }
        t.remove(2, &p("45.0.0.0/24"));
        assert_eq!((t.distinct_reasons(), t.v4.len()), (0, 0));
    }
}
