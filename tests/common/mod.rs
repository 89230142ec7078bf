//! Shared harness for the integration tests: our binary as a child process,
//! real BGP daemons from Debian (BIRD 2, GoBGP, FRR) with configs in temp
//! dirs, network namespaces, and polling helpers. Everything started here is
//! stopped by a Drop guard, so a failing test cleans up after itself.
#![allow(dead_code)]

pub mod api_fixture;
pub mod config;
pub mod engine_lab;
pub mod exabgp;
pub mod peers;
pub mod session_util;
pub mod speaker;

#[allow(unused_imports)] // not every test builds a daemon config
pub use config::{DaemonConfig, Neighbor};

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Polls `f` every 100 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free TCP port on 127.0.0.1, below the kernel's ephemeral range
/// (32768+): a port picked from that range can be taken by any outgoing
/// connection (a CLI talking gRPC, a peer connecting) before the daemon
/// binds it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 20_000 + (std::process::id() % 600) * 20;
    loop {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = (base + n % 12_000) as u16;
        if port >= 32_000 {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Where Debian installs FRR's daemons, which it keeps off PATH.
const FRR_LIBEXEC: &str = "/usr/lib/frr";
/// The FRR daemons the tests start (looked up in [`FRR_LIBEXEC`] too).
const FRR_DAEMONS: &[&str] = &["bfdd", "bgpd", "zebra"];

/// Where tool `bin` is: the first executable `bin` on PATH, or for FRR's
/// daemons (`bfdd`, `bgpd`, `zebra`) the one in `/usr/lib/frr`.
pub fn which(bin: &str) -> Option<PathBuf> {
    fn executable(p: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(bin))
        .find(|p| executable(p))
        .or_else(|| {
            FRR_DAEMONS
                .contains(&bin)
                .then(|| Path::new(FRR_LIBEXEC).join(bin))
                .filter(|p| executable(p))
        })
}

/// Whether tool `bin` is installed (see [`which`]).
pub fn have(bin: &str) -> bool {
    which(bin).is_some()
}

/// The path of FRR daemon `daemon` (`bfdd`, `bgpd`, `zebra`); call it
/// after [`need`] said it is there.
pub fn frr_daemon(daemon: &str) -> PathBuf {
    which(daemon).unwrap_or_else(|| panic!("FRR's {daemon} is not installed"))
}

/// True when running as root (network namespaces, port 179, nftables).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// True under the README's test command (`tests/run.sh` sets
/// `COLDPOTATO_TESTS_STRICT`) or in CI: there a missing prerequisite is a
/// failure, never a skip.
pub fn strict() -> bool {
    std::env::var_os("COLDPOTATO_TESTS_STRICT").is_some() || std::env::var_os("CI").is_some()
}

/// The one gate for a test that needs outside tools or root. Tools are
/// looked up with [`which`] (PATH; FRR's daemons also in /usr/lib/frr,
/// which Debian keeps off PATH). `true`: run the test. `false`: return at
/// once; a `SKIPPED <test>: <why>` line went to stderr, past libtest's
/// output capture, and `tests/run.sh` counts those lines. Under
/// [`strict`] a missing prerequisite fails the test, naming it and what
/// is missing.
pub fn need(tools: &[&str], root: bool) -> bool {
    let mut missing: Vec<String> = tools
        .iter()
        .filter(|t| !have(t))
        .map(|t| format!("{t} is not installed"))
        .collect();
    if root && !is_root() {
        missing.push("needs root".into());
    }
    if missing.is_empty() {
        return true;
    }
    skip(&missing.join(", "));
    false
}

/// Reports a skipped test (see [`need`]): a visible `SKIPPED` line, or a
/// failure under [`strict`]. The line is written to the process's stderr
/// directly (libtest captures `eprintln!`, not `std::io::stderr()`), on a
/// line of its own: libtest has already printed `test NAME ... ` when
/// running one test at a time, and `tests/run.sh` counts lines that start
/// with `SKIPPED `.
pub fn skip(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unknown test")
        .to_string();
    if strict() {
        panic!("{test}: cannot run here: {why} (tests/run.sh installs the tools; run it as root)");
    }
    let line = format!("\nSKIPPED {test}: {why}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A child process killed (SIGTERM, then SIGKILL) when dropped.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// Spawns `cmd` with stdout and stderr to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Proc {
        let f = std::fs::File::create(&log).expect("create log");
        let f2 = f.try_clone().expect("clone log");
        cmd.stdout(Stdio::from(f))
            .stderr(Stdio::from(f2))
            .stdin(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Proc {
            name: name.to_string(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for exit; returns the exit code.
    pub fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        self.signal(libc::SIGTERM);
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGCONT);
            self.signal(libc::SIGTERM);
            for _ in 0..40 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Our daemon, started from a config text in a temp dir.
pub struct Daemon {
    pub proc: Proc,
    pub api: SocketAddr,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Daemon {
    /// Writes `config` (which must use `api` as `[api] listen`) and starts
    /// `coldpotato run`, waiting until `/healthz` answers.
    pub fn start(config: &str, api: SocketAddr) -> Daemon {
        Self::start_in(None, config, api)
    }

    /// Like [`Daemon::start`], inside network namespace `netns` when given.
    pub fn start_in(netns: Option<&str>, config: &str, api: SocketAddr) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("coldpotato.toml");
        std::fs::write(&path, config).expect("write config");
        let bin = env!("CARGO_BIN_EXE_coldpotato");
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, bin]);
                c
            }
            None => Command::new(bin),
        };
        cmd.args(["run", "--config"]).arg(&path);
        cmd.env("RUST_LOG", "info,coldpotato=debug");
        let proc = Proc::spawn("coldpotato", cmd, dir.path().join("coldpotato.log"));
        let d = Daemon {
            proc,
            api,
            dir,
            config: path,
        };
        let ok = wait_for(Duration::from_secs(20), || {
            (http_get(d.api, "/healthz").map(|(c, _)| c) == Some(200)).then_some(())
        });
        assert!(
            ok.is_some(),
            "daemon did not become healthy:\n{}",
            d.proc.log_text()
        );
        d
    }

    /// GET an API path and parse JSON.
    pub fn get(&self, path: &str) -> serde_json::Value {
        let (code, body) = http_get(self.api, path).unwrap_or((0, String::new()));
        assert_eq!(code, 200, "GET {path} -> {code}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// Every item of a paged list (`/api/v1/routes…`,
    /// `…/adj-rib-out`), following `X-Next-Cursor` page after page.
    pub fn get_all(&self, path: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let p = match &after {
                Some(c) => format!("{path}{sep}after={c}"),
                None => path.to_string(),
            };
            let (code, next, body) =
                http_get_page(self.api, &p).unwrap_or((0, None, String::new()));
            assert_eq!(code, 200, "GET {p} -> {code}: {body}");
            let page: Vec<serde_json::Value> =
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {p}: {e}: {body}"));
            out.extend(page);
            match next {
                Some(c) => after = Some(c),
                None => return out,
            }
        }
    }

    /// The neighbor object named `name`.
    pub fn neighbor(&self, name: &str) -> Option<serde_json::Value> {
        self.get("/api/v1/neighbors")
            .as_array()?
            .iter()
            .find(|n| n["name"] == name)
            .cloned()
    }

    /// Waits until neighbor `name` is in `state`.
    pub fn wait_state(&self, name: &str, state: &str, timeout: Duration) -> bool {
        wait_for(timeout, || {
            (self.neighbor(name).map(|n| n["state"] == state) == Some(true)).then_some(())
        })
        .is_some()
    }

    /// Rewrites the config file and sends SIGHUP.
    pub fn reload(&self, config: &str) {
        std::fs::write(&self.config, config).expect("rewrite config");
        self.proc.signal(libc::SIGHUP);
    }

    pub fn log(&self) -> String {
        self.proc.log_text()
    }

    /// Whether the daemon still runs and answers `/healthz`.
    pub fn alive(&mut self) -> bool {
        matches!(self.proc.child.try_wait(), Ok(None))
            && http_get(self.api, "/healthz").map(|(c, _)| c) == Some(200)
    }

    /// How often neighbor `name` reached Established
    /// (`coldpotato_session_established_total`).
    pub fn ups(&self, name: &str) -> f64 {
        metric_sum(
            self.api,
            "coldpotato_session_established_total",
            &[&format!("neighbor=\"{name}\"")],
        )
    }

    /// The route objects (`status=all`) for exactly `prefix`.
    pub fn routes_for(&self, prefix: &str) -> Vec<serde_json::Value> {
        self.get(&format!("/api/v1/routes?prefix={prefix}&status=all"))
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["prefix"] == prefix)
            .collect()
    }
}

/// `coldpotato loadgen` as a feeding peer: `prefixes` prefixes in `sets`
/// attribute sets (table `seed`, when given), from `local` as `asn` to the
/// daemon at `target`, keeping the session for `hold_for_s` seconds.
pub struct Loadgen<'a> {
    pub target: SocketAddr,
    pub local: &'a str,
    pub asn: u32,
    pub prefixes: usize,
    pub sets: usize,
    pub seed: Option<u64>,
    pub hold_for_s: u32,
}

impl Loadgen<'_> {
    /// Starts it, its output in `log`.
    pub fn spawn(&self, log: PathBuf) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coldpotato"));
        cmd.args(["loadgen", "--target", &self.target.to_string()])
            .args(["--local", self.local])
            .args(["--asn", &self.asn.to_string()])
            .args(["--prefixes", &self.prefixes.to_string()])
            .args(["--sets", &self.sets.to_string()]);
        if let Some(seed) = self.seed {
            cmd.args(["--seed", &seed.to_string()]);
        }
        cmd.args(["--hold-for", &self.hold_for_s.to_string()]);
        Proc::spawn("loadgen", cmd, log)
    }
}

/// A minimal blocking HTTP GET (status, body) on a loopback API.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let url = format!("http://{addr}{path}");
    match ureq::get(&url).timeout(Duration::from_secs(3)).call() {
        Ok(r) => {
            let code = r.status();
            Some((code, r.into_string().ok()?))
        }
        Err(ureq::Error::Status(code, r)) => Some((code, r.into_string().unwrap_or_default())),
        Err(_) => None,
    }
}

/// A GET of one page: (status, its `X-Next-Cursor`, body).
pub fn http_get_page(addr: SocketAddr, path: &str) -> Option<(u16, Option<String>, String)> {
    let url = format!("http://{addr}{path}");
    match ureq::get(&url).timeout(Duration::from_secs(10)).call() {
        Ok(r) => {
            let code = r.status();
            let next = r.header("x-next-cursor").map(str::to_string);
            let mut body = String::new();
            std::io::Read::read_to_string(&mut r.into_reader(), &mut body).ok()?;
            Some((code, next, body))
        }
        Err(ureq::Error::Status(code, r)) => {
            Some((code, None, r.into_string().unwrap_or_default()))
        }
        Err(_) => None,
    }
}

/// BIRD 2 with its own config, control socket and log in a temp dir.
pub struct Bird {
    pub proc: Proc,
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub netns: Option<String>,
}

impl Bird {
    pub fn start(config: &str) -> Bird {
        Self::start_in(None, config)
    }

    pub fn start_in(netns: Option<&str>, config: &str) -> Bird {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("bird.conf");
        let sock = dir.path().join("bird.ctl");
        std::fs::write(&conf, config).expect("write bird.conf");
        let mut cmd = netns_cmd(netns, "bird");
        cmd.arg("-f").arg("-c").arg(&conf).arg("-s").arg(&sock);
        let proc = Proc::spawn("bird", cmd, dir.path().join("bird.log"));
        let b = Bird {
            proc,
            dir,
            sock,
            netns: netns.map(str::to_string),
        };
        let mut b = b;
        let up = wait_for(Duration::from_secs(10), || b.sock.exists().then_some(()));
        assert!(up.is_some(), "bird did not start:\n{}", b.proc.log_text());
        std::thread::sleep(Duration::from_millis(200));
        let exited = b.proc.child.try_wait().ok().flatten();
        assert!(exited.is_none(), "bird exited: {}", b.proc.log_text());
        b
    }

    /// Runs `birdc` with `args` and returns its output.
    pub fn cmd(&self, args: &str) -> String {
        let mut c = netns_cmd(self.netns.as_deref(), "birdc");
        c.arg("-s").arg(&self.sock);
        c.args(args.split_whitespace());
        c.output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Whether protocol `name` is Established.
    pub fn established(&self, name: &str) -> bool {
        self.cmd(&format!("show protocols {name}"))
            .contains("Established")
    }
}

/// GoBGP with its own config and gRPC port.
pub struct GoBgp {
    pub proc: Proc,
    pub dir: tempfile::TempDir,
    pub grpc_port: u16,
    pub netns: Option<String>,
}

impl GoBgp {
    /// A GoBGP speaker (`asn`, on `addr`:`port`) with one neighbor: our
    /// daemon in `our_as` at 127.0.0.1:`ours`; hold time 9 s, retry 1 s.
    pub fn loopback_config(asn: u32, addr: &str, port: u16, our_as: u32, ours: u16) -> String {
        format!(
            r#"
[global.config]
  as = {asn}
  router-id = "{addr}"
  port = {port}
  local-address-list = ["{addr}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = {our_as}
  [neighbors.transport.config]
    remote-port = {ours}
    local-address = "{addr}"
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
"#
        )
    }

    pub fn start(config: &str) -> GoBgp {
        Self::start_in(None, config)
    }

    /// Like [`GoBgp::start`], inside network namespace `netns` when given.
    pub fn start_in(netns: Option<&str>, config: &str) -> GoBgp {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("gobgpd.toml");
        std::fs::write(&conf, config).expect("write gobgpd.toml");
        let grpc_port = free_port();
        let mut cmd = netns_cmd(netns, "gobgpd");
        cmd.arg("-f")
            .arg(&conf)
            .arg("-t")
            .arg("toml")
            .arg("--api-hosts")
            .arg(format!("127.0.0.1:{grpc_port}"))
            .arg("--log-level")
            .arg("debug");
        let proc = Proc::spawn("gobgpd", cmd, dir.path().join("gobgpd.log"));
        let g = GoBgp {
            proc,
            dir,
            grpc_port,
            netns: netns.map(str::to_string),
        };
        let up = wait_for(Duration::from_secs(10), || {
            let out = g.cli("global");
            out.contains("AS:").then_some(())
        });
        assert!(up.is_some(), "gobgpd did not start:\n{}", g.proc.log_text());
        g
    }

    /// The `gobgp` CLI against this daemon, arguments to add.
    pub fn command(&self) -> Command {
        let mut c = netns_cmd(self.netns.as_deref(), "gobgp");
        c.arg("-p").arg(self.grpc_port.to_string());
        c
    }

    /// Runs the `gobgp` CLI against this daemon (stdout and stderr).
    pub fn cli(&self, args: &str) -> String {
        self.command()
            .args(args.split_whitespace())
            .output()
            .map(|o| {
                let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
                s.push_str(&String::from_utf8_lossy(&o.stderr));
                s
            })
            .unwrap_or_default()
    }
}

/// `ip netns exec NS prog` when `netns` is set, else `prog`.
pub fn netns_cmd(netns: Option<&str>, prog: &str) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, prog]);
            c
        }
        None => Command::new(prog),
    }
}

/// Runs a shell command, panicking with its output when it fails.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace, deleted (with its veth ends) when dropped.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates namespace `name` (deleting a leftover one of that name first).
    pub fn new(name: &str) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        sh(&format!("ip netns add {name}"));
        sh(&format!("ip -n {name} link set lo up"));
        Netns {
            name: name.to_string(),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).output();
                }
            });
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A veth pair from the root namespace into a fresh namespace: `ours` on the
/// root side, `peer` inside; both deleted when dropped.
pub struct VethLink {
    pub ns: Netns,
    pub ours: String,
    pub peer: String,
    veth: String,
}

impl VethLink {
    /// `tag` names the namespace/veth (unique per test); `subnet` picks
    /// 198.18.SUBNET.0/24 (IPv4) or, with `v6`, fd00:c0:SUBNET::/64.
    pub fn new(tag: &str, subnet: u8, v6: bool) -> VethLink {
        let id = std::process::id() % 10_000;
        let ns = Netns::new(&format!("cp{tag}{id}"));
        let veth = format!("cp{tag}{id}");
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{veth}a")])
            .output();
        let (ours, peer, plen, extra) = if v6 {
            (
                format!("fd00:c0:{subnet}::1"),
                format!("fd00:c0:{subnet}::2"),
                64,
                " nodad",
            )
        } else {
            (
                format!("198.18.{subnet}.1"),
                format!("198.18.{subnet}.2"),
                24,
                "",
            )
        };
        sh(&format!("ip link add {veth}a type veth peer name {veth}b"));
        sh(&format!("ip link set {veth}b netns {}", ns.name));
        sh(&format!("ip addr add {ours}/{plen} dev {veth}a{extra}"));
        sh(&format!("ip link set {veth}a up"));
        sh(&format!(
            "ip -n {} addr add {peer}/{plen} dev {veth}b{extra}",
            ns.name
        ));
        sh(&format!("ip -n {} link set {veth}b up", ns.name));
        VethLink {
            ns,
            ours,
            peer,
            veth,
        }
    }
}

impl Drop for VethLink {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{}a", self.veth)])
            .output();
    }
}

/// Appends a line to a file (used for test notes that the CI log keeps).
pub fn note(line: &str) {
    let mut e = std::io::stderr();
    let _ = writeln!(e, "NOTE: {line}");
}

/// A field of `/proc/PID/status` in kB (`VmRSS:`, `VmHWM:`), 0 when absent.
pub fn proc_status_kb(pid: i32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors of a process.
pub fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// The sum of the `/metrics` series of family `name` whose line contains
/// every one of `labels` (e.g. `neighbor="rr1"`).
pub fn metric_sum(api: SocketAddr, name: &str, labels: &[&str]) -> f64 {
    let (_, body) = http_get(api, "/metrics").unwrap_or_default();
    body.lines()
        .filter(|l| {
            l.starts_with(name)
                && l[name.len()..].starts_with(['{', ' '])
                && labels.iter().all(|x| l.contains(x))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>()
        + 0.0
}
