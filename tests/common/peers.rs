//! Peers for the hostile-peer and fault suites (issue 11), built on the
//! library's wire codec:
//! - [`BgpPeer`]: an active eBGP/iBGP speaker from a chosen loopback
//!   address that sends its own KEEPALIVEs and writes whatever bytes the
//!   test gives it (a flapping feed, a table, a 65,535-byte UPDATE);
//! - [`raw`]: OPEN and UPDATE bytes built by hand, so a message can have an
//!   exact size or carry what our encoder refuses (an unknown optional
//!   parameter, a hold time of 1);
//! - [`open_exchange`]: one connection, one OPEN, and the daemon's answer;
//! - [`RibPeer`]: a listening internal neighbor that keeps the table it is
//!   sent (a digest per prefix, full attributes for the prefixes asked for)
//!   and checks every message against the negotiated maximum length;
//! - /proc readers (RSS, open files) and a /metrics reader.
//!
//! Every thread here stops when its owner is dropped; every socket read and
//! write has a timeout, so nothing can hang a test.

use bytes::{Buf, BytesMut};
use coldpotato::wire::{
    self, Afi, Capability, Codec, GracefulRestart, Message, Notification, Open, PathAttributes,
    Prefix, Safi,
};
use socket2::{Domain, SockRef, Socket, Type};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Writes to the daemon give up after this long (a daemon that stopped
/// reading fails the test instead of hanging it).
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a test peer puts in its OPEN.
#[derive(Debug, Clone)]
pub struct OpenSpec {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub hold_time: u16,
    /// Offer the Extended Message capability (RFC 8654).
    pub extended_message: bool,
    /// Offer graceful restart (RFC 4724) with these flags.
    pub graceful_restart: Option<GracefulRestart>,
    /// More capabilities, after the usual ones.
    pub extra: Vec<Capability>,
}

impl OpenSpec {
    /// 4-octet AS, IPv4 unicast, route refresh, hold time 90 s.
    pub fn new(asn: u32, router_id: Ipv4Addr) -> OpenSpec {
        OpenSpec {
            asn,
            router_id,
            hold_time: 90,
            extended_message: false,
            graceful_restart: None,
            extra: Vec::new(),
        }
    }

    /// The OPEN message.
    pub fn open(&self) -> Open {
        let mut capabilities = vec![
            Capability::Multiprotocol {
                afi: Afi::IPV4,
                safi: Safi::UNICAST,
            },
            Capability::RouteRefresh,
            Capability::FourOctetAs(self.asn),
        ];
        if self.extended_message {
            capabilities.push(Capability::ExtendedMessage);
        }
        if let Some(gr) = &self.graceful_restart {
            capabilities.push(Capability::GracefulRestart(gr.clone()));
        }
        capabilities.extend(self.extra.iter().cloned());
        Open {
            version: 4,
            my_as: u16::try_from(self.asn).unwrap_or(23456),
            hold_time: self.hold_time,
            bgp_id: self.router_id,
            capabilities,
        }
    }

    /// The OPEN on the wire.
    pub fn bytes(&self) -> Vec<u8> {
        encode(&Message::Open(self.open()), &Codec::default())
    }
}

/// One message on the wire.
pub fn encode(m: &Message, codec: &Codec) -> Vec<u8> {
    let mut out = BytesMut::new();
    m.encode(codec, &mut out).expect("encodable message");
    out.to_vec()
}

/// Graceful restart for IPv4 unicast with the Restart State and Forwarding
/// State bits as given.
pub fn graceful_restart(restart_time: u16, restarting: bool, forwarding: bool) -> GracefulRestart {
    GracefulRestart {
        restart_state: restarting,
        notification: false,
        restart_time,
        families: vec![(Afi::IPV4, Safi::UNICAST, forwarding)],
    }
}

/// A TCP connection from `source` (port chosen by the kernel) to `daemon`.
pub fn connect_from(
    source: Ipv4Addr,
    daemon: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    sock.bind(&SocketAddr::from((source, 0)).into())?;
    sock.connect_timeout(&daemon.into(), timeout)?;
    let stream: TcpStream = sock.into();
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Reads whole messages from `stream` into `buf` until `done` says so, the
/// connection closes or `deadline` passes. Returns the messages and whether
/// the daemon closed the connection.
fn read_messages(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    codec: &mut Codec,
    deadline: Instant,
    mut done: impl FnMut(&[Message]) -> bool,
) -> io::Result<(Vec<Message>, bool)> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        while let Some(len) = wire::frame_len(buf, codec).map_err(io::Error::other)? {
            let m = Message::decode(&buf[..len], codec).map_err(io::Error::other)?;
            buf.advance(len);
            if let Message::Open(o) = &m {
                codec.four_octet_as = o
                    .capabilities
                    .iter()
                    .any(|c| matches!(c, Capability::FourOctetAs(_)));
            }
            got.push(m);
            if done(&got) {
                return Ok((got, false));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok((got, false));
        }
        stream.set_read_timeout(Some(left.min(Duration::from_millis(200))))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Ok((got, true)),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok((got, true)),
            Err(e) => return Err(e),
        }
    }
}

/// What the daemon answered to one OPEN.
pub struct OpenOutcome {
    /// Every message the daemon sent (its OPEN first).
    pub messages: Vec<Message>,
    /// The daemon closed the connection.
    pub closed: bool,
    /// The connection, still open unless `closed`.
    pub stream: TcpStream,
}

impl OpenOutcome {
    /// The NOTIFICATION the daemon sent, if any.
    pub fn notification(&self) -> Option<&Notification> {
        self.messages.iter().find_map(|m| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        })
    }

    /// The daemon took the OPEN: it answered with KEEPALIVE and no NOTIFICATION.
    pub fn accepted(&self) -> bool {
        self.notification().is_none() && self.messages.contains(&Message::Keepalive)
    }

    /// `code/subcode` of the NOTIFICATION, or what happened instead.
    pub fn verdict(&self) -> String {
        match self.notification() {
            Some(n) => format!("{}/{}", n.code, n.subcode),
            None if self.accepted() => "accepted".into(),
            None if self.closed => "closed without NOTIFICATION".into(),
            None => "no answer".into(),
        }
    }
}

/// Connects from `source`, sends `open` (raw bytes) and reads the daemon's
/// answer: until a NOTIFICATION, the close, or its OPEN and KEEPALIVE.
pub fn open_exchange(
    source: Ipv4Addr,
    daemon: SocketAddr,
    open: &[u8],
    timeout: Duration,
) -> io::Result<OpenOutcome> {
    let mut stream = connect_from(source, daemon, timeout)?;
    stream.write_all(open)?;
    let mut buf = BytesMut::new();
    let mut codec = Codec::default();
    let deadline = Instant::now() + timeout;
    let (messages, closed) = read_messages(&mut stream, &mut buf, &mut codec, deadline, |got| {
        let notified = got.iter().any(|m| matches!(m, Message::Notification(_)));
        let opened = got.iter().any(|m| matches!(m, Message::Open(_)));
        notified || (opened && got.contains(&Message::Keepalive))
    })?;
    let closed = closed || {
        // After a NOTIFICATION the daemon closes: wait for it (bounded).
        let mut rest = [0u8; 512];
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        messages
            .iter()
            .any(|m| matches!(m, Message::Notification(_)))
            && matches!(stream.read(&mut rest), Ok(0) | Err(_))
    };
    Ok(OpenOutcome {
        messages,
        closed,
        stream,
    })
}

/// Hand-built OPEN and UPDATE bytes (IPv4 unicast, 4-octet ASNs).
pub mod raw {
    use std::net::Ipv4Addr;

    /// Attribute flags.
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const EXTENDED: u8 = 0x10;

    /// One path attribute; the Extended Length bit is set when the value
    /// needs it or when `force_ext` asks for it (legal for any attribute).
    pub fn attr(flags: u8, code: u8, value: &[u8], force_ext: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(value.len() + 4);
        if value.len() > 255 || force_ext {
            out.extend_from_slice(&[flags | EXTENDED, code]);
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        } else {
            out.extend_from_slice(&[flags & !EXTENDED, code, value.len() as u8]);
        }
        out.extend_from_slice(value);
        out
    }

    /// ORIGIN IGP.
    pub fn origin(force_ext: bool) -> Vec<u8> {
        attr(TRANSITIVE, 1, &[0], force_ext)
    }

    /// AS_PATH: `asns` as AS_SEQUENCE segments of at most 255 4-octet ASNs.
    pub fn as_path(asns: &[u32], force_ext: bool) -> Vec<u8> {
        let mut v = Vec::with_capacity(asns.len() * 4 + 8);
        for seg in asns.chunks(255) {
            v.push(2);
            v.push(seg.len() as u8);
            for a in seg {
                v.extend_from_slice(&a.to_be_bytes());
            }
        }
        attr(TRANSITIVE, 2, &v, force_ext)
    }

    /// NEXT_HOP.
    pub fn next_hop(nh: Ipv4Addr, force_ext: bool) -> Vec<u8> {
        attr(TRANSITIVE, 3, &nh.octets(), force_ext)
    }

    /// MULTI_EXIT_DISC.
    pub fn med(v: u32) -> Vec<u8> {
        attr(OPTIONAL, 4, &v.to_be_bytes(), false)
    }

    /// COMMUNITIES.
    pub fn communities(values: &[u32]) -> Vec<u8> {
        let v: Vec<u8> = values.iter().flat_map(|c| c.to_be_bytes()).collect();
        attr(OPTIONAL | TRANSITIVE, 8, &v, false)
    }

    /// A prefix in NLRI encoding.
    pub fn prefix(p: &ipnet::Ipv4Net) -> Vec<u8> {
        let len = p.prefix_len();
        let mut v = vec![len];
        v.extend_from_slice(&p.network().octets()[..usize::from(len).div_ceil(8)]);
        v
    }

    /// A whole UPDATE message.
    pub fn update(withdrawn: &[ipnet::Ipv4Net], attrs: &[u8], nlri: &[ipnet::Ipv4Net]) -> Vec<u8> {
        let w: Vec<u8> = withdrawn.iter().flat_map(prefix).collect();
        let n: Vec<u8> = nlri.iter().flat_map(prefix).collect();
        let len = 19 + 2 + w.len() + 2 + attrs.len() + n.len();
        assert!(len <= 65_535, "UPDATE of {len} octets");
        let mut m = vec![0xFF; 16];
        m.extend_from_slice(&(len as u16).to_be_bytes());
        m.push(2);
        m.extend_from_slice(&(w.len() as u16).to_be_bytes());
        m.extend_from_slice(&w);
        m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        m.extend_from_slice(attrs);
        m.extend_from_slice(&n);
        m
    }

    /// An UPDATE of exactly `total` octets announcing `p` with AS path
    /// `[asn]`, NEXT_HOP `nh` and as many distinct communities
    /// `hi:0`, `hi:1`, … as fill it. Returns the message and the
    /// communities it carries.
    pub fn communities_update(
        total: usize,
        p: ipnet::Ipv4Net,
        asn: u32,
        nh: Ipv4Addr,
        hi: u16,
    ) -> (Vec<u8>, Vec<u32>) {
        let base = |pad: usize| -> Vec<u8> {
            let mut a = origin(pad > 0);
            a.extend(as_path(&[asn], pad > 1));
            a.extend(next_hop(nh, pad > 2));
            a
        };
        // Header 19, two length fields, the COMMUNITIES header (4, extended).
        let fixed = 19 + 2 + 2 + base(0).len() + 4 + prefix(&p).len();
        assert!(total > fixed + 4 * 64, "{total} octets is too small");
        let pad = (total - fixed) % 4;
        let n = (total - fixed - pad) / 4;
        assert!(n <= 65_536, "{n} communities");
        let values: Vec<u32> = (0..n as u32).map(|i| (u32::from(hi) << 16) | i).collect();
        let mut attrs = base(pad);
        attrs.extend(communities(&values));
        let m = update(&[], &attrs, &[p]);
        assert_eq!(m.len(), total);
        (m, values)
    }

    /// An OPEN with `params` as its optional parameters, verbatim.
    pub fn open(my_as: u16, hold: u16, id: Ipv4Addr, params: &[u8]) -> Vec<u8> {
        let len = 19 + 10 + params.len();
        let mut m = vec![0xFF; 16];
        m.extend_from_slice(&(len as u16).to_be_bytes());
        m.push(1);
        m.push(4);
        m.extend_from_slice(&my_as.to_be_bytes());
        m.extend_from_slice(&hold.to_be_bytes());
        m.extend_from_slice(&id.octets());
        m.push(params.len() as u8);
        m.extend_from_slice(params);
        m
    }

    /// A Capabilities optional parameter (type 2) holding `caps`, each
    /// `(code, value)`.
    pub fn capabilities(caps: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut v = Vec::new();
        for (code, value) in caps {
            v.push(*code);
            v.push(value.len() as u8);
            v.extend_from_slice(value);
        }
        let mut p = vec![2, v.len() as u8];
        p.extend(v);
        p
    }

    /// The 4-octet AS capability (code 65) and IPv4 unicast (code 1).
    pub fn usual_caps(asn: u32) -> Vec<(u8, Vec<u8>)> {
        vec![(1, vec![0, 1, 0, 1]), (65, asn.to_be_bytes().to_vec())]
    }
}

struct PeerInner {
    closed: AtomicBool,
    notifications: Mutex<Vec<Notification>>,
    received: AtomicU64,
    errors: Mutex<Vec<String>>,
}

/// An established session from a test peer to the daemon.
pub struct BgpPeer {
    writer: Arc<Mutex<TcpStream>>,
    /// What was negotiated (4-octet AS, extended message).
    pub codec: Codec,
    inner: Arc<PeerInner>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl BgpPeer {
    /// Connects from `source`, exchanges OPEN and KEEPALIVE within
    /// `timeout`, then keeps the session alive (KEEPALIVE every third of
    /// the hold time) and reads what the daemon sends on a thread.
    pub fn connect(
        source: Ipv4Addr,
        daemon: SocketAddr,
        spec: &OpenSpec,
        timeout: Duration,
    ) -> io::Result<BgpPeer> {
        let mut stream = connect_from(source, daemon, timeout)?;
        let mut hello = spec.bytes();
        hello.extend(encode(&Message::Keepalive, &Codec::default()));
        stream.write_all(&hello)?;
        let mut buf = BytesMut::new();
        let mut codec = Codec::default();
        let (got, closed) = read_messages(
            &mut stream,
            &mut buf,
            &mut codec,
            Instant::now() + timeout,
            |got| {
                got.iter().any(|m| matches!(m, Message::Notification(_)))
                    || (got.iter().any(|m| matches!(m, Message::Open(_)))
                        && got.contains(&Message::Keepalive))
            },
        )?;
        if let Some(n) = got.iter().find_map(|m| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        }) {
            return Err(io::Error::other(format!(
                "the daemon sent NOTIFICATION {n}"
            )));
        }
        let Some(theirs) = got.iter().find_map(|m| match m {
            Message::Open(o) => Some(o),
            _ => None,
        }) else {
            return Err(io::Error::other(format!(
                "no OPEN from the daemon (closed: {closed})"
            )));
        };
        if !got.contains(&Message::Keepalive) {
            return Err(io::Error::other("no KEEPALIVE from the daemon"));
        }
        codec.extended_message = spec.extended_message
            && theirs
                .capabilities
                .iter()
                .any(|c| matches!(c, Capability::ExtendedMessage));
        let hold = theirs.hold_time.min(spec.hold_time);
        let inner = Arc::new(PeerInner {
            closed: AtomicBool::new(false),
            notifications: Mutex::default(),
            received: AtomicU64::new(got.len() as u64),
            errors: Mutex::default(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let writer = Arc::new(Mutex::new(stream.try_clone()?));
        let mut threads = Vec::new();
        {
            let (inner, stop) = (inner.clone(), stop.clone());
            let mut reader = stream;
            threads.push(std::thread::spawn(move || {
                let mut chunk = vec![0u8; 65536];
                let _ = reader.set_read_timeout(Some(Duration::from_millis(100)));
                while !stop.load(Ordering::Relaxed) {
                    match reader.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) =>
                        {
                            continue
                        }
                        Err(_) => break,
                    }
                    loop {
                        match wire::frame_len(&buf, &codec) {
                            Ok(Some(len)) => {
                                match Message::decode(&buf[..len], &codec) {
                                    Ok(Message::Notification(n)) => {
                                        lock(&inner.notifications).push(n)
                                    }
                                    Ok(_) => {}
                                    Err(e) => lock(&inner.errors).push(e.to_string()),
                                }
                                inner.received.fetch_add(1, Ordering::Relaxed);
                                buf.advance(len);
                            }
                            Ok(None) => break,
                            Err(e) => {
                                lock(&inner.errors).push(e.to_string());
                                buf.clear();
                                break;
                            }
                        }
                    }
                }
                inner.closed.store(true, Ordering::Relaxed);
            }));
        }
        if hold > 0 {
            let (inner, stop, writer) = (inner.clone(), stop.clone(), writer.clone());
            let every = Duration::from_millis(u64::from(hold) * 1000 / 3);
            let keepalive = encode(&Message::Keepalive, &codec);
            threads.push(std::thread::spawn(move || {
                let mut next = Instant::now() + every;
                while !stop.load(Ordering::Relaxed) {
                    if Instant::now() >= next {
                        if lock(&writer).write_all(&keepalive).is_err() {
                            inner.closed.store(true, Ordering::Relaxed);
                            return;
                        }
                        next = Instant::now() + every;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }));
        }
        Ok(BgpPeer {
            writer,
            codec,
            inner,
            stop,
            threads,
        })
    }

    /// Writes bytes (whole messages) to the daemon.
    pub fn send_raw(&self, bytes: &[u8]) -> io::Result<()> {
        lock(&self.writer).write_all(bytes)
    }

    /// Sends one message with the negotiated codec.
    pub fn send(&self, m: &Message) -> io::Result<()> {
        self.send_raw(&encode(m, &self.codec))
    }

    /// The connection is gone (EOF, reset or a failed write).
    pub fn closed(&self) -> bool {
        self.inner.closed.load(Ordering::Relaxed)
    }

    /// NOTIFICATIONs the daemon sent.
    pub fn notifications(&self) -> Vec<Notification> {
        lock(&self.inner.notifications).clone()
    }

    /// Messages that did not decode.
    pub fn errors(&self) -> Vec<String> {
        lock(&self.inner.errors).clone()
    }

    /// Closes the connection without a NOTIFICATION, as a crash does (the
    /// kernel's FIN; a reset when unread data is left).
    pub fn crash(mut self) {
        let w = lock(&self.writer);
        let _ = SockRef::from(&*w).set_linger(Some(Duration::ZERO));
        let _ = w.shutdown(Shutdown::Both);
        drop(w);
        self.stop();
    }

    /// Sends Cease / Administrative Shutdown and closes.
    pub fn close(mut self) {
        let n = Notification::new(6, 2, bytes::Bytes::new());
        let _ = self.send(&Message::Notification(n));
        let _ = lock(&self.writer).shutdown(Shutdown::Both);
        self.stop();
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = lock(&self.writer).shutdown(Shutdown::Both);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for BgpPeer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a [`RibPeer`] keeps per prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// A hash of the whole attribute set.
    pub hash: u64,
    pub path_len: usize,
    pub first_as: Option<u32>,
    pub communities: usize,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    /// Length of the UPDATE message that carried it.
    pub msg_len: usize,
}

impl Route {
    fn of(a: &PathAttributes, msg_len: usize) -> Route {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        a.hash(&mut h);
        Route {
            hash: h.finish(),
            path_len: a.as_path.as_ref().map_or(0, |p| p.path_len()),
            first_as: a.as_path.as_ref().and_then(|p| p.first_as()),
            communities: a.communities.len(),
            med: a.med,
            local_pref: a.local_pref,
            msg_len,
        }
    }
}

/// How a [`RibPeer`] presents itself.
#[derive(Debug, Clone)]
pub struct RibOpts {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    /// Offer the Extended Message capability (RFC 8654).
    pub extended_message: bool,
    /// Keep the full attributes of these prefixes.
    pub keep: HashSet<Prefix>,
}

impl RibOpts {
    pub fn new(asn: u32, router_id: Ipv4Addr) -> RibOpts {
        RibOpts {
            asn,
            router_id,
            extended_message: false,
            keep: HashSet::new(),
        }
    }
}

#[derive(Default)]
struct RibInner {
    table: Mutex<HashMap<Prefix, Route>>,
    kept: Mutex<HashMap<Prefix, PathAttributes>>,
    sessions: AtomicU64,
    up: AtomicBool,
    eors: AtomicU64,
    updates: AtomicU64,
    withdrawals: AtomicU64,
    max_len: AtomicUsize,
    errors: Mutex<Vec<String>>,
    notifications: Mutex<Vec<Notification>>,
    last_change: Mutex<Option<Instant>>,
}

/// A listening internal neighbor (the daemon connects to it, so it comes
/// back by itself after the daemon restarts). One session at a time; each
/// new session starts an empty table. A message longer than the session
/// allows (4,096 octets without Extended Message) is an error: it is
/// recorded and answered with NOTIFICATION 1/2 (Bad Message Length).
pub struct RibPeer {
    pub addr: SocketAddr,
    inner: Arc<RibInner>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RibPeer {
    /// Listens on `addr` at once (the daemon may connect any time after).
    pub fn start(addr: SocketAddr, opts: RibOpts) -> RibPeer {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        listener.set_nonblocking(true).expect("nonblocking");
        let inner = Arc::new(RibInner::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (inner, stop) = (inner.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            if let Err(e) = rib_session(s, &opts, &inner, &stop) {
                                if !stop.load(Ordering::Relaxed) {
                                    lock(&inner.errors).push(format!("session: {e}"));
                                }
                            }
                            inner.up.store(false, Ordering::Relaxed);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        RibPeer {
            addr,
            inner,
            stop,
            thread: Some(thread),
        }
    }

    /// Prefixes held.
    pub fn len(&self) -> usize {
        lock(&self.inner.table).len()
    }

    /// Sessions that reached Established.
    pub fn sessions(&self) -> u64 {
        self.inner.sessions.load(Ordering::Relaxed)
    }

    /// A session is Established now.
    pub fn up(&self) -> bool {
        self.inner.up.load(Ordering::Relaxed)
    }

    /// End-of-RIB markers received.
    pub fn eors(&self) -> u64 {
        self.inner.eors.load(Ordering::Relaxed)
    }

    /// UPDATEs received, and prefixes withdrawn.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.inner.updates.load(Ordering::Relaxed),
            self.inner.withdrawals.load(Ordering::Relaxed),
        )
    }

    /// The longest message received.
    pub fn max_len(&self) -> usize {
        self.inner.max_len.load(Ordering::Relaxed)
    }

    /// The route held for `p`.
    pub fn route(&self, p: &Prefix) -> Option<Route> {
        lock(&self.inner.table).get(p).cloned()
    }

    /// The full attributes of a prefix listed in [`RibOpts::keep`].
    pub fn attrs(&self, p: &Prefix) -> Option<PathAttributes> {
        lock(&self.inner.kept).get(p).cloned()
    }

    /// Runs `f` on the table.
    pub fn with_table<R>(&self, f: impl FnOnce(&HashMap<Prefix, Route>) -> R) -> R {
        f(&lock(&self.inner.table))
    }

    /// The prefixes held.
    pub fn prefixes(&self) -> HashSet<Prefix> {
        lock(&self.inner.table).keys().copied().collect()
    }

    /// Protocol errors seen (oversized or undecodable messages, RFC 7606
    /// attribute errors, a session that ended on an I/O error).
    pub fn errors(&self) -> Vec<String> {
        lock(&self.inner.errors).clone()
    }

    /// NOTIFICATIONs the daemon sent.
    pub fn notifications(&self) -> Vec<Notification> {
        lock(&self.inner.notifications).clone()
    }

    /// How long the table has not changed.
    pub fn quiet_for(&self) -> Duration {
        lock(&self.inner.last_change).map_or(Duration::MAX, |t| t.elapsed())
    }

    /// Waits until `pred(table)` holds and the table has been quiet for
    /// `quiet`; false on timeout.
    pub fn wait_until(
        &self,
        timeout: Duration,
        quiet: Duration,
        mut pred: impl FnMut(&HashMap<Prefix, Route>) -> bool,
    ) -> bool {
        super::wait_for(timeout, || {
            (self.up() && self.quiet_for() >= quiet && self.with_table(&mut pred)).then_some(())
        })
        .is_some()
    }
}

impl Drop for RibPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn rib_session(
    mut s: TcpStream,
    opts: &RibOpts,
    inner: &RibInner,
    stop: &AtomicBool,
) -> io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_millis(100)))?;
    s.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut spec = OpenSpec::new(opts.asn, opts.router_id);
    spec.extended_message = opts.extended_message;
    s.write_all(&spec.bytes())?;
    let mut codec = Codec::default();
    let mut buf = BytesMut::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 16];
    let keepalive = encode(&Message::Keepalive, &codec);
    let mut next_keepalive = Instant::now() + Duration::from_secs(10);
    let mut open_seen = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            let _ = s.shutdown(Shutdown::Both);
            return Ok(());
        }
        match s.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
        loop {
            let len = match wire::frame_len(&buf, &codec) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) => {
                    lock(&inner.errors).push(format!("framing: {e} (codec {codec:?})"));
                    let n = Notification::new(1, 2, bytes::Bytes::new());
                    let _ = s.write_all(&encode(&Message::Notification(n), &codec));
                    return Ok(());
                }
            };
            inner.max_len.fetch_max(len, Ordering::Relaxed);
            let m = Message::decode(&buf[..len], &codec);
            buf.advance(len);
            match m {
                Ok(Message::Open(o)) => {
                    let has = |want: &Capability| o.capabilities.iter().any(|c| c == want);
                    codec.four_octet_as = o
                        .capabilities
                        .iter()
                        .any(|c| matches!(c, Capability::FourOctetAs(_)));
                    codec.extended_message =
                        opts.extended_message && has(&Capability::ExtendedMessage);
                    open_seen = true;
                    lock(&inner.table).clear();
                    lock(&inner.kept).clear();
                    *lock(&inner.last_change) = Some(Instant::now());
                    s.write_all(&keepalive)?;
                }
                Ok(Message::Keepalive) => {
                    if open_seen && !inner.up.swap(true, Ordering::Relaxed) {
                        inner.sessions.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(Message::Update(u)) => apply(inner, opts, &u, len),
                Ok(Message::Notification(n)) => {
                    lock(&inner.notifications).push(n);
                    return Ok(());
                }
                Ok(Message::RouteRefresh(_)) => {}
                Err(e) => {
                    lock(&inner.errors).push(format!("decode: {e}"));
                }
            }
        }
        if Instant::now() >= next_keepalive {
            s.write_all(&keepalive)?;
            next_keepalive = Instant::now() + Duration::from_secs(10);
        }
    }
}

fn apply(inner: &RibInner, opts: &RibOpts, u: &wire::Update, len: usize) {
    inner.updates.fetch_add(1, Ordering::Relaxed);
    if u.end_of_rib_family().is_some() {
        inner.eors.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if let Some(e) = &u.attr_error {
        lock(&inner.errors).push(format!("RFC 7606 attribute error: {e:?}"));
    }
    let mut table = lock(&inner.table);
    let mut kept = lock(&inner.kept);
    let gone = u
        .withdrawn
        .iter()
        .chain(u.mp_unreach.iter().flat_map(|m| m.withdrawn.iter()));
    for p in gone {
        inner.withdrawals.fetch_add(1, Ordering::Relaxed);
        table.remove(&p.prefix);
        kept.remove(&p.prefix);
    }
    let new: Vec<Prefix> = u
        .nlri
        .iter()
        .chain(u.mp_reach.iter().flat_map(|m| m.nlri.iter()))
        .map(|p| p.prefix)
        .collect();
    if !new.is_empty() {
        let r = Route::of(&u.attrs, len);
        for p in new {
            if opts.keep.contains(&p) {
                kept.insert(p, u.attrs.clone());
            }
            table.insert(p, r.clone());
        }
    }
    *lock(&inner.last_change) = Some(Instant::now());
}

/// A stop flag for a test's helper thread, raised when dropped, so a
/// failing test does not leave the thread running.
#[derive(Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// The flag, for the thread to poll.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }

    /// Raises it now.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Drop for StopFlag {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What each open file descriptor of a process points at (`socket:[…]`,
/// paths), sorted.
pub fn fd_targets(pid: i32) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| {
                let e = e.ok()?;
                let t = std::fs::read_link(e.path()).ok()?;
                Some(format!(
                    "{}->{}",
                    e.file_name().to_string_lossy(),
                    t.display()
                ))
            })
            .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The `p`-th percentile (0–100) of `v` (sorted in place), nearest rank.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// BIRD 2 like [`super::Bird::start`], with extra command-line arguments
/// (`-R`: graceful restart recovery).
pub fn bird_with_args(config: &str, args: &[&str]) -> super::Bird {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("bird.conf");
    let sock = dir.path().join("bird.ctl");
    std::fs::write(&conf, config).expect("write bird.conf");
    let mut cmd = std::process::Command::new("bird");
    cmd.arg("-f")
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(&sock)
        .args(args);
    let proc = super::Proc::spawn("bird", cmd, dir.path().join("bird.log"));
    let mut b = super::Bird {
        proc,
        dir,
        sock,
        netns: None,
    };
    let up = super::wait_for(Duration::from_secs(10), || b.sock.exists().then_some(()));
    assert!(up.is_some(), "bird did not start:\n{}", b.proc.log_text());
    let exited = b.proc.child.try_wait().ok().flatten();
    assert!(exited.is_none(), "bird exited: {}", b.proc.log_text());
    b
}
