//! One forwarder task per neighbor with BFD: carries the BFD service's
//! events to the neighbor's session task (a `watch`), to the engine
//! (`ToEngine::Bfd`, and every few seconds the measured receive interval
//! and jitter) and to the metrics, whose series it removes when it ends.

use super::*;

/// How often a neighbor's BFD receive interval and jitter are published.
const BFD_RX_SAMPLE: Duration = Duration::from_secs(5);

/// A neighbor's BFD receive-interval series, removed when BFD leaves Up
/// and when its forwarder ends (or is aborted: the neighbor or its BFD
/// went away).
struct BfdRxSeries {
    labels: [String; 2],
    shown: bool,
}

impl BfdRxSeries {
    fn set(&mut self, interval: Duration, jitter: Duration) {
        let l = [self.labels[0].as_str(), self.labels[1].as_str()];
        METRICS
            .bfd_rx_interval_seconds
            .with_label_values(&l)
            .set(interval.as_secs_f64());
        METRICS
            .bfd_rx_jitter_seconds
            .with_label_values(&l)
            .set(jitter.as_secs_f64());
        self.shown = true;
    }

    fn clear(&mut self) {
        if std::mem::take(&mut self.shown) {
            let l = [self.labels[0].as_str(), self.labels[1].as_str()];
            let _ = METRICS.bfd_rx_interval_seconds.remove_label_values(&l);
            let _ = METRICS.bfd_rx_jitter_seconds.remove_label_values(&l);
        }
    }
}

impl Drop for BfdRxSeries {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Carries BFD events for one neighbor to its peer task (watch), the engine
/// (`ToEngine::Bfd`) and the metrics; every [`BFD_RX_SAMPLE`] while Up, the
/// measured receive interval and jitter too (metrics and `Input::BfdRx`).
pub(super) async fn forward_bfd(
    n: Arc<NeighborConfig>,
    mut events: watch::Receiver<BfdEvent>,
    to_peer: watch::Sender<BfdStatus>,
    engine: mpsc::Sender<ToEngine>,
) {
    let name: Arc<str> = n.name.as_str().into();
    let labels = [n.name.as_str(), n.location.as_str()];
    let mut last: Option<BfdStatus> = None;
    let mut rx_series = BfdRxSeries {
        labels: [n.name.clone(), n.location.clone()],
        shown: false,
    };
    let mut rx_tick = tokio::time::interval(BFD_RX_SAMPLE);
    rx_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let ev = *events.borrow_and_update();
        // A session that went down because the remote set AdminDown is not
        // a path failure: the client keeps its session (RFC 5882 §3.2).
        let status = if ev.state == BfdState::Down && ev.remote_state == BfdState::AdminDown {
            BfdStatus::AdminDown
        } else {
            ev.status()
        };
        if last != Some(status) {
            for s in ["AdminDown", "Down", "Init", "Up"] {
                METRICS
                    .bfd_state
                    .with_label_values(&[labels[0], labels[1], s])
                    .set(i64::from(s == status.as_str()));
            }
            METRICS
                .bfd_transitions_total
                .with_label_values(&[labels[0], labels[1], status.as_str()])
                .inc();
            METRICS
                .bfd_last_diagnostic
                .with_label_values(&labels)
                .set(i64::from(ev.diag.code()));
            if let Some(t) = ev.detection_time {
                METRICS
                    .bfd_detection_time_seconds
                    .with_label_values(&labels)
                    .set(t.as_secs_f64());
            }
            if status != BfdStatus::Up {
                rx_series.clear();
            }
            if last.is_some() || status != BfdStatus::Down {
                if status == BfdStatus::Down {
                    warn!(neighbor = %name, "BFD {} (diag {})", status.as_str(), ev.diag.code());
                } else {
                    info!(neighbor = %name, "BFD {} (diag {})", status.as_str(), ev.diag.code());
                }
            }
            last = Some(status);
            let _ = to_peer.send(status);
            let _ = engine
                .send(
                    Input::Bfd {
                        neighbor: name.clone(),
                        status,
                        diagnostic: ev.diag.code(),
                    }
                    .into(),
                )
                .await;
        }
        tokio::select! {
            r = events.changed() => {
                if r.is_err() {
                    return;
                }
            }
            _ = rx_tick.tick() => {
                // The service updates the figures without notifying.
                let ev = *events.borrow();
                if let (Some(BfdStatus::Up), BfdState::Up, Some(interval), Some(jitter)) =
                    (last, ev.state, ev.rx_interval, ev.rx_jitter)
                {
                    rx_series.set(interval, jitter);
                    // Telemetry: dropped, not waited for, when the engine is busy.
                    let _ = engine.try_send(
                        Input::BfdRx {
                            neighbor: name.clone(),
                            interval,
                            jitter,
                        }
                        .into(),
                    );
                }
            }
        }
    }
}
