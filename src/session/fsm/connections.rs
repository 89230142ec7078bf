//! The FSM's connections: a new TCP connection (inbound or ours), its
//! failure, the OPEN it brings, and connection collisions (RFC 4271 §6.8:
//! the higher BGP identifier keeps its connection).

use super::*;

impl Fsm {
    pub(super) fn on_new_conn(&mut self, now: Instant, conn: Conn, out: &mut Vec<Action>) {
        match self.state {
            // RFC 4271 §8.2.2 has Idle refuse connections; we refuse them
            // only when the neighbor is down on purpose, and otherwise
            // take the connection through Active (a peer that only
            // initiates must come up whatever our back-off says).
            State::Idle => {
                if !self.enabled || self.bfd_blocked || self.penalized(now) {
                    out.push(Action::Close(conn.id));
                    return;
                }
                self.stop_timer(Timer::IdleHold);
                self.passive = self.cfg.passive;
                self.state = State::Active;
                self.on_new_conn(now, conn, out);
            }
            State::Connect | State::Active => {
                self.stop_timer(Timer::ConnectRetry);
                self.main = Some(conn);
                self.send_open(conn.id, out);
                self.arm(Timer::Hold, now, self.cfg.open_hold);
                self.state = State::OpenSent;
            }
            State::OpenSent => {
                if self.second.is_some() {
                    out.push(Action::Close(conn.id));
                } else {
                    self.second = Some(conn);
                    self.send_open(conn.id, out);
                }
            }
            State::OpenConfirm => {
                let remote_id = self.negotiated.as_ref().map(|n| n.remote_id);
                let Some(main) = self.main else {
                    out.push(Action::Close(conn.id));
                    return;
                };
                let Some(remote_id) = remote_id else {
                    out.push(Action::Close(conn.id));
                    return;
                };
                if self.keeps_first(main, conn, remote_id) {
                    self.collision_close(conn.id, out);
                } else {
                    self.collision_close(main.id, out);
                    self.main = Some(conn);
                    self.negotiated = None;
                    self.stop_timer(Timer::Keepalive);
                    self.send_open(conn.id, out);
                    self.arm(Timer::Hold, now, self.cfg.open_hold);
                    self.state = State::OpenSent;
                }
            }
            State::Established => self.collision_close(conn.id, out),
        }
    }

    pub(super) fn on_tcp_fails(&mut self, now: Instant, id: ConnId, out: &mut Vec<Action>) {
        if self.pending == Some(id) {
            self.pending = None;
            // RFC 4271 §8.2.2 Connect, event 18 says Idle; we wait in Active
            // (inbound accepted) and retry after the back-off delay.
            if self.state == State::Connect && self.main.is_none() {
                let delay = self.idle_hold;
                self.idle_hold = (self.idle_hold * 2).min(self.cfg.idle_hold_max);
                self.connect_retry_counter = self.connect_retry_counter.saturating_add(1);
                self.last_error = Some("connect failed".into());
                self.arm(Timer::ConnectRetry, now, delay);
                self.state = State::Active;
            }
            return;
        }
        if self.second.is_some_and(|c| c.id == id) {
            self.second = None;
            out.push(Action::Close(id));
            return;
        }
        if self.main.is_none_or(|c| c.id != id) {
            return;
        }
        if let (State::OpenSent, Some(second)) = (self.state, self.second) {
            // The other connection carries on.
            out.push(Action::Close(id));
            self.main = Some(second);
            self.second = None;
            return;
        }
        if self.state == State::OpenSent {
            // RFC 4271 §8.2.2 OpenSent, event 18: to Active, ConnectRetryTimer restarted.
            out.push(Action::Close(id));
            self.main = None;
            self.stop_timer(Timer::Hold);
            self.arm(Timer::ConnectRetry, now, self.cfg.connect_retry);
            self.last_error = Some("connection closed in OpenSent".into());
            self.state = State::Active;
            return;
        }
        self.go_idle(now, Down::Tcp("connection closed".into()), out);
    }

    pub(super) fn on_open(&mut self, now: Instant, id: ConnId, open: Open, out: &mut Vec<Action>) {
        let on_main = self.main.is_some_and(|c| c.id == id);
        let on_second = self.second.is_some_and(|c| c.id == id);
        if !on_main && !on_second {
            return;
        }
        if on_main && self.state != State::OpenSent {
            // An OPEN on an open session: RFC 6608 FSM error.
            self.unexpected(now, out);
            return;
        }
        let neg = match negotiate(&self.cfg, &open) {
            Ok(n) => n,
            Err(n) => {
                if on_second {
                    out.push(Action::Send(id, Message::Notification(n)));
                    out.push(Action::Close(id));
                    self.second = None;
                } else if let Some(second) = self.second.take() {
                    out.push(Action::Send(id, Message::Notification(n)));
                    out.push(Action::Close(id));
                    self.main = Some(second);
                } else {
                    self.go_idle(now, Down::Sent(n), out);
                }
                return;
            }
        };
        let this = if on_main { self.main } else { self.second };
        let other = if on_main { self.second } else { self.main };
        let (Some(this), other) = (this, other) else {
            return;
        };
        if let Some(other) = other {
            if self.keeps_first(other, this, neg.remote_id) {
                self.collision_close(this.id, out);
                if on_main {
                    // The second connection becomes the session's, still in OpenSent.
                    self.main = Some(other);
                    self.arm(Timer::Hold, now, self.cfg.open_hold);
                }
                self.second = None;
                return;
            }
            self.collision_close(other.id, out);
            self.second = None;
            self.main = Some(this);
            if self.state == State::OpenConfirm {
                self.stop_timer(Timer::Keepalive);
            }
        }
        // RFC 4271 §8.2.2 OpenSent, event 19.
        self.stop_timer(Timer::ConnectRetry);
        out.push(Action::Send(this.id, Message::Keepalive));
        if neg.hold_time == 0 {
            self.stop_timer(Timer::Hold);
            self.stop_timer(Timer::Keepalive);
        } else {
            self.arm(
                Timer::Hold,
                now,
                Duration::from_secs(u64::from(neg.hold_time)),
            );
        }
        self.negotiated = Some(neg);
        self.arm_keepalive(now);
        self.state = State::OpenConfirm;
    }

    /// RFC 4271 §6.8: which connection survives, given the peer's identifier.
    pub(super) fn keeps_first(
        &self,
        first: Conn,
        second: Conn,
        remote_id: std::net::Ipv4Addr,
    ) -> bool {
        if first.outgoing == second.outgoing {
            return first.id > second.id;
        }
        let (ours, theirs) = (u32::from(self.cfg.router_id), u32::from(remote_id));
        // RFC 6286 §2.3: equal identifiers (eBGP) fall back to the AS numbers.
        let keep_outgoing = if ours == theirs {
            self.cfg.local_as > self.cfg.remote_as
        } else {
            ours > theirs
        };
        first.outgoing == keep_outgoing
    }

    pub(super) fn collision_close(&mut self, id: ConnId, out: &mut Vec<Action>) {
        let n = codes::cease(CeaseSubcode::ConnectionCollisionResolution);
        out.push(Action::Send(id, Message::Notification(n)));
        out.push(Action::Close(id));
    }
}
