//! The route engine end to end, with real peers from Debian: GoBGP instances
//! play a provider's routers (announcing crafted routes at the primary and
//! backup locations), another GoBGP plays transit, and BIRD is the internal
//! monitor that receives our decisions over iBGP. Checks that the monitor
//! sees exactly what the peering-service rules allow, with the LOCAL_PREF and
//! location community of each decision; failover primary → backup →
//! internet and back; a max-prefix trip; and a policy reload on SIGHUP that
//! changes what the monitor sees without any session dropping.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
const PROVIDER_AS: u32 = 12_345;
const TRANSIT_AS: u32 = 64_700 + 200_000; // 264700, public 4-octet
const MONITOR_ADDR: &str = "127.0.0.50";

struct Lab {
    d: Daemon,
    monitor: Bird,
    gobgp: Vec<(String, GoBgp)>,
    api: SocketAddr,
    text: String,
}

fn neighbor(
    name: &str,
    addr: &str,
    port: u16,
    asn: u32,
    loc: &str,
    role: &str,
    extra: &str,
) -> Neighbor {
    Neighbor::new(name, addr, asn, role)
        .location(loc)
        .port(port)
        .local_address("127.0.0.1")
        .ipv4()
        .with(extra)
}

fn setup(extra_config: &str) -> Option<Lab> {
    if !need(&["bird", "birdc", "gobgpd", "gobgp"], false) {
        return None;
    }
    let ours = free_port();
    let api = free_port();
    let mon_port = free_port();
    let monitor = Bird::start(&format!(
        r#"
router id {MONITOR_ADDR};
log stderr all;
protocol device {{ }}
protocol bgp cp {{
  local {MONITOR_ADDR} port {mon_port} as {OUR_AS};
  neighbor 127.0.0.1 port {ours} as {OUR_AS};
  connect retry time 1;
  error wait time 1, 2;
  ipv4 {{ import all; export none; gateway recursive; igp table master4; }};
}}
"#
    ));
    let peers = [
        ("contoso-ams-er1", "127.0.0.11", PROVIDER_AS, "ams", "peering-service", ""),
        ("contoso-ams-er2", "127.0.0.12", PROVIDER_AS, "ams", "peering-service", ""),
        ("contoso-fra-er1", "127.0.0.13", PROVIDER_AS, "fra", "peering-service", ""),
        ("transit-ams", "127.0.0.21", TRANSIT_AS, "ams", "transit", ""),
        (
            "offender-ams",
            "127.0.0.41",
            64_496 + 200_000,
            "ams",
            "peering-service",
            "max_prefixes = { limit = 20, warn_percent = 50, action = \"teardown\", restart_after_s = 15 }",
        ),
    ];
    let mut gobgp = Vec::new();
    let mut cfg = DaemonConfig::new(OUR_AS, ours, api)
        .location("fra")
        .append(&format!(
            r#"
[[registered_prefixes]]
prefix = "45.10.0.0/24"
peer_asn = {PROVIDER_AS}
primary = "ams"
backup = "fra"

[[registered_prefixes]]
prefix = "45.10.3.0/24"
peer_asn = {PROVIDER_AS}
primary = "ams"
backup = "none"

{extra_config}"#
        ));
    for (name, addr, asn, loc, role, extra) in peers {
        let port = free_port();
        gobgp.push((
            name.to_string(),
            GoBgp::start(&GoBgp::loopback_config(asn, addr, port, OUR_AS, ours)),
        ));
        let mut extra = extra.to_string();
        if role == "peering-service" && extra_config.contains("[policy.peer-in]") {
            extra.push_str("\nimport_policy = \"peer-in\"");
        }
        cfg = cfg.neighbor(&neighbor(name, addr, port, asn, loc, role, &extra));
    }
    let cfg = cfg.neighbor(&neighbor(
        "monitor",
        MONITOR_ADDR,
        mon_port,
        OUR_AS,
        "ams",
        "internal",
        "",
    ));
    let text = cfg.to_string();
    let api = cfg.api_addr();
    let d = cfg.start();
    for (name, _) in &gobgp {
        assert!(
            d.wait_state(name, "Established", Duration::from_secs(40)),
            "{name} not Established\n{}",
            d.log()
        );
    }
    assert!(
        d.wait_state("monitor", "Established", Duration::from_secs(40)),
        "{}",
        d.log()
    );
    Some(Lab {
        d,
        monitor,
        gobgp,
        api,
        text,
    })
}

impl Lab {
    fn peer(&self, name: &str) -> &GoBgp {
        &self.gobgp.iter().find(|(n, _)| n == name).expect("peer").1
    }

    fn announce(&self, name: &str, args: &str) {
        let out = self
            .peer(name)
            .cli(&format!("global rib add {args} -a ipv4"));
        assert!(!out.contains("rror"), "{name}: {out}");
    }

    /// The monitor's view of a prefix (`birdc show route all for P`), or "".
    fn monitor_route(&self, prefix: &str) -> String {
        let out = self.monitor.cmd(&format!("show route all {prefix}"));
        if out.contains(prefix) {
            out
        } else {
            String::new()
        }
    }

    fn decision(&self, prefix: &str) -> Option<serde_json::Value> {
        self.d
            .get("/api/v1/decisions")
            .as_array()?
            .iter()
            .find(|x| x["prefix"] == prefix)
            .cloned()
    }

    fn wait_decision(&self, prefix: &str, state: &str, secs: u64) -> Option<serde_json::Value> {
        wait_for(Duration::from_secs(secs), || {
            self.decision(prefix).filter(|x| x["state"] == state)
        })
    }

    fn wait_monitor(&self, prefix: &str, needle: &str, secs: u64) -> Option<String> {
        wait_for(Duration::from_secs(secs), || {
            let r = self.monitor_route(prefix);
            r.contains(needle).then_some(r)
        })
    }
}

const TAG: &str = "community 8075:8007";

#[test]
fn the_monitor_receives_exactly_what_the_rules_allow_with_the_decision_encoded() {
    let Some(lab) = setup("") else { return };
    for p in ["contoso-ams-er1", "contoso-ams-er2"] {
        lab.announce(p, &format!("45.10.0.0/24 {TAG}"));
    }
    lab.announce("contoso-ams-er1", "45.10.1.0/24"); // missing community
    lab.announce(
        "contoso-ams-er1",
        &format!("45.10.2.0/24 aspath 64512 {TAG}"),
    ); // private ASN
    lab.announce(
        "contoso-ams-er1",
        &format!("45.10.3.0/25 aspath 1,2,{PROVIDER_AS} {TAG}"),
    ); // 4 hops, /25
    lab.announce(
        "contoso-ams-er1",
        &format!("45.10.3.128/25 aspath 1,{PROVIDER_AS} {TAG}"),
    ); // 3 hops, /25
    lab.announce("contoso-ams-er1", &format!("10.1.0.0/24 {TAG}")); // bogon
    lab.announce(
        "contoso-ams-er1",
        &format!("45.10.4.0/24 aspath 4200000001 {TAG}"),
    ); // 4-octet private

    let d = lab
        .wait_decision("45.10.0.0/24", "primary", 20)
        .unwrap_or_else(|| panic!("no primary decision: {:?}", lab.d.get("/api/v1/decisions")));
    let via: Vec<String> = d["neighbors"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        via.contains(&"contoso-ams-er1".to_string())
            && via.contains(&"contoso-ams-er2".to_string()),
        "{d}"
    );
    let seen = lab
        .wait_monitor("45.10.0.0/24", "BGP.local_pref: 300", 20)
        .unwrap_or_else(|| panic!("monitor: {}", lab.monitor.cmd("show route all")));
    assert!(seen.contains("(8075,1001)"), "location community: {seen}");
    assert!(lab
        .wait_monitor("45.10.3.128/25", "45.10.3.128/25", 10)
        .is_some());

    // Rejected routes never reach the monitor, and say why.
    std::thread::sleep(Duration::from_secs(2));
    for (prefix, rule) in [
        ("45.10.1.0/24", "missing-community"),
        ("45.10.2.0/24", "private-asn"),
        ("45.10.3.0/25", "as-path-too-long"),
        ("10.1.0.0/24", "bogon"),
        ("45.10.4.0/24", "private-asn"),
    ] {
        assert_eq!(
            lab.monitor_route(prefix),
            "",
            "{prefix} leaked to the monitor"
        );
        let routes = lab
            .d
            .get(&format!("/api/v1/routes?prefix={prefix}&status=all"));
        let r = routes
            .as_array()
            .and_then(|a| a.iter().find(|r| r["prefix"] == prefix).cloned())
            .unwrap_or_else(|| panic!("{prefix} not kept as rejected: {routes}"));
        assert_eq!(r["status"], "rejected", "{r}");
        assert_eq!(r["rule"], rule, "{r}");
    }
    // Nothing learned from a peering-service neighbor goes to transit.
    let transit_rib = lab.peer("transit-ams").cli("global rib -a ipv4");
    assert!(
        !transit_rib.contains("45.10.0.0/24"),
        "leaked to transit: {transit_rib}"
    );
    let n = lab.d.neighbor("contoso-ams-er1").expect("listed");
    assert!(
        n["prefixes_rejected"]["missing-community"].as_u64() >= Some(1),
        "{n}"
    );
}

#[test]
fn decisions_fail_over_primary_to_backup_to_internet_and_back() {
    let Some(lab) = setup("") else { return };
    for p in ["contoso-ams-er1", "contoso-ams-er2", "contoso-fra-er1"] {
        lab.announce(p, &format!("45.10.0.0/24 {TAG}"));
    }
    lab.announce("transit-ams", "45.10.0.0/16");
    lab.announce("transit-ams", &format!("45.10.0.0/24 aspath {PROVIDER_AS}"));
    assert!(lab.wait_decision("45.10.0.0/24", "primary", 20).is_some());
    assert!(lab
        .wait_monitor("45.10.0.0/24", "BGP.local_pref: 300", 20)
        .is_some());

    let t = Instant::now();
    for p in ["contoso-ams-er1", "contoso-ams-er2"] {
        lab.peer(p).cli("neighbor 127.0.0.1 disable");
    }
    let b = lab
        .wait_decision("45.10.0.0/24", "backup", 20)
        .unwrap_or_else(|| panic!("no backup decision: {:?}", lab.decision("45.10.0.0/24")));
    assert_eq!(b["location"], "fra");
    let seen = lab
        .wait_monitor("45.10.0.0/24", "BGP.local_pref: 200", 20)
        .expect("monitor sees backup");
    assert!(seen.contains("(8075,1002)"), "{seen}");
    note(&format!(
        "primary -> backup seen by the monitor in {} ms",
        t.elapsed().as_millis()
    ));

    lab.peer("contoso-fra-er1")
        .cli("neighbor 127.0.0.1 disable");
    assert!(lab.wait_decision("45.10.0.0/24", "internet", 20).is_some());
    assert!(
        lab.wait_monitor("45.10.0.0/24", "BGP.local_pref: 100", 20)
            .is_some(),
        "monitor: {}\ndecision: {:?}\nroutes: {}",
        lab.monitor.cmd("show route all"),
        lab.decision("45.10.0.0/24"),
        lab.d.get("/api/v1/routes?prefix=45.10.0.0/24&status=all")
    );

    for p in ["contoso-ams-er1", "contoso-ams-er2", "contoso-fra-er1"] {
        lab.peer(p).cli("neighbor 127.0.0.1 enable");
    }
    assert!(
        lab.wait_decision("45.10.0.0/24", "primary", 40).is_some(),
        "did not return to primary"
    );
    assert!(lab
        .wait_monitor("45.10.0.0/24", "BGP.local_pref: 300", 20)
        .is_some());
}

#[test]
fn a_max_prefix_trip_sends_cease_and_keeps_the_peer_down_for_the_restart_interval() {
    let Some(lab) = setup("") else { return };
    for i in 0..25 {
        lab.announce("offender-ams", &format!("46.0.{i}.0/24 {TAG}"));
    }
    let tripped = wait_for(Duration::from_secs(20), || {
        let n = lab.d.neighbor("offender-ams")?;
        (n["state"] != "Established").then_some(n)
    })
    .unwrap_or_else(|| {
        panic!(
            "offender not torn down: {:?}",
            lab.d.neighbor("offender-ams")
        )
    });
    let t = Instant::now();
    let err = tripped["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        err.contains("maximum number of prefixes"),
        "last_error: {err}"
    );
    // GoBGP logs the NOTIFICATION it received: Cease (6) / Maximum Number
    // of Prefixes Reached (1).
    let log = lab.peer("offender-ams").proc.log_text();
    let got = log.lines().any(|l| {
        let l = l.to_lowercase();
        l.contains("notification") && l.contains("\"code\":6") && l.contains("\"subcode\":1")
    });
    assert!(
        got,
        "gobgp did not log Cease/1: {}",
        log.lines()
            .filter(|l| l.to_lowercase().contains("notification"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Stays down for restart_after_s (15 s) although GoBGP retries every second.
    while t.elapsed() < Duration::from_secs(11) {
        let n = lab.d.neighbor("offender-ams").expect("listed");
        assert_ne!(
            n["state"],
            "Established",
            "came back after {:?}",
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Other sessions were untouched.
    assert_eq!(
        lab.d.neighbor("contoso-ams-er1").expect("listed")["state"],
        "Established"
    );
    // The provider cleans up (15 prefixes left, under the limit of 20): after
    // the restart interval the session returns and stays.
    for i in 15..25 {
        let out = lab
            .peer("offender-ams")
            .cli(&format!("global rib del 46.0.{i}.0/24 -a ipv4"));
        assert!(!out.contains("rror"), "{out}");
    }
    assert!(
        lab.d
            .wait_state("offender-ams", "Established", Duration::from_secs(30)),
        "offender did not return: {:?}\n{}",
        lab.d.neighbor("offender-ams"),
        lab.d.get("/api/v1/events")
    );
    std::thread::sleep(Duration::from_secs(2));
    let n = lab.d.neighbor("offender-ams").expect("listed");
    assert_eq!(n["state"], "Established", "{n}");
    assert_eq!(n["prefixes_received"], 15, "{n}");
    let events = lab.d.get("/api/v1/events");
    let kinds: Vec<&str> = events
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"max-prefix-exceeded"), "{kinds:?}");
    let _ = lab.api;
    let _ = &lab.text;
}

const POLICY_V1: &str = r#"
[policy.peer-in]
default = "accept"
"#;

const POLICY_V2: &str = r#"
[policy.peer-in]
default = "accept"

[[policy.peer-in.rule]]
name = "drop-45-11-0"
match.prefix = ["45.11.0.0/24"]
action = "reject"
reason = "withdrawn from service by the peering team"

[[policy.peer-in.rule]]
name = "prefer-45-11-1"
match.prefix = ["45.11.1.0/24"]
set.local_pref = 250
action = "accept"
"#;

#[test]
fn a_policy_change_on_sighup_changes_what_the_monitor_sees_without_dropping_a_session() {
    let Some(lab) = setup(POLICY_V1) else { return };
    lab.announce("contoso-ams-er1", &format!("45.11.0.0/24 {TAG}"));
    lab.announce("contoso-ams-er1", &format!("45.11.1.0/24 {TAG}"));
    assert!(lab
        .wait_monitor("45.11.0.0/24", "45.11.0.0/24", 20)
        .is_some());
    let before = lab
        .wait_monitor("45.11.1.0/24", "45.11.1.0/24", 20)
        .expect("monitor has it");
    assert!(!before.contains("BGP.local_pref: 250"), "{before}");
    let downs_before = lab
        .d
        .get("/api/v1/events")
        .as_array()
        .map(|a| a.iter().filter(|e| e["kind"] == "session-down").count())
        .unwrap_or(0);
    let uptimes: Vec<(String, u64)> = lab
        .d
        .get("/api/v1/neighbors")
        .as_array()
        .expect("list")
        .iter()
        .filter(|n| n["state"] == "Established")
        .map(|n| {
            (
                n["name"].as_str().unwrap_or_default().to_string(),
                n["uptime_s"].as_u64().unwrap_or(0),
            )
        })
        .collect();

    lab.d.reload(&lab.text.replace(POLICY_V1, POLICY_V2));
    let gone = wait_for(Duration::from_secs(20), || {
        lab.monitor_route("45.11.0.0/24").is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "monitor still has 45.11.0.0/24: {}\n{}",
        lab.monitor_route("45.11.0.0/24"),
        lab.d.log()
    );
    assert!(
        lab.wait_monitor("45.11.1.0/24", "BGP.local_pref: 250", 20)
            .is_some(),
        "{}",
        lab.monitor_route("45.11.1.0/24")
    );
    let r = lab.d.get("/api/v1/routes?prefix=45.11.0.0/24&status=all");
    let r = r
        .as_array()
        .and_then(|a| a.first().cloned())
        .expect("kept as rejected");
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["rule"], "peer-in/drop-45-11-0", "{r}");

    // No session dropped: no session-down event, every uptime kept growing.
    let events = lab.d.get("/api/v1/events");
    let downs = events
        .as_array()
        .map(|a| a.iter().filter(|e| e["kind"] == "session-down").count())
        .unwrap_or(0);
    assert_eq!(downs, downs_before, "a session dropped on reload: {events}");
    for (name, up) in uptimes {
        let n = lab.d.neighbor(&name).expect("listed");
        assert_eq!(n["state"], "Established", "{name}");
        assert!(
            n["uptime_s"].as_u64().unwrap_or(0) >= up,
            "{name} restarted"
        );
    }
    // A broken file is refused and the running policy stays.
    lab.d.reload(
        &lab.text
            .replace(POLICY_V1, "[policy.peer-in]\ndefault = \"sometimes\"\n"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(lab.d.log().contains("reload rejected"), "{}", lab.d.log());
    assert!(lab
        .monitor_route("45.11.1.0/24")
        .contains("BGP.local_pref: 250"));
}
