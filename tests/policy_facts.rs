//! The built-in rules' facts worked out once per UPDATE
//! (`PolicySet::import_with`, as a session task calls it for all of an
//! UPDATE's prefixes) give every prefix the verdict `PolicySet::import`
//! gives it alone, for every role and rule setting.

use coldpotato::config::{self, Config};
use coldpotato::policy::{PolicySet, RouteContext};
use coldpotato::wire::{AsPath, AsPathSegment, Community, PathAttributes, Prefix, SegmentType};

const CONFIG: &str = r#"
[router]
asn = 8075
router_id = "198.51.100.1"
location = "ams"

[[locations]]
name = "ams"

[[neighbors]]
name = "peer"
address = "192.0.2.2"
remote_as = 8068
location = "ams"
role = "peering-service"

[[neighbors]]
name = "peer-internet"
address = "192.0.2.3"
remote_as = 8068
location = "ams"
role = "peering-service"
import_policy = "internet"

[[neighbors]]
name = "peer-accept-all"
address = "192.0.2.6"
remote_as = 8068
location = "ams"
role = "peering-service"
import_policy = "accept-all"

[[neighbors]]
name = "transit"
address = "192.0.2.10"
remote_as = 3356
location = "ams"
role = "transit"

[[neighbors]]
name = "transit-open"
address = "192.0.2.11"
remote_as = 3356
location = "ams"
role = "transit"
builtin_rules = false
import_policy = "internet"

[policy.internet]
default = "reject"
[[policy.internet.rule]]
name = "not-ours"
match.prefix = ["203.0.112.0/22"]
action = "reject"
[[policy.internet.rule]]
name = "internet"
match.prefix = ["0.0.0.0/0", "::/0"]
action = "internet"
"#;

fn seq(asns: &[u32]) -> AsPath {
    AsPath::from_sequence(asns.to_vec())
}

/// Attribute sets that pass or fail each attribute rule.
fn sets() -> Vec<PathAttributes> {
    let tag = Community::new(8075, 8007);
    let with = |path: Option<AsPath>, communities: Vec<Community>| PathAttributes {
        as_path: path,
        communities,
        ..PathAttributes::default()
    };
    let set_path = AsPath {
        segments: vec![
            AsPathSegment {
                kind: SegmentType::Sequence,
                asns: vec![8068, 3356],
            },
            AsPathSegment {
                kind: SegmentType::Set,
                asns: vec![64512, 174],
            },
        ],
    };
    vec![
        with(Some(seq(&[8068, 15169])), vec![tag]),
        with(Some(seq(&[8068, 15169])), vec![]),
        with(Some(seq(&[8068, 64512])), vec![tag]),
        with(Some(seq(&[8068, 23456])), vec![tag]),
        with(Some(seq(&[8068, 1, 2, 3])), vec![tag]),
        with(Some(seq(&[3356, 174])), vec![]),
        with(Some(seq(&[3356; 120])), vec![]),
        with(Some(set_path), vec![tag]),
        with(None, vec![tag]),
    ]
}

const PREFIXES: [&str; 10] = [
    "198.18.0.0/24",
    "8.8.8.0/24",
    "8.8.8.0/25",
    "203.0.113.0/24",
    "203.0.112.0/24",
    "10.0.0.0/8",
    "4.0.0.0/7",
    "2001:db8::/32",
    "2a00:1450::/32",
    "2a00:1450::/56",
];

#[test]
fn facts_shared_by_an_update_give_each_prefix_its_own_verdict() {
    let cfg: Config = match config::parse(CONFIG, "test.toml") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let set = match PolicySet::compile(&cfg) {
        Ok(s) => s,
        Err(e) => panic!("{e:?}"),
    };
    let mut rejected = 0;
    for n in &cfg.neighbors {
        for a in sets() {
            let facts = set.builtin().facts(&a);
            for p in PREFIXES {
                let prefix: Prefix = p.parse().unwrap_or_else(|e| panic!("{p}: {e}"));
                let ctx = RouteContext::new(prefix, &a, n, None);
                let alone = set.import(n, &ctx);
                let shared = set.import_with(n, &ctx, Some(&facts));
                assert_eq!(shared, alone, "{} {p} {a:?}", n.name);
                rejected += usize::from(matches!(alone, coldpotato::policy::Verdict::Reject(_)));
            }
        }
    }
    // The grid exercises rejections and acceptances both.
    assert!(
        rejected > 50 && rejected < 5 * 9 * 10,
        "{rejected} rejected"
    );
}
