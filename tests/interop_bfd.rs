//! BFD tied to BGP, against real BFD implementations from Debian (BIRD's
//! `bfd` protocol, FRR's `bfdd` with `bgpd`), over a veth link into a network
//! namespace the test creates and deletes. Checks: BFD Up at 100 ms × 3 and
//! BGP Established; dropping BFD packets (nftables in the namespace) takes
//! the BGP session down within detection time (the milliseconds are printed
//! as NOTE lines); removing the drop brings BFD then BGP back by themselves;
//! while BFD stays down the session stays down; a peer whose BFD never comes
//! up never gets its routes used.

mod common;

use common::*;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const OUR_AS: u32 = 8075;
const PEER_AS: u32 = 12_345;
static SEQ: AtomicU32 = AtomicU32::new(0);

/// A namespace with a veth link to the root namespace: us at .1, the peer at .2.
struct Link {
    ns: Netns,
    ours: String,
    peer: String,
    veth: String,
}

impl Link {
    fn new() -> Link {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let id = std::process::id() % 10_000;
        let name = format!("cpbfd{id}n{n}");
        let veth = format!("cpv{id}n{n}");
        let ns = Netns::new(&name);
        // A /24 per link (198.18.100+n.0/24): the BFD-only tests use 198.18.0.0/24.
        let subnet = 100 + (n % 100) as u8;
        let ours = format!("198.18.{subnet}.1");
        let peer = format!("198.18.{subnet}.2");
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &format!("{veth}a")])
            .output();
        sh(&format!("ip link add {veth}a type veth peer name {veth}b"));
        sh(&format!("ip link set {veth}b netns {name}"));
        sh(&format!("ip addr add {ours}/24 dev {veth}a"));
        sh(&format!("ip link set {veth}a up"));
        sh(&format!("ip -n {name} addr add {peer}/24 dev {veth}b"));
        sh(&format!("ip -n {name} link set {veth}b up"));
        Link {
            ns,
            ours,
            peer,
            veth,
        }
    }

    /// Drops BFD control packets both ways inside the namespace.
    fn drop_bfd(&self) {
        let ns = &self.ns.name;
        sh(&format!(
            "ip netns exec {ns} nft -f - <<'EOF'\n\
             table inet cpdrop {{\n\
               chain in {{ type filter hook input priority 0; udp dport 3784 drop; }}\n\
               chain out {{ type filter hook output priority 0; udp dport 3784 drop; }}\n\
             }}\nEOF"
        ));
    }

    fn undrop_bfd(&self) {
        sh(&format!(
            "ip netns exec {} nft delete table inet cpdrop",
            self.ns.name
        ));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &format!("{}a", self.veth)])
            .output();
    }
}

fn our_config(link: &Link, api: u16, bfd: bool) -> String {
    let bfd_line = if bfd {
        "bfd = { min_tx_ms = 100, min_rx_ms = 100, multiplier = 3 }"
    } else {
        ""
    };
    format!(
        r#"
[router]
asn = {OUR_AS}
router_id = "{ours}"
listen = ["{ours}:179"]
location = "ams"
hold_time_s = 30

[api]
listen = "127.0.0.1:{api}"

[[locations]]
name = "ams"

[rules]
require_community = "8075:8007"

[[registered_prefixes]]
prefix = "45.40.0.0/24"
peer_asn = {PEER_AS}
primary = "ams"
backup = "none"

[[neighbors]]
name = "peer"
address = "{peer}"
remote_as = {PEER_AS}
location = "ams"
role = "peering-service"
local_address = "{ours}"
families = ["ipv4"]
{bfd_line}
"#,
        ours = link.ours,
        peer = link.peer,
    )
}

fn bird_peer(link: &Link, bfd: bool) -> Bird {
    let bfd_proto = if bfd {
        "protocol bfd { interface \"*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }"
    } else {
        ""
    };
    let cfg = format!(
        r#"
router id {peer};
log stderr all;
protocol device {{ }}
protocol direct {{ ipv4; }}
{bfd_proto}
protocol static s4 {{ ipv4; route 45.40.0.0/24 unreachable; }}
filter cp_tag {{ bgp_community.add((8075,8007)); accept; }}
protocol bgp cp {{
  local {peer} as {PEER_AS};
  neighbor {ours} as {OUR_AS};
  hold time 30;
  connect retry time 1;
  error wait time 1, 2;
  bfd {onoff};
  ipv4 {{ import all; export filter cp_tag; }};
}}
"#,
        peer = link.peer,
        ours = link.ours,
        onoff = if bfd { "on" } else { "off" },
    );
    Bird::start_in(Some(&link.ns.name), &cfg)
}

/// FRR: zebra + bfdd + bgpd inside the namespace, sockets in a temp dir.
struct Frr {
    _procs: Vec<Proc>,
    _dir: tempfile::TempDir,
}

fn frr_peer(link: &Link) -> Frr {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let zsock = d.join("zserv.api");
    let conf = format!(
        r#"
frr defaults traditional
hostname peer
bfd
 peer {ours} local-address {peer}
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
router bgp {PEER_AS}
 bgp router-id {peer}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {ours} remote-as {OUR_AS}
 neighbor {ours} bfd
 neighbor {ours} timers connect 1
 address-family ipv4 unicast
  network 45.40.0.0/24 route-map tag
 exit-address-family
!
route-map tag permit 10
 set community 8075:8007
!
"#,
        ours = link.ours,
        peer = link.peer,
    );
    let cfg = d.join("frr.conf");
    std::fs::write(&cfg, conf).expect("write frr.conf");
    // FRR drops to the frr user (root is not in the frrvty group).
    sh(&format!("chown -R frr:frr {}", d.display()));
    let ns = link.ns.name.clone();
    let mut procs = Vec::new();
    for daemon in ["zebra", "bfdd", "bgpd"] {
        let mut c = netns_cmd(Some(&ns), &frr_daemon(daemon).to_string_lossy());
        c.arg("-f")
            .arg(&cfg)
            .arg("-i")
            .arg(d.join(format!("{daemon}.pid")))
            .arg("-z")
            .arg(&zsock)
            .arg("--vty_socket")
            .arg(d)
            .args(["-u", "frr", "-g", "frr", "-A", "127.0.0.1", "-P", "0"]);
        if daemon == "bfdd" {
            c.arg("--bfdctl").arg(d.join("bfdd.sock"));
        }
        procs.push(Proc::spawn(daemon, c, d.join(format!("{daemon}.log"))));
        std::thread::sleep(Duration::from_millis(300));
    }
    Frr {
        _procs: procs,
        _dir: dir,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn ready() -> bool {
    need(&["bird", "nft", "ip", "bfdd", "bgpd", "zebra"], true)
}

/// Brings the pair up, drops BFD, measures, restores, checks strictness.
fn failover_cycle(name: &str, link: &Link, d: &Daemon) {
    assert!(
        wait_for(Duration::from_secs(30), || {
            let n = d.neighbor("peer")?;
            (n["bfd_state"] == "Up" && n["state"] == "Established").then_some(())
        })
        .is_some(),
        "{name}: BFD/BGP not up: {:?}\n{}",
        d.neighbor("peer"),
        d.log()
    );
    let last_seq = d
        .get("/api/v1/events")
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0);
    let _ = last_seq;
    let t0 = now_ms();
    let started = Instant::now();
    link.drop_bfd();
    let down = wait_for(Duration::from_secs(5), || {
        let n = d.neighbor("peer")?;
        (n["state"] != "Established").then_some(n)
    });
    let polled = started.elapsed();
    let n = down.unwrap_or_else(|| panic!("{name}: BGP stayed up with BFD dropped\n{}", d.log()));
    // Whoever detects first tears the session down; when it is us, it is
    // with Cease / BFD Down (RFC 9384).
    let err = n["last_error"].as_str().unwrap_or_default().to_string();
    assert!(
        !err.starts_with("sent") || err.contains("BFD Down"),
        "{name}: {n}"
    );
    // The event log has the exact time we tore the session down.
    let events = d.get("/api/v1/events");
    let down_ms = events
        .as_array()
        .and_then(|a| {
            a.iter()
                .filter(|e| e["kind"] == "session-down" && e["time_ms"].as_u64() >= Some(t0))
                .filter_map(|e| e["time_ms"].as_u64())
                .min()
        })
        .unwrap_or(t0 + polled.as_millis() as u64);
    let ms = down_ms.saturating_sub(t0);
    let bfd_ms = events
        .as_array()
        .and_then(|a| {
            a.iter()
                .filter(|e| e["kind"] == "bfd-down" && e["time_ms"].as_u64() >= Some(t0))
                .filter_map(|e| e["time_ms"].as_u64())
                .min()
        })
        .map_or(ms, |t| t.saturating_sub(t0));
    let who = if n["last_error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("sent")
    {
        "our NOTIFICATION Cease/BFD Down"
    } else {
        "the peer's NOTIFICATION (it detected first)"
    };
    note(&format!(
        "{name}: BFD drop -> our BFD Down in {bfd_ms} ms; session down ({who}) in {ms} ms (detection time 300 ms)"
    ));
    assert!(bfd_ms <= 350 + 100, "{name}: BFD Down took {bfd_ms} ms");
    assert!(ms <= 350 + 100, "{name}: took {ms} ms");

    // While BFD stays down, BGP must not come back (strict mode).
    let hold = Instant::now();
    while hold.elapsed() < Duration::from_secs(6) {
        let n = d.neighbor("peer").expect("listed");
        assert_ne!(
            n["state"],
            "Established",
            "{name}: BGP came back while BFD is down: {n}\n{}",
            d.get("/api/v1/events")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    link.undrop_bfd();
    assert!(
        wait_for(Duration::from_secs(30), || {
            let n = d.neighbor("peer")?;
            (n["bfd_state"] == "Up" && n["state"] == "Established").then_some(())
        })
        .is_some(),
        "{name}: did not recover: {:?}\n{}",
        d.neighbor("peer"),
        d.log()
    );
}

#[test]
fn bird_bfd_at_100ms_times_3_comes_up_and_takes_bgp_down_when_dropped() {
    if !ready() {
        return;
    }
    let link = Link::new();
    let _bird = bird_peer(&link, true);
    let api = free_port();
    let d = Daemon::start(
        &our_config(&link, api, true),
        SocketAddr::from(([127, 0, 0, 1], api)),
    );
    failover_cycle("BIRD", &link, &d);
}

#[test]
fn frr_bfdd_at_100ms_times_3_comes_up_and_takes_bgp_down_when_dropped() {
    if !ready() {
        return;
    }
    let link = Link::new();
    let _frr = frr_peer(&link);
    let api = free_port();
    let d = Daemon::start(
        &our_config(&link, api, true),
        SocketAddr::from(([127, 0, 0, 1], api)),
    );
    failover_cycle("FRR", &link, &d);
}

#[test]
fn a_peer_whose_bfd_never_comes_up_never_gets_its_routes_used() {
    if !ready() {
        return;
    }
    let link = Link::new();
    let _bird = bird_peer(&link, false);
    let api = free_port();
    let d = Daemon::start(
        &our_config(&link, api, true),
        SocketAddr::from(([127, 0, 0, 1], api)),
    );
    // The session may establish, the route may arrive, but it is never used.
    std::thread::sleep(Duration::from_secs(8));
    let n = d.neighbor("peer").expect("listed");
    assert_ne!(n["bfd_state"], "Up");
    let routes = d.get("/api/v1/routes?status=all");
    for r in routes.as_array().expect("list") {
        assert_ne!(r["best"], true, "route used without BFD: {r}");
    }
    let dec = d.get("/api/v1/decisions");
    for x in dec.as_array().expect("list") {
        assert_ne!(
            x["state"], "primary",
            "decision used a BFD-less session: {x}"
        );
    }
}
