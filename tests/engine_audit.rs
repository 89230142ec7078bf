//! The partner compliance audit through `EngineCore` without sockets: a
//! compliant partner first, then each failure message appears when its
//! cause is introduced (session down, BFD down, a route without 8075:8007,
//! a backup location without sessions, a prefix missing on one session, a
//! private partner ASN, …).

mod common;

use common::engine_lab as lab;

use coldpotato::config::{BfdConfig, LocationConfig, NeighborConfig};
use coldpotato::messages::views::{AuditReport, AuditStatus, PartnerAudit};
use coldpotato::running::Running;
use lab::*;
use std::net::SocketAddr;

/// The partner of the lab configuration.
const PARTNER: u32 = 64500;

/// The lab configuration made compliant: two sessions on two routers in
/// each of two locations, BFD on every session.
fn compliant_cfg() -> Config {
    let mut c = (*cfg("")).clone();
    let bfd = Some(BfdConfig {
        min_tx_ms: 300,
        min_rx_ms: 300,
        multiplier: 3,
    });
    let mut fra2: Option<NeighborConfig> = None;
    for n in &mut c.neighbors {
        let router = match n.name.as_str() {
            "ps-ams-1" => "ams-er1",
            "ps-ams-2" => "ams-er2",
            "ps-fra" => "fra-er1",
            _ => continue,
        };
        n.router = Some(router.to_string());
        n.bfd = bfd;
        if n.name == "ps-fra" {
            let mut second = n.clone();
            second.name = "ps-fra-2".into();
            second.address = "192.0.2.18".parse().unwrap();
            second.router = Some("fra-er2".into());
            fra2 = Some(second);
        }
    }
    c.neighbors.extend(fra2);
    c
}

const PARTNER_SESSIONS: [&str; 4] = ["ps-ams-1", "ps-ams-2", "ps-fra", "ps-fra-2"];

/// Every partner session up with BFD Up, `REG` announced on each.
fn running(c: Config) -> Lab {
    let mut lab = Lab {
        evals: Default::default(),
        core: EngineCore::new(Running::new(c).expect("policies compile")),
        now: Instant::now(),
    };
    for n in PARTNER_SESSIONS {
        lab.up(n);
        lab.bfd(n, BfdStatus::Up);
        lab.update(n, ann(&[REG], &[PARTNER]));
    }
    lab
}

fn report(lab: &Lab, peer_asn: Option<u32>) -> AuditReport {
    match lab.core.query(&Query::Audit { peer_asn }, lab.now) {
        QueryReply::Audit(r) => r,
        other => panic!("unexpected {other:?}"),
    }
}

fn partner(lab: &Lab) -> PartnerAudit {
    let r = report(lab, Some(PARTNER));
    assert_eq!(r.partners.len(), 1, "{r:#?}");
    r.partners.into_iter().next().unwrap()
}

/// Every check as `STATUS requirement: message [neighbor]`, for assertion messages.
fn lines(p: &PartnerAudit) -> String {
    p.checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {} [{}]\n",
                c.status.label(),
                c.requirement,
                c.message,
                c.neighbor.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

/// The check with exactly this status and message exists; returns its neighbor.
fn find(p: &PartnerAudit, status: AuditStatus, message: &str) -> Option<Option<String>> {
    p.checks
        .iter()
        .find(|c| c.status == status && c.message == message)
        .map(|c| c.neighbor.clone())
}

fn assert_fails(p: &PartnerAudit, message: &str) {
    assert!(
        find(p, AuditStatus::Fail, message).is_some(),
        "no FAIL {message:?} in:\n{}",
        lines(p)
    );
    assert!(!p.compliant, "{}", lines(p));
}

#[test]
fn a_partner_with_redundant_bfd_sessions_and_tagged_routes_is_compliant() {
    let lab = running(compliant_cfg());
    let p = partner(&lab);
    assert!(p.compliant, "{}", lines(&p));
    assert_eq!(p.fail, 0, "{}", lines(&p));
    assert_eq!(p.locations, vec!["ams", "fra"]);
    assert_eq!(p.sessions.len(), 4);
    assert_eq!(p.prefixes, vec![REG]);
    for msg in [
        "2 sessions in location ams on routers ams-er1, ams-er2",
        "2 sessions in location fra on routers fra-er1, fra-er2",
        "sessions in 2 locations (ams, fra)",
        "BFD Up on session ps-fra-2",
        "session ps-ams-1 is Established",
        "prefix 203.0.113.0/24 activated: primary ams, backup fra",
        "2 sessions in primary location ams",
        "2 sessions in backup location fra",
        "prefix received on session ps-ams-2",
        "received routes carry community 8075:8007",
        "AS paths pass: no private ASN, length within the limit",
    ] {
        assert!(
            find(&p, AuditStatus::Pass, msg).is_some(),
            "no PASS {msg:?} in:\n{}",
            lines(&p)
        );
    }
    // The lab's documentation ASN and prefix are allowed by its [rules], not public.
    assert!(find(
        &p,
        AuditStatus::Warn,
        "partner ASN 64500 is reserved; a public ASN is required (allowed while reject_reserved_asn is off)"
    )
    .is_some());
    let counted = (p.pass + p.warn + p.fail) as usize;
    assert_eq!(counted, p.checks.len());
    let r = report(&lab, None);
    assert_eq!((r.summary.partners, r.summary.compliant), (1, 1));
    assert_eq!(r.local_asn, 8075);
}

#[test]
fn a_session_down_fails_active_active_and_the_prefix_is_not_received_on_it() {
    let mut lab = running(compliant_cfg());
    lab.down("ps-ams-2", None);
    let p = partner(&lab);
    assert_fails(&p, "session ps-ams-2 is Idle, not Established: test");
    assert_fails(&p, "prefix not received on session ps-ams-2");
}

#[test]
fn bfd_down_on_a_session_fails_the_bfd_requirement() {
    let mut lab = running(compliant_cfg());
    lab.bfd("ps-ams-1", BfdStatus::Down);
    let p = partner(&lab);
    assert_eq!(
        find(&p, AuditStatus::Fail, "BFD Down on session ps-ams-1"),
        Some(Some("ps-ams-1".to_string())),
        "{}",
        lines(&p)
    );
    // Its routes are not used: traffic is no longer active-active at the primary.
    let routing = p
        .checks
        .iter()
        .find(|c| c.requirement == "routing")
        .unwrap();
    assert_eq!(routing.status, AuditStatus::Warn, "{}", lines(&p));
    assert!(
        routing
            .message
            .ends_with("(on 1 of 2 sessions: not active-active)"),
        "{}",
        routing.message
    );
}

#[test]
fn bfd_not_configured_fails_and_the_remote_admin_down_only_warns() {
    let mut c = compliant_cfg();
    c.neighbors.iter_mut().for_each(|n| {
        if n.name == "ps-fra" {
            n.bfd = None;
        }
    });
    let mut lab = running(c);
    lab.bfd("ps-fra-2", BfdStatus::AdminDown);
    let p = partner(&lab);
    assert_fails(&p, "BFD not configured on session ps-fra");
    assert!(find(&p, AuditStatus::Warn, "BFD AdminDown on session ps-fra-2").is_some());
}

#[test]
fn a_route_without_the_peering_service_community_fails_community_tagging() {
    let mut lab = running(compliant_cfg());
    let mut u = ann(&[REG], &[PARTNER]);
    u.attrs.communities.clear();
    lab.update("ps-ams-1", u);
    let p = partner(&lab);
    assert_eq!(
        find(&p, AuditStatus::Fail, "missing community 8075:8007"),
        Some(Some("ps-ams-1".to_string())),
        "{}",
        lines(&p)
    );
    assert!(
        !p.checks
            .iter()
            .any(|c| c.requirement == "community-tagging" && c.status == AuditStatus::Pass),
        "{}",
        lines(&p)
    );
}

#[test]
fn a_private_asn_in_the_as_path_fails_with_the_rib_reason() {
    let mut lab = running(compliant_cfg());
    lab.update("ps-fra", ann(&[REG], &[PARTNER, 64512, PARTNER]));
    let p = partner(&lab);
    assert_fails(&p, "private ASN 64512 in AS path");
}

#[test]
fn a_long_as_path_on_a_prefix_longer_than_24_fails_the_length_rule() {
    let mut c = compliant_cfg();
    let mut long = c.registered_prefixes[0].clone();
    long.prefix = "198.51.100.128/25".parse().unwrap();
    c.registered_prefixes.push(long);
    let mut lab = running(c);
    lab.update(
        "ps-ams-2",
        ann(
            &["198.51.100.128/25"],
            &[PARTNER, PARTNER, PARTNER, PARTNER],
        ),
    );
    let p = partner(&lab);
    assert_eq!(
        find(&p, AuditStatus::Fail, "AS path length should be <= 3"),
        Some(Some("ps-ams-2".to_string())),
        "{}",
        lines(&p)
    );
    let check = p
        .checks
        .iter()
        .find(|c| c.message == "AS path length should be <= 3")
        .unwrap();
    assert_eq!(
        (check.requirement.as_str(), check.prefix.as_deref()),
        ("as-path", Some("198.51.100.128/25"))
    );
}

#[test]
fn an_administratively_shut_down_session_is_named_as_such() {
    let mut c = compliant_cfg();
    for n in &mut c.neighbors {
        if n.name == "ps-fra-2" {
            n.shutdown = true;
        }
    }
    let mut lab = running(c);
    lab.down("ps-fra-2", None);
    let p = partner(&lab);
    assert_fails(
        &p,
        "session ps-fra-2 is administratively shut down (shutdown = true)",
    );
}

#[test]
fn a_backup_location_without_sessions_fails() {
    let mut c = compliant_cfg();
    c.locations.push(LocationConfig {
        name: "lon".into(),
        region: None,
    });
    c.registered_prefixes[0].backup = Some("lon".into());
    let lab = running(c);
    let p = partner(&lab);
    assert_fails(&p, "no sessions in backup location");
    let check = p
        .checks
        .iter()
        .find(|c| c.message == "no sessions in backup location")
        .unwrap();
    assert_eq!(
        (check.location.as_deref(), check.prefix.as_deref()),
        (Some("lon"), Some(REG))
    );
}

#[test]
fn backup_none_passes_as_internet_failover() {
    let mut c = compliant_cfg();
    c.registered_prefixes[0].backup = None; // backup = "none"
    let p = partner(&running(c));
    assert!(p.compliant, "{}", lines(&p));
    assert!(find(
        &p,
        AuditStatus::Pass,
        "backup location none: traffic fails over to the internet"
    )
    .is_some());
}

#[test]
fn a_prefix_withdrawn_on_one_primary_session_is_not_received_on_it() {
    let mut lab = running(compliant_cfg());
    lab.update("ps-ams-1", wd(&[REG]));
    let p = partner(&lab);
    assert_eq!(
        find(
            &p,
            AuditStatus::Fail,
            "prefix not received on session ps-ams-1"
        ),
        Some(Some("ps-ams-1".to_string())),
        "{}",
        lines(&p)
    );
    // Still active-active at the session level: only the prefix is missing.
    assert!(find(&p, AuditStatus::Pass, "session ps-ams-1 is Established").is_some());
}

#[test]
fn a_single_session_at_the_primary_fails_local_redundancy_and_the_primary_check() {
    let mut c = compliant_cfg();
    c.neighbors.retain(|n| n.name != "ps-ams-2");
    let p = partner(&running(c));
    assert_fails(&p, "fewer than two sessions in primary location");
    assert_fails(&p, "fewer than two sessions in location ams (ps-ams-1)");
}

#[test]
fn two_sessions_on_one_router_are_not_redundant_interconnect() {
    let mut c = compliant_cfg();
    for n in &mut c.neighbors {
        if n.name == "ps-ams-2" {
            n.router = Some("ams-er1".into());
        }
    }
    let p = partner(&running(c));
    assert_fails(
        &p,
        "all sessions in location ams end on one router (ams-er1); two routers are required",
    );
}

#[test]
fn sessions_in_one_location_only_fail_geo_redundancy() {
    let mut c = compliant_cfg();
    c.neighbors.retain(|n| !n.name.starts_with("ps-fra"));
    c.registered_prefixes[0].backup = None; // backup = "none"
    let p = partner(&running(c));
    assert_fails(
        &p,
        "sessions in only one location (ams); geo redundancy needs two",
    );
}

#[test]
fn a_private_partner_asn_in_the_configuration_fails_public_asn() {
    let mut lab = running(compliant_cfg());
    let mut c = compliant_cfg();
    for n in &mut c.neighbors {
        if n.name.starts_with("ps-") {
            n.remote_as = 64512;
        }
    }
    c.registered_prefixes[0].peer_asn = 64512;
    lab.input(Input::Reload(Running::new(c).expect("policies compile")));
    let r = report(&lab, Some(64512));
    let p = &r.partners[0];
    assert_fails(
        p,
        "partner ASN 64512 is private (RFC 6996); a public ASN is required",
    );
    assert!(report(&lab, Some(PARTNER)).partners.is_empty());
    assert_eq!(r.summary.compliant, 0);
}

#[test]
fn a_registered_prefix_without_primary_is_not_activated() {
    let mut c = compliant_cfg();
    c.registered_prefixes[0].primary = None;
    let p = partner(&running(c));
    assert_fails(
        &p,
        "prefix 203.0.113.0/24 not activated (no primary location)",
    );
}

#[test]
fn a_partner_known_only_from_a_registered_prefix_has_no_sessions() {
    let mut c = compliant_cfg();
    let mut extra = c.registered_prefixes[0].clone();
    extra.prefix = "198.18.0.0/24".parse().unwrap();
    extra.peer_asn = 3320;
    c.registered_prefixes.push(extra);
    c.rules.reject_bogons = true;
    let lab = running(c);
    let r = report(&lab, Some(3320));
    let p = &r.partners[0];
    assert_fails(p, "no peering-service sessions with AS3320");
    assert_fails(p, "fewer than two sessions in primary location");
    assert_fails(p, "no sessions in backup location");
    assert_fails(p, "bogon prefix 198.18.0.0/24 (in 198.18.0.0/15)");
    assert!(find(p, AuditStatus::Pass, "partner ASN 3320 is public").is_some());
    assert_eq!(report(&lab, None).partners.len(), 2);
}

#[test]
fn unregistered_prefixes_from_the_partner_are_a_warning() {
    let mut lab = running(compliant_cfg());
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[PARTNER]));
    let p = partner(&lab);
    assert!(
        find(
            &p,
            AuditStatus::Warn,
            "1 received prefix not registered to AS64500: 192.0.2.0/24"
        )
        .is_some(),
        "{}",
        lines(&p)
    );
    assert!(p.compliant);
}

#[test]
fn rejected_routes_on_unregistered_prefixes_fail_with_the_rule_and_an_example() {
    let mut lab = running(compliant_cfg());
    lab.update(
        "ps-ams-1",
        ann(&["192.0.2.0/25", "192.0.2.128/25"], &[PARTNER, 65001]),
    );
    let p = partner(&lab);
    assert_fails(
        &p,
        "2 routes rejected by private-asn, e.g. 192.0.2.0/25 on session ps-ams-1: private ASN 65001 in AS path",
    );
    let check = p
        .checks
        .iter()
        .find(|c| c.message.starts_with("2 routes rejected"))
        .unwrap();
    assert_eq!(check.requirement, "as-path");
}

#[test]
fn the_report_serializes_statuses_in_lowercase() {
    let lab = running(compliant_cfg());
    let v = serde_json::to_value(report(&lab, None)).unwrap();
    let checks = v["partners"][0]["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["status"] == "pass"));
    assert!(checks.iter().all(|c| c["requirement"].is_string()));
    assert_eq!(v["summary"]["partners"], 1);
}

/// `REG` from `n` with `path` and `med` (the partner's announcement made
/// less preferred on one session).
fn ann_with(n: &str, lab: &mut Lab, path: &[u32], med: Option<u32>) {
    let mut u = ann(&[REG], path);
    u.attrs.med = med;
    lab.update(n, u);
}

#[test]
fn sessions_at_the_primary_announcing_alike_are_active_active() {
    let lab = running(compliant_cfg());
    let p = partner(&lab);
    assert!(
        find(
            &p,
            AuditStatus::Pass,
            "203.0.113.0/24 announced alike (AS path length, MED) on the 2 sessions at the primary location"
        )
        .is_some(),
        "{}",
        lines(&p)
    );
}

#[test]
fn prepending_on_one_primary_session_is_not_active_active() {
    let mut lab = running(compliant_cfg());
    ann_with("ps-ams-2", &mut lab, &[PARTNER, PARTNER, PARTNER], None);
    let p = partner(&lab);
    assert_fails(
        &p,
        "session ps-ams-2 announces 203.0.113.0/24 with a longer AS path (3 vs 1: prepended), so it only backs up the others: not active-active",
    );
    let who = find(&p, AuditStatus::Fail, "session ps-ams-2 announces 203.0.113.0/24 with a longer AS path (3 vs 1: prepended), so it only backs up the others: not active-active");
    assert_eq!(who, Some(Some("ps-ams-2".to_string())));
}

#[test]
fn a_higher_med_on_one_primary_session_is_not_active_active() {
    let mut lab = running(compliant_cfg());
    ann_with("ps-ams-1", &mut lab, &[PARTNER], Some(100));
    ann_with("ps-ams-2", &mut lab, &[PARTNER], Some(10));
    let p = partner(&lab);
    assert_fails(
        &p,
        "session ps-ams-1 announces 203.0.113.0/24 with a higher MED (100 vs 10), so it only backs up the others: not active-active",
    );
    // The backup location is not held to it: prepending there is the partner's choice.
    let mut lab = running(compliant_cfg());
    ann_with("ps-fra", &mut lab, &[PARTNER, PARTNER], None);
    assert!(partner(&lab).compliant, "{}", lines(&partner(&lab)));
}

#[test]
fn the_report_names_what_a_daemon_cannot_check() {
    let lab = running(compliant_cfg());
    let r = report(&lab, None);
    let all = r.not_checked.join("; ");
    for what in ["LACP", "firewall", "routers to circuits"] {
        assert!(all.contains(what), "{what} not in {all}");
    }
}

#[test]
fn a_full_audit_publishes_its_checks_as_gauges() {
    let mut lab = running(compliant_cfg());
    ann_with("ps-ams-2", &mut lab, &[PARTNER, PARTNER], None);
    let _ = report(&lab, None);
    let g = |check: &str, result: &str| {
        coldpotato::metrics::METRICS
            .audit_checks
            .with_label_values(&["64500", check, result])
            .get()
    };
    assert_eq!(g("active-active", "fail"), 1);
    assert!(
        g("active-active", "pass") >= 4,
        "one per Established session"
    );
    assert_eq!(g("public-asn", "fail"), 0, "zeros are published too");
}

#[test]
fn a_registered_prefix_without_a_primary_gets_no_decision() {
    let mut c = compliant_cfg();
    c.registered_prefixes
        .push(toml::from_str("prefix = \"198.51.100.0/24\"\npeer_asn = 64500").expect("toml"));
    let mut lab = running(c);
    lab.update("ps-ams-1", ann(&["198.51.100.0/24"], &[PARTNER]));
    let decisions = match lab.core.query(&Query::Decisions, lab.now) {
        QueryReply::Decisions(d) => d,
        other => panic!("unexpected {other:?}"),
    };
    let prefixes: Vec<&str> = decisions.iter().map(|d| d.prefix.as_str()).collect();
    assert_eq!(prefixes, [REG], "only the activated prefix has a decision");
    let p = partner(&lab);
    assert_fails(
        &p,
        "prefix 198.51.100.0/24 not activated (no primary location)",
    );
}

#[test]
fn suboptimal_routing_fires_once_per_excursion_from_the_primary() {
    let count = |lab: &Lab| {
        lab.event_kinds()
            .iter()
            .filter(|k| *k == "suboptimal-routing")
            .count()
    };
    let mut lab = running(compliant_cfg());
    assert_eq!(lab.decision(REG).state, "primary");
    assert_eq!(count(&lab), 0, "the primary carries it");
    // Away: both primary sessions down, the prefix only at the backup.
    lab.down("ps-ams-1", None);
    lab.down("ps-ams-2", None);
    assert_eq!(lab.decision(REG).state, "backup");
    assert_eq!(count(&lab), 1);
    // Still away: the same excursion fires nothing more.
    lab.update("ps-fra", ann(&[REG], &[PARTNER]));
    assert_eq!(count(&lab), 1);
    // Back at the primary: nothing fires.
    for n in ["ps-ams-1", "ps-ams-2"] {
        lab.up(n);
        lab.bfd(n, BfdStatus::Up);
        lab.update(n, ann(&[REG], &[PARTNER]));
    }
    assert_eq!(lab.decision(REG).state, "primary");
    assert_eq!(count(&lab), 1);
    // A new excursion fires again.
    lab.down("ps-ams-1", None);
    lab.down("ps-ams-2", None);
    assert_eq!(count(&lab), 2);
}

/// `coldpotato show audit` against the API in front of the real engine task.
fn show_audit(api: SocketAddr, strict: bool) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_coldpotato"));
    cmd.args([
        "show",
        "audit",
        "--api",
        &api.to_string(),
        "--peer-asn",
        "64500",
    ]);
    if strict {
        cmd.arg("--strict");
    }
    let out = cmd.output().expect("the binary runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_audit_exits_1_with_a_session_per_location_down_and_2_on_a_warning_with_strict() {
    use coldpotato::messages::ToEngine;
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let running = Running::new(compliant_cfg()).expect("policies compile");
    let engine = tokio::spawn(coldpotato::engine::run(running, rx));
    let server = coldpotato::api::ApiServer::bind(([127, 0, 0, 1], 0).into(), tx.clone())
        .await
        .expect("bind");
    let api = server.local_addr().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    // The sessions' outputs are kept (and never read: a few UPDATEs fit).
    let mut outputs = Vec::new();
    let send = |m: Input| {
        let tx = tx.clone();
        async move { tx.send(ToEngine::Input(m)).await.expect("engine runs") }
    };
    for n in PARTNER_SESSIONS {
        let (ptx, prx) = tokio::sync::mpsc::channel(64);
        outputs.push(prx);
        for m in ToEngine::session_up(name(n), info("192.0.2.1", "192.0.2.2", PARTNER), ptx) {
            tx.send(m).await.expect("engine runs");
        }
        send(Input::Bfd {
            neighbor: name(n),
            status: BfdStatus::Up,
            diagnostic: 0,
        })
        .await;
        send(Input::Update {
            neighbor: name(n),
            update: ann(&[REG], &[PARTNER]).into(),
            ahead: None,
        })
        .await;
    }
    let check = |strict| tokio::task::spawn_blocking(move || show_audit(api, strict));
    let (code, text) = check(false).await.expect("show runs");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("AS64500: COMPLIANT"), "{text}");
    assert!(
        text.contains("Not checked (a BGP speaker cannot see it): LACP"),
        "{text}"
    );

    // The remote takes BFD AdminDown on one session: a warning only.
    send(Input::Bfd {
        neighbor: name("ps-fra-2"),
        status: BfdStatus::AdminDown,
        diagnostic: 0,
    })
    .await;
    let (code, text) = check(false).await.expect("show runs");
    assert_eq!(code, 0, "a warning alone passes without --strict:\n{text}");
    let (code, text) = check(true).await.expect("show runs");
    assert_eq!(code, 2, "--strict fails on a warning:\n{text}");

    // One session per location down: not compliant, exit 1 (with --strict too).
    for n in ["ps-ams-2", "ps-fra-2"] {
        send(Input::SessionDown {
            neighbor: name(n),
            reason: "test".into(),
            graceful_restart: None,
        })
        .await;
    }
    let (code, text) = check(false).await.expect("show runs");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("AS64500: NOT COMPLIANT"), "{text}");
    assert!(text.contains("session ps-ams-2 is"), "{text}");
    assert_eq!(check(true).await.expect("show runs").0, 1);

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), serving).await;
    engine.abort();
    drop(outputs);
}
