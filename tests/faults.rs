//! Faults (issue 11), with the real daemon between feeding peers and an
//! internal neighbor that keeps the exact table it is sent (a listening
//! iBGP peer built on the library's codec, `common::peers::RibPeer`):
//!
//! - F1: `kill -9` of the daemon and a restart: the BIRD 2 session and the
//!   internal one return by themselves and the RIB is rebuilt (BIRD's
//!   routes accepted again and exported again).
//! - F2: the feeding peer dies (`kill -9`) while its full table is loading
//!   and comes back with a *different* table: without graceful restart
//!   (`coldpotato loadgen`, which offers none) the old routes go at once;
//!   with graceful restart (BIRD 2, restarted with `-R`) they are kept
//!   stale while it is away and swept at its End-of-RIB (RFC 4724 §4.2).
//!   Either way the internal neighbor ends with exactly the new table.
//!   BIRD killed mid-load and started again (no `-R`) with the same table,
//!   without and with graceful restart, also leaves exactly the table.
//!   Two raw graceful-restart peers check the other RFC 4724 §4.2 rules:
//!   stale routes are kept until End-of-RIB when the returning peer keeps
//!   its Forwarding State, and removed at once when it does not (F bit
//!   clear, or no Graceful Restart Capability at all).
//! - F3: SIGHUPs with a changed config during a full-table load: the load
//!   completes exactly (with the prefix the new config originates), no
//!   session resets.
//! - F4: 100 SIGHUPs in 10 s, the config alternating between two versions
//!   (a BFD neighbor added and removed, policy inputs changed): no session
//!   resets, no file descriptor or memory growth.
//!
//! Sizes: by default what fits the CI budget in a debug build (loadgen
//! tables of 50,000 prefixes, BIRD 20,000 routes);
//! `COLDPOTATO_HOSTILE_FULL=1` loads the issue's full table (1,000,000
//! prefixes; BIRD 200,000 routes, each in its own UPDATE);
//! `COLDPOTATO_FAULT_ROUTES=N` sets BIRD's count alone.

mod common;

use coldpotato::lab::loadgen::{table_updates, LoadgenArgs};
use coldpotato::wire::Prefix;
use common::peers::{self, graceful_restart, raw, BgpPeer, OpenSpec, RibOpts, RibPeer};
use common::*;
use ipnet::Ipv4Net;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
const BIRD_AS: u32 = 3320;
const BIRD_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 61);
const FEED_AS: u32 = 3356;
const FEED_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 63);
const RR_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 62);

fn full() -> bool {
    std::env::var_os("COLDPOTATO_HOSTILE_FULL").is_some_and(|v| v != "0")
}

/// Prefixes in a loadgen table.
fn table_size() -> usize {
    if full() {
        1_000_000
    } else {
        50_000
    }
}

/// Routes BIRD announces.
fn bird_routes() -> u32 {
    std::env::var("COLDPOTATO_FAULT_ROUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full() { 200_000 } else { 20_000 })
}

fn received(d: &Daemon, name: &str) -> u64 {
    neighbor(d, name)
        .and_then(|n| n["prefixes_received"].as_u64())
        .unwrap_or(0)
}

/// Neighbor `name` from the API, `None` when the API does not answer (no
/// panic: some figures are taken while the daemon is at its busiest).
fn neighbor(d: &Daemon, name: &str) -> Option<serde_json::Value> {
    let (code, body) = http_get(d.api, "/api/v1/neighbors")?;
    let v: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| code == 200)?;
    v.as_array()?.iter().find(|n| n["name"] == name).cloned()
}

/// Reloads the daemon applied and refused, by its log.
fn reloads(d: &Daemon) -> (usize, usize) {
    let log = d.log();
    let count = |s: &str| log.lines().filter(|l| l.contains(s)).count();
    (count("reload applied"), count("reload rejected"))
}

/// The prefix every internal neighbor also gets: our `[[originate]]`.
fn originated() -> Prefix {
    "198.51.100.0/24".parse().expect("prefix")
}

/// BIRD route `i`: a /24 from 46.0.0.0 on, MED `i + med_base` so that each
/// route is an attribute set (and an UPDATE) of its own.
fn bird_prefix(i: u32) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(0x2E00_0000 + (i << 8)), 24).expect("prefix")
}

/// A passive BIRD 2 announcing routes `range` (MED = index + `med_base`).
fn bird_config(
    bird_port: u16,
    ours: u16,
    range: std::ops::Range<u32>,
    med_base: u32,
    gr: bool,
) -> String {
    let mut statics = String::with_capacity(range.len() * 60);
    for i in range {
        statics.push_str(&format!(
            "route {} unreachable {{ bgp_med = {}; }};\n",
            bird_prefix(i),
            i + med_base
        ));
    }
    let gr = if gr { "on" } else { "off" };
    format!(
        r#"
router id {BIRD_ADDR};
log stderr all;
protocol device {{ }}
protocol static s4 {{ ipv4; {statics} }}
protocol bgp cp {{
  debug {{ states, events }};
  local {BIRD_ADDR} port {bird_port} as {BIRD_AS};
  neighbor 127.0.0.1 port {ours} as {OUR_AS};
  strict bind on;
  passive on;
  multihop;
  hold time 30;
  graceful restart {gr};
  ipv4 {{ import all; export all; }};
}}
"#
    )
}

/// The daemon: BIRD (transit, accept-all; we connect to it), the loadgen
/// feed (transit, accept-all, passive), the internal RibPeer; `extra` is
/// appended.
fn config(port: u16, api: u16, bird_port: u16, rr_port: u16, extra: &str) -> String {
    DaemonConfig::new(OUR_AS, port, api)
        .originate("198.51.100.0/24")
        .neighbor(
            &Neighbor::new("bird", &BIRD_ADDR.to_string(), BIRD_AS, "transit")
                .port(bird_port)
                .local_address("127.0.0.1")
                .accept_all()
                .ipv4(),
        )
        .neighbor(
            &Neighbor::new("feed", &FEED_ADDR.to_string(), FEED_AS, "transit")
                .accept_all()
                .passive()
                .ipv4(),
        )
        .neighbor(
            &Neighbor::new("rr", &RR_ADDR.to_string(), OUR_AS, "internal")
                .port(rr_port)
                .ipv4(),
        )
        .append(extra)
        .to_string()
}

/// Everything a fault test runs: the daemon, the internal neighbor, BIRD
/// (optional) and the ports.
struct Rig {
    d: Daemon,
    rr: RibPeer,
    bird: Option<Bird>,
    port: u16,
    api: u16,
    bird_port: u16,
    rr_port: u16,
}

impl Rig {
    /// Starts the internal neighbor, BIRD with `bird` (when given) and the
    /// daemon with `extra` config.
    fn start(bird: Option<(std::ops::Range<u32>, bool)>, extra: &str) -> Rig {
        let (port, api, bird_port, rr_port) = (free_port(), free_port(), free_port(), free_port());
        let rr = RibPeer::start(
            SocketAddr::from((RR_ADDR, rr_port)),
            RibOpts::new(OUR_AS, RR_ADDR),
        );
        let bird = bird.map(|(range, gr)| Bird::start(&bird_config(bird_port, port, range, 0, gr)));
        let d = Daemon::start(
            &config(port, api, bird_port, rr_port, extra),
            SocketAddr::from(([127, 0, 0, 1], api)),
        );
        Rig {
            d,
            rr,
            bird,
            port,
            api,
            bird_port,
            rr_port,
        }
    }

    /// The internal neighbor decoded everything it was sent and the daemon
    /// still runs.
    fn assert_sound(&mut self) {
        assert!(self.rr.errors().is_empty(), "{:?}", self.rr.errors());
        assert!(self.d.alive(), "{}", self.d.log());
    }

    fn daemon_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn config(&self, extra: &str) -> String {
        config(self.port, self.api, self.bird_port, self.rr_port, extra)
    }

    /// `coldpotato loadgen` as the feed: `n` prefixes of table `seed`.
    fn loadgen(&self, n: usize, seed: u64, tag: &str) -> Proc {
        Loadgen {
            target: self.daemon_addr(),
            local: &FEED_ADDR.to_string(),
            asn: FEED_AS,
            prefixes: n,
            sets: n,
            seed: Some(seed),
            hold_for_s: 900,
        }
        .spawn(self.d.dir.path().join(format!("loadgen-{tag}.log")))
    }
}

/// What loadgen table `seed` of `n` prefixes must leave at an internal
/// neighbor: every prefix whose path does not hold our own AS (those are
/// refused as loops, RFC 4271 §9.1.2), and our own originated one.
fn loadgen_expected(n: usize, seed: u64) -> HashSet<Prefix> {
    let args = LoadgenArgs {
        target: "127.0.0.1:179".parse().expect("addr"),
        local: IpAddr::V4(FEED_ADDR),
        asn: FEED_AS,
        prefixes: n,
        sets: n,
        seed,
        hold_for: 0,
        table: None,
        table_peer: None,
    };
    table_updates(&args)
        .into_iter()
        .filter(|u| {
            !u.attrs
                .as_path
                .as_ref()
                .is_some_and(|p| p.segments.iter().any(|s| s.asns.contains(&OUR_AS)))
        })
        .flat_map(|u| u.nlri.into_iter().map(|p| p.prefix))
        .chain([originated()])
        .collect()
}

/// The difference between what `rr` holds and `want`, for messages.
fn table_diff(rr: &RibPeer, want: &HashSet<Prefix>) -> String {
    let have = rr.prefixes();
    let missing: Vec<_> = want.difference(&have).take(5).collect();
    let extra: Vec<_> = have.difference(want).take(5).collect();
    format!(
        "holds {}, want {}; missing {} (e.g. {missing:?}), extra {} (e.g. {extra:?})",
        have.len(),
        want.len(),
        want.difference(&have).count(),
        have.difference(want).count()
    )
}

/// Waits until `rr` holds exactly `want` (and has been quiet for 1 s).
fn wait_exact(rr: &RibPeer, want: &HashSet<Prefix>, timeout: Duration) -> bool {
    rr.wait_until(timeout, Duration::from_secs(1), |t| {
        t.len() == want.len() && want.iter().all(|p| t.contains_key(p))
    })
}

/// Polls every 10 ms until `name` has received at least `from` prefixes
/// (and fewer than `total`): the moment to strike mid-load. Returns what
/// it had received.
fn wait_mid_load(d: &Daemon, name: &str, from: u64, total: u64, timeout: Duration) -> Option<u64> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        let n = received(d, name);
        if n >= from {
            return (n < total).then_some(n);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn bird_state_changes(bird: &Bird) -> usize {
    bird.proc
        .log_text()
        .lines()
        .filter(|l| l.contains("cp: State changed to"))
        .count()
}

// ---------------------------------------------------------------------------

/// F1: kill -9 and restart.
#[test]
fn f1_kill_9_and_restart_brings_every_session_and_the_whole_rib_back() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let n = 2_000;
    let mut rig = Rig::start(Some((0..n, true)), "");
    let want: HashSet<Prefix> = (0..n)
        .map(|i| Prefix::V4(bird_prefix(i)))
        .chain([originated()])
        .collect();
    let first = Instant::now();
    assert!(
        wait_exact(&rig.rr, &want, Duration::from_secs(60)),
        "first load: {}\n{}",
        table_diff(&rig.rr, &want),
        rig.d.log()
    );
    let first_secs = first.elapsed().as_secs_f64();
    let config = rig.config("");
    let bird = rig.bird.take().expect("bird");
    let birds_route = || {
        bird.cmd("show route 198.51.100.0/24")
            .contains("198.51.100.0/24")
    };
    assert!(birds_route(), "BIRD did not get our route");

    rig.d.proc.signal(libc::SIGKILL);
    let _ = rig.d.proc.child.wait();
    let down = wait_for(Duration::from_secs(10), || {
        (!rig.rr.up() && !bird.established("cp")).then_some(())
    });
    assert!(down.is_some(), "the peers did not see the daemon die");

    let restarted = Instant::now();
    let mut d = Daemon::start(&config, SocketAddr::from(([127, 0, 0, 1], rig.api)));
    let back = wait_exact(&rig.rr, &want, Duration::from_secs(60));
    let back_secs = restarted.elapsed().as_secs_f64();
    let accepted = d
        .neighbor("bird")
        .and_then(|x| x["prefixes_accepted"].as_u64())
        .unwrap_or(0);
    // Paged: at most 10,000 routes an answer.
    let in_rib = d
        .get_all("/api/v1/routes?neighbor=bird")
        .iter()
        .filter(|r| r["neighbor"] == "bird")
        .count();
    let bird_back = wait_for(Duration::from_secs(10), || {
        (bird.established("cp") && birds_route()).then_some(())
    });
    let pid = d.proc.pid();
    note(&format!(
        "F1 kill -9: {n} BIRD routes, first load {first_secs:.1} s; after kill -9 and restart every \
         session and the whole RIB are back in {back_secs:.1} s ({accepted} accepted from BIRD, \
         internal neighbor exact: {back}, its sessions {}); BIRD has our route again: {}; \
         RSS {} kB, peak {} kB, fds {}",
        rig.rr.sessions(),
        bird_back.is_some(),
        proc_status_kb(pid, "VmRSS:"),
        proc_status_kb(pid, "VmHWM:"),
        open_fds(pid),
    ));
    assert!(
        back,
        "after restart: {}\n{}",
        table_diff(&rig.rr, &want),
        d.log()
    );
    assert_eq!(accepted, u64::from(n));
    assert_eq!(
        in_rib, n as usize,
        "the RIB (/api/v1/routes) holds BIRD's whole table again"
    );
    assert_eq!(rig.rr.sessions(), 2, "one session before, one after");
    assert!(
        bird_back.is_some(),
        "BIRD: {}",
        bird.cmd("show protocols all cp")
    );
    assert!(rig.rr.errors().is_empty(), "{:?}", rig.rr.errors());
    assert!(d.alive());
    drop(d);
}

/// F2 without graceful restart: loadgen dies mid-load and a different
/// table comes back.
#[test]
fn f2_feed_restarting_mid_load_without_graceful_restart_leaves_exactly_the_new_table() {
    let n = table_size();
    let mut rig = Rig::start(None, "");
    assert!(rig
        .d
        .wait_state("rr", "Established", Duration::from_secs(20)));
    let first = rig.loadgen(n, 1, "1");
    let at = wait_mid_load(
        &rig.d,
        "feed",
        n as u64 / 10,
        n as u64,
        Duration::from_secs(120),
    );
    let mut first = first;
    first.signal(libc::SIGKILL);
    let _ = first.child.wait();
    let at =
        at.unwrap_or_else(|| panic!("not killed mid-load: received {}", received(&rig.d, "feed")));
    // Without graceful restart everything it sent goes.
    let emptied = rig
        .rr
        .wait_until(Duration::from_secs(60), Duration::from_millis(500), |t| {
            t.len() == 1 && t.contains_key(&originated())
        });
    let restarted = Instant::now();
    let _second = rig.loadgen(n, 2, "2");
    let want = loadgen_expected(n, 2);
    let exact = wait_exact(
        &rig.rr,
        &want,
        Duration::from_secs(if full() { 600 } else { 180 }),
    );
    let secs = restarted.elapsed().as_secs_f64();
    let pid = rig.d.proc.pid();
    note(&format!(
        "F2 without graceful restart: loadgen killed after {at} of {n} prefixes; the internal \
         neighbor emptied: {emptied}; new table ({} prefixes) exact after {secs:.1} s: {exact}; \
         sessions disturbed: {}; peak RSS {} kB",
        want.len(),
        u64::from(rig.rr.sessions() != 1),
        proc_status_kb(pid, "VmHWM:"),
    ));
    assert!(
        emptied,
        "the dead feed's routes stayed: {} held",
        rig.rr.len()
    );
    assert!(exact, "{}", table_diff(&rig.rr, &want));
    assert_eq!(rig.rr.sessions(), 1, "the internal session was reset");
    assert_eq!(rig.d.ups("rr"), 1.0);
    rig.assert_sound();
}

/// F2 with graceful restart: BIRD dies mid-load, its routes stay (stale)
/// meanwhile, and it comes back (`bird -R`) with half of them plus new
/// ones and different attributes; after its End-of-RIB the internal
/// neighbor holds exactly the new table.
#[test]
fn f2_bird_restarting_mid_load_with_graceful_restart_leaves_exactly_the_new_table() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let n = bird_routes();
    let mut rig = Rig::start(Some((0..n, true)), "");
    let at = wait_mid_load(
        &rig.d,
        "bird",
        u64::from(n) / 10,
        u64::from(n),
        Duration::from_secs(120),
    );
    let mut bird = rig.bird.take().expect("bird");
    bird.proc.signal(libc::SIGKILL);
    let _ = bird.proc.child.wait();
    let killed = Instant::now();
    let at =
        at.unwrap_or_else(|| panic!("not killed mid-load: received {}", received(&rig.d, "bird")));
    // While BIRD is away its routes are kept (stale), not withdrawn.
    let down = wait_for(Duration::from_secs(10), || {
        (rig.d.neighbor("bird")?["state"] != "Established").then_some(())
    });
    assert!(down.is_some(), "the daemon did not notice BIRD's death");
    std::thread::sleep(Duration::from_secs(1));
    let kept = received(&rig.d, "bird");
    let held_meanwhile = rig.rr.len();
    let (_, withdrawn_meanwhile) = rig.rr.counts();
    // BIRD sends in its own order: ask about a route it did send.
    let sample = rig.rr.with_table(|t| {
        t.keys()
            .find(|p| match p {
                Prefix::V4(v) => {
                    let i = u32::from(v.network()).wrapping_sub(0x2E00_0000) >> 8;
                    i < n && **p == Prefix::V4(bird_prefix(i))
                }
                Prefix::V6(_) => false,
            })
            .copied()
    });
    let stale = sample.and_then(|p| {
        rig.d
            .get(&format!("/api/v1/routes?prefix={p}&status=all"))
            .as_array()
            .and_then(|a| a.first().map(|r| r["status"].clone()))
    });

    // Back with routes n/2..n+n/2 (MED + 1,000,000): the first half goes,
    // the second stays with new attributes, the third half is new.
    let new_range = n / 2..n + n / 2;
    let bird2 = peers::bird_with_args(
        &bird_config(rig.bird_port, rig.port, new_range.clone(), 1_000_000, true),
        &["-R"],
    );
    let want: HashSet<Prefix> = new_range
        .clone()
        .map(|i| Prefix::V4(bird_prefix(i)))
        .chain([originated()])
        .collect();
    let exact = rig.rr.wait_until(
        Duration::from_secs(if full() { 600 } else { 180 }),
        Duration::from_secs(1),
        |t| {
            t.len() == want.len()
                && new_range.clone().all(|i| {
                    t.get(&Prefix::V4(bird_prefix(i)))
                        .is_some_and(|r| r.med == Some(i + 1_000_000))
                })
        },
    );
    let secs = killed.elapsed().as_secs_f64();
    let eor = rig
        .d
        .log()
        .lines()
        .any(|l| l.contains("bird") && l.to_lowercase().contains("end-of-rib"));
    let pid = rig.d.proc.pid();
    note(&format!(
        "F2 with graceful restart (BIRD -R): killed after {at} of {n} routes; while away {kept} kept \
         (status {stale:?}), internal neighbor held {held_meanwhile} with {withdrawn_meanwhile} \
         withdrawals; back with {} routes ({} new): internal neighbor exact {secs:.1} s after the \
         kill: {exact}; sessions disturbed: {}; peak RSS {} kB",
        want.len(),
        n / 2,
        u64::from(rig.rr.sessions() != 1),
        proc_status_kb(pid, "VmHWM:"),
    ));
    let _ = eor;
    assert!(
        kept >= at,
        "routes withdrawn while BIRD was away: {kept} < {at}"
    );
    assert_eq!(
        withdrawn_meanwhile, 0,
        "the internal neighbor got withdrawals during the restart"
    );
    assert_eq!(
        stale.as_ref().and_then(|s| s.as_str()),
        Some("stale"),
        "route status while BIRD is away"
    );
    assert!(
        exact,
        "{}\n{}",
        table_diff(&rig.rr, &want),
        bird2
            .proc
            .log_text()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(rig.rr.sessions(), 1, "the internal session was reset");
    rig.assert_sound();
}

/// F2 with BIRD and the same table: BIRD (with or without graceful
/// restart) killed as soon as part of its table has arrived and started
/// again (a fresh start, no `-R`); the internal neighbor ends with exactly
/// the table.
fn bird_restarting_mid_load_with_the_same_table(gr: bool) {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let n = bird_routes();
    let mut rig = Rig::start(Some((0..n, gr)), "");
    let partial = wait_for(Duration::from_secs(60), || {
        let got = rig.d.neighbor("bird")?["prefixes_received"].as_u64()?;
        (got > 0).then_some(got)
    });
    let bird = rig.bird.take().expect("bird");
    assert!(partial.is_some(), "{}", bird.proc.log_text());
    bird.proc.signal(libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(500));
    let restarted = Instant::now();
    let _bird = Bird::start(&bird_config(rig.bird_port, rig.port, 0..n, 0, gr));
    drop(bird);
    let want: HashSet<Prefix> = (0..n)
        .map(|i| Prefix::V4(bird_prefix(i)))
        .chain([originated()])
        .collect();
    let exact = wait_exact(&rig.rr, &want, Duration::from_secs(120));
    let accepted = received(&rig.d, "bird");
    note(&format!(
        "F2 BIRD restart during the load ({} graceful restart, same table): killed after {} of {n} \
         routes; the internal neighbor holds exactly the table {:.1} s after the restart: {exact}",
        if gr { "with" } else { "without" },
        partial.unwrap_or(0),
        restarted.elapsed().as_secs_f64(),
    ));
    assert!(exact, "{}\n{}", table_diff(&rig.rr, &want), rig.d.log());
    let accepted_now = rig
        .d
        .neighbor("bird")
        .and_then(|x| x["prefixes_accepted"].as_u64())
        .unwrap_or(0);
    assert_eq!(
        accepted_now,
        u64::from(n),
        "accepted from BIRD ({accepted} received)"
    );
    rig.assert_sound();
}

#[test]
fn f2_bird_restarting_mid_load_without_graceful_restart_ends_with_exactly_the_same_table() {
    bird_restarting_mid_load_with_the_same_table(false);
}

#[test]
fn f2_bird_restarting_mid_load_with_graceful_restart_ends_with_exactly_the_same_table() {
    bird_restarting_mid_load_with_the_same_table(true);
}

const GR_PEER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 66);
const GR_PREFIXES: u32 = 1_000;

fn gr_prefix(i: u32) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(0x2F00_0000 + (i << 8)), 24).expect("prefix")
}

/// Announces routes `range` (one UPDATE each, MED = `med`).
fn announce(p: &BgpPeer, range: std::ops::Range<u32>, med: u32) {
    let attrs = [
        raw::origin(false),
        raw::as_path(&[3257], false),
        raw::next_hop(GR_PEER, false),
        raw::med(med),
    ]
    .concat();
    let bytes: Vec<u8> = range
        .flat_map(|i| raw::update(&[], &attrs, &[gr_prefix(i)]))
        .collect();
    p.send_raw(&bytes).expect("announce");
}

/// End-of-RIB for IPv4 unicast: an empty UPDATE.
fn end_of_rib(p: &BgpPeer) {
    p.send_raw(&raw::update(&[], &[], &[])).expect("End-of-RIB");
}

/// A raw graceful-restart peer announces routes 0..1000 and dies; returns
/// the rig once the internal neighbor holds them and the session is down.
fn gr_rig_with_stale_routes() -> (Rig, SocketAddr) {
    let extra = format!(
        r#"
[[neighbors]]
name = "gr"
address = "{GR_PEER}"
remote_as = 3257
location = "ams"
role = "transit"
import_policy = "accept-all"
passive = true
families = ["ipv4"]
"#
    );
    let rig = Rig::start(None, &extra);
    let daemon = rig.daemon_addr();
    let mut spec = OpenSpec::new(3257, GR_PEER);
    spec.graceful_restart = Some(graceful_restart(120, false, true));
    let p = BgpPeer::connect(GR_PEER, daemon, &spec, Duration::from_secs(10)).expect("gr peer");
    announce(&p, 0..GR_PREFIXES, 1);
    end_of_rib(&p);
    assert!(
        rig.rr
            .wait_until(Duration::from_secs(30), Duration::from_millis(300), |t| t
                .len()
                == GR_PREFIXES as usize + 1),
        "{} held",
        rig.rr.len()
    );
    p.crash();
    let down = wait_for(Duration::from_secs(10), || {
        (rig.d.neighbor("gr")?["state"] != "Established").then_some(())
    });
    assert!(
        down.is_some(),
        "{:?}\n{}",
        rig.d.neighbor("gr"),
        rig.d.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        rig.rr.len(),
        GR_PREFIXES as usize + 1,
        "stale routes kept while the peer is away"
    );
    (rig, daemon)
}

/// F2, RFC 4724 §4.2 with the Forwarding State kept: the returning peer
/// (R and F bits set) sends routes 500..1500 and only then End-of-RIB; its
/// stale routes 0..500 stay until that End-of-RIB and go with it.
#[test]
fn f2_graceful_restart_stale_routes_stay_until_end_of_rib_when_forwarding_state_is_kept() {
    let (rig, daemon) = gr_rig_with_stale_routes();
    let mut spec = OpenSpec::new(3257, GR_PEER);
    spec.graceful_restart = Some(graceful_restart(120, true, true));
    let p =
        BgpPeer::connect(GR_PEER, daemon, &spec, Duration::from_secs(10)).expect("gr peer back");
    announce(&p, 500..1500, 2);
    let before_eor = rig
        .rr
        .wait_until(Duration::from_secs(20), Duration::from_millis(500), |t| {
            t.len() == 1501
                && (500..1500).all(|i| {
                    t.get(&Prefix::V4(gr_prefix(i)))
                        .is_some_and(|r| r.med == Some(2))
                })
        });
    end_of_rib(&p);
    let want: HashSet<Prefix> = (500..1500)
        .map(|i| Prefix::V4(gr_prefix(i)))
        .chain([originated()])
        .collect();
    let after_eor = wait_exact(&rig.rr, &want, Duration::from_secs(20));
    note(&format!(
        "F2 graceful restart, F bit set: stale routes kept until End-of-RIB: {before_eor}; swept at \
         End-of-RIB, exact table: {after_eor}; sessions disturbed: {}; peak RSS {} kB",
        u64::from(rig.rr.sessions() != 1),
        proc_status_kb(rig.d.proc.pid(), "VmHWM:")
    ));
    assert!(before_eor, "before End-of-RIB: {} held", rig.rr.len());
    assert!(
        after_eor,
        "after End-of-RIB: {}",
        table_diff(&rig.rr, &want)
    );
    assert_eq!(rig.rr.sessions(), 1);
}

/// F2, RFC 4724 §4.2: "if the Forwarding State bit for a specific address
/// family is not set in the newly received Graceful Restart Capability,
/// … or if the Graceful Restart Capability is not received in the
/// re-established session at all, then the Receiving Speaker MUST
/// immediately remove all the stale routes from the peer that it is
/// retaining for that address family." Both ways back are checked; the
/// returning peer announces routes 500..1500 and sends no End-of-RIB.
#[test]
fn f2_graceful_restart_stale_routes_go_at_once_when_the_peer_returns_without_forwarding_state() {
    let mut outcomes = Vec::new();
    for (case, gr) in [
        ("F bit clear", Some(graceful_restart(120, true, false))),
        ("no Graceful Restart Capability", None),
    ] {
        let (rig, daemon) = gr_rig_with_stale_routes();
        let mut spec = OpenSpec::new(3257, GR_PEER);
        spec.graceful_restart = gr;
        let p = BgpPeer::connect(GR_PEER, daemon, &spec, Duration::from_secs(10))
            .expect("gr peer back");
        announce(&p, 500..1500, 2);
        let want: HashSet<Prefix> = (500..1500)
            .map(|i| Prefix::V4(gr_prefix(i)))
            .chain([originated()])
            .collect();
        let exact = wait_exact(&rig.rr, &want, Duration::from_secs(10));
        let peak = proc_status_kb(rig.d.proc.pid(), "VmHWM:");
        outcomes.push(format!(
            "{case} (peak RSS {peak} kB): {}",
            if exact {
                "stale routes removed".to_string()
            } else {
                format!("stale routes kept: {}", table_diff(&rig.rr, &want))
            }
        ));
        drop(p);
    }
    note(&format!(
        "F2 graceful restart without Forwarding State: {}",
        outcomes.join("; ")
    ));
    assert!(
        outcomes.iter().all(|o| o.ends_with("stale routes removed")),
        "{outcomes:?}"
    );
}

/// The prefix F3's reloaded configs originate.
const RELOAD_ORIGINATED: &str = "45.250.0.0/24";

/// F3: SIGHUPs with a changed config while a full table loads.
#[test]
fn f3_sighup_during_a_full_table_load_resets_nothing_and_the_load_completes() {
    let n = table_size();
    let mut rig = Rig::start(None, "");
    assert!(rig
        .d
        .wait_state("rr", "Established", Duration::from_secs(20)));
    let started = Instant::now();
    let _feed = rig.loadgen(n, 3, "3");
    let at = wait_mid_load(
        &rig.d,
        "feed",
        n as u64 / 10,
        n as u64,
        Duration::from_secs(120),
    )
    .unwrap_or_else(|| panic!("no SIGHUP mid-load: received {}", received(&rig.d, "feed")));
    // Five reloads during the load: a neighbor added, registered prefixes
    // changed and a prefix originated (none needs a new session).
    let changed = |k: usize| {
        format!(
            r#"
[[originate]]
prefix = "{RELOAD_ORIGINATED}"

[[neighbors]]
name = "added-{k}"
address = "127.0.0.{}"
remote_as = 3257
location = "ams"
role = "transit"
passive = true

[[registered_prefixes]]
prefix = "203.0.{k}.0/24"
peer_asn = 3257
primary = "ams"
backup = "none"
"#,
            70 + k
        )
    };
    for k in 0..5 {
        rig.d.reload(&rig.config(&changed(k)));
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = neighbor(&rig.d, "feed")
        .and_then(|n| n["prefixes_received"].as_u64())
        .map_or("(the API did not answer)".to_string(), |n| n.to_string());
    // The table, and the prefix the new config originates.
    let mut want = loadgen_expected(n, 3);
    want.insert(RELOAD_ORIGINATED.parse().expect("prefix"));
    let exact = wait_exact(
        &rig.rr,
        &want,
        Duration::from_secs(if full() { 600 } else { 180 }),
    );
    let secs = started.elapsed().as_secs_f64();
    let (reloads, failed) = reloads(&rig.d);
    let added = neighbor(&rig.d, "added-4").is_some();
    let pid = rig.d.proc.pid();
    note(&format!(
        "F3 SIGHUP during the load: 5 reloads at {at}..{} of {n} prefixes received ({reloads} applied, \
         {failed} refused); load complete and exact after {secs:.1} s: {exact}; sessions disturbed: {}; \
         peak RSS {} kB",
        after,
        u64::from(rig.d.ups("feed") != 1.0) + u64::from(rig.rr.sessions() != 1),
        proc_status_kb(pid, "VmHWM:"),
    ));
    assert!(exact, "{}", table_diff(&rig.rr, &want));
    assert_eq!(rig.d.ups("feed"), 1.0, "the feed session was reset");
    assert_eq!(rig.d.ups("rr"), 1.0, "the internal session was reset");
    assert_eq!(rig.rr.sessions(), 1);
    assert_eq!(failed, 0);
    assert!(
        reloads >= 1 && added,
        "the last config was not applied ({reloads} reloads)"
    );
    rig.assert_sound();
}

/// F4: 100 SIGHUPs in 10 s.
#[test]
fn f4_a_hundred_sighups_in_ten_seconds_reset_nothing_and_leak_nothing() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    // Every reload re-applies the policy to the whole Adj-RIB-In.
    let n = if full() { 100_000 } else { 5_000 };
    let mut rig = Rig::start(Some((0..2_000, false)), "");
    let _feed = rig.loadgen(n, 4, "4");
    let want_feed = loadgen_expected(n, 4);
    let bird_routes: HashSet<Prefix> = (0..2_000).map(|i| Prefix::V4(bird_prefix(i))).collect();
    let want: HashSet<Prefix> = want_feed.union(&bird_routes).copied().collect();
    assert!(
        wait_exact(&rig.rr, &want, Duration::from_secs(120)),
        "before: {}",
        table_diff(&rig.rr, &want)
    );
    let bird = rig.bird.take().expect("bird");
    let bird_changes = bird_state_changes(&bird);
    let pid = rig.d.proc.pid();
    let base = rig.config("");
    // B: a BFD neighbor (its session and sockets come and go), a
    // registered prefix, and a max-prefix warning on the feed.
    let other = rig.config(
        r#"
[[neighbors]]
name = "extra"
address = "127.0.4.1"
remote_as = 3257
location = "ams"
role = "transit"
passive = true
bfd = { min_tx_ms = 300, min_rx_ms = 300, multiplier = 3 }

[[registered_prefixes]]
prefix = "203.0.113.0/24"
peer_asn = 3257
primary = "ams"
backup = "none"
"#,
    )
    .replace(
        "name = \"feed\"",
        "name = \"feed\"\nmax_prefixes = { limit = 2000000, warn_percent = 90, action = \"warn\" }",
    );
    // Warm-up: one round trip through both configs, so that what a reload
    // allocates once (the BFD service thread, its sockets) is counted in
    // the baseline.
    for cfg in [&other, &base] {
        rig.d.reload(cfg);
        std::thread::sleep(Duration::from_millis(1500));
    }
    let settle = || {
        std::thread::sleep(Duration::from_secs(3));
    };
    settle();
    let fds_before = open_fds(pid);
    let fd_list_before = peers::fd_targets(pid);
    let rss_before = proc_status_kb(pid, "VmRSS:");
    let reloads_before = reloads(&rig.d).0;
    // The API, sampled every 50 ms from the first SIGHUP until the last
    // config is in force.
    let stop = peers::StopFlag::default();
    let sampler = {
        let (stop, api) = (stop.flag(), rig.d.api);
        std::thread::spawn(move || {
            let (mut lat, mut failed) = (Vec::new(), 0u32);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                match http_get(api, "/api/v1/neighbors") {
                    Some((200, _)) => {}
                    _ => failed += 1,
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                if let Some(rest) = Duration::from_millis(50).checked_sub(t.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            (lat, failed)
        })
    };
    let started = Instant::now();
    for k in 0..100 {
        rig.d.reload(if k % 2 == 0 { &other } else { &base });
        let next = started + Duration::from_millis(100 * (k + 1));
        if let Some(rest) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(rest);
        }
    }
    let took = started.elapsed().as_secs_f64();
    // The last one applied base (the `extra` neighbor is gone).
    let last_applied = wait_for(Duration::from_secs(60), || {
        let (code, body) = http_get(rig.d.api, "/api/v1/neighbors")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| code == 200)?;
        (!v.as_array()?.iter().any(|n| n["name"] == "extra")).then_some(())
    });
    let applied_secs = started.elapsed().as_secs_f64();
    stop.stop();
    let (mut lat, api_failed) = sampler.join().expect("sampler");
    let api_samples = lat.len();
    let api_p99 = peers::percentile(&mut lat, 99.0);
    let api_max = lat.last().copied().unwrap_or(f64::NAN);
    settle();
    let (reloads, failed) = reloads(&rig.d);
    let reloads = reloads - reloads_before;
    // (An API request of our own may still be closing: give it a moment.)
    let _ = wait_for(Duration::from_secs(10), || {
        (open_fds(pid) <= fds_before).then_some(())
    });
    let fds_after = open_fds(pid);
    let rss_after = proc_status_kb(pid, "VmRSS:");
    let table_ok = wait_exact(&rig.rr, &want, Duration::from_secs(30));
    let disturbed: Vec<&str> = ["bird", "feed", "rr"]
        .into_iter()
        .filter(|n| rig.d.ups(n) != 1.0)
        .collect();
    note(&format!(
        "F4: 100 SIGHUPs in {took:.1} s ({reloads} reloads applied, {failed} refused; a BFD neighbor \
         added and removed 50 times), the last in force {applied_secs:.1} s after the first; API \
         meanwhile: p99 {api_p99:.0} ms, max {api_max:.0} ms, {api_failed} of {api_samples} \
         requests failed; sessions disturbed: {}; BIRD state changes {}; fds {fds_before} -> \
         {fds_after}; RSS {rss_before} -> {rss_after} kB, peak {} kB; table exact: {table_ok}",
        disturbed.len(),
        bird_state_changes(&bird) - bird_changes,
        proc_status_kb(pid, "VmHWM:"),
    ));
    assert!(last_applied.is_some(), "the last config was not applied");
    assert!(disturbed.is_empty(), "sessions reset: {disturbed:?}");
    assert_eq!(
        bird_state_changes(&bird),
        bird_changes,
        "BIRD saw its session change state"
    );
    assert_eq!(rig.rr.sessions(), 1);
    assert!(table_ok, "{}", table_diff(&rig.rr, &want));
    assert_eq!(failed, 0);
    assert!(reloads >= 1);
    assert!(
        fds_after <= fds_before,
        "file descriptors leaked: {fds_before} -> {fds_after}: before {fd_list_before:?}, after {:?}\n{}",
        peers::fd_targets(pid),
        String::from_utf8_lossy(&Command::new("ss").args(["-tuanp"]).output().map(|o| o.stdout).unwrap_or_default())
            .lines()
            .filter(|l| l.contains(&format!("pid={pid},")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        rss_after <= rss_before + rss_before / 4 + 4096,
        "RSS grew: {rss_before} -> {rss_after} kB"
    );
    assert!(rig.d.alive(), "{}", rig.d.log());
}

/// F3/F4: `coldpotato_config_reloads_total{result="success"}` counts each
/// applied reload once.
#[test]
fn f3_an_applied_reload_is_counted_once_in_the_reload_metric() {
    let mut rig = Rig::start(None, "");
    let changed = rig.config(
        r#"
[[registered_prefixes]]
prefix = "203.0.113.0/24"
peer_asn = 3257
primary = "ams"
backup = "none"
"#,
    );
    rig.d.reload(&changed);
    let applied = wait_for(Duration::from_secs(20), || {
        (reloads(&rig.d).0 == 1).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    let counted = metric_sum(
        rig.d.api,
        "coldpotato_config_reloads_total",
        &["result=\"success\""],
    );
    note(&format!("F3 reload metric: 1 reload applied, coldpotato_config_reloads_total{{result=\"success\"}} = {counted}"));
    assert!(applied.is_some(), "{}", rig.d.log());
    assert_eq!(counted, 1.0, "one reload, counted {counted} times");
    assert!(rig.d.alive());
}
