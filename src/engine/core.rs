//! The Sans-IO route engine: [`EngineCore`] owns the RIB, the neighbors, the
//! decisions and the event log. Inputs are `messages::Input` (no channels);
//! outputs are `(neighbor, ToPeer)` pairs the tokio task (`super::task`)
//! delivers. Time is passed in (`now`), so whole scenarios replay in tests.

use super::decide::Decision;
use super::neighbor::{rtt_rank, Measured, Neighbor};
use crate::analytics::{EventKind, EventLog};
use crate::config::{Config, Role};
use crate::messages::views::EventView;
use crate::messages::{
    BfdStatus, Input, NeighborName, PublishedEvent, Query, QueryReply, SessionInfo, ToPeer,
};
use crate::metrics::METRICS;
use crate::policy::PolicySet;
use crate::rib::{NeighborIdx, PathFlags, Rib};
use crate::running::{Originate, Running};
use crate::wire::{Afi, Prefix, Safi, Update};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One output: a message for the session task of a neighbor.
pub type Output = (NeighborName, ToPeer);

/// What one call changed, settled at its end.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    /// Prefixes whose paths changed.
    pub dirty: hashbrown::HashSet<Prefix>,
    /// Re-export everything to every established neighbor.
    pub full: bool,
    /// Sessions that came up and get the initial dump plus End-of-RIB.
    pub dumps: Vec<NeighborIdx>,
    /// Neighbors whose counters changed (metrics).
    pub touched: hashbrown::HashSet<NeighborIdx>,
    /// Every decision must be recomputed (sessions, BFD, reload).
    pub all_decisions: bool,
    pub outputs: Vec<Output>,
}

/// The route engine's state machine.
#[derive(Debug)]
pub struct EngineCore {
    pub(crate) cfg: Arc<Config>,
    pub(crate) policy: Arc<PolicySet>,
    pub(crate) rib: Rib,
    /// Update groups: the Adj-RIBs-Out, shared by internal neighbors
    /// whose exports cannot differ.
    pub(crate) groups: super::groups::Groups,
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
    anchor: (Instant, SystemTime),
    /// When the compliance audit last published its gauges.
    last_audit: Option<Instant>,
    /// The BMP feed (`None`: no `[[bmp]]`, and every hook is free).
    pub(crate) bmp: Option<Box<super::bmp::BmpState>>,
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
    /// An engine for the running configuration `running`.
    pub fn new(running: Running) -> Self {
        Self::with_events(running, Vec::new())
    }

    /// An engine whose event log starts with `restored` (the event file of
    /// an earlier run): `show events` keeps them, sequence numbers go on
    /// after them.
    pub fn with_events(running: Running, restored: Vec<EventView>) -> Self {
        let mut events = EventLog::default();
        events.restore(restored);
        let mut core = EngineCore {
            cfg: running.config.clone(),
            policy: running.policy.clone(),
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
        };
        let mut pass = Pass::default();
        if let Err(e) = core.apply_config(running, Instant::now(), &mut pass) {
            tracing::error!(error = %e, "configuration not applied");
        }
        core
    }

    /// Processes one input and returns the messages for session tasks.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Output> {
        let mut pass = Pass::default();
        match input {
            Input::SessionUp { neighbor, info } => self.session_up(&neighbor, info, now, &mut pass),
            Input::SessionDown {
                neighbor,
                reason,
                graceful_restart,
            } => self.session_down(&neighbor, reason, graceful_restart, now, &mut pass),
            Input::PeerState {
                neighbor,
                state,
                last_error,
            } => {
                if let Some(nb) = self.neighbor_mut(&neighbor) {
                    let changed = nb.state != state;
                    // The FSM records an error as it drops to Idle; its
                    // later reports repeat it unchanged.
                    let went_down = changed && state == "Idle";
                    if changed || nb.state_since.is_none() {
                        nb.state = state.to_string();
                        nb.state_since = Some(now);
                    }
                    if state == "Established" {
                        nb.last_error = None;
                        nb.last_error_at = None;
                    } else if last_error.is_some() && (went_down || last_error != nb.last_error) {
                        nb.last_error = last_error;
                        nb.last_error_at = Some(now);
                    }
                }
            }
            Input::Update { neighbor, update } => {
                if let Some(&idx) = self.by_name.get(&neighbor) {
                    self.import_update(idx, update, now, &mut pass);
                } else {
                    tracing::warn!(%neighbor, "UPDATE from an unknown neighbor ignored");
                }
            }
            Input::RouteRefresh {
                neighbor,
                afi,
                safi,
            } => {
                if let Some(&idx) = self.by_name.get(&neighbor) {
                    self.refresh_family(idx, afi, safi, &mut pass);
                }
            }
            Input::Bfd {
                neighbor,
                status,
                diagnostic,
            } => self.bfd(&neighbor, status, diagnostic, now, &mut pass),
            Input::SessionRtt {
                neighbor,
                rtt,
                rttvar,
            } => self.session_rtt(&neighbor, rtt, rttvar, &mut pass),
            Input::BfdRx {
                neighbor,
                interval,
                jitter,
            } => {
                if let Some(nb) = self.neighbor_mut(&neighbor) {
                    // A report that crossed BFD going down is stale.
                    if nb.bfd == BfdStatus::Up {
                        nb.bfd_rx = Some(Measured {
                            mean: interval,
                            deviation: jitter,
                        });
                    }
                }
            }
            Input::Rpki(snapshot) => self.rpki_update(snapshot, now, &mut pass),
            Input::Resend {
                neighbor,
                prefixes,
                end_of_rib,
            } => {
                if let Some(&idx) = self.by_name.get(&neighbor) {
                    self.resend(idx, &prefixes, end_of_rib, &mut pass);
                }
            }
            Input::RefreshDemarcation {
                neighbor,
                afi,
                safi,
                end,
            } => self.refresh_demarcation(&neighbor, afi, safi, end, &mut pass),
            Input::RefreshOut { neighbor, families } => {
                self.refresh_out(&neighbor, &families, &mut pass)
            }
            Input::Control {
                action,
                neighbor,
                who,
                message,
            } => self.control_event(now, action, neighbor.as_deref(), &who, message),
            Input::SessionDetail { neighbor, detail } => self.session_detail(&neighbor, detail),
            Input::Notification { neighbor, record } => {
                self.notification_log(&neighbor, record, now)
            }
            Input::DownCause { neighbor, cause } => self.bmp_down_cause(&neighbor, cause),
            Input::Reload(running) => {
                let applied = self.apply_config(running, now, &mut pass);
                if let Err(e) = applied {
                    tracing::error!(error = %e, "reload refused; running configuration kept");
                    METRICS
                        .config_reloads_total
                        .with_label_values(&["failure"])
                        .inc();
                } else {
                    METRICS
                        .config_reloads_total
                        .with_label_values(&["success"])
                        .inc();
                }
            }
        }
        self.settle(now, &mut pass);
        pass.outputs
    }

    /// Imports a batch of UPDATEs (in order) and settles once: decisions,
    /// best paths and exports run for everything the batch changed, so a
    /// full table costs one export pass per batch instead of one per UPDATE.
    pub fn handle_updates(
        &mut self,
        batch: impl IntoIterator<Item = (NeighborName, Update)>,
        now: Instant,
    ) -> Vec<Output> {
        let mut pass = Pass::default();
        for (neighbor, update) in batch {
            if let Some(&idx) = self.by_name.get(&neighbor) {
                self.import_update(idx, update, now, &mut pass);
            } else {
                tracing::warn!(%neighbor, "UPDATE from an unknown neighbor ignored");
            }
        }
        self.settle(now, &mut pass);
        pass.outputs
    }

    /// Timers: withdraws stale routes whose graceful-restart time expired.
    pub fn tick(&mut self, now: Instant) -> Vec<Output> {
        let mut pass = Pass::default();
        let t = self.wall_ms(now);
        self.events.close_windows(t);
        let expired: Vec<NeighborIdx> = self
            .neighbors
            .iter()
            .flatten()
            .filter(|n| n.gr_deadline.is_some_and(|d| d <= now))
            .map(|n| n.idx)
            .collect();
        for idx in expired {
            if let Some(nb) = self.nb_mut(idx) {
                nb.gr_deadline = None;
                tracing::info!(neighbor = %nb.name, "graceful-restart time expired; stale routes withdrawn");
            }
            self.remove_paths(idx, |_, e| e.flags.contains(PathFlags::STALE), &mut pass);
            pass.all_decisions = true;
        }
        self.settle(now, &mut pass);
        if self
            .last_audit
            .is_none_or(|t| now.saturating_duration_since(t) >= AUDIT_EVERY)
        {
            self.last_audit = Some(now);
            super::audit::audit(self, None, now);
        }
        self.bmp_tick(now);
        pass.outputs
    }

    /// The earliest pending timer, for the task's sleep.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.neighbors
            .iter()
            .flatten()
            .filter_map(|n| n.gr_deadline)
            .min()
    }

    /// Answers an API question.
    pub fn query(&self, q: &Query, now: Instant) -> QueryReply {
        match q {
            Query::Neighbors => QueryReply::Neighbors(self.neighbor_views(now)),
            Query::Routes {
                prefix,
                all,
                longest,
            } => QueryReply::Routes(self.route_views(prefix.as_ref(), *all, *longest)),
            Query::Decisions => QueryReply::Decisions(self.decision_views()),
            Query::Events { since } => QueryReply::Events(self.events.since(*since)),
            Query::Audit { peer_asn } => {
                QueryReply::Audit(super::audit::audit(self, *peer_asn, now))
            }
            Query::RoutesPage(q) => match self.route_page(q) {
                Ok(page) => QueryReply::RoutesPage(page),
                Err(super::paging::PageError::UnknownNeighbor(n)) => QueryReply::UnknownNeighbor(n),
            },
            Query::Neighbor { name } => match self.neighbor_detail(name, now) {
                Some(d) => QueryReply::Neighbor(Box::new(d)),
                None => QueryReply::UnknownNeighbor(name.clone()),
            },
            Query::AdjRibOut { name, after, limit } => {
                match self.adj_rib_out_page(name, after.as_ref(), *limit) {
                    Ok((routes, next)) => QueryReply::AdjRibOut { routes, next },
                    Err(super::paging::PageError::UnknownNeighbor(n)) => {
                        QueryReply::UnknownNeighbor(n)
                    }
                }
            }
            Query::Config => QueryReply::Config(self.config_view()),
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

    fn neighbor_mut(&mut self, name: &str) -> Option<&mut Neighbor> {
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

    fn session_up(&mut self, name: &str, info: SessionInfo, now: Instant, pass: &mut Pass) {
        let Some(&idx) = self.by_name.get(name) else {
            tracing::warn!(
                neighbor = name,
                "session up for an unknown neighbor ignored"
            );
            return;
        };
        let families = info.families.clone();
        let restart = info.graceful_restart.clone();
        let remote = info.remote_address.to_string();
        // A new session starts from an empty Adj-RIB-Out (its group is
        // chosen at the next settle), even when no SessionDown came first
        // (a collision replaced the session).
        self.leave_group(idx);
        if let Some(nb) = self.nb_mut(idx) {
            nb.session = Some(info);
            nb.forget_rtt();
            nb.established_at = Some(now);
            if nb.state != "Established" {
                nb.state_since = Some(now);
            }
            nb.state = "Established".to_string();
            nb.last_error = None;
            nb.last_error_at = None;
            nb.tripped = false;
        }
        // RFC 4724 §4.2: stale routes are kept only for the families the
        // new session carries and for which the peer's new Graceful Restart
        // capability says it kept its forwarding state (F bit); the others go
        // now (no capability at all: every family).
        let kept = |p: &Prefix| {
            let fam = if matches!(p, Prefix::V4(_)) {
                Afi::IPV4
            } else {
                Afi::IPV6
            };
            families
                .iter()
                .any(|(a, s)| *a == fam && *s == Safi::UNICAST)
                && restart.as_ref().is_some_and(|gr| {
                    gr.families
                        .iter()
                        .any(|(a, s, forwarding)| *a == fam && *s == Safi::UNICAST && *forwarding)
                })
        };
        self.remove_paths(
            idx,
            |p, e| e.flags.contains(PathFlags::STALE) && !kept(p),
            pass,
        );
        self.event(
            now,
            EventKind::SessionUp,
            Some(name),
            None,
            format!("session with {name} established"),
            serde_json::json!({ "remote_address": remote }),
        );
        pass.dumps.push(idx);
        pass.touched.insert(idx);
        pass.all_decisions = true;
        self.bmp_peer_up(idx, now);
    }

    fn session_down(
        &mut self,
        name: &str,
        reason: String,
        gr: Option<Duration>,
        now: Instant,
        pass: &mut Pass,
    ) {
        let Some(&idx) = self.by_name.get(name) else {
            return;
        };
        self.bmp_peer_down(idx, now);
        let Some(nb) = self.nb_mut(idx) else { return };
        nb.session = None;
        nb.forget_rtt();
        nb.established_at = None;
        nb.tripped = false;
        if nb.state == "Established" {
            nb.state = "Idle".to_string();
        }
        nb.last_error = Some(reason.clone());
        let gr = gr.filter(|_| nb.cfg.graceful_restart);
        self.leave_group(idx);
        match gr {
            Some(t) => {
                let mut stale = 0u64;
                for (p, _) in self.rib.neighbor_paths(idx) {
                    if let Some(ps) = self.rib.paths_mut(&p) {
                        for e in ps.iter_mut().filter(|e| e.neighbor == idx) {
                            e.flags.insert(PathFlags::STALE);
                            stale += 1;
                        }
                    }
                    pass.dirty.insert(p);
                }
                if let Some(nb) = self.nb_mut(idx) {
                    nb.gr_deadline = Some(now + t);
                }
                self.event(
                    now,
                    EventKind::SessionDown,
                    Some(name),
                    None,
                    format!("session with {name} down ({reason}); {stale} routes kept stale for {}s", t.as_secs()),
                    serde_json::json!({ "reason": reason, "graceful_restart_s": t.as_secs(), "stale_routes": stale }),
                );
            }
            None => {
                let removed = self.remove_paths(idx, |_, _| true, pass);
                if let Some(nb) = self.nb_mut(idx) {
                    nb.gr_deadline = None;
                    nb.reset_counters();
                }
                self.event(
                    now,
                    EventKind::SessionDown,
                    Some(name),
                    None,
                    format!("session with {name} down ({reason}); {removed} routes withdrawn"),
                    serde_json::json!({ "reason": reason, "withdrawn_routes": removed }),
                );
            }
        }
        pass.touched.insert(idx);
        pass.all_decisions = true;
    }

    fn bfd(
        &mut self,
        name: &str,
        status: BfdStatus,
        diagnostic: u8,
        now: Instant,
        pass: &mut Pass,
    ) {
        let Some(&idx) = self.by_name.get(name) else {
            return;
        };
        let Some(nb) = self.nb_mut(idx) else { return };
        if nb.cfg.bfd.is_none() {
            return;
        }
        nb.detail.bfd_diagnostic = Some(diagnostic);
        let was_up = nb.bfd == BfdStatus::Up;
        nb.bfd = status;
        let is_up = status == BfdStatus::Up;
        if !is_up {
            nb.bfd_rx = None;
        }
        if was_up == is_up {
            return;
        }
        for (p, _) in self.rib.neighbor_paths(idx) {
            pass.dirty.insert(p);
        }
        pass.all_decisions = true;
        let (kind, word) = if is_up {
            (EventKind::BfdUp, "up")
        } else {
            (EventKind::BfdDown, "down")
        };
        self.event(
            now,
            kind,
            Some(name),
            None,
            format!(
                "BFD with {name} {word} ({}, diagnostic {diagnostic})",
                status.as_str()
            ),
            serde_json::json!({ "state": status.as_str(), "diagnostic": diagnostic }),
        );
    }

    /// A new RTT sample of an Established session. With `[router]
    /// rtt_tiebreak` on, a peering-service session whose tie-break figure
    /// moved has its prefixes' decisions recomputed.
    fn session_rtt(&mut self, name: &str, rtt: Duration, rttvar: Duration, pass: &mut Pass) {
        let Some(&idx) = self.by_name.get(name) else {
            return;
        };
        let tiebreak = self.cfg.router.rtt_tiebreak;
        let Some(nb) = self.nb_mut(idx) else { return };
        if nb.session.is_none() {
            // Sent before the session went down, read after.
            return;
        }
        nb.rtt = Some(Measured {
            mean: rtt,
            deviation: rttvar,
        });
        let rank = rtt_rank(nb.rtt_rank, rtt);
        if nb.rtt_rank == Some(rank) {
            return;
        }
        nb.rtt_rank = Some(rank);
        if tiebreak && nb.cfg.role == Role::PeeringService {
            for (p, _) in self.rib.neighbor_paths(idx) {
                pass.dirty.insert(p);
            }
        }
    }

    /// Removes paths of `idx` matching `pred`, keeping counters right;
    /// returns how many went.
    pub(crate) fn remove_paths(
        &mut self,
        idx: NeighborIdx,
        pred: impl FnMut(&Prefix, &crate::rib::PathEntry) -> bool,
        pass: &mut Pass,
    ) -> usize {
        // Rejection rules must be read before the RIB forgets them.
        let victims = self.rib.remove_where(idx, pred);
        let n = victims.len();
        for (p, e) in &victims {
            self.bmp_path_changed(idx, *p, Some(*e), None);
        }
        let mut rules: Vec<(PathFlags, Option<String>)> = Vec::with_capacity(n);
        for (p, e) in &victims {
            pass.dirty.insert(*p);
            rules.push((e.flags, None));
        }
        if let Some(nb) = self.nb_mut(idx) {
            for (flags, _) in rules {
                if flags.contains(PathFlags::ACCEPTED) {
                    nb.account(flags, None, false);
                } else {
                    // The rule is gone with the path: recount rejected by rule below.
                    nb.received = nb.received.saturating_sub(1);
                    if !flags.contains(PathFlags::REFUSED) {
                        nb.limit_count = nb.limit_count.saturating_sub(1);
                    }
                }
            }
        }
        if victims
            .iter()
            .any(|(_, e)| !e.flags.contains(PathFlags::ACCEPTED))
        {
            self.recount_rejected(idx);
        }
        pass.touched.insert(idx);
        n
    }

    /// Recomputes a neighbor's rejected-by-rule counters from the RIB.
    pub(crate) fn recount_rejected(&mut self, idx: NeighborIdx) {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for (p, e) in self.rib.neighbor_paths(idx) {
            if !e.flags.contains(PathFlags::ACCEPTED) {
                let rule = self
                    .rib
                    .rejection(&p, idx)
                    .map_or("unknown", |r| r.rule.as_ref());
                *counts.entry(rule.to_string()).or_default() += 1;
            }
        }
        if let Some(nb) = self.nb_mut(idx) {
            for v in nb.rejected.values_mut() {
                *v = 0;
            }
            nb.rejected.extend(counts);
        }
    }
}
