//! The whole RIB ([`Rib`]): both families' path tables ([`super::table`]),
//! the attribute interner they share and the rejection reasons' side
//! table, kept consistent (a path's attribute references are taken and
//! released with it). Owned by the route engine task; no channels.

use super::interner::{Interner, NO_ATTR};
use super::table::{NeighborIdx, PathEntry, PathFlags, Table, V4Key, V6Key};
use crate::policy::Rejection;
use crate::wire::Prefix;

/// The whole RIB: both families, the interner and the rejection reasons.
#[derive(Debug, Default)]
pub struct Rib {
    pub v4: Table<V4Key>,
    pub v6: Table<V6Key>,
    pub attrs: Interner,
    rejections: super::rejections::Rejections,
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

    /// Stores a path (the caller has already taken references on its
    /// attribute ids); releases the replaced path's references and returns it.
    pub fn store(
        &mut self,
        prefix: &Prefix,
        e: PathEntry,
        rejection: Option<Rejection>,
    ) -> Option<PathEntry> {
        let old = match prefix {
            Prefix::V4(_) => self.v4.upsert(prefix, e),
            Prefix::V6(_) => self.v6.upsert(prefix, e),
        };
        match rejection {
            Some(r) => {
                self.rejections.insert(e.neighbor, prefix, r);
            }
            None => {
                if old.is_some_and(|o| !o.flags.contains(PathFlags::ACCEPTED)) {
                    self.rejections.remove(e.neighbor, prefix);
                }
            }
        }
        if let Some(o) = old {
            self.release_entry(&o);
        }
        old
    }

    /// Removes the path of `neighbor` for `prefix` and releases it.
    pub fn remove(&mut self, prefix: &Prefix, neighbor: NeighborIdx) -> Option<PathEntry> {
        let old = match prefix {
            Prefix::V4(_) => self.v4.remove(prefix, neighbor),
            Prefix::V6(_) => self.v6.remove(prefix, neighbor),
        };
        if let Some(o) = old {
            if !o.flags.contains(PathFlags::ACCEPTED) {
                self.rejections.remove(neighbor, prefix);
            }
            self.release_entry(&o);
        }
        old
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
                self.rejections.remove(neighbor, p);
            }
            self.release_entry(e);
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

    /// Why the path of `neighbor` for `prefix` was rejected.
    pub fn rejection(&self, prefix: &Prefix, neighbor: NeighborIdx) -> Option<&Rejection> {
        self.rejections.get(neighbor, prefix)
    }

    /// Total number of paths.
    pub fn path_count(&self) -> usize {
        self.iter().map(|(_, p)| p.len()).sum()
    }

    fn release_entry(&mut self, e: &PathEntry) {
        self.attrs.release(e.attr);
        if e.post != NO_ATTR {
            self.attrs.release(e.post);
        }
    }
}
