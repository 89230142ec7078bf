//! What the session task writes to its peer: the encoded UPDATEs the
//! engine hands over (in chunks of about `WRITE_CHUNK`, through the
//! connection's bounded writer queue), our own messages, and the counters
//! and log lines that go with each.

use super::*;

impl Task {
    pub(super) async fn on_to_peer(&mut self, msg: ToPeer) {
        match msg {
            ToPeer::Teardown {
                notification,
                hold_down,
            } => {
                if self.fsm.state() != State::Established {
                    return;
                }
                info!(notification = %codes::describe(&notification), ?hold_down, "teardown");
                self.feed(Event::AutomaticStop {
                    notification,
                    hold_down,
                })
                .await;
            }
            ToPeer::ImportEval(e) => self.import_eval = Some(e),
            other => self.write_to_peer(other).await,
        }
    }

    /// Carries out `Send` and `RequestRefresh` (never re-enters the engine channel).
    pub(super) async fn write_to_peer(&mut self, msg: ToPeer) {
        let Some(id) = self
            .fsm
            .main_conn()
            .filter(|_| self.fsm.state() == State::Established)
        else {
            return;
        };
        match msg {
            ToPeer::Send(updates) => {
                let mut out = BytesMut::new();
                let mut count = 0u64;
                for u in &updates {
                    match encode_update(u, &self.codec, &mut out) {
                        Ok(n) => count += n as u64,
                        Err(e) => warn!(error = %e, "cannot encode UPDATE; skipped"),
                    }
                    // Hand over in chunks so the writer's bounded queue paces us.
                    if out.len() >= WRITE_CHUNK {
                        self.write(id, out.split()).await;
                    }
                }
                if !out.is_empty() {
                    self.write(id, out).await;
                }
                self.metric_labels(|n, l| {
                    METRICS
                        .messages_sent_total
                        .with_label_values(&[n, l, "update"])
                        .inc_by(count)
                });
            }
            ToPeer::Wire(e) if e.codec == self.codec => {
                let kind = control::piece_type(&e);
                let mut bytes = e.bytes().clone();
                // Hand over in chunks so the writer's bounded queue paces us.
                while !bytes.is_empty() {
                    let n = bytes.len().min(WRITE_CHUNK);
                    self.write_bytes(id, bytes.split_to(n)).await;
                }
                self.metric_labels(|n, l| {
                    METRICS
                        .messages_sent_total
                        .with_label_values(&[n, l, kind])
                        .inc_by(e.messages())
                });
            }
            ToPeer::Wire(e) => {
                // Encoded for another codec (cannot happen while the engine
                // gets one channel per session; kept correct regardless).
                match e.updates() {
                    Ok(updates) => Box::pin(self.write_to_peer(ToPeer::Send(updates))).await,
                    Err(err) => warn!(error = %err, "cannot re-encode UPDATEs; skipped"),
                }
            }
            ToPeer::RequestRefresh { afi, safi } => {
                if self.fsm.negotiated().is_some_and(|n| n.route_refresh) {
                    let m = Message::RouteRefresh(RouteRefresh {
                        afi,
                        safi,
                        subtype: 0,
                    });
                    self.send(id, &m).await;
                }
            }
            ToPeer::Teardown { .. } | ToPeer::ImportEval(_) => {}
        }
    }

    pub(super) async fn send(&mut self, id: ConnId, msg: &Message) {
        let mut out = BytesMut::new();
        let codec = if self.fsm.main_conn() == Some(id) {
            self.codec
        } else {
            Codec::default()
        };
        if let Err(e) = msg.encode(&codec, &mut out) {
            warn!(error = %e, "cannot encode message");
            return;
        }
        if let Message::Notification(n) = msg {
            self.count_notification("sent", n.code, n.subcode);
            self.log_notification(true, n);
            info!(notification = %codes::describe(n), "sending NOTIFICATION");
            if self.to_peer.is_some() && self.fsm.main_conn() == Some(id) {
                self.down_cause = Some(DownCause::Sent(n.clone()));
            }
        }
        let t = type_name(msg);
        self.metric_labels(|n, l| {
            METRICS
                .messages_sent_total
                .with_label_values(&[n, l, t])
                .inc()
        });
        self.write(id, out).await;
    }

    pub(super) async fn write(&mut self, id: ConnId, out: BytesMut) {
        self.write_bytes(id, out.freeze()).await
    }

    pub(super) async fn write_bytes(&mut self, id: ConnId, out: bytes::Bytes) {
        if let Some(c) = self.conns.get(&id) {
            if !c.write(out).await {
                debug!(conn = id.0, "writer gone");
            }
        }
    }

    pub(super) fn count_received(&mut self, t: &'static str) {
        let Some(i) = super::RECEIVED_TYPES.iter().position(|&x| x == t) else {
            self.metric_labels(|n, l| {
                METRICS
                    .messages_received_total
                    .with_label_values(&[n, l, t])
                    .inc()
            });
            return;
        };
        if self.received[i].is_none() {
            let c = METRICS.messages_received_total.with_label_values(&[
                &self.name,
                &self.neighbor.location,
                t,
            ]);
            self.received[i] = Some(c);
        }
        if let Some(c) = &self.received[i] {
            c.inc();
        }
    }

    pub(super) fn count_notification(&self, dir: &str, code: u8, sub: u8) {
        let (c, s) = (code.to_string(), sub.to_string());
        self.metric_labels(|n, l| {
            METRICS
                .notifications_total
                .with_label_values(&[n, l, dir, &c, &s])
                .inc()
        });
    }

    /// Tells the engine about a NOTIFICATION (for `show neighbor NAME`);
    /// telemetry, so never waited for.
    pub(super) fn log_notification(&self, sent: bool, n: &crate::wire::Notification) {
        let msg = Input::Notification {
            neighbor: self.name.clone(),
            record: crate::messages::detail::NotificationRecord {
                sent,
                notification: n.clone(),
            },
        };
        if self.engine.try_send(msg.into()).is_err() {
            debug!("route engine busy; NOTIFICATION record dropped");
        }
    }

    pub(super) fn update_uptime(&mut self) {
        if self.fsm.state() == State::Established {
            let now = Instant::now();
            if self
                .uptime_set
                .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
            {
                return;
            }
            self.uptime_set = Some(now);
            if let Some(up) = self.fsm.established_for(now) {
                self.metric_labels(|n, l| {
                    METRICS
                        .session_uptime_seconds
                        .with_label_values(&[n, l])
                        .set(up.as_secs() as i64)
                });
            }
        }
    }

    /// `session_state`: 1 for `state`, 0 for the others.
    pub(super) fn publish_state(&self, state: State) {
        self.metric_labels(|n, l| {
            for s in State::ALL {
                METRICS
                    .session_state
                    .with_label_values(&[n, l, s.as_str()])
                    .set(i64::from(s == state));
            }
        });
    }

    /// Takes the neighbor's new configuration ([`super::Command::Update`]:
    /// only keys the session keeps changed). A new `location` moves the
    /// task's series to the new label: the old label's series go (the
    /// reload dropped them already, but this task may have written some
    /// since), the cached counters are resolved again, the state and the
    /// uptime are set under the new label at once.
    pub(super) fn update_config(
        &mut self,
        neighbor: std::sync::Arc<crate::config::NeighborConfig>,
    ) {
        let old = std::mem::replace(&mut self.neighbor, neighbor);
        if old.location == self.neighbor.location {
            return;
        }
        crate::metrics::forget_neighbor_at(&self.name, &old.location);
        self.received = Default::default();
        self.uptime_set = None;
        if let Some(state) = self.reported {
            self.publish_state(state);
        }
        self.update_uptime();
    }

    pub(super) fn metric_labels(&self, f: impl FnOnce(&str, &str)) {
        f(&self.name, &self.neighbor.location)
    }
}
