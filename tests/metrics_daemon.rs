//! `/metrics` of the real daemon by convention (issue 16): the standard
//! `process_*` metrics, `coldpotato_build_info`, `coldpotato_neighbor_info`,
//! every per-neighbor family present from the start with zeros, the last
//! reload's result and time, and `promtool check metrics` clean.

mod common;

use common::speaker::Speaker;
use common::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn config(port: u16, api: u16, second: bool) -> DaemonConfig {
    let c = DaemonConfig::new(8075, port, api).neighbor(
        &Neighbor::new("t1", "127.0.0.71", 3356, "transit")
            .passive()
            .with("max_prefixes = { limit = 1000 }"),
    );
    if second {
        c.neighbor(&Neighbor::new("t2", "127.0.0.72", 174, "transit").passive())
    } else {
        c
    }
}

fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn a_fresh_daemon_exposes_conventional_metrics_that_promtool_accepts() {
    if !need(&["promtool"], false) {
        return;
    }
    let (port, api) = (free_port(), free_port());
    let d = config(port, api, true).start();
    let (_, body) = http_get(d.api, "/metrics").expect("metrics");
    for want in [
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "coldpotato_config_last_reload_successful 1",
        "coldpotato_neighbor_info{address=\"127.0.0.71\",location=\"ams\",neighbor=\"t1\",remote_as=\"3356\",role=\"transit\"} 1",
        "coldpotato_prefixes_received{location=\"ams\",neighbor=\"t2\"} 0",
        "coldpotato_session_established_total{location=\"ams\",neighbor=\"t2\"} 0",
        "coldpotato_messages_received_total{location=\"ams\",neighbor=\"t1\",type=\"update\"} 0",
        "coldpotato_max_prefix_utilization_ratio{location=\"ams\",neighbor=\"t1\"} 0",
    ] {
        assert!(body.contains(want), "missing {want:?} in\n{body}");
    }
    let build = body
        .lines()
        .find(|l| l.starts_with("coldpotato_build_info{"))
        .expect("build_info");
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION")))
            && build.ends_with(" 1"),
        "{build}"
    );
    assert!(
        value(
            &body,
            "coldpotato_config_last_reload_success_timestamp_seconds"
        )
        .unwrap_or(0.0)
            > 1.7e9
    );
    assert!(
        !body.contains("coldpotato_process_"),
        "process metrics carry the standard names"
    );

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("promtool");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && report.trim().is_empty(), "{report}");

    // A removed neighbor's series go, every family (its info, prefix
    // counts, session state); the kept neighbor's stay; a refused reload
    // says so.
    assert!(body.contains("neighbor=\"t2\""));
    d.reload(&config(port, api, false).to_string());
    // Its info goes at the reload, its other series once its task has
    // sent its last NOTIFICATION and ended: wait for all of them.
    let gone = wait_for(Duration::from_secs(10), || {
        let (_, b) = http_get(d.api, "/metrics")?;
        (!b.contains("neighbor=\"t2\"")).then_some(b)
    });
    let b = gone.expect("the removed neighbor's series go");
    std::thread::sleep(Duration::from_millis(500));
    let (_, b2) = http_get(d.api, "/metrics").expect("metrics");
    for body in [&b, &b2] {
        let left: Vec<&str> = body
            .lines()
            .filter(|l| l.contains("neighbor=\"t2\""))
            .collect();
        assert!(
            left.is_empty(),
            "removed neighbor t2 still in /metrics: {left:#?}"
        );
        assert!(body.contains(
            "coldpotato_messages_received_total{location=\"ams\",neighbor=\"t1\",type=\"update\"} 0"
        ));
    }
    d.reload("this is not toml");
    let refused = wait_for(Duration::from_secs(10), || {
        let (_, b) = http_get(d.api, "/metrics")?;
        (value(&b, "coldpotato_config_last_reload_successful ") == Some(0.0)).then_some(())
    });
    assert!(refused.is_some());
}

/// A reload that changes only a neighbor's `location` keeps its session and
/// moves every one of its series to the new label: none stays (or comes
/// back) under the old one, and the session task counts under the new one.
#[test]
fn a_location_change_moves_a_running_sessions_series_to_the_new_label() {
    let (port, api) = (free_port(), free_port());
    let at = |loc: &str| {
        DaemonConfig::new(8075, port, api).location("fra").neighbor(
            &Neighbor::new("t1", "127.0.0.73", 3356, "transit")
                .passive()
                .accept_all()
                .location(loc),
        )
    };
    let d = at("ams").start();
    let daemon = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut peer =
        Speaker::connect(std::net::Ipv4Addr::new(127, 0, 0, 73), daemon, 3356).expect("connects");
    assert!(
        d.wait_state("t1", "Established", Duration::from_secs(20)),
        "{}",
        d.log()
    );
    d.reload(&at("fra").to_string());
    let old = |b: &str| -> Vec<String> {
        b.lines()
            .filter(|l| l.contains("neighbor=\"t1\"") && l.contains("location=\"ams\""))
            .map(str::to_string)
            .collect()
    };
    let moved = wait_for(Duration::from_secs(10), || {
        let (_, b) = http_get(d.api, "/metrics")?;
        (b.contains(
            "coldpotato_session_state{location=\"fra\",neighbor=\"t1\",state=\"Established\"} 1",
        ) && old(&b).is_empty())
        .then_some(())
    });
    assert!(moved.is_some(), "{:#?}", http_get(d.api, "/metrics"));
    // The session was kept, and what it receives now counts under "fra".
    let good = "40 01 01 00 40 02 0a 02 02 00000d1c 0000fbf0 40 03 04 7f000049";
    peer.send_raw_update(good, &["192.0.2.0/24"]).expect("send");
    let counted = wait_for(Duration::from_secs(10), || {
        let (_, b) = http_get(d.api, "/metrics")?;
        (value(
            &b,
            "coldpotato_messages_received_total{location=\"fra\",neighbor=\"t1\",type=\"update\"} ",
        ) == Some(1.0)
            && value(
                &b,
                "coldpotato_prefixes_received{location=\"fra\",neighbor=\"t1\"} ",
            ) == Some(1.0))
        .then_some(b)
    });
    let b = counted.unwrap_or_else(|| panic!("{:#?}", http_get(d.api, "/metrics")));
    assert!(b.contains("coldpotato_session_uptime_seconds{location=\"fra\",neighbor=\"t1\"}"));
    // Past the uptime's once-a-second update: still nothing under "ams".
    std::thread::sleep(Duration::from_millis(1500));
    let (_, b) = http_get(d.api, "/metrics").expect("metrics");
    assert!(old(&b).is_empty(), "{:#?}", old(&b));
    assert!(d.wait_state("t1", "Established", Duration::from_secs(1)));
    drop(peer);
}
