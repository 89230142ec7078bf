//! The shipped examples in `config/` load cleanly and say what they claim.

use coldpotato::config::{self, PolicySource, Role};
use coldpotato::policy::PolicySet;
use coldpotato::running;
use std::path::Path;

fn example() -> config::Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/coldpotato.toml");
    match running::load(&path) {
        Ok(c) => (*c.config).clone(),
        Err(e) => panic!("example config does not load:\n{e}"),
    }
}

#[test]
fn every_config_in_the_config_directory_loads_without_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".toml") || name.starts_with("policy") {
            continue; // policy files are loaded through the config naming them
        }
        if let Err(e) = running::load(&path) {
            panic!("{name} does not load:\n{e}");
        }
        loaded += 1;
    }
    assert!(loaded >= 1, "coldpotato.toml");
}

#[test]
fn the_embedded_lab_config_loads_once_its_ports_are_filled_in() {
    let text = coldpotato::lab::LAB_CONFIG
        .replace("@BGP_PORT@", "11179")
        .replace("@API_PORT@", "19179");
    let cfg = running::parse(&text, "lab.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.neighbors.len(), 6);
    assert_eq!(cfg.registered_prefixes.len(), 2);
}

#[test]
fn example_config_loads_without_errors() {
    let cfg = example();
    assert_eq!(cfg.router.asn, 8075);
    assert_eq!(cfg.policy, PolicySource::File("policy.toml".into()));
    assert!(cfg
        .policy_file
        .as_ref()
        .is_some_and(|p| p.ends_with("config/policy.toml")));
}

#[test]
fn example_config_describes_a_redundant_two_location_edge() {
    let cfg = example();
    let names: Vec<&str> = cfg.locations.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["ams", "fra"]);
    for loc in ["ams", "fra"] {
        let contoso: Vec<_> = cfg
            .neighbors
            .iter()
            .filter(|n| {
                n.remote_as == 64500
                    && n.location == loc
                    && n.families.len() == 1
                    && n.address.is_ipv4()
            })
            .collect();
        assert_eq!(contoso.len(), 2, "two contoso IPv4 sessions in {loc}");
        assert_ne!(
            contoso[0].router, contoso[1].router,
            "on two edge routers in {loc}"
        );
    }
    assert!(cfg.neighbors.iter().any(|n| n.role == Role::Transit));
    assert!(cfg.neighbors.iter().any(|n| n.role == Role::Internal));
    assert!(cfg
        .neighbors
        .iter()
        .any(|n| n.bfd.is_some() && n.max_prefixes.is_some()));
    assert!(!cfg.registered_prefixes.is_empty() && !cfg.originate.is_empty());
}

#[test]
fn example_policy_file_compiles_every_referenced_policy() {
    let cfg = example();
    let set = match PolicySet::compile(&cfg) {
        Ok(s) => s,
        Err(e) => panic!("{e:?}"),
    };
    for n in &cfg.neighbors {
        for p in [&n.import_policy, &n.export_policy].into_iter().flatten() {
            assert!(p == "accept-all" || p == "none" || set.has_policy(p), "{p}");
        }
    }
}

#[test]
fn example_policies_treat_sample_routes_as_documented() {
    use coldpotato::policy::{RouteContext, Verdict};
    use coldpotato::wire::{AsPath, Community, LargeCommunity, PathAttributes};
    let cfg = example();
    let set = PolicySet::compile(&cfg).unwrap_or_else(|e| panic!("{e:?}"));
    let run = |from: &str, prefix: &str, path: Vec<u32>, comms: Vec<Community>, export: bool| {
        let n = cfg.neighbor(from).unwrap_or_else(|| panic!("no {from}"));
        let attrs = PathAttributes {
            as_path: Some(AsPath::from_sequence(path)),
            communities: comms,
            ..PathAttributes::default()
        };
        let ctx = RouteContext {
            prefix: prefix.parse().unwrap_or_else(|e| panic!("{e}")),
            attrs: &attrs,
            neighbor: &n.name,
            neighbor_address: n.address,
            neighbor_as: n.remote_as,
            role: n.role,
            location: &n.location,
            rpki: None,
        };
        if export {
            set.export(n, &ctx)
        } else {
            set.import(n, &ctx)
        }
    };
    let tag = Community::new(8075, 8007);
    // A tagged customer route at ams: accepted, tagged with the location, preferred.
    match run(
        "contoso-ams-er1",
        "203.0.113.0/24",
        vec![64500],
        vec![tag],
        false,
    ) {
        Verdict::Accept(Some(a)) => {
            assert_eq!(a.local_pref, Some(200));
            assert_eq!(
                a.large_communities,
                vec![LargeCommunity {
                    global: 8075,
                    local1: 1,
                    local2: 1
                }]
            );
        }
        v => panic!("{v:?}"),
    }
    // Untagged: the built-in rule rejects it before the policy runs.
    match run(
        "contoso-fra-er1",
        "203.0.113.0/24",
        vec![64500],
        vec![],
        false,
    ) {
        Verdict::Reject(r) => assert_eq!(r.reason, "missing community 8075:8007"),
        v => panic!("{v:?}"),
    }
    // A real bogon is still a bogon: allow_prefixes only opens documentation space.
    match run(
        "contoso-ams-er1",
        "10.0.0.0/8",
        vec![64500],
        vec![tag],
        false,
    ) {
        Verdict::Reject(r) => assert_eq!(r.rule, "bogon"),
        v => panic!("{v:?}"),
    }
    // A peer seen behind transit is a leak.
    match run(
        "transit-ams",
        "8.8.8.0/24",
        vec![64510, 64500],
        vec![],
        false,
    ) {
        Verdict::Reject(r) => assert_eq!(r.rule, "transit-in/no-peer-routes-via-transit"),
        v => panic!("{v:?}"),
    }
    // Only our own prefixes go to peers; to transit they are prepended twice.
    assert!(matches!(
        run("contoso-ams-er1", "8.8.8.0/24", vec![], vec![], true),
        Verdict::Reject(_)
    ));
    match run("transit-ams", "198.51.100.0/24", vec![], vec![], true) {
        Verdict::Accept(Some(a)) => {
            assert_eq!(a.as_path, Some(AsPath::from_sequence(vec![8075, 8075])))
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn a_loaded_config_serializes_back_to_toml_that_loads_the_same() {
    let cfg = example();
    let text = toml::to_string(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/roundtrip.toml");
    let again = running::parse(&text, &dir.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(*again.config, cfg);
}
