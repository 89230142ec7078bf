//! Import verdicts worked out ahead by the session task
//! (`policy::ahead`): the engine ends up with exactly what it decides
//! itself, uses a verdict only under the generation it was made for, and
//! none while a policy matches the RPKI state.

mod common;

use coldpotato::policy::ahead::{Ahead, PreImport};
use coldpotato::policy::Rejection;
use coldpotato::rib::interner::packed_set;
use coldpotato::wire::{AsPathSegment, SegmentType};
use common::engine_lab as lab;
use lab::*;

/// The peering-service neighbor's import policy: accepts untagged routes
/// as internet routes, sets LOCAL_PREF on one community (a changed set,
/// which the engine evaluates itself), rejects another; the built-in rules
/// stay on.
const POLICY: &str = r#"
[policy.mixed]
default = "accept"

[[policy.mixed.rule]]
name = "untagged"
match.no_community = ["8075:8007"]
action = "internet"

[[policy.mixed.rule]]
name = "lower"
match.community = ["65000:1"]
set.local_pref = 50
action = "accept"

[[policy.mixed.rule]]
name = "refuse"
match.community = ["65000:2"]
action = "reject"
"#;

fn mixed_lab() -> Lab {
    let mut lab = Lab::with_import_policy(POLICY, "mixed");
    lab.up("ps-ams-1");
    lab.up("rr1");
    lab
}

/// UPDATEs covering every kind of verdict: accepted, internet, changed by
/// policy, rejected by policy, by the built-in rules (private ASN, AS path
/// too long for a /25), and an IPv6 route in MP_REACH_NLRI.
fn updates() -> Vec<Update> {
    let mut out = vec![ann(&["192.0.2.0/24", REG], &[64500])];
    let mut untagged = ann(&["198.51.100.0/24"], &[64500, 64501]);
    untagged.attrs.communities.clear();
    out.push(untagged);
    let mut lowered = ann(&["100.64.1.0/24"], &[64500]);
    lowered.attrs.communities.push(Community::new(65000, 1));
    out.push(lowered);
    let mut refused = ann(&["100.64.2.0/24"], &[64500]);
    refused.attrs.communities.push(Community::new(65000, 2));
    out.push(refused);
    out.push(ann(&["100.64.3.0/24"], &[64500, 65001]));
    out.push(ann(&["100.64.4.0/25"], &[64500, 64501, 64502, 64503]));
    let mut v6 = ann(&[], &[64500]);
    v6.mp_reach = Some(MpReach {
        afi: Afi::IPV6,
        safi: Safi::UNICAST,
        next_hop: "2001:db8::2".parse().unwrap(),
        link_local_next_hop: None,
        nlri: vec![AddPathPrefix {
            path_id: None,
            prefix: p("2001:db8:100::/48"),
        }],
    });
    out.push(v6);
    out
}

#[test]
fn verdicts_worked_out_ahead_leave_the_engine_where_its_own_would() {
    let mut ahead = mixed_lab();
    let mut own = mixed_lab();
    assert!(ahead.evals.contains_key("ps-ams-1"), "handed at session up");
    for u in updates() {
        let pre = ahead.evals["ps-ams-1"].evaluate(&u);
        assert!(pre.is_some(), "{u:?}");
        let a = ahead.update("ps-ams-1", u.clone());
        let o = own.update_unevaluated("ps-ams-1", u);
        // (In prefix order: the two engines' hash maps differ.)
        let sorted = |out: &[Output]| {
            let mut v = announced(out, "rr1");
            v.sort_by_key(|(p, _)| *p);
            v
        };
        assert_eq!(sorted(&a), sorted(&o));
    }
    let sorted = |lab: &Lab| {
        let mut v = lab.routes(None, true);
        v.sort_by(|a, b| (&a.prefix, &a.neighbor).cmp(&(&b.prefix, &b.neighbor)));
        v
    };
    let routes = sorted(&ahead);
    assert_eq!(routes, sorted(&own));
    let status = |prefix: &str| {
        let r = routes
            .iter()
            .find(|r| r.prefix == prefix)
            .unwrap_or_else(|| panic!("{prefix} missing"));
        (
            r.status.as_str(),
            r.rule.as_deref(),
            r.internet,
            r.local_pref,
        )
    };
    assert_eq!(status(REG), ("accepted", None, false, None));
    assert_eq!(status("198.51.100.0/24"), ("accepted", None, true, None));
    assert_eq!(status("100.64.1.0/24"), ("accepted", None, false, Some(50)));
    assert_eq!(status("100.64.2.0/24").0, "rejected");
    assert_eq!(status("100.64.3.0/24").0, "rejected");
    assert_eq!(status("100.64.4.0/25").0, "rejected");
    assert_eq!(status("2001:db8:100::/48").0, "accepted");
}

#[test]
fn the_engine_uses_a_verdict_of_its_generation_and_ignores_an_older_one() {
    let mut lab = mixed_lab();
    let made = lab.evals["ps-ams-1"].generation();
    // The current generation's verdict is taken as it is.
    send(&mut lab, "192.0.2.0/24", forged_reject(made));
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(r[0].rule.as_deref(), Some("forged"));
    // A reload hands the session a new generation; a verdict made before
    // it is not used: the engine evaluates the route itself.
    let c = lab.core.config().clone();
    let out = lab.input(Input::Reload(running(c)));
    let newer = out
        .iter()
        .find_map(|(n, m)| match m {
            ToPeer::ImportEval(e) if &**n == "ps-ams-1" => Some(e.generation()),
            _ => None,
        })
        .expect("a new evaluator for the established session");
    assert!(newer > made);
    assert!(
        !out.iter()
            .any(|(n, m)| &**n == "ps-fra" && matches!(m, ToPeer::ImportEval(_))),
        "none for a neighbor without a session"
    );
    send(&mut lab, "198.51.100.0/24", forged_reject(made));
    let r = lab.routes(Some("198.51.100.0/24"), true);
    assert_eq!(
        (r[0].status.as_str(), r[0].rule.as_deref()),
        ("accepted", None)
    );
    // A list that does not match the UPDATE's NLRI is not used either.
    let mut two = forged_reject(newer);
    two.nlri.push(Ahead::Accept);
    send(&mut lab, "100.64.5.0/24", two);
    let r = lab.routes(Some("100.64.5.0/24"), true);
    assert_eq!(r[0].rule, None);
}

#[test]
fn no_verdict_is_worked_out_for_what_is_withdrawn_before_policy() {
    let lab = mixed_lab();
    let eval = &lab.evals["ps-ams-1"];
    assert_eq!(eval.evaluate(&wd(&["192.0.2.0/24"])), None);
    let mut set = ann(&["192.0.2.0/24"], &[64500]);
    if let Some(path) = set.attrs.as_path.as_mut() {
        path.segments.push(AsPathSegment {
            kind: SegmentType::Set,
            asns: vec![64501, 64502],
        });
    }
    // An AS_SET is the engine's own check (before policy); policy still
    // has a verdict for it, which the engine does not reach.
    assert!(eval.evaluate(&set).is_some());
    let mut lab = mixed_lab();
    lab.update("ps-ams-1", set);
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(r[0].rule.as_deref(), Some("as-set"));
}

/// An UPDATE from `ps-ams-1` announcing `prefix`, with `pre` as its verdicts.
fn send(lab: &mut Lab, prefix: &str, pre: PreImport) -> Vec<Output> {
    lab.input(Input::Update {
        neighbor: name("ps-ams-1"),
        update: ann(&[prefix], &[64500]).into(),
        ahead: Some(pre),
    })
}

/// Verdicts for one prefix: rejected by a rule no policy has.
fn forged_reject(generation: u64) -> PreImport {
    PreImport {
        generation,
        nlri: vec![Ahead::Reject(Rejection {
            rule: "forged".into(),
            reason: "made up by the test".into(),
        })],
        mp_reach: Vec::new(),
        sets: [None, None],
    }
}

#[test]
fn with_rpki_on_verdicts_are_used_while_no_policy_matches_the_rpki_state() {
    let mut lab = Lab::new("[rpki]\nservers = [\"127.0.0.1:3323\"]\n");
    lab.up("ps-ams-1");
    let eval = &lab.evals["ps-ams-1"];
    assert!(eval.evaluate(&ann(&["192.0.2.0/24"], &[64500])).is_some());
    let generation = eval.generation();
    send(&mut lab, "192.0.2.0/24", forged_reject(generation));
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(
        (r[0].rule.as_deref(), r[0].rpki.as_deref()),
        (Some("forged"), Some("not-found")),
        "the verdict is used; the RPKI state is the engine's"
    );
}

#[test]
fn a_policy_matching_the_rpki_state_keeps_every_verdict_in_the_engine() {
    // The session does not know the RPKI state such a policy matches.
    let mut lab = Lab::with_import_policy(
        r#"
[rpki]
servers = ["127.0.0.1:3323"]

[policy.by-rpki]
default = "accept"

[[policy.by-rpki.rule]]
name = "not-found-refused"
match.rpki = ["not-found"]
action = "reject"
"#,
        "by-rpki",
    );
    lab.up("ps-ams-1");
    let eval = &lab.evals["ps-ams-1"];
    assert_eq!(eval.evaluate(&ann(&["192.0.2.0/24"], &[64500])), None);
    let generation = eval.generation();
    send(&mut lab, "192.0.2.0/24", forged_reject(generation));
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(
        (r[0].status.as_str(), r[0].rule.as_deref()),
        ("rejected", Some("by-rpki/not-found-refused")),
        "the engine's own verdict, by the RPKI state"
    );
}

#[test]
fn sets_packed_by_the_session_are_stored_as_the_engine_packs_them_whatever_the_generation() {
    let mut lab = mixed_lab();
    let made = lab.evals["ps-ams-1"].generation();
    // The current generation: its verdicts and its set are used.
    let u = ann(&["192.0.2.0/24"], &[64500]);
    let mut pre = lab.evals["ps-ams-1"].evaluate(&u).expect("verdicts");
    pre.sets = [Some(packed_set(&u.attrs)), None];
    let out = lab.input(Input::Update {
        neighbor: name("ps-ams-1"),
        update: u.clone().into(),
        ahead: Some(pre),
    });
    let got = announced(&out, "rr1");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.as_path, u.attrs.as_path);
    // An older generation: the verdicts are not used, the set still is
    // (it depends on the attributes alone); a route of the same set.
    let mut old = forged_reject(made.wrapping_sub(1));
    let v = ann(&["203.0.113.0/24"], &[64500]);
    old.sets = [Some(packed_set(&v.attrs)), None];
    let out = lab.input(Input::Update {
        neighbor: name("ps-ams-1"),
        update: v.clone().into(),
        ahead: Some(old),
    });
    let got = announced(&out, "rr1");
    assert_eq!(got.len(), 1, "accepted: the forged verdict is not used");
    assert_eq!(got[0].1.as_path, v.attrs.as_path);
    let (a, b) = (
        lab.routes(Some("192.0.2.0/24"), true),
        lab.routes(Some("203.0.113.0/24"), true),
    );
    assert_eq!(a[0].as_path, b[0].as_path);
}
