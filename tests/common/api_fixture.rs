//! Shared fixture of the `api_*` integration tests
//! (`use common::api_fixture as fixture;`): the API server on 127.0.0.1:0
//! in front of a fake route engine task that answers `ToEngine::Query`
//! with fixed views, plus a blocking HTTP helper.

use coldpotato::api::ApiServer;
use coldpotato::messages::detail::{
    AdjRibOutRoute, BfdDetailView, CapabilitiesView, FamilyCounters, GracefulRestartView,
    MessageCounts, NeighborDetail, NotificationView, TimersView,
};
use coldpotato::messages::paging;
use coldpotato::messages::views::{
    AsPathElem, AuditCheck, AuditReport, AuditStatus, AuditSummary, DecisionView, EventView,
    NeighborView, PartnerAudit, RouteView,
};
use coldpotato::messages::{Query, QueryReply, ToEngine};
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A running API server; stops it on drop.
pub struct Api {
    pub addr: SocketAddr,
    /// Debug renderings of the queries the fake engine received.
    pub queries: Arc<Mutex<Vec<String>>>,
    shutdown: Option<oneshot::Sender<()>>,
    pub server: Option<JoinHandle<io::Result<()>>>,
}

impl Api {
    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Signals shutdown and waits for the server to return.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(h) => match tokio::time::timeout(Duration::from_secs(5), h).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => Err(io::Error::other(e.to_string())),
                Err(_) => Err(io::Error::other("server did not stop within 5 s")),
            },
            None => Ok(()),
        }
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.abort();
        }
    }
}

/// Starts the server in front of the fake engine.
pub async fn start() -> Api {
    let (tx, rx) = mpsc::channel(64);
    let queries = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(fake_engine(rx, queries.clone()));
    start_with(tx, queries, None).await
}

/// Starts the server in front of `engine` (which the test controls),
/// optionally with short timeouts.
pub async fn start_with(
    engine: mpsc::Sender<ToEngine>,
    queries: Arc<Mutex<Vec<String>>>,
    timeout: Option<Duration>,
) -> Api {
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut server = match ApiServer::bind(addr, engine).await {
        Ok(s) => s,
        Err(e) => panic!("bind 127.0.0.1:0: {e}"),
    };
    if let Some(t) = timeout {
        server = server.with_timeouts(t, t);
    }
    let addr = match server.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("local_addr: {e}"),
    };
    let (stx, srx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async move {
        let _ = srx.await;
    }));
    Api {
        addr,
        queries,
        shutdown: Some(stx),
        server: Some(handle),
    }
}

/// Answers queries with the fixed views below, filtering like the engine
/// would (prefix, accepted-only unless `all`, events above `since`).
/// A subscription to the event stream gets the fixed events after `since`
/// and a live channel that stays silent.
pub async fn fake_engine(mut rx: mpsc::Receiver<ToEngine>, log: Arc<Mutex<Vec<String>>>) {
    let (live, _) = tokio::sync::broadcast::channel(16);
    while let Some(msg) = rx.recv().await {
        let (q, reply) = match msg {
            ToEngine::Query(q, reply) => (q, reply),
            ToEngine::SubscribeEvents { since, reply } => {
                let backlog = events()
                    .into_iter()
                    .filter(|e| since.is_some_and(|s| e.seq > s))
                    .collect();
                let _ = reply.send(coldpotato::messages::EventSubscription {
                    backlog,
                    live: live.subscribe(),
                    last_seq: 3,
                });
                continue;
            }
            _ => continue,
        };
        if let Ok(mut l) = log.lock() {
            l.push(format!("{q:?}"));
        }
        let answer = match q {
            Query::Neighbors => QueryReply::Neighbors(neighbors()),
            Query::Routes { prefix, all, .. } => QueryReply::Routes(
                routes()
                    .into_iter()
                    .filter(|r| prefix.is_none_or(|p| r.prefix == p.to_string()))
                    .filter(|r| all || r.status == "accepted")
                    .collect(),
            ),
            Query::Decisions => QueryReply::Decisions(decisions()),
            Query::Events { since } => {
                QueryReply::Events(events().into_iter().filter(|e| e.seq > since).collect())
            }
            Query::Audit { peer_asn } => QueryReply::Audit(audit(peer_asn)),
            Query::RoutesPage(q) => routes_page(&q),
            Query::Neighbor { name } if name == "contoso-ams-er1" => {
                QueryReply::Neighbor(Box::new(neighbor_detail()))
            }
            Query::AdjRibOut { name, after, limit } if name == "contoso-ams-er1" => {
                let (routes, next) = paging::page_of(
                    adj_rib_out(),
                    |r| paging::RouteKey::new(r.prefix.parse().unwrap_or_default(), &name),
                    after.as_ref(),
                    limit,
                );
                QueryReply::AdjRibOut { routes, next }
            }
            Query::Neighbor { name } | Query::AdjRibOut { name, .. } => {
                QueryReply::UnknownNeighbor(name)
            }
            Query::Config => QueryReply::Config(serde_json::json!({
                "router": {"asn": 8075, "router_id": "198.51.100.1"},
                "neighbors": [{"name": "contoso-ams-er1", "password": "<redacted>", "remote_as": 64500}]
            })),
        };
        let _ = reply.send(answer);
    }
}

/// `Query::RoutesPage` over the fixed routes, filtered and paged as the
/// engine does.
fn routes_page(q: &paging::RoutesQuery) -> QueryReply {
    if let Some(n) = q
        .neighbor
        .as_ref()
        .filter(|n| !n.starts_with("contoso-ams-er"))
    {
        return QueryReply::UnknownNeighbor(n.clone());
    }
    let list = routes()
        .into_iter()
        .filter(|r| q.neighbor.as_ref().is_none_or(|n| r.neighbor == *n))
        .filter(|r| q.prefix.is_none_or(|p| r.prefix == p.to_string()))
        .filter(|r| q.status.keeps_status(&r.status));
    let (routes, next) = paging::page_of(
        list,
        |r| paging::RouteKey::new(r.prefix.parse().unwrap_or_default(), &r.neighbor),
        q.after.as_ref(),
        q.limit,
    );
    QueryReply::RoutesPage(paging::RoutePage { routes, next })
}

/// What `GET /api/v1/neighbors/contoso-ams-er1` answers.
pub fn neighbor_detail() -> NeighborDetail {
    NeighborDetail {
        summary: neighbors().remove(0),
        local_as: 8075,
        session_type: "ebgp".into(),
        local_address: Some("192.0.2.1".into()),
        remote_address: Some("192.0.2.2".into()),
        remote_id: Some("192.0.2.2".into()),
        capabilities: Some(CapabilitiesView {
            four_octet_as: true,
            families: vec!["ipv4-unicast".into(), "ipv6-unicast".into()],
            route_refresh: true,
            enhanced_route_refresh: true,
            extended_message: false,
            graceful_restart: Some(GracefulRestartView {
                restart_time_s: 120,
                restarting: false,
                families: vec!["ipv4-unicast".into()],
            }),
            add_path_receive: vec![],
            local_role: Some("peer".into()),
            remote_role: Some("peer".into()),
        }),
        timers: TimersView {
            hold_time_configured_s: 90,
            hold_time_negotiated_s: Some(90),
            keepalive_ms: Some(30_000),
            send_hold_time_s: Some(480),
        },
        bfd: BfdDetailView {
            state: "Up".into(),
            diagnostic_code: Some(0),
            diagnostic: Some("No Diagnostic".into()),
            min_tx_ms: Some(300),
            min_rx_ms: Some(300),
            multiplier: Some(3),
            rx_interval_ms: Some(251.2),
            rx_jitter_ms: Some(12.4),
            detection_time_ms: None,
            remote_discriminator: None,
        },
        families: vec![
            FamilyCounters {
                family: "ipv4-unicast".into(),
                received: 3,
                accepted: 2,
                rejected: 1,
                advertised: 1,
                withdrawn: 4,
            },
            FamilyCounters {
                family: "ipv6-unicast".into(),
                received: 0,
                accepted: 0,
                rejected: 0,
                advertised: 0,
                withdrawn: 0,
            },
        ],
        messages: MessageCounts {
            received: BTreeMap::from([("keepalive".to_string(), 120), ("update".to_string(), 3)]),
            sent: BTreeMap::from([("keepalive".to_string(), 121), ("open".to_string(), 1)]),
            received_total: 123,
            sent_total: 122,
        },
        last_notification_sent: None,
        last_notification_received: Some(NotificationView {
            code: 6,
            subcode: 2,
            code_name: "Cease".into(),
            subcode_name: Some("Administrative Shutdown".into()),
            shutdown_communication: Some("maintenance".into()),
            text: "Cease/Administrative Shutdown: \"maintenance\"".into(),
            time_ms: 1_764_806_400_000,
            age_s: 3_600,
        }),
    }
}

/// What `GET /api/v1/neighbors/contoso-ams-er1/adj-rib-out` holds.
pub fn adj_rib_out() -> Vec<AdjRibOutRoute> {
    ["198.51.100.0/24", "198.51.101.0/24", "2001:db8:1::/48"]
        .iter()
        .map(|p| AdjRibOutRoute {
            prefix: p.to_string(),
            next_hop: Some("192.0.2.1".into()),
            as_path: vec![AsPathElem::Asn(8075)],
            origin: "igp".into(),
            local_pref: None,
            med: None,
            communities: vec!["8075:100".into()],
            large_communities: vec![],
        })
        .collect()
}

/// A blocking GET/other-method request: (status, content type, body).
pub fn request(method: &str, url: &str) -> (u16, String, String) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let resp = match agent.request(method, url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let ct = resp.header("content-type").unwrap_or("").to_string();
    let mut body = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut resp.into_reader(), &mut body) {
        panic!("{method} {url}: reading body: {e}");
    }
    (status, ct, body)
}

/// [`request`] with GET, off the async runtime.
pub async fn get(url: String) -> (u16, String, String) {
    match tokio::task::spawn_blocking(move || request("GET", &url)).await {
        Ok(r) => r,
        Err(e) => panic!("request task: {e}"),
    }
}

/// Parses a JSON body or fails the test with the body.
pub fn json(body: &str) -> serde_json::Value {
    match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {body}"),
    }
}

pub fn neighbors() -> Vec<NeighborView> {
    vec![NeighborView {
        name: "contoso-ams-er1".into(),
        address: "192.0.2.2".into(),
        remote_as: 64500,
        location: "ams".into(),
        role: "peering-service".into(),
        state: "Established".into(),
        bfd_state: "Up".into(),
        uptime_s: 3_723,
        prefixes_received: 3,
        prefixes_accepted: 2,
        prefixes_rejected: BTreeMap::from([("private-asn".to_string(), 1)]),
        last_error: None,
        state_since_s: 0,
        last_error_age_s: None,
        rfc8212: None,
        rtt_ms: Some(20.5),
        rtt_var_ms: Some(0.72),
        bfd_rx_interval_ms: None,
        bfd_rx_jitter_ms: None,
    }]
}

fn route(prefix: &str, status: &str, rule: Option<&str>) -> RouteView {
    RouteView {
        prefix: prefix.into(),
        neighbor: "contoso-ams-er1".into(),
        peer: "192.0.2.2".into(),
        as_path: vec![AsPathElem::Asn(64500), AsPathElem::Set(vec![64501, 64502])],
        origin: "igp".into(),
        communities: vec!["8075:8007".into()],
        large_communities: vec!["8075:100:1".into()],
        next_hop: Some("192.0.2.2".into()),
        local_pref: Some(100),
        med: None,
        status: status.into(),
        rule: rule.map(str::to_string),
        reason: rule.map(|r| format!("rejected by {r}")),
        best: status == "accepted",
        internet: false,
        rpki: None,
    }
}

pub fn routes() -> Vec<RouteView> {
    // One path per (prefix, neighbor), as in the RIB: the rejected path
    // for 203.0.113.0/24 comes from the other session.
    let mut rejected = route("203.0.113.0/24", "rejected", Some("private-asn"));
    rejected.neighbor = "contoso-ams-er2".into();
    rejected.peer = "192.0.2.6".into();
    vec![
        route("203.0.113.0/24", "accepted", None),
        route("198.51.100.0/24", "accepted", None),
        rejected,
        route("2001:db8:100::/48", "stale", None),
    ]
}

pub fn decisions() -> Vec<DecisionView> {
    vec![DecisionView {
        prefix: "203.0.113.0/24".into(),
        peer_asn: 64500,
        state: "primary".into(),
        location: Some("ams".into()),
        primary: "ams".into(),
        backup: Some("fra".into()),
        neighbors: vec!["contoso-ams-er1".into()],
        local_pref: 300,
        community: Some("8075:1001".into()),
        reason: "1 session up at primary ams".into(),
        changed_at: 1_795_307_976,
    }]
}

pub fn events() -> Vec<EventView> {
    (1..=3)
        .map(|seq| EventView {
            seq,
            time_ms: 1_795_307_976_000 + seq,
            kind: "bfd-flap".into(),
            neighbor: Some("contoso-ams-er1".into()),
            prefix: None,
            message: format!("flap {seq}"),
            evidence: serde_json::json!({ "transitions": seq }),
        })
        .collect()
}

fn check(req: &str, status: AuditStatus, message: &str, location: Option<&str>) -> AuditCheck {
    AuditCheck {
        requirement: req.into(),
        status,
        message: message.into(),
        location: location.map(str::to_string),
        prefix: None,
        neighbor: None,
    }
}

/// A two-partner audit (AS64500 compliant, AS64512 not), filtered by `peer_asn`.
pub fn audit(peer_asn: Option<u32>) -> AuditReport {
    let partners: Vec<PartnerAudit> = vec![
        PartnerAudit {
            peer_asn: 64500,
            compliant: true,
            pass: 2,
            warn: 0,
            fail: 0,
            locations: vec!["ams".into()],
            sessions: vec!["contoso-ams-er1".into(), "contoso-ams-er2".into()],
            prefixes: vec!["203.0.113.0/24".into()],
            checks: vec![
                check(
                    "public-asn",
                    AuditStatus::Pass,
                    "partner ASN 64500 is public",
                    None,
                ),
                check(
                    "local-redundancy",
                    AuditStatus::Pass,
                    "2 sessions in location ams on routers ams-er1, ams-er2",
                    Some("ams"),
                ),
            ],
        },
        PartnerAudit {
            peer_asn: 64512,
            compliant: false,
            pass: 0,
            warn: 0,
            fail: 1,
            locations: vec![],
            sessions: vec![],
            prefixes: vec![],
            checks: vec![check(
                "public-asn",
                AuditStatus::Fail,
                "partner ASN 64512 is private (RFC 6996); a public ASN is required",
                None,
            )],
        },
    ]
    .into_iter()
    .filter(|p| peer_asn.is_none_or(|a| a == p.peer_asn))
    .collect();
    AuditReport {
        generated_at_ms: 1_795_307_976_000,
        local_asn: 8075,
        summary: AuditSummary::of(&partners),
        partners,
        not_checked: Vec::new(),
    }
}

/// Gives every metric family of `coldpotato::metrics` a sample, so that
/// `gather()` lists them all (vectors appear only once a label set exists).
pub fn touch_all_metrics(neighbor: &str, location: &str) {
    let m = &*coldpotato::metrics::METRICS;
    let nl = [neighbor, location];
    m.session_state
        .with_label_values(&[neighbor, location, "Established"])
        .set(1);
    m.session_state
        .with_label_values(&[neighbor, location, "Idle"])
        .set(0);
    m.session_uptime_seconds.with_label_values(&nl).set(3_723);
    m.session_established_total.with_label_values(&nl).inc();
    m.messages_received_total
        .with_label_values(&[neighbor, location, "update"])
        .inc_by(10);
    m.messages_sent_total
        .with_label_values(&[neighbor, location, "keepalive"])
        .inc_by(3);
    m.notifications_total
        .with_label_values(&[neighbor, location, "sent", "6", "1"])
        .inc();
    m.prefixes_received.with_label_values(&nl).set(120);
    m.prefixes_accepted.with_label_values(&nl).set(117);
    m.prefixes_rejected
        .with_label_values(&[neighbor, location, "private-asn"])
        .set(3);
    m.prefixes_advertised.with_label_values(&nl).set(250);
    m.max_prefix_utilization_ratio
        .with_label_values(&nl)
        .set(0.24);
    coldpotato::metrics::set_build_info();
    coldpotato::metrics::config_loaded(true);
    m.neighbor_info
        .with_label_values(&[neighbor, "192.0.2.2", "64500", "peering-service", location])
        .set(1);
    m.bfd_state
        .with_label_values(&[neighbor, location, "Up"])
        .set(1);
    m.bfd_transitions_total
        .with_label_values(&[neighbor, location, "Up"])
        .inc();
    m.bfd_detection_time_seconds.with_label_values(&nl).set(0.9);
    m.bfd_last_diagnostic.with_label_values(&nl).set(0);
    m.session_rtt_seconds.with_label_values(&nl).set(0.0205);
    m.session_rtt_variance_seconds
        .with_label_values(&nl)
        .set(0.00075);
    m.bfd_rx_interval_seconds.with_label_values(&nl).set(0.099);
    m.bfd_rx_jitter_seconds.with_label_values(&nl).set(0.006);
    m.decisions.with_label_values(&["primary", location]).set(5);
    m.decision_changes_total
        .with_label_values(&["primary"])
        .inc();
    m.events_total.with_label_values(&["bfd-flap"]).inc();
    m.engine_queue_depth.set(0);
    m.rib_paths.set(120);
    m.rib_attribute_sets.set(7);
    m.engine_update_seconds.with_label_values(&[]).observe(2e-5);
    m.config_reloads_total.with_label_values(&["ok"]).inc();
    let reg = "203.0.113.0/24";
    m.registered_prefix_state
        .with_label_values(&[reg, "primary"])
        .set(1);
    m.registered_prefix_sessions
        .with_label_values(&[reg, "primary"])
        .set(2);
    m.registered_prefix_last_change_timestamp_seconds
        .with_label_values(&[reg])
        .set(1_795_307_976);
    m.registered_prefix_as_registered
        .with_label_values(&[reg, "origin"])
        .set(1);
    m.audit_checks
        .with_label_values(&["64500", "active-active", "fail"])
        .set(0);
}

/// The Grafana dashboard shipped in `config/`.
pub const DASHBOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/grafana-dashboard.json");

/// Parses the dashboard or fails the test.
pub fn dashboard() -> serde_json::Value {
    let text = match std::fs::read_to_string(DASHBOARD) {
        Ok(t) => t,
        Err(e) => panic!("{DASHBOARD}: {e}"),
    };
    match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => panic!("{DASHBOARD} is not JSON: {e}"),
    }
}

/// Every PromQL expression of the dashboard (panel targets and annotations;
/// not the `label_values()` variable queries, which are Grafana syntax).
pub fn dashboard_exprs(v: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                        ("templating", _) => {}
                        _ => walk(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

/// The `coldpotato_*` metric names an expression mentions.
pub fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["coldpotato_", "process_"] {
        let mut rest = expr;
        while let Some(i) = rest.find(prefix) {
            // `process_` inside another name (or a label) is not a metric.
            let inside = rest[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '"');
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if !inside {
                out.push(tail[..end].to_string());
            }
            rest = &tail[end..];
        }
    }
    out
}

/// Grafana variables replaced by values Prometheus accepts.
pub fn substitute_variables(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$instance", ".*")
        .replace("$location", ".*")
        .replace("$neighbor", ".*")
}
