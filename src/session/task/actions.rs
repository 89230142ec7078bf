//! The FSM's actions carried out by the session task: connecting and
//! dropping connections, sending OPEN, KEEPALIVE and NOTIFICATION, timers,
//! and what the engine is told (`ToEngine`), waiting for room when its
//! queue is full.

use super::*;
use crate::rib::interner::packed_set;
use crate::wire::{PackedSet, Update};

impl Task {
    pub(super) async fn act(&mut self, a: Action) {
        match a {
            Action::Connect(id) => {
                debug!(conn = id.0, "connecting");
                let h = conn::connect(id, &self.neighbor, self.connect_timeout, self.io_tx.clone());
                self.connecting.insert(id, h);
            }
            Action::Send(id, msg) => self.send(id, &msg).await,
            Action::Close(id) => {
                if let Some(h) = self.connecting.remove(&id) {
                    h.abort();
                }
                if let Some(c) = self.conns.remove(&id) {
                    debug!(conn = id.0, "closing connection");
                    self.flushing.push(c.close());
                }
                self.flushing.retain(|h| !h.is_finished());
            }
            Action::SessionUp(id, neg) => {
                let Some(c) = self.conns.get(&id) else {
                    return;
                };
                self.codec = neg.codec;
                c.set_codec(neg.codec);
                let mut info = neg.session_info(c.local.ip(), c.remote.ip());
                (info.wire.local_port, info.wire.remote_port) = (c.local.port(), c.remote.port());
                let (tx, rx) = mpsc::channel(TO_PEER_CAPACITY);
                self.to_peer = Some(rx);
                self.down_cause = None;
                self.metric_labels(|n, l| {
                    METRICS
                        .session_established_total
                        .with_label_values(&[n, l])
                        .inc()
                });
                info!(
                    remote_as = info.remote_as,
                    remote_id = %info.remote_id,
                    hold_time = info.hold_time,
                    "session established"
                );
                for msg in ToEngine::session_up(self.name.clone(), info, tx) {
                    self.tell_engine(msg).await;
                }
                let detail = crate::messages::detail::SessionDetail {
                    local_role: self.fsm.config().local_role.map(|r| r.name().to_string()),
                    remote_role: neg.remote_role.map(|r| r.name().to_string()),
                    keepalive_ms: neg.keepalive().map_or(0, |k| k.as_millis() as u64),
                    send_hold_time_s: send_hold_time(self.neighbor.send_hold_time_s, neg.hold_time)
                        .as_secs(),
                };
                self.tell_engine(Input::SessionDetail {
                    neighbor: self.name.clone(),
                    detail,
                })
                .await;
            }
            Action::SessionDown {
                reason,
                graceful_restart,
            } => {
                self.to_peer = None;
                self.codec = Codec::default();
                self.uptime_set = None;
                self.metric_labels(|n, l| {
                    METRICS
                        .session_uptime_seconds
                        .with_label_values(&[n, l])
                        .set(0);
                    // No session, no RTT: the series go until measured again.
                    let _ = METRICS.session_rtt_seconds.remove_label_values(&[n, l]);
                    let _ = METRICS
                        .session_rtt_variance_seconds
                        .remove_label_values(&[n, l]);
                });
                warn!(%reason, "session down");
                let cause = self.down_cause.take().unwrap_or(DownCause::Closed);
                self.tell_engine(Input::DownCause {
                    neighbor: self.name.clone(),
                    cause,
                })
                .await;
                self.tell_engine(Input::SessionDown {
                    neighbor: self.name.clone(),
                    reason,
                    graceful_restart,
                })
                .await;
            }
            Action::DeliverUpdate(update) => {
                // Import policy runs here, beside the engine, when it can.
                let mut ahead = self.import_eval.as_ref().and_then(|e| e.evaluate(&update));
                // So are the packing and hashing of its attribute sets.
                if let Some(a) = ahead.as_mut() {
                    a.sets = packed_sets(&update);
                }
                self.tell_engine(Input::Update {
                    neighbor: self.name.clone(),
                    update,
                    ahead,
                })
                .await;
            }
            Action::DeliverRouteRefresh(rr) => {
                if let Some(input) = self.refresh_input(rr) {
                    self.tell_engine(input).await;
                }
            }
        }
    }

    /// Sends to the engine, waiting for room (back-pressure). While waiting
    /// it still sends KEEPALIVEs, so the peer does not time us out, and
    /// still writes what the engine sends us: an engine blocked on our full
    /// `ToPeer` channel while we wait for room in its channel would
    /// otherwise deadlock. Teardowns received meanwhile run afterwards.
    pub(super) async fn tell_engine(&mut self, msg: impl Into<ToEngine>) {
        let msg = msg.into();
        // Room at once (the usual case): no waiting loop to set up.
        if !self.stopping {
            if let Ok(p) = self.engine.try_reserve() {
                p.send(msg);
                return;
            }
        }
        let engine = self.engine.clone();
        if self.stopping {
            // Leaving: never wait for an engine that may be gone or stuck.
            let _ = engine.try_send(msg);
            return;
        }
        let permit = loop {
            let keepalive = self.fsm.timer(Timer::Keepalive);
            let established = self.to_peer.is_some();
            let shutdown_live = self.shutdown_live;
            tokio::select! {
                biased;
                p = engine.reserve() => break p,
                r = self.shutdown.changed(), if shutdown_live => {
                    self.shutdown_live = r.is_ok();
                    if self.shutdown.borrow().is_some() {
                        self.stopping = true;
                        let _ = engine.try_send(msg);
                        return;
                    }
                }
                cmd = self.commands.recv() => {
                    let cmd = cmd.unwrap_or(Command::Remove);
                    let leaving = matches!(cmd, Command::Remove | Command::Reconfigure);
                    self.pending_cmds.push_back(cmd);
                    if leaving {
                        self.stopping = true;
                        let _ = engine.try_send(msg);
                        return;
                    }
                }
                _ = sleep_until(keepalive), if keepalive.is_some() => {
                    for a in self.fsm.poll_keepalive(Instant::now()) {
                        match a {
                            Action::Send(id, m) => self.send(id, &m).await,
                            other => self.queue.push_back(other),
                        }
                    }
                }
                m = recv_to_peer(&mut self.to_peer), if established => match m {
                    Some(t @ ToPeer::Teardown { .. }) => self.deferred.push_back(t),
                    Some(ToPeer::ImportEval(e)) => self.import_eval = Some(e),
                    Some(m) => self.write_to_peer(m).await,
                    None => self.to_peer = None,
                },
            }
        };
        match permit {
            Ok(p) => p.send(msg),
            Err(_) => debug!("route engine gone"),
        }
    }

    pub(super) async fn report_state(&mut self) {
        let state = self.fsm.state();
        if self.reported == Some(state) {
            return;
        }
        let prev = self.reported.replace(state);
        self.publish_state(state);
        if let Some(prev) = prev {
            debug!(from = prev.as_str(), to = state.as_str(), "state change");
        }
        let msg = Input::PeerState {
            neighbor: self.name.clone(),
            state,
            last_error: self.fsm.last_error().map(str::to_string),
        };
        self.tell_engine(msg).await;
    }
}

/// The attribute sets `u` announces, packed and hashed for the engine's
/// interner: its NLRI's, and its MP_REACH NLRI's with that next hop (as
/// the engine stores them).
fn packed_sets(u: &Update) -> [Option<PackedSet>; 2] {
    let v4 = (!u.nlri.is_empty()).then(|| packed_set(&u.attrs));
    let mp = u.mp_reach.as_ref().filter(|m| !m.nlri.is_empty()).map(|m| {
        let mut a = u.attrs.clone();
        a.next_hop = Some(m.next_hop);
        packed_set(&a)
    });
    [v4, mp]
}
