//! BMP from the real daemon to a real collector: `coldpotato run` with a
//! `[[bmp]]` collector, Debian's pmacct `pmbmpd` logging every BMP message
//! it decodes as JSON lines, and BIRD 2 as a transit neighbor announcing a
//! table of which 1 % are bogons (rejected by our transit rules). From
//! pmbmpd's log: Peer Up (BIRD's session and our Loc-RIB instance), the
//! pre-policy table in full, the post-policy and Loc-RIB tables without the
//! rejected routes, Statistics with type 0 counting them, one withdrawal in
//! all three views; the collector restarting gets a new full dump; BIRD
//! stopping gives a Peer Down. As root with tshark, the BMP stream is
//! captured on `lo` and decoded: tshark sees every message type, and no
//! malformed frame but for two known gaps of tshark 4.0 (see below).
//! A reload adds a collector (a BMP session starts) and removes it
//! (Termination).
//!
//! Size: `COLDPOTATO_BMP_PREFIXES` (default 10,000).

mod common;

use common::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIRD_AS: u32 = 3356;

fn prefixes() -> usize {
    std::env::var("COLDPOTATO_BMP_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The table: `n` /24s, the first `n / 100` in 10.0.0.0/8 (bogons), the
/// rest from 45.0.0.0 up; `skip` leaves one out (the withdrawal).
fn routes(n: usize, skip: Option<usize>) -> String {
    let mut s = String::new();
    for i in 0..n {
        if Some(i) == skip {
            continue;
        }
        let bogons = n / 100;
        let a = if i < bogons {
            0x0a00_0000u32 + ((i as u32) << 8)
        } else {
            0x2d00_0000u32 + (((i - bogons) as u32) << 8)
        };
        let ip = std::net::Ipv4Addr::from(a);
        s.push_str(&format!("  route {ip}/24 unreachable;\n"));
    }
    s
}

/// The first non-bogon prefix (the one withdrawn).
const WITHDRAWN: &str = "45.0.0.0/24";

fn bird_config(bird_port: u16, ours: u16, n: usize, skip: Option<usize>) -> String {
    format!(
        r#"
router id 127.0.0.2;
log stderr all;
protocol device {{ }}
protocol static s4 {{
  ipv4;
{routes}}}
protocol bgp cp4 {{
  local 127.0.0.2 port {bird_port} as {BIRD_AS};
  neighbor 127.0.0.1 port {ours} as 8075;
  multihop;
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 {{ import none; export all; }};
}}
"#,
        routes = routes(n, skip)
    )
}

fn pmbmpd(dir: &Path, port: u16, log: &Path) -> Proc {
    let conf = dir.join("pmbmpd.conf");
    std::fs::write(
        &conf,
        format!(
            "bmp_daemon_ip: 127.0.0.1\nbmp_daemon_port: {port}\n\
             bmp_daemon_msglog_file: {}\nbmp_daemon_msglog_output: json\n",
            log.display()
        ),
    )
    .expect("write pmbmpd config");
    let mut cmd = Command::new("pmbmpd");
    cmd.arg("-f").arg(&conf);
    let name = log
        .file_stem()
        .map_or("pmbmpd".into(), |s| s.to_string_lossy().to_string());
    let p = Proc::spawn("pmbmpd", cmd, dir.join(format!("{name}.out")));
    let up = wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| ())
    });
    assert!(up.is_some(), "pmbmpd did not listen: {}", p.log_text());
    p
}

/// What pmbmpd logged, counted: `bmp_msg_type` (route monitoring by view
/// and `log_type`), and the Statistics counters by type.
#[derive(Debug, Default)]
struct Seen {
    counts: HashMap<String, usize>,
    /// The latest value of each statistics type (and AFI, 0 for none) for
    /// the peer 127.0.0.2.
    stats: HashMap<(i64, i64), i64>,
    /// The same for the Loc-RIB instance.
    loc_stats: HashMap<(i64, i64), i64>,
    /// Route monitoring prefixes seen withdrawn, by view.
    withdrawn: HashMap<String, Vec<String>>,
}

impl Seen {
    fn get(&self, k: &str) -> usize {
        self.counts.get(k).copied().unwrap_or(0)
    }
}

fn read(log: &Path) -> Seen {
    let mut seen = Seen::default();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let t = v["bmp_msg_type"].as_str().unwrap_or("?").to_string();
        let truthy = |k: &str| v[k].as_i64() == Some(1) || v[k] == true;
        let key = match t.as_str() {
            "route_monitor" => {
                let view = if truthy("is_loc") {
                    "loc"
                } else if truthy("is_out") {
                    "out"
                } else if truthy("is_post") {
                    "post"
                } else {
                    "pre"
                };
                let lt = v["log_type"].as_str().unwrap_or("?");
                if lt == "withdraw" {
                    seen.withdrawn
                        .entry(view.to_string())
                        .or_default()
                        .push(v["ip_prefix"].as_str().unwrap_or("?").to_string());
                }
                format!("route_monitor/{view}/{lt}")
            }
            "stats" => {
                let afi = v["afi"].as_i64().unwrap_or(0);
                if let (Some(ty), Some(val)) =
                    (v["counter_type"].as_i64(), v["counter_value"].as_i64())
                {
                    if v["peer_type"].as_i64() == Some(3) {
                        seen.loc_stats.insert((ty, afi), val);
                    } else if v["peer_ip"] == "127.0.0.2" {
                        seen.stats.insert((ty, afi), val);
                    }
                }
                t
            }
            _ => t,
        };
        *seen.counts.entry(key).or_default() += 1;
    }
    seen
}

/// A tshark capture of the BMP port on `lo` (root only).
struct Capture {
    proc: Proc,
    file: PathBuf,
}

fn capture(dir: &Path, port: u16) -> Option<Capture> {
    if !is_root() || !have("tshark") {
        note("SKIPPED the tshark capture of the BMP stream (needs root and tshark)");
        return None;
    }
    let file = dir.join("bmp.pcapng");
    let mut cmd = Command::new("tshark");
    cmd.args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
        .arg(&file);
    let proc = Proc::spawn("tshark", cmd, dir.join("tshark.out"));
    // tshark says "Capturing on" once it listens (slow on a loaded host).
    let ok = wait_for(Duration::from_secs(30), || {
        proc.log_text().contains("Capturing on").then_some(())
    });
    assert!(ok.is_some(), "tshark did not start: {}", proc.log_text());
    Some(Capture { proc, file })
}

#[test]
fn pmacct_sees_peer_up_both_policies_loc_rib_stats_a_withdrawal_a_resync_and_peer_down() {
    if !need(&["pmbmpd", "bird", "birdc"], false) {
        return;
    }
    let n = prefixes();
    let bogons = n / 100;
    let dir = tempfile::tempdir().expect("tempdir");
    let (ours, api, bird_port, bmp_port) = (free_port(), free_port(), free_port(), free_port());
    let mut tap = capture(dir.path(), bmp_port);
    let log1 = dir.path().join("bmp1.json");
    let mut collector = pmbmpd(dir.path(), bmp_port, &log1);

    let cfg = DaemonConfig::new(8075, ours, api)
        .neighbor(
            &Neighbor::new("bird4", "127.0.0.2", BIRD_AS, "transit")
                .port(bird_port)
                .local_address("127.0.0.1")
                .ipv4(),
        )
        .append(&format!(
            "[[bmp]]\nname = \"pmacct\"\naddress = \"127.0.0.1:{bmp_port}\"\nstats_interval_s = 1\n"
        ));
    let d = cfg.start();
    let bird = Bird::start(&bird_config(bird_port, ours, n, None));
    assert!(
        d.wait_state("bird4", "Established", Duration::from_secs(30)),
        "{}",
        d.log()
    );

    // The table, in all three views; Statistics count the rejected routes.
    let started = Instant::now();
    let full = wait_for(Duration::from_secs(120), || {
        let s = read(&log1);
        (s.get("route_monitor/pre/update") >= n
            && s.get("route_monitor/loc/update") >= n - bogons
            && s.stats.get(&(0, 0)) == Some(&(bogons as i64))
            && s.stats.get(&(7, 0)) == Some(&(n as i64))
            && s.loc_stats.get(&(8, 0)) == Some(&((n - bogons) as i64)))
        .then_some(s)
    });
    let s = full.unwrap_or_else(|| read(&log1));
    note(&format!(
        "{n} prefixes: pmbmpd counts after {:?}: {:?}; stats {:?}",
        started.elapsed(),
        s.counts,
        s.stats
    ));
    assert_eq!(s.get("init"), 1, "{s:?}");
    // BIRD's session and the Loc-RIB instance (RFC 9069 §5.3).
    assert_eq!(s.get("peer_up"), 2, "{s:?}");
    assert_eq!(s.get("route_monitor/pre/update"), n, "{s:?}");
    assert_eq!(s.get("route_monitor/post/update"), n - bogons, "{s:?}");
    assert_eq!(s.get("route_monitor/loc/update"), n - bogons, "{s:?}");
    assert_eq!(
        s.get("route_monitor/out/update"),
        0,
        "adj_rib_out is off: {s:?}"
    );
    // Type 0: the routes import policy rejects; 7 and 9: the Adj-RIB-In
    // (IPv4); 8 and 10: the Loc-RIB.
    assert_eq!(
        s.stats.get(&(0, 0)),
        Some(&(bogons as i64)),
        "type 0: {s:?}"
    );
    assert_eq!(s.stats.get(&(7, 0)), Some(&(n as i64)), "type 7: {s:?}");
    assert_eq!(s.stats.get(&(9, 1)), Some(&(n as i64)), "type 9: {s:?}");
    let accepted = (n - bogons) as i64;
    assert_eq!(s.loc_stats.get(&(8, 0)), Some(&accepted), "type 8: {s:?}");
    assert_eq!(s.loc_stats.get(&(10, 1)), Some(&accepted), "type 10: {s:?}");

    // One withdrawal, seen in every view.
    std::fs::write(
        bird.dir.path().join("bird.conf"),
        bird_config(bird_port, ours, n, Some(bogons)),
    )
    .expect("rewrite bird.conf");
    let out = bird.cmd("configure");
    assert!(
        out.contains("Reconfigured") || out.contains("reconfigur"),
        "birdc configure: {out}"
    );
    let w = wait_for(Duration::from_secs(30), || {
        let s = read(&log1);
        (s.get("route_monitor/pre/withdraw") >= 1
            && s.get("route_monitor/post/withdraw") >= 1
            && s.get("route_monitor/loc/withdraw") >= 1)
            .then_some(s)
    });
    let s = w.unwrap_or_else(|| read(&log1));
    for view in ["pre", "post", "loc"] {
        assert_eq!(
            s.withdrawn.get(view).cloned().unwrap_or_default(),
            vec![WITHDRAWN.to_string()],
            "{view}: {s:?}"
        );
    }

    // The collector restarts: a new BMP session and a new full dump.
    drop(collector);
    let log2 = dir.path().join("bmp2.json");
    collector = pmbmpd(dir.path(), bmp_port, &log2);
    let again = wait_for(Duration::from_secs(90), || {
        let s = read(&log2);
        (s.get("route_monitor/pre/update") >= n - 1
            && s.get("route_monitor/loc/update") >= n - 1 - bogons)
            .then_some(s)
    });
    let s = again.unwrap_or_else(|| read(&log2));
    note(&format!("after the collector's restart: {:?}", s.counts));
    assert_eq!(s.get("init"), 1, "{s:?}");
    assert_eq!(s.get("peer_up"), 2, "{s:?}");
    assert_eq!(s.get("route_monitor/pre/update"), n - 1, "{s:?}");
    assert_eq!(s.get("route_monitor/post/update"), n - 1 - bogons, "{s:?}");
    assert_eq!(s.get("route_monitor/loc/update"), n - 1 - bogons, "{s:?}");

    // BIRD goes: Peer Down, and the Loc-RIB loses its routes.
    let mut bird = bird;
    bird.proc.terminate(Duration::from_secs(5));
    let down = wait_for(Duration::from_secs(30), || {
        let s = read(&log2);
        (s.get("peer_down") >= 1 && s.get("route_monitor/loc/withdraw") >= n - 1 - bogons)
            .then_some(s)
    });
    let s = down.unwrap_or_else(|| read(&log2));
    assert_eq!(s.get("peer_down"), 1, "{s:?}");
    assert_eq!(s.get("route_monitor/loc/withdraw"), n - 1 - bogons, "{s:?}");
    let sent = metric_sum(d.api, "coldpotato_bmp_messages_sent_total", &[]);
    note(&format!(
        "{n} prefixes: BMP messages written in all (both BMP sessions): {sent}; pmbmpd after the restart: {:?}",
        s.counts
    ));
    let resyncs = metric_sum(
        d.api,
        "coldpotato_bmp_resyncs_total",
        &["collector=\"pmacct\""],
    );
    assert!(
        resyncs >= 1.0,
        "the collector's restart is counted: {resyncs}"
    );

    if let Some(cap) = tap.as_mut() {
        std::thread::sleep(Duration::from_millis(500));
        cap.proc.signal(libc::SIGINT);
        let _ = cap.proc.terminate(Duration::from_secs(5));
        let file = cap.file.to_string_lossy().to_string();
        let port_arg = format!("tcp.port=={bmp_port},bmp");
        let decode = |extra: &[&str]| {
            let mut args = vec!["-r", file.as_str(), "-d", port_arg.as_str()];
            args.extend_from_slice(extra);
            let o = Command::new("tshark")
                .args(&args)
                .output()
                .expect("tshark runs");
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let _ = std::fs::copy(&cap.file, "/tmp/bmp_daemon_last.pcapng");
        // tshark 4.0 has two gaps, each ending its dissection of a frame
        // with an exception: it reads the Information TLVs after a Peer
        // Up's OPENs as one more BGP message (the Loc-RIB's Peer Up carries
        // the Table Name TLV, RFC 9069 §5.3), and it overruns an unknown
        // statistics type (ours, 65531). A malformed frame holding neither
        // is ours to fix.
        let malformed = decode(&[
            "-Y",
            "_ws.malformed || _ws.expert.severity >= error",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "bmp.type",
            "-e",
            "bmp.peer.type",
            "-e",
            "bmp.stats.type",
        ]);
        for line in malformed.lines().filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let list = |i: usize| -> Vec<&str> {
                cols.get(i).map_or(Vec::new(), |c| c.split(',').collect())
            };
            let loc_rib_peer_up = list(1).contains(&"3") && list(2).contains(&"3");
            let our_stat = list(3).contains(&"65531");
            assert!(
                loc_rib_peer_up || our_stat,
                "tshark: a malformed BMP frame that is not a known tshark gap: {line}\n{}",
                decode(&["-Y", &format!("frame.number=={}", cols[0]), "-V"])
            );
        }
        let types = decode(&["-Y", "bmp", "-T", "fields", "-e", "bmp.type"]);
        let kinds: std::collections::BTreeSet<&str> = types
            .lines()
            .flat_map(|l| l.split(','))
            .filter(|t| !t.is_empty())
            .collect();
        note(&format!("tshark saw BMP message types {kinds:?}"));
        // Peer Down (2) shares its frame with a Statistics Report that
        // tshark stops at (above); pmbmpd saw it.
        for t in ["0", "1", "3", "4"] {
            assert!(kinds.contains(t), "tshark saw no BMP type {t}: {kinds:?}");
        }
    }
    drop(collector);
}

#[test]
fn a_reload_adds_and_removes_a_collector() {
    if !need(&["pmbmpd"], false) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (ours, api, bmp_port) = (free_port(), free_port(), free_port());
    let log = dir.path().join("bmp.json");
    let _collector = pmbmpd(dir.path(), bmp_port, &log);
    let base = DaemonConfig::new(8075, ours, api).originate("198.51.100.0/24");
    let d = base.start();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(read(&log).get("init"), 0, "no [[bmp]], no BMP session");

    // SIGHUP with a collector: a BMP session and its dump (the Loc-RIB
    // instance; no neighbor is up).
    let with = base.clone().append(&format!(
        "[[bmp]]\nname = \"pmacct\"\naddress = \"127.0.0.1:{bmp_port}\"\n"
    ));
    d.reload(&with.to_string());
    let up = wait_for(Duration::from_secs(15), || {
        let s = read(&log);
        (s.get("init") == 1 && s.get("peer_up") == 1).then_some(s)
    });
    assert!(up.is_some(), "{:?}\n{}", read(&log), d.log());
    assert_eq!(
        metric_sum(
            d.api,
            "coldpotato_bmp_session_up",
            &["collector=\"pmacct\""]
        ),
        1.0
    );

    // SIGHUP without it: Termination.
    d.reload(&base.to_string());
    let gone = wait_for(Duration::from_secs(15), || {
        (read(&log).get("term") == 1).then_some(())
    });
    assert!(gone.is_some(), "{:?}\n{}", read(&log), d.log());
}
