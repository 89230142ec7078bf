//! Whole-daemon full-table bench (issue 10): the job a peering edge does,
//! full tables in from providers and the best paths out to internal (iBGP)
//! neighbors, for coldpotato and BIRD 2 alternately on loopback, with the
//! project's own load generator as the feeder (`coldpotato loadgen`) and a
//! receive-only internal neighbor that counts what it holds and checks
//! LOCAL_PREF and the feeder's ASN at the head of the AS path
//! (`coldpotato sink --first-as`).
//!
//! Cases (`FULL_TABLE_CASES=1,2,3,4,5,real,real2`; default all):
//! 1. 1M IPv4 prefixes in 200k attribute sets from one peering-service
//!    neighbor (policy on: ours the built-in peering-service rules, BIRD an
//!    import filter on 8075:8007; both also drop the few paths that hold
//!    8075 as an AS loop, so the same 798,735 of 1M pass on both), one
//!    internal neighbor;
//! 2. the same with four internal neighbors (what each extra one adds);
//! 3. two peering-service neighbors (127.0.0.2 AS 64500, 127.0.0.3 AS
//!    64501) announcing the same 1M prefixes (2M paths), one internal
//!    neighbor. The load generator's `--seed` draws both the prefixes and
//!    the attribute sets, so the two tables differ only in the first AS,
//!    the next hop and the feeder's own community; both speakers then pick
//!    127.0.0.2's path (lowest router ID) and the sink checks AS 64500;
//! 4. churn: case 1's load from a feeder inside the bench ([`Speaker`], the
//!    same table), then 10,000 UPDATEs a second for 60 s, each one prefix,
//!    toggling 1% of the table (prefixes the policy accepts, so each one
//!    changes what the internal neighbor must hold: withdrawn, announced
//!    again with its attributes); the speaker's CPU over the churn, how far
//!    the internal neighbor is behind when it stops and how long it takes
//!    to settle on the final table (`FULL_TABLE_CHURN_RATE`,
//!    `FULL_TABLE_CHURN_SECS` change the rate and length);
//! 5. case 1, then the feeder is killed (its session resets): seconds until
//!    the internal neighbor is empty, then from the feeder's restart until
//!    it holds the full table again;
//!
//! `real`. one peer's table from a public MRT or `bgpdump -m` RIB dump
//!    (`FULL_TABLE_MRT=FILE`, `FULL_TABLE_MRT_PEER=ADDR`, default the peer
//!    with the most routes) over a transit session that accepts all but
//!    what our built-in rules drop (AS loops; AS_SETs, RFC 9774, which
//!    BIRD's filter drops too), one internal neighbor;
//! `real2`. the two largest peers' tables of the same dump, two feeds
//!    racing (real AS paths: the best path is each prefix's shortest, not
//!    one feed's), one internal neighbor.
//!
//! `real` and `real2` are skipped with a note when `FULL_TABLE_MRT` is
//! unset. A public dump that works: the `bgpdump -m` text of the RIPE RIS
//! bview of 2010-07-01 07:59 UTC that RIPE-NCC/bgpdump ships as
//! `test_expect/bview.20100701.0759.gz.bgp.gz` (two full feeds, AS4777
//! with 323,485 routes and AS2497 with 318,457; 123 AS_SET paths).
//!
//! Figures per run: seconds from the feeders starting to send (the load
//! generator's "table ready" line: building its table is not the
//! speaker's time) until every internal neighbor holds every accepted
//! route (the sink's own clock on its line), the speaker's CPU seconds
//! over that time, and RSS growth per received path (VmRSS after a 2 s settle minus before the load);
//! beside them, the CPU seconds the load generators (after building their
//! table) and the sinks used over the load, and what that allows: on a
//! machine with few cores they share them with the speaker, so no speaker
//! can finish sooner than (its CPU + theirs) / cores. Medians of
//! `FULL_TABLE_ROUNDS` (default 3) alternating runs, then one table with
//! the ratios coldpotato / BIRD and the load average at each run's start.
//!
//! Run: `cargo bench --bench full_table` (no root needed; BIRD from Debian's
//! `bird2`). `FULL_TABLE_ONLY=coldpotato|bird` runs one side,
//! `FULL_TABLE_PREFIXES=N` a smaller table. A bench, not a test: it prints
//! numbers and never asserts on them.

mod common;

use bytes::BytesMut;
use coldpotato::lab::loadgen::{table_updates, LoadgenArgs};
use coldpotato::wire::{AddPathPrefix, Community, PathAttributes, Prefix, Update, UpdateBuilder};
use common::*;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The peering-service operator's ASN (the 8075:8007 rule is about it).
/// Both speakers and the sinks use it.
const OUR_AS: u32 = 8075;
/// Attribute sets in the synthetic table (the issue: ~200k).
const SETS: usize = 200_000;
/// The synthetic table's seed (every feeder uses it: the same prefixes).
const SEED: u64 = 1;
/// Give up on one load after this long.
const LOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// RSS is sampled this long after the load is complete.
const SETTLE: Duration = Duration::from_secs(2);
/// A sink whose table has not changed for this long is settled.
const QUIET: Duration = Duration::from_millis(1500);
/// The sinks print a progress line at most this often.
const SINK_EVERY_MS: u64 = 50;
/// Case 4: UPDATEs a second (one prefix each) and for how long.
const CHURN_RATE: u64 = 10_000;
const CHURN_SECS: u64 = 60;

/// One feeder: a loadgen process (or, case 4, the bench's own speaker)
/// from `local`.
#[derive(Debug, Clone)]
struct Feeder {
    local: IpAddr,
    asn: u32,
    /// With a dump ([`Table::Mrt`]): whose table it announces (`None`: the
    /// peer with the most routes).
    table_peer: Option<IpAddr>,
}

/// What the feeders announce.
#[derive(Debug, Clone)]
enum Table {
    Synthetic { prefixes: usize },
    Mrt { file: PathBuf },
}

/// What happens after the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    Churn,
    Flap,
}

#[derive(Debug, Clone)]
struct Case {
    id: &'static str,
    title: String,
    table: Table,
    feeders: Vec<Feeder>,
    sinks: usize,
    after: After,
    /// Distinct prefixes every internal neighbor must end up holding.
    expect: usize,
    /// Paths the speaker receives in all.
    paths: usize,
    /// The ASN the sinks expect first in every AS path (`None` when the
    /// feeds' paths compete on their merits: no one feeder wins them all).
    first_as: Option<u32>,
}

/// Case 4's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Churn {
    /// UPDATEs sent, and over how many seconds.
    sent: u64,
    secs: f64,
    /// Withdrawals among them.
    sent_withdrawals: u64,
    /// Speaker CPU seconds over the churn.
    cpu: f64,
    /// Prefixes the internal neighbor should hold when the churn stops.
    expect_end: usize,
    /// What it held then (the least of the sinks).
    held_end: usize,
    /// Seconds after the churn stopped until it last changed (settled).
    drain: f64,
    /// What it held once settled.
    held_final: usize,
    /// Withdrawals and UPDATE messages the sink received over the churn.
    sink_withdrawals: u64,
    sink_updates: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    /// One-minute load average when the run started.
    loadavg: f64,
    secs: f64,
    cpu: f64,
    rss_before_kb: u64,
    rss_after_kb: u64,
    hwm_kb: u64,
    /// Prefixes each internal neighbor held after the load (the least).
    held: usize,
    /// Sink counters that must stay 0 (sums over the sinks and the run).
    no_local_pref: u64,
    wrong_first_as: u64,
    /// Case 5: seconds from killing the feeder until the sinks are empty,
    /// and from its restart until they are complete again.
    flap_down: Option<f64>,
    flap_up: Option<f64>,
    churn: Option<Churn>,
    /// CPU seconds the load generators (after their table was built) and
    /// the sinks used over the load: on a machine with few cores they
    /// share them with the speaker.
    harness_cpu: f64,
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

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether both speakers keep a route: with `policy`, it carries 8075:8007
/// (the peering-service rule, BIRD's filter); always, its AS path does not
/// hold our ASN (an AS loop, dropped by both) nor an AS_SET (RFC 9774, one
/// of our built-in rules on every eBGP session; BIRD's filter in the
/// real-table cases).
fn passes(attrs: &PathAttributes, policy: bool) -> bool {
    let tagged = !policy || attrs.communities.contains(&Community::new(8075, 8007));
    let path = attrs.as_path.as_ref();
    let looped = path.is_some_and(|p| p.all_asns().any(|a| a == OUR_AS));
    let set = path.is_some_and(|p| p.has_set());
    tagged && !looped && !set
}

/// The synthetic table exactly as `coldpotato loadgen --local 127.0.0.2
/// --asn 64500 --sets SETS --seed SEED` announces it.
fn synthetic_updates(prefixes: usize, f: &Feeder) -> Vec<Update> {
    table_updates(&LoadgenArgs {
        target: SocketAddr::from(([127, 0, 0, 1], 179)),
        local: f.local,
        asn: f.asn,
        prefixes,
        sets: SETS,
        seed: SEED,
        hold_for: 0,
        table: None,
        table_peer: None,
    })
}

/// Distinct prefixes of `updates` that pass (the last announcement of a
/// prefix counts).
fn expected(updates: &[Update], policy: bool) -> usize {
    let mut last: HashMap<Prefix, bool> = HashMap::new();
    for u in updates {
        let ok = passes(&u.attrs, policy);
        for n in &u.nlri {
            last.insert(n.prefix, ok);
        }
    }
    last.values().filter(|ok| **ok).count()
}

/// What the feeds of a real-table case announce, from one dump.
struct MrtFeeds {
    /// Distinct prefixes that pass on at least one feed (what an internal
    /// neighbor ends up holding).
    pass: usize,
    /// Paths received in all.
    paths: usize,
    /// Per feed: the dump peer's address and ASN.
    peers: Vec<(Option<IpAddr>, u32)>,
}

/// What `feeds` peers of a dump announce, one loadgen each: the given
/// peer alone, else the `feeds` peers with the most routes.
fn mrt_table(file: &Path, peer: Option<IpAddr>, feeds: usize) -> Option<MrtFeeds> {
    let dump = coldpotato::lab::dump::read(file).ok()?;
    let tables: Vec<_> = match peer {
        Some(_) => vec![dump.peer(peer)?],
        None => {
            let mut all: Vec<_> = dump.peers.iter().collect();
            all.sort_by_key(|t| std::cmp::Reverse(t.routes));
            all.into_iter().take(feeds).collect()
        }
    };
    let mut ok_any: HashMap<_, bool> = HashMap::new();
    let mut paths = 0;
    for t in &tables {
        let mut last: HashMap<_, bool> = HashMap::new();
        for (attrs, ps) in &t.groups {
            let ok = passes(attrs, false);
            for p in ps {
                last.insert(*p, ok);
            }
        }
        paths += last.len();
        for (p, ok) in last {
            *ok_any.entry(p).or_default() |= ok;
        }
    }
    let pass = ok_any.values().filter(|ok| **ok).count();
    Some(MrtFeeds {
        pass,
        paths,
        peers: tables.iter().map(|t| (t.address, t.asn)).collect(),
    })
}

fn spawn_feeder(f: &Feeder, table: &Table, target: SocketAddr, dir: &Path) -> Result<Proc> {
    let mut cmd = Command::new(OUR_BIN);
    cmd.arg("loadgen")
        .arg("--target")
        .arg(target.to_string())
        .args(["--local", &f.local.to_string()])
        .args(["--hold-for", &LOAD_TIMEOUT.as_secs().to_string()]);
    match table {
        Table::Synthetic { prefixes } => {
            cmd.args(["--asn", &f.asn.to_string()])
                .args(["--prefixes", &prefixes.to_string()])
                .args(["--sets", &SETS.to_string()])
                .args(["--seed", &SEED.to_string()]);
        }
        Table::Mrt { file } => {
            cmd.arg("--table").arg(file);
            if let Some(p) = f.table_peer {
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

fn spawn_sink(i: usize, port: u16, c: &Case, dir: &Path) -> Result<Proc> {
    let mut cmd = Command::new(OUR_BIN);
    cmd.arg("sink")
        .args(["--listen", &sink_addr(i, port).to_string()])
        .args(["--asn", &OUR_AS.to_string()])
        .args(["--expect", &c.expect.to_string()])
        .args(["--every-ms", &SINK_EVERY_MS.to_string()]);
    if let Some(a) = c.first_as {
        cmd.args(["--first-as", &a.to_string()]);
    }
    cmd.env("RUST_LOG", "warn");
    Proc::spawn(&format!("sink{i}"), cmd, dir.join(format!("sink{i}.log")))
}

/// One `sink: KIND held=... unix=...` line.
#[derive(Debug, Clone, Copy, Default)]
struct SinkLine {
    held: usize,
    updates: u64,
    withdrawals: u64,
    no_local_pref: u64,
    wrong_first_as: u64,
    unix: f64,
}

fn parse_sink_line(line: &str) -> Option<SinkLine> {
    let field = |name: &str| -> Option<&str> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    Some(SinkLine {
        held: field("held")?.parse().ok()?,
        updates: field("updates")?.parse().ok()?,
        withdrawals: field("withdrawals")?.parse().ok()?,
        no_local_pref: field("no_local_pref")?.parse().ok()?,
        wrong_first_as: field("wrong_first_as")?.parse().ok()?,
        unix: field("unix")?.parse().ok()?,
    })
}

/// Every counting line a sink has printed so far.
fn sink_lines(p: &Proc) -> Vec<SinkLine> {
    p.log_text()
        .lines()
        .filter(|l| l.starts_with("sink: ") && l.contains(" held="))
        .filter_map(parse_sink_line)
        .collect()
}

/// The sinks' latest counters: held is the least of them, the others sums.
fn sinks_now(sinks: &[Proc]) -> SinkLine {
    let last: Vec<SinkLine> = sinks
        .iter()
        .map(|s| sink_lines(s).last().copied().unwrap_or_default())
        .collect();
    SinkLine {
        held: last.iter().map(|l| l.held).min().unwrap_or(0),
        updates: last.iter().map(|l| l.updates).sum(),
        withdrawals: last.iter().map(|l| l.withdrawals).sum(),
        no_local_pref: last.iter().map(|l| l.no_local_pref).sum(),
        wrong_first_as: last.iter().map(|l| l.wrong_first_as).sum(),
        unix: last.iter().map(|l| l.unix).fold(0.0, f64::max),
    }
}

/// When a wait is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// The first line (at or after `since`) holding `target` prefixes.
    Reached,
    /// The last change once settled on `target` (after churn, when the
    /// table passes through the target on the way).
    Settled,
    /// The first line (at or after `since`) holding nothing.
    Empty,
}

/// Waits until every sink has settled (no line for [`QUIET`]) holding
/// `target` (or, should the speakers' tables differ, at least 99% of it);
/// returns the latest Unix time over the sinks as `until` says, and the
/// sinks' counters then.
fn wait_sinks(
    sinks: &[Proc],
    target: usize,
    since: f64,
    until: Until,
    speaker: &mut Proc,
    mut feed: Option<&mut Feed>,
) -> Result<(f64, SinkLine)> {
    let end = Instant::now() + LOAD_TIMEOUT;
    let floor = if until == Until::Empty {
        0
    } else {
        target - target / 100
    };
    loop {
        let now = unix_now();
        let mut times = Vec::new();
        for s in sinks {
            let lines = sink_lines(s);
            let Some(last) = lines.last().copied() else {
                break;
            };
            let ok = if until == Until::Empty {
                last.held == 0
            } else {
                last.held >= floor && last.held <= target
            };
            if !ok || now - last.unix < QUIET.as_secs_f64() {
                break;
            }
            let hit = |want: fn(&SinkLine, usize) -> bool| {
                lines
                    .iter()
                    .find(|l| l.unix >= since && want(l, target))
                    .map(|l| l.unix)
            };
            times.push(match until {
                Until::Reached => hit(|l, t| l.held == t).unwrap_or(last.unix),
                Until::Empty => hit(|l, _| l.held == 0).unwrap_or(last.unix),
                Until::Settled => last.unix,
            });
        }
        if times.len() == sinks.len() {
            let t = times.iter().copied().fold(since, f64::max);
            return Ok((t, sinks_now(sinks)));
        }
        if let Some(why) = feed.as_deref_mut().and_then(Feed::failed) {
            return Err(BenchError::Bgp(why));
        }
        if speaker.exited() || Instant::now() > end {
            let held: Vec<_> = sinks
                .iter()
                .map(|s| sink_lines(s).last().map_or(0, |l| l.held))
                .collect();
            return Err(BenchError::Timeout(format!(
                "{}: sinks hold {held:?}, waiting for {target}\n{}",
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

# The synthetic feeders' ASNs (64500, 64501) are documentation ASNs (RFC
# 5398), which the reserved-ASN rule would reject.
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
        // Our built-in rules drop AS_SET paths on every eBGP session (RFC
        // 9774); BIRD's filter drops the paths whose `last` is 0, which is
        // what it gives for a path ending in an AS_SET, where aggregation
        // puts it (a path with a set elsewhere would make BIRD's count
        // differ from ours, which the bench flags).
        Table::Mrt { .. } => "import filter transit",
    };
    // `multihop`: BIRD refuses a loopback host as a directly connected
    // neighbor. `gateway recursive` over the `direct` routes of lo resolves
    // the feeders' next hops (127.0.0.x), so the routes are reachable and
    // exported; `export all` to the internal neighbors sends them on with
    // the next hop unchanged and LOCAL_PREF 100 (BIRD's default).
    let mut cfg = String::from(
        "router id 127.0.0.1;\nlog stderr { warning, error, fatal };\nprotocol device { }\n\
         protocol direct { ipv4; interface \"lo\"; }\n\
         filter peering { if (8075,8007) ~ bgp_community then accept; reject; }\n\
         filter transit { if bgp_path.last = 0 then reject; accept; }\n",
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

/// What feeds the speaker: loadgen processes, or (case 4) the bench's own
/// speaker. Dropping it ends the feeders' sessions.
enum Feed {
    Loadgens(Vec<Proc>),
    Own(Speaker),
}

impl Feed {
    /// Why a feeder stopped (they stay connected until the bench drops
    /// them, so any exit is a failure).
    fn failed(&mut self) -> Option<String> {
        match self {
            Feed::Loadgens(gens) => gens
                .iter_mut()
                .find_map(|g| g.exited().then(|| format!("{}: {}", g.name, g.log_tail(5)))),
            Feed::Own(s) => s.ended().map(|why| format!("feeder session ended: {why}")),
        }
    }

    /// CPU seconds the load generators have used since their "table
    /// ready" line (0 for the bench's own feeder, which runs in-process).
    fn cpu_since_ready(&self) -> f64 {
        let Feed::Loadgens(gens) = self else {
            return 0.0;
        };
        gens.iter()
            .map(|g| match (ready_value(g, "cpu="), cpu_seconds(g.pid())) {
                (Some(a), Some(now)) => (now - a).max(0.0),
                _ => f64::NAN,
            })
            .sum()
    }

    /// When the feed started sending: the earliest of the load generators'
    /// "table ready" lines (their table generation is not the speaker's
    /// time), waiting for every one of them; `fallback` for the bench's own
    /// feeder, which builds its table before it connects.
    fn started(&mut self, fallback: f64) -> Result<f64> {
        let Feed::Loadgens(gens) = self else {
            return Ok(fallback);
        };
        let all = wait_for(LOAD_TIMEOUT, Duration::from_millis(20), || {
            gens.iter()
                .map(|g| ready_value(g, "unix="))
                .collect::<Option<Vec<f64>>>()
        });
        match all {
            Some(times) => Ok(times.into_iter().fold(f64::INFINITY, f64::min)),
            None => Err(BenchError::Timeout(format!(
                "load generators never ready: {}",
                self.failed().unwrap_or_default()
            ))),
        }
    }
}

/// A number on a load generator's "table ready" line: the token after
/// `key` (`cpu=`, `unix=`); `None` until the line is printed.
fn ready_value(g: &Proc, key: &str) -> Option<f64> {
    g.log_text()
        .lines()
        .find(|l| l.starts_with("loadgen: table ready"))
        .and_then(|l| l.split(key).nth(1))
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse::<f64>().ok())
}

/// Starts the feeders; case 4 builds its session here and sends the table
/// (blocking until it is written).
fn start_feed(c: &Case, updates: &[Update], target: SocketAddr, dir: &Path) -> Result<Feed> {
    if c.after == After::Churn {
        let f = &c.feeders[0];
        let s = Speaker::connect(f.local, f.asn, target)?;
        s.send_table(updates)?;
        return Ok(Feed::Own(s));
    }
    let gens = c
        .feeders
        .iter()
        .map(|f| spawn_feeder(f, &c.table, target, dir))
        .collect::<Result<_>>()?;
    Ok(Feed::Loadgens(gens))
}

/// Case 4: 1% of the table (prefixes that pass, evenly spread), each with
/// the attributes the table gave it.
fn churn_set(updates: &[Update], prefixes: usize) -> Vec<(AddPathPrefix, usize)> {
    let pool: Vec<(AddPathPrefix, usize)> = updates
        .iter()
        .enumerate()
        .filter(|(_, u)| passes(&u.attrs, true))
        .flat_map(|(i, u)| u.nlri.iter().map(move |p| (*p, i)))
        .collect();
    let n = (prefixes / 100).clamp(1, pool.len().max(1));
    let step = (pool.len() / n).max(1);
    pool.into_iter().step_by(step).take(n).collect()
}

/// Case 4: `rate` UPDATEs a second for `secs`, each toggling one prefix of
/// the churn set (a withdrawal if the prefix is up, else its announcement),
/// round-robin over the set, paced every 5 ms.
fn churn(
    feed: &Speaker,
    updates: &[Update],
    set: &[(AddPathPrefix, usize)],
    expect: usize,
    sinks: &[Proc],
    speaker: &mut Proc,
) -> Result<Churn> {
    let rate = env_num("FULL_TABLE_CHURN_RATE", CHURN_RATE).max(1);
    let secs = env_num("FULL_TABLE_CHURN_SECS", CHURN_SECS).max(1);
    let total = rate * secs;
    let builder = UpdateBuilder::new(feed.codec);
    let mut up = vec![true; set.len()];
    let mut out = BytesMut::with_capacity(1 << 16);
    let (mut sent, mut withdrawals) = (0u64, 0u64);
    let pid = speaker.pid();
    let before = sinks_now(sinks);
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let start = Instant::now();
    while sent < total {
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            let k = (sent % set.len() as u64) as usize;
            let (p, attrs) = &set[k];
            let r = if up[k] {
                withdrawals += 1;
                builder.withdraw(std::slice::from_ref(p), &mut out)
            } else {
                builder.announce(
                    &updates[*attrs].attrs,
                    None,
                    std::slice::from_ref(p),
                    &mut out,
                )
            };
            r.map_err(|e| BenchError::Bgp(format!("encode: {e}")))?;
            up[k] = !up[k];
            sent += 1;
        }
        if !out.is_empty() {
            feed.send(&out)?;
            out.clear();
        }
        if speaker.exited() {
            return Err(BenchError::Timeout(format!(
                "{} exited during the churn:\n{}",
                speaker.name,
                speaker.log_tail(20)
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = start.elapsed().as_secs_f64();
    let t_end = unix_now();
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    let at_end = sinks_now(sinks);
    let expect_end = expect - up.iter().filter(|u| !**u).count();
    let (t, fin) = wait_sinks(sinks, expect_end, t_end, Until::Settled, speaker, None)?;
    Ok(Churn {
        sent,
        secs: took,
        sent_withdrawals: withdrawals,
        cpu,
        expect_end,
        held_end: at_end.held,
        drain: t - t_end,
        held_final: fin.held,
        sink_withdrawals: fin.withdrawals - before.withdrawals,
        sink_updates: fin.updates - before.updates,
    })
}

/// Our daemon's view of its feeders, for the per-run line.
fn our_counts(api: SocketAddr) -> String {
    api_neighbors(api)
        .iter()
        .filter(|n| n["name"].as_str().is_some_and(|s| s.starts_with("feed")))
        .map(|n| {
            format!(
                "{} received {} accepted {} rejected {}",
                n["name"].as_str().unwrap_or("?"),
                n["prefixes_received"],
                n["prefixes_accepted"],
                n["prefixes_rejected"]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs one case on one speaker. `updates` is feeder 0's synthetic table
/// (case 4 sends it itself).
fn run(c: &Case, who: &str, updates: &[Update]) -> Result<Measure> {
    let loadavg_start = loadavg()
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let (bgp, api, sink_port) = (free_port()?, free_port()?, free_port()?);
    let dir = tempfile::tempdir()?;
    let sinks: Vec<Proc> = (0..c.sinks)
        .map(|i| spawn_sink(i, sink_port, c, dir.path()))
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
    let sinks_cpu = || -> f64 { sinks.iter().filter_map(|s| cpu_seconds(s.pid())).sum() };
    let sinks_cpu0 = sinks_cpu();
    let target = SocketAddr::from(([127, 0, 0, 1], bgp));
    let t0 = unix_now();
    let mut feed = start_feed(c, updates, target, dir.path())?;
    let t0 = feed.started(t0)?;
    let (done, s) = wait_sinks(
        &sinks,
        c.expect,
        t0,
        Until::Reached,
        speaker,
        Some(&mut feed),
    )?;
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    let harness_cpu = sinks_cpu() - sinks_cpu0 + feed.cpu_since_ready();
    std::thread::sleep(SETTLE);
    let mut m = Measure {
        loadavg: loadavg_start,
        secs: done - t0,
        cpu,
        rss_before_kb,
        rss_after_kb: status_kb(pid, "VmRSS").unwrap_or(0),
        hwm_kb: status_kb(pid, "VmHWM").unwrap_or(0),
        held: s.held,
        harness_cpu,
        ..Default::default()
    };
    if who != "bird" {
        let api_addr = SocketAddr::from(([127, 0, 0, 1], api));
        println!("    coldpotato API: {}", our_counts(api_addr));
    }
    if c.after == After::Flap {
        // Kill the feeder (its session resets): time until the internal
        // neighbors are empty, then bring it back and time until they are
        // complete again.
        let t1 = unix_now();
        drop(feed);
        let (empty, _) = wait_sinks(&sinks, 0, t1, Until::Empty, speaker, None)?;
        m.flap_down = Some(empty - t1);
        std::thread::sleep(Duration::from_secs(1));
        let t2 = unix_now();
        feed = start_feed(c, updates, target, dir.path())?;
        let t2 = feed.started(t2)?;
        let (again, _) = wait_sinks(
            &sinks,
            c.expect,
            t2,
            Until::Reached,
            speaker,
            Some(&mut feed),
        )?;
        m.flap_up = Some(again - t2);
    }
    if let (After::Churn, Feed::Own(s)) = (c.after, &feed) {
        let set = churn_set(updates, c.paths);
        m.churn = Some(churn(s, updates, &set, c.expect, &sinks, speaker)?);
        if let Some(why) = s.ended() {
            return Err(BenchError::Bgp(format!(
                "{who}: churn session ended: {why}"
            )));
        }
    }
    let last = sinks_now(&sinks);
    m.no_local_pref = last.no_local_pref;
    m.wrong_first_as = last.wrong_first_as;
    drop(feed);
    Ok(m)
}

/// CPU cores this process may run on.
fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn feeder(i: u8) -> Feeder {
    Feeder {
        local: IpAddr::from([127, 0, 0, 2 + i]),
        asn: 64500 + u32::from(i),
        table_peer: None,
    }
}

fn cases(prefixes: usize, expect: usize) -> Vec<Case> {
    let wanted = env_or("FULL_TABLE_CASES", "1,2,3,4,5,real,real2");
    let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
    let mut out = Vec::new();
    let base = |id, title: String, feeders: Vec<Feeder>, sinks, after| Case {
        id,
        title,
        table: Table::Synthetic { prefixes },
        paths: prefixes * feeders.len(),
        feeders,
        sinks,
        after,
        expect,
        first_as: Some(feeder(0).asn),
    };
    let one = || vec![feeder(0)];
    let rate = env_num("FULL_TABLE_CHURN_RATE", CHURN_RATE);
    let secs = env_num("FULL_TABLE_CHURN_SECS", CHURN_SECS);
    for id in ["1", "2", "3", "4", "5"] {
        if !wanted.contains(&id) {
            continue;
        }
        out.push(match id {
            "1" => base(
                "1",
                format!("{prefixes} prefixes, 1 peering-service feed, 1 iBGP"),
                one(),
                1,
                After::Nothing,
            ),
            "2" => base(
                "2",
                format!("{prefixes} prefixes, 1 feed, 4 iBGP"),
                one(),
                4,
                After::Nothing,
            ),
            "3" => base(
                "3",
                format!("2 feeds x the same {prefixes} prefixes, 1 iBGP"),
                vec![feeder(0), feeder(1)],
                1,
                After::Nothing,
            ),
            "4" => base(
                "4",
                format!(
                    "{prefixes} prefixes from the bench's own feeder, then {rate} \
                     UPDATEs/s for {secs} s toggling {} prefixes, 1 iBGP",
                    prefixes / 100
                ),
                one(),
                1,
                After::Churn,
            ),
            _ => base(
                "5",
                format!("{prefixes} prefixes, the feed is killed and restarted"),
                one(),
                1,
                After::Flap,
            ),
        });
    }
    for (id, feeds) in [("real", 1), ("real2", 2)] {
        if !wanted.contains(&id) {
            continue;
        }
        let Ok(file) = std::env::var("FULL_TABLE_MRT") else {
            println!(
                "full_table: case {id} skipped: set FULL_TABLE_MRT=FILE (an MRT or \
                 bgpdump -m RIB dump, plain or gzip) [FULL_TABLE_MRT_PEER=ADDR]"
            );
            continue;
        };
        let file = PathBuf::from(file);
        // One peer's table (case real), or the two largest racing (real2).
        let peer = (feeds == 1)
            .then(|| std::env::var("FULL_TABLE_MRT_PEER").ok())
            .flatten()
            .and_then(|p| p.parse().ok());
        match mrt_table(&file, peer, feeds).filter(|m| m.peers.len() == feeds) {
            Some(MrtFeeds { pass, paths, peers }) => out.push(Case {
                id,
                title: format!(
                    "real table{} ({}, {}), {paths} paths, transit, 1 iBGP",
                    if feeds > 1 { "s racing" } else { "" },
                    file.display(),
                    peers
                        .iter()
                        .map(|(a, asn)| format!(
                            "{} AS{asn}",
                            a.map_or("-".into(), |a| a.to_string())
                        ))
                        .collect::<Vec<_>>()
                        .join(" + ")
                ),
                table: Table::Mrt { file },
                feeders: peers
                    .iter()
                    .enumerate()
                    .map(|(i, &(table_peer, asn))| Feeder {
                        local: IpAddr::from([127, 0, 0, 2 + i as u8]),
                        asn,
                        table_peer,
                    })
                    .collect(),
                sinks: 1,
                after: After::Nothing,
                expect: pass,
                paths,
                // Two feeds' paths compete on their merits (AS path
                // length first): no one ASN leads them all.
                first_as: (feeds == 1).then(|| peers[0].1),
            }),
            None => println!(
                "full_table: case {id} skipped: no {feeds} peer table(s) in {} (unreadable, \
                 no such peer, or fewer peers)",
                file.display()
            ),
        }
    }
    out
}

fn print_run(c: &Case, who: &str, m: &Measure) {
    let mut line = format!(
        "  {who:<10} {:>6.2} s  {:>6.2} s CPU  RSS {:>6.1} -> {:>6.1} MB (peak {:>6.1})  \
         {:>6.1} B/path  held {}/{}  no_local_pref={} wrong_first_as={}  load {:.2}  \
         harness {:.2} s CPU",
        m.secs,
        m.cpu,
        mb(m.rss_before_kb),
        mb(m.rss_after_kb),
        mb(m.hwm_kb),
        m.bytes_per_path(c.paths),
        m.held,
        c.expect,
        m.no_local_pref,
        m.wrong_first_as,
        m.loadavg,
        m.harness_cpu,
    );
    if m.held != c.expect {
        line.push_str("  HELD != EXPECTED");
    }
    if m.no_local_pref + m.wrong_first_as > 0 {
        line.push_str("  SINK ERRORS");
    }
    println!("{line}");
    if let (Some(d), Some(u)) = (m.flap_down, m.flap_up) {
        println!("    flap: empty {d:.2} s after the kill, complete {u:.2} s after the restart");
    }
    if let Some(ch) = m.churn {
        println!(
            "    churn: {} UPDATEs ({} withdrawals) in {:.2} s ({:.0}/s), speaker {:.2} s CPU; \
             iBGP held {} of {} when it stopped, settled {:.2} s later on {}{}; \
             the iBGP neighbor got {} UPDATEs, {} withdrawals",
            ch.sent,
            ch.sent_withdrawals,
            ch.secs,
            ch.sent as f64 / ch.secs.max(1e-9),
            ch.cpu,
            ch.held_end,
            ch.expect_end,
            ch.drain,
            ch.held_final,
            if ch.held_final == ch.expect_end {
                ""
            } else {
                " (WRONG)"
            },
            ch.sink_updates,
            ch.sink_withdrawals,
        );
    }
}

fn main() {
    if !have("bird") || !have("birdc") {
        println!("SKIP full_table: bird/birdc not installed");
        return;
    }
    let prefixes: usize = env_num("FULL_TABLE_PREFIXES", 1_000_000).max(100);
    let rounds: usize = env_num("FULL_TABLE_ROUNDS", 3usize).max(1);
    let only = env_or("FULL_TABLE_ONLY", "");
    let rev = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "full_table: coldpotato {rev} vs {}, {rounds} rounds alternating; load average {}",
        Command::new("bird")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
            .unwrap_or_else(|_| "BIRD".into()),
        loadavg()
    );
    // Feeder 0's synthetic table: what passes, and case 4's feed.
    let updates = synthetic_updates(prefixes, &feeder(0));
    let expect = expected(&updates, true);
    println!(
        "synthetic table: {prefixes} prefixes in {SETS} attribute sets, {expect} pass the \
         policy (8075:8007, no AS 8075 in the path)"
    );
    let mut rows = Vec::new();
    for c in cases(prefixes, expect) {
        println!(
            "case {}: {} ({} prefixes at each iBGP neighbor)",
            c.id, c.title, c.expect
        );
        let (mut ours, mut bird) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for who in ["coldpotato", "bird"] {
                if !only.is_empty() && only != who {
                    continue;
                }
                match run(&c, who, &updates) {
                    Ok(m) => {
                        print_run(&c, who, &m);
                        if who == "bird" {
                            bird.push(m)
                        } else {
                            ours.push(m)
                        }
                    }
                    Err(e) => println!("  {who}: FAILED: {e}"),
                }
            }
        }
        rows.push((c, ours, bird));
    }
    print_table(&rows, rounds);
}

fn print_table(rows: &[(Case, Vec<Measure>, Vec<Measure>)], rounds: usize) {
    println!(
        "\nmedians of {rounds} round(s), load average at the end {}\n\n\
         | case | figure | coldpotato | BIRD 2 | ratio |\n|---|---|---|---|---|",
        loadavg()
    );
    let mut case1: Option<(f64, f64)> = None;
    for (c, ours, bird) in rows {
        let fig = |name: &str, f: &dyn Fn(&Measure) -> f64| {
            let (a, b) = (
                median(ours.iter().map(f).collect()),
                median(bird.iter().map(f).collect()),
            );
            println!("| {} | {name} | {a:.2} | {b:.2} | {:.2} |", c.id, a / b);
            (a, b)
        };
        fig("load average (1 min) at the runs' start", &|m| m.loadavg);
        fig("prefixes held by each iBGP neighbor", &|m| m.held as f64);
        if c.after == After::Churn {
            fig("churn: speaker CPU seconds over it", &|m| {
                m.churn.map_or(f64::NAN, |x| x.cpu)
            });
            fig("churn: UPDATEs/s sent", &|m| {
                m.churn.map_or(f64::NAN, |x| x.sent as f64 / x.secs)
            });
            fig(
                "churn: prefixes the iBGP neighbor is off by when it stops",
                &|m| {
                    m.churn
                        .map_or(f64::NAN, |x| x.held_end.abs_diff(x.expect_end) as f64)
                },
            );
            fig(
                "churn: seconds after it stops until the iBGP neighbor is settled",
                &|m| m.churn.map_or(f64::NAN, |x| x.drain),
            );
            fig("churn: withdrawals the iBGP neighbor received", &|m| {
                m.churn.map_or(f64::NAN, |x| x.sink_withdrawals as f64)
            });
            continue;
        }
        fig("seconds until the iBGP neighbors are complete", &|m| m.secs);
        fig("speaker CPU seconds over the load", &|m| m.cpu);
        fig(
            "load generators' and sinks' CPU seconds over the load",
            &|m| m.harness_cpu,
        );
        fig(
            "the least seconds this machine's cores allow: (speaker + harness CPU) / cores",
            &|m| (m.cpu + m.harness_cpu) / cores(),
        );
        let rss = fig("RSS growth, bytes per received path", &|m| {
            m.bytes_per_path(c.paths)
        });
        if c.id == "1" {
            case1 = Some(rss);
        }
        if c.id == "2" {
            if let Some((o1, b1)) = case1 {
                let (o4, b4) = rss;
                let (eo, eb) = ((o4 - o1) / 3.0, (b4 - b1) / 3.0);
                println!(
                    "| 2 | bytes per path each extra iBGP neighbor adds | {eo:.1} | {eb:.1} | {:.2} |",
                    eo / eb
                );
            }
        }
        if c.after == After::Flap {
            fig(
                "seconds from the feed's kill until the iBGP neighbor is empty",
                &|m| m.flap_down.unwrap_or(f64::NAN),
            );
            fig(
                "seconds from the feed's restart until the iBGP neighbor is complete",
                &|m| m.flap_up.unwrap_or(f64::NAN),
            );
        }
    }
}
