//! `GET /api/v1/audit` and `coldpotato show audit`: the API server in front
//! of the fake engine (JSON shape, `peer_asn` filter and validation, the
//! CLI report), and once in front of the real route engine task.

mod common;

use common::{api_fixture as fixture, engine_lab as lab};

use coldpotato::api::ApiServer;
use coldpotato::cli::{run_show, ShowError, ShowOpts, ShowWhat};
use coldpotato::messages::views::AuditReport;
use fixture::{get, json, start};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

async fn show(opts: ShowOpts) -> Result<String, ShowError> {
    match tokio::task::spawn_blocking(move || run_show(ShowWhat::Audit, &opts)).await {
        Ok(r) => r,
        Err(e) => panic!("show task: {e}"),
    }
}

#[tokio::test]
async fn audit_endpoint_returns_the_report_with_summary_and_partners() {
    let api = start().await;
    let (status, ct, body) = get(api.url("/api/v1/audit")).await;
    assert_eq!(status, 200, "{body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    let v = json(&body);
    assert_eq!(v["summary"]["partners"], 2, "{v}");
    assert_eq!(v["summary"]["compliant"], 1, "{v}");
    let check = &v["partners"][1]["checks"][0];
    assert_eq!(check["status"], "fail", "{v}");
    assert_eq!(check["requirement"], "public-asn", "{v}");
    for k in ["message", "location", "prefix", "neighbor"] {
        assert!(check.get(k).is_some(), "missing {k} in {check}");
    }
    let typed: Result<AuditReport, _> = serde_json::from_str(&body);
    assert!(typed.is_ok(), "{body}");
}

#[tokio::test]
async fn audit_endpoint_filters_by_peer_asn_and_refuses_a_bad_one() {
    let api = start().await;
    let (status, _, body) = get(api.url("/api/v1/audit?peer_asn=AS64512")).await;
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["partners"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["partners"][0]["peer_asn"], 64512);
    assert_eq!(v["partners"][0]["compliant"], false);
    let (status, _, body) = get(api.url("/api/v1/audit?peer_asn=contoso")).await;
    assert_eq!(status, 400, "{body}");
    let err = json(&body)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("\"peer_asn\"") && err.contains("\"contoso\""),
        "{err}"
    );
    let queries = api.queries.lock().map(|q| q.clone()).unwrap_or_default();
    assert!(
        queries
            .iter()
            .any(|q| q == "Audit { peer_asn: Some(64512) }"),
        "{queries:?}"
    );
}

#[tokio::test]
async fn show_audit_prints_a_report_per_partner_and_json_on_request() {
    let api = start().await;
    let opts = ShowOpts {
        api: api.addr.to_string(),
        ..ShowOpts::default()
    };
    let out = match show(opts.clone()).await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert!(
        out.contains("2 partners, 1 compliant; 2 pass, 0 warn, 1 fail"),
        "{out}"
    );
    assert!(
        out.contains("\nAS64500: COMPLIANT (2 pass, 0 warn, 0 fail)\n"),
        "{out}"
    );
    assert!(out.contains("\nAS64512: NOT COMPLIANT"), "{out}");
    let fail = out
        .lines()
        .find(|l| l.starts_with("FAIL"))
        .unwrap_or_default();
    assert!(
        fail.contains("public-asn")
            && fail.ends_with("partner ASN 64512 is private (RFC 6996); a public ASN is required"),
        "{out}"
    );
    let one = ShowOpts {
        json: true,
        peer_asn: Some(64500),
        ..opts
    };
    let out = match show(one).await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let v = json(&out);
    assert_eq!(v["partners"].as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(v["partners"][0]["peer_asn"], 64500);
}

#[tokio::test]
async fn peer_asn_flag_only_applies_to_show_audit() {
    let o = ShowOpts {
        peer_asn: Some(1),
        ..ShowOpts::default()
    };
    let r = tokio::task::spawn_blocking(move || run_show(ShowWhat::Routes, &o)).await;
    let msg = match r {
        Ok(Err(e)) => e.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(msg, "--peer-asn only applies to `coldpotato show audit`");
}

#[tokio::test]
async fn audit_endpoint_answers_from_the_real_route_engine() {
    let (tx, rx) = mpsc::channel(64);
    let engine = tokio::spawn(coldpotato::engine::run(lab::running(lab::cfg("")), rx));
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let server = match ApiServer::bind(addr, tx).await {
        Ok(s) => s,
        Err(e) => panic!("bind: {e}"),
    };
    let addr = server.local_addr().unwrap_or(addr);
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let (status, _, body) = get(format!("http://{addr}/api/v1/audit?peer_asn=64500")).await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    engine.abort();
    assert_eq!(status, 200, "{body}");
    let r: AuditReport = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => panic!("{e}: {body}"),
    };
    let p = &r.partners[0];
    assert_eq!((p.peer_asn, p.compliant), (64500, false));
    let msgs: Vec<&str> = p.checks.iter().map(|c| c.message.as_str()).collect();
    for want in [
        "session ps-ams-1 is Idle, not Established",
        "BFD not configured on session ps-ams-1",
        "fewer than two sessions in location fra (ps-fra)",
        "prefix not received on session ps-ams-2",
    ] {
        assert!(msgs.contains(&want), "{want:?} not in {msgs:#?}");
    }
}

#[tokio::test]
async fn audit_endpoint_is_503_when_the_engine_is_gone_and_405_for_post() {
    let (tx, rx) = mpsc::channel::<coldpotato::messages::ToEngine>(8);
    drop(rx);
    let api = fixture::start_with(
        tx,
        std::sync::Arc::new(std::sync::Mutex::new(Vec::new())),
        None,
    )
    .await;
    let (status, _, body) = get(api.url("/api/v1/audit")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(json(&body)["error"], "the route engine is not running");
    let url = api.url("/api/v1/audit");
    let post = tokio::task::spawn_blocking(move || fixture::request("POST", &url)).await;
    assert_eq!(post.map(|r| r.0).ok(), Some(405));
}
