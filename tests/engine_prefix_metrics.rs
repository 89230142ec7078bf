//! Prefix monitoring: the per-registered-prefix gauges follow the decision
//! primary → backup → internet → primary, count the sessions at the
//! primary and backup locations, flag an origin mismatch, and disappear
//! when a reload drops the registration. One test: the metrics registry is
//! global to the process.

mod common;

use common::engine_lab as lab;

use lab::*;

/// The value of the series `name{labels…}` in the exposition, if present.
fn value(name: &str, labels: &[(&str, &str)]) -> Option<i64> {
    coldpotato::metrics::gather().lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix('{')?;
        let (lbl, v) = rest.split_once("} ")?;
        labels
            .iter()
            .all(|(k, want)| lbl.split(',').any(|kv| kv == format!("{k}=\"{want}\"")))
            .then(|| v.trim().parse().ok())?
    })
}

fn state(s: &str) -> Option<i64> {
    value(
        "coldpotato_registered_prefix_state",
        &[("prefix", REG), ("state", s)],
    )
}

fn sessions(site: &str) -> Option<i64> {
    value(
        "coldpotato_registered_prefix_sessions",
        &[("prefix", REG), ("site", site)],
    )
}

#[test]
fn registered_prefix_gauges_follow_the_decision_and_go_with_the_registration() {
    let mut lab = Lab::new("");
    for n in ["ps-ams-1", "ps-ams-2", "ps-fra", "transit", "rr1"] {
        lab.up(n);
    }
    lab.update("transit", ann(&["203.0.112.0/23"], &[3356, 64500]));
    lab.update("ps-fra", ann(&[REG], &[64500]));
    lab.update("ps-ams-1", ann(&[REG], &[64500]));
    lab.update("ps-ams-2", ann(&[REG], &[64500]));
    assert_eq!(
        (state("primary"), state("backup"), state("internet")),
        (Some(1), Some(0), Some(0))
    );
    assert_eq!(
        (sessions("primary"), sessions("backup")),
        (Some(2), Some(1))
    );
    let changed = value(
        "coldpotato_registered_prefix_last_change_timestamp_seconds",
        &[("prefix", REG)],
    );
    assert!(changed.is_some_and(|t| t > 1_700_000_000), "{changed:?}");
    let check = |c: &str| {
        value(
            "coldpotato_registered_prefix_as_registered",
            &[("prefix", REG), ("check", c)],
        )
    };
    assert_eq!((check("origin"), check("rpki")), (Some(1), Some(1)));

    lab.down("ps-ams-1", None);
    assert_eq!(
        sessions("primary"),
        Some(1),
        "one session left at the primary"
    );
    lab.down("ps-ams-2", None);
    assert_eq!((state("primary"), state("backup")), (Some(0), Some(1)));
    assert_eq!(sessions("primary"), Some(0));
    lab.down("ps-fra", None);
    assert_eq!((state("backup"), state("internet")), (Some(0), Some(1)));
    assert_eq!(sessions("backup"), Some(0));
    lab.up("ps-ams-2");
    lab.update("ps-ams-2", ann(&[REG], &[64500]));
    assert_eq!((state("internet"), state("primary")), (Some(0), Some(1)));

    // A wrong origin for the registered prefix flags the origin check.
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&[REG], &[64500, 64666]));
    assert_eq!(check("origin"), Some(0), "origin mismatch seen");

    // A reload without the registration removes the prefix's series.
    let text = BASE.replace(
        "[[registered_prefixes]]\nprefix = \"203.0.113.0/24\"\npeer_asn = 64500\nprimary = \"ams\"\nbackup = \"fra\"\n",
        "",
    );
    assert_ne!(text, BASE, "the registration was found in the base config");
    let cfg: Config = toml::from_str(&text).expect("config");
    lab.input(Input::Reload(running(Arc::new(cfg))));
    assert_eq!(
        state("primary"),
        None,
        "series removed with the registration"
    );
    assert_eq!(sessions("primary"), None);
}
