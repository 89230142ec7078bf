//! `/metrics` of the real daemon by convention (issue 16): the standard
//! `process_*` metrics, `coldpotato_build_info`, `coldpotato_neighbor_info`,
//! every per-neighbor family present from the start with zeros, the last
//! reload's result and time, and `promtool check metrics` clean.

mod common;

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
