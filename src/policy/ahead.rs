//! Import verdicts worked out ahead, in a neighbor's session task, so the
//! route engine's one task does not run policy for every received prefix.
//!
//! The engine owns the policy set and its view of each neighbor's config;
//! it hands a session an [`ImportEval`] (both, as of one generation) when
//! the session comes up and again after every reload. The session runs
//! [`ImportEval::evaluate`] on each UPDATE it delivers and sends the
//! verdicts along ([`PreImport`]). The engine uses them only when their
//! generation is still its own; otherwise it evaluates the route itself,
//! as it always did. A verdict ahead is therefore never a different
//! answer, only an earlier one. The session knows no RPKI state, so while
//! a policy matches it (`match.rpki`, with `[rpki]` on) the engine hands
//! out a disabled evaluator and evaluates every route itself; the
//! built-in rules and every other match ignore the RPKI state, and the
//! `rpki-invalid` rejection is the engine's own, before policy.

use super::{PolicySet, Rejection, RouteContext, Verdict};
use crate::config::NeighborConfig;
use crate::wire::{AddPathPrefix, PackedSet, PathAttributes, Update};
use std::sync::Arc;

/// A neighbor's import policy as the engine runs it, for its session task.
#[derive(Debug)]
pub struct ImportEval {
    generation: u64,
    policy: Arc<PolicySet>,
    neighbor: NeighborConfig,
    /// False: no verdicts (the engine evaluates every route).
    enabled: bool,
}

/// One received prefix's import verdict, worked out ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ahead {
    /// Accepted with its attributes unchanged.
    Accept,
    /// Accepted as a plain internet route, attributes unchanged.
    Internet,
    Reject(Rejection),
    /// Policy changed the attributes: the engine evaluates it (the changed
    /// set is not carried across).
    Engine,
}

/// The verdicts for one UPDATE, aligned with its NLRI and its MP_REACH
/// NLRI, and the generation of the [`ImportEval`] that made them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreImport {
    pub generation: u64,
    pub nlri: Vec<Ahead>,
    pub mp_reach: Vec<Ahead>,
    /// The attribute sets of the NLRI and of MP_REACH's NLRI (with its
    /// next hop), packed and hashed for the engine's interner by the
    /// session task; good whatever the generation.
    pub sets: [Option<PackedSet>; 2],
}

impl ImportEval {
    /// The engine's `policy` and its config of the neighbor, as of `generation`.
    pub fn new(generation: u64, policy: Arc<PolicySet>, neighbor: NeighborConfig) -> Self {
        ImportEval {
            generation,
            policy,
            neighbor,
            enabled: true,
        }
    }

    /// Works out verdicts only when `enabled` (see the module's header).
    pub fn enabled(self, enabled: bool) -> Self {
        ImportEval { enabled, ..self }
    }

    /// The generation the verdicts are made under.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The import verdict of every prefix `update` announces, with no RPKI
    /// state; `None` when disabled or there is nothing the engine would
    /// evaluate (no NLRI, or an attribute error: those prefixes are
    /// withdrawn or rejected before policy).
    pub fn evaluate(&self, update: &Update) -> Option<PreImport> {
        let mp = update.mp_reach.as_ref().filter(|m| !m.nlri.is_empty());
        if !self.enabled || update.attr_error.is_some() || (update.nlri.is_empty() && mp.is_none())
        {
            return None;
        }
        let nlri = self.verdicts(&update.attrs, &update.nlri);
        let mp_reach = match mp {
            Some(m) => {
                // The engine evaluates these with MP_REACH's next hop.
                let mut attrs = update.attrs.clone();
                attrs.next_hop = Some(m.next_hop);
                self.verdicts(&attrs, &m.nlri)
            }
            None => Vec::new(),
        };
        Some(PreImport {
            generation: self.generation,
            nlri,
            mp_reach,
            sets: [None, None],
        })
    }

    fn verdicts(&self, attrs: &PathAttributes, nlri: &[AddPathPrefix]) -> Vec<Ahead> {
        // What the built-in rules read from the attributes, once for all.
        let facts = self.policy.builtin().facts(attrs);
        nlri.iter()
            .map(|p| {
                let ctx = RouteContext::new(p.prefix.trunc(), attrs, &self.neighbor, None);
                match self.policy.import_with(&self.neighbor, &ctx, Some(&facts)) {
                    Verdict::Accept(None) => Ahead::Accept,
                    Verdict::Internet(None) => Ahead::Internet,
                    Verdict::Reject(r) => Ahead::Reject(r),
                    Verdict::Accept(Some(_)) | Verdict::Internet(Some(_)) => Ahead::Engine,
                }
            })
            .collect()
    }
}
