//! Applying a configuration to the running engine (start-up and SIGHUP):
//! neighbors added and removed, registered and originated prefixes,
//! decisions, and every Adj-RIB-In route re-evaluated without a session
//! reset. Runs inside the route engine task.

use super::core::{EngineCore, EngineError};
use super::decision::Decision;
use super::neighbor::Neighbor;
use super::pass::Pass;
use crate::messages::{BfdStatus, NeighborName};
use crate::rib::NeighborIdx;
use crate::running::Running;
use crate::wire::Prefix;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

impl EngineCore {
    /// Makes `running` the running configuration (its policies compiled
    /// by the loader: a reload whose policy does not compile never gets
    /// here).
    pub(crate) fn apply_config(
        &mut self,
        running: Running,
        now: Instant,
        pass: &mut Pass,
    ) -> Result<(), EngineError> {
        let cfg = running.config.clone();
        let wanted: HashSet<&str> = cfg.neighbors.iter().map(|n| n.name.as_str()).collect();
        let gone: Vec<NeighborIdx> = self
            .neighbors
            .iter()
            .flatten()
            .filter(|n| !wanted.contains(&*n.name))
            .map(|n| n.idx)
            .collect();
        let free_slots = self.neighbors.iter().filter(|n| n.is_none()).count() + gone.len();
        let new_count = cfg
            .neighbors
            .iter()
            .filter(|n| !self.by_name.contains_key(n.name.as_str()))
            .count();
        if self.neighbors.len() + new_count.saturating_sub(free_slots) > u16::MAX as usize {
            return Err(EngineError::TooManyNeighbors);
        }
        for idx in gone {
            self.remove_paths(idx, |_, _| true, pass);
            self.leave_group(idx);
            if let Some(nb) = self.neighbors.get_mut(idx as usize).and_then(Option::take) {
                self.by_name.remove(&nb.name);
                tracing::info!(neighbor = %nb.name, "neighbor removed by reload; its routes dropped");
            }
        }
        for ncfg in &cfg.neighbors {
            match self.by_name.get(ncfg.name.as_str()).copied() {
                Some(idx) => {
                    if let Some(nb) = self.nb_mut(idx) {
                        match (nb.cfg.bfd.is_some(), ncfg.bfd.is_some()) {
                            (false, true) => nb.bfd = BfdStatus::Down,
                            (true, false) => {
                                nb.bfd = BfdStatus::Disabled;
                                nb.bfd_rx = None;
                            }
                            _ => {}
                        }
                        if nb.cfg.location != ncfg.location {
                            // Its prefix counts move to the new label now.
                            crate::metrics::forget_neighbor_at(&nb.name, &nb.cfg.location);
                            pass.touched.insert(idx);
                        }
                        nb.cfg = ncfg.clone();
                        nb.ebgp = ncfg.remote_as != cfg.router.asn;
                        nb.location = cfg.location_id(&ncfg.location);
                    }
                }
                None => {
                    let idx = match self.neighbors.iter().position(Option::is_none) {
                        Some(i) => i,
                        None => {
                            self.neighbors.push(None);
                            self.neighbors.len() - 1
                        }
                    } as NeighborIdx;
                    let mut nb = Neighbor::new(idx, ncfg.clone(), cfg.router.asn);
                    nb.location = cfg.location_id(&ncfg.location);
                    self.by_name
                        .insert(NeighborName::from(ncfg.name.as_str()), idx);
                    self.neighbors[idx as usize] = Some(nb);
                }
            }
        }
        self.registered = cfg
            .registered_prefixes
            .iter()
            .map(|r| (r.prefix.trunc(), r.peer_asn))
            .collect();
        let mut v4: Vec<u8> = Vec::new();
        let mut v6: Vec<u8> = Vec::new();
        for p in self.registered.keys() {
            let lens = if matches!(p, Prefix::V4(_)) {
                &mut v4
            } else {
                &mut v6
            };
            if !lens.contains(&p.prefix_len()) {
                lens.push(p.prefix_len());
            }
        }
        v4.sort_unstable();
        v6.sort_unstable();
        self.registered_lens = (v4, v6);
        self.originate = running
            .originate
            .iter()
            .map(|o| (o.prefix, o.clone()))
            .collect();
        let mut decisions = BTreeMap::new();
        let mut old = std::mem::take(&mut self.decisions);
        let t = self.wall_ms(now);
        for r in &cfg.registered_prefixes {
            // Validation checked the names: an unknown one is no location.
            let Some(primary) = r.primary.as_deref().and_then(|l| cfg.location_id(l)) else {
                continue;
            };
            let p = r.prefix.trunc();
            let backup = r.backup.as_deref().and_then(|l| cfg.location_id(l));
            let d = match old.remove(&p) {
                Some(d)
                    if d.primary == primary && d.backup == backup && d.peer_asn == r.peer_asn =>
                {
                    d
                }
                _ => Decision::new(p, r.peer_asn, primary, backup, t),
            };
            decisions.insert(p, d);
        }
        for p in old.keys() {
            pass.dirty.insert(*p);
            Self::forget_prefix_metrics(p);
        }
        self.decisions = decisions;
        self.cfg = cfg;
        self.policy = running.policy.clone();
        // Sessions evaluate with the new policy and config from here on;
        // what they evaluated before is not used.
        self.import_gen += 1;
        self.import_ahead = !self.rpki_in_policies();
        for nb in self.neighbors.iter().flatten() {
            if nb.session.is_some() {
                self.send_import_eval(nb.idx, pass);
            }
        }
        self.reevaluate_all(now, pass);
        pass.full = true;
        pass.all_decisions = true;
        Ok(())
    }
}
