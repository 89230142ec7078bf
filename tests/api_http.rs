//! HTTP-layer tests of the API: every endpoint's status, content type and
//! JSON shape (DESIGN.md "Interfaces"), parameter validation, 404/405/503,
//! bind errors and graceful shutdown. The engine is a fake task.

mod common;

use common::api_fixture as fixture;

use coldpotato::api::ApiServer;
use coldpotato::messages::ToEngine;
use fixture::{get, json, start, start_with};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

fn keys_present(obj: &Value, keys: &[&str]) {
    for k in keys {
        assert!(obj.get(k).is_some(), "missing key {k:?} in {obj}");
    }
}

#[tokio::test]
async fn metrics_endpoint_serves_prometheus_text_with_the_0_0_4_content_type() {
    coldpotato::metrics::METRICS
        .session_state
        .with_label_values(&["http-test", "ams", "Established"])
        .set(1);
    let api = start().await;
    let (status, ct, body) = get(api.url("/metrics")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    assert!(
        body.contains(
            r#"coldpotato_session_state{location="ams",neighbor="http-test",state="Established"} 1"#
        ),
        "{body}"
    );
    assert!(
        body.contains("# TYPE coldpotato_engine_queue_depth gauge"),
        "{body}"
    );
}

#[tokio::test]
async fn healthz_is_ok_when_the_engine_answers() {
    let api = start().await;
    let (status, _, body) = get(api.url("/healthz")).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn healthz_is_503_when_the_engine_does_not_answer_in_time() {
    let (tx, _rx_never_read) = mpsc::channel::<ToEngine>(8);
    let api = start_with(
        tx,
        Arc::new(Mutex::new(Vec::new())),
        Some(Duration::from_millis(200)),
    )
    .await;
    let t0 = std::time::Instant::now();
    let (status, ct, body) = get(api.url("/healthz")).await;
    assert_eq!(status, 503);
    assert!(ct.starts_with("application/json"), "{ct}");
    let err = json(&body)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("did not answer within 200 ms"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn data_endpoints_are_503_with_a_json_error_when_the_engine_is_gone() {
    let (tx, rx) = mpsc::channel::<ToEngine>(8);
    drop(rx);
    let api = start_with(tx, Arc::new(Mutex::new(Vec::new())), None).await;
    for path in [
        "/api/v1/neighbors",
        "/api/v1/routes",
        "/api/v1/decisions",
        "/api/v1/events",
        "/healthz",
    ] {
        let (status, _, body) = get(api.url(path)).await;
        assert_eq!(status, 503, "{path}");
        assert_eq!(
            json(&body)["error"],
            "the route engine is not running",
            "{path}"
        );
    }
}

#[tokio::test]
async fn neighbors_endpoint_returns_neighbor_objects() {
    let api = start().await;
    let (status, ct, body) = get(api.url("/api/v1/neighbors")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
    let v = json(&body);
    let n = &v[0];
    keys_present(
        n,
        &[
            "name",
            "address",
            "remote_as",
            "location",
            "state",
            "bfd_state",
            "uptime_s",
            "prefixes_received",
            "prefixes_accepted",
            "prefixes_rejected",
            "last_error",
            "rtt_ms",
            "rtt_var_ms",
            "bfd_rx_interval_ms",
            "bfd_rx_jitter_ms",
        ],
    );
    assert_eq!(n["rtt_ms"], 20.5);
    assert_eq!(n["rtt_var_ms"], 0.72);
    // Not measured: null, never 0.
    assert!(n["bfd_rx_interval_ms"].is_null(), "{n}");
    assert_eq!(n["state"], "Established");
    assert_eq!(n["remote_as"], 64500);
    assert_eq!(n["prefixes_rejected"]["private-asn"], 1);
    assert!(n["last_error"].is_null());
}

#[tokio::test]
async fn routes_endpoint_lists_accepted_routes_by_default() {
    let api = start().await;
    let (status, ct, body) = get(api.url("/api/v1/routes")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
    let v = json(&body);
    let list = v.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2);
    for r in &list {
        keys_present(
            r,
            &[
                "prefix",
                "neighbor",
                "peer",
                "as_path",
                "communities",
                "large_communities",
                "next_hop",
                "status",
                "reason",
                "best",
            ],
        );
        assert_eq!(r["status"], "accepted");
    }
    assert_eq!(
        list[0]["as_path"],
        serde_json::json!([64500, [64501, 64502]])
    );
    assert_eq!(list[0]["communities"], serde_json::json!(["8075:8007"]));
    assert_eq!(
        list[0]["large_communities"],
        serde_json::json!(["8075:100:1"])
    );
    assert_eq!(
        api.queries.lock().map(|q| q.clone()).unwrap_or_default(),
        vec!["RoutesPage(RoutesQuery { prefix: None, longest: false, status: Accepted, neighbor: None, after: None, limit: 10000 })".to_string()]
    );
}

#[tokio::test]
async fn routes_status_all_adds_rejected_and_stale_routes_with_their_rule() {
    let api = start().await;
    let (status, _, body) = get(api.url("/api/v1/routes?status=all")).await;
    assert_eq!(status, 200);
    let v = json(&body);
    let statuses: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, ["accepted", "accepted", "rejected", "stale"]);
    assert_eq!(v[2]["rule"], "private-asn");
    assert_eq!(v[2]["reason"], "rejected by private-asn");
}

#[tokio::test]
async fn routes_prefix_and_status_filters_reach_the_engine_and_the_answer() {
    let api = start().await;
    let (status, _, body) =
        get(api.url("/api/v1/routes?prefix=203.0.113.9/24&status=rejected")).await;
    assert_eq!(status, 200);
    let v = json(&body);
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    assert_eq!(v[0]["prefix"], "203.0.113.0/24");
    assert_eq!(v[0]["status"], "rejected");
    let q = api.queries.lock().map(|q| q.clone()).unwrap_or_default();
    assert_eq!(
        q,
        vec!["RoutesPage(RoutesQuery { prefix: Some(203.0.113.0/24), longest: false, status: Rejected, neighbor: None, after: None, limit: 10000 })".to_string()]
    );
}

#[tokio::test]
async fn decisions_endpoint_returns_decision_objects() {
    let api = start().await;
    let (status, ct, body) = get(api.url("/api/v1/decisions")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
    let v = json(&body);
    keys_present(
        &v[0],
        &[
            "prefix",
            "peer_asn",
            "state",
            "location",
            "primary",
            "backup",
            "neighbors",
            "local_pref",
            "community",
            "reason",
        ],
    );
    assert_eq!(v[0]["state"], "primary");
    assert_eq!(v[0]["neighbors"], serde_json::json!(["contoso-ams-er1"]));
}

#[tokio::test]
async fn events_endpoint_returns_events_after_since() {
    let api = start().await;
    let (status, ct, body) = get(api.url("/api/v1/events")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
    let v = json(&body);
    assert_eq!(v.as_array().map(Vec::len), Some(3));
    keys_present(
        &v[0],
        &[
            "seq", "time_ms", "kind", "neighbor", "prefix", "message", "evidence",
        ],
    );
    let (_, _, body) = get(api.url("/api/v1/events?since=2")).await;
    let v = json(&body);
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    assert_eq!(v[0]["seq"], 3);
}

#[tokio::test]
async fn malformed_query_parameters_are_400_naming_parameter_and_value() {
    let api = start().await;
    let cases = [
        (
            "/api/v1/routes?prefix=203.0.113.0/33",
            &["\"prefix\"", "\"203.0.113.0/33\""][..],
        ),
        (
            "/api/v1/routes?prefix=not-a-prefix",
            &["\"prefix\"", "\"not-a-prefix\""],
        ),
        ("/api/v1/routes?status=best", &["\"status\"", "\"best\""]),
        (
            "/api/v1/routes?prefx=10.0.0.0/8",
            &["unknown query parameter \"prefx\""],
        ),
        (
            "/api/v1/routes?status=all&status=all",
            &["\"status\" given more than once"],
        ),
        (
            "/api/v1/events?since=yesterday",
            &["\"since\"", "\"yesterday\""],
        ),
        ("/api/v1/events?since=-1", &["\"since\"", "\"-1\""]),
        (
            "/api/v1/neighbors?name=x",
            &["unknown query parameter \"name\""],
        ),
        (
            "/api/v1/decisions?prefix=10.0.0.0/8",
            &["unknown query parameter \"prefix\""],
        ),
        ("/api/v1/routes?prefix=%zz", &["percent-encoded"]),
    ];
    for (path, needles) in cases {
        let (status, ct, body) = get(api.url(path)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(ct.starts_with("application/json"), "{path}: {ct}");
        let err = json(&body)["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for n in needles {
            assert!(err.contains(n), "{path}: {err:?} lacks {n}");
        }
    }
    let q = api.queries.lock().map(|q| q.len()).unwrap_or(usize::MAX);
    assert_eq!(q, 0, "a refused request must not reach the engine");
}

#[tokio::test]
async fn unknown_paths_are_404_json() {
    let api = start().await;
    let (status, ct, body) = get(api.url("/api/v2/neighbors")).await;
    assert_eq!(status, 404);
    assert!(ct.starts_with("application/json"), "{ct}");
    let err = json(&body)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("/api/v2/neighbors") && err.contains("/api/v1/routes"),
        "{err}"
    );
}

#[tokio::test]
async fn other_methods_are_405_on_a_read_path() {
    let api = start().await;
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let url = api.url("/api/v1/neighbors");
        let m = method.to_string();
        let (status, ct, body) =
            match tokio::task::spawn_blocking(move || fixture::request(&m, &url)).await {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            };
        assert_eq!(status, 405, "{method}");
        assert!(ct.starts_with("application/json"), "{ct}");
        assert!(body.contains("this path is read-only"), "{body}");
    }
    let url = api.url("/api/v1/routes");
    let allow = tokio::task::spawn_blocking(move || match ureq::post(&url).call() {
        Err(ureq::Error::Status(405, r)) => r.header("allow").map(str::to_string),
        _ => None,
    })
    .await
    .ok()
    .flatten();
    assert_eq!(allow.as_deref(), Some("GET, HEAD"));
    let url = api.url("/metrics");
    let (status, _, body) =
        match tokio::task::spawn_blocking(move || fixture::request("HEAD", &url)).await {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
    assert_eq!((status, body.as_str()), (200, ""), "HEAD is allowed");
}

#[tokio::test]
async fn binding_a_busy_address_is_a_clear_error() {
    let taken = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let addr = match taken.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    };
    let (tx, _rx) = mpsc::channel::<ToEngine>(1);
    let err = match ApiServer::bind(addr, tx.clone()).await {
        Ok(_) => panic!("second bind of {addr} succeeded"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    let msg = err.to_string();
    assert!(
        msg.contains(&addr.to_string()) && msg.contains("[api] listen"),
        "{msg}"
    );
    let served = coldpotato::api::serve(addr, tx, async {}).await;
    assert!(served.is_err());
}

#[tokio::test]
async fn server_stops_when_shutdown_completes() {
    let api = start().await;
    let (status, _, _) = get(api.url("/healthz")).await;
    assert_eq!(status, 200);
    let addr = api.addr;
    assert!(api.stop().await.is_ok());
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "still listening after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_inflight_queries_wait_on_the_engine_and_healthz_bypasses_the_limit() {
    use coldpotato::messages::{Query, QueryReply};
    let (tx, mut rx) = mpsc::channel::<ToEngine>(64);
    let held = Arc::new(Mutex::new(0usize));
    let held2 = held.clone();
    // Answers only health probes; holds every other question unanswered.
    tokio::spawn(async move {
        let mut parked = Vec::new();
        while let Some(ToEngine::Query(q, reply)) = rx.recv().await {
            match q {
                Query::Events { since: u64::MAX } => {
                    let _ = reply.send(QueryReply::Events(Vec::new()));
                }
                _ => {
                    parked.push(reply);
                    if let Ok(mut h) = held2.lock() {
                        *h = parked.len();
                    }
                }
            }
        }
    });
    let api = start_with(
        tx,
        Arc::new(Mutex::new(Vec::new())),
        Some(Duration::from_millis(1500)),
    )
    .await;
    let clients: Vec<_> = (0..12)
        .map(|_| tokio::spawn(get(api.url("/api/v1/neighbors"))))
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _, body) = get(api.url("/healthz")).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "ok"),
        "healthz must not queue behind data queries"
    );
    assert_eq!(
        held.lock().map(|h| *h).unwrap_or(0),
        coldpotato::api::MAX_INFLIGHT_QUERIES
    );
    for c in clients {
        let (status, _, _) = match c.await {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(status, 503);
    }
}

#[tokio::test]
async fn shutdown_is_bounded_even_with_a_client_stuck_mid_request() {
    use tokio::io::AsyncWriteExt;
    let api = start().await;
    let mut stuck = match tokio::net::TcpStream::connect(api.addr).await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    // A request head that never ends.
    let _ = stuck
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = std::time::Instant::now();
    let stopped = api.stop().await;
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "took {:?}",
        t0.elapsed()
    );
}

/// Opens `GET path` on a raw connection and reads until `until` appears
/// (or 5 s pass): (the bytes read, the still open connection).
fn open_raw(addr: std::net::SocketAddr, path: &str, until: &str) -> (String, std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
    s.write_all(req.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut got = Vec::new();
    let end = std::time::Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < end && !String::from_utf8_lossy(&got).contains(until) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => continue,
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_is_server_sent_events_bounded_in_number_and_ended_by_shutdown() {
    let api = start().await;
    let addr = api.addr;
    let (first, opened) = tokio::task::spawn_blocking(move || {
        let (text, conn) = open_raw(addr, "/api/v1/events/stream?since=1", "id: 3");
        let mut all = vec![conn];
        for _ in 1..coldpotato::api::stream::MAX_EVENT_STREAMS {
            all.push(open_raw(addr, "/api/v1/events/stream", "\r\n\r\n").1);
        }
        (text, all)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let lower = first.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{first}");
    assert!(lower.contains("content-type: text/event-stream"), "{first}");
    // One message per event: its seq as the id, the /api/v1/events JSON as data.
    let id2 = first.find("id: 2").unwrap_or_else(|| panic!("{first}"));
    let id3 = first.find("id: 3").unwrap_or_else(|| panic!("{first}"));
    assert!(id2 < id3, "oldest first: {first}");
    let data: Vec<serde_json::Value> = first
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(json)
        .collect();
    assert_eq!(data.len(), 2, "{first}");
    assert_eq!(data[0]["seq"], 2);
    keys_present(
        &data[1],
        &[
            "seq", "time_ms", "kind", "neighbor", "prefix", "message", "evidence",
        ],
    );

    // Every slot taken: the next one is refused with a reason.
    let (status, ct, body) = get(api.url("/api/v1/events/stream")).await;
    assert_eq!(status, 503);
    assert!(ct.starts_with("application/json"), "{ct}");
    assert!(body.contains("too many event streams"), "{body}");
    let (status, _, body) = get(api.url("/api/v1/events/stream?since=x")).await;
    assert_eq!(status, 400, "parameters are checked first: {body}");

    // Shutdown ends the open streams instead of waiting for them.
    let t0 = std::time::Instant::now();
    let stopped = api.stop().await;
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t0.elapsed()
    );
    drop(opened);
}
