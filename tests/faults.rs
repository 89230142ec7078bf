//! Faults (issue 11), with the real daemon between a real BIRD 2 feeding a
//! table (static routes over eBGP) and an internal neighbor that counts what
//! it holds (`coldpotato sink`):
//! - `kill -9` of the daemon and a restart: the sessions return and the RIB
//!   is rebuilt;
//! - the feeding peer killed and restarted while its table is loading,
//!   without and with graceful restart (RFC 4724): the internal neighbor
//!   ends with exactly the table;
//! - SIGHUP (a changed config) during the load: nothing resets, the table
//!   arrives whole;
//! - 100 SIGHUPs in 10 s: no session reset, no file descriptor or memory
//!   growth.
//!
//! `COLDPOTATO_FAULT_ROUTES` sets the table size (default 20,000, what a
//! debug build loads in a few seconds).

mod common;

use common::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
const BIRD_AS: u32 = 3356;
const BIRD_ADDR: &str = "127.0.0.61";
const SINK_ADDR: &str = "127.0.0.62";

fn routes() -> usize {
    std::env::var("COLDPOTATO_FAULT_ROUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn bird_config(bird_port: u16, our_port: u16, n: usize, gr: bool) -> String {
    let mut statics = String::with_capacity(n * 40);
    for i in 0..n {
        statics.push_str(&format!(
            "route 44.{}.{}.0/24 unreachable;\n",
            (i >> 8) & 0xff,
            i & 0xff
        ));
        if i >= 65_535 {
            break;
        }
    }
    for i in 65_536..n {
        statics.push_str(&format!(
            "route 45.{}.{}.{}/32 unreachable;\n",
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff
        ));
    }
    let gr = if gr { "on" } else { "off" };
    format!(
        r#"
router id {BIRD_ADDR};
protocol device {{}}
protocol static s4 {{ ipv4; {statics} }}
protocol bgp feed {{
  local {BIRD_ADDR} port {bird_port} as {BIRD_AS};
  neighbor 127.0.0.1 port {our_port} as {OUR_AS};
  strict bind on;
  passive on;
  multihop;
  hold time 9;
  graceful restart {gr};
  ipv4 {{ import none; export all; }};
}}
"#
    )
}

fn config(port: u16, api: u16, bird_port: u16, sink_port: u16, extra: &str) -> String {
    format!(
        r#"
[router]
asn = {OUR_AS}
router_id = "127.0.0.1"
listen = ["127.0.0.1:{port}"]
location = "ams"

[api]
listen = "127.0.0.1:{api}"

[[locations]]
name = "ams"

[[neighbors]]
name = "bird"
address = "{BIRD_ADDR}"
port = {bird_port}
remote_as = {BIRD_AS}
location = "ams"
role = "transit"
import_policy = "accept-all"
families = ["ipv4"]

[[neighbors]]
name = "sink"
address = "{SINK_ADDR}"
port = {sink_port}
remote_as = {OUR_AS}
location = "ams"
role = "internal"
families = ["ipv4"]
{extra}"#
    )
}

/// The daemon, BIRD and the sink of one test.
struct Rig {
    d: Daemon,
    bird: Bird,
    _sink: Proc,
    sink_log: PathBuf,
    ports: (u16, u16, u16, u16),
    n: usize,
}

impl Rig {
    fn start(gr: bool) -> Rig {
        let n = routes();
        let ports = (free_port(), free_port(), free_port(), free_port());
        let (port, api, bird_port, sink_port) = ports;
        let d = Daemon::start(
            &config(port, api, bird_port, sink_port, ""),
            SocketAddr::from(([127, 0, 0, 1], api)),
        );
        let mut sink = Command::new(env!("CARGO_BIN_EXE_coldpotato"));
        sink.args([
            "sink",
            "--listen",
            &format!("{SINK_ADDR}:{sink_port}"),
            "--asn",
            &OUR_AS.to_string(),
            "--every-ms",
            "200",
        ]);
        let sink_log = d.dir.path().join("sink.log");
        let sink = Proc::spawn("sink", sink, sink_log.clone());
        let bird = Bird::start(&bird_config(bird_port, port, n, gr));
        Rig {
            d,
            bird,
            _sink: sink,
            sink_log,
            ports,
            n,
        }
    }

    /// Prefixes the sink holds now.
    fn held(&self) -> Option<usize> {
        let log = std::fs::read_to_string(&self.sink_log).unwrap_or_default();
        let l = log.lines().rev().find(|l| l.contains("held="))?;
        l.split("held=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Waits until the daemon accepted the whole table and the sink holds
    /// exactly it (plus `ours` originated prefixes); returns the seconds it
    /// took.
    fn complete(&self, within: Duration) -> f64 {
        self.complete_with(within, 0)
    }

    fn complete_with(&self, within: Duration, ours: usize) -> f64 {
        let t0 = Instant::now();
        let done = wait_for(within, || {
            let nb = self.d.neighbor("bird")?;
            let accepted = nb["prefixes_accepted"].as_u64()? as usize;
            (accepted == self.n && self.held()? == self.n + ours).then_some(())
        });
        assert!(
            done.is_some(),
            "table not complete: bird {:?}, sink held {:?} of {}\n{}",
            self.d
                .neighbor("bird")
                .map(|n| n["prefixes_accepted"].clone()),
            self.held(),
            self.n,
            self.d.log()
        );
        t0.elapsed().as_secs_f64()
    }

    fn ups(&self, name: &str) -> f64 {
        metric_sum(
            self.d.api,
            "coldpotato_session_established_total",
            &[&format!("neighbor=\"{name}\"")],
        )
    }
}

#[test]
fn kill_9_and_restart_brings_the_sessions_and_the_rib_back() {
    if !need(&["bird"], false) {
        return;
    }
    let mut rig = Rig::start(false);
    let first = rig.complete(Duration::from_secs(120));
    let (port, api, bird_port, sink_port) = rig.ports;
    rig.d.proc.signal(libc::SIGKILL);
    let _ = rig.d.proc.terminate(Duration::from_secs(5));
    // The same config again; the sink, left alone, takes the new session.
    let t0 = Instant::now();
    let d = Daemon::start(
        &config(port, api, bird_port, sink_port, ""),
        SocketAddr::from(([127, 0, 0, 1], api)),
    );
    let old = std::mem::replace(&mut rig.d, d);
    drop(old);
    let up = wait_for(Duration::from_secs(60), || {
        let nb = rig.d.neighbor("bird")?;
        (nb["state"] == "Established" && nb["prefixes_accepted"].as_u64()? as usize == rig.n)
            .then_some(())
    });
    assert!(
        up.is_some(),
        "after kill -9: {:?}\n{}",
        rig.d.neighbor("bird"),
        rig.bird.proc.log_text()
    );
    let rebuilt = t0.elapsed().as_secs_f64();
    let routes = rig
        .d
        .get("/api/v1/routes")
        .as_array()
        .map_or(0, |a| a.len());
    assert_eq!(routes, rig.n, "the RIB holds the whole table again");
    note(&format!(
        "fault kill -9: {} routes; first load {first:.1} s; after kill -9 and restart, BIRD's \
         session and the whole RIB back in {rebuilt:.1} s",
        rig.n
    ));
}

fn peer_restarts_during_the_load(gr: bool) {
    if !need(&["bird"], false) {
        return;
    }
    let rig = Rig::start(gr);
    // Kill BIRD as soon as part of the table has arrived.
    let partial = wait_for(Duration::from_secs(60), || {
        let got = rig.d.neighbor("bird")?["prefixes_received"].as_u64()?;
        (got > 0).then_some(got)
    });
    assert!(partial.is_some(), "{}", rig.bird.proc.log_text());
    rig.bird.proc.signal(libc::SIGKILL);
    let (port, _, bird_port, _) = rig.ports;
    std::thread::sleep(Duration::from_millis(500));
    let mut rig = rig;
    let old = std::mem::replace(
        &mut rig.bird,
        Bird::start(&bird_config(bird_port, port, rig.n, gr)),
    );
    drop(old);
    let took = rig.complete(Duration::from_secs(120));
    // With graceful restart the routes were kept stale meanwhile: nothing
    // was withdrawn toward the internal neighbor that is not there now.
    assert_eq!(rig.held(), Some(rig.n));
    note(&format!(
        "fault peer restart during the load ({} graceful restart): killed after {} of {} \
         routes; the internal neighbor holds exactly the table {took:.1} s after the restart",
        if gr { "with" } else { "without" },
        partial.unwrap_or(0),
        rig.n
    ));
}

#[test]
fn the_peer_restarting_mid_load_without_graceful_restart_ends_with_the_exact_table() {
    peer_restarts_during_the_load(false);
}

#[test]
fn the_peer_restarting_mid_load_with_graceful_restart_ends_with_the_exact_table() {
    peer_restarts_during_the_load(true);
}

#[test]
fn sighup_during_a_load_and_100_sighups_reset_nothing_and_leak_nothing() {
    if !need(&["bird"], false) {
        return;
    }
    let rig = Rig::start(false);
    let (port, api, bird_port, sink_port) = rig.ports;
    let changed = config(
        port,
        api,
        bird_port,
        sink_port,
        "\n[[originate]]\nprefix = \"45.250.0.0/24\"\n",
    );
    // A changed config as soon as the load has begun.
    let begun = wait_for(Duration::from_secs(60), || {
        (rig.d.neighbor("bird")?["prefixes_received"].as_u64()? > 0).then_some(())
    });
    assert!(begun.is_some());
    rig.d.reload(&changed);
    // The table, plus the prefix the new config originates.
    rig.complete_with(Duration::from_secs(120), 1);
    assert_eq!((rig.ups("bird"), rig.ups("sink")), (1.0, 1.0), "no reset");

    // 100 SIGHUPs in 10 s, alternating two configs.
    let pid = rig.d.proc.pid();
    std::thread::sleep(Duration::from_secs(2));
    let (fds0, rss0) = (open_fds(pid), proc_status_kb(pid, "VmRSS:"));
    let plain = config(port, api, bird_port, sink_port, "");
    for i in 0..100 {
        rig.d.reload(if i % 2 == 0 { &plain } else { &changed });
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    let (fds1, rss1) = (open_fds(pid), proc_status_kb(pid, "VmRSS:"));
    assert_eq!((rig.ups("bird"), rig.ups("sink")), (1.0, 1.0), "no reset");
    // The last reload was `changed` (i = 99): the table plus our prefix.
    let settled = wait_for(Duration::from_secs(15), || {
        (rig.held() == Some(rig.n + 1)).then_some(())
    });
    assert!(
        settled.is_some(),
        "the internal neighbor holds {:?}, not the table and our prefix ({})",
        rig.held(),
        rig.n + 1
    );
    assert!(fds1 <= fds0 + 2, "file descriptors {fds0} -> {fds1}");
    assert!(
        rss1 < rss0 + rss0 / 4 + 4096,
        "RSS {rss0} -> {rss1} kB after 100 reloads"
    );
    note(&format!(
        "fault SIGHUP: one during the load, then 100 in 10 s: no session reset, fds {fds0} -> \
         {fds1}, RSS {rss0} -> {rss1} kB"
    ));
}
