//! Whole-daemon memory bench: bytes per path and full-table load time of our
//! release daemon against BIRD 2 as the baseline in the same run.
//!
//! Each speaker (ours, then BIRD, for [`ROUNDS`] rounds; never both at once) gets two
//! `transit` neighbors on loopback (127.0.0.2, 127.0.0.3, passive) and two
//! `coldpotato loadgen` processes announcing 1,000,000 IPv4 prefixes each
//! (100,000 attribute sets, different seeds and ASNs). Measured from
//! /proc/PID/status: VmRSS before the load, VmHWM (peak) and VmRSS once both
//! tables are in (ours: `/api/v1/neighbors` prefixes_received and
//! prefixes_accepted, i.e. the paths are in the RIB; BIRD: `birdc show route
//! count`; both polled every [`POLL`]) plus a short settle ([`SETTLE`]).
//! Load time runs from starting the loadgens (which first build their
//! table, the same for both speakers) to the last path counted.
//! bytes/path = (RSS after − RSS before) / 2,000,000.
//!
//! BIRD's protocols use `multihop`: BIRD refuses a loopback host address as
//! a directly connected neighbor ("Invalid remote address"). Its next hops
//! then stay unresolved, so routes show as `unreachable`, but each is stored
//! with all its attributes in `master4` (the only table).
//!
//! A bench, not a test: it prints numbers and never asserts on them.
//! Run: `cargo bench --bench daemon_memory` (root not needed);
//! `DAEMON_MEMORY_ONLY=coldpotato` (or `bird`) measures one side only;
//! `DAEMON_MEMORY_ROUNDS=N` sets the rounds (default [`ROUNDS`], medians printed);
//! `DAEMON_MEMORY_TABLES=shared` has both providers announce the same
//! prefixes (default: different prefixes).

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Prefixes per loadgen (the brief: 1M each).
const PREFIXES: usize = 1_000_000;
/// Total paths held by the speaker once both tables are in.
const PATHS: usize = 2 * PREFIXES;
/// Our ASN on both speakers.
const OUR_AS: u32 = OUR_ASN;
/// The two simulated providers: (source address, ASN, table seed).
const PROVIDERS: [(&str, u32, u64); 2] = [("127.0.0.2", 64500, 1), ("127.0.0.3", 64501, 2)];
/// How often load progress is polled (the same for both speakers).
const POLL: Duration = Duration::from_millis(500);
/// Settle time between "all routes in" and the RSS-after sample.
const SETTLE: Duration = Duration::from_secs(3);
/// Rounds (ours then BIRD, alternating); medians are reported.
/// `DAEMON_MEMORY_ROUNDS=N` overrides.
const ROUNDS: usize = 3;
/// Give up on a load after this long.
const LOAD_TIMEOUT: Duration = Duration::from_secs(900);

/// What one speaker run measured.
#[derive(Debug, Clone, Copy)]
struct Measure {
    rss_before_kb: u64,
    peak_kb: u64,
    rss_after_kb: u64,
    /// From starting the loadgens to the last route being counted.
    load_s: f64,
    /// The loadgens' own "sent ... in S s" figures.
    sent_s: [f64; 2],
    /// CPU seconds (user + system) the speaker used for the load.
    cpu_s: f64,
}

impl Measure {
    fn bytes_per_path(&self) -> f64 {
        (self.rss_after_kb.saturating_sub(self.rss_before_kb)) as f64 * 1024.0 / PATHS as f64
    }

    fn print(&self, who: &str) {
        println!(
            "{who:<11} RSS before {:>8.1} MB | peak (VmHWM) {:>8.1} MB | after {:>8.1} MB | \
             {:>6.1} bytes/path | load {:>6.2} s, {:.2} s CPU (loadgens: sent in {:.2} s, {:.2} s)",
            mb(self.rss_before_kb),
            mb(self.peak_kb),
            mb(self.rss_after_kb),
            self.bytes_per_path(),
            self.load_s,
            self.cpu_s,
            self.sent_s[0],
            self.sent_s[1],
        );
    }
}

fn our_config(bgp: u16, api: u16) -> String {
    let mut cfg = format!(
        r#"
[router]
asn = {OUR_AS}
router_id = "127.0.0.1"
listen = ["127.0.0.1:{bgp}"]
location = "lab"
hold_time_s = 90

[api]
listen = "127.0.0.1:{api}"

[[locations]]
name = "lab"

[rules]
reject_reserved_asn = false
"#
    );
    for (i, (addr, asn, _)) in PROVIDERS.iter().enumerate() {
        cfg.push_str(&format!(
            r#"
[[neighbors]]
name = "transit-{i}"
address = "{addr}"
remote_as = {asn}
location = "lab"
role = "transit"
families = ["ipv4"]
passive = true
"#
        ));
    }
    cfg
}

fn bird_config(bgp: u16) -> String {
    let mut cfg = String::from(
        "router id 127.0.0.1;\nlog stderr { warning, error, fatal };\nprotocol device { }\n",
    );
    for (i, (addr, asn, _)) in PROVIDERS.iter().enumerate() {
        cfg.push_str(&format!(
            "protocol bgp transit{i} {{\n  local 127.0.0.1 port {bgp} as {OUR_AS};\n  \
             neighbor {addr} as {asn};\n  passive on;\n  multihop;\n  hold time 90;\n  \
             ipv4 {{ import all; export none; }};\n}}\n"
        ));
    }
    cfg
}

/// `DAEMON_MEMORY_TABLES=shared`: both providers announce the same 1M
/// prefixes (two full tables of one internet: 1M prefixes with 2 paths
/// each). Default `distinct`: different prefixes (2M prefixes, 1 path
/// each, the harder case for per-prefix overhead).
fn shared_tables() -> bool {
    std::env::var("DAEMON_MEMORY_TABLES").is_ok_and(|v| v == "shared")
}

/// Starts both loadgens against `target`, logs in `dir`.
fn start_loadgens(dir: &std::path::Path, target: SocketAddr) -> Result<Vec<Proc>> {
    PROVIDERS
        .iter()
        .enumerate()
        .map(|(i, (local, asn, seed))| {
            Loadgen {
                name: &format!("loadgen{i}"),
                target,
                local,
                asn: *asn,
                prefixes: PREFIXES,
                // Shared tables: both providers announce the same prefixes
                // (with their own attribute sets), as two transits would.
                seed: if shared_tables() {
                    PROVIDERS[0].2
                } else {
                    *seed
                },
                hold_for_s: LOAD_TIMEOUT.as_secs(),
            }
            .spawn(dir)
        })
        .collect()
}

/// Polls `loaded` every [`POLL`] until true; fails when a loadgen or the
/// speaker dies, or after [`LOAD_TIMEOUT`].
fn wait_loaded(
    speaker: &mut Proc,
    gens: &mut [Proc],
    mut loaded: impl FnMut() -> bool,
) -> Result<()> {
    let end = Instant::now() + LOAD_TIMEOUT;
    while Instant::now() < end {
        if loaded() {
            return Ok(());
        }
        if speaker.exited() {
            return Err(BenchError::Timeout(format!(
                "{} exited during the load:\n{}",
                speaker.name,
                speaker.log_tail(20)
            )));
        }
        if let Some(g) = gens.iter_mut().find_map(|g| g.exited().then_some(&*g)) {
            return Err(BenchError::Timeout(format!(
                "{} exited during the load:\n{}",
                g.name,
                g.log_tail(20)
            )));
        }
        std::thread::sleep(POLL);
    }
    Err(BenchError::Timeout(format!("{} load", speaker.name)))
}

/// Samples before/after/peak around a load of `pid`; returns the loadgens
/// still connected, so the caller can look at the loaded speaker.
fn measure(
    pid: i32,
    speaker: &mut Proc,
    dir: &std::path::Path,
    target: SocketAddr,
    loaded: impl FnMut() -> bool,
) -> Result<(Measure, Vec<Proc>)> {
    std::thread::sleep(SETTLE);
    let rss_before_kb = status_kb(pid, "VmRSS").unwrap_or(0);
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let t0 = Instant::now();
    let mut gens = start_loadgens(dir, target)?;
    wait_loaded(speaker, &mut gens, loaded)?;
    let load_s = t0.elapsed().as_secs_f64();
    let cpu_s = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    std::thread::sleep(SETTLE);
    let m = Measure {
        rss_before_kb,
        peak_kb: status_kb(pid, "VmHWM").unwrap_or(0),
        rss_after_kb: status_kb(pid, "VmRSS").unwrap_or(0),
        load_s,
        sent_s: [
            loadgen_seconds(&gens[0]).unwrap_or(f64::NAN),
            loadgen_seconds(&gens[1]).unwrap_or(f64::NAN),
        ],
        cpu_s,
    };
    Ok((m, gens))
}

fn run_ours() -> Result<Measure> {
    let (bgp, api) = (free_port()?, free_port()?);
    let api_addr = SocketAddr::from(([127, 0, 0, 1], api));
    let mut d = Daemon::start(&our_config(bgp, api), api_addr)?;
    let dir = d.dir.path().to_path_buf();
    let pid = d.proc.pid();
    let target = SocketAddr::from(([127, 0, 0, 1], bgp));
    let (m, _gens) = measure(pid, &mut d.proc, &dir, target, || {
        let n = api_neighbors(api_addr);
        n.len() == PROVIDERS.len()
            && n.iter().all(|x| {
                x["prefixes_received"].as_u64() >= Some(PREFIXES as u64)
                    && x["prefixes_accepted"].as_u64() >= Some(PREFIXES as u64)
            })
    })?;
    for n in d.neighbors() {
        println!(
            "coldpotato: {} {} received {} accepted {} rejected {}",
            n["name"],
            n["state"],
            n["prefixes_received"],
            n["prefixes_accepted"],
            n["prefixes_rejected"]
        );
    }
    Ok(m)
}

/// The first number of `birdc show route count` ("N of M routes for K networks …").
fn bird_route_count(sock: &std::path::Path) -> Option<u64> {
    let out = birdc(None, sock, "show route count");
    let line = out.lines().find(|l| l.contains("routes for"))?;
    line.split_whitespace().next()?.parse().ok()
}

fn run_bird() -> Result<Measure> {
    let bgp = free_port()?;
    let mut bird = Bird::start_in(None, &bird_config(bgp))?;
    let dir = bird.dir.path().to_path_buf();
    let pid = bird.pid();
    let target = SocketAddr::from(([127, 0, 0, 1], bgp));
    let sock = bird.sock.clone();
    let (m, _gens) = measure(pid, &mut bird.proc, &dir, target, || {
        bird_route_count(&sock) >= Some(PATHS as u64)
    })?;
    println!(
        "bird: {}",
        bird.cmd("show route count")
            .lines()
            .find(|l| l.contains("routes for"))
            .unwrap_or("?")
    );
    Ok(m)
}

fn main() {
    if !have("bird") || !have("birdc") {
        println!("SKIP daemon_memory: bird/birdc not installed");
        return;
    }
    println!(
        "daemon_memory: 2 loadgens x {PREFIXES} IPv4 prefixes ({LOADGEN_SETS} attribute sets each, \
         {} prefixes) into each speaker, one speaker at a time; load average {}",
        if shared_tables() { "the same" } else { "different" },
        loadavg()
    );
    // DAEMON_MEMORY_ONLY=coldpotato|bird runs one side (for debugging the bench).
    let only = std::env::var("DAEMON_MEMORY_ONLY").unwrap_or_default();
    let rounds = std::env::var("DAEMON_MEMORY_ROUNDS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(ROUNDS)
        .max(1);
    let run = |who: &str, f: fn() -> Result<Measure>| -> Option<Measure> {
        if !only.is_empty() && only != who {
            return None;
        }
        match f() {
            Ok(m) => {
                m.print(who);
                Some(m)
            }
            Err(e) => {
                eprintln!("daemon_memory: {who}: {e}");
                std::process::exit(1);
            }
        }
    };
    // Alternate the speakers so slow phases of the shared machine hit both.
    let (mut ours, mut bird) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.extend(run("coldpotato", run_ours));
        bird.extend(run("bird", run_bird));
    }
    if ours.is_empty() || bird.is_empty() {
        return;
    }
    println!("load average at the end: {}", loadavg());
    let med = |v: &[Measure], f: fn(&Measure) -> f64| median(v.iter().map(f).collect());
    let (ob, bb) = (
        med(&ours, Measure::bytes_per_path),
        med(&bird, Measure::bytes_per_path),
    );
    let (ol, bl) = (med(&ours, |m| m.load_s), med(&bird, |m| m.load_s));
    let (oc, bc) = (med(&ours, |m| m.cpu_s), med(&bird, |m| m.cpu_s));
    let (op, bp) = (
        med(&ours, |m| m.peak_kb as f64),
        med(&bird, |m| m.peak_kb as f64),
    );
    println!(
        "RESULT (median of {rounds}) ours/BIRD: bytes/path {:.2} ({ob:.1} vs {bb:.1}; goal for us \
         <= 75), load time {:.2} ({ol:.2} s vs {bl:.2} s), load CPU {:.2} ({oc:.2} s vs \
         {bc:.2} s), peak RSS {:.2} ({:.1} MB vs {:.1} MB)",
        ob / bb,
        ol / bl,
        oc / bc,
        op / bp.max(1.0),
        op / 1024.0,
        bp / 1024.0,
    );
}

/// The median (upper middle for an even count); NaN when empty.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
