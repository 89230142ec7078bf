//! The API's write endpoints in front of a fake daemon (no BGP): who may
//! write (401 without or with a wrong token, 403 with no tokens file, a
//! refused request never reaches the daemon), what reaches the daemon
//! (the action, the token's name, the shutdown message), and how its
//! answers map to HTTP (200, 404, 409, 422 with the errors, 400, 405).

use coldpotato::api::auth::{TokenStore, Tokens};
use coldpotato::api::ApiServer;
use coldpotato::messages::control::{
    ControlAction, ControlDone, ControlRefused, ControlRequest, NeighborAction,
};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

type Seen = Arc<Mutex<Vec<(ControlAction, String)>>>;

struct Fixture {
    addr: SocketAddr,
    seen: Seen,
    _stop: oneshot::Sender<()>,
    _engine: mpsc::Receiver<coldpotato::messages::ToEngine>,
}

/// The fake daemon: `rr1` accepts everything, `idle` refuses (409), other
/// names are unknown; reload fails validation; the log level succeeds.
async fn fake_daemon(mut rx: mpsc::Receiver<ControlRequest>, seen: Seen) {
    while let Some(req) = rx.recv().await {
        if let Ok(mut s) = seen.lock() {
            s.push((req.action.clone(), req.who.clone()));
        }
        let done = |action: &str, neighbor: Option<String>| ControlDone {
            ok: true,
            action: action.into(),
            neighbor,
            message: format!("{action} done"),
            changes: Vec::new(),
        };
        let answer = match &req.action {
            ControlAction::Neighbor { name, action } => match name.as_str() {
                "rr1" => Ok(done(action.as_str(), Some(name.clone()))),
                "idle" => Err(ControlRefused::Conflict(
                    "idle is not Established (state Idle)".into(),
                )),
                other => Err(ControlRefused::UnknownNeighbor(other.into())),
            },
            ControlAction::Reload => Err(ControlRefused::InvalidConfig(vec![
                "/etc/c.toml:3:7: unknown field `foo`".into(),
            ])),
            ControlAction::LogLevel { .. } => Ok(done("log-level", None)),
        };
        let _ = req.reply.send(answer);
    }
}

async fn start(tokens: Option<&str>) -> Fixture {
    // The engine is never asked: writes do not go through it.
    let (engine, engine_rx) = mpsc::channel(8);
    let (ctl_tx, ctl_rx) = mpsc::channel(8);
    let seen: Seen = Arc::default();
    tokio::spawn(fake_daemon(ctl_rx, seen.clone()));
    let store =
        TokenStore::new(tokens.map(|t| Tokens::parse(t, Path::new("tokens")).expect("tokens")));
    let server = ApiServer::bind(([127, 0, 0, 1], 0).into(), engine)
        .await
        .expect("bind")
        .with_control(ctl_tx, store);
    let addr = server.local_addr().expect("addr");
    let (stop, stop_rx) = oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));
    Fixture {
        addr,
        seen,
        _stop: stop,
        _engine: engine_rx,
    }
}

/// (status, body, WWW-Authenticate, Allow)
async fn send(
    method: &str,
    url: String,
    auth: Option<String>,
    body: &str,
) -> (u16, serde_json::Value, Option<String>, Option<String>) {
    let (method, body) = (method.to_string(), body.to_string());
    tokio::task::spawn_blocking(move || {
        let mut r = ureq::request(&method, &url).timeout(Duration::from_secs(5));
        if let Some(a) = auth {
            r = r.set("Authorization", &a);
        }
        let resp = match r.send_string(&body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {url}: {e}"),
        };
        let status = resp.status();
        let www = resp.header("www-authenticate").map(str::to_string);
        let allow = resp.header("allow").map(str::to_string);
        let text = resp.into_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json, www, allow)
    })
    .await
    .expect("request")
}

fn bearer(t: &str) -> Option<String> {
    Some(format!("Bearer {t}"))
}

#[tokio::test]
async fn writes_without_a_valid_token_are_401_and_never_reach_the_daemon() {
    let f = start(Some(&format!("noc {TOKEN}"))).await;
    let url = format!("http://{}/api/v1/neighbors/rr1/shutdown", f.addr);
    for auth in [
        None,
        Some(TOKEN.to_string()),
        Some(format!("Basic {TOKEN}")),
        bearer("0123456789abcdef0123456789abcdeX"),
        bearer(&TOKEN[..31]),
    ] {
        let (status, body, www, _) = send("POST", url.clone(), auth.clone(), "").await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(www.as_deref(), Some("Bearer realm=\"coldpotato\""));
        assert!(body["error"].is_string(), "{body}");
    }
    // Unknown neighbors are not revealed without a token either.
    let (status, ..) = send(
        "POST",
        format!("http://{}/api/v1/neighbors/nosuch/reset", f.addr),
        None,
        "",
    )
    .await;
    assert_eq!(status, 401);
    assert!(f.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn without_a_tokens_file_writes_are_403_saying_how_to_enable_them() {
    let f = start(None).await;
    let (status, body, ..) = send(
        "POST",
        format!("http://{}/api/v1/reload", f.addr),
        bearer(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, 403);
    let e = body["error"].as_str().unwrap_or_default();
    assert!(e.contains("read-only") && e.contains("tokens_file"), "{e}");
    assert!(f.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_valid_token_reaches_the_daemon_with_its_name_and_the_message() {
    let f = start(Some(&format!(
        "noc {TOKEN}\nother fedcba9876543210fedcba98"
    )))
    .await;
    let base = format!("http://{}/api/v1/neighbors/rr1", f.addr);
    let (status, body, ..) = send(
        "POST",
        format!("{base}/shutdown"),
        bearer(TOKEN),
        r#"{"message": "maintenance ☕"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["neighbor"], "rr1");
    for a in [
        "enable",
        "reset",
        "refresh-in",
        "refresh-out",
        "clear-max-prefix",
    ] {
        let (status, body, ..) = send("POST", format!("{base}/{a}"), bearer(TOKEN), "").await;
        assert_eq!((status, body["action"].as_str()), (200, Some(a)), "{body}");
    }
    let (status, ..) = send(
        "PUT",
        format!("http://{}/api/v1/log-level", f.addr),
        bearer(TOKEN),
        r#"{"level": "debug"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let seen = f.seen.lock().unwrap().clone();
    let rr1 = |action| ControlAction::Neighbor {
        name: "rr1".into(),
        action,
    };
    let want = vec![
        rr1(NeighborAction::Shutdown {
            message: Some("maintenance ☕".into()),
        }),
        rr1(NeighborAction::Enable),
        rr1(NeighborAction::Reset { message: None }),
        rr1(NeighborAction::RefreshIn),
        rr1(NeighborAction::RefreshOut),
        rr1(NeighborAction::ClearMaxPrefix),
        ControlAction::LogLevel {
            directive: "debug".into(),
        },
    ];
    assert_eq!(seen.iter().map(|s| s.0.clone()).collect::<Vec<_>>(), want);
    assert!(seen.iter().all(|s| s.1 == "noc"), "{seen:?}");
}

#[tokio::test]
async fn the_daemons_refusals_map_to_404_409_and_422() {
    let f = start(Some(&format!("noc {TOKEN}"))).await;
    let a = f.addr;
    let (status, body, ..) = send(
        "POST",
        format!("http://{a}/api/v1/neighbors/nosuch/reset"),
        bearer(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("nosuch"),
        "{body}"
    );
    let (status, body, ..) = send(
        "POST",
        format!("http://{a}/api/v1/neighbors/idle/refresh-in"),
        bearer(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body, ..) = send(
        "POST",
        format!("http://{a}/api/v1/reload"),
        bearer(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0], "/etc/c.toml:3:7: unknown field `foo`");
}

#[tokio::test]
async fn malformed_writes_are_400_404_or_405() {
    let f = start(Some(&format!("noc {TOKEN}"))).await;
    let a = f.addr;
    let (status, ..) = send(
        "POST",
        format!("http://{a}/api/v1/neighbors/rr1/explode"),
        bearer(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, 404);
    let (status, body, ..) = send(
        "POST",
        format!("http://{a}/api/v1/neighbors/rr1/shutdown"),
        bearer(TOKEN),
        "{not json",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, ..) = send(
        "POST",
        format!("http://{a}/api/v1/neighbors/rr1/shutdown"),
        bearer(TOKEN),
        r#"{"msg": "x"}"#,
    )
    .await;
    assert_eq!(status, 400);
    let (status, ..) = send(
        "PUT",
        format!("http://{a}/api/v1/log-level"),
        bearer(TOKEN),
        "debug",
    )
    .await;
    assert_eq!(status, 400);
    let (status, ..) = send(
        "POST",
        format!("http://{a}/api/v1/reload?now=1"),
        bearer(TOKEN),
        "",
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _, allow) = send("GET", format!("http://{a}/api/v1/reload"), None, "").await;
    assert_eq!((status, allow.as_deref()), (405, Some("POST")));
    let (status, _, _, allow) = send(
        "POST",
        format!("http://{a}/api/v1/log-level"),
        bearer(TOKEN),
        "",
    )
    .await;
    assert_eq!((status, allow.as_deref()), (405, Some("PUT")));
    assert!(f.seen.lock().unwrap().is_empty());
}
