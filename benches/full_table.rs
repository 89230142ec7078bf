//! Whole-daemon full-table bench (issue 10): the job a peering edge does,
//! full tables in from providers and the best paths out to internal (iBGP)
//! neighbors, for coldpotato and BIRD 2 alternately on loopback, with the
//! project's own load generator as the feeder (`coldpotato loadgen`) and a
//! receive-only internal neighbor that counts what it holds and checks
//! LOCAL_PREF and the feeder's ASN at the head of the AS path
//! (`coldpotato sink`).
//!
//! Cases (`FULL_TABLE_CASES=1,2,3,5,real`; default `1,2,3,5`):
//! 1. 1M IPv4 prefixes in 200k attribute sets from one peering-service
//!    neighbor (policy on: ours the peering-service rules, BIRD an import
//!    filter on 8075:8007, the same 798,756 routes pass), one internal
//!    neighbor;
//! 2. the same with four internal neighbors (what each extra one adds);
//! 3. two peering-service neighbors announcing the same 1M prefixes (2M
//!    paths), one internal neighbor;
//! 5. case 1, then the feeder's session drops and returns: seconds from its
//!    return until the internal neighbor is complete again;
//!
//! `real`. one peer's table from a public MRT RIB dump (`FULL_TABLE_MRT=FILE`,
//!    `FULL_TABLE_MRT_PEER=ADDR`), over a transit session that accepts all.
//!
//! Case 4 of the issue (churn at 10,000 updates/s) needs a churning feeder
//! the load generator does not have yet: not measured.
//!
//! Figures per run: seconds from starting the feeders until every internal
//! neighbor holds every accepted route (the sink's own clock), the
//! speaker's CPU seconds over that time, and RSS growth per received path
//! (VmRSS after a 2 s settle minus before the load). Medians of
//! `FULL_TABLE_ROUNDS` (default 3) alternating runs, then one table with
//! the ratios coldpotato / BIRD.
//!
//! Run: `cargo bench --bench full_table` (no root needed; BIRD from Debian's
//! `bird2`). `FULL_TABLE_ONLY=coldpotato|bird` runs one side,
//! `FULL_TABLE_PREFIXES=N` a smaller table. A bench, not a test: it prints
//! numbers and never asserts on them.

mod common;

use coldpotato::lab::loadgen::{table_updates, LoadgenArgs};
use coldpotato::wire::{Community, Prefix};
use common::*;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The peering-service operator's ASN (the 8075:8007 rule is about it).
const OUR_AS: u32 = 8075;
/// Attribute sets in the synthetic table (the issue: ~200k).
const SETS: usize = 200_000;
/// Give up on one load after this long.
const LOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// RSS is sampled this long after the load is complete.
const SETTLE: Duration = Duration::from_secs(2);
/// A sink whose table has not changed for this long is settled.
const QUIET: Duration = Duration::from_millis(1500);

/// One feeder: a loadgen process from `local`.
#[derive(Debug, Clone)]
struct Feeder {
    local: String,
    asn: u32,
}

/// What the feeders announce.
#[derive(Debug, Clone)]
enum Table {
    Synthetic { prefixes: usize },
    Mrt { file: PathBuf, peer: Option<IpAddr> },
}

#[derive(Debug, Clone)]
struct Case {
    id: &'static str,
    title: String,
    table: Table,
    feeders: Vec<Feeder>,
    sinks: usize,
    flap: bool,
    /// Distinct prefixes every internal neighbor must end up holding.
    expect: usize,
    /// Paths the speaker receives in all.
    paths: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    secs: f64,
    cpu: f64,
    rss_before_kb: u64,
    rss_after_kb: u64,
    hwm_kb: u64,
    flap_secs: Option<f64>,
    /// Prefixes each internal neighbor ended up with (the least of them).
    held: usize,
    /// Sink counters that must stay 0: prefixes without LOCAL_PREF, and
    /// with another first AS than a feeder's.
    bad: u64,
}

impl Measure {
    fn bytes_per_path(&self, paths: usize) -> f64 {
        self.rss_after_kb.saturating_sub(self.rss_before_kb) as f64 * 1024.0 / paths.max(1) as f64
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Prefixes of the synthetic table that carry 8075:8007 (what both
/// speakers' policies accept).
fn synthetic_expect(prefixes: usize) -> usize {
    let args = LoadgenArgs {
        target: SocketAddr::from(([127, 0, 0, 1], 179)),
        local: IpAddr::from([127, 0, 0, 2]),
        asn: 64500,
        prefixes,
        sets: SETS,
        seed: 1,
        hold_for: 0,
        table: None,
        table_peer: None,
    };
    let ps = Community::new(8075, 8007);
    let mut set: HashSet<Prefix> = HashSet::new();
    for u in table_updates(&args) {
        if u.attrs.communities.contains(&ps) {
            set.extend(u.nlri.iter().map(|n| n.prefix));
        }
    }
    set.len()
}

/// Distinct IPv4 prefixes and ASN of one peer of an MRT dump.
fn mrt_table(file: &Path, peer: Option<IpAddr>) -> Option<(usize, u32)> {
    let dump = coldpotato::lab::dump::read(file).ok()?;
    let t = dump.peer(peer)?;
    let n: HashSet<_> = t.groups.iter().flat_map(|(_, ps)| ps.iter()).collect();
    Some((n.len(), t.asn))
}

fn spawn_feeder(f: &Feeder, table: &Table, target: SocketAddr, dir: &Path) -> Result<Proc> {
    let mut cmd = Command::new(OUR_BIN);
    cmd.arg("loadgen")
        .arg("--target")
        .arg(target.to_string())
        .args(["--local", &f.local])
        .args(["--hold-for", &LOAD_TIMEOUT.as_secs().to_string()]);
    match table {
        Table::Synthetic { prefixes } => {
            cmd.args(["--asn", &f.asn.to_string()])
                .args(["--prefixes", &prefixes.to_string()])
                .args(["--sets", &SETS.to_string()])
                .args(["--seed", "1"]);
        }
        Table::Mrt { file, peer } => {
            cmd.arg("--table").arg(file);
            if let Some(p) = peer {
                cmd.args(["--table-peer", &p.to_string()]);
            }
        }
    }
    cmd.env("RUST_LOG", "warn");
    let name = format!("loadgen-{}", f.local);
    Proc::spawn(&name, cmd, dir.join(format!("{name}.log")))
}

/// Sink `i` listens on 127.0.0.(9+i):port.
fn sink_addr(i: usize, port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 9 + i as u8], port))
}

fn spawn_sink(i: usize, port: u16, expect: usize, dir: &Path) -> Result<Proc> {
    let mut cmd = Command::new(OUR_BIN);
    cmd.arg("sink")
        .args(["--listen", &sink_addr(i, port).to_string()])
        .args(["--asn", &OUR_AS.to_string()])
        .args(["--expect", &expect.to_string()])
        .args(["--every-ms", "100"]);
    cmd.env("RUST_LOG", "warn");
    Proc::spawn(&format!("sink{i}"), cmd, dir.join(format!("sink{i}.log")))
}

/// The last `held=` count a sink printed, with its Unix time, and the sum
/// of its error counters.
fn sink_state(p: &Proc) -> Option<(usize, f64, u64)> {
    let log = p.log_text();
    let line = log.lines().rev().find(|l| l.contains(" held="))?;
    let field = |name: &str| -> Option<&str> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    let held = field("held")?.parse().ok()?;
    let unix = field("unix")?.parse().ok()?;
    let bad = field("no_local_pref")?.parse::<u64>().ok()?
        + field("wrong_first_as")?.parse::<u64>().ok()?;
    Some((held, unix, bad))
}

/// Waits until every sink holds (nearly) `expect` prefixes and has not
/// changed for [`QUIET`]: the speakers' policies may differ by a handful of
/// routes (ours also applies the bogon and AS-path rules of the peering
/// service), so "complete" is "arrived and settled". Returns the Unix time
/// of the last change, the smallest count held and the sinks' error sum.
fn wait_complete(sinks: &[Proc], expect: usize, speaker: &mut Proc) -> Result<(f64, usize, u64)> {
    let end = Instant::now() + LOAD_TIMEOUT;
    let floor = expect - expect / 100;
    loop {
        let states: Vec<_> = sinks.iter().map(sink_state).collect();
        let now = unix_now();
        if states
            .iter()
            .all(|s| s.is_some_and(|(h, t, _)| h >= floor && now - t >= QUIET.as_secs_f64()))
        {
            let t = states.iter().flatten().map(|s| s.1).fold(0.0, f64::max);
            let held = states.iter().flatten().map(|s| s.0).min().unwrap_or(0);
            let bad = states.iter().flatten().map(|s| s.2).sum();
            return Ok((t, held, bad));
        }
        if speaker.exited() || Instant::now() > end {
            let held: Vec<_> = states.iter().map(|s| s.map_or(0, |x| x.0)).collect();
            return Err(BenchError::Timeout(format!(
                "{}: sinks hold {held:?} of {expect}\n{}",
                speaker.name,
                speaker.log_tail(20)
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn our_config(c: &Case, bgp: u16, api: u16, sink_port: u16) -> String {
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
    for (i, f) in c.feeders.iter().enumerate() {
        let role = match c.table {
            Table::Synthetic { .. } => "role = \"peering-service\"",
            Table::Mrt { .. } => "role = \"transit\"\nimport_policy = \"accept-all\"",
        };
        cfg.push_str(&format!(
            r#"
[[neighbors]]
name = "feed{i}"
address = "{}"
remote_as = {}
location = "lab"
{role}
families = ["ipv4"]
passive = true
"#,
            f.local, f.asn
        ));
    }
    for i in 0..c.sinks {
        cfg.push_str(&format!(
            r#"
[[neighbors]]
name = "ibgp{i}"
address = "{}"
port = {sink_port}
remote_as = {OUR_AS}
location = "lab"
role = "internal"
families = ["ipv4"]
local_address = "127.0.0.1"
"#,
            sink_addr(i, sink_port).ip()
        ));
    }
    cfg
}

fn bird_config(c: &Case, bgp: u16, sink_port: u16) -> String {
    let import = match c.table {
        Table::Synthetic { .. } => "import filter peering",
        Table::Mrt { .. } => "import all",
    };
    let mut cfg = String::from(
        "router id 127.0.0.1;\nlog stderr { warning, error, fatal };\nprotocol device { }\n\
         protocol direct { ipv4; interface \"lo\"; }\n\
         filter peering { if (8075,8007) ~ bgp_community then accept; reject; }\n",
    );
    for (i, f) in c.feeders.iter().enumerate() {
        cfg.push_str(&format!(
            "protocol bgp feed{i} {{\n  local 127.0.0.1 port {bgp} as {OUR_AS};\n  \
             neighbor {} as {};\n  passive on;\n  multihop;\n  hold time 90;\n  \
             ipv4 {{ {import}; export none; gateway recursive; igp table master4; }};\n}}\n",
            f.local, f.asn
        ));
    }
    for i in 0..c.sinks {
        cfg.push_str(&format!(
            "protocol bgp ibgp{i} {{\n  local 127.0.0.1 as {OUR_AS};\n  \
             neighbor {} port {sink_port} as {OUR_AS};\n  multihop;\n  \
             ipv4 {{ import none; export all; }};\n}}\n",
            sink_addr(i, sink_port).ip()
        ));
    }
    cfg
}

/// Runs one case on one speaker.
fn run(c: &Case, who: &str) -> Result<Measure> {
    let (bgp, api, sink_port) = (free_port()?, free_port()?, free_port()?);
    let dir = tempfile::tempdir()?;
    let sinks: Vec<Proc> = (0..c.sinks)
        .map(|i| spawn_sink(i, sink_port, c.expect, dir.path()))
        .collect::<Result<_>>()?;
    std::thread::sleep(Duration::from_millis(300));
    let (mut ours, mut bird) = (None, None);
    let speaker: &mut Proc = if who == "bird" {
        let b = Bird::start_in(None, &bird_config(c, bgp, sink_port))?;
        &mut bird.insert(b).proc
    } else {
        let api_addr = SocketAddr::from(([127, 0, 0, 1], api));
        let d = Daemon::start(&our_config(c, bgp, api, sink_port), api_addr)?;
        &mut ours.insert(d).proc
    };
    let pid = speaker.pid();
    // Every internal session up (the sink says "established") before the load.
    let up = wait_for(Duration::from_secs(30), Duration::from_millis(100), || {
        sinks
            .iter()
            .all(|s| s.log_text().contains("sink: established"))
            .then_some(())
    });
    if up.is_none() {
        return Err(BenchError::Timeout(format!(
            "{who}: internal sessions not up\n{}",
            speaker.log_tail(20)
        )));
    }
    std::thread::sleep(Duration::from_secs(1));
    let rss_before_kb = status_kb(pid, "VmRSS").unwrap_or(0);
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let target = SocketAddr::from(([127, 0, 0, 1], bgp));
    let t0 = unix_now();
    let mut feeders: Vec<Proc> = c
        .feeders
        .iter()
        .map(|f| spawn_feeder(f, &c.table, target, dir.path()))
        .collect::<Result<_>>()?;
    let (done, held, bad) = wait_complete(&sinks, c.expect, speaker)?;
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    std::thread::sleep(SETTLE);
    let mut m = Measure {
        secs: done - t0,
        cpu,
        rss_before_kb,
        rss_after_kb: status_kb(pid, "VmRSS").unwrap_or(0),
        hwm_kb: status_kb(pid, "VmHWM").unwrap_or(0),
        flap_secs: None,
        held,
        bad,
    };
    if c.flap {
        // The feeder goes away: wait until the internal neighbor is empty,
        // then bring it back and time until it is complete again.
        feeders.clear();
        let emptied = wait_for(LOAD_TIMEOUT, Duration::from_millis(50), || {
            sinks
                .iter()
                .all(|s| sink_state(s).is_some_and(|(h, _, _)| h == 0))
                .then_some(())
        });
        if emptied.is_none() {
            return Err(BenchError::Timeout(format!("{who}: routes not withdrawn")));
        }
        std::thread::sleep(Duration::from_secs(1));
        let t1 = unix_now();
        feeders = c
            .feeders
            .iter()
            .map(|f| spawn_feeder(f, &c.table, target, dir.path()))
            .collect::<Result<_>>()?;
        let (again, _, _) = wait_complete(&sinks, c.expect, speaker)?;
        m.flap_secs = Some(again - t1);
    }
    drop(feeders);
    Ok(m)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn cases(prefixes: usize) -> Vec<Case> {
    let wanted = env_or("FULL_TABLE_CASES", "1,2,3,5");
    let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
    let feeder = |i: u8| Feeder {
        local: format!("127.0.0.{}", 2 + i),
        asn: 64500 + u32::from(i),
    };
    let mut out = Vec::new();
    let synthetic = Table::Synthetic { prefixes };
    let expect = if wanted.iter().any(|w| ["1", "2", "3", "5"].contains(w)) {
        synthetic_expect(prefixes)
    } else {
        0
    };
    let base = |id, title: String, feeders: Vec<Feeder>, sinks, flap| Case {
        id,
        title,
        table: synthetic.clone(),
        paths: prefixes * feeders.len(),
        feeders,
        sinks,
        flap,
        expect,
    };
    if wanted.contains(&"1") {
        out.push(base(
            "1",
            format!("{prefixes} prefixes, 1 peering-service feed, 1 iBGP"),
            vec![feeder(0)],
            1,
            false,
        ));
    }
    if wanted.contains(&"2") {
        out.push(base(
            "2",
            format!("{prefixes} prefixes, 1 feed, 4 iBGP"),
            vec![feeder(0)],
            4,
            false,
        ));
    }
    if wanted.contains(&"3") {
        out.push(base(
            "3",
            format!("2 feeds x {prefixes} prefixes, 1 iBGP"),
            vec![feeder(0), feeder(1)],
            1,
            false,
        ));
    }
    if wanted.contains(&"5") {
        out.push(base(
            "5",
            format!("{prefixes} prefixes, feed session flap"),
            vec![feeder(0)],
            1,
            true,
        ));
    }
    if wanted.contains(&"real") {
        match std::env::var("FULL_TABLE_MRT") {
            Ok(file) => {
                let file = PathBuf::from(file);
                let peer = std::env::var("FULL_TABLE_MRT_PEER")
                    .ok()
                    .and_then(|p| p.parse().ok());
                match mrt_table(&file, peer) {
                    Some((n, asn)) => out.push(Case {
                        id: "real",
                        title: format!(
                            "real table ({}), {n} prefixes, transit, 1 iBGP",
                            file.display()
                        ),
                        table: Table::Mrt { file, peer },
                        feeders: vec![Feeder {
                            local: "127.0.0.2".into(),
                            asn,
                        }],
                        sinks: 1,
                        flap: false,
                        expect: n,
                        paths: n,
                    }),
                    None => println!("full_table: cannot read a table from {}", file.display()),
                }
            }
            Err(_) => {
                println!("full_table: case real skipped: set FULL_TABLE_MRT=FILE (an MRT RIB dump)")
            }
        }
    }
    out
}

fn main() {
    if !have("bird") || !have("birdc") {
        println!("SKIP full_table: bird/birdc not installed");
        return;
    }
    let prefixes: usize = env_or("FULL_TABLE_PREFIXES", "1000000")
        .parse()
        .unwrap_or(1_000_000);
    let rounds: usize = env_or("FULL_TABLE_ROUNDS", "3").parse().unwrap_or(3).max(1);
    let only = env_or("FULL_TABLE_ONLY", "");
    let rev = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "full_table: coldpotato {rev} vs BIRD 2, {rounds} rounds alternating; load average {}",
        loadavg()
    );
    let mut rows = Vec::new();
    for c in cases(prefixes) {
        println!(
            "case {}: {} (about {} prefixes at each iBGP neighbor)",
            c.id, c.title, c.expect
        );
        let (mut ours, mut bird) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for who in ["coldpotato", "bird"] {
                if !only.is_empty() && only != who {
                    continue;
                }
                match run(&c, who) {
                    Ok(m) => {
                        println!(
                            "  {who:<10} {:>6.2} s  {:>6.2} s CPU  RSS {:>6.1} -> {:>6.1} MB (peak {:>6.1})  {:>6.1} B/path  held {}{}{}",
                            m.secs,
                            m.cpu,
                            mb(m.rss_before_kb),
                            mb(m.rss_after_kb),
                            mb(m.hwm_kb),
                            m.bytes_per_path(c.paths),
                            m.held,
                            m.flap_secs.map_or(String::new(), |f| format!("  flap {f:.2} s")),
                            if m.bad > 0 { format!("  SINK ERRORS {}", m.bad) } else { String::new() },
                        );
                        if who == "bird" {
                            bird.push(m)
                        } else {
                            ours.push(m)
                        }
                    }
                    Err(e) => println!("  {who}: {e}"),
                }
            }
        }
        rows.push((c, ours, bird));
    }
    println!("\n| case | figure | coldpotato | BIRD 2 | ratio |\n|---|---|---|---|---|");
    let mut case1_rss: Option<(f64, f64)> = None;
    for (c, ours, bird) in &rows {
        let fig = |name: &str, f: &dyn Fn(&Measure) -> f64| {
            let (a, b) = (
                median(ours.iter().map(f).collect()),
                median(bird.iter().map(f).collect()),
            );
            println!("| {} | {name} | {a:.2} | {b:.2} | {:.2} |", c.id, a / b);
            (a, b)
        };
        fig("seconds until the iBGP neighbors are complete", &|m| m.secs);
        fig("speaker CPU seconds", &|m| m.cpu);
        let rss = fig("RSS growth, bytes per received path", &|m| {
            m.bytes_per_path(c.paths)
        });
        if c.id == "1" {
            case1_rss = Some(rss);
        }
        if c.id == "2" {
            if let Some((o1, b1)) = case1_rss {
                let (o4, b4) = rss;
                let (eo, eb) = ((o4 - o1) / 3.0, (b4 - b1) / 3.0);
                println!("| 2 | bytes per path each extra iBGP neighbor adds | {eo:.1} | {eb:.1} | {:.2} |", eo / eb);
            }
        }
        if c.flap {
            fig(
                "seconds until complete again after the feed's session returns",
                &|m| m.flap_secs.unwrap_or(f64::NAN),
            );
        }
    }
    println!("| 4 | churn, 10,000 updates/s | not measured (no churning feeder yet) | | |");
}
