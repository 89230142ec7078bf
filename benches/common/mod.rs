//! Shared harness of the whole-daemon benches (`daemon_memory`,
//! `bfd_under_load`, `full_table`): child processes killed on drop, our
//! release daemon, BIRD 2 with its control socket, the `coldpotato loadgen`
//! process, a minimal blocking BGP speaker ([`Speaker`], for feeds the
//! load generator cannot send), a network namespace deleted on drop, and
//! /proc readers (RSS, peak RSS, CPU time). Trimmed from `tests/common`; no
//! tasks or channels, plain threads.
#![allow(dead_code)]

use bytes::{Buf, BytesMut};
use coldpotato::wire::{self, Capability, Codec, Message, Open, Update, UpdateBuilder};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    #[error("BGP: {0}")]
    Bgp(String),
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

/// A minimal blocking BGP speaker, after `src/lab/sim.rs`: it connects from
/// its own loopback address to a speaker under test, opens a session with
/// the crate's wire codec and then sends whatever bytes the bench builds
/// (with [`coldpotato::wire::UpdateBuilder`]). A reader thread drains and
/// checks what the other side sends (a NOTIFICATION or a close ends the
/// session, see [`Speaker::ended`]) and a keepalive thread keeps it up.
/// Dropping it closes the connection and joins both threads.
pub struct Speaker {
    writer: Arc<Mutex<TcpStream>>,
    /// Another handle of the socket, to shut it down without the lock.
    ctl: TcpStream,
    /// The negotiated codec (4-octet ASNs), for building UPDATEs.
    pub codec: Codec,
    stop: Arc<AtomicBool>,
    ended: Arc<Mutex<Option<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Connects from `local` (port chosen by the kernel) to `target`, retrying
/// for up to 10 s while the speaker under test is not listening yet.
fn connect_from(local: IpAddr, target: SocketAddr) -> Result<TcpStream> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(target),
            socket2::Type::STREAM,
            None,
        )?;
        sock.set_reuse_address(true)?;
        sock.bind(&SocketAddr::new(local, 0).into())?;
        match sock.connect_timeout(&target.into(), Duration::from_secs(3)) {
            Ok(()) => return Ok(sock.into()),
            Err(e) if Instant::now() > end => return Err(e.into()),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Encodes one message.
fn encode(codec: &Codec, msg: &Message) -> Result<BytesMut> {
    let mut out = BytesMut::with_capacity(64);
    msg.encode(codec, &mut out)
        .map_err(|e| BenchError::Bgp(format!("encode: {e}")))?;
    Ok(out)
}

/// Reads the next whole message from `stream` into `buf`; `Ok(None)` when
/// the read timed out with no whole message buffered.
fn read_msg(stream: &mut TcpStream, buf: &mut BytesMut, codec: &Codec) -> Result<Option<Message>> {
    loop {
        let len = wire::frame_len(buf, codec).map_err(|e| BenchError::Bgp(format!("{e}")))?;
        if let Some(len) = len {
            let msg =
                Message::decode(&buf[..len], codec).map_err(|e| BenchError::Bgp(format!("{e}")))?;
            buf.advance(len);
            return Ok(Some(msg));
        }
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk) {
            Ok(0) => return Err(BenchError::Bgp("connection closed by the speaker".into())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e.into()),
        }
    }
}

impl Speaker {
    /// Opens a session as `asn` from `local` to `target` (hold time 90 s)
    /// and returns once it is Established.
    pub fn connect(local: IpAddr, asn: u32, target: SocketAddr) -> Result<Speaker> {
        let stream = connect_from(local, target)?;
        stream.set_nodelay(true)?;
        // A speaker that stops reading fails the bench instead of hanging it.
        stream.set_write_timeout(Some(Duration::from_secs(120)))?;
        let ctl = stream.try_clone()?;
        let mut codec = Codec::default();
        let router_id = match local {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 1),
        };
        let open = Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(23456),
            hold_time: 90,
            bgp_id: router_id,
            capabilities: vec![
                Capability::Multiprotocol {
                    afi: wire::Afi::IPV4,
                    safi: wire::Safi::UNICAST,
                },
                Capability::RouteRefresh,
                Capability::FourOctetAs(asn),
            ],
        };
        let mut w = stream.try_clone()?;
        w.write_all(&encode(&codec, &Message::Open(open))?)?;
        let mut r = stream.try_clone()?;
        r.set_read_timeout(Some(Duration::from_millis(500)))?;
        let mut buf = BytesMut::with_capacity(8192);
        let mut hold = 90u16;
        let mut opened = false;
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            if Instant::now() > end {
                return Err(BenchError::Timeout(format!(
                    "session from {local} to {target}"
                )));
            }
            match read_msg(&mut r, &mut buf, &codec)? {
                Some(Message::Open(o)) => {
                    codec.four_octet_as = o
                        .capabilities
                        .iter()
                        .any(|c| matches!(c, Capability::FourOctetAs(_)));
                    if o.hold_time > 0 {
                        hold = hold.min(o.hold_time);
                    }
                    w.write_all(&encode(&codec, &Message::Keepalive)?)?;
                    opened = true;
                }
                Some(Message::Keepalive) if opened => break,
                Some(Message::Notification(n)) => {
                    return Err(BenchError::Bgp(format!("NOTIFICATION {n:?} from {target}")))
                }
                _ => {}
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let ended = Arc::new(Mutex::new(None));
        let writer = Arc::new(Mutex::new(stream));
        let reader = {
            let (stop, ended) = (stop.clone(), ended.clone());
            std::thread::spawn(move || {
                let why = loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    match read_msg(&mut r, &mut buf, &codec) {
                        Ok(Some(Message::Notification(n))) => break format!("NOTIFICATION {n:?}"),
                        Ok(_) => {}
                        Err(e) => break e.to_string(),
                    }
                };
                if !stop.load(Ordering::Relaxed) {
                    *ended.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                }
            })
        };
        let keepalive = {
            let (stop, writer) = (stop.clone(), writer.clone());
            let ka = encode(&codec, &Message::Keepalive)?;
            let every = Duration::from_secs(u64::from(hold / 3).clamp(1, 30));
            std::thread::spawn(move || {
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    if last.elapsed() >= every {
                        let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
                        if w.write_all(&ka).is_err() {
                            return;
                        }
                        last = Instant::now();
                    }
                }
            })
        };
        Ok(Speaker {
            writer,
            ctl,
            codec,
            stop,
            ended,
            threads: vec![reader, keepalive],
        })
    }

    /// Writes already encoded messages (blocks while the other side does
    /// not read: TCP back-pressure).
    pub fn send(&self, bytes: &[u8]) -> Result<()> {
        if let Some(why) = self.ended() {
            return Err(BenchError::Bgp(format!("session ended: {why}")));
        }
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(bytes)?;
        Ok(())
    }

    /// Announces every update (split into messages that fit, written in
    /// 1 MB chunks, as the load generator does), then End-of-RIB for IPv4
    /// unicast; returns the number of prefixes sent.
    pub fn send_table(&self, updates: &[Update]) -> Result<usize> {
        let builder = UpdateBuilder::new(self.codec);
        let mut out = BytesMut::with_capacity(1 << 20);
        let mut n = 0;
        for u in updates {
            n += u.nlri.len();
            builder
                .announce(&u.attrs, None, &u.nlri, &mut out)
                .map_err(|e| BenchError::Bgp(format!("encode: {e}")))?;
            if out.len() >= 1 << 20 {
                self.send(&out)?;
                out.clear();
            }
        }
        out.extend_from_slice(&encode(&self.codec, &Message::from(Update::default()))?);
        self.send(&out)?;
        Ok(n)
    }

    /// Why the session ended (a NOTIFICATION, a close), if it has.
    pub fn ended(&self) -> Option<String> {
        self.ended.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.ctl.shutdown(std::net::Shutdown::Both);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
