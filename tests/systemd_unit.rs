//! The shipped systemd unit (`config/coldpotato.service`, issue 11): its
//! hardening is scored by `systemd-analyze security --offline`, and the
//! daemon really runs the way the unit runs it — as the unit's `User=`,
//! with only its `AmbientCapabilities=` and `NoNewPrivileges=` (applied with
//! `setpriv`, since a test machine has no systemd as PID 1): it listens on
//! a privileged port, brings up a BGP session and answers the API.

mod common;

use common::*;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/coldpotato.service");
/// Highest exposure `systemd-analyze security` may give the unit
/// (0 = locked down, 10 = unprotected; 1.6 when written).
const MAX_EXPOSURE: f64 = 2.0;

/// The values of `key=` in the unit's `[Service]` section.
fn directive(key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(UNIT).expect("the unit file");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(&format!("{key}=")))
        .flat_map(|v| v.split_whitespace().map(str::to_string))
        .collect()
}

#[test]
fn the_unit_scores_ok_in_systemd_analyze_security() {
    if !need(&["systemd-analyze"], false) {
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager", UNIT])
        .output()
        .expect("systemd-analyze runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            let rest = l
                .split("Overall exposure level for coldpotato.service:")
                .nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no exposure score in:\n{text}"));
    note(&format!(
        "systemd-analyze security: exposure {score} for coldpotato.service"
    ));
    assert!(
        score <= MAX_EXPOSURE,
        "exposure {score} > {MAX_EXPOSURE}:\n{text}"
    );
    for (key, want) in [
        ("User", "coldpotato"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("PrivateTmp", "yes"),
        ("SystemCallFilter", "@system-service"),
    ] {
        assert!(directive(key).iter().any(|v| v == want), "{key}={want}");
    }
    assert!(!directive("RestrictAddressFamilies").is_empty());
    let unit = std::fs::read_to_string(UNIT).expect("the unit file");
    assert!(unit.contains(
        "ExecStart=/usr/local/bin/coldpotato run --config /etc/coldpotato/coldpotato.toml"
    ));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
}

/// A free port below 1024 (binding it needs CAP_NET_BIND_SERVICE).
fn privileged_port() -> u16 {
    (900..1000)
        .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port in 900..1000")
}

#[test]
fn the_daemon_runs_as_the_units_user_with_only_its_capabilities() {
    if !need(&["setpriv", "useradd"], true) {
        return;
    }
    let user = directive("User").pop().expect("User=");
    let exists = Command::new("id")
        .arg(&user)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        // What the unit's install comment says to run.
        let ok = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                &user,
            ])
            .status()
            .expect("useradd runs");
        assert!(ok.success(), "useradd {user}");
    }
    let caps: Vec<String> = directive("AmbientCapabilities")
        .iter()
        .map(|c| c.trim_start_matches("CAP_").to_lowercase())
        .collect();
    assert!(caps.contains(&"net_bind_service".to_string()), "{caps:?}");
    let plus = |v: &[String]| {
        v.iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(",")
    };

    let port = privileged_port();
    let api = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = dir.path().join("coldpotato.toml");
    std::fs::write(
        &config,
        DaemonConfig::new(8075, port, api)
            .neighbor(
                &Neighbor::new("peer", "127.0.0.61", 3356, "transit")
                    .passive()
                    .ipv4(),
            )
            .to_string(),
    )
    .expect("write config");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={user}"),
        &format!("--regid={user}"),
        "--init-groups",
        &format!("--inh-caps=-all,{}", plus(&caps)),
        &format!("--ambient-caps={}", plus(&caps)),
        &format!("--bounding-set=-all,{}", plus(&caps)),
        "--no-new-privs",
        env!("CARGO_BIN_EXE_coldpotato"),
        "run",
        "--config",
    ])
    .arg(&config);
    let daemon = Proc::spawn("coldpotato", cmd, dir.path().join("coldpotato.log"));
    let api_addr = SocketAddr::from(([127, 0, 0, 1], api));
    let healthy = wait_for(Duration::from_secs(20), || {
        (http_get(api_addr, "/healthz").map(|(c, _)| c) == Some(200)).then_some(())
    });
    assert!(healthy.is_some(), "not healthy:\n{}", daemon.log_text());

    // It runs as the user, with no capability but the unit's.
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_string())
            .unwrap_or_default()
    };
    let uid = String::from_utf8(
        Command::new("id")
            .args(["-u", &user])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        field("Uid:").split_whitespace().collect::<Vec<_>>(),
        vec![uid.trim(); 4],
        "real, effective, saved and fs uid are {user}'s"
    );
    let eff = u64::from_str_radix(&field("CapEff:"), 16).expect("CapEff");
    let allowed: u64 = caps
        .iter()
        .map(|c| match c.as_str() {
            // linux/capability.h
            "net_bind_service" => 1u64 << 10,
            "net_admin" => 1 << 12,
            "net_raw" => 1 << 13,
            other => panic!("capability {other} not known to this test"),
        })
        .sum();
    assert_eq!(
        eff & !allowed,
        0,
        "effective capabilities {eff:#x} beyond {allowed:#x}"
    );
    assert_eq!(field("NoNewPrivs:"), "1");

    // And it does its job from there: a session on the privileged port.
    let speaker = speaker::Speaker::connect(
        Ipv4Addr::new(127, 0, 0, 61),
        ([127, 0, 0, 1], port).into(),
        3356,
    )
    .expect("connect to the privileged port");
    let up = wait_for(Duration::from_secs(15), || {
        let (_, body) = http_get(api_addr, "/api/v1/neighbors")?;
        body.contains("Established").then_some(())
    });
    assert!(up.is_some(), "no session:\n{}", daemon.log_text());
    note(&format!(
        "systemd unit: the daemon runs as {user} (uid {}), CapEff {eff:#x}, on port {port}",
        uid.trim()
    ));
    drop(speaker);
}
