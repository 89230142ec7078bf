//! The TOML policy language: each match key and each action, evaluated
//! through `PolicySet::import`/`export` on routes from transit neighbors
//! (no built-in rules) so only the named policy decides.

use coldpotato::config::{self, Config};
use coldpotato::policy::{PolicySet, RouteContext, Verdict};
use coldpotato::wire::{
    AsPath, AsPathSegment, Community, LargeCommunity, PathAttributes, SegmentType,
};

const BASE: &str = r#"
[router]
asn = 8075
router_id = "198.51.100.1"
location = "ams"

[[locations]]
name = "ams"

[[locations]]
name = "fra"

[[neighbors]]
name = "t-ams"
address = "192.0.2.2"
remote_as = 3356
location = "ams"
role = "transit"
# The policy language alone: no transit hygiene in front of it.
builtin_rules = false
import_policy = "p"
export_policy = "p"

[[neighbors]]
name = "t-fra"
address = "192.0.2.6"
remote_as = 174
location = "fra"
role = "transit"
builtin_rules = false
import_policy = "p"
export_policy = "none"

[[neighbors]]
name = "rr"
address = "192.0.2.10"
remote_as = 8075
location = "ams"
role = "internal"
import_policy = "p"
"#;

struct Lab {
    cfg: Config,
    set: PolicySet,
}

fn lab(policy: &str) -> Lab {
    let cfg = match config::parse(&format!("{BASE}\n[policy.p]\n{policy}"), "test.toml") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let set = match PolicySet::compile(&cfg) {
        Ok(s) => s,
        Err(e) => panic!("{e:?}"),
    };
    Lab { cfg, set }
}

fn route(path: &[u32], communities: &[Community]) -> PathAttributes {
    PathAttributes {
        as_path: Some(AsPath::from_sequence(path.to_vec())),
        communities: communities.to_vec(),
        ..PathAttributes::default()
    }
}

impl Lab {
    fn run(&self, export: bool, from: &str, prefix: &str, a: &PathAttributes) -> Verdict {
        let n = self
            .cfg
            .neighbors
            .iter()
            .find(|n| n.name == from)
            .unwrap_or_else(|| panic!("no neighbor {from}"));
        let ctx = RouteContext {
            prefix: prefix.parse().unwrap_or_else(|e| panic!("{prefix}: {e}")),
            attrs: a,
            neighbor: &n.name,
            neighbor_address: n.address,
            neighbor_as: n.remote_as,
            role: n.role,
            location: &n.location,
            rpki: None,
        };
        if export {
            self.set.export(n, &ctx)
        } else {
            self.set.import(n, &ctx)
        }
    }
    fn import(&self, from: &str, prefix: &str, a: &PathAttributes) -> Verdict {
        self.run(false, from, prefix, a)
    }
    fn accepted(&self, prefix: &str, a: &PathAttributes) -> bool {
        matches!(self.import("t-ams", prefix, a), Verdict::Accept(_))
    }
}

/// A policy accepting what `cond` matches and rejecting everything else.
fn only(cond: &str) -> Lab {
    lab(&format!(
        "default = \"reject\"\n[[policy.p.rule]]\nname = \"r\"\n{cond}\naction = \"accept\"\n"
    ))
}

const C1: Community = Community::new(65000, 1);

#[test]
fn prefix_match_honours_exact_ge_and_le_for_both_families() {
    let l = only(
        r#"match.prefix = ["203.0.113.0/24 le 26", "2001:db8::/32 ge 40 le 48", "8.8.8.0/24"]"#,
    );
    let r = route(&[3356], &[]);
    for (p, want) in [
        ("203.0.113.0/24", true),
        ("203.0.113.64/26", true),
        ("203.0.113.64/27", false),
        ("203.0.112.0/23", false),
        ("8.8.8.0/24", true),
        ("8.8.8.0/25", false),
        ("2001:db8:1::/48", true),
        ("2001:db8::/32", false),
        ("2001:db9::/48", false),
    ] {
        assert_eq!(l.accepted(p, &r), want, "{p}");
    }
}

#[test]
fn community_match_needs_any_listed_community() {
    let l = only(r#"match.community = ["65000:1", "no-export"]"#);
    assert!(l.accepted("8.8.8.0/24", &route(&[3356], &[C1])));
    assert!(l.accepted("8.8.8.0/24", &route(&[3356], &[Community::NO_EXPORT])));
    assert!(!l.accepted("8.8.8.0/24", &route(&[3356], &[Community::new(65000, 2)])));
}

#[test]
fn no_community_match_needs_none_of_the_listed_communities() {
    let l = only(r#"match.no_community = ["65000:1"]"#);
    assert!(l.accepted("8.8.8.0/24", &route(&[3356], &[])));
    assert!(!l.accepted("8.8.8.0/24", &route(&[3356], &[C1])));
}

#[test]
fn large_community_match_needs_any_listed_large_community() {
    let l = only(r#"match.large_community = ["8075:1:2"]"#);
    let mut a = route(&[3356], &[]);
    assert!(!l.accepted("8.8.8.0/24", &a));
    a.large_communities.push(LargeCommunity {
        global: 8075,
        local1: 1,
        local2: 2,
    });
    assert!(l.accepted("8.8.8.0/24", &a));
}

#[test]
fn as_path_len_match_is_inclusive_and_counts_an_as_set_once() {
    let l = only("match.as_path_len = { min = 2, max = 3 }");
    assert!(!l.accepted("8.8.8.0/24", &route(&[3356], &[])));
    assert!(l.accepted("8.8.8.0/24", &route(&[3356, 174], &[])));
    assert!(l.accepted("8.8.8.0/24", &route(&[3356, 174, 1299], &[])));
    assert!(!l.accepted("8.8.8.0/24", &route(&[3356, 174, 1299, 2914], &[])));
    let mut set = route(&[], &[]);
    set.as_path = Some(AsPath {
        segments: vec![
            AsPathSegment {
                kind: SegmentType::Sequence,
                asns: vec![3356, 174],
            },
            AsPathSegment {
                kind: SegmentType::Set,
                asns: vec![1, 2, 3, 4],
            },
        ],
    });
    assert!(l.accepted("8.8.8.0/24", &set));
}

#[test]
fn as_path_contains_and_origin_as_look_at_the_right_asns() {
    let contains = only("match.as_path_contains = [174]");
    assert!(contains.accepted("8.8.8.0/24", &route(&[3356, 174, 15169], &[])));
    assert!(!contains.accepted("8.8.8.0/24", &route(&[3356, 15169], &[])));
    let origin = only("match.origin_as = [15169]");
    assert!(origin.accepted("8.8.8.0/24", &route(&[3356, 15169], &[])));
    assert!(!origin.accepted("8.8.8.0/24", &route(&[15169, 3356], &[])));
}

#[test]
fn neighbor_role_and_location_match_the_route_source() {
    let r = route(&[3356], &[]);
    let by_name = only(r#"match.neighbor = ["t-fra"]"#);
    assert!(matches!(
        by_name.import("t-fra", "8.8.8.0/24", &r),
        Verdict::Accept(_)
    ));
    assert!(matches!(
        by_name.import("t-ams", "8.8.8.0/24", &r),
        Verdict::Reject(_)
    ));
    let by_role = only(r#"match.role = ["internal"]"#);
    assert!(matches!(
        by_role.import("rr", "8.8.8.0/24", &r),
        Verdict::Accept(_)
    ));
    assert!(matches!(
        by_role.import("t-ams", "8.8.8.0/24", &r),
        Verdict::Reject(_)
    ));
    let by_loc = only(r#"match.location = ["fra"]"#);
    assert!(matches!(
        by_loc.import("t-fra", "8.8.8.0/24", &r),
        Verdict::Accept(_)
    ));
    assert!(matches!(
        by_loc.import("rr", "8.8.8.0/24", &r),
        Verdict::Reject(_)
    ));
}

#[test]
fn all_match_keys_of_a_rule_must_hold() {
    let l = only("match.prefix = [\"8.8.8.0/24\"]\nmatch.community = [\"65000:1\"]");
    assert!(l.accepted("8.8.8.0/24", &route(&[3356], &[C1])));
    assert!(!l.accepted("8.8.8.0/24", &route(&[3356], &[])));
    assert!(!l.accepted("9.9.9.0/24", &route(&[3356], &[C1])));
}

#[test]
fn reject_carries_the_policy_and_rule_name_and_the_reason() {
    let l = lab("default = \"accept\"\n[[policy.p.rule]]\nname = \"no-leaks\"\nmatch.as_path_contains = [174]\naction = \"reject\"\nreason = \"route leak via 174\"\n");
    match l.import("t-ams", "8.8.8.0/24", &route(&[3356, 174], &[])) {
        Verdict::Reject(r) => {
            assert_eq!(r.rule, "p/no-leaks");
            assert_eq!(r.reason, "route leak via 174");
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(
        l.import("t-ams", "8.8.8.0/24", &route(&[3356], &[])),
        Verdict::Accept(None)
    );
}

#[test]
fn default_reject_names_the_policy() {
    let l = lab("default = \"reject\"\n");
    match l.import("t-ams", "8.8.8.0/24", &route(&[3356], &[])) {
        Verdict::Reject(r) => assert_eq!(r.rule, "p/default"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn set_actions_change_the_attributes_of_accepted_routes() {
    let l = lab(r#"default = "reject"
[[policy.p.rule]]
name = "all"
set.local_pref = 200
set.med = 7
set.add_community = ["8075:100", "65000:1"]
set.remove_community = ["65000:2"]
set.add_large_community = ["8075:1:1"]
set.remove_large_community = ["8075:9:9"]
set.prepend = 2
action = "accept"
"#);
    let mut a = route(&[3356], &[C1, Community::new(65000, 2)]);
    a.large_communities.push(LargeCommunity {
        global: 8075,
        local1: 9,
        local2: 9,
    });
    let Verdict::Accept(Some(out)) = l.import("t-ams", "8.8.8.0/24", &a) else {
        panic!("expected a changed route")
    };
    assert_eq!(out.local_pref, Some(200));
    assert_eq!(out.med, Some(7));
    assert_eq!(out.communities, vec![C1, Community::new(8075, 100)]);
    assert_eq!(
        out.large_communities,
        vec![LargeCommunity {
            global: 8075,
            local1: 1,
            local2: 1
        }]
    );
    assert_eq!(
        out.as_path,
        Some(AsPath::from_sequence(vec![8075, 8075, 3356]))
    );
}

#[test]
fn next_keeps_changes_and_later_rules_see_them() {
    let l = lab(r#"default = "reject"
[[policy.p.rule]]
name = "tag"
match.prefix = ["8.8.8.0/24"]
set.add_community = ["65000:1"]
action = "next"

[[policy.p.rule]]
name = "tagged"
match.community = ["65000:1"]
set.local_pref = 50
action = "accept"
"#);
    let Verdict::Accept(Some(out)) = l.import("t-ams", "8.8.8.0/24", &route(&[3356], &[])) else {
        panic!("expected accept")
    };
    assert_eq!(out.communities, vec![C1]);
    assert_eq!(out.local_pref, Some(50));
    assert!(matches!(
        l.import("t-ams", "9.9.9.0/24", &route(&[3356], &[])),
        Verdict::Reject(_)
    ));
}

#[test]
fn next_changes_survive_a_default_accept() {
    let l = lab(
        "default = \"accept\"\n[[policy.p.rule]]\nname = \"med\"\nset.med = 5\naction = \"next\"\n",
    );
    let Verdict::Accept(Some(out)) = l.import("t-ams", "8.8.8.0/24", &route(&[3356], &[])) else {
        panic!("expected accept")
    };
    assert_eq!(out.med, Some(5));
}

#[test]
fn export_uses_the_named_policy_and_none_announces_nothing() {
    let l = lab("default = \"accept\"\n[[policy.p.rule]]\nname = \"prepend\"\nset.prepend = 1\naction = \"accept\"\n");
    let r = route(&[15169], &[]);
    let Verdict::Accept(Some(out)) = l.run(true, "t-ams", "8.8.8.0/24", &r) else {
        panic!("expected accept")
    };
    assert_eq!(out.as_path, Some(AsPath::from_sequence(vec![8075, 15169])));
    match l.run(true, "t-fra", "8.8.8.0/24", &r) {
        Verdict::Reject(rej) => assert_eq!(rej.rule, "export-none"),
        v => panic!("{v:?}"),
    }
    assert_eq!(l.run(true, "rr", "8.8.8.0/24", &r), Verdict::Accept(None));
}

#[test]
fn a_policy_file_is_resolved_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sub = dir.path().join("etc");
    std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(sub.join("pol.toml"), "[policy.p]\ndefault = \"reject\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        sub.join("main.toml"),
        format!("policy = \"pol.toml\"\n{BASE}"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg = coldpotato::running::load(&sub.join("main.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.policies.contains_key("p"));
    assert_eq!(
        cfg.policy_file.as_deref(),
        Some(sub.join("pol.toml").as_path())
    );
}

#[test]
fn inline_policies_compile_from_a_config_deserialized_without_the_loader() {
    let text = format!("{BASE}\n[policy.p]\ndefault = \"reject\"\n");
    let cfg: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.policies.is_empty(), "only the loader fills `policies`");
    let set = PolicySet::compile(&cfg).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(set.has_policy("p"));
}
