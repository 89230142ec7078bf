//! RPKI origin validation in the route engine without sockets: route
//! states, the `rpki-invalid` rule, re-evaluation on new VRPs (no session
//! reset), and RPKI off.

mod common;

use common::engine_lab as lab;

use coldpotato::messages::Input;
use coldpotato::rpki::{Vrp, VrpTable};
use lab::*;

const RPKI: &str = r#"
[rpki]
servers = ["127.0.0.1:3323"]
reject_invalid = true
"#;

fn vrps(list: &[(&str, u8, u32)]) -> Input {
    let v: Vec<Vrp> = list.iter().map(|&(n, m, a)| Vrp::new(p(n), m, a)).collect();
    Input::Rpki(Some(Arc::new(VrpTable::from_vrps(&v))))
}

fn state(lab: &Lab, prefix: &str) -> (String, Option<String>, Option<String>) {
    let r = lab.routes(Some(prefix), true);
    assert_eq!(r.len(), 1, "{prefix}: {r:?}");
    (r[0].status.clone(), r[0].rule.clone(), r[0].rpki.clone())
}

#[test]
fn routes_are_not_found_until_the_first_vrps_arrive() {
    let mut lab = Lab::new(RPKI);
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500]));
    assert_eq!(
        state(&lab, "192.0.2.0/24"),
        ("accepted".into(), None, Some("not-found".into()))
    );
}

#[test]
fn invalid_routes_are_rejected_with_rule_rpki_invalid_and_explained() {
    let mut lab = Lab::new(RPKI);
    lab.input(vrps(&[
        ("192.0.2.0/24", 24, 64500),
        ("198.18.0.0/15", 16, 64999),
    ]));
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500]));
    lab.update("ps-ams-1", ann(&["198.18.0.0/16"], &[64500]));
    lab.update("ps-ams-1", ann(&["100.64.0.0/16"], &[64500]));
    assert_eq!(
        state(&lab, "192.0.2.0/24"),
        ("accepted".into(), None, Some("valid".into()))
    );
    let (status, rule, rpki) = state(&lab, "198.18.0.0/16");
    assert_eq!(
        (status.as_str(), rule.as_deref(), rpki.as_deref()),
        ("rejected", Some("rpki-invalid"), Some("invalid"))
    );
    let r = lab.routes(Some("198.18.0.0/16"), true);
    assert_eq!(
        r[0].reason.as_deref(),
        Some("RPKI invalid: origin AS64500 not authorized for 198.18.0.0/16 (VRP 198.18.0.0/15-16 AS64999)")
    );
    assert_eq!(state(&lab, "100.64.0.0/16").2.as_deref(), Some("not-found"));
}

#[test]
fn new_vrps_make_an_invalid_route_valid_without_a_session_reset() {
    let mut lab = Lab::new(RPKI);
    lab.input(vrps(&[("198.18.0.0/15", 16, 64999)]));
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["198.18.0.0/16"], &[64500]));
    assert_eq!(state(&lab, "198.18.0.0/16").0, "rejected");
    let out = lab.input(vrps(&[
        ("198.18.0.0/15", 16, 64999),
        ("198.18.0.0/16", 16, 64500),
    ]));
    assert!(
        !out.iter()
            .any(|(_, m)| matches!(m, coldpotato::messages::ToPeer::Teardown { .. })),
        "no session is reset"
    );
    assert_eq!(
        state(&lab, "198.18.0.0/16"),
        ("accepted".into(), None, Some("valid".into()))
    );
    // And back: withdrawn VRP makes it invalid again.
    lab.input(vrps(&[("198.18.0.0/15", 16, 64999)]));
    assert_eq!(
        state(&lab, "198.18.0.0/16").1.as_deref(),
        Some("rpki-invalid")
    );
}

#[test]
fn internal_routes_and_reject_invalid_off_keep_invalid_routes_with_their_state() {
    let mut lab = Lab::new(
        r#"
[rpki]
servers = ["127.0.0.1:3323"]
"#,
    );
    lab.input(vrps(&[("198.18.0.0/15", 16, 64999)]));
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["198.18.0.0/16"], &[64500]));
    assert_eq!(
        state(&lab, "198.18.0.0/16"),
        ("accepted".into(), None, Some("invalid".into()))
    );
    let mut lab = Lab::new(RPKI);
    lab.input(vrps(&[("10.10.0.0/16", 16, 64999)]));
    lab.up("rr1");
    lab.update("rr1", ann(&["10.10.0.0/16"], &[]));
    let (status, rule, rpki) = state(&lab, "10.10.0.0/16");
    assert_eq!(
        status, "accepted",
        "internal routes are not rejected: {rule:?}"
    );
    assert_eq!(rpki.as_deref(), Some("invalid"));
}

#[test]
fn without_rpki_config_routes_carry_no_state_and_nothing_is_rejected() {
    let mut lab = Lab::new("");
    lab.input(vrps(&[("198.18.0.0/15", 16, 64999)]));
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["198.18.0.0/16"], &[64500]));
    assert_eq!(
        state(&lab, "198.18.0.0/16"),
        ("accepted".into(), None, None)
    );
    let json = serde_json::to_string(&lab.routes(None, true)).unwrap();
    assert!(!json.contains("rpki"), "{json}");
}

#[test]
fn policy_match_rpki_lowers_local_pref_of_not_found_routes_and_follows_new_vrps() {
    let mut lab = Lab::with_import_policy(
        &format!(
            r#"
[policy.rpki-pref]
default = "accept"

[[policy.rpki-pref.rule]]
name = "not-found-lower"
match.rpki = ["not-found"]
set.local_pref = 50
action = "accept"
{RPKI}"#
        ),
        "rpki-pref",
    );
    lab.input(vrps(&[("192.0.2.0/24", 24, 64500)]));
    lab.up("ps-ams-1");
    lab.update(
        "ps-ams-1",
        ann(&["192.0.2.0/24", "100.64.0.0/16"], &[64500]),
    );
    let lp = |lab: &Lab, p: &str| lab.routes(Some(p), true)[0].local_pref;
    assert_ne!(lp(&lab, "192.0.2.0/24"), Some(50), "valid: untouched");
    assert_eq!(lp(&lab, "100.64.0.0/16"), Some(50), "not-found: lowered");
    // A VRP for it arrives: valid now, the rule no longer applies.
    lab.input(vrps(&[
        ("192.0.2.0/24", 24, 64500),
        ("100.64.0.0/10", 16, 64500),
    ]));
    assert_ne!(lp(&lab, "100.64.0.0/16"), Some(50));
    assert_eq!(
        lab.routes(Some("100.64.0.0/16"), true)[0].rpki.as_deref(),
        Some("valid")
    );
}

#[test]
fn a_bad_rpki_match_value_is_a_config_error() {
    let text = format!(
        "{BASE}\n[policy.p]\ndefault = \"accept\"\n[[policy.p.rule]]\nname = \"r\"\nmatch.rpki = [\"unknown\"]\naction = \"accept\"\n"
    );
    let err = coldpotato::running::parse(&text, "x.toml");
    let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("unknown variant") || msg.contains("unknown value"),
        "{msg}"
    );
    assert!(msg.contains("valid") && msg.contains("not-found"), "{msg}");
}

#[test]
fn rpki_config_errors_point_at_the_offending_value() {
    let text = format!(
        "{BASE}\n[rpki]\nservers = [\"127.0.0.1\", \"127.0.0.1:3323\", \"127.0.0.1:3323\"]\nrefresh_s = 0\nexpire_s = 100\n"
    );
    let msg = coldpotato::running::parse(&text, "x.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    for want in [
        "must be host:port",
        "duplicate RTR server",
        "refresh_s must be within 1..=86400",
        "expire_s must be within 600..=172800",
    ] {
        assert!(msg.contains(want), "{want} missing in:\n{msg}");
    }
    let line = BASE.lines().count() + 3;
    assert!(msg.contains(&format!("x.toml:{line}:")), "{msg}");
}

#[test]
fn a_new_snapshot_over_fifty_thousand_routes_is_applied_in_bounded_time() {
    let mut lab = Lab::new(RPKI);
    lab.up("transit");
    let prefixes: Vec<String> = (0..50_000u32)
        .map(|i| {
            let a = std::net::Ipv4Addr::from(0x2d00_0000u32 + (i << 8));
            format!("{a}/24")
        })
        .collect();
    for chunk in prefixes.chunks(1000) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        lab.update("transit", ann(&refs, &[3356, 64500]));
    }
    // Half the routes valid, a quarter invalid, the rest not found.
    let vrps: Vec<Vrp> = (0..37_500u32)
        .map(|i| {
            let a = std::net::Ipv4Addr::from(0x2d00_0000u32 + (i << 8));
            let asn = if i % 3 == 2 { 64999 } else { 64500 };
            Vrp::new(p(&format!("{a}/24")), 24, asn)
        })
        .collect();
    let started = Instant::now();
    lab.input(Input::Rpki(Some(Arc::new(VrpTable::from_vrps(&vrps)))));
    let elapsed = started.elapsed();
    eprintln!(
        "RPKI snapshot of {} VRPs over 50000 routes applied in {elapsed:?} (debug build)",
        vrps.len()
    );
    let all = lab.routes(None, true);
    let count = |s: &str| all.iter().filter(|r| r.rpki.as_deref() == Some(s)).count();
    assert_eq!(count("invalid"), 12_500);
    assert_eq!(count("valid"), 25_000);
    assert_eq!(count("not-found"), 12_500);
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    // One VRP more: only the prefixes it covers are looked at again.
    let mut more = vrps.clone();
    more.push(Vrp::new(p("45.0.200.0/24"), 24, 64500));
    let started = Instant::now();
    lab.input(Input::Rpki(Some(Arc::new(VrpTable::from_vrps(&more)))));
    let incremental = started.elapsed();
    eprintln!("one more VRP applied in {incremental:?} (debug build)");
    assert_eq!(
        lab.routes(Some("45.0.200.0/24"), true)[0].rpki.as_deref(),
        Some("valid")
    );
    assert!(incremental < elapsed, "{incremental:?} vs {elapsed:?}");
}

#[test]
fn a_route_leak_rejected_by_only_to_customer_keeps_its_rpki_state() {
    let mut lab = Lab::new(RPKI);
    lab.input(vrps(&[("192.0.2.0/24", 24, 64500)]));
    lab.up("ps-ams-1");
    // From a peer (our default role toward peering-service), marked
    // only-to-customer by another AS: a leak (RFC 9234 §5).
    let mut leak = ann(&["192.0.2.0/24"], &[64500]);
    leak.attrs.only_to_customer = Some(3356);
    lab.update("ps-ams-1", leak);
    assert_eq!(
        state(&lab, "192.0.2.0/24"),
        (
            "rejected".into(),
            Some("otc-leak".into()),
            Some("valid".into())
        )
    );
}
