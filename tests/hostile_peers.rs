//! Hostile peers (issue 11): the real daemon under attack from loopback
//! while its other sessions must not notice. Every case checks that the
//! daemon stays up, that its other sessions (and BFD) are undisturbed, and
//! prints the daemon's peak RSS (VmHWM) with the other figures as NOTE
//! lines.
//!
//! - H1: a connection flood from unconfigured addresses (127.0.1.x) at
//!   1,000 connects/s, 200 silent connections (slowloris), silent
//!   connections from a configured neighbor's address and spoofed ones from
//!   an Established neighbor's, and malformed OPENs with the NOTIFICATION
//!   each must get (RFC 4271 §6.2, RFC 5492 §4, RFC 9234 §4.2; unknown
//!   capabilities with and without a value are ignored, an unknown optional
//!   parameter is refused with and without capabilities beside it), while a
//!   BIRD 2 session with a 9 s hold time stays Established throughout.
//! - H2: one peer flapping announce/withdraw as fast as the daemon takes
//!   it, while 20 other neighbors run BFD at 100 ms × 3 and the API is
//!   sampled every 50 ms: no BFD false down (counted on both ends), API
//!   p99 within 100 ms (500 ms in a debug build, see `api_p99_limit_ms`),
//!   the internal neighbor settles on the right routes.
//!   The BFD peers are the library's own BFD service in the test process
//!   (one session per 127.0.2.x, our end on 127.0.2.100 so no other BFD
//!   user on the host shares its socket); the daemon runs a BFD session per
//!   configured neighbor whatever the BGP state, and the 20 BGP sessions
//!   are brought up too so that their stability is checked as well.
//! - H3: one attribute set per prefix (the issue's 1M), AS paths of 1,000
//!   ASNs, a 4,096-octet UPDATE full of communities, one of 1,000
//!   communities that still fits 4,096 octets re-encoded, and with RFC 8654
//!   extended messages 65,000- and 65,535-octet ones; accepted or rejected
//!   as the rules say, and re-encoded to two internal neighbors, one with
//!   and one without extended messages (RFC 8654 §4: a route too big for a
//!   neighbor is not sent to it, and withdrawn if it was).
//!
//! Sizes: by default what fits the CI budget in a debug build (H1: a 5 s
//! flood; H2: a 10 s flap; H3: 100,000 attribute sets).
//! `COLDPOTATO_HOSTILE_FULL=1` runs the issue's sizes: a 30 s flood, 10
//! rounds of bad OPENs, a 30 s flap and 1,000,000 attribute sets
//! (`COLDPOTATO_HOSTILE_SETS=N` sets H3's count alone).

mod common;

use coldpotato::bfd::{BfdRequest, BfdService, State as BfdState};
use coldpotato::wire::{Message, Prefix};
use common::peers::{self, raw, BgpPeer, OpenSpec, RibOpts, RibPeer};
use common::*;
use ipnet::Ipv4Net;
use std::collections::HashSet;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
const BIRD_AS: u32 = 196_615;

fn full() -> bool {
    std::env::var_os("COLDPOTATO_HOSTILE_FULL").is_some_and(|v| v != "0")
}

fn pfx(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

fn v4(s: &str) -> Ipv4Net {
    s.parse().expect("IPv4 prefix")
}

// ---------------------------------------------------------------------------
// H1

/// A neighbor that only exists to receive one kind of bad OPEN.
struct BadOpen {
    name: &'static str,
    addr: Ipv4Addr,
    remote_as: u32,
    extra: &'static str,
    /// The OPEN to send.
    open: fn(Ipv4Addr, u32) -> Vec<u8>,
    /// The answer the RFCs require: `code/subcode`, or "accepted".
    want: &'static str,
    why: &'static str,
}

fn bad_opens() -> Vec<BadOpen> {
    vec![
        BadOpen {
            name: "bad-as",
            addr: Ipv4Addr::new(127, 0, 3, 1),
            remote_as: 20_001,
            extra: "",
            // Says AS 20002 (in My AS and the 4-octet capability).
            open: |id, asn| {
                raw::open(
                    (asn + 1) as u16,
                    90,
                    id,
                    &raw::capabilities(&raw::usual_caps(asn + 1)),
                )
            },
            want: "2/2",
            why: "RFC 4271 §6.2: Bad Peer AS",
        },
        BadOpen {
            name: "hold-1",
            addr: Ipv4Addr::new(127, 0, 3, 2),
            remote_as: 20_002,
            extra: "",
            open: |id, asn| raw::open(asn as u16, 1, id, &raw::capabilities(&raw::usual_caps(asn))),
            want: "2/6",
            why: "RFC 4271 §4.2, §6.2: hold time 1 is Unacceptable Hold Time",
        },
        BadOpen {
            name: "hold-2",
            addr: Ipv4Addr::new(127, 0, 3, 3),
            remote_as: 20_003,
            extra: "",
            open: |id, asn| raw::open(asn as u16, 2, id, &raw::capabilities(&raw::usual_caps(asn))),
            want: "2/6",
            why: "RFC 4271 §4.2, §6.2: hold time 2 is Unacceptable Hold Time",
        },
        BadOpen {
            name: "unknown-cap",
            addr: Ipv4Addr::new(127, 0, 3, 4),
            remote_as: 20_004,
            extra: "",
            // Capability code 238 (unassigned) with 4 octets of data.
            open: |id, asn| {
                let mut c = raw::usual_caps(asn);
                c.push((238, vec![1, 2, 3, 4]));
                raw::open(asn as u16, 90, id, &raw::capabilities(&c))
            },
            want: "accepted",
            why: "RFC 5492 §4: an unrecognized capability MUST be ignored, \
                  Unsupported Capability MUST NOT be sent",
        },
        BadOpen {
            name: "unknown-param",
            addr: Ipv4Addr::new(127, 0, 3, 5),
            remote_as: 20_005,
            extra: "",
            // Optional parameter type 99 next to the capabilities.
            open: |id, asn| {
                let mut p = raw::capabilities(&raw::usual_caps(asn));
                p.extend_from_slice(&[99, 2, 0xAB, 0xCD]);
                raw::open(asn as u16, 90, id, &p)
            },
            want: "2/4",
            why: "RFC 4271 §6.2: Unsupported Optional Parameters",
        },
        BadOpen {
            name: "unknown-cap-empty",
            addr: Ipv4Addr::new(127, 0, 3, 8),
            remote_as: 20_008,
            extra: "",
            // Capability code 250 (unassigned) with no data.
            open: |id, asn| {
                let mut c = raw::usual_caps(asn);
                c.push((250, vec![]));
                raw::open(asn as u16, 90, id, &raw::capabilities(&c))
            },
            want: "accepted",
            why: "RFC 5492 §4: an unrecognized capability (empty) MUST be ignored",
        },
        BadOpen {
            name: "unknown-param-alone",
            addr: Ipv4Addr::new(127, 0, 3, 9),
            remote_as: 20_009,
            extra: "",
            // Optional parameter type 99 and nothing else (My AS AS_TRANS).
            open: |id, _| raw::open(23_456, 90, id, &[99, 2, 0, 0]),
            want: "2/4",
            why: "RFC 4271 §6.2: Unsupported Optional Parameters, before any capability",
        },
        BadOpen {
            name: "no-role",
            addr: Ipv4Addr::new(127, 0, 3, 6),
            remote_as: 20_006,
            extra: "strict_role = true",
            open: |id, asn| {
                raw::open(
                    asn as u16,
                    90,
                    id,
                    &raw::capabilities(&raw::usual_caps(asn)),
                )
            },
            want: "2/11",
            why: "RFC 9234 §4.2: strict mode and no BGP Role capability is Role Mismatch",
        },
    ]
}

fn h1_config(port: u16, api: u16, bird_port: u16) -> DaemonConfig {
    let mut c = DaemonConfig::new(OUR_AS, port, api)
        .router("hold_time_s = 9")
        .originate("198.51.100.0/24")
        .neighbor(
            &Neighbor::new("bird", "127.0.0.2", BIRD_AS, "transit")
                .port(bird_port)
                .local_address("127.0.0.1")
                .accept_all()
                .ipv4(),
        )
        .neighbor(
            &Neighbor::new("slow", "127.0.3.7", 20007, "transit")
                .passive()
                .ipv4(),
        );
    for b in bad_opens() {
        c = c.neighbor(
            &Neighbor::new(b.name, &b.addr.to_string(), b.remote_as, "transit")
                .passive()
                .ipv4()
                .with(b.extra),
        );
    }
    c
}

fn h1_bird_config(bird_port: u16, ours: u16) -> String {
    let statics: String = (0..200)
        .map(|i| format!("route 45.{}.{}.0/24 unreachable; ", 60 + i / 256, i % 256))
        .collect();
    format!(
        r#"
router id 127.0.0.2;
log stderr all;
protocol device {{ }}
protocol static s4 {{ ipv4; {statics} }}
protocol bgp cp {{
  local 127.0.0.2 port {bird_port} as {BIRD_AS};
  neighbor 127.0.0.1 port {ours} as {OUR_AS};
  debug {{ states, events }};
  strict bind on;
  passive on;
  multihop;
  hold time 9;
  ipv4 {{ import all; export all; }};
}}
"#
    )
}

#[derive(Default)]
struct FloodStats {
    attempted: AtomicU64,
    connected: AtomicU64,
    /// The daemon closed the connection (EOF or reset) without a byte.
    closed_clean: AtomicU64,
    /// Bytes the daemon sent on flood connections (must stay 0).
    bytes: AtomicU64,
    /// Connections the daemon had not closed after 2 s.
    lingering: AtomicU64,
    connect_failed: AtomicU64,
}

/// Connects from 127.0.1.1–250 at `rate` per second for `secs`, on
/// `threads` threads; each connection waits for the daemon to close it.
fn flood(
    daemon: SocketAddr,
    rate: u32,
    secs: f64,
    threads: u32,
    stats: Arc<FloodStats>,
) -> Vec<std::thread::JoinHandle<()>> {
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let interval = Duration::from_secs_f64(f64::from(threads) / f64::from(rate));
    (0..threads)
        .map(|t| {
            let stats = stats.clone();
            std::thread::spawn(move || {
                let mut next = start + interval.mul_f64(f64::from(t) / f64::from(threads));
                let mut k: u32 = t;
                let mut buf = [0u8; 64];
                while Instant::now() < end {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    next += interval;
                    k += threads;
                    let src = Ipv4Addr::new(127, 0, 1, 1 + (k % 250) as u8);
                    stats.attempted.fetch_add(1, Ordering::Relaxed);
                    let mut s = match peers::connect_from(src, daemon, Duration::from_secs(2)) {
                        Ok(s) => s,
                        Err(_) => {
                            stats.connect_failed.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    };
                    stats.connected.fetch_add(1, Ordering::Relaxed);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    loop {
                        match s.read(&mut buf) {
                            Ok(0) => {
                                stats.closed_clean.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Ok(n) => {
                                stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                                stats.closed_clean.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Err(_) => {
                                stats.lingering.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                }
            })
        })
        .collect()
}

/// Whether the daemon closed `s` within `within` (EOF or reset), and the
/// bytes it sent first.
fn closed_by_daemon(s: &mut TcpStream, within: Duration) -> (bool, usize) {
    let end = Instant::now() + within;
    let mut buf = [0u8; 4096];
    let mut got = 0;
    while Instant::now() < end {
        let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
        match s.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (true, got),
        }
    }
    (false, got)
}

/// Lines of BIRD's log about protocol `cp` changing state.
fn bird_state_changes(bird: &Bird) -> Vec<String> {
    bird.proc
        .log_text()
        .lines()
        .filter(|l| l.contains("cp: State changed to"))
        .map(str::to_string)
        .collect()
}

/// H1 (see the file's doc). Default: a 5 s flood; full: 30 s.
#[test]
fn h1_connection_flood_slowloris_and_bad_opens_leave_an_established_bird_session_alone() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let flood_secs = if full() { 30.0 } else { 5.0 };
    let rounds = if full() { 10 } else { 2 };
    let (port, api, bird_port) = (free_port(), free_port(), free_port());
    let bird = Bird::start(&h1_bird_config(bird_port, port));
    let mut d = h1_config(port, api, bird_port).start();
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let pid = d.proc.pid();
    let routes_in = wait_for(Duration::from_secs(30), || {
        let n = d.neighbor("bird")?;
        (n["state"] == "Established" && n["prefixes_accepted"] == 200).then_some(())
    });
    assert!(
        routes_in.is_some(),
        "BIRD session not up with its 200 routes: {:?}\n{}\n{}",
        d.neighbor("bird"),
        d.log(),
        bird.proc.log_text()
    );
    assert!(
        bird.established("cp"),
        "{}",
        bird.cmd("show protocols all cp")
    );
    let bird_changes_before = bird_state_changes(&bird);
    let fds_before = open_fds(pid);
    let rss_before = proc_status_kb(pid, "VmRSS:");
    assert_eq!(d.ups("bird"), 1.0);

    // Watch the BIRD session from our side every 100 ms for the whole run.
    let stop_watch = peers::StopFlag::default();
    let not_established = Arc::new(Mutex::new(Vec::<String>::new()));
    let watcher = {
        let (stop, bad) = (stop_watch.flag(), not_established.clone());
        let api = d.api;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let state = http_get(api, "/api/v1/neighbors")
                    .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(&b).ok())
                    .and_then(|v| {
                        v.as_array()?
                            .iter()
                            .find(|n| n["name"] == "bird")
                            .map(|n| n["state"].as_str().unwrap_or("").to_string())
                    });
                if state.as_deref() != Some("Established") {
                    bad.lock()
                        .expect("lock")
                        .push(format!("{state:?} after {:?}", t.elapsed()));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // The flood runs in the background for the whole of what follows.
    let stats = Arc::new(FloodStats::default());
    let flood_started = Instant::now();
    let flooders = flood(daemon, 1000, flood_secs, 4, stats.clone());

    // Slowloris: 200 silent connections from unconfigured addresses, all
    // open at once. Each must be closed by the daemon without a byte.
    let mut silent: Vec<TcpStream> = (0..200u32)
        .filter_map(|i| {
            let src = Ipv4Addr::new(127, 0, 1, 1 + (i % 250) as u8);
            peers::connect_from(src, daemon, Duration::from_secs(5)).ok()
        })
        .collect();
    let opened = silent.len();
    let mut slowloris_closed = 0;
    let mut slowloris_bytes = 0;
    for s in &mut silent {
        let (closed, bytes) = closed_by_daemon(s, Duration::from_secs(5));
        slowloris_closed += usize::from(closed);
        slowloris_bytes += bytes;
    }
    drop(silent);
    assert_eq!(opened, 200, "could not open 200 silent connections");
    assert_eq!(
        (slowloris_closed, slowloris_bytes),
        (200, 0),
        "silent connections from unconfigured addresses must be closed at once, before any byte"
    );

    // Silent connections from a configured (passive) neighbor's address:
    // the session may hold one, plus one colliding (RFC 4271 §6.8, each
    // with our OPEN); every other is closed at once.
    let slow_src = Ipv4Addr::new(127, 0, 3, 7);
    let mut slow: Vec<TcpStream> = (0..20)
        .filter_map(|_| peers::connect_from(slow_src, daemon, Duration::from_secs(5)).ok())
        .collect();
    assert_eq!(slow.len(), 20);
    std::thread::sleep(Duration::from_millis(500));
    let held = slow
        .iter_mut()
        .map(|s| closed_by_daemon(s, Duration::from_millis(300)).0)
        .filter(|closed| !closed)
        .count();
    assert!(
        held <= 2,
        "{held} of 20 silent connections from one neighbor address are held open"
    );
    drop(slow);

    // Spoofed connections from the Established BIRD neighbor's address:
    // each gets Cease / Connection Collision Resolution (6/7) and is
    // closed; the session they collide with stays.
    let mut collisions = Vec::new();
    for _ in 0..10 {
        let out = peers::open_exchange(
            Ipv4Addr::new(127, 0, 0, 2),
            daemon,
            &raw::open(
                BIRD_AS as u16,
                90,
                Ipv4Addr::new(127, 0, 0, 2),
                &raw::capabilities(&raw::usual_caps(BIRD_AS)),
            ),
            Duration::from_secs(5),
        )
        .expect("spoofed connection");
        collisions.push(out.verdict());
    }
    assert!(
        collisions.iter().all(|v| v == "6/7"),
        "spoofed connections from an Established neighbor's address: {collisions:?}"
    );

    // Malformed OPENs, each on its own neighbor, `rounds` times.
    let mut verdicts = Vec::new();
    for round in 0..rounds {
        for b in bad_opens() {
            let out = peers::open_exchange(
                b.addr,
                daemon,
                &(b.open)(b.addr, b.remote_as),
                Duration::from_secs(10),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
            let got = out.verdict();
            assert_eq!(
                got, b.want,
                "round {round}, {}: {} (messages {:?})",
                b.name, b.why, out.messages
            );
            if b.want == "accepted" {
                // Finish the handshake, see it Established, leave politely.
                let mut s = out.stream;
                std::io::Write::write_all(
                    &mut s,
                    &peers::encode(&Message::Keepalive, &Default::default()),
                )
                .expect("keepalive");
                assert!(
                    d.wait_state(b.name, "Established", Duration::from_secs(10)),
                    "{}: {:?}",
                    b.name,
                    d.neighbor(b.name)
                );
                let cease = coldpotato::wire::Notification::new(6, 2, bytes::Bytes::new());
                let _ = std::io::Write::write_all(
                    &mut s,
                    &peers::encode(&Message::Notification(cease), &Default::default()),
                );
            } else {
                assert!(
                    out.closed,
                    "{}: the daemon kept the connection after {got}",
                    b.name
                );
            }
            if round == 0 {
                verdicts.push(format!("{} {got}", b.name));
            }
        }
    }

    for f in flooders {
        f.join().expect("flood thread");
    }
    let flood_took = flood_started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    stop_watch.stop();
    watcher.join().expect("watcher");

    // The daemon, the BIRD session and its routes are as they were.
    assert!(d.alive(), "the daemon died:\n{}", d.log());
    let nb = d.neighbor("bird").expect("bird");
    assert_eq!(nb["state"], "Established", "{nb}");
    assert_eq!(nb["prefixes_accepted"], 200, "{nb}");
    assert_eq!(d.ups("bird"), 1.0, "the BIRD session was reset");
    let bad = not_established.lock().expect("lock").clone();
    assert!(bad.is_empty(), "the BIRD session left Established: {bad:?}");
    assert!(
        bird.established("cp"),
        "{}",
        bird.cmd("show protocols all cp")
    );
    assert_eq!(
        bird_state_changes(&bird),
        bird_changes_before,
        "BIRD saw its session change state"
    );
    let connected = stats.connected.load(Ordering::Relaxed);
    let attempted = stats.attempted.load(Ordering::Relaxed);
    assert_eq!(
        stats.bytes.load(Ordering::Relaxed),
        0,
        "flood connections got bytes"
    );
    assert_eq!(
        stats.closed_clean.load(Ordering::Relaxed),
        connected,
        "every flood connection is closed by the daemon (lingering {})",
        stats.lingering.load(Ordering::Relaxed)
    );
    // Nothing leaks: the flood's, the slowloris' and the bad OPENs'
    // sockets are all gone again.
    let fds_after = wait_for(Duration::from_secs(10), || {
        let n = open_fds(pid);
        (n <= fds_before + 2).then_some(n)
    });
    let fds_now = open_fds(pid);
    assert!(
        fds_after.is_some(),
        "open files: {fds_before} before, {fds_now} after"
    );
    let rejected_logged = d
        .log()
        .lines()
        .filter(|l| l.contains("not a neighbor"))
        .count();
    note(&format!(
        "H1: flood {connected}/{attempted} connects in {flood_took:.1} s = {:.0} connects/s from unconfigured \
         addresses, all closed before a byte ({} connect failures); slowloris 200/200 closed at once; \
         20 silent connections from a neighbor's address: {held} held; 10 spoofed from the BIRD \
         neighbor's address: 6/7 each; bad OPENs x{rounds}: {}; BIRD session (hold 9 s): never left \
         Established, sessions disturbed: 0; fds {fds_before} -> {fds_now}; RSS {rss_before} -> {} kB, \
         peak {} kB; {rejected_logged} log lines for rejected connections",
        connected as f64 / flood_took,
        stats.connect_failed.load(Ordering::Relaxed),
        verdicts.join(", "),
        proc_status_kb(pid, "VmRSS:"),
        proc_status_kb(pid, "VmHWM:"),
    ));
}

// ---------------------------------------------------------------------------
// H2

const BFD_PEERS: u8 = 20;
/// Our end of every BFD session (its own address, so no other BFD user on
/// this host shares the receive socket).
const BFD_LOCAL: Ipv4Addr = Ipv4Addr::new(127, 0, 2, 100);
const FLAPPER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 40);
const FLAP_PREFIXES: u32 = 500;

fn h2_config(port: u16, api: u16, rr_port: u16) -> DaemonConfig {
    let mut c = DaemonConfig::new(OUR_AS, port, api)
        .neighbor(
            &Neighbor::new("flapper", &FLAPPER.to_string(), 3356, "transit")
                .accept_all()
                .passive()
                .ipv4(),
        )
        .neighbor(
            &Neighbor::new("rr", "127.0.0.41", OUR_AS, "internal")
                .port(rr_port)
                .ipv4(),
        );
    for i in 1..=BFD_PEERS {
        c = c.neighbor(
            &Neighbor::new(
                &format!("bfd-{i:02}"),
                &format!("127.0.2.{i}"),
                20_100 + u32::from(i),
                "transit",
            )
            .local_address(&BFD_LOCAL.to_string())
            .accept_all()
            .passive()
            .ipv4()
            .with("bfd = { min_tx_ms = 100, min_rx_ms = 100, multiplier = 3 }"),
        );
    }
    c
}

fn flap_prefix(i: u32) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(0x2D80_0000 + (i << 8)), 24).expect("prefix")
}

/// H2 (see the file's doc). Default: a 10 s flap; full: 30 s.
#[test]
fn h2_a_flapping_peer_at_full_speed_disturbs_no_bfd_session_and_no_api_answer() {
    let flap_secs = if full() { 30.0 } else { 10.0 };
    let (port, api, rr_port) = (free_port(), free_port(), free_port());
    let rr = RibPeer::start(
        SocketAddr::from(([127, 0, 0, 41], rr_port)),
        RibOpts::new(OUR_AS, Ipv4Addr::new(127, 0, 0, 41)),
    );
    let mut d = h2_config(port, api, rr_port).start();
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let pid = d.proc.pid();

    // The 20 BFD peers: the library's BFD service in this process, one
    // session per 127.0.2.i, watched by a task each.
    let bfd = BfdService::start().expect("BFD service on UDP 3784");
    let receivers: Vec<_> = (1..=BFD_PEERS)
        .map(|i| {
            bfd.request(BfdRequest {
                peer: BFD_LOCAL.into(),
                local: Some(Ipv4Addr::new(127, 0, 2, i).into()),
                min_tx_ms: 100,
                min_rx_ms: 100,
                multiplier: 3,
                interface: None,
            })
            .expect("BFD request")
        })
        .collect();
    let peer_ups = Arc::new(AtomicU64::new(0));
    let peer_downs = Arc::new(AtomicU64::new(0));
    let counting = Arc::new(AtomicBool::new(false));
    let watchers = {
        let (ups, downs, counting) = (peer_ups.clone(), peer_downs.clone(), counting.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut tasks = Vec::new();
                for mut rx in receivers {
                    let (ups, downs, counting) = (ups.clone(), downs.clone(), counting.clone());
                    tasks.push(tokio::spawn(async move {
                        let mut last = rx.borrow_and_update().state;
                        while rx.changed().await.is_ok() {
                            let now = rx.borrow_and_update().state;
                            if now == BfdState::Up && last != BfdState::Up {
                                ups.fetch_add(1, Ordering::Relaxed);
                            }
                            if last == BfdState::Up
                                && now != BfdState::Up
                                && counting.load(Ordering::Relaxed)
                            {
                                downs.fetch_add(1, Ordering::Relaxed);
                            }
                            last = now;
                        }
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
        })
    };
    let bfd_names: Vec<String> = (1..=BFD_PEERS).map(|i| format!("bfd-{i:02}")).collect();
    let all_bfd_up = wait_for(Duration::from_secs(20), || {
        let v = d.get("/api/v1/neighbors");
        let up = v
            .as_array()?
            .iter()
            .filter(|n| n["bfd_state"] == "Up")
            .count();
        (up == usize::from(BFD_PEERS)).then_some(())
    });
    assert!(
        all_bfd_up.is_some() && peer_ups.load(Ordering::Relaxed) == u64::from(BFD_PEERS),
        "BFD not Up on all 20: {} (peer side Up {})\n{}",
        d.get("/api/v1/neighbors"),
        peer_ups.load(Ordering::Relaxed),
        d.log()
    );
    // Their BGP sessions too, then the flapper and the internal neighbor.
    let bgp: Vec<BgpPeer> = (1..=BFD_PEERS)
        .map(|i| {
            let src = Ipv4Addr::new(127, 0, 2, i);
            BgpPeer::connect(
                src,
                daemon,
                &OpenSpec::new(20_100 + u32::from(i), src),
                Duration::from_secs(10),
            )
            .unwrap_or_else(|e| panic!("bfd-{i:02}: {e}\n{}", d.log()))
        })
        .collect();
    let flapper = BgpPeer::connect(
        FLAPPER,
        daemon,
        &OpenSpec::new(3356, FLAPPER),
        Duration::from_secs(10),
    )
    .expect("flapper");
    let mut names = bfd_names.clone();
    names.extend(["flapper".to_string(), "rr".to_string()]);
    for n in &names {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(20)),
            "{n}: {:?}",
            d.neighbor(n)
        );
    }
    // BFD transitions to Down or AdminDown on the daemon's side.
    let bfd_downs = |d: &Daemon| -> f64 {
        ["Down", "AdminDown"]
            .iter()
            .map(|s| {
                metric_sum(
                    d.api,
                    "coldpotato_bfd_transitions_total",
                    &[&format!("state=\"{s}\"")],
                )
            })
            .sum()
    };
    let downs_before = bfd_downs(&d);
    let received = |d: &Daemon| {
        metric_sum(
            d.api,
            "coldpotato_messages_received_total",
            &["neighbor=\"flapper\"", "type=\"update\""],
        )
    };
    let received_before = received(&d);
    let rss_before = proc_status_kb(pid, "VmRSS:");
    counting.store(true, Ordering::Relaxed);

    // Sample the API every 50 ms while the peer flaps.
    let stop = peers::StopFlag::default();
    let sampler = {
        let stop = stop.flag();
        let (api, bfd_names) = (d.api, bfd_names.clone());
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            let mut failures = 0u32;
            let mut bad = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let got = http_get(api, "/api/v1/neighbors");
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                match got.and_then(|(c, b)| {
                    (c == 200)
                        .then(|| serde_json::from_str::<serde_json::Value>(&b).ok())
                        .flatten()
                }) {
                    Some(v) => {
                        for n in v.as_array().into_iter().flatten() {
                            let name = n["name"].as_str().unwrap_or("");
                            let bfd_bad =
                                bfd_names.iter().any(|b| b == name) && n["bfd_state"] != "Up";
                            if bfd_bad || n["state"] != "Established" {
                                bad.push(format!(
                                    "{name}: {} / BFD {}",
                                    n["state"], n["bfd_state"]
                                ));
                            }
                        }
                    }
                    None => failures += 1,
                }
                if let Some(rest) = Duration::from_millis(50).checked_sub(t.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            (latencies, failures, bad)
        })
    };

    // Flap: announce and withdraw FLAP_PREFIXES prefixes, one UPDATE each,
    // as fast as the daemon takes them.
    let attrs = [
        raw::origin(false),
        raw::as_path(&[3356, 174], false),
        raw::next_hop(FLAPPER, false),
    ]
    .concat();
    let chunk: Vec<u8> = (0..FLAP_PREFIXES)
        .flat_map(|i| {
            let p = flap_prefix(i);
            [raw::update(&[], &attrs, &[p]), raw::update(&[p], &[], &[])].concat()
        })
        .collect();
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed().as_secs_f64() < flap_secs {
        flapper.send_raw(&chunk).expect("flap");
        sent += 2 * u64::from(FLAP_PREFIXES);
    }
    let flap_took = started.elapsed().as_secs_f64();
    // The end state: every prefix announced once more, with one community.
    let last = [attrs.clone(), raw::communities(&[(3356 << 16) | 7])].concat();
    let finale: Vec<u8> = (0..FLAP_PREFIXES)
        .flat_map(|i| raw::update(&[], &last, &[flap_prefix(i)]))
        .collect();
    flapper.send_raw(&finale).expect("finale");
    let settled = rr.wait_until(Duration::from_secs(120), Duration::from_millis(500), |t| {
        t.len() == FLAP_PREFIXES as usize && t.values().all(|r| r.communities == 1)
    });
    let settle_secs = started.elapsed().as_secs_f64() - flap_took;
    let processed = received(&d) - received_before;
    std::thread::sleep(Duration::from_millis(300));
    stop.stop();
    let (mut latencies, failures, bad) = sampler.join().expect("sampler");
    counting.store(false, Ordering::Relaxed);
    let peer_side_downs = peer_downs.load(Ordering::Relaxed);
    let downs_after = bfd_downs(&d);
    let daemon_side_downs = downs_after - downs_before;
    let samples = latencies.len();
    let p50 = peers::percentile(&mut latencies, 50.0);
    let p99 = peers::percentile(&mut latencies, 99.0);
    let max = latencies.last().copied().unwrap_or(f64::NAN);
    let disturbed: Vec<&String> = names.iter().filter(|n| d.ups(n) != 1.0).collect();
    note(&format!(
        "H2: flap {sent} UPDATEs written in {flap_took:.1} s = {:.0} UPDATEs/s (target 100,000), \
         daemon took {:.0}/s; internal neighbor settled {settle_secs:.1} s after; BFD false downs \
         (20 sessions, 100 ms x 3): ours {daemon_side_downs}, peers' {peer_side_downs}; API \
         /api/v1/neighbors p50 {p50:.1} ms, p99 {p99:.1} ms (bound {} ms), max {max:.1} ms \
         ({samples} samples, {failures} failed); sessions disturbed: {}; RSS {rss_before} -> {} kB, \
         peak {} kB",
        sent as f64 / flap_took,
        processed / flap_took,
        api_p99_limit_ms(),
        disturbed.len(),
        proc_status_kb(pid, "VmRSS:"),
        proc_status_kb(pid, "VmHWM:"),
    ));
    bfd.shutdown();
    let _ = watchers.join();
    drop(bgp);

    assert!(d.alive(), "the daemon died:\n{}", d.log());
    assert!(
        settled,
        "the internal neighbor did not settle on the {FLAP_PREFIXES} final routes: {} held, errors {:?}",
        rr.len(),
        rr.errors()
    );
    assert!(rr.errors().is_empty(), "{:?}", rr.errors());
    assert_eq!(
        daemon_side_downs, 0.0,
        "BFD went down on our side during the flap"
    );
    assert_eq!(
        peer_side_downs, 0,
        "BFD went down on the peers' side during the flap"
    );
    assert!(
        bad.is_empty(),
        "sessions or BFD not Up during the flap: {bad:?}"
    );
    assert!(disturbed.is_empty(), "sessions reset: {disturbed:?}");
    assert!(
        flapper.notifications().is_empty(),
        "{:?}",
        flapper.notifications()
    );
    assert_eq!(failures, 0, "API requests failed");
    assert!(
        p99 <= api_p99_limit_ms(),
        "API p99 {p99:.1} ms > {} ms (p50 {p50:.1}, max {max:.1})",
        api_p99_limit_ms()
    );
}

/// The API's p99 bound under the flap: the issue's 100 ms for an optimized
/// build. A debug build's engine takes UPDATEs about five times slower, and
/// an API question waits behind what is queued for the engine (up to its
/// 4,096 messages), so there the bound is 500 ms.
fn api_p99_limit_ms() -> f64 {
    if cfg!(debug_assertions) {
        500.0
    } else {
        100.0
    }
}

// ---------------------------------------------------------------------------
// H3

const FEED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 50);
const FEED_STD: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 51);
const STRICT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 52);
const BULK: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 53);

fn h3_config(port: u16, api: u16, ext_port: u16, std_port: u16) -> DaemonConfig {
    let feed = |name: &str, addr: Ipv4Addr, asn: u32| {
        Neighbor::new(name, &addr.to_string(), asn, "transit")
            .accept_all()
            .passive()
            .ipv4()
    };
    let rr = |name: &str, addr: &str, port: u16| {
        Neighbor::new(name, addr, OUR_AS, "internal")
            .port(port)
            .ipv4()
    };
    DaemonConfig::new(OUR_AS, port, api)
        .neighbor(&feed("feed", FEED, 3356))
        .neighbor(&feed("feed-std", FEED_STD, 3257))
        .neighbor(
            &Neighbor::new("strict", &STRICT.to_string(), 1299, "transit")
                .passive()
                .ipv4(),
        )
        .neighbor(&feed("bulk", BULK, 174))
        .neighbor(&rr("rr-ext", "127.0.0.54", ext_port))
        .neighbor(&rr("rr-std", "127.0.0.55", std_port))
}

fn bulk_prefix(i: u32) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(0x4000_0000 + (i << 8)), 24).expect("prefix")
}

/// H3 (see the file's doc). Default: 100,000 attribute sets; full: 1M.
#[test]
fn h3_huge_paths_huge_updates_and_a_million_attribute_sets_are_handled_and_re_encoded_right() {
    let sets: u32 = std::env::var("COLDPOTATO_HOSTILE_SETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full() { 1_000_000 } else { 100_000 });
    let (port, api, ext_port, std_port) = (free_port(), free_port(), free_port(), free_port());
    const P_PATH: &str = "45.1.0.0/24";
    const P_PATH_STRICT: &str = "45.1.1.0/24";
    const P_4K: &str = "45.2.0.0/24";
    const P_1K: &str = "45.2.1.0/24";
    const P_64K: &str = "45.3.0.0/24";
    const P_MAX: &str = "45.4.0.0/24";
    let keep: HashSet<Prefix> = [P_PATH, P_4K, P_1K, P_64K, P_MAX]
        .iter()
        .map(|p| pfx(p))
        .collect();
    let mut ext_opts = RibOpts::new(OUR_AS, Ipv4Addr::new(127, 0, 0, 54));
    ext_opts.extended_message = true;
    ext_opts.keep = keep.clone();
    let mut std_opts = RibOpts::new(OUR_AS, Ipv4Addr::new(127, 0, 0, 55));
    std_opts.keep = keep;
    let rr_ext = RibPeer::start(SocketAddr::from(([127, 0, 0, 54], ext_port)), ext_opts);
    let rr_std = RibPeer::start(SocketAddr::from(([127, 0, 0, 55], std_port)), std_opts);
    let mut d = h3_config(port, api, ext_port, std_port).start();
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let pid = d.proc.pid();
    let connect = |src: Ipv4Addr, asn: u32, ext: bool| {
        let mut spec = OpenSpec::new(asn, src);
        spec.extended_message = ext;
        BgpPeer::connect(src, daemon, &spec, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{src}: {e}"))
    };
    let feed = connect(FEED, 3356, true);
    let feed_std = connect(FEED_STD, 3257, false);
    let strict = connect(STRICT, 1299, true);
    let bulk = connect(BULK, 174, false);
    assert!(
        feed.codec.extended_message,
        "extended messages not negotiated with the feed"
    );
    let names = ["feed", "feed-std", "strict", "bulk", "rr-ext", "rr-std"];
    for n in names {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(20)),
            "{n}: {:?}",
            d.neighbor(n)
        );
    }
    let rss_before = proc_status_kb(pid, "VmRSS:");

    // A path of 1,000 ASNs, from an accept-all feed and from a transit
    // with the default rules (max_as_path_len 100).
    let long: Vec<u32> = std::iter::once(3356)
        .chain((1..1000).map(|i| 10_000 + i))
        .collect();
    let long_strict: Vec<u32> = std::iter::once(1299)
        .chain((1..1000).map(|i| 10_000 + i))
        .collect();
    let path_attrs = |asns: &[u32], nh: Ipv4Addr| {
        [
            raw::origin(false),
            raw::as_path(asns, false),
            raw::next_hop(nh, false),
        ]
        .concat()
    };
    feed.send_raw(&raw::update(&[], &path_attrs(&long, FEED), &[v4(P_PATH)]))
        .expect("send");
    strict
        .send_raw(&raw::update(
            &[],
            &path_attrs(&long_strict, STRICT),
            &[v4(P_PATH_STRICT)],
        ))
        .expect("send");
    // 4,096 octets of UPDATE full of communities from a feed without
    // extended messages: the largest it may send.
    let (m4k, c4k) = raw::communities_update(4096, v4(P_4K), 3257, FEED_STD, 3257);
    feed_std.send_raw(&m4k).expect("send");
    // 1,000 communities and a 2-ASN path: about 4,060 octets, which still
    // fits 4,096 when re-encoded toward iBGP.
    let c1k: Vec<u32> = (0..1000).map(|i| (3257 << 16) | i).collect();
    let a1k = [
        path_attrs(&[3257, 10_001], FEED_STD),
        raw::communities(&c1k),
    ]
    .concat();
    feed_std
        .send_raw(&raw::update(&[], &a1k, &[v4(P_1K)]))
        .expect("send");
    // A 65,000-octet UPDATE and a 65,535-octet one (extended messages).
    let (m64k, c64k) = raw::communities_update(65_000, v4(P_64K), 3356, FEED, 3356);
    feed.send_raw(&m64k).expect("send");
    let (mmax, cmax) = raw::communities_update(65_535, v4(P_MAX), 3356, FEED, 3356);
    feed.send_raw(&mmax).expect("send");

    // One attribute set per prefix (MED = index), one UPDATE each.
    let bulk_started = Instant::now();
    let mut batch = Vec::with_capacity(1 << 20);
    for i in 0..sets {
        let attrs = [
            raw::origin(false),
            raw::as_path(&[174, 10_000 + i % 20_000], false),
            raw::next_hop(BULK, false),
            raw::med(i),
        ]
        .concat();
        batch.extend(raw::update(&[], &attrs, &[bulk_prefix(i)]));
        if batch.len() >= 1 << 20 {
            bulk.send_raw(&batch).expect("bulk");
            batch.clear();
        }
    }
    bulk.send_raw(&batch).expect("bulk");
    let bulk_sent_secs = bulk_started.elapsed().as_secs_f64();
    let base = 0x4000_0000u32;
    let bulk_ok = |t: &std::collections::HashMap<Prefix, peers::Route>| {
        t.len() >= sets as usize
            && t.iter()
                .filter(|(p, r)| match p {
                    Prefix::V4(n) => {
                        let a = u32::from(n.network());
                        n.prefix_len() == 24
                            && (base..base + (sets << 8)).contains(&a)
                            && r.med == Some((a - base) >> 8)
                    }
                    Prefix::V6(_) => false,
                })
                .count()
                == sets as usize
    };
    // Complete, or stuck: nothing changed at either neighbor for 15 s.
    let timeout = Duration::from_secs(if full() { 900 } else { 300 });
    let outcome = wait_for(timeout, || {
        let done = |rr: &RibPeer| {
            rr.up() && rr.quiet_for() >= Duration::from_millis(500) && rr.with_table(bulk_ok)
        };
        let stuck = rr_ext.quiet_for().min(rr_std.quiet_for()) > Duration::from_secs(15);
        let (e, s) = (done(&rr_ext), done(&rr_std));
        (e && s || stuck).then_some((e, s))
    });
    let (ext_done, std_done) = outcome.unwrap_or((false, false));
    let bulk_secs = bulk_started.elapsed().as_secs_f64();
    let rss_after = proc_status_kb(pid, "VmRSS:");
    let peak = proc_status_kb(pid, "VmHWM:");
    let accepted = d
        .neighbor("bulk")
        .and_then(|n| n["prefixes_accepted"].as_u64())
        .unwrap_or(0);

    // What the daemon holds, by the API.
    let status_of = |p: &str| {
        let r = d.routes_for(p);
        r.first().map(|r| {
            (
                r["status"].as_str().unwrap_or("").to_string(),
                r["rule"].clone(),
                r["communities"].as_array().map_or(0, Vec::len),
                r["as_path"].as_array().map_or(0, Vec::len),
            )
        })
    };
    let path = status_of(P_PATH);
    let path_strict = status_of(P_PATH_STRICT);
    let r4k = status_of(P_4K);
    let r1k = status_of(P_1K);
    let r64k = status_of(P_64K);
    let rmax = status_of(P_MAX);

    // What each internal neighbor got.
    let got = |rr: &RibPeer, p: &str| {
        rr.attrs(&pfx(p)).map(|a| {
            (
                a.as_path.as_ref().map_or(0, |x| x.path_len()),
                a.communities.iter().map(|c| c.0).collect::<Vec<u32>>(),
            )
        })
    };
    let ext_path = got(&rr_ext, P_PATH);
    let std_path = got(&rr_std, P_PATH);
    let ext_4k = got(&rr_ext, P_4K);
    let std_4k = got(&rr_std, P_4K);
    let ext_1k = got(&rr_ext, P_1K);
    let std_1k = got(&rr_std, P_1K);
    let ext_64k = got(&rr_ext, P_64K);
    let std_64k = got(&rr_std, P_64K);
    let ext_max = got(&rr_ext, P_MAX);
    let std_max = got(&rr_std, P_MAX);
    let len_of = |rr: &RibPeer, p: &str| rr.route(&pfx(p)).map_or(0, |r| r.msg_len);
    note(&format!(
        "H3: {sets} one-prefix attribute sets sent in {bulk_sent_secs:.1} s, both internal neighbors \
         complete after {bulk_secs:.1} s ({accepted} accepted); 1,000-ASN path: feed {:?}, \
         strict transit {:?}; 4,096-octet UPDATE ({} communities): {:?}, to the extended neighbor \
         in {} octets, to the 4,096 one: {}; 65,000-octet ({} communities): {:?}, extended \
         neighbor {} octets, 4,096 neighbor: {}; 65,535-octet ({} communities): {:?}, extended \
         neighbor: {}, 4,096 neighbor: {}; longest message to each: {} / {} octets; \
         RSS {rss_before} -> {rss_after} kB, peak {peak} kB ({:.0} bytes per set)",
        path.as_ref().map(|r| (&r.0, r.3)),
        path_strict.as_ref().map(|r| (&r.0, r.1.to_string())),
        c4k.len(),
        r4k.as_ref().map(|r| (&r.0, r.2)),
        len_of(&rr_ext, P_4K),
        if std_4k.is_some() { "sent" } else { "not sent" },
        c64k.len(),
        r64k.as_ref().map(|r| (&r.0, r.2)),
        len_of(&rr_ext, P_64K),
        if std_64k.is_some() { "sent" } else { "not sent" },
        cmax.len(),
        rmax.as_ref().map(|r| (&r.0, r.2)),
        if ext_max.is_some() { "sent" } else { "not sent" },
        if std_max.is_some() { "sent" } else { "not sent" },
        rr_ext.max_len(),
        rr_std.max_len(),
        (rss_after.saturating_sub(rss_before) * 1024) as f64 / f64::from(sets),
    ));

    assert!(d.alive(), "the daemon died:\n{}", d.log());
    for n in names {
        assert_eq!(
            d.neighbor(n).map(|x| x["state"].clone()),
            Some("Established".into()),
            "{n}"
        );
        assert_eq!(d.ups(n), 1.0, "{n} was reset");
    }
    for (n, p) in [
        ("feed", &feed),
        ("feed-std", &feed_std),
        ("strict", &strict),
        ("bulk", &bulk),
    ] {
        assert!(p.notifications().is_empty(), "{n}: {:?}", p.notifications());
    }
    assert!(
        rr_ext.errors().is_empty(),
        "extended neighbor: {:?}",
        rr_ext.errors()
    );
    assert!(
        rr_std.errors().is_empty(),
        "4,096 neighbor: {:?}",
        rr_std.errors()
    );
    assert!(
        rr_std.max_len() <= 4096,
        "{} octets sent without extended messages",
        rr_std.max_len()
    );
    assert_eq!((rr_ext.sessions(), rr_std.sessions()), (1, 1));
    if !(ext_done && std_done) {
        let missing: Vec<String> = (0..sets)
            .filter(|i| rr_ext.route(&Prefix::V4(bulk_prefix(*i))).is_none())
            .take(3)
            .map(|i| {
                let p = bulk_prefix(i).to_string();
                format!("{p}: {}", serde_json::Value::Array(d.routes_for(&p)))
            })
            .collect();
        panic!(
            "bulk: extended neighbor complete {ext_done}, 4,096 one {std_done} ({} / {} held); \
             missing: {missing:?}",
            rr_ext.len(),
            rr_std.len()
        );
    }
    assert_eq!(accepted, u64::from(sets));

    // The 1,000-ASN path: accepted from accept-all, rejected by the
    // transit rules, passed on unchanged over iBGP to both.
    assert_eq!(
        path.as_ref().map(|r| (r.0.as_str(), r.3)),
        Some(("accepted", 1000)),
        "{path:?}"
    );
    assert_eq!(path_strict.as_ref().map(|r| r.0.as_str()), Some("rejected"));
    assert_eq!(
        path_strict.as_ref().map(|r| r.1.clone()),
        Some("as-path-too-long".into())
    );
    assert_eq!(ext_path.as_ref().map(|x| x.0), Some(1000));
    assert_eq!(std_path.as_ref().map(|x| x.0), Some(1000));
    assert!(
        rr_ext.route(&pfx(P_PATH_STRICT)).is_none() && rr_std.route(&pfx(P_PATH_STRICT)).is_none()
    );

    // The communities arrive complete wherever the route is sent; a route
    // too big for the 4,096 neighbor is not sent to it, and the one it had
    // is withdrawn (RFC 8654 §4).
    assert_eq!(
        r4k.as_ref().map(|r| (r.0.as_str(), r.2)),
        Some(("accepted", c4k.len()))
    );
    assert_eq!(
        r64k.as_ref().map(|r| (r.0.as_str(), r.2)),
        Some(("accepted", c64k.len()))
    );
    assert_eq!(
        rmax.as_ref().map(|r| (r.0.as_str(), r.2)),
        Some(("accepted", cmax.len()))
    );
    let has_all = |got: &Option<(usize, Vec<u32>)>, want: &[u32]| {
        got.as_ref().is_some_and(|(_, c)| {
            let have: HashSet<u32> = c.iter().copied().collect();
            want.iter().all(|w| have.contains(w)) && c.len() <= want.len() + 2
        })
    };
    assert!(
        has_all(&ext_4k, &c4k),
        "the 4,096-octet route at the extended neighbor: {:?}",
        ext_4k.as_ref().map(|x| x.1.len())
    );
    assert!(
        has_all(&ext_64k, &c64k),
        "the 65,000-octet route at the extended neighbor: {:?}",
        ext_64k.as_ref().map(|x| x.1.len())
    );
    assert_eq!(
        r1k.as_ref().map(|r| (r.0.as_str(), r.2)),
        Some(("accepted", 1000))
    );
    assert!(
        has_all(&ext_1k, &c1k) && has_all(&std_1k, &c1k),
        "the 1,000-community route fits 4,096 octets re-encoded and reaches both internal \
         neighbors intact: extended {:?}, 4,096 {:?}",
        ext_1k.as_ref().map(|x| x.1.len()),
        std_1k.as_ref().map(|x| x.1.len())
    );
    let fits = |n: usize| n <= 4096;
    let ext_4k_len = len_of(&rr_ext, P_4K);
    if fits(ext_4k_len) {
        assert!(
            has_all(&std_4k, &c4k),
            "{P_4K} fits 4,096 octets ({ext_4k_len}) but did not reach the 4,096 neighbor intact"
        );
    } else {
        assert!(
            std_4k.is_none(),
            "{P_4K} needs {ext_4k_len} octets, yet the 4,096 neighbor has it"
        );
    }
    assert!(
        std_64k.is_none(),
        "RFC 8654 §4: {P_64K} needs more than 4,096 octets, yet the 4,096 neighbor has it"
    );
    // 65,535 octets plus anything the daemon adds cannot be re-sent to
    // anyone in one message: it must not be sent (never an oversized one).
    if rr_ext.max_len() > 65_535 {
        unreachable!("the framing refuses it");
    }
    assert!(std_max.is_none());
    if let Some((_, c)) = &ext_max {
        assert!(
            has_all(&ext_max, &cmax),
            "{P_MAX} arrived with {} communities",
            c.len()
        );
    }
}

/// H3, RFC 8654 §4: a route the internal neighbor without extended
/// messages already has, re-announced in an UPDATE that no longer fits
/// 4,096 octets, "must not be sent to the neighbor … if the NLRI was
/// previously advertised to that peer, it must be withdrawn from service"
/// (RFC 8654 §4, RFC 4271 §9.1.3). The neighbor with extended messages
/// gets the new version.
#[test]
fn h3_a_route_grown_past_4096_octets_is_withdrawn_from_a_neighbor_without_extended_messages() {
    let (port, api, ext_port, std_port) = (free_port(), free_port(), free_port(), free_port());
    let p = "45.3.0.0/24";
    let mut ext_opts = RibOpts::new(OUR_AS, Ipv4Addr::new(127, 0, 0, 54));
    ext_opts.extended_message = true;
    let rr_ext = RibPeer::start(SocketAddr::from(([127, 0, 0, 54], ext_port)), ext_opts);
    let rr_std = RibPeer::start(
        SocketAddr::from(([127, 0, 0, 55], std_port)),
        RibOpts::new(OUR_AS, Ipv4Addr::new(127, 0, 0, 55)),
    );
    let mut d = h3_config(port, api, ext_port, std_port).start();
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let mut spec = OpenSpec::new(3356, FEED);
    spec.extended_message = true;
    let feed = BgpPeer::connect(FEED, daemon, &spec, Duration::from_secs(10)).expect("feed");
    for n in ["feed", "rr-ext", "rr-std"] {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(20)),
            "{n}"
        );
    }
    let small = [
        raw::origin(false),
        raw::as_path(&[3356], false),
        raw::next_hop(FEED, false),
        raw::communities(&[(3356 << 16) | 1]),
    ]
    .concat();
    feed.send_raw(&raw::update(&[], &small, &[v4(p)]))
        .expect("send");
    let both = wait_for(Duration::from_secs(20), || {
        (rr_ext.route(&pfx(p)).is_some() && rr_std.route(&pfx(p)).is_some()).then_some(())
    });
    assert!(both.is_some(), "{p} did not reach both internal neighbors");
    let (big, communities) = raw::communities_update(8_000, v4(p), 3356, FEED, 3356);
    feed.send_raw(&big).expect("send");
    let grown = wait_for(Duration::from_secs(20), || {
        rr_ext
            .route(&pfx(p))
            .filter(|r| r.communities == communities.len())
            .map(|r| r.msg_len)
    });
    assert!(
        grown.is_some(),
        "the extended neighbor did not get the 8,000-octet version"
    );
    let gone = wait_for(Duration::from_secs(10), || {
        rr_std.route(&pfx(p)).is_none().then_some(())
    });
    let kept = rr_std.route(&pfx(p));
    note(&format!(
        "H3 RFC 8654 §4: {p} grown to {} octets toward the extended neighbor; the 4,096 neighbor: {}",
        grown.unwrap_or(0),
        match &kept {
            Some(r) => format!("still holds the old version ({} communities): NOT withdrawn", r.communities),
            None => "withdrawn".into(),
        }
    ));
    assert!(d.alive(), "{}", d.log());
    assert!(rr_std.errors().is_empty() && rr_ext.errors().is_empty());
    assert!(
        gone.is_some(),
        "RFC 8654 §4: {p} no longer fits 4,096 octets, so the neighbor without extended messages \
         must have it withdrawn; it still holds the old version {kept:?}; the daemon's log:\n{}",
        d.log()
            .lines()
            .filter(|l| l.contains("encode"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
