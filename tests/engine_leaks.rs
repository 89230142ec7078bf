//! Route-leak detection on `EngineCore` (no sockets): the transit-free list
//! of `[analytics] transit_free_asns` and a peering-service neighbor's
//! declared customer cone (`customer_asns`, `customer_as_set_file`), each
//! firing and not firing. A leak is an event (`route-leak`, naming the ASN
//! that tripped it), never a rejection.

mod common;

use common::engine_lab as lab;

use coldpotato::messages::views::EventView;
use lab::*;

/// BASE with `extra` tables and with `keys` added to neighbor ps-ams-1
/// (AS 64500).
fn lab_with(extra: &str, keys: &str) -> Lab {
    let base = BASE.replace(
        "name = \"ps-ams-1\"\n",
        &format!("name = \"ps-ams-1\"\n{keys}\n"),
    );
    let c: Config = toml::from_str(&format!("{base}\n{extra}")).expect("lab config");
    let mut lab = Lab {
        evals: Default::default(),
        core: EngineCore::new(running(Arc::new(c))),
        now: Instant::now(),
    };
    lab.up("ps-ams-1");
    lab.up("ps-fra");
    lab
}

fn leaks(lab: &Lab) -> Vec<EventView> {
    match lab.core.query(&Query::Events { since: 0 }, lab.now) {
        QueryReply::Events(e) => e.into_iter().filter(|e| e.kind == "route-leak").collect(),
        other => panic!("unexpected {other:?}"),
    }
}

/// The leak events of one announcement of `path` from `from`, in a fresh lab.
fn announce(extra: &str, keys: &str, from: &str, path: &[u32]) -> Vec<EventView> {
    let mut lab = lab_with(extra, keys);
    lab.update(from, ann(&["192.0.2.0/24"], path));
    assert_eq!(
        lab.routes(None, false).len(),
        1,
        "a leak is reported, the route still accepted"
    );
    leaks(&lab)
}

#[test]
fn the_default_transit_free_list_is_the_built_in_one() {
    let e = announce("", "", "ps-ams-1", &[64500, 3356, 64501]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].evidence["leak_asn"], 3356);
    assert_eq!(e[0].evidence["transit_asn"], 3356);
    assert_eq!(e[0].evidence["check"], "transit-free");
    assert_eq!(e[0].prefix.as_deref(), Some("192.0.2.0/24"));
}

#[test]
fn a_configured_transit_free_list_replaces_the_default() {
    let own = "[analytics]\ntransit_free_asns = [64510]\n";
    let e = announce(own, "", "ps-ams-1", &[64500, 64510, 64501]);
    assert_eq!(e.len(), 1, "64510 is transit-free here");
    assert_eq!(e[0].evidence["leak_asn"], 64510);
    assert!(
        e[0].message.contains("transit-free AS64510"),
        "{}",
        e[0].message
    );
    assert!(
        announce(own, "", "ps-ams-1", &[64500, 3356, 64501]).is_empty(),
        "3356 is not on the configured list"
    );
    let off = "[analytics]\ntransit_free_asns = []\n";
    assert!(
        announce(off, "", "ps-ams-1", &[64500, 3356, 64501]).is_empty(),
        "an empty list switches the check off"
    );
}

#[test]
fn a_path_outside_the_declared_customer_cone_is_a_leak() {
    let cone = "customer_asns = [64501, 64502]";
    let e = announce("", cone, "ps-ams-1", &[64500, 64501, 64510]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].evidence["leak_asn"], 64510);
    assert_eq!(e[0].evidence["check"], "customer-asns");
    assert_eq!(e[0].evidence["as_path"], "64500 64501 64510");
    assert_eq!(e[0].neighbor.as_deref(), Some("ps-ams-1"));
    assert!(e[0].message.contains("AS64510"), "{}", e[0].message);
}

#[test]
fn paths_inside_the_customer_cone_or_from_a_neighbor_without_one_are_not_leaks() {
    let cone = "customer_asns = [64501, 64502]";
    for path in [
        &[64500][..],
        &[64500, 64500, 64500, 64501],
        &[64500, 64501, 64502],
        &[64500, 64502, 64501],
    ] {
        assert!(
            announce("", cone, "ps-ams-1", path).is_empty(),
            "{path:?} stays inside the cone"
        );
    }
    // ps-fra (also AS 64500) declares no cone: only the transit-free check.
    assert!(announce("", cone, "ps-fra", &[64500, 64510]).is_empty());
}

#[test]
fn an_empty_customer_cone_means_no_customers_at_all() {
    let e = announce("", "customer_asns = []", "ps-ams-1", &[64500, 64501]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].evidence["leak_asn"], 64501);
    assert!(announce("", "customer_asns = []", "ps-ams-1", &[64500, 64500]).is_empty());
}

#[test]
fn a_transit_free_asn_is_a_leak_even_inside_the_declared_cone() {
    let e = announce(
        "",
        "customer_asns = [64501, 174]",
        "ps-ams-1",
        &[64500, 174],
    );
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].evidence["check"], "transit-free");
}

#[test]
fn the_customer_cone_from_an_as_set_file_is_read_by_the_loader_and_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("contoso.txt"),
        "# AS-CONTOSO\nAS64501\n64502\n",
    )
    .expect("write AS-SET");
    let text = BASE.replace(
        "name = \"ps-ams-1\"\n",
        "name = \"ps-ams-1\"\ncustomer_asns = [64503]\ncustomer_as_set_file = \"contoso.txt\"\n",
    );
    let file = dir.path().join("coldpotato.toml");
    let run = coldpotato::running::parse(&text, &file.display().to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run.config.neighbors[0].customer_cone,
        Some(vec![64501, 64502, 64503])
    );
    let mut lab = Lab {
        evals: Default::default(),
        core: EngineCore::new(run),
        now: Instant::now(),
    };
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500, 64502, 64503]));
    assert!(leaks(&lab).is_empty(), "inside the cone");
    lab.update("ps-ams-1", ann(&["192.0.2.0/25"], &[64500, 64502, 64666]));
    let e = leaks(&lab);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].evidence["leak_asn"], 64666);
}

#[test]
fn a_reload_applies_the_new_lists_to_new_routes() {
    let mut lab = lab_with("", "");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500, 64510]));
    assert!(leaks(&lab).is_empty());
    let text = BASE.replace(
        "name = \"ps-ams-1\"\n",
        "name = \"ps-ams-1\"\ncustomer_asns = [64501]\n",
    );
    let c: Config = toml::from_str(&text).expect("config");
    lab.input(Input::Reload(running(Arc::new(c))));
    assert!(
        leaks(&lab).is_empty(),
        "routes already held are not reported again by a reload"
    );
    lab.update("ps-ams-1", ann(&["192.0.2.128/25"], &[64500, 64510]));
    assert_eq!(leaks(&lab).len(), 1);
}
