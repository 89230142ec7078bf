//! Sessions against real BGP daemons from Debian (BIRD 2, GoBGP, FRR) over
//! loopback. The daemon under test: IPv4 and IPv6 unicast, 4-octet ASNs,
//! routes both ways with their attributes, TCP-MD5, hold timer on a frozen
//! peer, graceful restart, BGP roles, and connections from unconfigured
//! addresses. Our peer task alone (`peer_task`): what BIRD, FRR's bgpd and
//! GoBGP offer is negotiated and their routes arrive; our Cease reaches
//! BIRD; a frozen GoBGP gets Hold Timer Expired. Each test starts its own
//! daemons on fresh ports and stops them (Drop guards), bounded in time.
mod common;

use common::*;
use serde_json::Value;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
/// A public 4-octet ASN (AS 3.7), so no rule needs relaxing.
const BIRD_AS: u32 = 196_615;
/// Another public 4-octet ASN (AS 5.0).
const GOBGP_AS: u32 = 327_680;

struct Ports {
    ours: u16,
    api: u16,
    peer: u16,
}

fn ports() -> Ports {
    Ports {
        ours: free_port(),
        api: free_port(),
        peer: free_port(),
    }
}

/// Our config (BGP on 127.0.0.1 and ::1, two originated prefixes); the
/// tests add their neighbors.
fn our_config(p: &Ports, hold: u16) -> DaemonConfig {
    DaemonConfig::new(OUR_AS, p.ours, p.api)
        .listen(&[format!("127.0.0.1:{}", p.ours), format!("[::1]:{}", p.ours)])
        .router(&format!("hold_time_s = {hold}"))
        .append(
            r#"[[originate]]
prefix = "192.0.2.0/24"
communities = ["8075:100"]
large_communities = ["8075:100:1"]

[[originate]]
prefix = "2001:db8:100::/48"
communities = ["8075:100"]
"#,
        )
}

fn routes_from(d: &Daemon, neighbor: &str, all: bool) -> Vec<Value> {
    let path = if all {
        "/api/v1/routes?status=all"
    } else {
        "/api/v1/routes"
    };
    d.get(path)
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["neighbor"] == neighbor)
        .collect()
}

fn route<'a>(routes: &'a [Value], prefix: &str) -> Option<&'a Value> {
    routes.iter().find(|r| r["prefix"] == prefix)
}

fn bird_config(p: &Ports, extra_proto: &str, extra_chan4: &str) -> String {
    format!(
        r#"
router id 127.0.0.2;
log stderr all;
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol static s4 {{ ipv4; route 45.20.0.0/24 unreachable; route 45.20.1.0/24 unreachable; }}
filter cp_tag {{
  bgp_community.add((65000,1));
  bgp_large_community.add(({BIRD_AS},1,2));
  accept;
}}
protocol bgp cp4 {{
  local 127.0.0.2 port {peer} as {BIRD_AS};
  neighbor 127.0.0.1 port {ours} as {OUR_AS};
  multihop;
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  {extra_proto}
  ipv4 {{ import all; export filter cp_tag; gateway recursive; igp table master4; {extra_chan4} }};
}}
"#,
        peer = p.peer,
        ours = p.ours,
    )
}

/// BIRD for the IPv6 session, inside namespace `ns` at `peer` (ours is `us`).
fn bird6_config(us: &str, peer: &str) -> String {
    format!(
        r#"
router id 127.0.0.3;
log stderr all;
protocol device {{ }}
protocol direct {{ ipv6; }}
protocol static s6 {{ ipv6; route 2a0a:20::/48 unreachable; }}
filter cp_tag {{
  bgp_community.add((65000,1));
  accept;
}}
protocol bgp cp6 {{
  local {peer} as {BIRD_AS};
  neighbor {us} as {OUR_AS};
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  ipv6 {{ import all; export filter cp_tag; }};
}}
"#
    )
}

/// Our neighbor for BIRD's IPv4 session, in `role`, with `extra` keys.
fn bird4(p: &Ports, role: &str, extra: &str) -> Neighbor {
    Neighbor::new("bird4", "127.0.0.2", BIRD_AS, role)
        .port(p.peer)
        .local_address("127.0.0.1")
        .with(extra)
}

#[test]
fn bird_sessions_over_ipv4_and_ipv6_with_four_octet_asns_exchange_routes_both_ways() {
    // Root: the IPv6 side runs in a namespace.
    if !need(&["bird", "birdc", "ip"], true) {
        return;
    }
    let p = ports();
    // IPv6 runs over a veth into a namespace: on loopback both ends would be
    // ::1 and BIRD rightly refuses its own address as a next hop.
    let link = VethLink::new("b6", 6, true);
    let bird = Bird::start(&bird_config(&p, "", ""));
    let bird6 = Bird::start_in(Some(&link.ns.name), &bird6_config(&link.ours, &link.peer));
    let d = our_config(&p, 9)
        .listen(&[
            format!("127.0.0.1:{}", p.ours),
            "[fd00:c0:6::1]:179".into(),
            format!("[::1]:{}", p.ours),
        ])
        .neighbor(&bird4(&p, "transit", ""))
        .neighbor(
            &Neighbor::new("bird6", "fd00:c0:6::2", BIRD_AS, "transit")
                .local_address("fd00:c0:6::1")
                .with("families = [\"ipv6\"]"),
        )
        .start();
    assert!(
        d.wait_state("bird4", "Established", Duration::from_secs(30)),
        "bird4 not Established\nours:\n{}\nbird:\n{}",
        d.log(),
        bird.proc.log_text()
    );
    assert!(
        d.wait_state("bird6", "Established", Duration::from_secs(30)),
        "bird6 not Established\n{}",
        d.log()
    );
    let n = d.neighbor("bird4").expect("bird4 listed");
    assert_eq!(n["remote_as"], BIRD_AS);

    // BIRD → us, with its attributes intact.
    let got = wait_for(Duration::from_secs(15), || {
        let r = routes_from(&d, "bird4", false);
        (route(&r, "45.20.0.0/24").is_some() && route(&r, "45.20.1.0/24").is_some()).then_some(r)
    })
    .unwrap_or_else(|| {
        panic!(
            "routes from bird4 missing: {:?}",
            d.get("/api/v1/routes?status=all")
        )
    });
    let r = route(&got, "45.20.0.0/24").expect("route");
    assert_eq!(r["as_path"], serde_json::json!([BIRD_AS]));
    assert_eq!(r["next_hop"], "127.0.0.2");
    assert_eq!(r["peer"], "127.0.0.2");
    assert_eq!(r["status"], "accepted");
    assert!(r["communities"]
        .as_array()
        .expect("list")
        .contains(&"65000:1".into()));
    assert!(r["large_communities"]
        .as_array()
        .expect("list")
        .contains(&format!("{BIRD_AS}:1:2").into()));
    let v6 = wait_for(Duration::from_secs(15), || {
        let r = routes_from(&d, "bird6", false);
        route(&r, "2a0a:20::/48").cloned()
    })
    .expect("IPv6 route from bird6");
    assert_eq!(v6["as_path"], serde_json::json!([BIRD_AS]));
    assert_eq!(v6["next_hop"], "fd00:c0:6::2");

    // Us → BIRD: our own prefixes, AS path = our AS, next hop self, communities.
    let seen = wait_for(Duration::from_secs(15), || {
        let out = bird.cmd("show route all protocol cp4");
        out.contains("192.0.2.0/24").then_some(out)
    })
    .unwrap_or_else(|| {
        panic!(
            "bird did not get 192.0.2.0/24: {}",
            bird.cmd("show route all")
        )
    });
    assert!(seen.contains(&format!("BGP.as_path: {OUR_AS}")), "{seen}");
    assert!(seen.contains("BGP.next_hop: 127.0.0.1"), "{seen}");
    assert!(seen.contains("(8075,100)"), "{seen}");
    assert!(seen.contains("(8075, 100, 1)"), "{seen}");
    // (BIRD shows a LOCAL_PREF of its own on every eBGP route, so the
    // absence of ours is checked against GoBGP below.)
    let seen6 = wait_for(Duration::from_secs(15), || {
        let out = bird6.cmd("show route all protocol cp6");
        out.contains("2001:db8:100::/48").then_some(out)
    })
    .unwrap_or_else(|| {
        panic!(
            "bird6 did not get our IPv6 prefix: {}\n{}",
            bird6.cmd("show route all"),
            bird6.proc.log_text()
        )
    });
    assert!(seen6.contains(&format!("BGP.as_path: {OUR_AS}")), "{seen6}");
    assert!(seen6.contains("BGP.next_hop: fd00:c0:6::1"), "{seen6}");
    // What BIRD announced is never re-advertised back to it.
    assert!(!bird
        .cmd("show route all protocol cp4")
        .contains("45.20.0.0/24"));
}

#[test]
fn gobgp_session_with_four_octet_asn_exchanges_routes_both_ways() {
    if !need(&["gobgpd", "gobgp", "ip"], true) {
        return;
    }
    // GoBGP refuses loopback next hops, so it sits across a veth link.
    let link = VethLink::new("gb", 7, false);
    let p = ports();
    let gob = GoBgp::start_in(
        Some(&link.ns.name),
        &format!(
            r#"
[global.config]
  as = {GOBGP_AS}
  router-id = "{peer}"
  port = 179
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{ours}"
    peer-as = {OUR_AS}
  [neighbors.transport.config]
    local-address = "{peer}"
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
"#,
            peer = link.peer,
            ours = link.ours,
        ),
    );
    let d = our_config(&p, 9)
        .listen(&[
            format!("{}:179", link.ours),
            format!("127.0.0.1:{}", p.ours),
            format!("[::1]:{}", p.ours),
        ])
        .neighbor(
            &Neighbor::new("gobgp", &link.peer, GOBGP_AS, "transit")
                .local_address(&link.ours)
                .ipv4(),
        )
        .start();
    assert!(
        d.wait_state("gobgp", "Established", Duration::from_secs(30)),
        "gobgp not Established\nours:\n{}\ngobgp:\n{}",
        d.log(),
        gob.proc.log_text()
    );
    let out = gob.cli("global rib add 45.30.0.0/24 community 65000:7 med 20 origin egp -a ipv4");
    assert!(!out.contains("rror"), "gobgp rib add: {out}");
    let r = wait_for(Duration::from_secs(15), || {
        route(&routes_from(&d, "gobgp", false), "45.30.0.0/24").cloned()
    })
    .unwrap_or_else(|| panic!("route from gobgp missing\n{}", d.log()));
    assert_eq!(r["as_path"], serde_json::json!([GOBGP_AS]));
    assert_eq!(r["next_hop"], link.peer.as_str());
    assert_eq!(r["origin"], "egp");
    assert_eq!(r["med"], 20);
    assert!(r["communities"]
        .as_array()
        .expect("list")
        .contains(&"65000:7".into()));

    // Us → GoBGP, as GoBGP decodes it (JSON): AS path, next hop self,
    // communities, and no LOCAL_PREF toward eBGP.
    let path = wait_for(Duration::from_secs(15), || {
        let out = gob.cli("global rib -a ipv4 192.0.2.0/24 -j");
        let v: Value = serde_json::from_str(&out).ok()?;
        v["192.0.2.0/24"].as_array()?.first().cloned()
    })
    .unwrap_or_else(|| {
        panic!(
            "gobgp did not get 192.0.2.0/24: {}\n{}",
            gob.cli("global rib -a ipv4"),
            gob.proc.log_text()
        )
    });
    let attrs = path["attrs"].as_array().cloned().unwrap_or_default();
    let attr = |t: u64| attrs.iter().find(|a| a["type"] == t).cloned();
    let aspath = attr(2).unwrap_or_else(|| panic!("AS_PATH missing: {path}"));
    assert_eq!(
        aspath["as_paths"][0]["asns"],
        serde_json::json!([OUR_AS]),
        "{path}"
    );
    assert_eq!(
        attr(3).expect("NEXT_HOP")["nexthop"],
        link.ours.as_str(),
        "{path}"
    );
    assert!(attr(5).is_none(), "no LOCAL_PREF toward eBGP: {path}");
    let c = (8075u64 << 16) | 100;
    assert_eq!(
        attr(8).expect("COMMUNITIES")["communities"],
        serde_json::json!([c]),
        "{path}"
    );

    // A withdrawal reaches us too.
    gob.cli("global rib del 45.30.0.0/24 -a ipv4");
    let gone = wait_for(Duration::from_secs(15), || {
        route(&routes_from(&d, "gobgp", true), "45.30.0.0/24")
            .is_none()
            .then_some(())
    });
    assert!(gone.is_some(), "withdrawn route still present");
}

#[test]
fn tcp_md5_session_with_bird_comes_up_and_a_wrong_password_does_not() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let p = ports();
    let bird = Bird::start(&bird_config(&p, "password \"s3cret-md5\";", ""));
    let d = our_config(&p, 9)
        .neighbor(&bird4(&p, "transit", "password = \"s3cret-md5\""))
        .start();
    assert!(
        d.wait_state("bird4", "Established", Duration::from_secs(30)),
        "MD5 session not Established\n{}\n{}",
        d.log(),
        bird.proc.log_text()
    );
    drop(d);

    let p2 = Ports {
        ours: free_port(),
        api: free_port(),
        peer: p.peer,
    };
    let bird2 = {
        drop(bird);
        Bird::start(&bird_config(&p2, "password \"s3cret-md5\";", ""))
    };
    let d2 = our_config(&p2, 9)
        .neighbor(&bird4(&p2, "transit", "password = \"wrong-password\""))
        .start();
    std::thread::sleep(Duration::from_secs(8));
    let n = d2.neighbor("bird4").expect("listed");
    assert_ne!(
        n["state"], "Established",
        "wrong MD5 key must not establish"
    );
    assert!(!bird2.established("cp4"));
}

#[test]
fn a_frozen_peer_gets_hold_timer_expired_and_the_session_returns_when_it_thaws() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let p = ports();
    let mut cfg = bird_config(&p, "", "");
    cfg = cfg.replace("hold time 9;", "hold time 3;");
    let bird = Bird::start(&cfg);
    let d = our_config(&p, 3)
        .neighbor(&bird4(&p, "transit", ""))
        .start();
    assert!(
        d.wait_state("bird4", "Established", Duration::from_secs(30)),
        "{}",
        d.log()
    );
    let frozen = Instant::now();
    bird.proc.signal(libc::SIGSTOP);
    let down = wait_for(Duration::from_secs(8), || {
        let n = d.neighbor("bird4")?;
        (n["state"] != "Established").then_some(n)
    });
    let elapsed = frozen.elapsed();
    bird.proc.signal(libc::SIGCONT);
    let n = down.expect("session stayed Established with a frozen peer");
    assert!(elapsed <= Duration::from_millis(4_500), "took {elapsed:?}");
    let err = n["last_error"].as_str().unwrap_or_default().to_lowercase();
    assert!(err.contains("hold timer expired"), "last_error: {err}");
    note(&format!(
        "hold timer expiry detected {} ms after SIGSTOP (hold 3 s)",
        elapsed.as_millis()
    ));
    assert!(
        d.wait_state("bird4", "Established", Duration::from_secs(30)),
        "session did not come back after SIGCONT\n{}",
        d.log()
    );
}

#[test]
fn a_gracefully_restarting_peer_keeps_its_routes_stale_until_end_of_rib() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let p = ports();
    let cfg = bird_config(&p, "graceful restart on; graceful restart time 60;", "");
    let bird = Bird::start(&cfg);
    let d = our_config(&p, 9)
        .neighbor(&bird4(&p, "transit", ""))
        .start();
    assert!(
        d.wait_state("bird4", "Established", Duration::from_secs(30)),
        "{}",
        d.log()
    );
    assert!(wait_for(Duration::from_secs(15), || {
        route(&routes_from(&d, "bird4", false), "45.20.0.0/24").map(|_| ())
    })
    .is_some());

    // `birdc graceful restart` shuts BIRD down announcing a restart (RFC 4724).
    bird.cmd("graceful restart");
    let stale = wait_for(Duration::from_secs(15), || {
        let r = routes_from(&d, "bird4", true);
        route(&r, "45.20.0.0/24")
            .filter(|r| r["status"] == "stale")
            .cloned()
    });
    assert!(
        stale.is_some(),
        "routes not kept as stale: {:?}",
        routes_from(&d, "bird4", true)
    );
    drop(bird);
    // Restart BIRD announcing only one of the two prefixes: after its
    // End-of-RIB the other must be swept.
    let cfg2 = cfg.replace("route 45.20.1.0/24 unreachable; ", "");
    let _bird = Bird::start(&cfg2);
    let swept = wait_for(Duration::from_secs(30), || {
        let r = routes_from(&d, "bird4", true);
        let fresh = route(&r, "45.20.0.0/24").map(|r| r["status"] == "accepted") == Some(true);
        (fresh && route(&r, "45.20.1.0/24").is_none()).then_some(())
    });
    assert!(
        swept.is_some(),
        "stale routes not refreshed/swept: {:?}",
        routes_from(&d, "bird4", true)
    );
}

#[test]
fn a_connection_from_an_unconfigured_address_gets_no_open() {
    let p = ports();
    let d = our_config(&p, 9)
        .neighbor(&bird4(&p, "transit", "passive = true"))
        .start();
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.bind(&SocketAddr::from(([127, 0, 0, 99], 0)).into())
        .expect("bind 127.0.0.99");
    sock.connect(&SocketAddr::from(([127, 0, 0, 1], p.ours)).into())
        .expect("connect");
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "an unconfigured address was sent {n} bytes");
    // The daemon is unaffected.
    assert_eq!(http_get(d.api, "/healthz").map(|x| x.0), Some(200));
}

#[test]
fn bgp_roles_with_bird_pair_up_mark_our_routes_only_to_customer_and_a_mismatch_is_refused() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    // RFC 9234: BIRD is our peer and requires a role; we are "peer" by
    // default toward a peering-service neighbor.
    let p = ports();
    let bird = Bird::start(&bird_config(&p, "local role peer; require roles on;", ""));
    let d = our_config(&p, 9)
        .neighbor(&bird4(&p, "peering-service", "strict_role = true"))
        .start();
    assert!(
        d.wait_state("bird4", "Established", Duration::from_secs(30)),
        "role peer/peer not Established\n{}\n{}",
        d.log(),
        bird.proc.log_text()
    );
    // Our own prefix goes to a peer marked "only to customers" with our AS
    // (RFC 9234 §5 egress), as BIRD decodes it.
    let shown = wait_for(Duration::from_secs(15), || {
        let out = bird.cmd("show route 192.0.2.0/24 all");
        out.contains("192.0.2.0/24").then_some(out)
    })
    .unwrap_or_else(|| panic!("BIRD never got 192.0.2.0/24\n{}", d.log()));
    assert!(
        shown.contains(&format!("BGP.otc: {OUR_AS}")),
        "no ONLY_TO_CUSTOMER {OUR_AS} in\n{shown}"
    );
    drop(d);
    drop(bird);

    // BIRD believes it is our customer (so we should be its provider), we
    // say peer: the session must not come up, with Role Mismatch (2/11).
    let p2 = ports();
    let bird2 = Bird::start(&bird_config(&p2, "local role customer;", ""));
    let d2 = our_config(&p2, 9)
        .neighbor(&bird4(&p2, "peering-service", ""))
        .start();
    let err = wait_for(Duration::from_secs(20), || {
        let n = d2.neighbor("bird4")?;
        let e = n["last_error"].as_str()?.to_string();
        e.contains("Role Mismatch").then_some(e)
    });
    assert!(
        err.is_some(),
        "no Role Mismatch\n{}\n{}",
        d2.log(),
        bird2.proc.log_text()
    );
    note(&format!(
        "BGP role customer (BIRD) vs peer (us): {}",
        err.unwrap_or_default()
    ));
    assert!(!bird2.established("cp4"));
    assert_ne!(
        d2.neighbor("bird4").map(|n| n["state"].clone()),
        Some(Value::from("Established"))
    );
}

// ---------------------------------------------------------------------------

/// Our peer task alone (`session::peer` with its engine channel, no daemon,
/// as the `session_*` tests drive it) against each daemon on loopback: the
/// daemon listens passively on its own 127.0.0.x and a free port, our task
/// connects from 127.0.0.1, the session establishes with what the daemon
/// offers and its route arrives as `ToEngine::Update`.
mod peer_task {
    use crate::common::session_util::{self as util, TestPeer, TestResult};
    use crate::common::{free_port, frr_daemon, need, Bird, GoBgp, Proc};
    use coldpotato::messages::{Input, SessionInfo, ToEngine};
    use std::net::Ipv4Addr;
    use std::path::Path;
    use std::process::Command;
    use std::time::Duration;

    const OUR_AS: u32 = 65001;
    const BIRD_AS: u32 = 64513;
    const FRR_AS: u32 = 64514;
    const GOBGP_AS: u32 = 64512;

    /// Our peer task (AS 65001, id 10.0.0.1) connecting from 127.0.0.1 to
    /// neighbor `name` at `addr`:`port` (`extra`: more TOML lines), once
    /// the session is up; on a timeout the error carries the daemon's `log`.
    async fn connect(
        name: &str,
        addr: &str,
        asn: u32,
        port: u16,
        extra: &str,
        log: &Path,
    ) -> Result<(TestPeer, SessionInfo), String> {
        let mut us = util::spawn_peer(
            util::neighbor(
                name,
                addr,
                asn,
                &format!("port = {port}\nlocal_address = \"127.0.0.1\"{extra}"),
            ),
            OUR_AS,
            Ipv4Addr::new(10, 0, 0, 1),
            None,
        );
        let info = util::established(&mut us.engine, Duration::from_secs(20), name, log).await?;
        Ok((us, info))
    }

    fn bird_config(port: u16) -> String {
        format!(
            r#"log stderr all;
router id 10.0.0.7;
protocol device {{}}
protocol static s4 {{ ipv4; route 198.18.9.0/24 blackhole; }}
protocol bgp cp {{
  local 127.0.0.7 port {port} as {BIRD_AS};
  neighbor 127.0.0.1 as {OUR_AS};
  strict bind on;
  passive on;
  multihop;
  hold time 9;
  ipv4 {{ import all; export all; }};
  debug {{ states, events }};
}}
"#
        )
    }

    /// BIRD 2 (passive on 127.0.0.7) exports a static route; our
    /// administrative shutdown reaches BIRD as Cease with its text.
    #[tokio::test]
    async fn bird_session_delivers_its_static_route() -> TestResult {
        if !need(&["bird", "birdc"], false) {
            return Ok(());
        }
        let port = free_port();
        let bird = Bird::start(&bird_config(port));
        let (mut us, info) =
            connect("bird", "127.0.0.7", BIRD_AS, port, "", &bird.proc.log).await?;
        assert_eq!((info.remote_as, info.hold_time), (BIRD_AS, 9));
        assert_eq!(info.remote_id, Ipv4Addr::new(10, 0, 0, 7));
        assert!(info.codec.four_octet_as && info.route_refresh);

        let prefix: coldpotato::wire::Prefix = "198.18.9.0/24".parse()?;
        let got = util::update_announcing(&mut us.engine, Duration::from_secs(10), prefix)
            .await
            .ok_or("bird's static route never arrived")?;
        assert_eq!(got.attrs.as_path.and_then(|p| p.first_as()), Some(BIRD_AS));
        assert_eq!(got.attrs.next_hop, Some("127.0.0.7".parse()?));

        us.stop().await;
        // BIRD saw our Cease / Administrative Shutdown and its RFC 9003 text.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let text = bird.cmd("show protocols all cp");
            if text.contains("Administrative shutdown") && text.contains("test over") {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("bird did not report our Cease:\n{text}").into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    fn frr_config() -> String {
        format!(
            "frr defaults traditional
hostname coldpotato-test
router bgp {FRR_AS}
 bgp router-id 10.0.0.8
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 127.0.0.1 remote-as {OUR_AS}
 neighbor 127.0.0.1 passive
 neighbor 127.0.0.1 timers 3 9
 address-family ipv4 unicast
  network 198.18.8.0/24
 exit-address-family
"
        )
    }

    /// FRR's bgpd (no zebra, passive on 127.0.0.8) announces a network;
    /// the session comes up with FRR's 9 s hold time.
    #[tokio::test]
    async fn frr_session_delivers_its_network() -> TestResult {
        if !need(&["bgpd"], false) {
            return Ok(());
        }
        let dir = tempfile::tempdir()?;
        let port = free_port();
        let cfg = dir.path().join("bgpd.conf");
        std::fs::write(&cfg, frr_config())?;
        let mut cmd = Command::new(frr_daemon("bgpd"));
        cmd.arg("-f")
            .arg(&cfg)
            .args(["-Z", "-S", "-n", "-P", "0", "-l", "127.0.0.8"])
            .arg("-p")
            .arg(port.to_string())
            .arg("-i")
            .arg(dir.path().join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(dir.path());
        let bgpd = Proc::spawn("bgpd", cmd, dir.path().join("bgpd.log"));

        let (mut us, info) = connect("frr", "127.0.0.8", FRR_AS, port, "", &bgpd.log).await?;
        assert_eq!((info.remote_as, info.hold_time), (FRR_AS, 9));
        assert_eq!(info.remote_id, Ipv4Addr::new(10, 0, 0, 8));
        assert!(info.codec.four_octet_as && info.enhanced_route_refresh);

        let prefix: coldpotato::wire::Prefix = "198.18.8.0/24".parse()?;
        let got = util::update_announcing(&mut us.engine, Duration::from_secs(10), prefix)
            .await
            .ok_or("FRR's network never arrived")?;
        assert_eq!(got.attrs.as_path.and_then(|p| p.first_as()), Some(FRR_AS));

        us.stop().await;
        Ok(())
    }

    fn gobgp_config(port: u16) -> String {
        format!(
            r#"[global.config]
  as = {GOBGP_AS}
  router-id = "10.0.0.3"
  port = {port}
  local-address-list = ["127.0.0.3"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = {OUR_AS}
  [neighbors.transport.config]
    passive-mode = true
    local-address = "127.0.0.3"
  [neighbors.timers.config]
    hold-time = 3
    keepalive-interval = 1
"#
        )
    }

    async fn inject_route(gob: &GoBgp) -> TestResult {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let out = gob
                .command()
                .args(["-u", "127.0.0.1"])
                .args(["global", "rib", "add", "-a", "ipv4", "198.18.7.0/24"])
                .output()?;
            if out.status.success() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(
                    format!("gobgp failed: {}", String::from_utf8_lossy(&out.stderr)).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// GoBGP (passive on 127.0.0.3): a route injected with `gobgp global
    /// rib add` arrives, and once gobgpd is frozen with SIGSTOP we send
    /// Hold Timer Expired within the 3 s hold time.
    #[tokio::test]
    async fn gobgp_session_delivers_updates_and_hold_timer_expires_when_it_freezes() -> TestResult {
        if !need(&["gobgpd", "gobgp"], false) {
            return Ok(());
        }
        let port = free_port();
        let gob = GoBgp::start(&gobgp_config(port));
        let (mut us, info) = connect(
            "gobgp",
            "127.0.0.3",
            GOBGP_AS,
            port,
            "\nhold_time_s = 3",
            &gob.proc.log,
        )
        .await?;
        assert_eq!((info.remote_as, info.hold_time), (GOBGP_AS, 3));
        assert_eq!(info.remote_id, Ipv4Addr::new(10, 0, 0, 3));
        assert!(info.codec.four_octet_as);

        inject_route(&gob).await?;
        let prefix: coldpotato::wire::Prefix = "198.18.7.0/24".parse()?;
        let got = util::update_announcing(&mut us.engine, Duration::from_secs(10), prefix)
            .await
            .ok_or("the injected route never arrived")?;
        assert_eq!(got.attrs.as_path.and_then(|p| p.first_as()), Some(GOBGP_AS));

        // Freeze gobgpd: no more KEEPALIVEs, so our 3 s hold timer must fire.
        let t0 = tokio::time::Instant::now();
        gob.proc.signal(libc::SIGSTOP);
        let reason = util::wait_for(&mut us.engine, Duration::from_secs(6), |m| match m {
            ToEngine::Input(Input::SessionDown { reason, .. }) => Some(reason),
            _ => None,
        })
        .await
        .ok_or("session stayed up with a frozen peer")?;
        let took = t0.elapsed();
        assert_eq!(reason, "sent NOTIFICATION Hold Timer Expired");
        assert!(
            took <= Duration::from_millis(3500),
            "hold timer fired after {took:?}"
        );
        gob.proc.signal(libc::SIGCONT);

        us.stop().await;
        drop(gob);
        Ok(())
    }
}
