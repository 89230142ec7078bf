//! The binary as an operator meets it: `check` on every shipped example and
//! on broken files (exit codes, `file:line:col` messages), `run` starting and
//! stopping cleanly on SIGTERM, and `lab` showing a failover and a recovery.

mod common;

use common::*;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_coldpotato"))
}

#[test]
fn check_accepts_every_example_in_config() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("config/ exists") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        // Policy files are checked through the config that includes them.
        if path.extension().and_then(|e| e.to_str()) != Some("toml") || name.starts_with("policy") {
            continue;
        }
        let out = bin()
            .arg("check")
            .arg("--config")
            .arg(&path)
            .output()
            .expect("run check");
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 1, "no example configs found");
}

#[test]
fn check_rejects_an_unknown_key_with_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[router]\nasn = 8075\nrouter_id = \"192.0.2.1\"\nlocation = \"ams\"\n\n[[locations]]\nname = \"ams\"\n\n[[neighbors]]\nname = \"x\"\naddress = \"192.0.2.2\"\nremte_as = 64500\nlocation = \"ams\"\nrole = \"transit\"\n",
    )
    .expect("write");
    let out = bin()
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run check");
    assert_eq!(out.status.code(), Some(1));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("bad.toml:12:1: unknown key \"remte_as\""),
        "{text}"
    );
}

#[test]
fn run_starts_listens_and_stops_cleanly_on_sigterm() {
    let api = free_port();
    let bgp = free_port();
    let cfg = format!(
        "[router]\nasn = 8075\nrouter_id = \"127.0.0.1\"\nlisten = [\"127.0.0.1:{bgp}\"]\nlocation = \"ams\"\n\n[api]\nlisten = \"127.0.0.1:{api}\"\n\n[[locations]]\nname = \"ams\"\n"
    );
    let mut d = Daemon::start(&cfg, SocketAddr::from(([127, 0, 0, 1], api)));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", bgp)).is_ok(),
        "BGP port not listening"
    );
    let code = d.proc.terminate(Duration::from_secs(10));
    assert_eq!(code, Some(0), "exit code; log:\n{}", d.log());
}

#[test]
fn run_starts_on_the_shipped_example_and_stops_cleanly_on_sigterm() {
    // The example as shipped, with every neighbor administratively shut down
    // (so nothing is sent to its documentation addresses) and the listeners
    // moved to free loopback ports.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let text = std::fs::read_to_string(dir.join("coldpotato.toml")).expect("example");
    let api = free_port();
    let bgp = free_port();
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("policy = \"policy.toml\"") {
            out.push_str(&format!("policy = {:?}\n", dir.join("policy.toml")));
        } else if t.starts_with("listen = [") {
            out.push_str(&format!("listen = [\"127.0.0.1:{bgp}\"]\n"));
        } else if t.starts_with("listen = \"") {
            out.push_str(&format!("listen = \"127.0.0.1:{api}\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
            if t == "[[neighbors]]" {
                out.push_str("shutdown = true\n");
            }
        }
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("coldpotato.toml");
    std::fs::write(&path, &out).expect("write");
    let checked = bin()
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("check");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let mut d = Daemon::start(&out, SocketAddr::from(([127, 0, 0, 1], api)));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", bgp)).is_ok(),
        "BGP port not listening"
    );
    let n = d.get("/api/v1/neighbors");
    let list = n.as_array().expect("list");
    assert!(list.len() >= 4, "{n}");
    assert!(list.iter().all(|x| x["state"] == "Idle"), "{n}");
    let code = d.proc.terminate(Duration::from_secs(10));
    assert_eq!(code, Some(0), "exit code; log:\n{}", d.log());
}

#[test]
fn lab_shows_a_failover_and_a_recovery_and_exits_by_itself() {
    let mut cmd = bin();
    cmd.arg("lab");
    let out = cmd.output().expect("run lab");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "lab failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("FAILOVER"), "{text}");
    assert!(text.contains("RECOVERED"), "{text}");
    assert!(text.contains("origin-mismatch"), "hijack not shown: {text}");
    assert!(text.contains("max-prefix"), "offender not shown: {text}");
}

/// `show routes | head -1` with a full-ish table: the reader goes away after
/// one line; the command exits 0 without a panic (as `ls | head` does),
/// under `set -o pipefail` too.
#[test]
fn show_routes_into_a_pipe_closed_early_exits_zero_without_a_panic() {
    const ROUTES: usize = 100_000;
    let (port, api) = (free_port(), free_port());
    let d = DaemonConfig::new(8075, port, api)
        .neighbor(
            &Neighbor::new("feed", "127.0.0.71", 3356, "transit")
                .accept_all()
                .passive()
                .ipv4(),
        )
        .start();
    let _feed = Loadgen {
        target: SocketAddr::from(([127, 0, 0, 1], port)),
        local: "127.0.0.71",
        asn: 3356,
        prefixes: ROUTES,
        sets: 1000,
        seed: None,
        hold_for_s: 120,
    }
    .spawn(d.dir.path().join("loadgen.log"));
    let loaded = wait_for(Duration::from_secs(60), || {
        let n = d.neighbor("feed")?;
        (n["prefixes_accepted"].as_u64() == Some(ROUTES as u64)).then_some(())
    });
    assert!(
        loaded.is_some(),
        "table not loaded: {:?}",
        d.neighbor("feed")
    );

    let out = Command::new("bash")
        .args([
            "-o",
            "pipefail",
            "-c",
            &format!(
                "{} show routes --api 127.0.0.1:{api} | head -1",
                env!("CARGO_BIN_EXE_coldpotato")
            ),
        ])
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {stderr}",
        out.status.code()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "head printed one line"
    );

    // `show neighbors` fits a terminal; `--wide` has the rest.
    let narrow = bin()
        .args(["show", "neighbors", "--api", &format!("127.0.0.1:{api}")])
        .output()
        .expect("show runs");
    let text = String::from_utf8_lossy(&narrow.stdout);
    assert!(text.contains("SINCE") && text.contains("feed"), "{text}");
    for l in text.lines() {
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    let wide = bin()
        .args([
            "show",
            "neighbors",
            "--wide",
            "--api",
            &format!("127.0.0.1:{api}"),
        ])
        .output()
        .expect("show runs");
    assert!(String::from_utf8_lossy(&wide.stdout).contains("ADDRESS"));
}

/// An API that accepts the connection and never answers: `show` gives up
/// after `--timeout` seconds and says so (it used to wait 60 s).
#[test]
fn show_gives_up_on_a_silent_api_after_its_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(std::time::Duration::from_secs(4));
        drop(conn);
    });
    let out = bin()
        .args(["show", "neighbors", "--timeout", "1", "--api"])
        .arg(addr.to_string())
        .output()
        .expect("show runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("did not answer within 1 s (--timeout 1)"),
        "{stderr}"
    );
    let _ = hold.join();
}

/// `--log-format json`: every line is one JSON object, fields top-level
/// (the neighbor of a session line is `neighbor`, not inside a span), a
/// failed connect says when it retries, and a fatal start-up error is a
/// JSON line too. `--log-level` sets the level.
#[test]
fn json_logs_are_flat_and_say_everything_in_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fatal = bin()
        .args(["--log-format", "json", "run", "--config"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .expect("run");
    assert_eq!(fatal.status.code(), Some(1));
    let line = String::from_utf8_lossy(&fatal.stderr).trim().to_string();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["level"], "ERROR");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot read file"),
        "{v}"
    );

    let (port, api, closed) = (free_port(), free_port(), free_port());
    let cfg = format!(
        "[router]\nasn = 8075\nrouter_id = \"127.0.0.1\"\nlisten = [\"127.0.0.1:{port}\"]\nlocation = \"ams\"\n\
         [api]\nlisten = \"127.0.0.1:{api}\"\n[[locations]]\nname = \"ams\"\n\
         [[neighbors]]\nname = \"gone\"\naddress = \"127.0.0.1\"\nport = {closed}\nremote_as = 3356\n\
         location = \"ams\"\nrole = \"transit\"\nmax_prefixes = {{ limit = 10 }}\n"
    );
    let path = dir.path().join("c.toml");
    std::fs::write(&path, cfg).expect("write");
    let mut cmd = bin();
    cmd.args([
        "--log-format",
        "json",
        "--log-level",
        "info",
        "run",
        "--config",
    ])
    .arg(&path);
    let log = dir.path().join("log");
    let mut d = Proc::spawn("coldpotato", cmd, log.clone());
    let seen = wait_for(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("connect failed; retrying in").then_some(text)
    });
    let _ = d.terminate(Duration::from_secs(5));
    let text = seen.unwrap_or_else(|| panic!("{}", d.log_text()));
    let mut session_lines = 0;
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v.get("span").is_none() && v.get("spans").is_none(), "{l}");
        assert_ne!(v["level"], "DEBUG", "--log-level info: {l}");
        if v["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("coldpotato::session"))
        {
            assert_eq!(v["neighbor"], "gone", "{l}");
            session_lines += 1;
        }
        if v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("connect failed"))
        {
            assert!(v["retry_in_s"].is_u64(), "{l}");
        }
    }
    assert!(session_lines > 0, "{text}");
}
