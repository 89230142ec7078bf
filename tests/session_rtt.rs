//! Latency telemetry against BIRD 2 over a link between two network
//! namespaces this test creates, the daemon in one and BIRD in the other:
//! a veth pair with `tc netem delay 20ms` on BIRD's end, or, on a kernel
//! built without `sch_netem`, TUN devices joined by a userspace delay line
//! (real-time threads) that holds BIRD's packets 20 ms; a NOTE line says
//! which ran. The session's smoothed RTT (`TCP_INFO`) must read 20–25 ms in
//! the API (`rtt_ms`), in `coldpotato_session_rtt_seconds` and in
//! `show neighbors --wide`; BFD at 100 ms × 3 reports its receive interval
//! and jitter; when the session goes down the RTT is forgotten (null,
//! series gone). The measured figures are printed as NOTE lines. Both
//! namespaces go when the test ends (and with them the link and the
//! qdisc), whatever happens; every address is in 198.18.13.0/24 inside
//! them, and the API on their own loopback.

mod common;

use common::*;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
const PEER_AS: u32 = 3_356;
const OURS: &str = "198.18.13.1";
const PEER: &str = "198.18.13.2";
/// netem's one-way delay on BIRD's side: every segment BIRD sends, ACKs
/// included, waits this long, so our RTT is about this much.
const DELAY_MS: f64 = 20.0;
/// The RTT the done-criterion accepts (issue 13).
const RTT_RANGE_MS: (f64, f64) = (20.0, 25.0);

/// Namespace `a` (the daemon) and `b` (BIRD) joined by a link whose
/// B → A direction waits [`DELAY_MS`]: a veth pair with netem on `b`'s end,
/// or, on a kernel built without `sch_netem`, a pair of TUN devices joined
/// by a userspace delay line ([`DelayLine`]). Fields drop in order: the
/// delay line stops before the namespaces go, taking everything with them.
struct Pair {
    _line: Option<DelayLine>,
    a: Netns,
    b: Netns,
}

impl Pair {
    fn new() -> Pair {
        let id = std::process::id() % 10_000;
        let a = Netns::new(&format!("cprtta{id}"));
        let b = Netns::new(&format!("cprttb{id}"));
        let (va, vb) = (format!("cprtt{id}a"), format!("cprtt{id}b"));
        sh(&format!(
            "ip link add {va} netns {} type veth peer name {vb} netns {}",
            a.name, b.name
        ));
        let netem = Command::new("ip")
            .args(["netns", "exec", &b.name, "tc", "qdisc", "add", "dev", &vb])
            .args(["root", "netem", "delay", &format!("{DELAY_MS}ms")])
            .output()
            .expect("run tc");
        let line = if netem.status.success() {
            note(&format!(
                "tc netem delay {DELAY_MS}ms on BIRD's end of a veth pair"
            ));
            for (ns, dev, addr) in [(&a.name, &va, OURS), (&b.name, &vb, PEER)] {
                sh(&format!("ip -n {ns} addr add {addr}/24 dev {dev}"));
                sh(&format!("ip -n {ns} link set {dev} up"));
            }
            None
        } else {
            let why = String::from_utf8_lossy(&netem.stderr);
            note(&format!(
                "no netem here ({}): {DELAY_MS} ms added by a userspace delay line between TUN devices",
                why.trim()
            ));
            sh(&format!("ip -n {} link del {va}", a.name));
            let ta = tun_in(&a.name, &va, OURS, PEER);
            let tb = tun_in(&b.name, &vb, PEER, OURS);
            let delay = Duration::from_secs_f64(DELAY_MS / 1000.0);
            Some(DelayLine::new(ta, tb, delay))
        };
        Pair { _line: line, a, b }
    }
}

/// A TUN device `dev` created inside namespace `ns`, point to point from
/// `local` to `peer`, up; it lives as long as the returned file.
fn tun_in(ns: &str, dev: &str, local: &str, peer: &str) -> std::fs::File {
    let file = in_netns(ns, || {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .expect("open /dev/net/tun");
        // struct ifreq: the name, then the flags (a short), padded to 40.
        let mut ifr = [0u8; 40];
        ifr[..dev.len()].copy_from_slice(dev.as_bytes());
        let flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
        ifr[16..18].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: TUNSETIFF reads and writes a 40-byte ifreq, which `ifr` is.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, ifr.as_mut_ptr()) };
        assert_eq!(
            rc,
            0,
            "TUNSETIFF {dev}: {}",
            std::io::Error::last_os_error()
        );
        file
    });
    sh(&format!(
        "ip -n {ns} addr add {local}/32 peer {peer}/32 dev {dev}"
    ));
    sh(&format!("ip -n {ns} link set {dev} up"));
    file
}

/// Two TUN devices joined in userspace: what `a` sends reaches `b` at once,
/// what `b` sends reaches `a` after `delay` (netem on `b`'s egress, in
/// effect). Stops, and closes the devices, when dropped.
struct DelayLine {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl DelayLine {
    fn new(a: std::fs::File, b: std::fs::File, delay: Duration) -> DelayLine {
        let (a, b) = (Arc::new(a), Arc::new(b));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (from, to, wait) in [(a.clone(), b.clone(), Duration::ZERO), (b, a, delay)] {
            let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
            let s = stop.clone();
            threads.push(std::thread::spawn(move || {
                read_packets(&from, &tx, wait, &s)
            }));
            let s = stop.clone();
            threads.push(std::thread::spawn(move || write_packets(&to, &rx, &s)));
        }
        DelayLine { stop, threads }
    }
}

impl Drop for DelayLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Gives the calling relay thread real-time priority and no timer slack,
/// so that on a busy machine it keeps netem's timing (netem runs in the
/// kernel): a late wake-up would add to every RTT. Best effort.
fn realtime() {
    let param = libc::sched_param { sched_priority: 10 };
    // SAFETY: plain calls on the calling thread with valid arguments.
    unsafe {
        libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param);
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

/// Reads packets from `from`, stamping each with when it is due.
fn read_packets(
    from: &std::fs::File,
    out: &mpsc::Sender<(Instant, Vec<u8>)>,
    delay: Duration,
    stop: &AtomicBool,
) {
    realtime();
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::SeqCst) {
        let mut pfd = libc::pollfd {
            fd: from.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
            continue;
        }
        match (&*from).read(&mut buf) {
            Ok(n) if n > 0 => {
                if out
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    return;
                }
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// Writes each packet to `to` once it is due (packets are due in order).
fn write_packets(to: &std::fs::File, rx: &mpsc::Receiver<(Instant, Vec<u8>)>, stop: &AtomicBool) {
    realtime();
    while !stop.load(Ordering::SeqCst) {
        let Ok((due, packet)) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let _ = (&*to).write(&packet);
    }
}

/// Runs `f` on a thread inside network namespace `ns`: its sockets (the
/// API client) and the processes it starts (the daemon) live there.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let t = s.spawn(|| {
            let file = std::fs::File::open(format!("/run/netns/{ns}"))
                .unwrap_or_else(|e| panic!("open namespace {ns}: {e}"));
            // SAFETY: setns on a valid namespace fd changes this thread's
            // network namespace only.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
            f()
        });
        match t.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn our_config(api: u16) -> String {
    format!(
        r#"
[router]
asn = {OUR_AS}
router_id = "{OURS}"
listen = ["{OURS}:179"]
location = "ams"
hold_time_s = 30

[api]
listen = "127.0.0.1:{api}"

[[locations]]
name = "ams"

[[neighbors]]
name = "bird"
address = "{PEER}"
remote_as = {PEER_AS}
location = "ams"
role = "transit"
local_address = "{OURS}"
families = ["ipv4"]
bfd = {{ min_tx_ms = 100, min_rx_ms = 100, multiplier = 3 }}
"#
    )
}

fn bird_config() -> String {
    format!(
        r#"
router id {PEER};
log stderr all;
protocol device {{ }}
protocol bfd {{ interface "*" {{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }}; }}
protocol bgp cp {{
  local {PEER} as {PEER_AS};
  neighbor {OURS} as {OUR_AS};
  hold time 30;
  connect retry time 1;
  error wait time 1, 2;
  bfd on;
  ipv4 {{ import none; export none; }};
}}
"#
    )
}

/// A number of milliseconds from the API, `None` when null.
fn ms(n: &serde_json::Value, key: &str) -> Option<f64> {
    n.get(key)?.as_f64()
}

/// The value of the one `/metrics` series of `family` for neighbor "bird".
fn series(d: &Daemon, family: &str) -> Option<f64> {
    let (_, body) = http_get(d.api, "/metrics")?;
    body.lines()
        .find(|l| l.starts_with(&format!("{family}{{")) && l.contains("neighbor=\"bird\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

fn in_range(v: f64, (lo, hi): (f64, f64)) -> bool {
    (lo..=hi).contains(&v)
}

#[test]
fn bird_session_over_a_20ms_netem_veth_reads_an_rtt_of_20_to_25_ms() {
    if !need(&["bird", "birdc", "ip", "tc"], true) {
        return;
    }
    let pair = Pair::new();
    let bird_ns = pair.b.name.clone();
    in_netns(&pair.a.name, || {
        let api = free_port();
        let d = Daemon::start(
            &our_config(api),
            std::net::SocketAddr::from(([127, 0, 0, 1], api)),
        );
        let bird = Bird::start_in(Some(&bird_ns), &bird_config());

        // Established, then the first sample (one every 5 s).
        let n = wait_for(Duration::from_secs(60), || {
            let n = d.neighbor("bird")?;
            (n["state"] == "Established" && ms(&n, "rtt_ms").is_some()).then_some(n)
        })
        .unwrap_or_else(|| {
            panic!(
                "no RTT for an Established session: {:?}\n{}\n{}",
                d.neighbor("bird"),
                d.log(),
                bird.proc.log_text()
            )
        });
        let rtt = ms(&n, "rtt_ms").unwrap_or_default();
        let var = ms(&n, "rtt_var_ms");
        note(&format!(
            "session RTT over a {DELAY_MS} ms delay: {rtt:.3} ms (variance {var:?} ms)"
        ));
        assert!(in_range(rtt, RTT_RANGE_MS), "RTT {rtt} ms: {n}");
        assert!(var.is_some(), "{n}");

        let m = series(&d, "coldpotato_session_rtt_seconds").unwrap_or_default();
        assert!(
            in_range(m * 1000.0, RTT_RANGE_MS),
            "coldpotato_session_rtt_seconds {m}"
        );
        assert!(series(&d, "coldpotato_session_rtt_variance_seconds").is_some());

        let out = Command::new(env!("CARGO_BIN_EXE_coldpotato"))
            .args(["show", "neighbors", "--wide", "--api"])
            .arg(d.api.to_string())
            .output()
            .expect("coldpotato show");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let row = text
            .lines()
            .find(|l| l.starts_with("bird "))
            .unwrap_or_default();
        let shown: Vec<f64> = row
            .split_whitespace()
            .filter_map(|c| c.split_once('±')?.0.parse().ok())
            .collect();
        assert!(
            shown.iter().any(|v| in_range(*v, RTT_RANGE_MS)),
            "no RTT of 20–25 ms in\n{text}"
        );

        // BFD's receive interval: BIRD sends every 100 ms less its jitter.
        let n = wait_for(Duration::from_secs(30), || {
            let n = d.neighbor("bird")?;
            (n["bfd_state"] == "Up" && ms(&n, "bfd_rx_interval_ms").is_some()).then_some(n)
        })
        .unwrap_or_else(|| panic!("no BFD receive interval: {:?}", d.neighbor("bird")));
        let rx = ms(&n, "bfd_rx_interval_ms").unwrap_or_default();
        let jitter = ms(&n, "bfd_rx_jitter_ms");
        note(&format!(
            "BFD receive interval at 100 ms: {rx:.3} ms (jitter {jitter:?} ms)"
        ));
        assert!(in_range(rx, (50.0, 150.0)), "BFD receive interval {rx} ms");
        assert!(jitter.is_some(), "{n}");
        assert!(series(&d, "coldpotato_bfd_rx_interval_seconds").is_some());
        assert!(series(&d, "coldpotato_bfd_rx_jitter_seconds").is_some());

        // The session goes: its RTT is unknown again, not 0.
        bird.cmd("disable cp");
        let gone = wait_for(Duration::from_secs(20), || {
            let n = d.neighbor("bird")?;
            (n["state"] != "Established"
                && n["rtt_ms"].is_null()
                && series(&d, "coldpotato_session_rtt_seconds").is_none())
            .then_some(())
        });
        assert!(
            gone.is_some(),
            "RTT kept after the session went down: {:?}",
            d.neighbor("bird")
        );
    });
}
