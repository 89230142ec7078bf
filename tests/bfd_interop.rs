//! BFD interop against real BFD implementations from Debian (FRR's
//! `bfdd`, BIRD's `bfd` protocol) over veth links into network namespaces
//! the tests create and always delete (the `Lab` Drop guard). Runs as root
//! with the daemons installed (`common::need`: a failure under
//! `tests/run.sh`, a `SKIPPED` line elsewhere). Each lab has its own
//! addresses, so the tests can run in parallel.
//!
//! Our BFD service alone (the library's `BfdService`, one shared instance on
//! UDP 3784 in the test process, our end in the root namespace; a /30 of
//! 198.18.0.0/24 and a /126 of fd00:bfd::/64 per lab). Cases per daemon,
//! IPv4 and IPv6: (1) the session comes Up at 100 ms × 3; (2) an nft rule
//! in the namespace dropping udp dport 3784 on input takes our state Down —
//! the milliseconds from the drop to our Down notification are printed;
//! (3) removing the rule brings the session Up again by itself. (2) and (3)
//! are then repeated dropping input and output, so that our own detection
//! timer (not the peer's Down) must take the session down. A 20-session
//! benchmark against one bfdd.
//!
//! BFD tied to BGP in the daemon (a /24 from 198.18.100.0 per lab), against
//! BIRD and FRR's `bfdd` with `bgpd`: BFD Up at 100 ms × 3 and BGP
//! Established; dropping BFD packets both ways takes the BGP session down
//! within detection time (the milliseconds are printed as NOTE lines);
//! removing the drop brings BFD then BGP back by themselves; while BFD
//! stays down the session stays down; a peer whose BFD never comes up never
//! gets its routes used. (The daemon's BFD sockets are bound to each lab's
//! own address, so they do not meet the service's.)

mod common;

use coldpotato::bfd::{BfdEvent, BfdHandle, BfdRequest, BfdService, State};
use common::*;
use std::io;
use std::net::IpAddr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

const FRR_BFDD: &str = "bfdd";
const BIRD: &str = "bird";
const UP_WITHIN: Duration = Duration::from_secs(15);
const DOWN_WITHIN: Duration = Duration::from_secs(5);
/// The goal for drop → Down beyond the detection time.
const GOAL_SLACK: Duration = Duration::from_millis(50);

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);
static SERVICE: OnceLock<Result<BfdHandle, String>> = OnceLock::new();

fn service() -> Result<&'static BfdHandle, String> {
    SERVICE
        .get_or_init(|| BfdService::start().map_err(|e| format!("BFD service on 3784: {e}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether the test can run here (root, `tools`, nftables, iproute2); see
/// `common::need`.
fn ready(tools: &[&str]) -> bool {
    let mut all = tools.to_vec();
    all.extend(["nft", "ip"]);
    need(&all, true)
}

fn run(program: &str, args: &[&str]) -> io::Result<Output> {
    let out = Command::new(program).args(args).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out)
}

/// A veth pair into a fresh network namespace, with addresses on both ends
/// and the daemons started inside it. Dropping it kills the daemons and
/// deletes the namespace and the link.
struct Lab {
    ns: String,
    host_if: String,
    dir: tempfile::TempDir,
    children: Vec<Child>,
    /// Our addresses and the peer's (IPv4 then IPv6 for [`Lab::new`]).
    host: Vec<IpAddr>,
    peer: Vec<IpAddr>,
}

impl Lab {
    /// A lab for one IPv4 and one IPv6 session: a /30 of 198.18.0.0/24 and
    /// a /126 of fd00:bfd::/64 per lab.
    fn new() -> io::Result<Lab> {
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let base = 4 * (n % 60);
        let v4 = |i: u32| format!("198.18.0.{}", base + i);
        let v6 = |i: u32| format!("fd00:bfd::{:x}", base + i);
        Lab::create(
            n,
            &[(v4(1), 30), (v6(1), 126)],
            &[(v4(2), 30), (v6(2), 126)],
        )
    }

    /// A lab for `peers` IPv4 sessions, session i from 198.18.1.(100+i) to
    /// 198.18.1.(2+i) (the 20-session benchmark; bfdd keeps one session per
    /// remote address, so each session gets its own address on our side).
    fn many(peers: u32) -> io::Result<Lab> {
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let addrs = |first: u32| -> Vec<(String, u8)> {
            (0..peers)
                .map(|i| (format!("198.18.1.{}", first + i), 24))
                .collect()
        };
        Lab::create(n, &addrs(100), &addrs(2))
    }

    /// A lab for one BGP session with BFD: a /24 per lab from 198.18.100.0,
    /// us at .1, the peer at .2.
    fn bgp() -> io::Result<Lab> {
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let subnet = 100 + n % 100;
        let addr = |i: u32| vec![(format!("198.18.{subnet}.{i}"), 24)];
        Lab::create(n, &addr(1), &addr(2))
    }

    fn create(n: u32, host: &[(String, u8)], peer: &[(String, u8)]) -> io::Result<Lab> {
        let pid = std::process::id();
        let ns = format!("cpbfd-{pid}-{n}");
        let host_if = format!("cpb{}h{n}", pid % 100_000);
        let peer_if = format!("cpb{}p{n}", pid % 100_000);
        let parse = |list: &[(String, u8)]| -> io::Result<Vec<IpAddr>> {
            list.iter()
                .map(|(a, _)| a.parse().map_err(io::Error::other))
                .collect()
        };
        let dir = tempfile::tempdir()?;
        let mut lab = Lab {
            ns: ns.clone(),
            host_if: host_if.clone(),
            dir,
            children: Vec::new(),
            host: parse(host)?,
            peer: parse(peer)?,
        };
        run("ip", &["netns", "add", &ns])?;
        run(
            "ip",
            &[
                "link", "add", &host_if, "type", "veth", "peer", "name", &peer_if,
            ],
        )?;
        run("ip", &["link", "set", &peer_if, "netns", &ns])?;
        for (addr, len) in host {
            let cidr = format!("{addr}/{len}");
            run("ip", &["addr", "add", &cidr, "dev", &host_if, "nodad"])?;
        }
        run("ip", &["link", "set", &host_if, "up"])?;
        for (addr, len) in peer {
            let cidr = format!("{addr}/{len}");
            run(
                "ip",
                &["-n", &ns, "addr", "add", &cidr, "dev", &peer_if, "nodad"],
            )?;
        }
        run("ip", &["-n", &ns, "link", "set", &peer_if, "up"])?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        // The table and chain exist from the start; the drop is one rule.
        lab.exec(
            "nft",
            &["add table inet cpbfd; \
               add chain inet cpbfd input { type filter hook input priority 0; policy accept; }; \
               add chain inet cpbfd output { type filter hook output priority 0; policy accept; }"],
        )?;
        // Make the temp dir reachable for daemons that drop privileges.
        std::fs::set_permissions(
            lab.dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )?;
        Ok(lab)
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn exec(&mut self, program: &str, args: &[&str]) -> io::Result<Output> {
        let mut all = vec!["netns", "exec", self.ns.as_str(), program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    fn spawn(&mut self, program: &str, args: &[&str], log: &str) -> io::Result<()> {
        let log = std::fs::File::create(self.path(log))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.children.push(child);
        Ok(())
    }

    /// Starts dropping BFD packets arriving in the namespace, and with
    /// `both_ways` also those leaving it.
    fn drop_bfd(&mut self, both_ways: bool) -> io::Result<()> {
        let rules = if both_ways {
            "add rule inet cpbfd output udp dport 3784 drop; add rule inet cpbfd input udp dport 3784 drop"
        } else {
            "add rule inet cpbfd input udp dport 3784 drop"
        };
        self.exec("nft", &[rules]).map(|_| ())
    }

    /// Stops dropping.
    fn undrop_bfd(&mut self) -> io::Result<()> {
        self.exec(
            "nft",
            &["flush chain inet cpbfd input; flush chain inet cpbfd output"],
        )
        .map(|_| ())
    }

    /// 100 ms × 3 from our address `host` to the peer's address `peer`.
    fn request(&self, host: usize, peer: usize) -> BfdRequest {
        BfdRequest {
            peer: self.peer[peer],
            local: Some(self.host[host]),
            min_tx_ms: 100,
            min_rx_ms: 100,
            multiplier: 3,
            interface: Some(self.host_if.clone()),
        }
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
    }
}

async fn wait_event(
    rx: &mut watch::Receiver<BfdEvent>,
    within: Duration,
    what: &str,
    mut pred: impl FnMut(&BfdEvent) -> bool,
) -> Result<BfdEvent, String> {
    let waited = tokio::time::timeout(within, rx.wait_for(|e| pred(e)))
        .await
        .map(|r| r.map(|e| *e));
    match waited {
        Ok(Ok(e)) => Ok(e),
        Ok(Err(_)) => Err(format!("{what}: the BFD service stopped")),
        Err(_) => Err(format!(
            "{what}: not within {within:?}, last {:?}",
            *rx.borrow()
        )),
    }
}

/// Cases (1)–(3) against a daemon already started in `lab`.
async fn up_drop_down_up(name: &str, lab: &mut Lab) -> Result<(), String> {
    let bfd = service()?;
    let families = ["IPv4", "IPv6"];
    let mut receivers = Vec::new();
    for family in 0..2 {
        receivers.push(
            bfd.request(lab.request(family, family))
                .map_err(|e| e.to_string())?,
        );
    }
    let started = Instant::now();
    for (family, rx) in receivers.iter_mut().enumerate() {
        let what = format!("{name} {} comes Up", families[family]);
        wait_event(rx, UP_WITHIN, &what, |e| e.state == State::Up).await?;
        let up_ms = started.elapsed().as_millis();
        // The peer may still advertise its 1 s idle rate; its Poll Sequence
        // to 100 ms brings our detection time to 3 × 100 ms.
        let fast = Some(Duration::from_millis(300));
        let what = format!(
            "{name} {} reaches a 300 ms detection time",
            families[family]
        );
        wait_event(rx, UP_WITHIN, &what, |e| e.detection_time == fast).await?;
        println!(
            "{name} {}: Up after {up_ms} ms, detection time 300 ms after {} ms",
            families[family],
            started.elapsed().as_millis()
        );
    }
    for both_ways in [false, true] {
        cut_and_restore(name, lab, &mut receivers, both_ways).await?;
    }
    Ok(())
}

/// Case (2) then (3): drop BFD in the namespace (input only, or input and
/// output so that our own detection timer must fire), time our Down
/// notification, then remove the drop and wait for Up.
async fn cut_and_restore(
    name: &str,
    lab: &mut Lab,
    receivers: &mut [watch::Receiver<BfdEvent>],
    both_ways: bool,
) -> Result<(), String> {
    let families = ["IPv4", "IPv6"];
    let how = if both_ways { "in+out" } else { "input" };
    // Let the Poll Sequence to the fast timers settle before cutting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for rx in receivers.iter_mut() {
        rx.mark_unchanged();
    }
    lab.drop_bfd(both_ways).map_err(|e| e.to_string())?;
    let dropped = Instant::now();
    for (family, rx) in receivers.iter_mut().enumerate() {
        let what = format!("{name} {} goes Down after the {how} drop", families[family]);
        let down = wait_event(rx, DOWN_WITHIN, &what, |e| e.state != State::Up).await?;
        let took = down.since.saturating_duration_since(dropped);
        let detect = Duration::from_millis(300);
        println!(
            "{name} {}: {how} drop→Down {} ms (detection time {} ms, goal ≤ {} ms: {}), diag {:?}",
            families[family],
            took.as_millis(),
            detect.as_millis(),
            (detect + GOAL_SLACK).as_millis(),
            if took <= detect + GOAL_SLACK {
                "met"
            } else {
                "MISSED"
            },
            down.diag
        );
        if took > 2 * detect {
            return Err(format!("{what}: took {took:?}"));
        }
    }
    lab.undrop_bfd().map_err(|e| e.to_string())?;
    let undropped = Instant::now();
    for (family, rx) in receivers.iter_mut().enumerate() {
        let what = format!("{name} {} comes Up again", families[family]);
        wait_event(rx, UP_WITHIN, &what, |e| e.state == State::Up).await?;
        println!(
            "{name} {}: Up again {} ms after the {how} drop was removed",
            families[family],
            undropped.elapsed().as_millis()
        );
    }
    Ok(())
}

/// bfdd's config: a session at 100 ms × 3 for each of the lab's address
/// pairs.
fn frr_config(lab: &Lab) -> String {
    let mut conf = String::from("bfd\n");
    for (ours, peer) in lab.host.iter().zip(&lab.peer) {
        conf.push_str(&format!(
            " peer {ours} local-address {peer}\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n !\n"
        ));
    }
    conf.push_str("!\n");
    conf
}

/// Starts FRR's bfdd in `lab` with [`frr_config`].
fn start_bfdd(lab: &mut Lab) -> io::Result<()> {
    std::fs::write(lab.path("bfdd.conf"), frr_config(lab))?;
    // bfdd drops to the frr user (root is not in the frrvty group).
    run("chown", &["-R", "frr:frr", &lab.path("")])?;
    let (conf, pid, ctl, zapi, dir) = (
        lab.path("bfdd.conf"),
        lab.path("bfdd.pid"),
        lab.path("bfdd.sock"),
        lab.path("zserv.api"),
        lab.path(""),
    );
    lab.spawn(
        &frr_daemon(FRR_BFDD).to_string_lossy(),
        &[
            "-f",
            &conf,
            "-i",
            &pid,
            "--vty_socket",
            &dir,
            "--bfdctl",
            &ctl,
            "-z",
            &zapi,
            "-P",
            "0",
            "-u",
            "frr",
            "-g",
            "frr",
            "--log",
            "stdout",
        ],
        "bfdd.log",
    )
}

#[tokio::test]
async fn frr_bfdd_comes_up_detects_the_drop_and_recovers() {
    if !ready(&[FRR_BFDD]) {
        return;
    }
    let result = async {
        let mut lab = Lab::new().map_err(|e| e.to_string())?;
        start_bfdd(&mut lab).map_err(|e| e.to_string())?;
        let outcome = up_drop_down_up("FRR", &mut lab).await;
        if outcome.is_err() {
            println!("bfdd log:\n{}", lab.log("bfdd.log"));
        }
        outcome
    }
    .await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn bird_config(lab: &Lab) -> String {
    format!(
        "router id {peer4};\nprotocol device {{}}\nprotocol bfd {{\n  interface \"*\" {{ min rx interval 100 ms; min tx interval 100 ms; idle tx interval 1 s; multiplier 3; }};\n  neighbor {host4} local {peer4};\n  neighbor {host6} local {peer6};\n}}\n",
        peer4 = lab.peer[0],
        host4 = lab.host[0],
        peer6 = lab.peer[1],
        host6 = lab.host[1],
    )
}

#[tokio::test]
async fn bird_comes_up_detects_the_drop_and_recovers() {
    if !ready(&[BIRD]) {
        return;
    }
    let result = async {
        let mut lab = Lab::new().map_err(|e| e.to_string())?;
        std::fs::write(lab.path("bird.conf"), bird_config(&lab)).map_err(|e| e.to_string())?;
        let (conf, ctl) = (lab.path("bird.conf"), lab.path("bird.ctl"));
        lab.spawn(BIRD, &["-c", &conf, "-s", &ctl, "-f"], "bird.log")
            .map_err(|e| e.to_string())?;
        let outcome = up_drop_down_up("BIRD", &mut lab).await;
        if outcome.is_err() {
            println!("bird log:\n{}", lab.log("bird.log"));
        }
        outcome
    }
    .await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// CPU time (user, system) of this process's `bfd` threads so far.
fn bfd_thread_cpu() -> (Duration, Duration) {
    // SAFETY: sysconf has no preconditions.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    let mut total = [0u64; 2];
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (Duration::ZERO, Duration::ZERO);
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != "bfd" {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        for (slot, i) in [11, 12].into_iter().enumerate() {
            total[slot] += fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    let ms = |t: u64| Duration::from_millis(t * 1000 / ticks.max(1));
    (ms(total[0]), ms(total[1]))
}

/// The 20-session benchmark: 20 FRR peers (one bfdd, 20 addresses) at
/// 100 ms × 3 — time to all Up, CPU of our BFD thread, drop→Down spread.
#[tokio::test]
async fn twenty_frr_sessions_come_up_and_all_detect_the_drop() {
    const PEERS: u32 = 20;
    if !ready(&[FRR_BFDD]) {
        return;
    }
    let result = async {
        let mut lab = Lab::many(PEERS).map_err(|e| e.to_string())?;
        start_bfdd(&mut lab).map_err(|e| e.to_string())?;
        let bfd = service()?;
        let mut receivers = Vec::new();
        for i in 0..lab.peer.len() {
            receivers.push(bfd.request(lab.request(i, i)).map_err(|e| e.to_string())?);
        }
        let started = Instant::now();
        let fast = Some(Duration::from_millis(300));
        for rx in receivers.iter_mut() {
            wait_event(rx, UP_WITHIN, "all Up at 100 ms", |e| {
                e.state == State::Up && e.detection_time == fast
            })
            .await?;
        }
        let all_up = started.elapsed();
        let cpu_before = bfd_thread_cpu();
        let window = Duration::from_secs(5);
        tokio::time::sleep(window).await;
        let cpu_after = bfd_thread_cpu();
        let user = cpu_after.0.saturating_sub(cpu_before.0);
        let sys = cpu_after.1.saturating_sub(cpu_before.1);
        let cpu = user + sys;
        let sessions = bfd.session_count();
        for rx in receivers.iter_mut() {
            if rx.borrow_and_update().state != State::Up {
                return Err("a session flapped during the steady-state window".into());
            }
        }
        lab.drop_bfd(true).map_err(|e| e.to_string())?;
        let dropped = Instant::now();
        let mut took = Vec::new();
        for rx in receivers.iter_mut() {
            let down = wait_event(rx, DOWN_WITHIN, "Down after the drop", |e| e.state != State::Up).await?;
            took.push(down.since.saturating_duration_since(dropped).as_millis());
        }
        took.sort_unstable();
        lab.undrop_bfd().map_err(|e| e.to_string())?;
        let undropped = Instant::now();
        for rx in receivers.iter_mut() {
            wait_event(rx, UP_WITHIN, "Up again", |e| e.state == State::Up).await?;
        }
        let back = undropped.elapsed();
        let (min, median, max) = (took[0], took[took.len() / 2], took[took.len() - 1]);
        println!(
            "BENCH {PEERS} FRR sessions at 100 ms x 3: all Up in {} ms; bfd thread CPU {} ms (user {} ms, system {} ms) over {} s \
             ({sessions} sessions in this process, {:.2} %, debug build); in+out drop→Down min/median/max {min}/{median}/{max} ms \
             (detection 300 ms); all Up again {} ms after the drop was removed",
            all_up.as_millis(),
            cpu.as_millis(),
            user.as_millis(),
            sys.as_millis(),
            window.as_secs(),
            cpu.as_secs_f64() * 100.0 / window.as_secs_f64(),
            back.as_millis()
        );
        if max > 600 {
            return Err(format!("slowest Down took {max} ms"));
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------
// BFD tied to BGP in the daemon

const OUR_AS: u32 = 8075;
const PEER_AS: u32 = 12_345;
fn our_config(lab: &Lab, api: u16, bfd: bool) -> DaemonConfig {
    let bfd_line = if bfd {
        "bfd = { min_tx_ms = 100, min_rx_ms = 100, multiplier = 3 }"
    } else {
        ""
    };
    let (ours, peer) = (lab.host[0].to_string(), lab.peer[0].to_string());
    DaemonConfig::new(OUR_AS, 179, api)
        .router_id(&ours)
        .listen(&[format!("{ours}:179")])
        .router("hold_time_s = 30")
        .section("[rules]\nrequire_community = \"8075:8007\"")
        .append(&format!(
            r#"
[[registered_prefixes]]
prefix = "45.40.0.0/24"
peer_asn = {PEER_AS}
primary = "ams"
backup = "none"
"#
        ))
        .neighbor(
            &Neighbor::new("peer", &peer, PEER_AS, "peering-service")
                .local_address(&ours)
                .ipv4()
                .with(bfd_line),
        )
}

fn bird_peer(lab: &Lab, bfd: bool) -> Bird {
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
        peer = lab.peer[0],
        ours = lab.host[0],
        onoff = if bfd { "on" } else { "off" },
    );
    Bird::start_in(Some(&lab.ns), &cfg)
}

/// FRR: zebra + bfdd + bgpd inside the namespace, sockets in a temp dir.
struct Frr {
    _procs: Vec<Proc>,
    _dir: tempfile::TempDir,
}

fn frr_peer(lab: &Lab) -> Frr {
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
        ours = lab.host[0],
        peer = lab.peer[0],
    );
    let cfg = d.join("frr.conf");
    std::fs::write(&cfg, conf).expect("write frr.conf");
    // FRR drops to the frr user (root is not in the frrvty group).
    sh(&format!("chown -R frr:frr {}", d.display()));
    let ns = lab.ns.clone();
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

/// What the BGP tests need besides nftables and iproute2.
const BGP_TOOLS: &[&str] = &["bird", "bfdd", "bgpd", "zebra"];

/// Brings the pair up, drops BFD, measures, restores, checks strictness.
fn failover_cycle(name: &str, lab: &mut Lab, d: &Daemon) {
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
    lab.drop_bfd(true).expect("nft drop");
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
    lab.undrop_bfd().expect("nft undrop");
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
    if !ready(BGP_TOOLS) {
        return;
    }
    let mut lab = Lab::bgp().expect("lab");
    let _bird = bird_peer(&lab, true);
    let d = our_config(&lab, free_port(), true).start();
    failover_cycle("BIRD", &mut lab, &d);
}

#[test]
fn frr_bfdd_at_100ms_times_3_comes_up_and_takes_bgp_down_when_dropped() {
    if !ready(BGP_TOOLS) {
        return;
    }
    let mut lab = Lab::bgp().expect("lab");
    let _frr = frr_peer(&lab);
    let d = our_config(&lab, free_port(), true).start();
    failover_cycle("FRR", &mut lab, &d);
}

#[test]
fn a_peer_whose_bfd_never_comes_up_never_gets_its_routes_used() {
    if !ready(BGP_TOOLS) {
        return;
    }
    let lab = Lab::bgp().expect("lab");
    let _bird = bird_peer(&lab, false);
    let d = our_config(&lab, free_port(), true).start();
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
