//! The engine's entry points: building it from a running configuration,
//! one input or a batch of UPDATEs in and the messages for the session
//! tasks out, timers, and API questions. Each input is handed to the step
//! that owns it (sessions, import, reload, control, …) and the pass is
//! settled once at the end.

use super::core::{EngineCore, AUDIT_EVERY};
use super::neighbor::Measured;
use super::pass::{Output, Pass};
use crate::analytics::EventLog;
use crate::messages::views::EventView;
use crate::messages::{BfdStatus, Input, NeighborName, Query, QueryReply, SessionState};
use crate::metrics::METRICS;
use crate::policy::ahead::PreImport;
use crate::rib::{NeighborIdx, PathFlags};
use crate::running::Running;
use crate::wire::Update;
use std::time::Instant;

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
        let mut core = EngineCore::blank(running.config.clone(), running.policy.clone(), events);
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
                    let went_down = changed && state == SessionState::Idle;
                    if changed || nb.state_since.is_none() {
                        nb.state = state;
                        nb.state_since = Some(now);
                    }
                    if state == SessionState::Established {
                        nb.last_error = None;
                        nb.last_error_at = None;
                    } else if last_error.is_some() && (went_down || last_error != nb.last_error) {
                        nb.last_error = last_error;
                        nb.last_error_at = Some(now);
                    }
                }
            }
            Input::Update {
                neighbor,
                update,
                ahead,
            } => {
                if let Some(&idx) = self.by_name.get(&neighbor) {
                    self.import_update(idx, update, ahead, now, &mut pass);
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
        batch: impl IntoIterator<Item = (NeighborName, Box<Update>, Option<PreImport>)>,
        now: Instant,
    ) -> Vec<Output> {
        let mut pass = Pass {
            dirty: std::mem::take(&mut self.spare_dirty),
            ..Pass::default()
        };
        for (neighbor, update, ahead) in batch {
            if let Some(&idx) = self.by_name.get(&neighbor) {
                self.import_update(idx, update, ahead, now, &mut pass);
            } else {
                tracing::warn!(%neighbor, "UPDATE from an unknown neighbor ignored");
            }
        }
        self.settle(now, &mut pass);
        self.spare_dirty = std::mem::take(&mut pass.dirty).recycle();
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
}
