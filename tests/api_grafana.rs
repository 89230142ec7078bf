//! The Grafana dashboard (`config/grafana-dashboard.json`) is valid JSON,
//! has the `neighbor`/`location` variables, and uses only metric names that
//! `metrics::gather()` really exposes, honouring the neighbor filter.
//! (Its PromQL is parsed by a real Prometheus in `api_prometheus.rs`.)

mod common;

use common::api_fixture as fixture;

use std::collections::{BTreeMap, BTreeSet};

/// Series names in the exposition, with whether they carry a `neighbor` label.
fn exposed_series() -> BTreeMap<String, bool> {
    fixture::touch_all_metrics("grafana-test", "ams");
    let text = coldpotato::metrics::gather();
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        let has_neighbor = line.contains("neighbor=\"");
        let e = out.entry(line[..end].to_string()).or_insert(false);
        *e |= has_neighbor;
    }
    out
}

#[test]
fn dashboard_uses_only_metrics_that_gather_exposes() {
    let exposed = exposed_series();
    let d = fixture::dashboard();
    let exprs = fixture::dashboard_exprs(&d);
    assert!(exprs.len() >= 20, "only {} expressions", exprs.len());
    let mut used = BTreeSet::new();
    for e in &exprs {
        let names = fixture::metric_names(e);
        assert!(
            !names.is_empty(),
            "expression without a coldpotato_ metric: {e}"
        );
        for n in names {
            assert!(
                exposed.contains_key(&n),
                "{n} (in {e}) is not in metrics::gather() output"
            );
            used.insert(n);
        }
    }
    // The families the dashboard exists to show.
    for required in [
        "coldpotato_session_state",
        "coldpotato_session_uptime_seconds",
        "coldpotato_prefixes_received",
        "coldpotato_prefixes_accepted",
        "coldpotato_prefixes_rejected",
        "coldpotato_max_prefix_utilization_ratio",
        "coldpotato_bfd_state",
        "coldpotato_bfd_transitions_total",
        "coldpotato_decisions",
        "coldpotato_events_total",
        "coldpotato_engine_queue_depth",
        "process_resident_memory_bytes",
    ] {
        assert!(
            used.contains(required),
            "dashboard does not show {required}"
        );
    }
}

#[test]
fn per_neighbor_panels_honour_the_neighbor_and_location_variables() {
    let exposed = exposed_series();
    for e in fixture::dashboard_exprs(&fixture::dashboard()) {
        let per_neighbor = fixture::metric_names(&e)
            .iter()
            .any(|n| exposed.get(n).copied().unwrap_or(false));
        if per_neighbor {
            assert!(
                e.contains(r#"neighbor=~"$neighbor""#) && e.contains(r#"location=~"$location""#),
                "per-neighbor expression ignores the variables: {e}"
            );
        }
    }
}

#[test]
fn dashboard_has_neighbor_and_location_template_variables() {
    let d = fixture::dashboard();
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .map(|l| l.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    for want in ["datasource", "location", "neighbor"] {
        assert!(vars.contains(&want), "missing variable {want} in {vars:?}");
    }
    let neighbor = d["templating"]["list"]
        .as_array()
        .and_then(|l| l.iter().find(|v| v["name"] == "neighbor"))
        .cloned()
        .unwrap_or_default();
    let q = neighbor["definition"].as_str().unwrap_or_default();
    assert!(
        q.starts_with("label_values(coldpotato_") && q.contains("$location"),
        "{q}"
    );
}

#[test]
fn dashboard_panels_have_unique_ids_and_sane_layout() {
    let d = fixture::dashboard();
    assert!(d["title"]
        .as_str()
        .is_some_and(|t| t.contains("coldpotato")));
    assert!(d["uid"]
        .as_str()
        .is_some_and(|u| !u.is_empty() && u.len() <= 40));
    let panels = d["panels"].as_array().cloned().unwrap_or_default();
    assert!(panels.len() >= 20, "{} panels", panels.len());
    let mut ids = BTreeSet::new();
    for p in &panels {
        let id = p["id"].as_u64().unwrap_or(0);
        assert!(id > 0 && ids.insert(id), "duplicate or missing id: {p}");
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap_or(99), g["w"].as_u64().unwrap_or(99));
        assert!(
            x + w <= 24 && g["h"].as_u64().unwrap_or(0) > 0,
            "bad gridPos: {g}"
        );
        if p["type"] != "row" {
            assert!(
                !p["targets"].as_array().map(Vec::is_empty).unwrap_or(true),
                "no targets: {p}"
            );
        }
    }
}

#[test]
fn metric_name_extraction_finds_every_coldpotato_name() {
    let names = fixture::metric_names(
        r#"sum(rate(coldpotato_a_total{x="coldpotato"}[1m])) / coldpotato_b"#,
    );
    assert_eq!(names, ["coldpotato_a_total", "coldpotato_b"]);
}
