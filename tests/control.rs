//! Control of a live daemon (issue 12): `coldpotato neighbor NAME …`,
//! `coldpotato reload` and `coldpotato log-level`, run as an operator would
//! (the real binary, `--api`, `--token-file`) against the real daemon and
//! BIRD 2 on loopback.
//!
//! - shutdown: BIRD receives Cease / Administrative Shutdown with our RFC
//!   9003 text; the session stays down (BIRD keeps reconnecting and is
//!   refused) across a SIGHUP reload that even replaces the session's task,
//!   until `enable`; reset: BIRD receives Cease / Administrative Reset and
//!   the session comes back by itself.
//! - refresh in: BIRD answers our ROUTE-REFRESH by sending its routes
//!   again (our UPDATE counter grows) and keeps them all; refresh out:
//!   BIRD receives our routes again (its import counter grows); a peer
//!   without the route refresh capability gets 409.
//! - clear max-prefix: a neighbor over its limit, held down for an hour,
//!   comes back at once.
//! - no token, a wrong token, or no tokens file: nothing changes, no event.
//! - reload prints what changed, or the errors at file:line:col while the
//!   daemon keeps running.

mod common;

use common::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const OUR_AS: u32 = 8075;
const BIRD_AS: u32 = 196_615;
const TOKEN: &str = "c0ldp0tat0-test-token-0123456789";

/// A tokens file (mode 600) with the token of `noc`.
fn tokens(dir: &Path) -> PathBuf {
    let p = dir.join("tokens");
    std::fs::write(&p, format!("# test operators\nnoc {TOKEN}\n")).expect("write tokens");
    let _ = Command::new("chmod").arg("600").arg(&p).status();
    p
}

/// A client token file holding `token`.
fn client_token(dir: &Path, token: &str) -> PathBuf {
    let p = dir.join(format!("client-{}", token.len()));
    std::fs::write(&p, format!("{token}\n")).expect("write token");
    p
}

/// The daemon config text with `[api] tokens_file`.
fn with_tokens(config: &DaemonConfig, tokens: Option<&Path>) -> String {
    let text = config.to_string();
    match tokens {
        Some(t) => text.replacen(
            "[api]\n",
            &format!("[api]\ntokens_file = \"{}\"\n", t.display()),
            1,
        ),
        None => text,
    }
}

/// Runs `coldpotato ARGS --api API [--token-file FILE]`: (exit code, stdout, stderr).
fn cli(api: SocketAddr, token_file: Option<&Path>, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coldpotato"));
    c.args(args).arg("--api").arg(api.to_string());
    if let Some(t) = token_file {
        c.arg("--token-file").arg(t);
    }
    c.env_remove("COLDPOTATO_TOKEN_FILE");
    let out = c.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A raw POST: (status, body).
fn post(api: SocketAddr, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut r = ureq::post(&format!("http://{api}{path}")).timeout(Duration::from_secs(5));
    if let Some(a) = auth {
        r = r.set("Authorization", a);
    }
    match r.send_string("") {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
        Err(e) => panic!("POST {path}: {e}"),
    }
}

/// The `control` events: (action, neighbor, by, message).
fn control_events(d: &Daemon) -> Vec<(String, String, String, String)> {
    d.get("/api/v1/events")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["kind"] == "control")
        .map(|e| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
            (
                s(&e["evidence"]["action"]),
                s(&e["neighbor"]),
                s(&e["evidence"]["by"]),
                s(&e["message"]),
            )
        })
        .collect()
}

fn metric(d: &Daemon, name: &str, labels: &[&str]) -> f64 {
    metric_sum(d.api, name, labels)
}

/// BIRD: one protocol per entry (name, BIRD's address, our address,
/// extra lines), active, fast retries, 200 routes to export.
fn bird_config(peer: u16, ours: u16, protos: &[(&str, &str, &str, &str)]) -> String {
    let mut statics = String::new();
    for i in 0..200 {
        statics.push_str(&format!(
            "route 45.{}.{}.0/24 unreachable; ",
            20 + i / 256,
            i % 256
        ));
    }
    let mut out = format!(
        "router id 127.0.0.2;\nlog stderr all;\nprotocol device {{ }}\nprotocol static s4 {{ ipv4; {statics} }}\n"
    );
    for (name, local, us, extra) in protos {
        out.push_str(&format!(
            r#"
protocol bgp {name} {{
  local {local} port {peer} as {BIRD_AS};
  neighbor {us} port {ours} as {OUR_AS};
  strict bind on;
  multihop;
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  {extra}
  ipv4 {{ import all; export all; }};
}}
"#
        ));
    }
    out
}

fn neighbor(name: &str, addr: &str, local: &str, peer: u16) -> Neighbor {
    Neighbor::new(name, addr, BIRD_AS, "transit")
        .port(peer)
        .accept_all()
        .local_address(local)
        .ipv4()
}

/// Lines of BIRD's log about protocol `proto` containing `what`.
fn bird_lines(bird: &Bird, proto: &str, what: &str) -> Vec<String> {
    bird.proc
        .log_text()
        .lines()
        .filter(|l| l.contains(&format!("{proto}:")) && l.contains(what))
        .map(str::to_string)
        .collect()
}

#[test]
fn shutdown_stays_down_across_reload_until_enable_and_reset_comes_back() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let (ours, api, peer) = (free_port(), free_port(), free_port());
    let bird = Bird::start(&bird_config(
        peer,
        ours,
        &[("cpa", "127.0.0.2", "127.0.0.1", "")],
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let tok = tokens(dir.path());
    let good = client_token(dir.path(), TOKEN);
    let wrong = client_token(dir.path(), "not-the-token-but-long-enough");
    let config = DaemonConfig::new(OUR_AS, ours, api)
        .router("hold_time_s = 9")
        .originate("192.0.2.0/24")
        .neighbor(&neighbor("bird-a", "127.0.0.2", "127.0.0.1", peer));
    let d = Daemon::start(&with_tokens(&config, Some(&tok)), config.api_addr());
    let up = |d: &Daemon| d.wait_state("bird-a", "Established", Duration::from_secs(30));
    assert!(
        up(&d),
        "not Established\n{}\n{}",
        d.log(),
        bird.proc.log_text()
    );
    let ups0 = d.ups("bird-a");

    // Unauthenticated and wrong-token attempts change nothing.
    let (code, body) = post(d.api, "/api/v1/neighbors/bird-a/shutdown", None);
    assert_eq!(code, 401, "{body}");
    let (code, body) = post(
        d.api,
        "/api/v1/neighbors/bird-a/shutdown",
        Some("Bearer not-the-token-but-long-enough"),
    );
    assert_eq!(code, 401, "{body}");
    let (code, _, err) = cli(d.api, Some(&wrong), &["neighbor", "bird-a", "shutdown"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("401") && err.contains("invalid token"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let (code, _, err) = cli(d.api, None, &["neighbor", "bird-a", "shutdown"]);
    assert_eq!(code, 1);
    assert!(err.contains("--token-file"), "{err}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(d.neighbor("bird-a").unwrap()["state"], "Established");
    assert!(control_events(&d).is_empty(), "{:?}", control_events(&d));
    assert!(bird_lines(&bird, "cpa", "Received:").is_empty());

    // Unknown neighbor: 404 naming it.
    let (code, _, err) = cli(d.api, Some(&good), &["neighbor", "nosuch", "reset"]);
    assert_eq!(code, 1);
    assert!(err.contains("404") && err.contains("nosuch"), "{err}");

    // Shutdown with a message.
    let text = "maintenance: ticket 4711, back at 12:00";
    let (code, out, err) = cli(
        d.api,
        Some(&good),
        &["neighbor", "bird-a", "shutdown", "--message", text],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Cease/Administrative Shutdown sent"), "{out}");
    let seen = wait_for(Duration::from_secs(5), || {
        let l = bird_lines(&bird, "cpa", "Received: Administrative shutdown");
        l.into_iter().find(|l| l.contains(text))
    });
    assert!(
        seen.is_some(),
        "BIRD did not log our shutdown:\n{}",
        bird.proc.log_text()
    );
    let shown = bird.cmd("show protocols all cpa");
    let last_error = shown
        .lines()
        .find(|l| l.contains("Last error"))
        .unwrap_or("")
        .trim()
        .to_string();
    note(&format!(
        "control: BIRD log: {}",
        seen.unwrap_or_default().trim()
    ));
    note(&format!(
        "control: birdc show protocols all cpa: {last_error}"
    ));
    assert!(last_error.contains("Administrative shutdown"), "{shown}");

    // It stays down while BIRD keeps trying (every 1-2 s), and across a
    // reload that replaces the session's task (hold time changed).
    let stays_down = |d: &Daemon, secs: u64| {
        for _ in 0..secs * 2 {
            std::thread::sleep(Duration::from_millis(500));
            let n = d.neighbor("bird-a").unwrap();
            assert_eq!(n["state"], "Idle", "{n}\n{}", d.log());
        }
    };
    let conns = |d: &Daemon| {
        d.log()
            .lines()
            .filter(|l| l.contains("bird-a") && l.contains("connection up"))
            .count()
    };
    let c0 = conns(&d);
    stays_down(&d, 5);
    let changed = DaemonConfig::new(OUR_AS, ours, api)
        .router("hold_time_s = 9")
        .originate("192.0.2.0/24")
        .neighbor(&neighbor("bird-a", "127.0.0.2", "127.0.0.1", peer).with("hold_time_s = 12"));
    d.reload(&with_tokens(&changed, Some(&tok)));
    let reloaded = wait_for(Duration::from_secs(5), || {
        d.log().contains("reload applied").then_some(())
    });
    assert!(reloaded.is_some(), "{}", d.log());
    stays_down(&d, 4);
    assert_eq!(d.ups("bird-a"), ups0, "the session came back up");
    let refused = conns(&d) - c0;
    note(&format!(
        "control: while shut down (9 s, a reload included) BIRD connected {refused} times and was refused"
    ));
    assert!(
        refused >= 1,
        "BIRD never tried: the refusal is untested\n{}",
        d.log()
    );

    // Enable: back up.
    let (code, out, err) = cli(d.api, Some(&good), &["neighbor", "bird-a", "enable"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("enabled"), "{out}");
    assert!(up(&d), "not back after enable\n{}", d.log());
    let (code, _, err) = cli(d.api, Some(&good), &["neighbor", "bird-a", "enable"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("409") && err.contains("not shut down"),
        "{err}"
    );

    // Reset: Cease 6/4 with the message, then back by itself.
    let ups1 = d.ups("bird-a");
    let (code, out, err) = cli(
        d.api,
        Some(&good),
        &["neighbor", "bird-a", "reset", "-m", "policy change"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Cease/Administrative Reset sent"), "{out}");
    let reset = wait_for(Duration::from_secs(5), || {
        bird_lines(&bird, "cpa", "Received: Administrative reset")
            .into_iter()
            .find(|l| l.contains("policy change"))
    });
    assert!(reset.is_some(), "{}", bird.proc.log_text());
    note(&format!(
        "control: BIRD log: {}",
        reset.unwrap_or_default().trim()
    ));
    let back = wait_for(Duration::from_secs(30), || {
        (d.ups("bird-a") > ups1).then_some(())
    });
    assert!(back.is_some(), "not back after reset\n{}", d.log());
    assert!(up(&d));

    // Events and log lines name who asked.
    let events = control_events(&d);
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e.1 == "bird-a" && !e.3.contains("refused"))
        .map(|e| e.0.as_str())
        .collect();
    assert_eq!(actions, ["shutdown", "enable", "reset"], "{events:?}");
    assert!(events.iter().all(|e| e.2 == "noc"), "{events:?}");
    assert!(events
        .iter()
        .any(|e| e.0 == "shutdown" && e.3.contains("asked by noc")));
    let log = d.log();
    assert!(
        log.lines().any(|l| l.contains("INFO")
            && l.contains("asked by noc")
            && l.contains("Administrative Shutdown")),
        "{log}"
    );
}

#[test]
fn refresh_in_and_out_reach_bird_and_a_peer_without_route_refresh_is_refused() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let (ours, api, peer) = (free_port(), free_port(), free_port());
    let bird = Bird::start(&bird_config(
        peer,
        ours,
        &[
            ("cpa", "127.0.0.2", "127.0.0.1", ""),
            ("cpb", "127.0.0.3", "127.0.0.4", "enable route refresh off;"),
        ],
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let tok = tokens(dir.path());
    let good = client_token(dir.path(), TOKEN);
    let config = DaemonConfig::new(OUR_AS, ours, api)
        .router("hold_time_s = 9")
        .originate("192.0.2.0/24")
        .originate("198.51.100.0/24")
        .originate("203.0.113.0/24")
        .neighbor(&neighbor("bird-a", "127.0.0.2", "127.0.0.1", peer))
        .neighbor(&neighbor("bird-b", "127.0.0.3", "127.0.0.4", peer));
    let d = Daemon::start(&with_tokens(&config, Some(&tok)), config.api_addr());
    for n in ["bird-a", "bird-b"] {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(30)),
            "{n}\n{}",
            d.log()
        );
    }
    let accepted = |d: &Daemon| {
        d.neighbor("bird-a")
            .map(|n| n["prefixes_accepted"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    };
    let all = wait_for(Duration::from_secs(20), || {
        (accepted(&d) == 200).then_some(())
    });
    assert!(all.is_some(), "{:?}", d.neighbor("bird-a"));

    // refresh in: BIRD sends its 200 routes again, and they all stay.
    let updates = |d: &Daemon| {
        metric(
            d,
            "coldpotato_messages_received_total",
            &["neighbor=\"bird-a\"", "type=\"update\""],
        )
    };
    let refreshes = |d: &Daemon| {
        metric(
            d,
            "coldpotato_messages_received_total",
            &["neighbor=\"bird-a\"", "type=\"route_refresh\""],
        )
    };
    let (u0, r0) = (updates(&d), refreshes(&d));
    let (code, out, err) = cli(d.api, Some(&good), &["neighbor", "bird-a", "refresh", "in"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ROUTE-REFRESH sent for ipv4 unicast"), "{out}");
    let more = wait_for(Duration::from_secs(10), || {
        (updates(&d) > u0).then_some(updates(&d))
    });
    assert!(
        more.is_some(),
        "no UPDATEs after ROUTE-REFRESH\n{}",
        d.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    let (u1, r1) = (updates(&d), refreshes(&d));
    assert_eq!(
        accepted(&d),
        200,
        "routes lost across the refresh: {:?}",
        d.neighbor("bird-a")
    );
    note(&format!(
        "control: refresh in: BIRD sent {} UPDATEs and {} ROUTE-REFRESH messages (BoRR/EoRR) back; 200 of 200 routes kept",
        u1 - u0,
        r1 - r0
    ));

    // refresh out: BIRD's import counter for cpa grows by our 3 routes.
    let received = |b: &Bird| -> u64 {
        b.cmd("show protocols all cpa")
            .lines()
            .find(|l| l.trim_start().starts_with("Import updates:"))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let sent_rr = |d: &Daemon| {
        metric(
            d,
            "coldpotato_messages_sent_total",
            &["neighbor=\"bird-a\"", "type=\"route_refresh\""],
        )
    };
    let s0 = sent_rr(&d);
    let b0 = received(&bird);
    assert!(b0 >= 3, "{}", bird.cmd("show protocols all cpa"));
    let (code, out, err) = cli(
        d.api,
        Some(&good),
        &["neighbor", "bird-a", "refresh", "out"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sent again"), "{out}");
    let got = wait_for(Duration::from_secs(10), || {
        (received(&bird) >= b0 + 3).then_some(received(&bird))
    });
    assert!(
        got.is_some(),
        "BIRD got nothing new:\n{}",
        bird.cmd("show protocols all cpa")
    );
    // Enhanced route refresh was negotiated (BIRD sent BoRR/EoRR above):
    // ours came within a BoRR and an EoRR.
    let markers = wait_for(Duration::from_secs(5), || {
        (sent_rr(&d) >= s0 + 2.0).then_some(())
    });
    assert!(
        markers.is_some(),
        "no BoRR/EoRR sent: {} -> {}",
        s0,
        sent_rr(&d)
    );
    let routes = bird.cmd("show route protocol cpa count");
    note(&format!(
        "control: refresh out: BIRD import updates {b0} -> {}; {}",
        got.unwrap_or(0),
        routes.lines().last().unwrap_or("").trim()
    ));
    assert!(
        routes.contains("3 of 3 routes") || routes.contains("3 of"),
        "{routes}"
    );

    // A peer that did not advertise route refresh: 409, said so.
    let (code, _, err) = cli(d.api, Some(&good), &["neighbor", "bird-b", "refresh", "in"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("409") && err.contains("route refresh capability"),
        "{err}"
    );
    assert_eq!(d.neighbor("bird-b").unwrap()["state"], "Established");
}

#[test]
fn clear_max_prefix_ends_the_restart_penalty_at_once() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let (ours, api, peer) = (free_port(), free_port(), free_port());
    let _bird = Bird::start(&bird_config(
        peer,
        ours,
        &[("cpa", "127.0.0.2", "127.0.0.1", "")],
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let tok = tokens(dir.path());
    let good = client_token(dir.path(), TOKEN);
    let config =
        DaemonConfig::new(OUR_AS, ours, api)
            .router("hold_time_s = 9")
            .neighbor(&neighbor("bird-a", "127.0.0.2", "127.0.0.1", peer).with(
                "max_prefixes = { limit = 50, action = \"teardown\", restart_after_s = 3600 }",
            ));
    let d = Daemon::start(&with_tokens(&config, Some(&tok)), config.api_addr());
    let tripped = wait_for(Duration::from_secs(30), || {
        let n = d.neighbor("bird-a")?;
        (d.ups("bird-a") >= 1.0 && n["state"] == "Idle").then_some(())
    });
    assert!(tripped.is_some(), "never tripped\n{}", d.log());
    // Held down: BIRD retries every 1-2 s and is refused.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(d.ups("bird-a"), 1.0, "{}", d.log());
    assert_eq!(d.neighbor("bird-a").unwrap()["state"], "Idle");

    let (code, out, err) = cli(
        d.api,
        Some(&good),
        &["neighbor", "bird-a", "clear", "max-prefix"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("max-prefix penalty cleared"), "{out}");
    let back = wait_for(Duration::from_secs(10), || {
        (d.ups("bird-a") >= 2.0).then_some(())
    });
    assert!(back.is_some(), "not back after clear\n{}", d.log());
    note(&format!("control: clear max-prefix: {}", out.trim()));
    let events = control_events(&d);
    assert!(
        events
            .iter()
            .any(|e| e.0 == "clear-max-prefix" && e.2 == "noc"),
        "{events:?}"
    );
}

#[test]
fn without_a_tokens_file_writes_are_refused_and_reload_reports_its_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tok = tokens(dir.path());
    let good = client_token(dir.path(), TOKEN);
    let base = DaemonConfig::new(OUR_AS, free_port(), free_port());

    // No tokens file: 403 with how to enable writes.
    let d = Daemon::start(&with_tokens(&base, None), base.api_addr());
    let (code, body) = post(d.api, "/api/v1/reload", Some(&format!("Bearer {TOKEN}")));
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("tokens_file"), "{body}");
    let (code, _, err) = cli(d.api, Some(&good), &["reload"]);
    assert_eq!(code, 1);
    assert!(err.contains("403") && err.contains("read-only"), "{err}");
    // Reads stay open.
    assert_eq!(http_get(d.api, "/api/v1/neighbors").map(|r| r.0), Some(200));
    drop(d);

    // With tokens: reload says what changed.
    let base = DaemonConfig::new(OUR_AS, free_port(), free_port());
    let d = Daemon::start(&with_tokens(&base, Some(&tok)), base.api_addr());
    let added = base
        .clone()
        .neighbor(&Neighbor::new("far", "127.0.0.9", 174, "transit").passive())
        .neighbor(&Neighbor::new("off", "127.0.0.8", 174, "transit").with("shutdown = true"));
    std::fs::write(&d.config, with_tokens(&added, Some(&tok))).expect("rewrite");
    let (code, out, err) = cli(d.api, Some(&good), &["reload"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("valid; 2 changes applied") && out.contains("neighbor far added"),
        "{out}"
    );
    // An operator's enable does not override the config's `shutdown = true`.
    let (code, _, err) = cli(d.api, Some(&good), &["neighbor", "off", "enable"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("409") && err.contains("shutdown = true"),
        "{err}"
    );
    let (code, out, _) = cli(d.api, Some(&good), &["reload"]);
    assert_eq!(code, 0);
    assert!(out.contains("no changes"), "{out}");

    // A bad config: refused at file:line:col, the daemon runs on with the last good one.
    let bad = with_tokens(&added, Some(&tok)).replace("remote_as = 174", "remote_as = \"x\"");
    std::fs::write(&d.config, &bad).expect("rewrite");
    let line = bad
        .lines()
        .position(|l| l.contains("remote_as = \"x\""))
        .unwrap()
        + 1;
    let (code, out, err) = cli(d.api, Some(&good), &["reload"]);
    assert_eq!(code, 1, "{out}");
    let at = format!("{}:{line}:", d.config.display());
    assert!(err.contains("422") && err.contains(&at), "{err}");
    note(&format!(
        "control: bad reload: {}",
        err.lines().nth(1).unwrap_or("").trim()
    ));
    let mut d = d;
    assert!(d.alive());
    assert!(d.neighbor("far").is_some());

    // The log level, at runtime.
    let (code, out, err) = cli(d.api, Some(&good), &["log-level", "debug"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("log level set to debug"), "{out}");
    let (code, _, err) = cli(d.api, Some(&good), &["log-level", "coldpotato=loud"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("400") && err.contains("invalid log directive"),
        "{err}"
    );

    let events = control_events(&d);
    let actions: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "reload",
            "enable",
            "reload",
            "reload",
            "log-level",
            "log-level"
        ],
        "{events:?}"
    );

    // Reload re-reads the tokens file: the old token stops working, the new
    // one works; a file others may read is warned about.
    let fresh = "another-test-token-abcdefghijklmnop";
    std::fs::write(&d.config, with_tokens(&added, Some(&tok))).expect("rewrite");
    std::fs::write(&tok, format!("ops {fresh}\n")).expect("rewrite tokens");
    let _ = Command::new("chmod").arg("644").arg(&tok).status();
    let (code, _, err) = cli(d.api, Some(&good), &["reload"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(d.api, Some(&good), &["reload"]);
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    let (code, _, err) = cli(d.api, Some(&client_token(dir.path(), fresh)), &["reload"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        d.log().contains("readable by its group or others"),
        "{}",
        d.log()
    );
}
