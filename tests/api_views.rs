//! The operator's read views over HTTP and through `coldpotato show`,
//! against the API server in front of the fake engine
//! (`common::api_fixture`): paging headers and cursors, precise 400s for a
//! bad `limit` or `after`, 404 naming an unknown neighbor, `show neighbor
//! NAME`, `show adj-rib-out NAME`, `show config`, `show routes --neighbor`.

mod common;

use coldpotato::cli::{run_show, ShowError, ShowOpts, ShowWhat};
use common::api_fixture as fixture;
use fixture::{get, json, start};

async fn show(what: ShowWhat, opts: ShowOpts) -> Result<String, ShowError> {
    match tokio::task::spawn_blocking(move || run_show(what, &opts)).await {
        Ok(r) => r,
        Err(e) => panic!("show task: {e}"),
    }
}

fn opts(api: &fixture::Api) -> ShowOpts {
    ShowOpts {
        api: api.addr.to_string(),
        ..ShowOpts::default()
    }
}

/// GET with the response headers: (status, x-next-cursor, link, body).
async fn get_paged(url: String) -> (u16, Option<String>, Option<String>, String) {
    let r = tokio::task::spawn_blocking(move || {
        let resp = match ureq::get(&url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{url}: {e}"),
        };
        let status = resp.status();
        let cursor = resp.header("x-next-cursor").map(str::to_string);
        let link = resp.header("link").map(str::to_string);
        let body = resp.into_string().unwrap_or_default();
        (status, cursor, link, body)
    })
    .await;
    r.unwrap_or_else(|e| panic!("request task: {e}"))
}

#[tokio::test]
async fn routes_page_by_cursor_with_a_link_to_the_next_page() {
    let api = start().await;
    let mut seen = Vec::new();
    let mut url = api.url("/api/v1/routes?status=all&limit=1");
    let mut pages = 0;
    loop {
        let (status, cursor, link, body) = get_paged(url.clone()).await;
        assert_eq!(status, 200, "{body}");
        let page = json(&body);
        let items = page.as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 1, "{body}");
        seen.extend(
            items
                .iter()
                .map(|r| format!("{} {}", r["prefix"], r["status"])),
        );
        pages += 1;
        match (cursor, link) {
            (Some(c), Some(l)) => {
                assert_eq!(
                    l,
                    format!("</api/v1/routes?status=all&limit=1&after={c}>; rel=\"next\"")
                );
                url = api.url(&format!("/api/v1/routes?status=all&limit=1&after={c}"));
            }
            (None, None) => break,
            other => panic!("cursor and link come together: {other:?}"),
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(
        seen,
        [
            "\"198.51.100.0/24\" \"accepted\"",
            "\"203.0.113.0/24\" \"accepted\"",
            "\"203.0.113.0/24\" \"rejected\"",
            "\"2001:db8:100::/48\" \"stale\""
        ]
    );
    // The last page has no next: the fixture's 4 routes in 4 pages.
    assert_eq!(pages, 4);
}

#[tokio::test]
async fn a_whole_answer_has_no_paging_headers() {
    let api = start().await;
    let (status, cursor, link, body) = get_paged(api.url("/api/v1/routes")).await;
    assert_eq!(status, 200);
    assert_eq!((cursor, link), (None, None));
    assert_eq!(json(&body).as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn bad_limit_and_cursor_are_400_naming_the_parameter() {
    let api = start().await;
    for (path, want) in [
        (
            "/api/v1/routes?limit=0",
            &["\"limit\"", "\"0\"", "from 1 to 10000"][..],
        ),
        ("/api/v1/routes?limit=10001", &["\"limit\"", "10001"][..]),
        ("/api/v1/routes?limit=x", &["\"limit\"", "\"x\""][..]),
        (
            "/api/v1/routes?after=zz",
            &["\"after\"", "\"zz\"", "X-Next-Cursor"][..],
        ),
        (
            "/api/v1/routes?after=ffff",
            &["\"after\"", "not a cursor"][..],
        ),
        ("/api/v1/routes?after=", &["\"after\"", "empty cursor"][..]),
        (
            "/api/v1/neighbors/contoso-ams-er1/adj-rib-out?after=0",
            &["\"after\""][..],
        ),
        (
            "/api/v1/neighbors/contoso-ams-er1/adj-rib-out?prefix=10.0.0.0/8",
            &["\"prefix\"", "limit, after"][..],
        ),
        ("/api/v1/config?x=1", &["\"x\""][..]),
    ] {
        let (status, _, body) = get(api.url(path)).await;
        assert_eq!(status, 400, "{path}: {body}");
        let err = json(&body)["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for w in want {
            assert!(err.contains(w), "{path}: {err:?} lacks {w}");
        }
    }
}

#[tokio::test]
async fn unknown_neighbors_are_404_by_name() {
    let api = start().await;
    for path in [
        "/api/v1/neighbors/nobody",
        "/api/v1/neighbors/nobody/adj-rib-out",
        "/api/v1/routes?neighbor=nobody",
    ] {
        let (status, _, body) = get(api.url(path)).await;
        assert_eq!(status, 404, "{path}: {body}");
        let err = json(&body)["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            err.contains("no neighbor named \"nobody\""),
            "{path}: {err}"
        );
    }
}

#[tokio::test]
async fn neighbor_detail_is_the_summary_plus_what_the_session_negotiated() {
    let api = start().await;
    let (status, _, body) = get(api.url("/api/v1/neighbors/contoso-ams-er1")).await;
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    // The summary's fields are flattened in: a script reading a neighbor
    // object reads this one the same way.
    for k in [
        "name",
        "address",
        "remote_as",
        "state",
        "bfd_state",
        "uptime_s",
    ] {
        assert!(v.get(k).is_some(), "{k} missing: {body}");
    }
    assert_eq!(v["capabilities"]["families"][1], "ipv6-unicast");
    assert_eq!(v["capabilities"]["remote_role"], "peer");
    assert_eq!(v["timers"]["keepalive_ms"], 30_000);
    assert_eq!(v["bfd"]["diagnostic"], "No Diagnostic");
    assert_eq!(v["families"][0]["withdrawn"], 4);
    assert_eq!(v["messages"]["received_total"], 123);
    assert_eq!(
        v["last_notification_received"]["shutdown_communication"],
        "maintenance"
    );
    assert!(v["last_notification_sent"].is_null());
}

#[tokio::test]
async fn show_neighbor_prints_capabilities_timers_bfd_counters_and_notifications() {
    let api = start().await;
    let o = ShowOpts {
        name: Some("contoso-ams-er1".into()),
        ..opts(&api)
    };
    let out = show(ShowWhat::Neighbor, o)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for want in [
        "neighbor contoso-ams-er1 (192.0.2.2, AS64500, ebgp peering-service), location ams",
        "  4-octet AS:             yes",
        "  families:               ipv4-unicast ipv6-unicast",
        "  route refresh:          yes (enhanced)",
        "  graceful restart:       restart time 120s, forwarding kept: ipv4-unicast",
        "  BGP role:               local peer, remote peer",
        "  hold time:              90s configured, 90s negotiated",
        "  keepalive:              30.0s",
        "  configured:             min tx 300 ms, min rx 300 ms, multiplier 3",
        "  diagnostic:             No Diagnostic (0)",
        "  received:               123 (keepalive 120, update 3)",
        "  last sent:              -",
        "  last received:          Cease/Administrative Shutdown: \"maintenance\" (6/2) at 2025-12-04",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let ipv4 = out
        .lines()
        .find(|l| l.trim_start().starts_with("ipv4-unicast"))
        .unwrap_or_default();
    let cells: Vec<&str> = ipv4.split_whitespace().collect();
    assert_eq!(cells, ["ipv4-unicast", "3", "2", "1", "1", "4"], "{out}");

    let json_out = show(
        ShowWhat::Neighbor,
        ShowOpts {
            name: Some("contoso-ams-er1".into()),
            json: true,
            ..opts(&api)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json(&json_out)["timers"]["send_hold_time_s"], 480);

    let e = show(ShowWhat::Neighbor, opts(&api)).await.unwrap_err();
    assert!(e.to_string().contains("show neighbor NAME"), "{e}");
    let e = show(
        ShowWhat::Neighbor,
        ShowOpts {
            name: Some("nobody".into()),
            ..opts(&api)
        },
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("404") && e.to_string().contains("nobody"),
        "{e}"
    );
}

#[tokio::test]
async fn show_adj_rib_out_prints_what_we_advertise_and_pages_with_limit() {
    let api = start().await;
    let name = Some("contoso-ams-er1".to_string());
    let out = show(
        ShowWhat::AdjRibOut,
        ShowOpts {
            name: name.clone(),
            ..opts(&api)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("PREFIX "), "{out}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        cells,
        ["198.51.100.0/24", "192.0.2.1", "-", "-", "8075", "8075:100"],
        "{out}"
    );
    assert_eq!(lines[0].find("NEXT HOP"), lines[1].find("192.0.2.1"));
    // One page of 2, then the rest from its cursor.
    let first = show(
        ShowWhat::AdjRibOut,
        ShowOpts {
            name: name.clone(),
            limit: Some(2),
            ..opts(&api)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let more = first.lines().last().unwrap_or_default();
    let cursor = more
        .strip_prefix("(more: --after ")
        .and_then(|c| c.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no cursor line: {first}"))
        .to_string();
    assert_eq!(first.lines().count(), 4, "{first}");
    let rest = show(
        ShowWhat::AdjRibOut,
        ShowOpts {
            name: name.clone(),
            limit: Some(2),
            after: Some(cursor),
            ..opts(&api)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let rest_lines: Vec<&str> = rest.lines().collect();
    assert_eq!(rest_lines.len(), 2, "{rest}");
    assert!(rest_lines[1].starts_with("2001:db8:1::/48"), "{rest}");
}

#[tokio::test]
async fn show_routes_json_is_one_array_whatever_the_pages() {
    let api = start().await;
    let whole = show(
        ShowWhat::Routes,
        ShowOpts {
            json: true,
            all: true,
            ..opts(&api)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let v = json(&whole);
    assert_eq!(v.as_array().map(Vec::len), Some(4), "{whole}");
    // The same as the pretty-printed API answer.
    let (_, _, body) = get(api.url("/api/v1/routes?status=all")).await;
    assert_eq!(
        whole,
        coldpotato::cli::json::pretty(&body).unwrap_or_default()
    );
}

#[tokio::test]
async fn show_routes_neighbor_asks_for_that_neighbor_only() {
    let api = start().await;
    let out = show(
        ShowWhat::Routes,
        ShowOpts {
            neighbor: Some("contoso-ams-er1".into()),
            ..opts(&api)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.lines().count(), 3, "{out}");
    let q = api.queries.lock().map(|q| q.clone()).unwrap_or_default();
    assert!(
        q[0].contains("neighbor: Some(\"contoso-ams-er1\")"),
        "{q:?}"
    );
    let e = show(
        ShowWhat::Decisions,
        ShowOpts {
            neighbor: Some("x".into()),
            ..opts(&api)
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("--neighbor only applies"), "{e}");
}

#[tokio::test]
async fn show_config_prints_toml_with_the_password_redacted() {
    let api = start().await;
    let out = show(ShowWhat::Config, opts(&api))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.starts_with("# the configuration in effect"), "{out}");
    assert!(out.contains("[router]\nasn = 8075"), "{out}");
    assert!(out.contains("password = \"<redacted>\""), "{out}");
    let parsed: Result<toml::Value, _> = toml::from_str(&out);
    assert!(parsed.is_ok(), "valid TOML: {out}");
}
