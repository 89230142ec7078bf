//! The per-neighbor detail view (`Query::Neighbor`, `show neighbor NAME`)
//! and the configuration in effect (`Query::Config`, `show config`),
//! computed inside the route engine task from its own state and from what
//! the session tasks report about themselves (`Input::SessionDetail`,
//! `Input::Notification`, kept in `Neighbor::detail`).

use super::core::EngineCore;
use super::neighbor::Neighbor;
use crate::messages::detail::{
    BfdDetailView, CapabilitiesView, FamilyCounters, GracefulRestartView, MessageCounts,
    NeighborDetail, NotificationRecord, NotificationView, SessionDetail, TimersView,
};
use crate::metrics::METRICS;
use crate::rib::PathFlags;
use crate::wire::{Afi, Notification, Prefix, Safi};
use std::time::Instant;

/// The message types the session tasks count (`messages_*_total{type}`).
const MESSAGE_TYPES: [&str; 5] = [
    "open",
    "update",
    "notification",
    "keepalive",
    "route_refresh",
];

/// Keys whose values `show config` never prints.
const SECRET_KEYS: [&str; 4] = ["password", "token", "secret", "token_file"];
/// What a secret is printed as.
pub const REDACTED: &str = "<redacted>";

fn family_name(afi: Afi, safi: Safi) -> String {
    let a = match afi {
        Afi::IPV4 => "ipv4".to_string(),
        Afi::IPV6 => "ipv6".to_string(),
        Afi(n) => format!("afi{n}"),
    };
    let s = match safi {
        Safi::UNICAST => "unicast".to_string(),
        Safi(n) => format!("safi{n}"),
    };
    format!("{a}-{s}")
}

/// RFC 5880 §4.1 diagnostic names.
fn bfd_diag_name(code: u8) -> &'static str {
    match code {
        0 => "No Diagnostic",
        1 => "Control Detection Time Expired",
        2 => "Echo Function Failed",
        3 => "Neighbor Signaled Session Down",
        4 => "Forwarding Plane Reset",
        5 => "Path Down",
        6 => "Concatenated Path Down",
        7 => "Administratively Down",
        8 => "Reverse Concatenated Path Down",
        _ => "Reserved",
    }
}

fn notification_view(n: &Notification, at_ms: u64, now_ms: u64) -> NotificationView {
    NotificationView {
        code: n.code,
        subcode: n.subcode,
        code_name: n.code_name(),
        subcode_name: n.subcode_name().map(str::to_string),
        shutdown_communication: n.shutdown_communication(),
        text: n.to_string(),
        time_ms: at_ms,
        age_s: now_ms.saturating_sub(at_ms) / 1000,
    }
}

fn messages(name: &str, location: &str) -> MessageCounts {
    let mut m = MessageCounts::default();
    for t in MESSAGE_TYPES {
        let l = [name, location, t];
        let rx = METRICS
            .messages_received_total
            .get_metric_with_label_values(&l)
            .map_or(0, |c| c.get());
        let tx = METRICS
            .messages_sent_total
            .get_metric_with_label_values(&l)
            .map_or(0, |c| c.get());
        m.received.insert(t.to_string(), rx);
        m.sent.insert(t.to_string(), tx);
        m.received_total += rx;
        m.sent_total += tx;
    }
    m
}

/// Replaces the value of every secret key (at any depth) by [`REDACTED`].
pub fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if SECRET_KEYS.contains(&k.as_str()) && !val.is_null() {
                    *val = serde_json::Value::String(REDACTED.to_string());
                } else {
                    redact(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

impl EngineCore {
    /// Records what a session reported about itself.
    pub(crate) fn session_detail(&mut self, name: &str, detail: SessionDetail) {
        if let Some(nb) = self.by_name.get(name).copied().and_then(|i| self.nb_mut(i)) {
            nb.detail.session = Some(detail);
        }
    }

    /// Records a NOTIFICATION a session sent or received.
    pub(crate) fn notification_log(&mut self, name: &str, r: NotificationRecord, now: Instant) {
        let at = self.wall_ms(now);
        if let Some(nb) = self.by_name.get(name).copied().and_then(|i| self.nb_mut(i)) {
            let slot = if r.sent {
                &mut nb.detail.last_sent
            } else {
                &mut nb.detail.last_received
            };
            *slot = Some((r.notification, at));
        }
    }

    /// `GET /api/v1/neighbors/{name}`; `None` for an unknown name.
    pub(crate) fn neighbor_detail(&self, name: &str, now: Instant) -> Option<NeighborDetail> {
        let idx = *self.by_name.get(name)?;
        let nb = self.nb(idx)?;
        let summary = self
            .neighbor_views(now)
            .into_iter()
            .find(|v| v.name == name)?;
        let now_ms = self.wall_ms(now);
        let session = nb.session.as_ref();
        let sd = session.and(nb.detail.session.as_ref());
        let capabilities = session.map(|s| CapabilitiesView {
            four_octet_as: s.codec.four_octet_as,
            families: s.families.iter().map(|&(a, f)| family_name(a, f)).collect(),
            route_refresh: s.route_refresh,
            enhanced_route_refresh: s.enhanced_route_refresh,
            extended_message: s.codec.extended_message,
            graceful_restart: s.graceful_restart.as_ref().map(|g| GracefulRestartView {
                restart_time_s: g.restart_time,
                restarting: g.restart_state,
                families: g
                    .families
                    .iter()
                    .filter(|f| f.2)
                    .map(|&(a, f, _)| family_name(a, f))
                    .collect(),
            }),
            add_path_receive: [
                (s.codec.add_path_ipv4, Afi::IPV4),
                (s.codec.add_path_ipv6, Afi::IPV6),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|&(_, a)| family_name(a, Safi::UNICAST))
            .collect(),
            local_role: sd.and_then(|d| d.local_role.clone()),
            remote_role: sd.and_then(|d| d.remote_role.clone()),
        });
        let configured_hold = nb.cfg.hold_time_s.unwrap_or(self.cfg.router.hold_time_s);
        let timers = TimersView {
            hold_time_configured_s: u32::from(configured_hold),
            hold_time_negotiated_s: session.map(|s| u32::from(s.hold_time)),
            keepalive_ms: sd.map(|d| d.keepalive_ms),
            send_hold_time_s: sd
                .map(|d| d.send_hold_time_s)
                .or(nb.cfg.send_hold_time_s.map(u64::from)),
        };
        let bfd = BfdDetailView {
            state: nb.bfd.as_str().to_string(),
            diagnostic_code: nb.detail.bfd_diagnostic,
            diagnostic: nb
                .detail
                .bfd_diagnostic
                .map(|d| bfd_diag_name(d).to_string()),
            min_tx_ms: nb.cfg.bfd.map(|b| b.min_tx_ms),
            min_rx_ms: nb.cfg.bfd.map(|b| b.min_rx_ms),
            multiplier: nb.cfg.bfd.map(|b| b.multiplier),
            rx_interval_ms: summary.bfd_rx_interval_ms,
            rx_jitter_ms: summary.bfd_rx_jitter_ms,
            // The BFD forwarder records the agreed detection time in its
            // gauge; the engine reads it there (0: never agreed).
            detection_time_ms: nb
                .cfg
                .bfd
                .and_then(|_| {
                    METRICS
                        .bfd_detection_time_seconds
                        .get_metric_with_label_values(&[&nb.cfg.name, &nb.cfg.location])
                        .ok()
                })
                .map(|g| g.get())
                .filter(|s| *s > 0.0)
                .map(|s| s * 1000.0),
            remote_discriminator: None,
        };
        Some(NeighborDetail {
            local_as: self.cfg.router.asn,
            session_type: if nb.ebgp { "ebgp" } else { "ibgp" }.to_string(),
            local_address: session.map(|s| s.local_address.to_string()),
            remote_address: session.map(|s| s.remote_address.to_string()),
            remote_id: session.map(|s| s.remote_id.to_string()),
            capabilities,
            timers,
            bfd,
            families: self.family_counters(nb),
            messages: messages(&nb.cfg.name, &nb.cfg.location),
            last_notification_sent: nb
                .detail
                .last_sent
                .as_ref()
                .map(|(n, t)| notification_view(n, *t, now_ms)),
            last_notification_received: nb
                .detail
                .last_received
                .as_ref()
                .map(|(n, t)| notification_view(n, *t, now_ms)),
            summary,
        })
    }

    /// Counters per family: one pass over the Adj-RIB-In and the Adj-RIB-Out.
    fn family_counters(&self, nb: &Neighbor) -> Vec<FamilyCounters> {
        let mut c = [[0u64; 4]; 2];
        let fam = |p: &Prefix| usize::from(matches!(p, Prefix::V6(_)));
        for (p, paths) in self.rib.iter() {
            if let Some(e) = paths.iter().find(|e| e.neighbor == nb.idx) {
                let f = fam(&p);
                c[f][0] += 1;
                if e.flags.contains(PathFlags::ACCEPTED) {
                    c[f][1] += 1;
                } else {
                    c[f][2] += 1;
                }
            }
        }
        for (p, _) in self.adj_rib_out(nb.idx).into_iter().flat_map(|o| o.iter()) {
            c[fam(&p)][3] += 1;
        }
        [(Afi::IPV4, 0usize), (Afi::IPV6, 1)]
            .iter()
            .map(|&(afi, f)| FamilyCounters {
                family: family_name(afi, Safi::UNICAST),
                received: c[f][0],
                accepted: c[f][1],
                rejected: c[f][2],
                advertised: c[f][3],
                withdrawn: nb.detail.withdrawn[f],
            })
            .collect()
    }

    /// `GET /api/v1/config`: the configuration in effect (the last one
    /// applied: at start or by the last successful reload), as JSON with
    /// every secret redacted.
    pub(crate) fn config_view(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&*self.cfg).unwrap_or_else(
            |e| serde_json::json!({ "error": format!("cannot serialise the configuration: {e}") }),
        );
        redact(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_nothing_else() {
        let mut v = serde_json::json!({
            "router": {"asn": 8075},
            "neighbors": [
                {"name": "a", "password": "s3cret", "remote_as": 1},
                {"name": "b", "password": null}
            ],
            "api": {"token": "t0k"}
        });
        redact(&mut v);
        assert_eq!(v["neighbors"][0]["password"], REDACTED);
        assert_eq!(v["neighbors"][0]["remote_as"], 1);
        assert!(
            v["neighbors"][1]["password"].is_null(),
            "absent stays absent"
        );
        assert_eq!(v["api"]["token"], REDACTED);
        assert!(!v.to_string().contains("s3cret"));
    }

    #[test]
    fn families_and_diagnostics_have_their_names() {
        assert_eq!(family_name(Afi::IPV6, Safi::UNICAST), "ipv6-unicast");
        assert_eq!(family_name(Afi(25), Safi(70)), "afi25-safi70");
        assert_eq!(bfd_diag_name(1), "Control Detection Time Expired");
        assert_eq!(bfd_diag_name(31), "Reserved");
    }
}
