//! Shared harness of the whole-daemon benches (`daemon_memory`,
//! `bfd_under_load`): child processes killed on drop, our release daemon,
//! BIRD 2 with its control socket, the `coldpotato loadgen` process, a
//! network namespace deleted on drop, and /proc readers (RSS, peak RSS, CPU
//! time). Trimmed from `tests/common`; no tasks or channels, plain threads.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Our binary, built by `cargo bench` with the release-like `bench` profile
/// (`target/release/coldpotato`).
pub const OUR_BIN: &str = env!("CARGO_BIN_EXE_coldpotato");

/// Our ASN in the benches: 64496 (RFC 5398 documentation), outside every
/// ASN range `src/lab/table.rs` draws AS paths from (1–60,000, 100,000–300,000,
/// 400,000–450,000). With 8075 about 26 paths per million carry our own ASN;
/// BIRD drops those as AS loops, which would make the two tables differ.
pub const OUR_ASN: u32 = 64_496;

/// Errors that abort a bench run (printed by `main`, exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("`{cmd}` failed: {out}")]
    Shell { cmd: String, out: String },
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("missing tool or permission: {0}")]
    Missing(String),
}

/// Result alias of the benches.
pub type Result<T> = std::result::Result<T, BenchError>;

/// Polls `f` every `every` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// A free TCP port on 127.0.0.1 (racy but fine for one bench at a time).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether `bin` is on PATH (or an absolute path that exists).
pub fn have(bin: &str) -> bool {
    if bin.starts_with('/') {
        return Path::new(bin).exists();
    }
    Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// True when running as root (network namespaces).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a shell command; an error carries its output.
pub fn sh(cmd: &str) -> Result<String> {
    let out = Command::new("sh").args(["-c", cmd]).output()?;
    if !out.status.success() {
        return Err(BenchError::Shell {
            cmd: cmd.to_string(),
            out: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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

/// A child process: SIGTERM, then SIGKILL after 2 s, when dropped.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    /// Spawns `cmd` with stdout and stderr to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Result<Proc> {
        let f = std::fs::File::create(&log)?;
        let f2 = f.try_clone()?;
        cmd.stdout(Stdio::from(f))
            .stderr(Stdio::from(f2))
            .stdin(Stdio::null());
        let child = cmd.spawn()?;
        Ok(Proc {
            name: name.to_string(),
            child,
            log,
        })
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the log (for error messages).
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: plain kill(2) on our own child.
            unsafe {
                libc::kill(self.pid(), libc::SIGTERM);
            }
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

/// A minimal blocking HTTP GET returning (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let url = format!("http://{addr}{path}");
    match ureq::get(&url).timeout(Duration::from_secs(5)).call() {
        Ok(r) => {
            let code = r.status();
            Some((code, r.into_string().ok()?))
        }
        Err(ureq::Error::Status(code, r)) => Some((code, r.into_string().unwrap_or_default())),
        Err(_) => None,
    }
}

/// Our daemon (`coldpotato run`) from a config text in a temp dir.
pub struct Daemon {
    pub proc: Proc,
    pub api: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Daemon {
    /// Writes `config` (whose `[api] listen` must be `api`), starts the
    /// daemon with `RUST_LOG=info` and waits until `/healthz` answers.
    pub fn start(config: &str, api: SocketAddr) -> Result<Daemon> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("coldpotato.toml");
        std::fs::write(&path, config)?;
        let mut cmd = Command::new(OUR_BIN);
        cmd.args(["run", "--config"]).arg(&path);
        cmd.env("RUST_LOG", "info");
        let proc = Proc::spawn("coldpotato", cmd, dir.path().join("coldpotato.log"))?;
        let mut d = Daemon { proc, api, dir };
        let ok = wait_for(Duration::from_secs(20), Duration::from_millis(100), || {
            (http_get(d.api, "/healthz").map(|(c, _)| c) == Some(200)).then_some(())
        });
        if ok.is_none() || d.proc.exited() {
            return Err(BenchError::Timeout(format!(
                "daemon not healthy:\n{}",
                d.proc.log_tail(30)
            )));
        }
        Ok(d)
    }

    /// GET an API path as JSON (None when the API does not answer 200 + JSON).
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        let (code, body) = http_get(self.api, path)?;
        if code != 200 {
            return None;
        }
        serde_json::from_str(&body).ok()
    }

    /// `GET /api/v1/neighbors` as a list.
    pub fn neighbors(&self) -> Vec<serde_json::Value> {
        api_neighbors(self.api)
    }
}

/// `GET /api/v1/neighbors` of the API at `api` as a list (empty on error).
pub fn api_neighbors(api: SocketAddr) -> Vec<serde_json::Value> {
    http_get(api, "/api/v1/neighbors")
        .filter(|(code, _)| *code == 200)
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// BIRD 2 with its own config, control socket and log in a temp dir.
pub struct Bird {
    pub proc: Proc,
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub netns: Option<String>,
}

impl Bird {
    /// Starts `bird -f -c CONF -s SOCK` (inside `netns` when given) and waits
    /// for its control socket.
    pub fn start_in(netns: Option<&str>, config: &str) -> Result<Bird> {
        let dir = tempfile::tempdir()?;
        let conf = dir.path().join("bird.conf");
        let sock = dir.path().join("bird.ctl");
        std::fs::write(&conf, config)?;
        let mut cmd = netns_cmd(netns, "bird");
        cmd.arg("-f").arg("-c").arg(&conf).arg("-s").arg(&sock);
        let proc = Proc::spawn("bird", cmd, dir.path().join("bird.log"))?;
        let mut b = Bird {
            proc,
            dir,
            sock,
            netns: netns.map(str::to_string),
        };
        let up = wait_for(Duration::from_secs(10), Duration::from_millis(100), || {
            b.sock.exists().then_some(())
        });
        if up.is_none() || b.proc.exited() {
            return Err(BenchError::Timeout(format!(
                "bird did not start:\n{}",
                b.proc.log_tail(30)
            )));
        }
        Ok(b)
    }

    /// Runs `birdc -s SOCK ARGS` and returns its output.
    pub fn cmd(&self, args: &str) -> String {
        birdc(self.netns.as_deref(), &self.sock, args)
    }

    /// The pid of the BIRD daemon itself (not `ip netns exec`, which execs).
    pub fn pid(&self) -> i32 {
        self.proc.pid()
    }
}

/// Runs `birdc -s SOCK ARGS` (inside `netns` when given); its stdout.
pub fn birdc(netns: Option<&str>, sock: &Path, args: &str) -> String {
    let mut c = netns_cmd(netns, "birdc");
    c.arg("-s").arg(sock);
    c.args(args.split_whitespace());
    c.output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// One `coldpotato loadgen` process to start (see `src/lab/loadgen.rs`).
pub struct Loadgen<'a> {
    /// Log name (`NAME.log` in the log dir).
    pub name: &'a str,
    /// The speaker's BGP address.
    pub target: SocketAddr,
    /// Our source address (the neighbor address configured on the speaker).
    pub local: &'a str,
    pub asn: u32,
    pub prefixes: usize,
    /// Table seed: different seeds give different tables.
    pub seed: u64,
    /// Seconds to stay connected after the table is sent.
    pub hold_for_s: u64,
}

/// Attribute sets per loadgen table (the brief: 100,000).
pub const LOADGEN_SETS: usize = 100_000;

impl Loadgen<'_> {
    /// Starts the process with its log in `dir`.
    pub fn spawn(&self, dir: &Path) -> Result<Proc> {
        let mut cmd = Command::new(OUR_BIN);
        cmd.arg("loadgen")
            .arg("--target")
            .arg(self.target.to_string())
            .args(["--local", self.local])
            .args(["--asn", &self.asn.to_string()])
            .args(["--prefixes", &self.prefixes.to_string()])
            .args(["--sets", &LOADGEN_SETS.to_string()])
            .args(["--seed", &self.seed.to_string()])
            .args(["--hold-for", &self.hold_for_s.to_string()]);
        cmd.env("RUST_LOG", "warn");
        Proc::spawn(self.name, cmd, dir.join(format!("{}.log", self.name)))
    }
}

/// The "loadgen: sent N prefixes ... in S s" seconds, once printed.
pub fn loadgen_seconds(p: &Proc) -> Option<f64> {
    let log = p.log_text();
    let line = log.lines().find(|l| l.starts_with("loadgen: sent"))?;
    let after = line.split(" in ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

/// A `/proc/PID/status` field in kB (VmRSS, VmHWM, …).
pub fn status_kb(pid: i32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Clock ticks per second for /proc/PID/stat times.
fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// User + system CPU seconds of `pid` so far (all threads).
pub fn cpu_seconds(pid: i32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the ")" that closes the command name: utime is field 14, stime 15.
    let rest = text.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_s())
}

/// A network namespace, deleted (after killing what runs in it) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates namespace `name` (deleting a leftover one of that name first).
    pub fn new(name: &str) -> Result<Netns> {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        sh(&format!("ip netns add {name}"))?;
        let ns = Netns {
            name: name.to_string(),
        };
        sh(&format!("ip -n {name} link set lo up"))?;
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(o) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).output();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// The first three fields of /proc/loadavg (machine load, printed with
/// the results since other work shares the cores).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Megabytes from kB, for printing.
pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}
