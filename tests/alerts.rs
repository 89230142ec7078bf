//! The shipped alert rules (`config/alerts.yml`): valid for Prometheus
//! (`promtool check rules`), each rule firing and staying quiet where its
//! unit tests say (`promtool test rules config/alerts_test.yml`), and every
//! metric a rule reads is one the daemon exposes.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn config_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
        .display()
        .to_string()
}

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .output()
        .expect("promtool runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn alert_rules_pass_promtool_check_and_their_unit_tests() {
    if !common::need(&["promtool"], false) {
        return;
    }
    let (ok, out) = promtool(&["check", "rules", &config_file("alerts.yml")]);
    assert!(ok, "promtool check rules:\n{out}");
    assert!(out.contains("SUCCESS: 9 rules found"), "{out}");
    let (ok, out) = promtool(&["test", "rules", &config_file("alerts_test.yml")]);
    assert!(ok, "promtool test rules:\n{out}");
}

#[test]
fn every_metric_an_alert_reads_is_exposed() {
    let m = &*coldpotato::metrics::METRICS;
    let p = "203.0.113.0/24";
    m.registered_prefix_state
        .with_label_values(&[p, "primary"])
        .set(1);
    m.registered_prefix_sessions
        .with_label_values(&[p, "primary"])
        .set(2);
    m.registered_prefix_as_registered
        .with_label_values(&[p, "origin"])
        .set(1);
    m.session_established_total
        .with_label_values(&["n", "ams"])
        .inc();
    m.bfd_transitions_total
        .with_label_values(&["n", "ams", "Down"])
        .inc();
    m.events_total.with_label_values(&["route-leak"]).inc();
    m.rpki_routes.with_label_values(&["invalid"]).set(0);
    m.rpki_session_up.with_label_values(&["cache"]).set(1);
    let exposed: BTreeSet<String> = coldpotato::metrics::gather()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let rules = std::fs::read_to_string(config_file("alerts.yml")).expect("alerts.yml");
    let mut used = BTreeSet::new();
    for line in rules
        .lines()
        .filter(|l| l.trim_start().starts_with("expr:"))
    {
        let mut rest = line;
        while let Some(i) = rest.find("coldpotato_") {
            let name: String = rest[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[i + name.len()..];
            used.insert(name);
        }
    }
    assert!(used.len() >= 8, "{used:?}");
    let missing: Vec<&String> = used.difference(&exposed).collect();
    assert!(
        missing.is_empty(),
        "alerts read metrics the daemon does not expose: {missing:?}"
    );
}
