//! Whole-daemon bench: do 20 BFD sessions at 100 ms × 3 stay Up while our
//! release daemon loads a 1,000,000-prefix table?
//!
//! Setup (root): a network namespace joined to the root namespace by one
//! veth; our side has 20 addresses 198.18.240.1–20/24, the namespace side
//! 198.18.240.101–120/24. One BIRD 2 in the namespace runs 20 passive BGP
//! protocols (one per address pair) with `bfd on` and `protocol bfd` at
//! 100 ms × 3; our daemon (root namespace) has the 20 matching neighbors with
//! BFD plus a passive `transit` neighbor 127.0.0.2 for `coldpotato loadgen`.
//! Once all 20 are Established with BFD Up:
//! 1. baseline: 20 s idle;
//! 2. load: loadgen sends 1,000,000 prefixes on loopback; watched 60 s (longer
//!    if the load has not finished).
//!
//! Per phase it prints our `bfd-down` events (`/api/v1/events?since=SEQ`),
//! Up→not-Up transitions of `bfd_state` seen by polling `/api/v1/neighbors`
//! every 250 ms, Up→not-Up transitions in BIRD's `show bfd sessions` (polled
//! every second), the daemon's CPU seconds, and for the load its duration
//! (loadgen start until the neighbor has 1M prefixes received and accepted).
//! The namespace, the veth and every process are removed by Drop guards.
//! A bench, not a test: it prints numbers and never asserts on them.
//! Run: `cargo bench --bench bfd_under_load` (as root).

mod common;

use common::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

/// BFD sessions (= BGP sessions to BIRD).
const SESSIONS: u8 = 20;
/// The link subnet (RFC 2544 benchmarking space, away from the tests' 198.18.0–199).
const SUBNET: &str = "198.18.240";
/// Our ASN and the peers' (peer i has PEER_AS_BASE + i = 65536–65555: RFC 5398
/// documentation and reserved ASNs, allowed by `reject_reserved_asn = false`).
const OUR_AS: u32 = OUR_ASN;
const PEER_AS_BASE: u32 = 65_535;
/// The loadgen provider.
const LOADGEN_AS: u32 = 64_500;
const LOADGEN_ADDR: &str = "127.0.0.2";
/// Prefixes in the loadgen table.
const PREFIXES: u64 = 1_000_000;
/// BFD timers of every session: RFC 5880 §6.8.1 intervals in ms and Detect Mult.
const BFD_INTERVAL_MS: u32 = 100;
const BFD_MULT: u8 = 3;
/// Phase lengths.
const IDLE: Duration = Duration::from_secs(20);
const WATCH: Duration = Duration::from_secs(60);
/// Pause between "all up" and the idle phase.
const SETTLE_UP: Duration = Duration::from_secs(2);
/// Hard cap of the load phase when the load is slower than [`WATCH`].
const WATCH_MAX: Duration = Duration::from_secs(300);
/// Polling periods: our API, BIRD.
const POLL_OURS: Duration = Duration::from_millis(250);
const POLL_BIRD: Duration = Duration::from_secs(1);

/// The namespace with its veth; the veth goes first, then the namespace.
struct Link {
    veth: String,
    ns: Netns,
}

impl Link {
    fn new() -> Result<Link> {
        let id = std::process::id() % 100_000;
        let ns = Netns::new(&format!("cpbench{id}"))?;
        let veth = format!("cpbv{id}");
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{veth}a")])
            .output();
        let link = Link { veth, ns };
        let (v, n) = (&link.veth, &link.ns.name);
        sh(&format!("ip link add {v}a type veth peer name {v}b"))?;
        sh(&format!("ip link set {v}b netns {n}"))?;
        for i in 1..=SESSIONS {
            sh(&format!("ip addr add {SUBNET}.{i}/24 dev {v}a"))?;
            sh(&format!(
                "ip -n {n} addr add {SUBNET}.{}/24 dev {v}b",
                100 + i
            ))?;
        }
        sh(&format!("ip link set {v}a up"))?;
        sh(&format!("ip -n {n} link set {v}b up"))?;
        Ok(link)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{}a", self.veth)])
            .output();
    }
}

fn our_config(bgp: u16, api: u16) -> String {
    let mut cfg = format!(
        r#"
[router]
asn = {OUR_AS}
router_id = "{SUBNET}.1"
listen = ["127.0.0.1:{bgp}"]
location = "lab"
hold_time_s = 90

[api]
listen = "127.0.0.1:{api}"

[[locations]]
name = "lab"

[rules]
reject_reserved_asn = false
reject_private_asn = false

[[neighbors]]
name = "loadgen"
address = "{LOADGEN_ADDR}"
remote_as = {LOADGEN_AS}
location = "lab"
role = "transit"
families = ["ipv4"]
passive = true
"#
    );
    for i in 1..=SESSIONS {
        cfg.push_str(&format!(
            r#"
[[neighbors]]
name = "bfd-{i}"
address = "{SUBNET}.{peer}"
local_address = "{SUBNET}.{i}"
remote_as = {asn}
location = "lab"
role = "transit"
families = ["ipv4"]
bfd = {{ min_tx_ms = {BFD_INTERVAL_MS}, min_rx_ms = {BFD_INTERVAL_MS}, multiplier = {BFD_MULT} }}
"#,
            peer = 100 + i,
            asn = PEER_AS_BASE + u32::from(i),
        ));
    }
    cfg
}

fn bird_config() -> String {
    let mut cfg = format!(
        "router id {SUBNET}.101;\nlog stderr {{ warning, error, fatal }};\nprotocol device {{ }}\n\
         protocol bfd {{ interface \"*\" {{ min rx interval {BFD_INTERVAL_MS} ms; \
         min tx interval {BFD_INTERVAL_MS} ms; multiplier {BFD_MULT}; }}; }}\n"
    );
    for i in 1..=SESSIONS {
        cfg.push_str(&format!(
            "protocol bgp p{i} {{\n  local {SUBNET}.{peer} as {asn};\n  \
             neighbor {SUBNET}.{i} as {OUR_AS};\n  passive on;\n  hold time 90;\n  \
             bfd on;\n  ipv4 {{ import all; export none; }};\n}}\n",
            peer = 100 + i,
            asn = PEER_AS_BASE + u32::from(i),
        ));
    }
    cfg
}

/// Our BFD neighbors as name → (BGP state, BFD state).
fn our_states(neighbors: &[serde_json::Value]) -> HashMap<String, (String, String)> {
    neighbors
        .iter()
        .filter_map(|n| {
            let name = n["name"].as_str()?;
            name.starts_with("bfd-").then(|| {
                (
                    name.to_string(),
                    (
                        n["state"].as_str().unwrap_or("?").to_string(),
                        n["bfd_state"].as_str().unwrap_or("?").to_string(),
                    ),
                )
            })
        })
        .collect()
}

/// BIRD's `show bfd sessions` as peer address → state.
fn bird_bfd_states(bird: &Bird) -> HashMap<String, String> {
    bird.cmd("show bfd sessions")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let addr = *f.first()?;
            let state = *f.get(2)?;
            addr.starts_with(SUBNET)
                .then(|| (addr.to_string(), state.to_string()))
        })
        .collect()
}

/// The "Since" column of BIRD's `show bfd sessions` (peer address → since)
/// and of its BGP protocols in `show protocols` (name → since): a changed
/// value means the session changed state, even between two polls.
fn bird_since(bird: &Bird) -> (HashMap<String, String>, HashMap<String, String>) {
    let pick = |args: &str, keep: &dyn Fn(&[&str]) -> bool, col: usize| {
        bird.cmd(args)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (keep(&f) && f.len() > col).then(|| (f[0].to_string(), f[col].to_string()))
            })
            .collect::<HashMap<_, _>>()
    };
    (
        pick("show bfd sessions", &|f| f[0].starts_with(SUBNET), 3),
        pick("show protocols", &|f| f.get(1) == Some(&"BGP"), 4),
    )
}

/// How many keys of `before` have a different value (or vanished) in `after`.
fn changed(before: &HashMap<String, String>, after: &HashMap<String, String>) -> usize {
    let mut n = 0;
    for (k, v) in before {
        if after.get(k) != Some(v) {
            println!("  BIRD: {k} since {v} -> {:?}", after.get(k));
            n += 1;
        }
    }
    n
}

/// The highest event sequence number so far (0 when none).
fn last_seq(d: &Daemon) -> u64 {
    d.get("/api/v1/events")
        .and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|e| e["seq"].as_u64())
                    .max()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

/// `bfd-down` events after `since`.
fn bfd_down_events(d: &Daemon, since: u64) -> Option<usize> {
    let v = d.get(&format!("/api/v1/events?since={since}"))?;
    Some(
        v.as_array()?
            .iter()
            .filter(|e| e["kind"] == "bfd-down")
            .count(),
    )
}

/// Counts Up → not-Up transitions per key between successive samples.
#[derive(Default)]
struct Transitions {
    last: HashMap<String, String>,
    downs: usize,
    samples: usize,
    failed_polls: usize,
}

impl Transitions {
    fn feed(&mut self, now: HashMap<String, String>, expected: usize) {
        if now.len() < expected {
            self.failed_polls += 1;
            return;
        }
        self.samples += 1;
        for (k, s) in now {
            if let Some(prev) = self.last.get(&k) {
                if prev == "Up" && s != "Up" {
                    self.downs += 1;
                }
            }
            self.last.insert(k, s);
        }
    }
}

/// What one phase observed.
struct Phase {
    secs: f64,
    events: Option<usize>,
    ours: Transitions,
    peer: Transitions,
    bgp_not_established: usize,
    /// BIRD sessions whose "Since" changed during the phase: (BFD, BGP).
    peer_changed: (usize, usize),
    cpu_s: f64,
    load_s: Option<f64>,
    /// Daemon CPU seconds from the phase start until the load was in.
    load_cpu_s: Option<f64>,
}

impl Phase {
    fn print(&self, name: &str) {
        println!(
            "{name:<9} {:>5.1} s | bfd-down events {} | our bfd_state Up->down {} ({} polls, {} \
             failed) | BIRD bfd Up->down {} ({} polls), state changes bfd {} bgp {} | BGP not \
             Established at end {} | daemon CPU {:.2} s{}",
            self.secs,
            self.events
                .map_or_else(|| "? (API did not answer)".to_string(), |n| n.to_string()),
            self.ours.downs,
            self.ours.samples,
            self.ours.failed_polls,
            self.peer.downs,
            self.peer.samples,
            self.peer_changed.0,
            self.peer_changed.1,
            self.bgp_not_established,
            self.cpu_s,
            match (self.load_s, self.load_cpu_s) {
                (Some(s), Some(c)) => format!(" | load {s:.2} s using {c:.2} s CPU"),
                _ => String::new(),
            },
        );
    }
}

/// Watches for `min` (up to `max` while the loadgen's table is not in),
/// sampling both sides.
fn watch(
    d: &Daemon,
    bird: &Bird,
    min: Duration,
    max: Duration,
    mut loadgen: Option<&mut Proc>,
) -> Phase {
    let since = last_seq(d);
    let (bfd0, bgp0) = bird_since(bird);
    let pid = d.proc.pid();
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let t0 = Instant::now();
    let mut ours = Transitions::default();
    let mut peer = Transitions::default();
    let mut last_bird = Instant::now() - POLL_BIRD;
    let mut load_s = None;
    let mut load_cpu_s = None;
    let mut bgp_down;
    loop {
        let all = api_neighbors(d.api);
        let states = our_states(&all);
        bgp_down = states
            .values()
            .filter(|(bgp, _)| bgp != "Established")
            .count();
        ours.feed(
            states.into_iter().map(|(k, (_, bfd))| (k, bfd)).collect(),
            usize::from(SESSIONS),
        );
        if last_bird.elapsed() >= POLL_BIRD {
            last_bird = Instant::now();
            peer.feed(bird_bfd_states(bird), usize::from(SESSIONS));
        }
        if let Some(lg) = loadgen.as_deref_mut() {
            if load_s.is_none() {
                let got = all.iter().find(|n| n["name"] == "loadgen").and_then(|n| {
                    Some(
                        n["prefixes_received"]
                            .as_u64()?
                            .min(n["prefixes_accepted"].as_u64()?),
                    )
                });
                if got >= Some(PREFIXES) {
                    load_s = Some(t0.elapsed().as_secs_f64());
                    load_cpu_s = cpu_seconds(pid).map(|c| c - cpu0);
                } else if lg.exited() {
                    eprintln!("loadgen exited early:\n{}", lg.log_tail(10));
                    loadgen = None;
                }
            }
        }
        let waiting_load = loadgen.is_some() && load_s.is_none();
        let el = t0.elapsed();
        if el >= max || (el >= min && !waiting_load) {
            break;
        }
        std::thread::sleep(POLL_OURS);
    }
    let (bfd1, bgp1) = bird_since(bird);
    Phase {
        secs: t0.elapsed().as_secs_f64(),
        events: bfd_down_events(d, since),
        ours,
        peer,
        bgp_not_established: bgp_down,
        peer_changed: (changed(&bfd0, &bfd1), changed(&bgp0, &bgp1)),
        cpu_s: cpu_seconds(pid).unwrap_or(0.0) - cpu0,
        load_s,
        load_cpu_s,
    }
}

fn run() -> Result<()> {
    for b in ["bird", "birdc", "ip"] {
        if !have(b) {
            return Err(BenchError::Missing(b.to_string()));
        }
    }
    if !is_root() {
        return Err(BenchError::Missing("root (network namespaces)".into()));
    }
    let link = Link::new()?;
    let bird = Bird::start_in(Some(&link.ns.name), &bird_config())?;
    let (bgp, api) = (free_port()?, free_port()?);
    let api_addr = SocketAddr::from(([127, 0, 0, 1], api));
    let d = Daemon::start(&our_config(bgp, api), api_addr)?;
    let t_up = Instant::now();
    let all_up = || {
        let s = our_states(&api_neighbors(api_addr));
        let ours = s.len() == usize::from(SESSIONS)
            && s.values().all(|(b, f)| b == "Established" && f == "Up");
        let peer = bird_bfd_states(&bird)
            .values()
            .filter(|s| *s == "Up")
            .count();
        (ours, peer)
    };
    let up = wait_for(Duration::from_secs(90), Duration::from_millis(250), || {
        let (ours, peer) = all_up();
        (ours && peer == usize::from(SESSIONS)).then_some(())
    });
    if up.is_none() {
        let s = our_states(&api_neighbors(api_addr));
        return Err(BenchError::Timeout(format!(
            "sessions not up: ours {s:?}, BIRD bfd Up {}\n{}",
            all_up().1,
            d.proc.log_tail(20)
        )));
    }
    println!(
        "bfd_under_load: {SESSIONS} BGP sessions Established + BFD Up ({BFD_INTERVAL_MS} ms x \
         {BFD_MULT}) on both sides in {:.1} s; load average {}",
        t_up.elapsed().as_secs_f64(),
        loadavg()
    );
    // Evidence of the negotiated timers: BIRD's first session line.
    if let Some(line) = bird
        .cmd("show bfd sessions")
        .lines()
        .find(|l| l.starts_with(SUBNET))
    {
        println!(
            "  BIRD: {}",
            line.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    std::thread::sleep(SETTLE_UP);
    let idle = watch(&d, &bird, IDLE, IDLE, None);
    idle.print("idle");
    let mut lg = Loadgen {
        name: "loadgen",
        target: SocketAddr::from(([127, 0, 0, 1], bgp)),
        local: LOADGEN_ADDR,
        asn: LOADGEN_AS,
        prefixes: PREFIXES as usize,
        seed: 1,
        hold_for_s: WATCH_MAX.as_secs(),
    }
    .spawn(d.dir.path())?;
    let load = watch(&d, &bird, WATCH, WATCH_MAX, Some(&mut lg));
    load.print("1M load");
    let false_downs = |p: &Phase| p.events.unwrap_or(0).max(p.ours.downs);
    let peer_downs = |p: &Phase| p.peer.downs.max(p.peer_changed.0);
    println!(
        "RESULT false BFD Down under load: ours {} (goal 0; idle baseline {}), BIRD's view {} \
         (idle {}) | load {} | daemon CPU {:.2} s in {:.0} s under load vs {:.2} s in {:.0} s \
         idle ({:.1}x per second)",
        false_downs(&load),
        false_downs(&idle),
        peer_downs(&load),
        peer_downs(&idle),
        load.load_s
            .map_or_else(|| "not finished".to_string(), |s| format!("{s:.2} s")),
        load.cpu_s,
        load.secs,
        idle.cpu_s,
        idle.secs,
        (load.cpu_s / load.secs) / (idle.cpu_s / idle.secs).max(1e-9),
    );
    if let Some(s) = loadgen_seconds(&lg) {
        println!("loadgen: sent in {s:.2} s");
    }
    println!("load average at the end: {}", loadavg());
    drop(lg);
    drop(d);
    drop(bird);
    drop(link);
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        match e {
            BenchError::Missing(what) => println!("SKIP bfd_under_load: needs {what}"),
            e => {
                eprintln!("bfd_under_load: {e}");
                std::process::exit(1);
            }
        }
    }
}
