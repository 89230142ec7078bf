//! Every Prometheus metric of the daemon, declared once, in one registry.
//!
//! Components update these directly; the API serves [`gather`] on
//! `/metrics`. Names follow Prometheus conventions: `coldpotato_` prefix,
//! base units in the name, `_total` for counters; labelled by `neighbor`
//! and `location` where that applies.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::sync::LazyLock;

mod forget;
use forget::forget_other_neighbors;
pub use forget::{forget_neighbor, forget_neighbor_at};

/// The registry `/metrics` serves.
pub static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let r = Registry::new();
    #[cfg(target_os = "linux")]
    {
        // The standard `process_*` names (no namespace), as every exporter.
        let pc = prometheus::process_collector::ProcessCollector::for_self();
        let _ = r.register(Box::new(pc));
    }
    r
});

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    REGISTRY
        .register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

fn float_gauge_vec(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

fn gauge(name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

const NL: &[&str] = &["neighbor", "location"];

/// All metric families.
pub struct Metrics {
    /// 1 for the neighbor's current RFC 4271 state, 0 for the others.
    pub session_state: IntGaugeVec,
    /// Seconds since the session reached Established (0 when not).
    pub session_uptime_seconds: IntGaugeVec,
    /// FSM transitions into Established.
    pub session_established_total: IntCounterVec,
    /// The kernel's smoothed RTT of the Established session's TCP
    /// connection (`TCP_INFO` tcpi_rtt). Absent until measured and while
    /// the session is down: an unknown RTT is not 0.
    pub session_rtt_seconds: GaugeVec,
    /// The RTT's mean deviation (`TCP_INFO` tcpi_rttvar); present with
    /// `session_rtt_seconds`.
    pub session_rtt_variance_seconds: GaugeVec,
    /// BGP messages received, by type.
    pub messages_received_total: IntCounterVec,
    /// BGP messages sent, by type.
    pub messages_sent_total: IntCounterVec,
    /// NOTIFICATIONs sent and received, by direction, code and subcode.
    pub notifications_total: IntCounterVec,
    /// UPDATEs handled by RFC 7606 (attribute discard or treat-as-withdraw),
    /// by action and cause (`malformed`, or `as-zero` for RFC 7607).
    pub update_attribute_errors_total: IntCounterVec,
    /// Prefixes announced by the neighbor (Adj-RIB-In, pre-policy).
    pub prefixes_received: IntGaugeVec,
    /// Prefixes accepted by import policy.
    pub prefixes_accepted: IntGaugeVec,
    /// Prefixes currently rejected, by rule.
    pub prefixes_rejected: IntGaugeVec,
    /// Prefixes advertised to the neighbor (Adj-RIB-Out).
    pub prefixes_advertised: IntGaugeVec,
    /// Prefix count divided by the max-prefix limit (1 = at the limit).
    pub max_prefix_utilization_ratio: GaugeVec,
    /// 1 for the neighbor's current BFD state.
    pub bfd_state: IntGaugeVec,
    /// BFD state changes, by new state.
    pub bfd_transitions_total: IntCounterVec,
    /// Agreed BFD detection time.
    pub bfd_detection_time_seconds: GaugeVec,
    /// Last BFD diagnostic code received or sent.
    pub bfd_last_diagnostic: IntGaugeVec,
    /// Mean interval between the BFD control packets received while Up
    /// (moving average). Absent while BFD is not Up.
    pub bfd_rx_interval_seconds: GaugeVec,
    /// Mean deviation of that interval (the jitter); present with
    /// `bfd_rx_interval_seconds`.
    pub bfd_rx_jitter_seconds: GaugeVec,
    /// Activated prefixes by decision state and location.
    pub decisions: IntGaugeVec,
    /// Decision changes.
    pub decision_changes_total: IntCounterVec,
    /// Events logged, by kind.
    pub events_total: IntCounterVec,
    /// Events not written to the event file, by reason (`queue-full`:
    /// the writer is behind; `write-error`: the file cannot be written).
    pub events_file_dropped_total: IntCounterVec,
    /// Open `GET /api/v1/events/stream` connections.
    pub events_streams: IntGauge,
    /// Messages waiting in the route engine's queue.
    pub engine_queue_depth: IntGauge,
    /// Encoded UPDATE bytes the engine holds for a session that has not
    /// taken them yet (beyond the session's own channel).
    pub export_backlog_bytes: IntGaugeVec,
    /// BFD datagrams dropped unread because the BFD loop was behind.
    pub bfd_datagrams_dropped_total: IntCounterVec,
    /// Inbound BGP connections closed at accept, by reason
    /// (`not-a-neighbor`, `gtsm`, `busy`).
    pub inbound_refused_total: IntCounterVec,
    /// Times a session fell so far behind that the engine dropped its
    /// backlog and resent the affected prefixes from the Adj-RIB-Out.
    pub export_resyncs_total: IntCounterVec,
    /// Paths held in all Adj-RIB-In tables.
    pub rib_paths: IntGauge,
    /// Distinct interned attribute sets.
    pub rib_attribute_sets: IntGauge,
    /// Time to process one UPDATE in the engine.
    pub engine_update_seconds: HistogramVec,
    /// Successful and failed config reloads.
    pub config_reloads_total: IntCounterVec,
    /// 1 when the last reload was applied, 0 when it was refused.
    pub config_last_reload_successful: IntGauge,
    /// When the running config was loaded (start or last applied reload).
    pub config_last_reload_success_timestamp_seconds: IntGauge,
    /// Always 1; the labels say which build runs.
    pub build_info: IntGaugeVec,
    /// Always 1 per configured neighbor; the labels describe it (join on
    /// `neighbor` to add address, ASN, role or location to a query).
    pub neighbor_info: IntGaugeVec,
    /// VRPs held from each RTR cache (RFC 8210).
    pub rpki_vrps: IntGaugeVec,
    /// 1 while the RTR session to the cache is connected.
    pub rpki_session_up: IntGaugeVec,
    /// Adj-RIB-In paths by RPKI validation state (RFC 6811), when RPKI is on.
    pub rpki_routes: IntGaugeVec,
    /// Prefix monitoring, one set per activated registered prefix: 1 for
    /// its decision state (primary, backup, internet, unreachable).
    pub registered_prefix_state: IntGaugeVec,
    /// Established sessions carrying the prefix at its primary and backup
    /// locations (`site`).
    pub registered_prefix_sessions: IntGaugeVec,
    /// When its decision last changed (Unix seconds; alerts use `time() - x`).
    pub registered_prefix_last_change_timestamp_seconds: IntGaugeVec,
    /// 1 while what is received for it is as registered, by `check`
    /// (`origin`: no origin mismatch; `rpki`: no RPKI-invalid route).
    pub registered_prefix_as_registered: IntGaugeVec,
    /// Checks of the last full compliance audit, by partner, requirement
    /// and result (`pass`, `warn`, `fail`).
    pub audit_checks: IntGaugeVec,
    /// 1 while the BMP session to the collector is up (RFC 7854).
    pub bmp_session_up: IntGaugeVec,
    /// BMP messages written to the collector.
    pub bmp_messages_sent_total: IntCounterVec,
    /// BMP sessions closed and re-synced, by reason (`overflow`: the
    /// collector read too slowly; `write-failed`).
    pub bmp_resyncs_total: IntCounterVec,
}

/// The metrics, registered on first use.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let h = HistogramVec::new(
        HistogramOpts::new(
            "coldpotato_engine_update_seconds",
            "Time the route engine spends on one UPDATE",
        )
        .buckets(vec![1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]),
        &[],
    )
    .expect("valid metric");
    REGISTRY
        .register(Box::new(h.clone()))
        .expect("metric registered once");
    Metrics {
        session_state: gauge_vec(
            "coldpotato_session_state",
            "1 for the BGP session's current RFC 4271 state",
            &["neighbor", "location", "state"],
        ),
        session_uptime_seconds: gauge_vec(
            "coldpotato_session_uptime_seconds",
            "Seconds since the session reached Established",
            NL,
        ),
        session_established_total: counter_vec(
            "coldpotato_session_established_total",
            "Transitions into Established",
            NL,
        ),
        session_rtt_seconds: float_gauge_vec(
            "coldpotato_session_rtt_seconds",
            "Smoothed round-trip time of the Established session's TCP connection (kernel TCP_INFO)",
            NL,
        ),
        session_rtt_variance_seconds: float_gauge_vec(
            "coldpotato_session_rtt_variance_seconds",
            "Mean deviation of the session's TCP round-trip time (kernel TCP_INFO)",
            NL,
        ),
        messages_received_total: counter_vec(
            "coldpotato_messages_received_total",
            "BGP messages received",
            &["neighbor", "location", "type"],
        ),
        messages_sent_total: counter_vec(
            "coldpotato_messages_sent_total",
            "BGP messages sent",
            &["neighbor", "location", "type"],
        ),
        notifications_total: counter_vec(
            "coldpotato_notifications_total",
            "NOTIFICATION messages by direction, code and subcode",
            &["neighbor", "location", "direction", "code", "subcode"],
        ),
        update_attribute_errors_total: counter_vec(
            "coldpotato_update_attribute_errors_total",
            "UPDATEs with a malformed attribute handled by RFC 7606, by action and cause",
            &["neighbor", "location", "action", "cause"],
        ),
        prefixes_received: gauge_vec(
            "coldpotato_prefixes_received",
            "Prefixes in the neighbor's Adj-RIB-In (pre-policy)",
            NL,
        ),
        prefixes_accepted: gauge_vec(
            "coldpotato_prefixes_accepted",
            "Prefixes accepted by import policy",
            NL,
        ),
        prefixes_rejected: gauge_vec(
            "coldpotato_prefixes_rejected",
            "Prefixes currently rejected, by rule",
            &["neighbor", "location", "reason"],
        ),
        prefixes_advertised: gauge_vec(
            "coldpotato_prefixes_advertised",
            "Prefixes in the neighbor's Adj-RIB-Out",
            NL,
        ),
        max_prefix_utilization_ratio: float_gauge_vec(
            "coldpotato_max_prefix_utilization_ratio",
            "Prefixes counted against the max-prefix limit divided by the limit (1 = at the limit)",
            NL,
        ),
        bfd_state: gauge_vec(
            "coldpotato_bfd_state",
            "1 for the neighbor's current BFD state",
            &["neighbor", "location", "state"],
        ),
        bfd_transitions_total: counter_vec(
            "coldpotato_bfd_transitions_total",
            "BFD state changes, by new state",
            &["neighbor", "location", "state"],
        ),
        bfd_detection_time_seconds: {
            let g = GaugeVec::new(
                Opts::new(
                    "coldpotato_bfd_detection_time_seconds",
                    "Agreed BFD detection time",
                ),
                NL,
            )
            .expect("valid metric");
            REGISTRY
                .register(Box::new(g.clone()))
                .expect("metric registered once");
            g
        },
        bfd_last_diagnostic: gauge_vec(
            "coldpotato_bfd_last_diagnostic",
            "Last BFD diagnostic code (RFC 5880 §4.1)",
            NL,
        ),
        bfd_rx_interval_seconds: float_gauge_vec(
            "coldpotato_bfd_rx_interval_seconds",
            "Mean interval between BFD control packets received while Up",
            NL,
        ),
        bfd_rx_jitter_seconds: float_gauge_vec(
            "coldpotato_bfd_rx_jitter_seconds",
            "Mean deviation of the interval between BFD control packets received while Up",
            NL,
        ),
        decisions: gauge_vec(
            "coldpotato_decisions",
            "Activated prefixes by decision state and location",
            &["state", "location"],
        ),
        decision_changes_total: counter_vec(
            "coldpotato_decision_changes_total",
            "Decision changes, by new state",
            &["state"],
        ),
        events_total: counter_vec(
            "coldpotato_events_total",
            "Events logged, by kind",
            &["kind"],
        ),
        events_file_dropped_total: counter_vec(
            "coldpotato_events_file_dropped_total",
            "Events not written to the [events] file (kept in memory only), by reason",
            &["reason"],
        ),
        events_streams: gauge(
            "coldpotato_events_streams",
            "Open event streams (GET /api/v1/events/stream)",
        ),
        engine_queue_depth: gauge(
            "coldpotato_engine_queue_depth",
            "Messages waiting in the route engine's queue",
        ),
        export_backlog_bytes: gauge_vec(
            "coldpotato_export_backlog_bytes",
            "Encoded UPDATE bytes waiting in the engine for a session that has not taken them",
            &["neighbor"],
        ),
        bfd_datagrams_dropped_total: counter_vec(
            "coldpotato_bfd_datagrams_dropped_total",
            "BFD datagrams dropped unread because the BFD loop was behind (a flood)",
            &[],
        ),
        inbound_refused_total: counter_vec(
            "coldpotato_inbound_refused_total",
            "Inbound BGP connections closed at accept, by reason (not-a-neighbor, gtsm, busy)",
            &["reason"],
        ),
        export_resyncs_total: counter_vec(
            "coldpotato_export_resyncs_total",
            "Backlogs dropped because a session fell too far behind, then resent from its Adj-RIB-Out",
            &["neighbor"],
        ),
        rib_paths: gauge(
            "coldpotato_rib_paths",
            "Paths held in all Adj-RIB-In tables",
        ),
        rib_attribute_sets: gauge(
            "coldpotato_rib_attribute_sets",
            "Distinct interned path attribute sets",
        ),
        engine_update_seconds: h,
        config_last_reload_successful: gauge(
            "coldpotato_config_last_reload_successful",
            "1 when the last configuration reload was applied, 0 when it was refused",
        ),
        config_last_reload_success_timestamp_seconds: gauge(
            "coldpotato_config_last_reload_success_timestamp_seconds",
            "Unix time the running configuration was loaded",
        ),
        build_info: gauge_vec(
            "coldpotato_build_info",
            "Always 1; version and commit of the running build",
            &["version", "commit"],
        ),
        neighbor_info: gauge_vec(
            "coldpotato_neighbor_info",
            "Always 1 per configured neighbor, labelled with its configuration",
            &["neighbor", "address", "remote_as", "role", "location"],
        ),
        config_reloads_total: counter_vec(
            "coldpotato_config_reloads_total",
            "Configuration reloads, by result",
            &["result"],
        ),
        rpki_vrps: gauge_vec(
            "coldpotato_rpki_vrps",
            "VRPs held from the RTR cache",
            &["server"],
        ),
        rpki_session_up: gauge_vec(
            "coldpotato_rpki_session_up",
            "1 while the RTR session to the cache is connected",
            &["server"],
        ),
        rpki_routes: gauge_vec(
            "coldpotato_rpki_routes",
            "Adj-RIB-In paths by RPKI validation state",
            &["state"],
        ),
        registered_prefix_state: gauge_vec(
            "coldpotato_registered_prefix_state",
            "1 for the registered prefix's current decision state",
            &["prefix", "state"],
        ),
        registered_prefix_sessions: gauge_vec(
            "coldpotato_registered_prefix_sessions",
            "Established sessions carrying the registered prefix at its primary and backup locations",
            &["prefix", "site"],
        ),
        registered_prefix_last_change_timestamp_seconds: gauge_vec(
            "coldpotato_registered_prefix_last_change_timestamp_seconds",
            "When the registered prefix's decision last changed, Unix seconds",
            &["prefix"],
        ),
        registered_prefix_as_registered: gauge_vec(
            "coldpotato_registered_prefix_as_registered",
            "1 while what is received for the registered prefix matches its registration (origin, rpki)",
            &["prefix", "check"],
        ),
        audit_checks: gauge_vec(
            "coldpotato_audit_checks",
            "Checks of the last full partner compliance audit, by partner ASN, requirement and result",
            &["partner", "check", "result"],
        ),
        bmp_session_up: gauge_vec(
            "coldpotato_bmp_session_up",
            "1 while the BMP session to the collector is up",
            &["collector"],
        ),
        bmp_messages_sent_total: counter_vec(
            "coldpotato_bmp_messages_sent_total",
            "BMP messages written to the collector",
            &["collector"],
        ),
        bmp_resyncs_total: counter_vec(
            "coldpotato_bmp_resyncs_total",
            "BMP sessions closed and re-synced, by reason",
            &["collector", "reason"],
        ),
    }
});

/// The Prometheus text exposition of every metric.
pub fn gather() -> String {
    LazyLock::force(&METRICS);
    let mut buf = Vec::new();
    let enc = TextEncoder::new();
    if enc.encode(&REGISTRY.gather(), &mut buf).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// The build's version and commit (`COLDPOTATO_COMMIT`, set by `build.rs`).
pub fn set_build_info() {
    let commit = option_env!("COLDPOTATO_COMMIT").unwrap_or("unknown");
    METRICS
        .build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION"), commit])
        .set(1);
}

/// What `neighbor_info` says of one configured neighbor.
#[derive(Debug, Clone, Copy)]
pub struct NeighborLabels<'a> {
    pub name: &'a str,
    pub address: std::net::IpAddr,
    pub remote_as: u32,
    /// `peering-service`, `transit` or `internal`.
    pub role: &'static str,
    pub location: &'a str,
    /// A `max_prefixes` limit is configured.
    pub max_prefixes: bool,
}

/// Per-neighbor series present from the start: `neighbor_info`, and zero
/// values for every labelled family a neighbor has, so a dashboard or an
/// alert never sees a series appear only when something first happens.
/// Called at start and on each applied reload (the removed neighbors' info
/// goes away).
pub fn register_neighbors<'a>(neighbors: impl IntoIterator<Item = NeighborLabels<'a>>) {
    let m = &*METRICS;
    m.neighbor_info.reset();
    let neighbors: Vec<NeighborLabels<'a>> = neighbors.into_iter().collect();
    forget_other_neighbors(&neighbors);
    for n in neighbors {
        let asn = n.remote_as.to_string();
        let addr = n.address.to_string();
        m.neighbor_info
            .with_label_values(&[n.name, &addr, &asn, n.role, n.location])
            .set(1);
        let l = [n.name, n.location];
        m.session_established_total.with_label_values(&l).inc_by(0);
        m.session_uptime_seconds.with_label_values(&l).add(0);
        m.prefixes_received.with_label_values(&l).add(0);
        m.prefixes_accepted.with_label_values(&l).add(0);
        m.prefixes_advertised.with_label_values(&l).add(0);
        for t in [
            "open",
            "update",
            "notification",
            "keepalive",
            "route_refresh",
        ] {
            let lt = [l[0], l[1], t];
            m.messages_received_total.with_label_values(&lt).inc_by(0);
            m.messages_sent_total.with_label_values(&lt).inc_by(0);
        }
        if n.max_prefixes {
            m.max_prefix_utilization_ratio
                .with_label_values(&l)
                .add(0.0);
        }
    }
}

/// Records a reload's outcome (and the load time when it was applied).
pub fn config_loaded(applied: bool) {
    METRICS
        .config_last_reload_successful
        .set(i64::from(applied));
    if applied {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        METRICS
            .config_last_reload_success_timestamp_seconds
            .set(now as i64);
    }
}
