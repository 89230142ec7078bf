//! RPKI origin validation end to end against stayrtr (Debian) as the RTR
//! cache, serving a local JSON file (never the network): a GoBGP transit
//! peer announces one valid, one invalid and one not-found route; the API
//! shows each state and the invalid one is rejected with rule
//! `rpki-invalid`. The JSON is then rewritten so the invalid route becomes
//! valid: stayrtr reloads it, notifies, and the route is accepted with no
//! session reset.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

const OUR_AS: u32 = 8075;
const PEER_AS: u32 = 264_700;
const PEER_ADDR: &str = "127.0.0.61";
const VALID: &str = "45.20.1.0/24";
const INVALID: &str = "45.20.2.0/24";
const NOT_FOUND: &str = "45.21.3.0/24";

fn vrps_json(invalid_owner: u32) -> String {
    format!(
        r#"{{"metadata":{{"generated":1700000000,"buildtime":"2023-11-14T22:13:20Z"}},"roas":[
{{"prefix":"{VALID}","maxLength":24,"asn":"AS{PEER_AS}"}},
{{"prefix":"45.20.2.0/23","maxLength":24,"asn":"AS{invalid_owner}"}},
{{"prefix":"2001:db8::/32","maxLength":48,"asn":"AS64501"}}
]}}"#
    )
}

struct StayRtr {
    proc: Proc,
    json: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl StayRtr {
    fn start(port: u16) -> StayRtr {
        Self::start_with(port, &[])
    }

    fn start_with(port: u16, extra: &[&str]) -> StayRtr {
        let dir = tempfile::tempdir().expect("tempdir");
        let json = dir.path().join("vrps.json");
        std::fs::write(&json, vrps_json(64_999)).expect("write vrps.json");
        let mut cmd = Command::new("stayrtr");
        cmd.arg("-cache")
            .arg(&json)
            .args(["-bind", &format!("127.0.0.1:{port}")])
            .args(["-metrics.addr", ""])
            .args(["-checktime=false", "-refresh", "1"])
            .args(extra);
        let proc = Proc::spawn("stayrtr", cmd, dir.path().join("stayrtr.log"));
        StayRtr {
            proc,
            json,
            _dir: dir,
        }
    }

    /// Replaces the served VRPs (atomically: write then rename).
    fn rewrite(&self, body: &str) {
        let tmp = self.json.with_extension("tmp");
        std::fs::write(&tmp, body).expect("write vrps");
        std::fs::rename(&tmp, &self.json).expect("rename vrps");
    }
}

fn route(d: &Daemon, prefix: &str) -> Option<serde_json::Value> {
    let v = d.get(&format!("/api/v1/routes?prefix={prefix}&status=all"));
    v.as_array()?
        .iter()
        .find(|r| r["prefix"] == prefix)
        .cloned()
}

fn wait_route(
    d: &Daemon,
    prefix: &str,
    timeout: Duration,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    wait_for(timeout, || route(d, prefix).filter(|r| ok(r)))
}

#[test]
fn stayrtr_vrps_validate_reject_and_revalidate_without_session_reset() {
    if !need(&["stayrtr", "gobgpd", "gobgp"], false) {
        return;
    }
    let rtr_port = free_port();
    let rtr = StayRtr::start(rtr_port);
    let ours = free_port();
    let api = free_port();
    let peer_port = free_port();
    let gobgp = GoBgp::start(&GoBgp::loopback_config(
        PEER_AS, PEER_ADDR, peer_port, OUR_AS, ours,
    ));
    let plain = DaemonConfig::new(OUR_AS, ours, api).neighbor(
        &Neighbor::new("transit", PEER_ADDR, PEER_AS, "transit")
            .port(peer_port)
            .local_address("127.0.0.1")
            .ipv4(),
    );
    let d = plain
        .clone()
        .section(&format!(
            "[rpki]\nservers = [\"127.0.0.1:{rtr_port}\"]\nreject_invalid = true\n\
             retry_s = 2\nrefresh_s = 5\nexpire_s = 600"
        ))
        .start();
    assert!(
        d.wait_state("transit", "Established", Duration::from_secs(40)),
        "{}",
        d.log()
    );
    for p in [VALID, INVALID, NOT_FOUND] {
        let out = gobgp.cli(&format!("global rib add {p} -a ipv4"));
        assert!(!out.contains("rror"), "{p}: {out}");
    }
    let ctx = || {
        format!(
            "daemon log:\n{}\nstayrtr log:\n{}",
            d.log(),
            rtr.proc.log_text()
        )
    };
    let t = Duration::from_secs(30);
    let valid = wait_route(&d, VALID, t, |r| r["rpki"] == "valid");
    assert!(
        valid.is_some(),
        "{VALID} not valid: {:?}\n{}",
        route(&d, VALID),
        ctx()
    );
    assert_eq!(valid.unwrap_or_default()["status"], "accepted");
    let invalid = wait_route(&d, INVALID, t, |r| r["rpki"] == "invalid")
        .unwrap_or_else(|| panic!("{INVALID} not invalid: {:?}\n{}", route(&d, INVALID), ctx()));
    assert_eq!(invalid["status"], "rejected");
    assert_eq!(invalid["rule"], "rpki-invalid");
    let reason = invalid["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with(&format!(
            "RPKI invalid: origin AS{PEER_AS} not authorized for {INVALID}"
        )) && reason.contains("45.20.2.0/23-24 AS64999"),
        "{reason}"
    );
    let nf = wait_route(&d, NOT_FOUND, t, |r| r["rpki"] == "not-found");
    assert!(
        nf.is_some(),
        "{NOT_FOUND}: {:?}\n{}",
        route(&d, NOT_FOUND),
        ctx()
    );
    let metrics = http_get(d.api, "/metrics")
        .map(|(_, b)| b)
        .unwrap_or_default();
    assert!(
        metrics.contains(&format!(
            "coldpotato_rpki_session_up{{server=\"127.0.0.1:{rtr_port}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "coldpotato_rpki_vrps{{server=\"127.0.0.1:{rtr_port}\"}} 3"
        )),
        "{metrics}"
    );
    for state in ["valid", "invalid", "not-found"] {
        assert!(
            metrics.contains(&format!("coldpotato_rpki_routes{{state=\"{state}\"}} 1")),
            "{state}: {metrics}"
        );
    }
    let uptime = d
        .neighbor("transit")
        .map(|n| n["uptime_s"].as_u64().unwrap_or(0));

    // The cache now authorizes the peer for the formerly invalid prefix.
    rtr.rewrite(&vrps_json(PEER_AS));
    let fixed = wait_route(&d, INVALID, t, |r| r["rpki"] == "valid").unwrap_or_else(|| {
        panic!(
            "{INVALID} did not become valid: {:?}\n{}",
            route(&d, INVALID),
            ctx()
        )
    });
    assert_eq!(fixed["status"], "accepted");
    assert!(fixed["rule"].is_null(), "{fixed}");
    let n = d.neighbor("transit").unwrap_or_default();
    assert_eq!(n["state"], "Established", "no session reset: {n}");
    assert!(
        n["uptime_s"].as_u64().unwrap_or(0) >= uptime.unwrap_or(0),
        "the session was not reset: {n}"
    );

    // Reload without [rpki]: the client stops, routes carry no state.
    d.reload(&plain.to_string());
    let plain = wait_route(&d, VALID, t, |r| r.get("rpki").is_none());
    assert!(
        plain.is_some(),
        "rpki field still there: {:?}\n{}",
        route(&d, VALID),
        ctx()
    );
    let metrics = http_get(d.api, "/metrics")
        .map(|(_, b)| b)
        .unwrap_or_default();
    assert!(
        metrics.contains(&format!(
            "coldpotato_rpki_vrps{{server=\"127.0.0.1:{rtr_port}\"}} 0"
        )),
        "{metrics}"
    );
    let n = d.neighbor("transit").unwrap_or_default();
    assert_eq!(n["state"], "Established", "no session reset: {n}");
    assert!(
        !d.log().contains("kind=\"session-down\""),
        "a session went down: {}",
        d.log()
    );
}

#[test]
fn a_version_zero_cache_is_spoken_to_in_version_zero() {
    if !need(&["stayrtr"], false) {
        return;
    }
    let rtr_port = free_port();
    let rtr = StayRtr::start_with(rtr_port, &["-protocol", "0"]);
    let api = free_port();
    let ours = free_port();
    let d = DaemonConfig::new(OUR_AS, ours, api)
        .section(&format!(
            "[rpki]\nservers = [\"127.0.0.1:{rtr_port}\"]\nretry_s = 2"
        ))
        .start();
    let want = format!("coldpotato_rpki_vrps{{server=\"127.0.0.1:{rtr_port}\"}} 3");
    let got = wait_for(Duration::from_secs(20), || {
        http_get(d.api, "/metrics").and_then(|(_, b)| b.contains(&want).then_some(()))
    });
    assert!(
        got.is_some(),
        "no VRPs from a version 0 cache\n{}\n{}",
        d.log(),
        rtr.proc.log_text()
    );
    assert!(
        d.log().contains("cache answered in version 0"),
        "{}",
        d.log()
    );
}
