//! The whole RIB ([`Rib`]): both families' path tables ([`super::table`]),
//! the attribute interner they share and two side tables (the rejection
//! reasons, and the post-policy attribute sets of the few paths import
//! policy changed), kept consistent (a path's attribute references are taken and
//! released with it). Owned by the route engine task; no channels.

use super::interner::{AttrId, Interner};
use super::table::{NeighborIdx, PathEntry, PathFlags, Table, V4Key, V6Key};
use crate::policy::{Rejection, Rule};
use crate::wire::Prefix;

/// How many prefixes ahead of the one they work on the import, the
/// decision and the export ask for its RIB memory ([`Rib::prefetch`]).
pub const PREFETCH_AHEAD: usize = 4;

/// The whole RIB: both families, the interner and the rejection reasons.
#[derive(Debug, Default)]
pub struct Rib {
    pub v4: Table<V4Key>,
    pub v6: Table<V6Key>,
    pub attrs: Interner,
    rejections: super::rejections::Rejections,
    /// Post-policy sets of the paths flagged [`PathFlags::POST`].
    pub posts: Posts,
}

/// The post-policy attribute sets of the paths import policy changed
/// (flag [`PathFlags::POST`]), by (neighbor, prefix).
#[derive(Debug, Default)]
pub struct Posts(hashbrown::HashMap<(NeighborIdx, Prefix), AttrId>);

impl Posts {
    /// The attributes to use for decisions and export of path `e` of
    /// `prefix`: post-policy when import policy changed them.
    pub fn effective(&self, prefix: &Prefix, e: &PathEntry) -> AttrId {
        if e.flags.contains(PathFlags::POST) {
            if let Some(&id) = self.0.get(&key(e.neighbor, prefix)) {
                return id;
            }
        }
        e.attr
    }
}

/// The side tables' key: the prefix without host bits, as the path tables
/// keep it (a withdrawal may name it with some).
fn key(neighbor: NeighborIdx, prefix: &Prefix) -> (NeighborIdx, Prefix) {
    (neighbor, prefix.trunc())
}

impl Rib {
    /// An empty RIB.
    pub fn new() -> Self {
        Self::default()
    }

    /// The paths of `prefix`.
    pub fn paths(&self, prefix: &Prefix) -> &[PathEntry] {
        match prefix {
            Prefix::V4(_) => self.v4.get(prefix),
            Prefix::V6(_) => self.v6.get(prefix),
        }
    }

    /// Asks the CPU for the memory that looking `prefix` up will read: the
    /// import, the decision and the export call it [`PREFETCH_AHEAD`]
    /// prefixes ahead of the one they work on (see `rib::map`).
    pub fn prefetch(&self, prefix: &Prefix) {
        match prefix {
            Prefix::V4(_) => self.v4.prefetch(prefix),
            Prefix::V6(_) => self.v6.prefetch(prefix),
        }
    }

    /// Mutable paths of `prefix`.
    pub fn paths_mut(&mut self, prefix: &Prefix) -> Option<&mut [PathEntry]> {
        match prefix {
            Prefix::V4(_) => self.v4.get_mut(prefix),
            Prefix::V6(_) => self.v6.get_mut(prefix),
        }
    }

    /// The path of `neighbor` for `prefix`.
    pub fn path(&self, prefix: &Prefix, neighbor: NeighborIdx) -> Option<PathEntry> {
        self.paths(prefix)
            .iter()
            .find(|p| p.neighbor == neighbor)
            .copied()
    }

    /// The attributes to use for decisions and export of path `e` of
    /// `prefix`: post-policy when import policy changed them.
    pub fn effective(&self, prefix: &Prefix, e: &PathEntry) -> AttrId {
        self.posts.effective(prefix, e)
    }

    /// Stores a path with its post-policy set `post` when import policy
    /// changed the attributes (the caller has already taken references on
    /// both ids); releases the replaced path's references and returns it.
    pub fn store(
        &mut self,
        prefix: &Prefix,
        mut e: PathEntry,
        post: Option<AttrId>,
        rejection: Option<Rejection>,
    ) -> Option<PathEntry> {
        e.flags.set(PathFlags::POST, post.is_some());
        let rejected = rejection.is_some();
        e.reason = match rejection {
            Some(r) => self.rejections.insert(e.neighbor, prefix, r),
            None => 0,
        };
        let old = match prefix {
            Prefix::V4(_) => self.v4.upsert(prefix, e),
            Prefix::V6(_) => self.v6.upsert(prefix, e),
        };
        let old_post = match post {
            Some(p) => self.posts.0.insert(key(e.neighbor, prefix), p),
            None if old.is_some_and(|o| o.flags.contains(PathFlags::POST)) => {
                self.posts.0.remove(&key(e.neighbor, prefix))
            }
            None => None,
        };
        // The replaced path's reason: an inline one is released here; one
        // kept aside was replaced by the insert above, else goes now.
        if let Some(o) = old.filter(|o| !o.flags.contains(PathFlags::ACCEPTED)) {
            if o.reason > 0 || !rejected {
                self.rejections.remove(e.neighbor, prefix, o.reason);
            }
        }
        if let Some(o) = old {
            self.attrs.release(o.attr);
        }
        if let Some(p) = old_post {
            self.attrs.release(p);
        }
        old
    }

    /// Removes the path of `neighbor` for `prefix` and releases it; returns
    /// it with the rule that rejected it, if one did (one table probe).
    pub fn remove(
        &mut self,
        prefix: &Prefix,
        neighbor: NeighborIdx,
    ) -> Option<(PathEntry, Option<Rule>)> {
        let o = match prefix {
            Prefix::V4(_) => self.v4.remove(prefix, neighbor),
            Prefix::V6(_) => self.v6.remove(prefix, neighbor),
        }?;
        let mut rule = None;
        if !o.flags.contains(PathFlags::ACCEPTED) {
            rule = self
                .rejections
                .get(neighbor, prefix, o.reason)
                .map(|r| r.rule.clone());
            self.rejections.remove(neighbor, prefix, o.reason);
        }
        self.release_entry(prefix, &o);
        Some((o, rule))
    }

    /// Removes every path of `neighbor` matching `pred`; returns (prefix, entry).
    pub fn remove_where(
        &mut self,
        neighbor: NeighborIdx,
        mut pred: impl FnMut(&Prefix, &PathEntry) -> bool,
    ) -> Vec<(Prefix, PathEntry)> {
        let mut out = self.v4.remove_where(neighbor, &mut pred);
        out.extend(self.v6.remove_where(neighbor, &mut pred));
        for (p, e) in &out {
            if !e.flags.contains(PathFlags::ACCEPTED) {
                self.rejections.remove(neighbor, p, e.reason);
            }
            self.release_entry(p, e);
        }
        out
    }

    /// Every prefix with its paths, IPv4 then IPv6.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &[PathEntry])> + '_ {
        self.v4.iter().chain(self.v6.iter())
    }

    /// Every path of `neighbor` as (prefix, entry).
    pub fn neighbor_paths(&self, neighbor: NeighborIdx) -> Vec<(Prefix, PathEntry)> {
        let mut out = Vec::new();
        for (p, ps) in self.iter() {
            if let Some(e) = ps.iter().find(|e| e.neighbor == neighbor) {
                out.push((p, *e));
            }
        }
        out
    }

    /// Every prefix in the RIB.
    pub fn prefixes(&self) -> Vec<Prefix> {
        self.iter().map(|(p, _)| p).collect()
    }

    /// Why path `e` of `prefix` was rejected (`None` when it was accepted):
    /// its entry names the reason, no table probe.
    pub fn rejection(&self, prefix: &Prefix, e: &PathEntry) -> Option<&Rejection> {
        if e.flags.contains(PathFlags::ACCEPTED) {
            return None;
        }
        self.rejections.get(e.neighbor, prefix, e.reason)
    }

    /// Total number of paths.
    pub fn path_count(&self) -> usize {
        self.iter().map(|(_, p)| p.len()).sum()
    }

    /// Releases a removed path's references (and forgets its post-policy set).
    fn release_entry(&mut self, prefix: &Prefix, e: &PathEntry) {
        self.attrs.release(e.attr);
        if e.flags.contains(PathFlags::POST) {
            if let Some(p) = self.posts.0.remove(&key(e.neighbor, prefix)) {
                self.attrs.release(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AsPath, PathAttributes};

    fn set(asn: u32) -> PathAttributes {
        PathAttributes {
            as_path: Some(AsPath::from_sequence(vec![asn])),
            ..Default::default()
        }
    }

    #[test]
    fn a_post_policy_set_is_kept_aside_replaced_and_released_with_its_path() {
        let mut rib = Rib::new();
        let p: Prefix = "192.0.2.0/24".parse().unwrap();
        let pre = rib.attrs.intern(set(1));
        let post = rib.attrs.intern(set(2));
        let e = PathEntry {
            attr: pre,
            neighbor: 3,
            flags: PathFlags::ACCEPTED,
            reason: 0,
        };
        rib.store(&p, e, Some(post), None);
        let stored = rib.path(&p, 3).unwrap();
        assert!(stored.flags.contains(PathFlags::POST));
        assert_eq!(rib.effective(&p, &stored), post);
        // Replaced by a path policy left alone: the post set is released.
        let pre2 = rib.attrs.intern(set(1));
        rib.store(&p, e, None, None);
        let stored = rib.path(&p, 3).unwrap();
        assert!(!stored.flags.contains(PathFlags::POST));
        assert_eq!(rib.effective(&p, &stored), pre);
        assert_eq!(rib.attrs.refs(post), 0);
        assert_eq!(rib.attrs.refs(pre2), 1);
        // Changed again, then removed: nothing is left.
        let post = rib.attrs.intern(set(2));
        rib.attrs.acquire(pre);
        rib.store(&p, e, Some(post), None);
        // A withdrawal may carry host bits: it still finds the side entry.
        let with_host_bits: Prefix = "192.0.2.1/24".parse().unwrap();
        assert!(rib.remove(&with_host_bits, 3).is_some());
        assert!(rib.attrs.is_empty());
        assert!(rib.posts.0.is_empty());
    }
}
