//! The BGP finite state machine of RFC 4271 §8, Sans-IO: events in,
//! [`Action`]s out, time passed in as `now`. No tokio, no sockets, so every
//! transition is table-tested (`fsm_tests`).
//!
//! Run by the per-neighbor task (`session::peer`), which turns actions into
//! socket writes, connects and channel messages. Connections are named by
//! [`ConnId`]s the FSM allocates, so events from a connection the FSM has
//! already dropped are ignored.
//!
//! Our implementation, relative to RFC 4271 §8.2.2:
//! - DelayOpen, IdleHold "damping" and the optional collision-in-Established
//!   are not implemented; instead, every fall to Idle while started arms
//!   the IdleHoldTimer with exponential back-off (1 s doubling to 120 s by
//!   default, reset after a stable Established period), and its expiry is
//!   the AutomaticStart event.
//! - A passive neighbor never connects out: ConnectRetryTimer expiry in
//!   Active just re-arms the timer.
//! - A failed outgoing connect waits in Active, not Idle (as BIRD and FRR
//!   do): inbound connections are accepted meanwhile, and the next connect
//!   follows the same back-off as the IdleHoldTimer (1 s doubling to
//!   120 s). So a peer that only initiates (RST on our connects) still
//!   comes up.
//! - Idle accepts an inbound connection (and goes through Active) unless the
//!   neighbor is administratively down (never started, or ManualStop), BFD
//!   keeps it down, or a max-prefix hold-down (RFC 4486) is being served.
//! - Connection collision (§6.8): while the session is in OpenSent or
//!   OpenConfirm a second connection is tracked (our OPEN is sent on it);
//!   the collision is resolved as soon as the peer's BGP identifier is
//!   known from an OPEN on either connection, and the loser is closed with
//!   Cease / Connection Collision Resolution. A new connection while
//!   Established is closed the same way (`connections`).
//! - BFD (RFC 9384): BFD going Down while Established tears the session
//!   down with Cease / BFD Down, and the session stays Idle (refusing
//!   connections) until BFD is Up again.

pub use super::events::{Action, ConnId, Event, State, Timer};

use super::codes::{self, CeaseSubcode, FsmSubcode};
use super::events::TIMERS;
use super::negotiate::{build_open, negotiate, FsmConfig, Negotiated};
use crate::wire::{Message, Notification, Open};
use std::time::{Duration, Instant};

/// New connections, their OPENs and collisions.
mod connections;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Conn {
    id: ConnId,
    /// We initiated it (matters for collision resolution, RFC 4271 §6.8).
    outgoing: bool,
}

/// The FSM of one neighbor.
#[derive(Debug)]
pub struct Fsm {
    cfg: FsmConfig,
    state: State,
    /// The connection the session runs on (OpenSent onward).
    main: Option<Conn>,
    /// A colliding connection, OPEN sent, waiting for the peer's OPEN.
    second: Option<Conn>,
    /// An outgoing connect in progress.
    pending: Option<ConnId>,
    next_id: u64,
    timers: [Option<Instant>; 4],
    connect_retry_counter: u32,
    negotiated: Option<Negotiated>,
    /// Started and not manually stopped: falls to Idle restart automatically.
    enabled: bool,
    passive: bool,
    /// BFD failed this session; stay Idle until BFD is Up.
    bfd_blocked: bool,
    /// The next IdleHoldTime (and retry delay after a failed connect).
    idle_hold: Duration,
    /// A max-prefix hold-down (RFC 4486) lasts until then: no connection
    /// either way.
    penalty_until: Option<Instant>,
    established_at: Option<Instant>,
    last_error: Option<String>,
}

/// Why the session falls to Idle (for SessionDown, GR and `last_error`).
enum Down {
    /// We sent this NOTIFICATION.
    Sent(Notification),
    /// The peer sent this NOTIFICATION.
    Received(Notification),
    /// The connection failed or was stopped without a NOTIFICATION.
    Tcp(String),
}

impl Fsm {
    /// A new FSM in Idle; feed it [`Event::ManualStart`] (or the passive variant).
    pub fn new(cfg: FsmConfig) -> Self {
        let idle_hold = cfg.idle_hold_initial;
        let passive = cfg.passive;
        Fsm {
            cfg,
            state: State::Idle,
            main: None,
            second: None,
            pending: None,
            next_id: 1,
            timers: [None; 4],
            connect_retry_counter: 0,
            negotiated: None,
            enabled: false,
            passive,
            bfd_blocked: false,
            idle_hold,
            penalty_until: None,
            established_at: None,
            last_error: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &FsmConfig {
        &self.cfg
    }

    /// What was negotiated (OpenConfirm and Established).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The connection the session uses, if any.
    pub fn main_conn(&self) -> Option<ConnId> {
        self.main.map(|c| c.id)
    }

    /// The last error that took the session down, for the API.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// RFC 4271 ConnectRetryCounter.
    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// When the given timer fires, if it runs.
    pub fn timer(&self, t: Timer) -> Option<Instant> {
        self.timers[t as usize]
    }

    /// How long the session has been Established.
    pub fn established_for(&self, now: Instant) -> Option<Duration> {
        self.established_at
            .map(|t| now.saturating_duration_since(t))
    }

    /// True while BFD keeps the session down.
    pub fn bfd_blocked(&self) -> bool {
        self.bfd_blocked
    }

    /// When a max-prefix hold-down (RFC 4486) ends, while one is served.
    pub fn hold_down_until(&self) -> Option<Instant> {
        self.penalty_until
    }

    /// False after ManualStop (or before the first start): the session
    /// stays Idle and refuses connections.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The earliest running timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    /// A fresh id for an incoming connection.
    pub fn alloc_conn(&mut self) -> ConnId {
        let id = ConnId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Fires every timer due at `now`, in timer order.
    pub fn poll_timers(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        for t in TIMERS {
            if self.timers[t as usize].is_some_and(|d| d <= now) {
                self.timers[t as usize] = None;
                let ev = match t {
                    Timer::ConnectRetry => Event::ConnectRetryTimerExpires,
                    Timer::Hold => Event::HoldTimerExpires,
                    Timer::Keepalive => Event::KeepaliveTimerExpires,
                    Timer::IdleHold => Event::IdleHoldTimerExpires,
                };
                out.extend(self.handle(now, ev));
            }
        }
        out
    }

    /// Fires only the KeepaliveTimer if due: used while the I/O layer waits
    /// for the route engine and cannot read (so it must not judge the Hold
    /// timer, whose KEEPALIVEs may be waiting unread).
    pub fn poll_keepalive(&mut self, now: Instant) -> Vec<Action> {
        if self.timers[Timer::Keepalive as usize].is_some_and(|d| d <= now) {
            self.timers[Timer::Keepalive as usize] = None;
            return self.handle(now, Event::KeepaliveTimerExpires);
        }
        Vec::new()
    }

    /// Feeds one event; returns the actions to carry out, in order.
    pub fn handle(&mut self, now: Instant, ev: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match ev {
            Event::ManualStart => {
                self.enabled = true;
                self.connect_retry_counter = 0;
                self.start(now, false, &mut out);
            }
            Event::ManualStartPassive => {
                self.enabled = true;
                self.connect_retry_counter = 0;
                self.start(now, true, &mut out);
            }
            Event::AutomaticStart | Event::AutomaticStartPassive => {
                if self.enabled && !self.bfd_blocked {
                    let passive = matches!(ev, Event::AutomaticStartPassive) || self.cfg.passive;
                    self.start(now, passive, &mut out);
                }
            }
            Event::ManualStop { communication } => {
                self.enabled = false;
                self.stop_timer(Timer::IdleHold);
                match self.state {
                    State::Idle => {}
                    State::Connect | State::Active => {
                        self.go_idle(now, Down::Tcp("stopped".into()), &mut out);
                    }
                    _ => {
                        let n = codes::administrative_shutdown(&communication);
                        self.go_idle(now, Down::Sent(n), &mut out);
                    }
                }
                // RFC 4271 §8.2.2: ManualStop sets the ConnectRetryCounter to zero.
                self.connect_retry_counter = 0;
            }
            Event::AutomaticStop {
                notification,
                hold_down,
            } => {
                match self.state {
                    State::Idle => {}
                    State::Connect | State::Active => {
                        let why = format!("stopped: {}", codes::describe(&notification));
                        self.go_idle(now, Down::Tcp(why), &mut out);
                    }
                    _ => self.go_idle(now, Down::Sent(notification), &mut out),
                }
                if let Some(hd) = hold_down {
                    let until = now + hd;
                    self.penalty_until = Some(self.penalty_until.map_or(until, |t| t.max(until)));
                    if self.enabled {
                        let t = &mut self.timers[Timer::IdleHold as usize];
                        *t = Some(t.map_or(until, |d| d.max(until)));
                    }
                }
            }
            Event::ClearHoldDown => {
                if self.penalty_until.take().is_some() && self.state == State::Idle {
                    self.stop_timer(Timer::IdleHold);
                    if self.enabled && !self.bfd_blocked {
                        self.start(now, self.cfg.passive, &mut out);
                    }
                }
            }
            Event::BfdDown => {
                // A BFD failure blocks the session (neither connect nor
                // accept) until BFD is Up again, whatever the state: the
                // peer may have torn the session down first and be
                // reconnecting over a link BFD still calls dead.
                self.bfd_blocked = true;
                match self.state {
                    State::Established | State::OpenSent | State::OpenConfirm => {
                        let n = codes::cease(CeaseSubcode::BfdDown);
                        self.go_idle(now, Down::Sent(n), &mut out);
                    }
                    State::Connect | State::Active => {
                        self.go_idle(now, Down::Tcp("BFD Down".into()), &mut out);
                    }
                    State::Idle => {}
                }
            }
            Event::BfdUp => {
                if self.bfd_blocked {
                    self.bfd_blocked = false;
                    // A running IdleHoldTimer (a hold-down) still has its say.
                    let held = self.timers[Timer::IdleHold as usize].is_some();
                    if self.state == State::Idle && self.enabled && !held {
                        self.start(now, self.cfg.passive, &mut out);
                    }
                }
            }
            Event::IdleHoldTimerExpires => {
                if self.penalty_until.is_some_and(|t| now >= t) {
                    self.penalty_until = None;
                }
                if self.state == State::Idle {
                    self.stop_timer(Timer::IdleHold);
                    let ev = if self.cfg.passive {
                        Event::AutomaticStartPassive
                    } else {
                        Event::AutomaticStart
                    };
                    out.extend(self.handle(now, ev));
                }
            }
            Event::ConnectRetryTimerExpires => self.on_connect_retry(now, &mut out),
            Event::HoldTimerExpires => match self.state {
                State::Idle => {}
                State::Connect | State::Active => {
                    self.go_idle(now, Down::Tcp("hold timer expired".into()), &mut out)
                }
                _ => self.go_idle(now, Down::Sent(codes::hold_timer_expired()), &mut out),
            },
            Event::SendHoldTimerExpires(id) => {
                if self.main.is_some_and(|c| c.id == id) {
                    let n = codes::send_hold_timer_expired();
                    self.go_idle(now, Down::Sent(n), &mut out)
                } else if self.second.is_some_and(|c| c.id == id) {
                    self.second = None;
                    out.push(Action::Close(id));
                }
            }
            Event::KeepaliveTimerExpires => match self.state {
                State::Idle => {}
                State::OpenConfirm | State::Established => {
                    if let Some(c) = self.main {
                        out.push(Action::Send(c.id, Message::Keepalive));
                    }
                    self.arm_keepalive(now);
                }
                _ => self.unexpected(now, &mut out),
            },
            Event::TcpCrAcked(id) => {
                if self.pending == Some(id) {
                    self.pending = None;
                    self.on_new_conn(now, Conn { id, outgoing: true }, &mut out);
                } else {
                    out.push(Action::Close(id));
                }
            }
            Event::TcpConnectionConfirmed(id) => self.on_new_conn(
                now,
                Conn {
                    id,
                    outgoing: false,
                },
                &mut out,
            ),
            Event::TcpConnectionFails(id) => self.on_tcp_fails(now, id, &mut out),
            Event::Open(id, open) => self.on_open(now, id, open, &mut out),
            Event::Keepalive(id)
            | Event::Update(id, _)
            | Event::RouteRefresh(id, _)
            | Event::Notification(id, _)
            | Event::MessageError(id, _) => self.on_message(now, id, ev, &mut out),
        }
        out
    }

    fn start(&mut self, now: Instant, passive: bool, out: &mut Vec<Action>) {
        if self.state != State::Idle || self.bfd_blocked {
            return;
        }
        self.passive = passive || self.cfg.passive;
        self.stop_timer(Timer::IdleHold);
        self.arm(Timer::ConnectRetry, now, self.cfg.connect_retry);
        if self.passive {
            self.state = State::Active;
        } else {
            let id = self.alloc_conn();
            self.pending = Some(id);
            out.push(Action::Connect(id));
            self.state = State::Connect;
        }
    }

    fn on_connect_retry(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Idle => {}
            State::Connect | State::Active => {
                self.arm(Timer::ConnectRetry, now, self.cfg.connect_retry);
                if self.passive {
                    return;
                }
                if let Some(old) = self.pending.take() {
                    out.push(Action::Close(old));
                }
                let id = self.alloc_conn();
                self.pending = Some(id);
                out.push(Action::Connect(id));
                self.state = State::Connect;
            }
            _ => self.unexpected(now, out),
        }
    }

    /// True while a max-prefix hold-down is being served.
    pub fn penalized(&self, now: Instant) -> bool {
        self.penalty_until.is_some_and(|t| now < t)
    }

    fn on_message(&mut self, now: Instant, id: ConnId, ev: Event, out: &mut Vec<Action>) {
        if self.second.is_some_and(|c| c.id == id) {
            // Anything but an OPEN on a colliding connection ends it.
            if let Event::Keepalive(_) | Event::Update(..) | Event::RouteRefresh(..) = ev {
                let n = codes::fsm_error(FsmSubcode::UnexpectedInOpenSent);
                out.push(Action::Send(id, Message::Notification(n)));
            } else if let Event::MessageError(_, n) = ev {
                out.push(Action::Send(id, Message::Notification(n)));
            }
            out.push(Action::Close(id));
            self.second = None;
            return;
        }
        if self.main.is_none_or(|c| c.id != id) {
            return;
        }
        match ev {
            Event::Notification(_, n) => self.go_idle(now, Down::Received(n), out),
            Event::MessageError(_, n) => self.go_idle(now, Down::Sent(n), out),
            Event::Keepalive(_) => match self.state {
                State::OpenConfirm => {
                    self.rearm_hold(now);
                    self.state = State::Established;
                    self.established_at = Some(now);
                    if let Some(n) = self.negotiated.clone() {
                        out.push(Action::SessionUp(id, n));
                    }
                }
                State::Established => self.rearm_hold(now),
                _ => self.unexpected(now, out),
            },
            Event::Update(_, u) => {
                if self.state == State::Established {
                    self.rearm_hold(now);
                    out.push(Action::DeliverUpdate(u));
                } else {
                    self.unexpected(now, out);
                }
            }
            Event::RouteRefresh(_, rr) => {
                if self.state == State::Established {
                    self.rearm_hold(now);
                    let known = self
                        .negotiated
                        .as_ref()
                        .is_some_and(|n| n.families.contains(&(rr.afi, rr.safi)));
                    // RFC 7313 §5: a refresh for a family not negotiated is ignored.
                    if known {
                        out.push(Action::DeliverRouteRefresh(rr));
                    }
                } else {
                    self.unexpected(now, out);
                }
            }
            _ => {}
        }
    }

    /// An event the state does not expect: FSM error (RFC 6608) from
    /// OpenSent on, plain drop to Idle before.
    fn unexpected(&mut self, now: Instant, out: &mut Vec<Action>) {
        let sub = match self.state {
            State::Idle => return,
            State::Connect | State::Active => {
                self.go_idle(now, Down::Tcp("unexpected event".into()), out);
                return;
            }
            State::OpenSent => FsmSubcode::UnexpectedInOpenSent,
            State::OpenConfirm => FsmSubcode::UnexpectedInOpenConfirm,
            State::Established => FsmSubcode::UnexpectedInEstablished,
        };
        self.go_idle(now, Down::Sent(codes::fsm_error(sub)), out);
    }

    fn go_idle(&mut self, now: Instant, why: Down, out: &mut Vec<Action>) {
        let (reason, gr_allowed) = match &why {
            Down::Sent(n) => (format!("sent NOTIFICATION {}", codes::describe(n)), false),
            Down::Received(n) => (
                format!("received NOTIFICATION {}", codes::describe(n)),
                n.code != codes::ErrorCode::Cease as u8,
            ),
            Down::Tcp(s) => (s.clone(), true),
        };
        if let (Down::Sent(n), Some(main)) = (why, self.main) {
            out.push(Action::Send(main.id, Message::Notification(n)));
        }
        for c in [self.main.take(), self.second.take()].into_iter().flatten() {
            out.push(Action::Close(c.id));
        }
        if let Some(p) = self.pending.take() {
            out.push(Action::Close(p));
        }
        if self.state == State::Established {
            let gr = self
                .negotiated
                .as_ref()
                .and_then(|n| n.graceful_restart.as_ref())
                .filter(|_| gr_allowed)
                .map(|g| Duration::from_secs(u64::from(g.restart_time)));
            out.push(Action::SessionDown {
                reason: reason.clone(),
                graceful_restart: gr,
            });
            if self
                .established_at
                .is_some_and(|t| now.saturating_duration_since(t) >= self.cfg.stable_after)
            {
                self.idle_hold = self.cfg.idle_hold_initial;
            }
        }
        self.last_error = Some(reason);
        self.timers = [None; 4];
        self.negotiated = None;
        self.established_at = None;
        self.connect_retry_counter = self.connect_retry_counter.saturating_add(1);
        self.state = State::Idle;
        if self.enabled && !self.bfd_blocked {
            let delay = self.idle_hold;
            self.idle_hold = (self.idle_hold * 2).min(self.cfg.idle_hold_max);
            self.arm(Timer::IdleHold, now, delay);
        }
    }

    fn send_open(&mut self, id: ConnId, out: &mut Vec<Action>) {
        out.push(Action::Send(id, Message::Open(build_open(&self.cfg))));
    }

    fn arm(&mut self, t: Timer, now: Instant, d: Duration) {
        self.timers[t as usize] = Some(now + d);
    }

    fn stop_timer(&mut self, t: Timer) {
        self.timers[t as usize] = None;
    }

    fn rearm_hold(&mut self, now: Instant) {
        if let Some(h) = self.negotiated.as_ref().map(|n| n.hold_time) {
            if h > 0 {
                self.arm(Timer::Hold, now, Duration::from_secs(u64::from(h)));
            }
        }
    }

    fn arm_keepalive(&mut self, now: Instant) {
        if let Some(k) = self.negotiated.as_ref().and_then(|n| n.keepalive()) {
            self.arm(Timer::Keepalive, now, k);
        }
    }
}

#[cfg(test)]
#[path = "fsm_tests.rs"]
mod tests;
