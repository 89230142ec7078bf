//! The shipped examples in `config/` load cleanly and say what they claim.

use coldpotato::config::{self, PolicySource, Role};
use coldpotato::policy::PolicySet;
use std::path::Path;

fn example() -> config::Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/coldpotato.toml");
    match config::load(&path) {
        Ok(c) => c,
        Err(e) => panic!("example config does not load:\n{e}"),
    }
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
fn systemd_unit_runs_the_daemon_with_the_needed_capabilities() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/coldpotato.service"),
    )
    .unwrap_or_default();
    assert!(unit.contains(
        "ExecStart=/usr/local/bin/coldpotato run --config /etc/coldpotato/coldpotato.toml"
    ));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    for cap in ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_NET_ADMIN"] {
        assert!(unit.contains(cap), "{cap}");
    }
}
