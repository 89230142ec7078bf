//! The BGP listener: TCP sockets built with socket2 (SO_REUSEADDR,
//! IPV6_V6ONLY on IPv6, non-blocking, then tokio), the runtime-updatable
//! table of configured neighbors, and the hand-over of accepted connections.
//!
//! One accept task per listening socket (spawned by [`Listener::spawn`]).
//! A connection from an address that is not a configured neighbor is closed
//! at once, before any byte is sent (counted; logged at most once per 10 s
//! with the number closed meanwhile, so a flood does not flood the log); one from a neighbor gets that
//! neighbor's GTSM options and is sent to its peer task over the
//! `mpsc::Sender<TcpStream>` registered with [`Neighbors::register`].
//! TCP MD5 keys are installed on every listening socket of the neighbor's
//! address family, per neighbor address (RFC 2385). GTSM (RFC 5082): the
//! listening socket sends with TTL 255 once any neighbor of its family
//! uses GTSM; the minimum TTL of 254 is set on the accepted socket (the
//! listener is shared, so segments that arrive before the hand-over are
//! not filtered; the session's later messages are).

use super::sockopt;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// Listen backlog.
const BACKLOG: i32 = 128;

/// Listener errors.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot set GTSM for {addr}: {source}")]
    Gtsm { addr: IpAddr, source: io::Error },
    #[error("cannot set the TCP MD5 key for {addr}: {source}")]
    Md5 { addr: IpAddr, source: io::Error },
}

/// What the listener needs to know about a neighbor.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Neighbor name, for logs.
    pub name: Arc<str>,
    /// TCP MD5 key (RFC 2385).
    pub password: Option<String>,
    /// GTSM (RFC 5082) on accepted connections.
    pub ttl_security: bool,
    /// The neighbor's peer task ([`super::peer::PeerHandle::acceptor`]).
    pub handoff: mpsc::Sender<TcpStream>,
}

/// The configured neighbors, shared by the accept tasks; cheap to clone.
#[derive(Clone)]
pub struct Neighbors {
    table: Arc<RwLock<HashMap<IpAddr, Registration>>>,
    sockets: Arc<Vec<Arc<TcpListener>>>,
}

impl Neighbors {
    /// Adds or replaces a neighbor (reload). Installs or removes its MD5 key
    /// on the listening sockets of its family.
    pub fn register(&self, addr: IpAddr, reg: Registration) -> Result<(), ListenError> {
        let addr = addr.to_canonical();
        let old_key = self.get(addr).and_then(|r| r.password);
        if reg.password.is_some() || old_key.is_some() {
            for s in self.family_sockets(addr) {
                sockopt::set_md5(s.as_ref(), addr, reg.password.as_deref())
                    .or_else(|e| ignore_missing_key(e, reg.password.is_none()))
                    .map_err(|source| ListenError::Md5 { addr, source })?;
            }
        }
        if reg.ttl_security {
            // The SYN-ACK leaves from the listening socket: it must carry
            // TTL 255 too, or a GTSM peer drops it (RFC 5082 §3).
            for s in self.family_sockets(addr) {
                sockopt::set_ttl_255(s.as_ref(), addr.is_ipv6())
                    .map_err(|source| ListenError::Gtsm { addr, source })?;
            }
        }
        self.table
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(addr, reg);
        Ok(())
    }

    /// Removes a neighbor (reload); later connections from it are closed.
    pub fn unregister(&self, addr: IpAddr) {
        let addr = addr.to_canonical();
        let old = self
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&addr);
        if old.is_some_and(|r| r.password.is_some()) {
            for s in self.family_sockets(addr) {
                if let Err(e) = sockopt::set_md5(s.as_ref(), addr, None) {
                    debug!(%addr, error = %e, "removing TCP MD5 key");
                }
            }
        }
    }

    /// The registration for an address, if configured.
    pub fn get(&self, addr: IpAddr) -> Option<Registration> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&addr.to_canonical())
            .cloned()
    }

    fn family_sockets(&self, addr: IpAddr) -> impl Iterator<Item = &Arc<TcpListener>> {
        self.sockets
            .iter()
            .filter(move |s| s.local_addr().is_ok_and(|l| l.is_ipv4() == addr.is_ipv4()))
    }
}

fn ignore_missing_key(e: io::Error, removing: bool) -> io::Result<()> {
    if removing && e.raw_os_error() == Some(libc::ENOENT) {
        Ok(())
    } else {
        Err(e)
    }
}

/// Listening sockets plus the neighbor table.
pub struct Listener {
    neighbors: Neighbors,
}

impl Listener {
    /// Binds every address (e.g. `0.0.0.0:179`, `[::]:179`).
    pub fn bind(addrs: &[SocketAddr]) -> Result<Listener, ListenError> {
        let mut sockets = Vec::new();
        for &addr in addrs {
            let s = bind_one(addr).map_err(|source| ListenError::Bind { addr, source })?;
            sockets.push(Arc::new(s));
        }
        Ok(Listener {
            neighbors: Neighbors {
                table: Arc::default(),
                sockets: Arc::new(sockets),
            },
        })
    }

    /// The bound addresses (with the port the kernel chose for port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.neighbors
            .sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// The neighbor table, for registering neighbors (now and on reload).
    pub fn neighbors(&self) -> Neighbors {
        self.neighbors.clone()
    }

    /// Starts one accept task per socket. Abort the handles to stop listening.
    pub fn spawn(self) -> Vec<JoinHandle<()>> {
        let n = self.neighbors;
        n.sockets
            .iter()
            .map(|s| tokio::spawn(accept_loop(s.clone(), n.clone())))
            .collect()
    }
}

/// A listening socket: SO_REUSEADDR, IPV6_V6ONLY for IPv6, non-blocking.
fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    TcpListener::from_std(s.into())
}

/// How often, at most, the accept loop logs refused connections: a flood
/// from strangers is counted (`coldpotato_inbound_refused_total`) and
/// summarised, not logged line by line.
const REFUSED_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The rate limit on "not a neighbor" log lines of one accept loop.
#[derive(Debug, Default)]
struct RefusedLog {
    last: Option<std::time::Instant>,
    /// Refusals since the last line.
    unlogged: u64,
}

impl RefusedLog {
    /// Counts a refusal at `now`; `Some(n)` when a line is due, `n` being
    /// the refusals it did not log before this one.
    fn refused(&mut self, now: std::time::Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < REFUSED_LOG_EVERY)
        {
            self.unlogged += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

fn count_refused(reason: &str) {
    crate::metrics::METRICS
        .inbound_refused_total
        .with_label_values(&[reason])
        .inc();
}

async fn accept_loop(sock: Arc<TcpListener>, neighbors: Neighbors) {
    let mut refused = RefusedLog::default();
    loop {
        let (stream, from) = match sock.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = from.ip().to_canonical();
        let Some(reg) = neighbors.get(ip) else {
            count_refused("not-a-neighbor");
            match refused.refused(std::time::Instant::now()) {
                Some(0) => {
                    info!(%from, "closing connection from an address that is not a neighbor")
                }
                Some(more) => info!(
                    %from,
                    more,
                    "closing connection from an address that is not a neighbor \
                     ({more} more closed since the last such line)"
                ),
                None => {}
            }
            drop(stream);
            continue;
        };
        if reg.ttl_security {
            if let Err(e) = sockopt::set_gtsm(&stream, ip.is_ipv6()) {
                count_refused("gtsm");
                warn!(neighbor = %reg.name, error = %e, "cannot set GTSM; closing");
                continue;
            }
        }
        if let Err(e) = stream.set_nodelay(true) {
            debug!(neighbor = %reg.name, error = %e, "TCP_NODELAY");
        }
        debug!(neighbor = %reg.name, %from, "accepted connection");
        if reg.handoff.try_send(stream).is_err() {
            count_refused("busy");
            debug!(neighbor = %reg.name, "peer task busy or gone; connection dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_once_per_interval_with_a_count() {
        let t0 = std::time::Instant::now();
        let mut log = RefusedLog::default();
        assert_eq!(log.refused(t0), Some(0));
        for i in 1..=999 {
            assert_eq!(log.refused(t0 + std::time::Duration::from_millis(i)), None);
        }
        assert_eq!(log.refused(t0 + REFUSED_LOG_EVERY), Some(999));
        assert_eq!(log.refused(t0 + REFUSED_LOG_EVERY), None);
        assert_eq!(log.refused(t0 + 2 * REFUSED_LOG_EVERY), Some(1));
    }
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn unconfigured_address_is_closed_and_configured_one_handed_over() -> io::Result<()> {
        let l = Listener::bind(&["127.0.0.1:0".parse().map_err(io::Error::other)?])
            .map_err(io::Error::other)?;
        let addr = l.local_addrs()[0];
        let neighbors = l.neighbors();
        let (tx, mut rx) = mpsc::channel(1);
        neighbors
            .register(
                "127.0.0.3".parse().map_err(io::Error::other)?,
                Registration {
                    name: "n3".into(),
                    password: None,
                    ttl_security: true,
                    handoff: tx,
                },
            )
            .map_err(io::Error::other)?;
        let tasks = l.spawn();

        let stranger = tokio::net::TcpSocket::new_v4()?;
        stranger.bind("127.0.0.2:0".parse().map_err(io::Error::other)?)?;
        let mut s = stranger.connect(addr).await?;
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf)).await?;
        assert!(
            matches!(n, Ok(0) | Err(_)),
            "stranger must get EOF/reset, got {n:?}"
        );

        let friend = tokio::net::TcpSocket::new_v4()?;
        friend.bind("127.0.0.3:0".parse().map_err(io::Error::other)?)?;
        let _f = friend.connect(addr).await?;
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await?;
        let Some(got) = got else {
            panic!("no connection handed over");
        };
        assert_eq!(
            sockopt::get_int(&got, libc::IPPROTO_IP, libc::IP_MINTTL)?,
            254,
            "GTSM applied to the accepted socket"
        );
        for t in tasks {
            t.abort();
        }
        Ok(())
    }

    #[tokio::test]
    async fn ipv6_listener_is_v6_only_beside_an_ipv4_one_on_the_same_port() -> io::Result<()> {
        let v4 = Listener::bind(&["127.0.0.1:0".parse().map_err(io::Error::other)?])
            .map_err(io::Error::other)?;
        let port = v4.local_addrs()[0].port();
        let v6addr = SocketAddr::new("::".parse().map_err(io::Error::other)?, port);
        if Socket::new(Domain::IPV6, Type::STREAM, None).is_err() {
            return Ok(()); // no IPv6 in this sandbox
        }
        // Binding succeeds only because [::] does not claim IPv4 too.
        let v6 = bind_one(v6addr)?;
        assert_eq!(
            sockopt::get_int(&v6, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)?,
            1,
            "[::] must not also claim IPv4"
        );
        Ok(())
    }

    #[tokio::test]
    async fn md5_key_is_installed_and_removed_on_reload() -> io::Result<()> {
        let l = Listener::bind(&["127.0.0.1:0".parse().map_err(io::Error::other)?])
            .map_err(io::Error::other)?;
        let n = l.neighbors();
        let (tx, _rx) = mpsc::channel(1);
        let peer: IpAddr = "127.0.0.4".parse().map_err(io::Error::other)?;
        let reg = Registration {
            name: "n4".into(),
            password: Some("s3cret".into()),
            ttl_security: false,
            handoff: tx,
        };
        n.register(peer, reg.clone()).map_err(io::Error::other)?;
        assert!(n.get(peer).is_some());
        // Replacing without a key removes it; a second removal is harmless.
        n.register(
            peer,
            Registration {
                password: None,
                ..reg
            },
        )
        .map_err(io::Error::other)?;
        n.unregister(peer);
        assert!(n.get(peer).is_none());
        Ok(())
    }
}
