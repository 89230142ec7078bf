//! Table-driven tests of the built-in peering-service rules, through
//! `PolicySet::import` as the route engine calls it: one row per case with the
//! expected verdict (`None` = accepted, `Some((rule, reason))` = rejected);
//! and `PolicySet::import_with`, as a session task calls it with the facts
//! of an UPDATE's attributes shared by all its prefixes, against it.

use coldpotato::config::{self, Config, NeighborConfig};
use coldpotato::policy::{PolicySet, RouteContext, Verdict};
use coldpotato::wire::{AsPath, AsPathSegment, Community, PathAttributes, Prefix, SegmentType};

const BASE: &str = r#"
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
"#;

fn setup(extra: &str) -> (Config, PolicySet) {
    let cfg = match config::parse(&format!("{BASE}{extra}"), "test.toml") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let set = match PolicySet::compile(&cfg) {
        Ok(s) => s,
        Err(e) => panic!("{e:?}"),
    };
    (cfg, set)
}

fn pfx(s: &str) -> Prefix {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

const TAG: Community = Community::new(8075, 8007);

fn attrs(path: &[u32], communities: &[Community]) -> PathAttributes {
    PathAttributes {
        as_path: Some(AsPath::from_sequence(path.to_vec())),
        communities: communities.to_vec(),
        ..PathAttributes::default()
    }
}

/// An AS path of an AS_SEQUENCE followed by an AS_SET.
fn seq_then_set(seq: &[u32], set: &[u32]) -> AsPath {
    AsPath {
        segments: vec![
            AsPathSegment {
                kind: SegmentType::Sequence,
                asns: seq.to_vec(),
            },
            AsPathSegment {
                kind: SegmentType::Set,
                asns: set.to_vec(),
            },
        ],
    }
}

fn neighbor<'a>(cfg: &'a Config, name: &str) -> &'a NeighborConfig {
    cfg.neighbors
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no neighbor {name}"))
}

/// The neighbor `from` and the policy context of `a` for `prefix` from it.
fn context<'a>(
    cfg: &'a Config,
    from: &str,
    prefix: &str,
    a: &'a PathAttributes,
) -> (&'a NeighborConfig, RouteContext<'a>) {
    let n = neighbor(cfg, from);
    let ctx = RouteContext {
        prefix: pfx(prefix),
        attrs: a,
        neighbor: &n.name,
        neighbor_address: n.address,
        neighbor_as: n.remote_as,
        role: n.role,
        location: &n.location,
        rpki: None,
    };
    (n, ctx)
}

fn verdict(cfg: &Config, set: &PolicySet, from: &str, prefix: &str, a: &PathAttributes) -> Verdict {
    let (n, ctx) = context(cfg, from, prefix, a);
    set.import(n, &ctx)
}

fn import(
    cfg: &Config,
    set: &PolicySet,
    from: &str,
    prefix: &str,
    a: &PathAttributes,
) -> Option<(String, String)> {
    match verdict(cfg, set, from, prefix, a) {
        Verdict::Accept(_) | Verdict::Internet(_) => None,
        Verdict::Reject(r) => Some((r.rule.to_string(), r.reason)),
    }
}

type Row<'a> = (
    &'a str,
    &'a [u32],
    &'a [Community],
    Option<(&'a str, &'a str)>,
);

fn run_table(extra: &str, rows: &[Row]) {
    let (cfg, set) = setup(extra);
    for (prefix, path, comms, want) in rows {
        let got = import(&cfg, &set, "peer", prefix, &attrs(path, comms));
        let want = want.map(|(r, s)| (r.to_string(), s.to_string()));
        assert_eq!(
            got, want,
            "prefix {prefix} path {path:?} communities {comms:?}"
        );
    }
}

#[test]
fn missing_community_rejects_routes_without_the_peering_tag() {
    run_table(
        "",
        &[
            ("8.8.8.0/24", &[8068], &[TAG], None),
            (
                "8.8.8.0/24",
                &[8068],
                &[Community::new(8075, 8008)],
                Some(("missing-community", "missing community 8075:8007")),
            ),
            (
                "8.8.8.0/24",
                &[8068],
                &[],
                Some(("missing-community", "missing community 8075:8007")),
            ),
            ("2a01:111::/32", &[8068], &[Community::NO_EXPORT, TAG], None),
        ],
    );
}

#[test]
fn required_community_is_configurable_and_can_be_switched_off() {
    let other = Community::new(65000, 1);
    run_table(
        "[rules]\nrequire_community = \"65000:1\"\n",
        &[
            ("8.8.8.0/24", &[8068], &[other], None),
            (
                "8.8.8.0/24",
                &[8068],
                &[TAG],
                Some(("missing-community", "missing community 65000:1")),
            ),
        ],
    );
    run_table(
        "[rules]\nrequire_community = \"none\"\n",
        &[("8.8.8.0/24", &[8068], &[], None)],
    );
}

#[test]
fn private_asn_rejects_rfc6996_ranges_including_4_octet() {
    let private = |asn: u32| -> Option<(&'static str, &'static str)> {
        Some((
            "private-asn",
            Box::leak(format!("private ASN {asn} in AS path").into_boxed_str()),
        ))
    };
    run_table(
        "",
        &[
            ("8.8.8.0/24", &[8068, 64511 + 1], &[TAG], private(64512)),
            ("8.8.8.0/24", &[64512, 8068], &[TAG], private(64512)),
            ("8.8.8.0/24", &[8068, 65534], &[TAG], private(65534)),
            (
                "8.8.8.0/24",
                &[8068, 4_200_000_000],
                &[TAG],
                private(4_200_000_000),
            ),
            (
                "8.8.8.0/24",
                &[8068, 4_294_967_294],
                &[TAG],
                private(4_294_967_294),
            ),
            ("8.8.8.0/24", &[8068, 4_199_999_999], &[TAG], None),
            ("8.8.8.0/24", &[8068, 64495], &[TAG], None),
        ],
    );
}

#[test]
fn private_asn_inside_an_as_set_is_rejected_but_not_in_the_aggregator() {
    let (cfg, set) = setup("");
    let mut a = attrs(&[], &[TAG]);
    a.as_path = Some(seq_then_set(&[8068], &[3356, 65001]));
    assert_eq!(
        import(&cfg, &set, "peer", "8.8.8.0/24", &a),
        Some(("private-asn".into(), "private ASN 65001 in AS path".into()))
    );
    let mut b = attrs(&[8068], &[TAG]);
    b.aggregator = Some(coldpotato::wire::attr::Aggregator {
        asn: 65001,
        address: "192.0.2.1".parse().unwrap_or_else(|e| panic!("{e}")),
    });
    assert_eq!(import(&cfg, &set, "peer", "8.8.8.0/24", &b), None);
}

#[test]
fn private_asn_check_can_be_switched_off() {
    run_table(
        "[rules]\nreject_private_asn = false\n",
        &[("8.8.8.0/24", &[8068, 64512], &[TAG], None)],
    );
}

#[test]
fn reserved_asn_rejects_special_and_documentation_asns_when_enabled() {
    let reserved = |asn: u32| -> Option<(&'static str, &'static str)> {
        Some((
            "reserved-asn",
            Box::leak(format!("reserved ASN {asn} in AS path").into_boxed_str()),
        ))
    };
    let rows: Vec<Row> = vec![
        ("8.8.8.0/24", &[8068, 23456], &[TAG], reserved(23456)),
        ("8.8.8.0/24", &[8068, 0], &[TAG], reserved(0)),
        ("8.8.8.0/24", &[8068, 65535], &[TAG], reserved(65535)),
        (
            "8.8.8.0/24",
            &[8068, 4_294_967_295],
            &[TAG],
            reserved(4_294_967_295),
        ),
        ("8.8.8.0/24", &[8068, 64496], &[TAG], reserved(64496)),
        ("8.8.8.0/24", &[8068, 64511], &[TAG], reserved(64511)),
        ("8.8.8.0/24", &[8068, 65536], &[TAG], reserved(65536)),
        ("8.8.8.0/24", &[8068, 65551], &[TAG], reserved(65551)),
        ("8.8.8.0/24", &[8068, 65552], &[TAG], None),
    ];
    run_table("", &rows);
    run_table(
        "[rules]\nreject_reserved_asn = false\n",
        &[("8.8.8.0/24", &[8068, 23456, 64500], &[TAG], None)],
    );
}

#[test]
fn as_path_limit_applies_only_to_prefixes_longer_than_24_or_48() {
    let long = Some(("as-path-too-long", "AS path length should be <= 3"));
    run_table(
        "",
        &[
            ("8.8.8.0/24", &[8068, 3356, 174, 1299, 2914], &[TAG], None),
            ("8.8.8.0/25", &[8068, 3356, 174], &[TAG], None),
            ("8.8.8.0/25", &[8068, 3356, 174, 1299], &[TAG], long),
            ("8.8.8.8/32", &[8068, 3356, 174, 1299], &[TAG], long),
            ("2a01:111:1::/48", &[8068, 3356, 174, 1299], &[TAG], None),
            ("2a01:111:1::/49", &[8068, 3356, 174], &[TAG], None),
            ("2a01:111:1::/49", &[8068, 3356, 174, 1299], &[TAG], long),
        ],
    );
    run_table(
        "[rules]\nmax_as_path_len_longer_than_24 = 1\n",
        &[(
            "8.8.8.0/25",
            &[8068, 3356],
            &[TAG],
            Some(("as-path-too-long", "AS path length should be <= 1")),
        )],
    );
}

#[test]
fn as_path_length_counts_an_as_set_as_one() {
    let (cfg, set) = setup("");
    let mut a = attrs(&[], &[TAG]);
    a.as_path = Some(seq_then_set(&[8068, 3356], &[174, 1299, 2914, 6939]));
    assert_eq!(import(&cfg, &set, "peer", "8.8.8.0/26", &a), None);
}

#[test]
fn bogons_are_rejected_for_ipv4_and_ipv6() {
    let bogon = |r: &'static str| Some(("bogon", r));
    run_table(
        "",
        &[
            (
                "10.0.0.0/8",
                &[8068],
                &[TAG],
                bogon("bogon prefix 10.0.0.0/8"),
            ),
            (
                "10.1.0.0/16",
                &[8068],
                &[TAG],
                bogon("bogon prefix 10.1.0.0/16 (in 10.0.0.0/8)"),
            ),
            (
                "100.64.0.0/10",
                &[8068],
                &[TAG],
                bogon("bogon prefix 100.64.0.0/10"),
            ),
            (
                "127.0.0.0/8",
                &[8068],
                &[TAG],
                bogon("bogon prefix 127.0.0.0/8"),
            ),
            (
                "169.254.0.0/16",
                &[8068],
                &[TAG],
                bogon("bogon prefix 169.254.0.0/16"),
            ),
            (
                "172.20.0.0/16",
                &[8068],
                &[TAG],
                bogon("bogon prefix 172.20.0.0/16 (in 172.16.0.0/12)"),
            ),
            (
                "192.0.0.0/24",
                &[8068],
                &[TAG],
                bogon("bogon prefix 192.0.0.0/24"),
            ),
            (
                "192.0.2.0/24",
                &[8068],
                &[TAG],
                bogon("bogon prefix 192.0.2.0/24"),
            ),
            (
                "192.168.1.0/24",
                &[8068],
                &[TAG],
                bogon("bogon prefix 192.168.1.0/24 (in 192.168.0.0/16)"),
            ),
            (
                "198.18.0.0/15",
                &[8068],
                &[TAG],
                bogon("bogon prefix 198.18.0.0/15"),
            ),
            (
                "198.51.100.0/24",
                &[8068],
                &[TAG],
                bogon("bogon prefix 198.51.100.0/24"),
            ),
            (
                "203.0.113.0/24",
                &[8068],
                &[TAG],
                bogon("bogon prefix 203.0.113.0/24"),
            ),
            (
                "224.0.0.0/4",
                &[8068],
                &[TAG],
                bogon("bogon prefix 224.0.0.0/4"),
            ),
            (
                "240.0.0.0/4",
                &[8068],
                &[TAG],
                bogon("bogon prefix 240.0.0.0/4"),
            ),
            (
                "0.0.0.0/8",
                &[8068],
                &[TAG],
                bogon("bogon prefix 0.0.0.0/8"),
            ),
            (
                "8.0.0.0/7",
                &[8068],
                &[TAG],
                bogon("bogon prefix 8.0.0.0/7 (shorter than /8)"),
            ),
            (
                "0.0.0.0/0",
                &[8068],
                &[TAG],
                bogon("bogon prefix 0.0.0.0/0 (shorter than /8)"),
            ),
            ("8.8.8.8/32", &[8068], &[TAG], None),
            ("198.0.0.0/8", &[8068], &[TAG], None),
            ("::/8", &[8068], &[TAG], bogon("bogon prefix ::/8")),
            ("100::/64", &[8068], &[TAG], bogon("bogon prefix 100::/64")),
            (
                "2001:2::/48",
                &[8068],
                &[TAG],
                bogon("bogon prefix 2001:2::/48"),
            ),
            (
                "2001:10::/28",
                &[8068],
                &[TAG],
                bogon("bogon prefix 2001:10::/28"),
            ),
            (
                "2001:db8:1::/48",
                &[8068],
                &[TAG],
                bogon("bogon prefix 2001:db8:1::/48 (in 2001:db8::/32)"),
            ),
            (
                "3ffe::/16",
                &[8068],
                &[TAG],
                bogon("bogon prefix 3ffe::/16"),
            ),
            ("fc00::/7", &[8068], &[TAG], bogon("bogon prefix fc00::/7")),
            (
                "fd12:3456::/32",
                &[8068],
                &[TAG],
                bogon("bogon prefix fd12:3456::/32 (in fc00::/7)"),
            ),
            (
                "fe80::/10",
                &[8068],
                &[TAG],
                bogon("bogon prefix fe80::/10"),
            ),
            (
                "fec0::/10",
                &[8068],
                &[TAG],
                bogon("bogon prefix fec0::/10"),
            ),
            ("ff00::/8", &[8068], &[TAG], bogon("bogon prefix ff00::/8")),
            (
                "4000::/16",
                &[8068],
                &[TAG],
                bogon("bogon prefix 4000::/16 (outside 2000::/3)"),
            ),
            (
                "2a00::/15",
                &[8068],
                &[TAG],
                bogon("bogon prefix 2a00::/15 (shorter than /16)"),
            ),
            ("2a01:111::/64", &[8068], &[TAG], None),
            (
                "2a01:111::/65",
                &[8068],
                &[TAG],
                bogon("bogon prefix 2a01:111::/65 (longer than /64)"),
            ),
        ],
    );
}

#[test]
fn documentation_space_is_accepted_with_bogons_off_or_allowed() {
    let docs: [Row; 4] = [
        ("192.0.2.0/24", &[8068], &[TAG], None),
        ("198.51.100.0/24", &[8068], &[TAG], None),
        ("203.0.113.0/24", &[8068], &[TAG], None),
        ("2001:db8::/32", &[8068], &[TAG], None),
    ];
    run_table("[rules]\nreject_bogons = false\n", &docs);
    run_table(
        "[rules]\nallow_prefixes = [\"192.0.2.0/24\", \"198.51.100.0/24\", \"203.0.113.0/24\", \"2001:db8::/32\"]\n",
        &docs,
    );
    run_table(
        "[rules]\nallow_prefixes = [\"192.0.2.0/24\"]\n",
        &[(
            "10.0.0.0/8",
            &[8068],
            &[TAG],
            Some(("bogon", "bogon prefix 10.0.0.0/8")),
        )],
    );
}

#[test]
fn builtin_rules_apply_by_role_unless_accept_all() {
    let (cfg, set) = setup("");
    let bad = attrs(&[8068, 64512], &[]);
    assert!(import(&cfg, &set, "peer", "10.0.0.0/8", &bad).is_some());
    assert_eq!(
        import(&cfg, &set, "peer-accept-all", "10.0.0.0/8", &bad),
        None
    );
    // Transit hygiene: the bogon prefix first.
    assert_eq!(
        import(&cfg, &set, "transit", "10.0.0.0/8", &bad),
        Some(("bogon".into(), "bogon prefix 10.0.0.0/8".into()))
    );
}

#[test]
fn transit_hygiene_takes_bogons_bogon_asns_long_paths_and_too_specifics() {
    let (cfg, set) = setup("");
    let long: Vec<u32> = (0..101).map(|i| 3356 + (i % 2)).collect();
    type TransitRow<'a> = (&'a str, Vec<u32>, Option<(&'a str, &'a str)>);
    let rows: &[TransitRow] = &[
        ("8.8.8.0/24", vec![3356, 15169], None),
        ("2a00:1450::/32", vec![3356, 15169], None),
        (
            "100.64.0.0/10",
            vec![3356],
            Some(("bogon", "bogon prefix 100.64.0.0/10")),
        ),
        (
            "192.88.99.0/24",
            vec![3356],
            Some(("bogon", "bogon prefix 192.88.99.0/24")),
        ),
        (
            "198.18.0.0/15",
            vec![3356],
            Some(("bogon", "bogon prefix 198.18.0.0/15")),
        ),
        (
            "8.8.8.0/24",
            vec![3356, 65001, 15169],
            Some(("private-asn", "private ASN 65001 in AS path")),
        ),
        (
            "8.8.8.0/24",
            vec![3356, 23456],
            Some(("reserved-asn", "reserved ASN 23456 in AS path")),
        ),
        (
            "8.8.8.0/24",
            long,
            Some(("as-path-too-long", "AS path length 101 is over 100")),
        ),
        (
            "8.8.8.0/25",
            vec![3356, 15169],
            Some(("too-specific", "prefix longer than /24 from a transit")),
        ),
        (
            "2a00:1450:4001::/49",
            vec![3356, 15169],
            Some(("too-specific", "prefix longer than /48 from a transit")),
        ),
        (
            "8.8.8.0/24",
            vec![174, 15169],
            Some(("first-as", "first AS 174, not the neighbor's AS 3356")),
        ),
        (
            "8.8.8.0/24",
            vec![],
            Some(("first-as", "an empty AS path, not the neighbor's AS 3356")),
        ),
    ];
    for (prefix, path, want) in rows {
        let got = import(&cfg, &set, "transit", prefix, &attrs(path, &[]));
        let want = want.map(|(r, w)| (r.to_string(), w.to_string()));
        assert_eq!(got, want, "{prefix} {path:?}");
    }
}

#[test]
fn transit_hygiene_follows_the_rules_table() {
    let (cfg, set) = setup("[rules]\nmax_as_path_len = 3\nreject_private_asn = false\nallow_prefixes = [\"100.64.0.0/10\"]\n");
    let ok = |prefix: &str, path: &[u32]| import(&cfg, &set, "transit", prefix, &attrs(path, &[]));
    assert_eq!(ok("100.64.0.0/10", &[3356]), None, "allowed");
    assert_eq!(
        ok("8.8.8.0/24", &[3356, 65001, 15169]),
        None,
        "private ASNs allowed"
    );
    assert_eq!(
        ok("8.8.8.0/24", &[3356, 1, 2, 15169]).map(|r| r.0),
        Some("as-path-too-long".to_string())
    );
}

#[test]
fn an_ebgp_neighbor_without_rules_or_policy_imports_and_exports_nothing() {
    let extra = r#"
[[neighbors]]
name = "bare"
address = "192.0.2.14"
remote_as = 174
location = "ams"
role = "transit"
builtin_rules = false
"#;
    let (cfg, set) = setup(extra);
    let a = attrs(&[174, 15169], &[]);
    let got = import(&cfg, &set, "bare", "8.8.8.0/24", &a);
    assert_eq!(got.as_ref().map(|r| r.0.as_str()), Some("no-policy"));
    assert!(got.map(|r| r.1).unwrap_or_default().contains("RFC 8212"));
    let (n, ctx) = context(&cfg, "bare", "8.8.8.0/24", &a);
    assert!(matches!(set.export(n, &ctx), Verdict::Reject(r) if r.rule == "no-policy"));
    // `check` warns, at the key.
    let rfc8212: Vec<String> = cfg
        .warnings
        .iter()
        .map(|w| w.to_string())
        .filter(|w| w.contains("RFC 8212"))
        .collect();
    assert_eq!(rfc8212.len(), 1, "{:?}", cfg.warnings);
    let w = &rfc8212[0];
    assert!(
        w.contains("warning: eBGP neighbor \"bare\"") && w.contains("RFC 8212"),
        "{w}"
    );
    // With an import policy it imports by that policy alone.
    let (cfg, set) = setup(&format!("{extra}import_policy = \"accept-all\"\n"));
    assert_eq!(import(&cfg, &set, "bare", "10.0.0.0/8", &a), None);
    let rfc8212 = |c: &Config| {
        c.warnings
            .iter()
            .filter(|w| w.to_string().contains("RFC 8212"))
            .count()
    };
    assert_eq!(rfc8212(&cfg), 1, "still nothing to export");
    // Built-in rules on (the default): no RFC 8212 warning, but one for
    // each eBGP neighbor without a max-prefix limit.
    let (cfg, _) = setup("");
    assert_eq!(rfc8212(&cfg), 0);
    assert_eq!(cfg.warnings.len(), 3, "{:?}", cfg.warnings);
    assert!(cfg.warnings[0]
        .to_string()
        .contains("no max_prefixes limit"));
}

#[test]
fn explain_import_lists_every_failing_rule_in_order() {
    let (cfg, set) = setup("");
    let n = neighbor(&cfg, "peer");
    let a = attrs(&[8068, 64512, 23456, 3356], &[]);
    let ctx = RouteContext {
        prefix: pfx("10.1.2.0/25"),
        attrs: &a,
        neighbor: &n.name,
        neighbor_address: n.address,
        neighbor_as: n.remote_as,
        role: n.role,
        location: &n.location,
        rpki: None,
    };
    let rules: Vec<String> = set
        .explain_import(n, &ctx)
        .into_iter()
        .map(|r| r.rule.to_string())
        .collect();
    assert_eq!(
        rules,
        [
            "missing-community",
            "private-asn",
            "reserved-asn",
            "as-path-too-long",
            "bogon"
        ]
    );
    assert_eq!(coldpotato::policy::builtin::RULES[..5].to_vec(), rules);
    let good = attrs(&[8068], &[TAG]);
    let ctx = RouteContext {
        attrs: &good,
        prefix: pfx("8.8.8.0/24"),
        ..ctx
    };
    assert!(set.explain_import(n, &ctx).is_empty());
}

/// A peering-service neighbor whose import policy takes routes without the
/// peering tag as plain internet routes (DESIGN rule 1), and one whose
/// policy only accepts.
const INTERNET_POLICY: &str = r#"
[[neighbors]]
name = "peer-internet"
address = "192.0.2.14"
remote_as = 8068
location = "ams"
role = "peering-service"
import_policy = "untagged-as-internet"

[[neighbors]]
name = "peer-accepting"
address = "192.0.2.18"
remote_as = 8068
location = "ams"
role = "peering-service"
import_policy = "accept-everything"

[policy.untagged-as-internet]
default = "accept"

[[policy.untagged-as-internet.rule]]
name = "untagged"
match.no_community = ["8075:8007"]
set.local_pref = 50
action = "internet"

[policy.accept-everything]
default = "accept"

[[policy.accept-everything.rule]]
name = "all"
action = "accept"
"#;

#[test]
fn a_policy_takes_untagged_routes_as_internet_routes_and_nothing_else_bypasses_the_tag() {
    let (cfg, set) = setup(INTERNET_POLICY);
    let untagged = attrs(&[8068], &[]);
    // Taken as an internet route, with the rule's changes.
    match verdict(&cfg, &set, "peer-internet", "8.8.8.0/24", &untagged) {
        Verdict::Internet(Some(a)) => assert_eq!(a.local_pref, Some(50)),
        v => panic!("expected an internet route, got {v:?}"),
    }
    // Tagged routes are peering-service routes as before.
    assert_eq!(
        verdict(
            &cfg,
            &set,
            "peer-internet",
            "8.8.8.0/24",
            &attrs(&[8068], &[TAG])
        ),
        Verdict::Accept(None)
    );
    // The other built-in checks still reject an untagged route.
    match verdict(
        &cfg,
        &set,
        "peer-internet",
        "8.8.8.0/24",
        &attrs(&[8068, 64512], &[]),
    ) {
        Verdict::Reject(r) => assert_eq!(r.rule, "private-asn"),
        v => panic!("expected private-asn, got {v:?}"),
    }
    match verdict(&cfg, &set, "peer-internet", "10.0.0.0/8", &untagged) {
        Verdict::Reject(r) => assert_eq!(r.rule, "bogon"),
        v => panic!("expected bogon, got {v:?}"),
    }
    // A plain `accept` does not override the required community.
    assert_eq!(
        import(&cfg, &set, "peer-accepting", "8.8.8.0/24", &untagged),
        Some((
            "missing-community".to_string(),
            "missing community 8075:8007".to_string()
        ))
    );
    // Explaining agrees with the verdict.
    let (n, ctx) = context(&cfg, "peer-internet", "8.8.8.0/24", &untagged);
    assert!(set.explain_import(n, &ctx).is_empty());
}

/// Facts worked out once for all of an UPDATE's prefixes
/// (`PolicySet::import_with`, as a session task calls it) give each prefix
/// the verdict `PolicySet::import` gives it alone: every role, rule
/// setting and named policy here, attribute sets that pass and fail each
/// attribute rule, prefixes that pass and fail each prefix rule.
#[test]
fn facts_shared_by_an_update_give_each_prefix_its_own_verdict() {
    let open_transit = r#"
[[neighbors]]
name = "transit-open"
address = "192.0.2.22"
remote_as = 3356
location = "ams"
role = "transit"
builtin_rules = false
import_policy = "untagged-as-internet"
"#;
    let (cfg, set) = setup(&format!("{INTERNET_POLICY}{open_transit}"));
    let with_set = PathAttributes {
        as_path: Some(seq_then_set(&[8068, 3356], &[64512, 174])),
        communities: vec![TAG],
        ..PathAttributes::default()
    };
    let sets = [
        attrs(&[8068, 15169], &[TAG]),
        attrs(&[8068, 15169], &[]),
        attrs(&[8068, 64512], &[TAG]),
        attrs(&[8068, 23456], &[TAG]),
        attrs(&[8068, 1, 2, 3], &[TAG]),
        attrs(&[3356, 174], &[]),
        attrs(&[3356; 120], &[]),
        with_set,
        PathAttributes::default(),
    ];
    let prefixes = [
        "8.8.8.0/24",
        "8.8.8.0/25",
        "10.0.0.0/8",
        "4.0.0.0/7",
        "198.18.0.0/24",
        "2001:db8::/32",
        "2a00:1450::/32",
        "2a00:1450::/56",
    ];
    let mut rejected = 0;
    for n in &cfg.neighbors {
        for a in &sets {
            let facts = set.builtin().facts(a);
            for p in prefixes {
                let (_, ctx) = context(&cfg, &n.name, p, a);
                let alone = set.import(n, &ctx);
                assert_eq!(
                    set.import_with(n, &ctx, Some(&facts)),
                    alone,
                    "{} {p} {a:?}",
                    n.name
                );
                rejected += usize::from(matches!(alone, Verdict::Reject(_)));
            }
        }
    }
    // Rejections and acceptances both.
    let all = cfg.neighbors.len() * sets.len() * prefixes.len();
    assert!(rejected > all / 4 && rejected < all, "{rejected} of {all}");
}
