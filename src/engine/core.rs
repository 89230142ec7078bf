//! The route engine's state: [`EngineCore`] owns the RIB, the update
//! groups, the neighbors, the decisions and the event log, and offers the
//! small accessors every step uses. The steps live beside it, each in its
//! own module (`dispatch` is the entry point: inputs in, outputs out);
//! this module depends on none of them.

use super::decision::Decision;
use super::groups::Groups;
use super::neighbor::Neighbor;
use crate::analytics::{EventKind, EventLog};
use crate::bmp::feed::BmpState;
use crate::config::Config;
use crate::messages::views::EventView;
use crate::messages::NeighborName;
use crate::messages::PublishedEvent;
use crate::policy::PolicySet;
use crate::rib::{NeighborIdx, Rib};
use crate::running::Originate;
use crate::wire::Prefix;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The route engine's state machine.
#[derive(Debug)]
pub struct EngineCore {
    pub(crate) cfg: Arc<Config>,
    pub(crate) policy: Arc<PolicySet>,
    /// Bumped whenever `policy` or a neighbor's config may have changed:
    /// import verdicts a session worked out under another generation are
    /// not used ([`crate::policy::ahead`]).
    pub(crate) import_gen: u64,
    /// Whether sessions work out import verdicts at all: not when a policy
    /// matches the RPKI state, which only the engine knows (set with
    /// `import_gen`).
    pub(crate) import_ahead: bool,
    pub(crate) rib: Rib,
    /// Update groups: the Adj-RIBs-Out, shared by internal neighbors
    /// whose exports cannot differ.
    pub(crate) groups: Groups,
    pub(crate) neighbors: Vec<Option<Neighbor>>,
    pub(crate) by_name: HashMap<NeighborName, NeighborIdx>,
    /// Activated registered prefixes and their current decision.
    pub(crate) decisions: BTreeMap<Prefix, Decision>,
    /// Registered prefixes (activated or not): prefix → (peer ASN).
    pub(crate) registered: hashbrown::HashMap<Prefix, u32>,
    /// Prefix lengths present in `registered`, per family (v4, v6).
    pub(crate) registered_lens: (Vec<u8>, Vec<u8>),
    pub(crate) originate: hashbrown::HashMap<Prefix, Originate>,
    pub(crate) events: EventLog,
    /// The current RPKI VRP snapshot (`None`: none yet, or RPKI off).
    pub(crate) rpki: crate::rpki::Snapshot,
    pub(crate) anchor: (Instant, SystemTime),
    /// When the compliance audit last published its gauges.
    pub(crate) last_audit: Option<Instant>,
    /// The BMP feed (`None`: no `[[bmp]]`, and every hook is free).
    pub(crate) bmp: Option<Box<BmpState>>,
    /// The emptied dirty set of the last pass of UPDATEs, reused by the next.
    pub(crate) spare_dirty: super::pass::Dirty,
}

/// How often the engine runs the compliance audit for its gauges
/// (`coldpotato_audit_checks`); a full `show audit` publishes them too.
pub const AUDIT_EVERY: Duration = Duration::from_secs(300);

/// Why a configuration cannot be used by the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("policy does not compile: {0}")]
    Policy(String),
    #[error("more than {max} neighbors", max = u16::MAX)]
    TooManyNeighbors,
}

impl EngineCore {
    /// An engine with no configuration applied yet (see
    /// `EngineCore::with_events`, which applies one).
    pub(crate) fn blank(cfg: Arc<Config>, policy: Arc<PolicySet>, events: EventLog) -> Self {
        EngineCore {
            cfg,
            policy,
            import_gen: 0,
            import_ahead: false,
            rib: Rib::new(),
            groups: Default::default(),
            neighbors: Vec::new(),
            by_name: HashMap::new(),
            decisions: BTreeMap::new(),
            registered: Default::default(),
            registered_lens: (Vec::new(), Vec::new()),
            originate: Default::default(),
            events,
            rpki: None,
            anchor: (Instant::now(), SystemTime::now()),
            last_audit: None,
            bmp: None,
            spare_dirty: Default::default(),
        }
    }

    /// Starts collecting published events for [`EngineCore::take_published`]
    /// (the engine task does; tests driving the core need not).
    pub fn enable_event_publishing(&mut self) {
        self.events.enable_publishing();
    }

    /// The events logged (and per-route events revised) since the last
    /// call: what the task writes to the event file and the live streams.
    pub fn take_published(&mut self) -> Vec<PublishedEvent> {
        self.events.take_published()
    }

    /// Closes the open per-route event windows (shutdown), so that their
    /// final counts are published.
    pub fn close_event_windows(&mut self) {
        self.events.close_all();
    }

    /// The kept events after `since`, and the newest sequence number.
    pub fn events_since(&self, since: u64) -> (Vec<EventView>, u64) {
        (self.events.since(since), self.events.last_seq())
    }

    /// The running configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.cfg
    }

    /// Number of paths in every Adj-RIB-In.
    pub fn path_count(&self) -> u64 {
        self.neighbors.iter().flatten().map(|n| n.received).sum()
    }

    /// Number of distinct interned attribute sets.
    pub fn attribute_sets(&self) -> usize {
        self.rib.attrs.len()
    }

    pub(crate) fn nb(&self, idx: NeighborIdx) -> Option<&Neighbor> {
        self.neighbors.get(idx as usize).and_then(|n| n.as_ref())
    }

    pub(crate) fn nb_mut(&mut self, idx: NeighborIdx) -> Option<&mut Neighbor> {
        self.neighbors
            .get_mut(idx as usize)
            .and_then(|n| n.as_mut())
    }

    pub(crate) fn neighbor_mut(&mut self, name: &str) -> Option<&mut Neighbor> {
        let idx = *self.by_name.get(name)?;
        self.nb_mut(idx)
    }

    /// Unix time in milliseconds at `now`.
    pub(crate) fn wall_ms(&self, now: Instant) -> u64 {
        let wall = match now.checked_duration_since(self.anchor.0) {
            Some(d) => self.anchor.1.checked_add(d),
            None => self.anchor.1.checked_sub(self.anchor.0.duration_since(now)),
        };
        wall.and_then(|w| w.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// Logs an event.
    pub(crate) fn event(
        &mut self,
        now: Instant,
        kind: EventKind,
        neighbor: Option<&str>,
        prefix: Option<&Prefix>,
        message: String,
        evidence: serde_json::Value,
    ) {
        let t = self.wall_ms(now);
        let prefix = prefix.map(|p| p.to_string());
        match neighbor {
            // A table can raise these by the thousand: one event a
            // neighbor, kind and minute, counting the rest.
            Some(n) if kind.per_route() => {
                self.events
                    .push_route(t, kind, n, prefix, message, evidence);
            }
            _ => {
                self.events
                    .push(t, kind, neighbor, prefix, message, evidence);
            }
        }
    }
}
