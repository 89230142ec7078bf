//! Route engine import scenarios without sockets: routes accepted and
//! rejected with the right rule, max-prefix actions, route leaks, reload.

mod common;

use common::engine_lab as lab;

use coldpotato::messages::SessionState;
use coldpotato::running::Running;
use coldpotato::wire::{AsPathSegment, SegmentType};
use lab::*;

#[test]
fn accepted_routes_reach_the_loc_rib_and_are_listed() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24", REG], &[64500]));
    let r = lab.routes(None, false);
    assert_eq!(r.len(), 2);
    assert!(r
        .iter()
        .all(|r| r.status == "accepted" && r.best && r.neighbor == "ps-ams-1"));
    assert_eq!(
        r[0].as_path,
        vec![coldpotato::messages::views::AsPathElem::Asn(64500)]
    );
    lab.update(
        "ps-ams-1",
        Update {
            withdrawn: vec![AddPathPrefix {
                path_id: None,
                prefix: p("192.0.2.0/24"),
            }],
            ..Default::default()
        },
    );
    assert_eq!(lab.routes(None, false).len(), 1);
}

#[test]
fn wrong_origin_for_a_registered_prefix_is_rejected_as_origin_mismatch_and_logged() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&[REG], &[64500, 64666]));
    assert!(
        lab.routes(None, false).is_empty(),
        "a rejected route is not listed by default"
    );
    let all = lab.routes(Some(REG), true);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, "rejected");
    assert_eq!(all[0].rule.as_deref(), Some("origin-mismatch"));
    assert!(all[0].reason.as_deref().unwrap_or("").contains("AS64666"));
    assert!(lab.event_kinds().contains(&"origin-mismatch".to_string()));
}

#[test]
fn more_specific_of_a_registered_prefix_from_another_origin_is_rejected_and_logged() {
    let mut lab = Lab::new("");
    lab.up("transit");
    lab.update("transit", ann(&["203.0.113.128/25"], &[3356, 64666]));
    let all = lab.routes(Some("203.0.113.128/25"), true);
    assert_eq!(all[0].rule.as_deref(), Some("unexpected-more-specific"));
    assert!(lab
        .event_kinds()
        .contains(&"unexpected-more-specific".to_string()));
    // From the registered origin the origin check passes; transit hygiene
    // still refuses a /25.
    lab.update("transit", ann(&["203.0.113.128/25"], &[3356, 64500]));
    let all = lab.routes(Some("203.0.113.128/25"), true);
    assert_eq!(all[0].rule.as_deref(), Some("too-specific"));
}

#[test]
fn treat_as_withdraw_removes_a_previously_accepted_route() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500]));
    let mut bad = ann(&["192.0.2.0/24"], &[64500]);
    bad.attr_error = Some(AttrError::malformed(AttrAction::TreatAsWithdraw, 8));
    lab.update("ps-ams-1", bad);
    assert!(lab.routes(None, true).is_empty());
}

#[test]
fn max_prefix_teardown_sends_cease_with_rfc4486_data_and_hold_down() {
    let mut lab = Lab::new("");
    let mut c = (*lab.core.config().clone()).clone();
    c.neighbors[0].max_prefixes =
        toml::from_str("limit = 2\nwarn_percent = 50\nrestart_after_s = 60").ok();
    lab = Lab {
        evals: Default::default(),
        core: EngineCore::new(Running::new(c).expect("policies compile")),
        now: lab.now,
    };
    lab.up("ps-ams-1");
    let out = lab.update(
        "ps-ams-1",
        ann(
            &["192.0.2.0/24", "192.0.2.0/25", "192.0.2.128/25"],
            &[64500],
        ),
    );
    let td: Vec<_> = out
        .iter()
        .filter_map(|(n, m)| match m {
            ToPeer::Teardown {
                notification,
                hold_down,
            } if &**n == "ps-ams-1" => Some((notification, hold_down)),
            _ => None,
        })
        .collect();
    assert_eq!(td.len(), 1);
    assert_eq!((td[0].0.code, td[0].0.subcode), (6, 1));
    assert_eq!(&td[0].0.data[..], &[0, 1, 1, 0, 0, 0, 2]);
    assert_eq!(*td[0].1, Some(Duration::from_secs(60)));
    assert!(
        lab.routes(None, true).is_empty(),
        "routes of a tripped neighbor are dropped"
    );
    let kinds = lab.event_kinds();
    assert!(kinds.contains(&"max-prefix-warning".to_string()));
    assert!(kinds.contains(&"max-prefix-exceeded".to_string()));
}

#[test]
fn max_prefix_warn_logs_once_and_keeps_every_route() {
    let mut lab = limited("warn");
    let out = lab.update(
        "ps-ams-1",
        ann(
            &[
                "192.0.2.0/24",
                "192.0.2.0/25",
                "192.0.2.128/25",
                "192.0.2.0/26",
            ],
            &[64500],
        ),
    );
    assert!(out
        .iter()
        .all(|(_, m)| !matches!(m, ToPeer::Teardown { .. })));
    assert_eq!(lab.routes(None, false).len(), 4);
    assert_eq!(
        lab.event_kinds()
            .iter()
            .filter(|k| *k == "max-prefix-exceeded")
            .count(),
        1
    );
}

#[test]
fn max_prefix_refuse_rejects_prefixes_beyond_the_limit_with_rule_max_prefix() {
    let mut lab = limited("refuse");
    lab.update(
        "ps-ams-1",
        ann(
            &["192.0.2.0/24", "192.0.2.0/25", "192.0.2.128/25"],
            &[64500],
        ),
    );
    let all = lab.routes(None, true);
    assert_eq!(all.iter().filter(|r| r.status == "accepted").count(), 2);
    let refused: Vec<_> = all.iter().filter(|r| r.status == "rejected").collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].rule.as_deref(), Some("max-prefix"));
    match lab.core.query(&Query::Neighbors, lab.now) {
        QueryReply::Neighbors(n) => {
            let n = n.iter().find(|n| n.name == "ps-ams-1").unwrap();
            assert_eq!((n.prefixes_received, n.prefixes_accepted), (3, 2));
            assert_eq!(n.prefixes_rejected.get("max-prefix"), Some(&1));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn reload_reapplies_registered_prefix_checks_without_a_session_reset() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("rr1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500]));
    let new = cfg("[[registered_prefixes]]\nprefix = \"192.0.2.0/24\"\npeer_asn = 64501\n");
    let out = lab.input(Input::Reload(running(new)));
    assert!(out
        .iter()
        .all(|(_, m)| !matches!(m, ToPeer::Teardown { .. })));
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(r[0].rule.as_deref(), Some("origin-mismatch"));
    assert!(sent(&out, "rr1")
        .iter()
        .any(|u| u.withdrawn.iter().any(|w| w.prefix == p("192.0.2.0/24"))));
    // And back.
    lab.input(Input::Reload(running(cfg(""))));
    assert_eq!(lab.routes(Some("192.0.2.0/24"), false).len(), 1);
    assert!(!lab.event_kinds().contains(&"session-down".to_string()));
}

#[test]
fn reload_without_a_neighbor_drops_its_routes() {
    let mut lab = Lab::new("");
    lab.up("ps-fra");
    lab.update("ps-fra", ann(&[REG], &[64500]));
    let mut c = (*cfg("")).clone();
    c.neighbors.retain(|n| n.name != "ps-fra");
    lab.input(Input::Reload(running(Arc::new(c))));
    assert!(lab.routes(None, true).is_empty());
    assert_eq!(lab.decision(REG).state, "unreachable");
}

#[test]
fn a_transit_asn_behind_a_providers_first_hop_logs_a_route_leak_but_is_accepted() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500, 1299, 64501]));
    assert!(lab.event_kinds().contains(&"route-leak".to_string()));
    assert_eq!(lab.routes(None, false).len(), 1);
}

#[test]
fn events_since_returns_only_newer_events() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("ps-fra");
    match lab.core.query(&Query::Events { since: 1 }, lab.now) {
        QueryReply::Events(e) => {
            assert!(e.iter().all(|e| e.seq > 1));
            assert_eq!(e[0].seq, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_policy_rejection_is_kept_with_its_rule_and_a_reload_that_relaxes_the_rule_accepts_it() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    let mut u = ann(&["192.0.2.0/24"], &[64500]);
    u.attrs.communities.clear();
    lab.update("ps-ams-1", u);
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(
        (r[0].status.as_str(), r[0].rule.as_deref()),
        ("rejected", Some("missing-community"))
    );
    assert!(r[0].reason.as_deref().unwrap_or("").contains("8075:8007"));
    let mut c: Config = (*cfg("")).clone();
    c.rules.require_community = None;
    lab.input(Input::Reload(running(Arc::new(c))));
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(
        (r[0].status.as_str(), r[0].rule.as_deref()),
        ("accepted", None)
    );
    assert!(!lab.event_kinds().contains(&"session-down".to_string()));
}

#[test]
fn withdrawals_lower_the_max_prefix_count_so_new_prefixes_fit_again() {
    let mut lab = limited("refuse");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24", "192.0.2.0/25"], &[64500]));
    lab.update("ps-ams-1", wd(&["192.0.2.0/25"]));
    lab.update("ps-ams-1", ann(&["192.0.2.128/25"], &[64500]));
    let all = lab.routes(None, true);
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|r| r.status == "accepted"));
}

#[test]
fn updates_from_unknown_neighbors_are_ignored() {
    let mut lab = Lab::new("");
    let out = lab.update("nobody", ann(&["192.0.2.0/24"], &[64500]));
    assert!(out.is_empty());
    assert!(lab.routes(None, true).is_empty());
}

#[test]
fn a_route_whose_path_holds_our_own_as_is_rejected_as_a_loop() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["45.1.0.0/24"], &[64500, 8075, 64501]));
    lab.update("ps-ams-1", ann(&["45.1.1.0/24"], &[64500, 64501]));
    let all = lab.routes(Some("45.1.0.0/24"), true);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, "rejected");
    assert_eq!(all[0].rule.as_deref(), Some("as-loop"));
    assert!(!all[0].best);
    let ok = lab.routes(Some("45.1.1.0/24"), true);
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].status, "accepted");
}

#[test]
fn every_prefix_of_one_update_gets_its_attributes_verdict() {
    // The attribute checks run once per UPDATE: each of its prefixes must
    // still carry the verdict, and each new route the leak note.
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    let looped = ["45.2.0.0/24", "45.2.1.0/24", "45.2.2.0/24"];
    lab.update("ps-ams-1", ann(&looped, &[64500, 8075, 64501]));
    for p in looped {
        let r = lab.routes(Some(p), true);
        assert_eq!(r.len(), 1, "{p}");
        assert_eq!(r[0].rule.as_deref(), Some("as-loop"), "{p}");
    }
    let leaked = ["45.3.0.0/24", "45.3.1.0/24"];
    lab.update("ps-ams-1", ann(&leaked, &[64500, 1299, 64501]));
    for p in leaked {
        let r = lab.routes(Some(p), true);
        assert_eq!(r.len(), 1, "{p}");
        assert_eq!(r[0].status, "accepted", "{p}");
    }
    assert!(lab.event_kinds().contains(&"route-leak".to_string()));
}

const OPEN_NEIGHBOR: &str = r#"
[[neighbors]]
name = "open"
address = "192.0.2.18"
remote_as = 3356
location = "ams"
role = "transit"
import_policy = "accept-all"
"#;

/// An UPDATE as the decoder leaves it for AS 0 in AS_PATH (RFC 7607).
fn as_zero(prefixes: &[&str], path: &[u32]) -> Update {
    let mut u = ann(prefixes, path);
    u.attr_error = Some(AttrError {
        action: AttrAction::TreatAsWithdraw,
        type_code: 2,
        cause: AttrCause::AsZero,
    });
    u
}

#[test]
fn as_zero_is_treated_as_withdraw_on_every_role_and_kept_as_rejected_with_rule_as_zero() {
    let mut lab = Lab::new(OPEN_NEIGHBOR);
    for (n, path) in [
        ("ps-ams-1", vec![64500]),
        ("transit", vec![3356, 64500]),
        ("open", vec![3356, 64500]),
        ("rr1", vec![64500]),
    ] {
        lab.up(n);
        lab.update(n, ann(&["192.0.2.0/24", "198.18.0.0/24"], &path));
        assert!(
            lab.routes(Some("192.0.2.0/24"), true)
                .iter()
                .any(|r| r.neighbor == n && r.status == "accepted"),
            "{n}: the clean route is accepted first"
        );
        let mut zero = path.clone();
        zero.insert(1.min(zero.len()), 0);
        lab.update(n, as_zero(&["192.0.2.0/24"], &zero));
        let mine: Vec<_> = lab
            .routes(Some("192.0.2.0/24"), true)
            .into_iter()
            .filter(|r| r.neighbor == n)
            .collect();
        assert_eq!(mine.len(), 1, "{n}: {mine:?}");
        assert_eq!(mine[0].status, "rejected", "{n}");
        assert_eq!(mine[0].rule.as_deref(), Some("as-zero"), "{n}");
        assert!(
            mine[0].reason.as_deref().unwrap_or("").contains("RFC 7607"),
            "{n}: {:?}",
            mine[0].reason
        );
        // The neighbor's other route is untouched.
        assert!(
            lab.routes(Some("198.18.0.0/24"), false)
                .iter()
                .any(|r| r.neighbor == n),
            "{n}: the other route must stay"
        );
    }
}

#[test]
fn export_never_carries_as_zero_even_for_a_route_that_escaped_the_decoder() {
    let mut lab = Lab::new(OPEN_NEIGHBOR);
    lab.up("rr1");
    lab.up("open");
    let out = lab.update("open", ann(&["192.0.2.0/24"], &[3356, 0, 64500]));
    let out2 = lab.update("open", ann(&["198.18.0.0/24"], &[3356, 64500]));
    let to_rr1: Vec<_> = announced(&out, "rr1")
        .into_iter()
        .chain(announced(&out2, "rr1"))
        .collect();
    assert!(
        to_rr1.iter().any(|(q, _)| *q == p("198.18.0.0/24")),
        "the clean route is exported: {to_rr1:?}"
    );
    assert!(
        to_rr1.iter().all(|(_, a)| !a.carries_as_zero()),
        "AS 0 was exported: {to_rr1:?}"
    );
}

/// `ann` with an AS_SET after the sequence (an aggregate's path).
fn ann_with_set(prefix: &str, seq: &[u32], set: &[u32]) -> Update {
    let mut u = ann(&[prefix], seq);
    if let Some(path) = u.attrs.as_path.as_mut() {
        path.segments.push(AsPathSegment {
            kind: SegmentType::Set,
            asns: set.to_vec(),
        });
    }
    u
}

#[test]
fn an_as_set_from_an_ebgp_neighbor_is_treated_as_withdrawn_unless_allowed() {
    let mut lab = Lab::new("");
    lab.up("transit");
    lab.up("rr1");
    lab.update("transit", ann(&["8.8.8.0/24"], &[3356, 15169]));
    assert_eq!(lab.routes(Some("8.8.8.0/24"), false).len(), 1);
    // The same prefix again with an AS_SET: the accepted route is gone.
    let out = lab.update(
        "transit",
        ann_with_set("8.8.8.0/24", &[3356], &[15169, 15170]),
    );
    assert!(lab.routes(Some("8.8.8.0/24"), false).is_empty());
    let all = lab.routes(Some("8.8.8.0/24"), true);
    assert_eq!(all[0].rule.as_deref(), Some("as-set"));
    assert!(all[0].reason.as_deref().unwrap_or("").contains("RFC 9774"));
    assert!(
        sent(&out, "rr1")
            .iter()
            .any(|u| u.withdrawn.iter().any(|w| w.prefix == p("8.8.8.0/24"))),
        "the internal neighbor loses it"
    );
    // From an internal neighbor an AS_SET is not ours to judge.
    let mut u = ann_with_set("9.9.9.0/24", &[], &[15169, 15170]);
    u.attrs.local_pref = Some(100);
    lab.update("rr1", u);
    assert_eq!(lab.routes(Some("9.9.9.0/24"), false).len(), 1);
    // `[rules] allow_as_sets = true` takes it back on reload.
    let mut c = (*cfg("")).clone();
    c.rules.allow_as_sets = true;
    lab.input(Input::Reload(running(Arc::new(c))));
    assert_eq!(lab.routes(Some("8.8.8.0/24"), false).len(), 1);
}

#[test]
fn neighbor_state_has_its_age_and_the_last_error_clears_once_established() {
    let mut lab = Lab::new("");
    let state = |lab: &mut Lab, s: SessionState, err: Option<&str>| {
        lab.input(Input::PeerState {
            neighbor: name("transit"),
            state: s,
            last_error: err.map(str::to_string),
        });
    };
    let view = |lab: &Lab| match lab
        .core
        .query(&coldpotato::messages::Query::Neighbors, lab.now)
    {
        coldpotato::messages::QueryReply::Neighbors(v) => v
            .into_iter()
            .find(|n| n.name == "transit")
            .expect("transit"),
        other => panic!("{other:?}"),
    };
    state(
        &mut lab,
        SessionState::Idle,
        Some("sent NOTIFICATION Hold Timer Expired"),
    );
    lab.now += Duration::from_secs(30);
    state(
        &mut lab,
        SessionState::Active,
        Some("sent NOTIFICATION Hold Timer Expired"),
    );
    lab.now += Duration::from_secs(5);
    let v = view(&lab);
    assert_eq!((v.state.as_str(), v.state_since_s), ("Active", 5));
    assert_eq!(
        v.last_error_age_s,
        Some(35),
        "the repeat does not reset its age"
    );
    state(
        &mut lab,
        SessionState::Established,
        Some("sent NOTIFICATION Hold Timer Expired"),
    );
    let v = view(&lab);
    assert_eq!((v.last_error, v.last_error_age_s), (None, None));
    lab.now += Duration::from_secs(7);
    state(
        &mut lab,
        SessionState::Idle,
        Some("received NOTIFICATION Cease"),
    );
    let v = view(&lab);
    assert_eq!(v.last_error.as_deref(), Some("received NOTIFICATION Cease"));
    assert_eq!((v.state_since_s, v.last_error_age_s), (0, Some(0)));
}

#[test]
fn a_table_of_leaks_is_one_route_leak_event_per_neighbor_and_minute() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("ps-fra");
    // Every route carries a transit-free ASN (3356) behind the first hop.
    for i in 0..2_000u32 {
        let prefix = format!("45.{}.{}.0/24", i / 256, i % 256);
        lab.update("ps-ams-1", ann(&[prefix.as_str()], &[64500, 3356, 15169]));
    }
    lab.update("ps-fra", ann(&["46.0.0.0/24"], &[64500, 174, 15169]));
    let leaks: Vec<String> = lab
        .event_kinds()
        .into_iter()
        .filter(|k| k == "route-leak")
        .collect();
    assert_eq!(leaks.len(), 2, "one per neighbor: {leaks:?}");
    let metrics = coldpotato::metrics::METRICS
        .events_total
        .with_label_values(&["route-leak"])
        .get();
    assert!(metrics >= 2_001, "the metric counts every route: {metrics}");
}
