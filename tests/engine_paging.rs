//! The operator's read views on the route engine itself (`EngineCore`,
//! no sockets): paging `Query::RoutesPage` while routes are announced and
//! withdrawn between pages, the neighbor filter, the Adj-RIB-Out as sent,
//! `Query::Neighbor` with what the session reported, and `Query::Config`
//! with secrets redacted. `COLDPOTATO_PAGING_ROUTES=N` sizes the table of
//! the page-time measurement (default 100,000).

mod common;

use coldpotato::messages::detail::{NotificationRecord, SessionDetail};
use coldpotato::messages::paging::{RouteKey, RoutesQuery, StatusFilter};
use coldpotato::wire::Notification;
use common::engine_lab::*;
use std::collections::BTreeSet;

fn page(lab: &Lab, q: RoutesQuery) -> (Vec<RouteView>, Option<RouteKey>) {
    match lab.core.query(&Query::RoutesPage(q), lab.now) {
        QueryReply::RoutesPage(p) => (p.routes, p.next),
        other => panic!("unexpected reply {other:?}"),
    }
}

fn key(r: &RouteView) -> (Prefix, String) {
    (p(&r.prefix), r.neighbor.clone())
}

/// Prefixes `10.a.b.0/24` for `i` in `range`.
fn nets(range: std::ops::Range<u32>) -> Vec<String> {
    range
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect()
}

fn announce(lab: &mut Lab, from: &str, prefixes: &[String], path: &[u32]) {
    for chunk in prefixes.chunks(500) {
        let v: Vec<&str> = chunk.iter().map(String::as_str).collect();
        lab.update(from, ann(&v, path));
    }
}

fn withdraw(lab: &mut Lab, from: &str, prefixes: &[String]) {
    for chunk in prefixes.chunks(500) {
        let v: Vec<&str> = chunk.iter().map(String::as_str).collect();
        lab.update(from, wd(&v));
    }
}

#[test]
fn every_route_present_throughout_is_paged_exactly_once_while_others_come_and_go() {
    let mut lab = Lab::new("");
    for n in ["ps-ams-1", "ps-ams-2", "transit"] {
        lab.up(n);
    }
    // Stable: 600 prefixes from ps-ams-1, 300 of them also from transit.
    let stable = nets(0..600);
    announce(&mut lab, "ps-ams-1", &stable, &[64500]);
    announce(&mut lab, "transit", &stable[..300], &[3356, 64500]);
    let mut present: BTreeSet<(Prefix, String)> = BTreeSet::new();
    for s in &stable {
        present.insert((p(s), "ps-ams-1".into()));
    }
    for s in &stable[..300] {
        present.insert((p(s), "transit".into()));
    }
    let mut seen: Vec<(Prefix, String)> = Vec::new();
    let mut after = None;
    let mut round = 0u32;
    loop {
        let (routes, next) = page(
            &lab,
            RoutesQuery {
                status: StatusFilter::All,
                after: after.clone(),
                limit: 37,
                ..RoutesQuery::default()
            },
        );
        assert!(routes.len() <= 37);
        seen.extend(routes.iter().map(key));
        // Churn between pages: ps-ams-2 announces a window of the stable
        // prefixes and withdraws the previous one; ps-ams-1 withdraws and
        // re-announces prefixes far ahead of the cursor (not present
        // throughout: they may or may not be listed, but once at most).
        let lo = (round * 53) % 600;
        let window = nets(lo..(lo + 40).min(600));
        announce(&mut lab, "ps-ams-2", &window, &[64500]);
        if round > 0 {
            let prev = (round - 1) * 53 % 600;
            withdraw(&mut lab, "ps-ams-2", &nets(prev..(prev + 40).min(600)));
        }
        let flap = nets(600 + round * 7..600 + round * 7 + 7);
        announce(&mut lab, "ps-ams-1", &flap, &[64500]);
        if round % 2 == 1 {
            withdraw(&mut lab, "ps-ams-1", &flap);
        }
        round += 1;
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
        assert!(round < 1000, "paging does not end");
    }
    let unique: BTreeSet<(Prefix, String)> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no route listed twice");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "pages follow the order"
    );
    let missing: Vec<_> = present.difference(&unique).take(5).collect();
    assert!(
        missing.is_empty(),
        "routes present throughout but never listed: {missing:?}"
    );
    assert!(round > 20, "{round} pages: the walk was actually paged");
}

#[test]
fn the_neighbor_filter_and_status_filter_apply_before_the_limit() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("transit");
    announce(&mut lab, "ps-ams-1", &nets(0..50), &[64500]);
    announce(&mut lab, "transit", &nets(0..50), &[3356]);
    // Private ASN: rejected on the transit session.
    announce(&mut lab, "transit", &nets(50..60), &[3356, 64512]);
    let (routes, next) = page(
        &lab,
        RoutesQuery {
            neighbor: Some("transit".into()),
            limit: 100,
            ..RoutesQuery::default()
        },
    );
    assert_eq!(routes.len(), 50, "accepted from transit only");
    assert!(routes.iter().all(|r| r.neighbor == "transit"));
    assert_eq!(next, None);
    let (routes, next) = page(
        &lab,
        RoutesQuery {
            neighbor: Some("transit".into()),
            status: StatusFilter::Rejected,
            limit: 4,
            ..RoutesQuery::default()
        },
    );
    assert_eq!(routes.len(), 4);
    assert!(routes.iter().all(|r| r.status == "rejected"));
    assert_eq!(routes[0].prefix, "10.0.50.0/24");
    assert_eq!(
        next,
        Some(RouteKey::new(p("10.0.53.0/24"), "transit")),
        "the cursor is the last route listed"
    );
    // A page that ends exactly at the last route has no next.
    let (routes, next) = page(
        &lab,
        RoutesQuery {
            neighbor: Some("transit".into()),
            status: StatusFilter::Rejected,
            limit: 6,
            after: next,
            ..RoutesQuery::default()
        },
    );
    assert_eq!(routes.len(), 6);
    assert_eq!(next, None);
    // Exact prefix with both paths, paged one by one: by neighbor name.
    let (first, next) = page(
        &lab,
        RoutesQuery {
            prefix: Some(p("10.0.7.0/24")),
            limit: 1,
            ..RoutesQuery::default()
        },
    );
    assert_eq!(first[0].neighbor, "ps-ams-1");
    let (second, next) = page(
        &lab,
        RoutesQuery {
            prefix: Some(p("10.0.7.0/24")),
            limit: 1,
            after: next,
            ..RoutesQuery::default()
        },
    );
    assert_eq!(second[0].neighbor, "transit");
    assert_eq!(next, None);
    match lab.core.query(
        &Query::RoutesPage(RoutesQuery {
            neighbor: Some("nobody".into()),
            ..RoutesQuery::default()
        }),
        lab.now,
    ) {
        QueryReply::UnknownNeighbor(n) => assert_eq!(n, "nobody"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn adj_rib_out_is_what_the_internal_neighbor_was_sent() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    announce(&mut lab, "ps-ams-1", &nets(0..30), &[64500, 64501]);
    let out = lab.up("rr1");
    let mut sent: Vec<(Prefix, PathAttributes)> = announced(&out, "rr1");
    sent.sort_by_key(|a| a.0);
    assert!(sent.len() >= 30, "rr1 got the table: {}", sent.len());
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let (routes, next) = match lab.core.query(
            &Query::AdjRibOut {
                name: "rr1".into(),
                after: after.clone(),
                limit: 7,
            },
            lab.now,
        ) {
            QueryReply::AdjRibOut { routes, next } => (routes, next),
            other => panic!("{other:?}"),
        };
        listed.extend(routes);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(listed.len(), sent.len());
    for (r, (prefix, a)) in listed.iter().zip(&sent) {
        assert_eq!(r.prefix, prefix.to_string());
        assert_eq!(r.next_hop, a.next_hop.map(|n| n.to_string()));
        assert_eq!(r.local_pref, a.local_pref, "{}", r.prefix);
        let comms: Vec<String> = a.communities.iter().map(|c| c.to_string()).collect();
        assert_eq!(r.communities, comms, "{}", r.prefix);
        let path: Vec<u32> = a
            .as_path
            .iter()
            .flat_map(|p| p.segments.iter().flat_map(|s| s.asns.clone()))
            .collect();
        let shown: Vec<String> = r
            .as_path
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect();
        assert_eq!(
            shown,
            path.iter().map(u32::to_string).collect::<Vec<_>>(),
            "{}",
            r.prefix
        );
    }
    let learned = listed
        .iter()
        .find(|r| r.prefix == "10.0.3.0/24")
        .expect("a learned route");
    assert_eq!(learned.local_pref, Some(100), "iBGP gets a LOCAL_PREF");
}

#[test]
fn neighbor_detail_has_what_the_session_reported() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.input(Input::SessionDetail {
        neighbor: name("ps-ams-1"),
        detail: SessionDetail {
            local_role: Some("peer".into()),
            remote_role: Some("peer".into()),
            keepalive_ms: 30_000,
            send_hold_time_s: 480,
        },
    });
    announce(&mut lab, "ps-ams-1", &nets(0..10), &[64500]);
    withdraw(&mut lab, "ps-ams-1", &nets(0..3));
    lab.input(Input::Notification {
        neighbor: name("ps-ams-1"),
        record: NotificationRecord {
            sent: false,
            notification: Notification::admin_shutdown("maintenance"),
        },
    });
    let d = match lab.core.query(
        &Query::Neighbor {
            name: "ps-ams-1".into(),
        },
        lab.now,
    ) {
        QueryReply::Neighbor(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(d.summary.name, "ps-ams-1");
    let c = d.capabilities.expect("Established");
    assert_eq!(c.families, ["ipv4-unicast", "ipv6-unicast"]);
    assert!(c.route_refresh && !c.enhanced_route_refresh);
    assert_eq!(c.remote_role.as_deref(), Some("peer"));
    assert_eq!(d.timers.hold_time_negotiated_s, Some(90));
    assert_eq!(d.timers.keepalive_ms, Some(30_000));
    let v4 = &d.families[0];
    assert_eq!(
        (v4.received, v4.accepted, v4.withdrawn),
        (7, 7, 3),
        "{v4:?}"
    );
    let n = d.last_notification_received.expect("recorded");
    assert_eq!((n.code, n.subcode), (6, 2));
    assert_eq!(n.subcode_name.as_deref(), Some("Administrative Shutdown"));
    assert_eq!(n.shutdown_communication.as_deref(), Some("maintenance"));
    assert!(d.last_notification_sent.is_none());
    // Down: no capabilities, the notification stays.
    lab.down("ps-ams-1", None);
    match lab.core.query(
        &Query::Neighbor {
            name: "ps-ams-1".into(),
        },
        lab.now,
    ) {
        QueryReply::Neighbor(d) => {
            assert!(d.capabilities.is_none());
            assert!(d.last_notification_received.is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_config_view_redacts_the_password() {
    let extra = r#"
[[neighbors]]
name = "secret-peer"
address = "192.0.2.30"
remote_as = 64500
location = "ams"
role = "peering-service"
password = "hunter2"
"#;
    let lab = Lab::new(extra);
    let v = match lab.core.query(&Query::Config, lab.now) {
        QueryReply::Config(v) => v,
        other => panic!("{other:?}"),
    };
    let text = v.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    let peer = v["neighbors"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["name"] == "secret-peer"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(peer["password"], "<redacted>");
    assert_eq!(v["router"]["asn"], 8075);
}

/// Not a timed assertion: prints the time a page takes on a large table,
/// the cost of the one pass per page over the hash-table RIB.
#[test]
fn a_page_of_a_large_table_is_one_pass() {
    let n: u32 = std::env::var("COLDPOTATO_PAGING_ROUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut lab = Lab::new("");
    lab.up("transit");
    let all: Vec<String> = (0..n)
        .map(|i| format!("{}.{}.{}.0/24", 20 + i / 65536, (i / 256) % 256, i % 256))
        .collect();
    announce(&mut lab, "transit", &all, &[3356]);
    let mut after = None;
    let mut pages = 0;
    let mut total = 0usize;
    let started = Instant::now();
    let mut first = None;
    loop {
        let t = Instant::now();
        let (routes, next) = page(
            &lab,
            RoutesQuery {
                after: after.clone(),
                limit: 10_000,
                ..RoutesQuery::default()
            },
        );
        first.get_or_insert(t.elapsed());
        total += routes.len();
        pages += 1;
        match next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    let all_pages = started.elapsed();
    assert_eq!(total, n as usize);
    // The pass alone: a page of one route from the middle of the table.
    let t = Instant::now();
    let (one, _) = page(
        &lab,
        RoutesQuery {
            after: Some(RouteKey::new(p("20.0.128.0/24"), "transit")),
            limit: 1,
            ..RoutesQuery::default()
        },
    );
    let pass = t.elapsed();
    assert_eq!(one[0].prefix, "20.0.129.0/24");
    eprintln!(
        "paging {n} routes by 10,000: {pages} pages, first page {:.1} ms, all pages {:.0} ms ({:.1} ms a page); \
         the pass over the table alone (limit 1): {:.1} ms (debug build)",
        first.unwrap_or_default().as_secs_f64() * 1e3,
        all_pages.as_secs_f64() * 1e3,
        all_pages.as_secs_f64() * 1e3 / f64::from(pages),
        pass.as_secs_f64() * 1e3,
    );
}
