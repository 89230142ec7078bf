//! `coldpotato show` end to end: `cli::run_show` against the real API
//! server in front of a fake engine (tables, --json, --prefix, errors).

mod common;

use common::api_fixture as fixture;

use coldpotato::cli::{run_show, ShowError, ShowOpts, ShowWhat};
use fixture::start;

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

#[tokio::test]
async fn show_neighbors_prints_an_aligned_table() {
    let api = start().await;
    let wide = ShowOpts {
        wide: true,
        ..opts(&api)
    };
    let out = match show(ShowWhat::Neighbors, wide).await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("NAME "), "{out}");
    assert!(lines[1].starts_with("contoso-ams-er1 "), "{out}");
    assert!(
        lines[1].contains("Established") && lines[1].contains("01:02:03"),
        "{out}"
    );
    assert!(lines[1].contains("private-asn=1"), "{out}");
    // The session's RTT with its deviation; no BFD receive figures yet.
    assert!(lines[1].contains("  20.5±0.7ms  "), "{out}");
    assert!(
        lines[0].contains("  BFD RX  ") && lines[0].contains("  RTT  "),
        "{out}"
    );
    // Columns line up: ADDRESS starts at the same offset in both lines.
    assert_eq!(lines[0].find("ADDRESS"), lines[1].find("192.0.2.2"));
}

#[tokio::test]
async fn show_routes_with_prefix_includes_rejected_routes_and_their_rule() {
    let api = start().await;
    let o = ShowOpts {
        prefix: Some("203.0.113.0/24".into()),
        ..opts(&api)
    };
    let out = match show(ShowWhat::Routes, o).await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains("64500 {64501 64502}"), "{out}");
    let rejected = out
        .lines()
        .find(|l| l.contains("rejected"))
        .unwrap_or_default();
    assert!(
        rejected.contains("private-asn: rejected by private-asn"),
        "{out}"
    );
    let q = api.queries.lock().map(|q| q.clone()).unwrap_or_default();
    assert_eq!(
        q,
        vec!["RoutesPage(RoutesQuery { prefix: Some(203.0.113.0/24), longest: false, status: All, neighbor: None, after: None, limit: 1000 })".to_string()]
    );
}

#[tokio::test]
async fn longest_match_is_asked_for_only_with_the_flag() {
    let api = start().await;
    let o = ShowOpts {
        prefix: Some("203.0.113.7".into()),
        longest_match: true,
        ..opts(&api)
    };
    if let Err(e) = show(ShowWhat::Routes, o).await {
        panic!("{e}");
    }
    let q = api.queries.lock().map(|q| q.clone()).unwrap_or_default();
    assert_eq!(
        q,
        vec!["RoutesPage(RoutesQuery { prefix: Some(203.0.113.7/32), longest: true, status: All, neighbor: None, after: None, limit: 1000 })".to_string()]
    );
    let bare = ShowOpts {
        longest_match: true,
        ..opts(&api)
    };
    let e = show(ShowWhat::Routes, bare).await.map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("--longest-match"), "{e}");
}

#[tokio::test]
async fn show_routes_without_flags_lists_only_accepted_routes() {
    let api = start().await;
    let out = show(ShowWhat::Routes, opts(&api))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(!out.contains("rejected"), "{out}");
}

#[tokio::test]
async fn show_decisions_and_events_print_tables() {
    let api = start().await;
    let out = show(ShowWhat::Decisions, opts(&api))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.starts_with("PREFIX") && out.contains("1 session up at primary ams"),
        "{out}"
    );
    let o = ShowOpts {
        since: Some(1),
        ..opts(&api)
    };
    let out = show(ShowWhat::Events, o)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.contains("flap 2") && out.contains("flap 3") && !out.contains("flap 1"),
        "{out}"
    );
}

#[tokio::test]
async fn show_json_prints_the_api_answer_pretty() {
    let api = start().await;
    let o = ShowOpts {
        json: true,
        ..opts(&api)
    };
    let out = show(ShowWhat::Neighbors, o)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.starts_with("[\n  {\n    \"name\": \"contoso-ams-er1\",\n"),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(
        v,
        serde_json::to_value(fixture::neighbors()).unwrap_or_default()
    );
}

#[tokio::test]
async fn show_reports_the_api_error_message_for_a_bad_prefix() {
    let api = start().await;
    let o = ShowOpts {
        prefix: Some("300.0.0.0/8".into()),
        ..opts(&api)
    };
    let err = match show(ShowWhat::Routes, o).await {
        Ok(s) => panic!("accepted a bad prefix: {s}"),
        Err(e) => e,
    };
    assert!(matches!(err, ShowError::Api { status: 400, .. }), "{err:?}");
    assert!(err.to_string().contains("\"300.0.0.0/8\""), "{err}");
}

#[tokio::test]
async fn show_connection_error_names_the_address_and_hints_at_api_flag() {
    // A port nothing listens on: bind one, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    let o = ShowOpts {
        api: format!("127.0.0.1:{port}"),
        ..ShowOpts::default()
    };
    let err = match show(ShowWhat::Neighbors, o).await {
        Ok(s) => panic!("connected to nothing: {s}"),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(matches!(err, ShowError::Connect { .. }), "{err:?}");
    assert!(msg.contains(&format!("http://127.0.0.1:{port}")), "{msg}");
    assert!(
        msg.contains("--api") && msg.contains("[api] listen"),
        "{msg}"
    );
}
