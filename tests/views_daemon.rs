//! The operator's read views of a live daemon against BIRD 2 on loopback:
//! BIRD feeds 3,000 stable routes and toggles 500 more, interleaved, while
//! `/api/v1/routes?neighbor=…&limit=250` is paged (every stable route
//! exactly once, no duplicates); `show routes` follows the cursors and
//! stops cleanly under `| head`; `show neighbor NAME` shows what the
//! session negotiated and, after `birdc disable … "msg"`, the NOTIFICATION
//! received with its shutdown communication; the Adj-RIB-Out toward an
//! internal neighbor (a second BIRD, iBGP) is what BIRD received;
//! `show config` redacts the TCP-MD5 password.
mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

const OUR_AS: u32 = 8075;
/// A public 4-octet ASN (AS 3.7).
const BIRD_AS: u32 = 196_615;
const STABLE: u32 = 3000;
const CHURN: u32 = 500;
const PASSWORD: &str = "s3cret-md5-views";

/// `n` static routes `45.a.b.0/len`, every `step`-th /24 of 45.0.0.0/16 on.
fn statics(n: u32, step: u32, len: u8) -> String {
    (0..n)
        .map(|i| {
            let j = i * step;
            format!("  route 45.{}.{}.0/{len} unreachable;\n", j / 256, j % 256)
        })
        .collect()
}

fn bird_config(ours: u16, peer: u16) -> String {
    format!(
        r#"
router id 127.0.0.2;
log stderr all;
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol static s_stable {{ ipv4;
{stable}}}
protocol static s_churn {{ ipv4;
{churn}}}
protocol bgp cp4 {{
  local 127.0.0.2 port {peer} as {BIRD_AS};
  neighbor 127.0.0.1 port {ours} as {OUR_AS};
  multihop;
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  password "{PASSWORD}";
  ipv4 {{ import all; export where source = RTS_STATIC; }};
}}
"#,
        stable = statics(STABLE, 1, 24),
        // /23s over the even /24s: they sort among the stable routes
        // (45.0.2.0/23 just before 45.0.2.0/24), so the churn happens
        // all along the paged walk.
        churn = statics(CHURN, 2, 23),
    )
}

/// A second BIRD as the internal neighbor (BIRD refuses two protocols
/// with the same neighbor address).
fn bird_rr_config(ours: u16, peer_rr: u16) -> String {
    format!(
        r#"
router id 127.0.0.3;
log stderr all;
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol bgp ibgp1 {{
  local 127.0.0.3 port {peer_rr} as {OUR_AS};
  neighbor 127.0.0.1 port {ours} as {OUR_AS};
  multihop;
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 {{ import all; export none; gateway recursive; igp table master4; }};
}}
"#
    )
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coldpotato"))
        .args(args)
        .output()
        .expect("run coldpotato");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn accepted_v4(d: &Daemon, name: &str) -> u64 {
    let (code, body) = http_get(d.api, &format!("/api/v1/neighbors/{name}")).unwrap_or_default();
    if code != 200 {
        return 0;
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    v["families"][0]["accepted"].as_u64().unwrap_or(0)
}

#[test]
fn read_views_of_a_live_daemon_against_bird() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let (ours, api, peer, peer_rr) = (free_port(), free_port(), free_port(), free_port());
    let bird = Bird::start(&bird_config(ours, peer));
    let bird_rr = Bird::start(&bird_rr_config(ours, peer_rr));
    let d = DaemonConfig::new(OUR_AS, ours, api)
        .listen(&[format!("127.0.0.1:{ours}")])
        .router("hold_time_s = 9")
        .neighbor(
            &Neighbor::new("bird", "127.0.0.2", BIRD_AS, "transit")
                .port(peer)
                .local_address("127.0.0.1")
                .with(&format!("password = \"{PASSWORD}\"")),
        )
        .neighbor(
            &Neighbor::new("rr", "127.0.0.3", OUR_AS, "internal")
                .port(peer_rr)
                .local_address("127.0.0.1"),
        )
        .start();
    let api_addr = d.api.to_string();
    for n in ["bird", "rr"] {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(30)),
            "{n} not Established\nours:\n{}\nbird:\n{}",
            d.log(),
            bird.proc.log_text()
        );
    }
    let all = u64::from(STABLE + CHURN);
    assert!(
        wait_for(Duration::from_secs(60), || (accepted_v4(&d, "bird") == all)
            .then_some(()))
        .is_some(),
        "BIRD's {all} routes did not all arrive: {}",
        accepted_v4(&d, "bird")
    );

    // show neighbor: what the session negotiated, timers, counters.
    let n = d.get("/api/v1/neighbors/bird");
    assert_eq!(n["name"], "bird");
    assert_eq!(n["state"], "Established");
    assert_eq!(n["session_type"], "ebgp");
    assert_eq!(n["capabilities"]["four_octet_as"], true, "{n}");
    assert_eq!(
        n["capabilities"]["families"],
        serde_json::json!(["ipv4-unicast"])
    );
    assert_eq!(n["capabilities"]["route_refresh"], true, "{n}");
    assert_eq!(n["capabilities"]["local_role"], "customer", "{n}");
    assert_eq!(n["timers"]["hold_time_negotiated_s"], 9);
    assert_eq!(n["timers"]["keepalive_ms"], 3000);
    assert_eq!(n["timers"]["send_hold_time_s"], 480);
    assert_eq!(n["families"][0]["received"], all);
    assert!(
        n["messages"]["received"]["update"].as_u64().unwrap_or(0) > 0,
        "{n}"
    );
    assert!(
        n["messages"]["sent"]["open"].as_u64().unwrap_or(0) >= 1,
        "{n}"
    );
    assert_eq!(n["remote_id"], "127.0.0.2");
    let (code, out, err) = cli(&["show", "neighbor", "bird", "--api", &api_addr]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("  4-octet AS:             yes"), "{out}");
    assert!(
        out.contains("  hold time:              9s configured, 9s negotiated"),
        "{out}"
    );
    note(&format!("show neighbor bird against BIRD:\n{out}"));

    // Paging while BIRD withdraws and re-announces 500 routes underneath.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0u32;
    loop {
        let path = match &after {
            Some(c) => format!("/api/v1/routes?neighbor=bird&limit=250&after={c}"),
            None => "/api/v1/routes?neighbor=bird&limit=250".to_string(),
        };
        let (code, next, body) = http_get_page(d.api, &path).unwrap_or((0, None, String::new()));
        assert_eq!(code, 200, "{path}: {body}");
        let page: Vec<Value> = serde_json::from_str(&body).expect("a JSON array");
        assert!(page.len() <= 250);
        seen.extend(page.iter().map(|r| {
            (
                r["prefix"].as_str().unwrap_or_default().to_string(),
                r["neighbor"].as_str().unwrap_or_default().to_string(),
            )
        }));
        let toggle = if pages.is_multiple_of(2) {
            "disable"
        } else {
            "enable"
        };
        bird.cmd(&format!("{toggle} s_churn"));
        // Let part of the churn reach the RIB before the next page.
        std::thread::sleep(Duration::from_millis(50));
        pages += 1;
        match next {
            Some(c) => after = Some(c),
            None => break,
        }
        assert!(pages < 100, "paging does not end");
    }
    let unique: BTreeSet<(String, String)> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a route was listed twice");
    let stable: Vec<String> = (0..STABLE)
        .map(|i| format!("45.{}.{}.0/24", i / 256, i % 256))
        .filter(|p| !unique.contains(&(p.clone(), "bird".to_string())))
        .take(5)
        .collect();
    assert!(stable.is_empty(), "stable routes never listed: {stable:?}");
    assert!(pages >= 12, "{pages} pages");
    note(&format!(
        "paged {} routes from BIRD in {pages} pages of 250 while 500 others were withdrawn and re-announced: \
         every one of the {STABLE} stable routes once, no duplicates",
        seen.len()
    ));

    // Settled again: the CLI follows the cursors (1,000 a page) and stops
    // cleanly when its reader goes away.
    bird.cmd("enable s_churn");
    assert!(
        wait_for(Duration::from_secs(30), || (accepted_v4(&d, "bird") == all)
            .then_some(()))
        .is_some(),
        "churn routes did not come back"
    );
    let (code, out, err) = cli(&["show", "routes", "--neighbor", "bird", "--api", &api_addr]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count() as u64, all + 1, "header + every route");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("PREFIX "), "{}", lines[0]);
    assert_eq!(
        lines[1].find("bird"),
        lines[all as usize].find("bird"),
        "columns stay aligned across pages"
    );
    let piped = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' show routes --api {api_addr} | head -3",
            env!("CARGO_BIN_EXE_coldpotato")
        ))
        .output()
        .expect("bash");
    assert!(
        piped.status.success(),
        "show routes | head: {:?} {}",
        piped.status,
        String::from_utf8_lossy(&piped.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&piped.stdout).lines().count(), 3);

    // The Adj-RIB-Out toward the internal neighbor is what BIRD got over iBGP.
    let out_rr = d.get_all("/api/v1/neighbors/rr/adj-rib-out?limit=1000");
    assert_eq!(out_rr.len() as u64, all, "every accepted route goes to rr");
    let bird_has = wait_for(Duration::from_secs(30), || {
        let c = bird_rr.cmd("show route protocol ibgp1 count");
        c.contains(&format!("{all} of {all} routes")).then_some(c)
    });
    assert!(
        bird_has.is_some(),
        "BIRD's rr session: {}",
        bird_rr.cmd("show route protocol ibgp1 count")
    );
    let r = out_rr
        .iter()
        .find(|r| r["prefix"] == "45.0.5.0/24")
        .cloned()
        .unwrap_or_default();
    assert_eq!(r["local_pref"], 100, "{r}");
    assert_eq!(r["next_hop"], "127.0.0.2", "{r}");
    assert_eq!(r["as_path"], serde_json::json!([BIRD_AS]), "{r}");
    let seen_by_bird = bird_rr.cmd("show route for 45.0.5.0/24 protocol ibgp1 all");
    assert!(
        seen_by_bird.contains("BGP.local_pref: 100"),
        "{seen_by_bird}"
    );
    assert!(
        seen_by_bird.contains(&format!("BGP.as_path: {BIRD_AS}")),
        "{seen_by_bird}"
    );
    assert!(
        seen_by_bird.contains("BGP.next_hop: 127.0.0.2"),
        "{seen_by_bird}"
    );
    let (code, out, err) = cli(&[
        "show",
        "adj-rib-out",
        "rr",
        "--limit",
        "2",
        "--api",
        &api_addr,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().count(),
        4,
        "header, 2 routes, the cursor: {out}"
    );
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("45.0.0.0/23 ")),
        "{out}"
    );

    // show config: in effect, password redacted.
    let cfg = d.get("/api/v1/config");
    assert!(!cfg.to_string().contains(PASSWORD), "{cfg}");
    let bird_cfg = cfg["neighbors"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["name"] == "bird"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(bird_cfg["password"], "<redacted>");
    let (code, out, err) = cli(&["show", "config", "--api", &api_addr]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("password = \"<redacted>\""), "{out}");
    assert!(!out.contains(PASSWORD));

    // BIRD shuts the session down with a message: the last NOTIFICATION received.
    bird.cmd("disable cp4 \"maintenance-42\"");
    let got = wait_for(Duration::from_secs(20), || {
        let n = d.get("/api/v1/neighbors/bird");
        let r = n["last_notification_received"].clone();
        (!r.is_null()).then_some(r)
    })
    .unwrap_or_else(|| panic!("no NOTIFICATION recorded\n{}", d.log()));
    assert_eq!(
        (got["code"].as_u64(), got["subcode"].as_u64()),
        (Some(6), Some(2)),
        "{got}"
    );
    assert_eq!(got["subcode_name"], "Administrative Shutdown");
    assert_eq!(got["shutdown_communication"], "maintenance-42", "{got}");
    let (code, out, err) = cli(&["show", "neighbor", "bird", "--api", &api_addr]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "  last received:          Cease/Administrative Shutdown: \"maintenance-42\" (6/2) at "
        ),
        "{out}"
    );
    assert!(
        out.contains("  negotiated:             - (not Established)"),
        "{out}"
    );
}
