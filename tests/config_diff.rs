//! `config::diff` for reload: which neighbors are added, removed, reset or
//! updated in place, and which global parts changed.

use coldpotato::config::{self, Config};

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
name = "a"
address = "192.0.2.2"
remote_as = 8068
location = "ams"
role = "peering-service"
bfd = { min_tx_ms = 300, min_rx_ms = 300, multiplier = 3 }

[[neighbors]]
name = "b"
address = "192.0.2.6"
remote_as = 8068
location = "ams"
role = "peering-service"

[[registered_prefixes]]
prefix = "8.8.8.0/24"
peer_asn = 8068
primary = "ams"
backup = "fra"

[policy.p]
default = "accept"
"#;

fn cfg(text: &str) -> Config {
    config::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn changed(from: &str, to: &str) -> config::ConfigDiff {
    config::diff(&cfg(BASE), &cfg(&BASE.replacen(from, to, 1)))
}

#[test]
fn identical_configs_have_an_empty_diff() {
    assert!(config::diff(&cfg(BASE), &cfg(BASE)).is_empty());
}

#[test]
fn session_parameters_force_a_reset() {
    for (from, to, field) in [
        (
            "address = \"192.0.2.2\"",
            "address = \"192.0.2.3\"",
            "address",
        ),
        ("remote_as = 8068", "remote_as = 8069", "remote_as"),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\nhold_time_s = 30\nbfd",
            "hold_time_s",
        ),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\npassive = true\nbfd",
            "passive",
        ),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\nport = 1179\nbfd",
            "port",
        ),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\npassword = \"s\"\nbfd",
            "password",
        ),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\nttl_security = true\nbfd",
            "ttl_security",
        ),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\nfamilies = [\"ipv4\"]\nbfd",
            "families",
        ),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\nlocal_address = \"192.0.2.1\"\nbfd",
            "local_address",
        ),
    ] {
        let d = changed(from, to);
        assert_eq!(d.neighbors_reset.len(), 1, "{field}: {d:?}");
        assert_eq!(d.neighbors_reset[0].name, "a");
        assert!(
            d.neighbors_reset[0].fields.contains(&field),
            "{field}: {d:?}"
        );
        assert!(d.neighbors_updated.is_empty(), "{field}");
    }
}

#[test]
fn policy_limits_location_role_and_bfd_timers_apply_without_a_reset() {
    for (from, to, field) in [
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\nimport_policy = \"p\"\nbfd",
            "import_policy",
        ),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"peering-service\"\nmax_prefixes = { limit = 10 }\nbfd",
            "max_prefixes",
        ),
        (
            "location = \"ams\"\nrole = \"peering-service\"\nbfd",
            "location = \"fra\"\nrole = \"peering-service\"\nbfd",
            "location",
        ),
        (
            "role = \"peering-service\"\nbfd",
            "role = \"transit\"\nbfd",
            "role",
        ),
        ("min_tx_ms = 300", "min_tx_ms = 100", "bfd"),
    ] {
        let d = changed(from, to);
        assert!(d.neighbors_reset.is_empty(), "{field}: {d:?}");
        assert_eq!(d.neighbors_updated.len(), 1, "{field}: {d:?}");
        assert_eq!(d.neighbors_updated[0].fields, vec![field]);
    }
}

#[test]
fn neighbors_are_matched_by_name_for_add_and_remove() {
    let d = changed("name = \"b\"", "name = \"c\"");
    assert_eq!(d.neighbors_added, vec!["c".to_string()]);
    assert_eq!(d.neighbors_removed, vec!["b".to_string()]);
    assert!(d.neighbors_reset.is_empty() && d.neighbors_updated.is_empty());
}

#[test]
fn a_router_asn_change_resets_every_session() {
    let d = changed("asn = 8075", "asn = 8076");
    assert!(d.router_changed);
    assert_eq!(d.neighbors_reset.len(), 2);
}

#[test]
fn changing_the_default_hold_time_resets_only_neighbors_without_their_own() {
    let text = BASE.replacen(
        "role = \"peering-service\"\nbfd",
        "role = \"peering-service\"\nhold_time_s = 30\nbfd",
        1,
    );
    let new = text.replacen(
        "location = \"ams\"\n",
        "location = \"ams\"\nhold_time_s = 60\n",
        1,
    );
    let d = config::diff(&cfg(&text), &cfg(&new));
    let names: Vec<&str> = d.neighbors_reset.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["b"]);
}

#[test]
fn policy_rule_and_prefix_changes_are_reported() {
    let d = changed("default = \"accept\"", "default = \"reject\"");
    assert_eq!(d.policies_changed, vec!["p".to_string()]);
    assert!(changed("backup = \"fra\"", "backup = \"none\"").registered_prefixes_changed);
    let d = changed("[policy.p]", "[rules]\nreject_bogons = false\n\n[policy.p]");
    assert!(d.rules_changed);
    let a = cfg(BASE);
    assert!(d.needs_reimport(&a.neighbors[0]));
    let d = changed(
        "[policy.p]",
        "[[originate]]\nprefix = \"198.51.100.0/24\"\n\n[policy.p]",
    );
    assert!(d.originate_changed && !d.rules_changed);
}
