//! Adj-RIB-Out: what was last advertised to one neighbor, per prefix, as an
//! interned attribute id, so exports are sent as diffs. Owned by the route
//! engine task; no channels.

use super::interner::AttrId;
use crate::wire::Prefix;
use hashbrown::HashMap;

/// The routes advertised to one neighbor.
#[derive(Debug, Default)]
pub struct AdjRibOut {
    routes: HashMap<Prefix, AttrId>,
}

impl AdjRibOut {
    /// An empty Adj-RIB-Out.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was advertised for `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<AttrId> {
        self.routes.get(prefix).copied()
    }

    /// Records an advertisement; returns the attribute id it replaces.
    pub fn insert(&mut self, prefix: Prefix, attr: AttrId) -> Option<AttrId> {
        self.routes.insert(prefix, attr)
    }

    /// Records a withdrawal; returns the attribute id it removes.
    pub fn remove(&mut self, prefix: &Prefix) -> Option<AttrId> {
        self.routes.remove(prefix)
    }

    /// Every advertised route.
    pub fn iter(&self) -> impl Iterator<Item = (&Prefix, &AttrId)> {
        self.routes.iter()
    }

    /// Number of advertised prefixes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when nothing is advertised.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Forgets everything (session down); returns the ids to release.
    pub fn clear(&mut self) -> Vec<AttrId> {
        self.routes.drain().map(|(_, a)| a).collect()
    }
}
