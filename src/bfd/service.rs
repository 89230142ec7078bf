//! The BFD service (BIRD style): BGP sessions *request* BFD for a peer with
//! [`BfdHandle::request`] and are *notified* through a
//! `tokio::sync::watch::Receiver<BfdEvent>`; dropping every receiver (or
//! calling [`BfdHandle::release`]) ends the BFD session.
//!
//! Task and channels: one dedicated OS thread named `bfd` runs its own
//! current-thread tokio runtime ([`run`]) that owns every [`Session`], the
//! receive sockets on UDP 3784 (IPv4 and IPv6) and one send socket per
//! session. Callers reach it through an unbounded `mpsc` of [`Command`]s;
//! it answers only through the per-session `watch` channels, so a busy main
//! runtime can neither delay BFD timers nor be blocked by them.

use super::fsm::{Session, SessionConfig, Timer};
use super::packet::{Diagnostic, State};
use super::socket::{self, CONTROL_PORT, SINGLE_HOP_TTL};
use crate::messages::BfdStatus;
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{mpsc, watch};

mod runner;
use runner::run;

/// What a BGP session asks for (one BFD session per peer/local/interface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdRequest {
    /// The neighbor's address.
    pub peer: IpAddr,
    /// Our source address; the kernel picks one when `None`.
    pub local: Option<IpAddr>,
    /// Desired Min TX Interval once Up, milliseconds.
    pub min_tx_ms: u32,
    /// Required Min RX Interval, milliseconds.
    pub min_rx_ms: u32,
    /// Detect Mult.
    pub multiplier: u8,
    /// Bind the session to this interface (needed for link-local peers).
    pub interface: Option<String>,
}

impl BfdRequest {
    /// The key that identifies the BFD session serving this request.
    pub fn key(&self) -> SessionKey {
        SessionKey {
            peer: self.peer,
            local: self.local,
            interface: self.interface.clone(),
        }
    }

    fn config(&self) -> SessionConfig {
        SessionConfig {
            desired_min_tx: Duration::from_millis(u64::from(self.min_tx_ms)),
            required_min_rx: Duration::from_millis(u64::from(self.min_rx_ms)),
            detect_mult: self.multiplier,
        }
    }
}

/// Identity of a BFD session: requests with the same key share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    /// The neighbor's address.
    pub peer: IpAddr,
    /// Our source address, if fixed.
    pub local: Option<IpAddr>,
    /// The interface, if bound.
    pub interface: Option<String>,
}

/// What the service tells a requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdEvent {
    /// bfd.SessionState.
    pub state: State,
    /// bfd.RemoteSessionState.
    pub remote_state: State,
    /// bfd.LocalDiag: why the session last went down.
    pub diag: Diagnostic,
    /// The agreed detection time, once the remote system has been heard.
    pub detection_time: Option<Duration>,
    /// When `state` last changed.
    pub since: Instant,
    /// Mean interval between the control packets received since the
    /// state or the remote's Desired Min TX Interval last changed (see
    /// [`RxStats`]); `None` until a few have arrived. Updated with every
    /// packet *without* notifying the receivers: read it when you need it.
    pub rx_interval: Option<Duration>,
    /// Mean deviation of that interval (the jitter); with `rx_interval`.
    pub rx_jitter: Option<Duration>,
}

impl BfdEvent {
    fn initial() -> BfdEvent {
        BfdEvent {
            state: State::Down,
            remote_state: State::Down,
            diag: Diagnostic::None,
            detection_time: None,
            since: Instant::now(),
            rx_interval: None,
            rx_jitter: None,
        }
    }

    /// The state as the engine and the API name it.
    pub fn status(&self) -> BfdStatus {
        match self.state {
            State::AdminDown => BfdStatus::AdminDown,
            State::Down => BfdStatus::Down,
            State::Init => BfdStatus::Init,
            State::Up => BfdStatus::Up,
        }
    }
}

/// Why a request is refused.
#[derive(Debug, Error)]
pub enum BfdError {
    /// Zero intervals or multiplier (RFC 5880 §6.8.1 requires nonzero).
    #[error("invalid BFD request for {peer}: {reason}")]
    InvalidRequest { peer: IpAddr, reason: &'static str },
    /// The local and peer addresses are of different families.
    #[error("local address {local} and peer {peer} differ in address family")]
    FamilyMismatch { peer: IpAddr, local: IpAddr },
    /// The send socket could not be created or bound.
    #[error("BFD socket for {peer}: {source}")]
    Socket {
        peer: IpAddr,
        #[source]
        source: io::Error,
    },
    /// The service thread has stopped.
    #[error("the BFD service has stopped")]
    Stopped,
}

/// Where the service listens and sends; tests change the ports to run two
/// services on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceOptions {
    /// Local receive port (RFC 5881 §4: 3784).
    pub listen_port: u16,
    /// Destination port of sent packets (RFC 5881 §4: 3784).
    pub peer_port: u16,
    /// Also listen on IPv6.
    pub ipv6: bool,
}

impl Default for ServiceOptions {
    fn default() -> ServiceOptions {
        ServiceOptions {
            listen_port: CONTROL_PORT,
            peer_port: CONTROL_PORT,
            ipv6: true,
        }
    }
}

/// A session handed to the service thread.
struct NewSession {
    key: SessionKey,
    config: SessionConfig,
    socket: std::net::UdpSocket,
    /// A receive socket bound to the session's local address, when new.
    listener: Option<std::net::UdpSocket>,
    dest: SocketAddr,
    events: watch::Sender<BfdEvent>,
}

/// Messages from handles to the service thread.
enum Command {
    Add(NewSession),
    Remove(SessionKey),
    /// Stop (true) or resume (false) transmitting for a session.
    Mute(SessionKey, bool),
    Shutdown,
}

type Registry = Arc<Mutex<HashMap<SessionKey, watch::Sender<BfdEvent>>>>;

fn lock(registry: &Registry) -> MutexGuard<'_, HashMap<SessionKey, watch::Sender<BfdEvent>>> {
    // A poisoned map is still a consistent map: every update is one insert/remove.
    registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the BFD service thread.
pub struct BfdService;

impl BfdService {
    /// Starts the service on UDP 3784 (IPv4 and IPv6).
    pub fn start() -> io::Result<BfdHandle> {
        BfdService::start_with(ServiceOptions::default())
    }

    /// Starts the service with explicit ports. Binding errors are returned
    /// here, before the thread starts.
    pub fn start_with(options: ServiceOptions) -> io::Result<BfdHandle> {
        let mut listeners = vec![socket::receive_socket(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            options.listen_port,
        )?];
        if options.ipv6 {
            listeners.push(socket::receive_socket(
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                options.listen_port,
            )?);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let registry: Registry = Arc::default();
        let thread_registry = registry.clone();
        let thread = std::thread::Builder::new()
            .name("bfd".into())
            .spawn(move || runtime.block_on(run(rx, listeners, thread_registry)))?;
        Ok(BfdHandle {
            inner: Arc::new(Inner {
                commands: tx,
                registry,
                options,
                listening: Mutex::default(),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }
}

struct Inner {
    commands: mpsc::UnboundedSender<Command>,
    registry: Registry,
    options: ServiceOptions,
    /// Local addresses with their own receive socket.
    listening: Mutex<HashSet<IpAddr>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A cheap, cloneable handle to the running service. The thread stops when
/// the last handle is dropped or on [`BfdHandle::shutdown`].
#[derive(Clone)]
pub struct BfdHandle {
    inner: Arc<Inner>,
}

impl BfdHandle {
    /// Requests BFD for a peer and returns the notifications. Requests with
    /// the same [`SessionKey`] share one BFD session (the first request's
    /// timers apply). The session ends when every receiver is dropped (the
    /// service checks once a second) or on [`BfdHandle::release`].
    pub fn request(&self, request: BfdRequest) -> Result<watch::Receiver<BfdEvent>, BfdError> {
        let peer = request.peer;
        if request.multiplier == 0 {
            return Err(BfdError::InvalidRequest {
                peer,
                reason: "multiplier must be at least 1",
            });
        }
        if request.min_tx_ms == 0 || request.min_rx_ms == 0 {
            return Err(BfdError::InvalidRequest {
                peer,
                reason: "intervals must be at least 1 ms",
            });
        }
        if let Some(local) = request.local {
            if local.is_ipv4() != peer.is_ipv4() {
                return Err(BfdError::FamilyMismatch { peer, local });
            }
        }
        let key = request.key();
        let mut registry = lock(&self.inner.registry);
        if let Some(events) = registry.get(&key) {
            return Ok(events.subscribe());
        }
        let socket = socket::send_socket(peer, request.local, request.interface.as_deref())
            .map_err(|source| BfdError::Socket { peer, source })?;
        let dest = match peer {
            IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => {
                let scope = socket::scope_id(request.interface.as_deref());
                SocketAddr::V6(SocketAddrV6::new(
                    v6,
                    self.inner.options.peer_port,
                    0,
                    scope,
                ))
            }
            ip => SocketAddr::new(ip, self.inner.options.peer_port),
        };
        let listener = request.local.and_then(|local| self.listener(local));
        let (events, receiver) = watch::channel(BfdEvent::initial());
        self.inner
            .commands
            .send(Command::Add(NewSession {
                key: key.clone(),
                config: request.config(),
                socket,
                listener,
                dest,
                events: events.clone(),
            }))
            .map_err(|_| BfdError::Stopped)?;
        registry.insert(key, events);
        Ok(receiver)
    }

    /// A receive socket on `local`:3784, the first time `local` is seen, so
    /// that several daemons on one host (each with its own addresses) can run
    /// BFD side by side. Without it the wildcard socket still serves.
    fn listener(&self, local: IpAddr) -> Option<std::net::UdpSocket> {
        let mut listening = self
            .inner
            .listening
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if listening.contains(&local) {
            return None;
        }
        match socket::receive_socket(local, self.inner.options.listen_port) {
            Ok(listener) => {
                listening.insert(local);
                Some(listener)
            }
            Err(e) => {
                tracing::warn!(%local, error = %e, "BFD: no receive socket on the local address, using the wildcard one");
                None
            }
        }
    }

    /// Ends the BFD session for this key at once (the remote is told
    /// AdminDown); every receiver sees AdminDown, then the channel closes.
    pub fn release(&self, key: &SessionKey) {
        if lock(&self.inner.registry).remove(key).is_some() {
            let _ = self.inner.commands.send(Command::Remove(key.clone()));
        }
    }

    /// Stops (`true`) or resumes (`false`) transmitting for a session while
    /// it keeps receiving: to the remote this is a link that went dark, with
    /// no AdminDown sent. The lab uses it to cut a simulated link.
    pub fn mute(&self, key: &SessionKey, muted: bool) {
        let _ = self.inner.commands.send(Command::Mute(key.clone(), muted));
    }

    /// The number of BFD sessions the service runs.
    pub fn session_count(&self) -> usize {
        lock(&self.inner.registry).len()
    }

    /// Tells every remote AdminDown, stops the thread and waits for it.
    pub fn shutdown(&self) {
        let _ = self.inner.commands.send(Command::Shutdown);
        let thread = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// The interval between the control packets received from the remote and
/// its jitter, as moving averages: the estimator TCP uses for SRTT and
/// RTTVAR (RFC 6298 §2, gains 1/8 and 1/4). Packets with the Final bit
/// answer a Poll at once (RFC 5880 §6.8.6), outside the remote's schedule,
/// and are left out; a change of state or of the remote's Desired Min TX
/// Interval starts the measure again. The remote jitters its own interval
/// to 75–100 % of the negotiated one (RFC 5880 §6.8.7): BIRD at 100 ms
/// reads about 82 ms with about 4 ms of jitter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RxStats {
    /// Arrival of the last packet counted.
    last: Option<Instant>,
    /// The remote's Desired Min TX Interval in that packet.
    desired_tx: Option<Duration>,
    mean: Duration,
    jitter: Duration,
    /// Intervals measured.
    count: u32,
}

impl RxStats {
    /// Intervals needed before the figures are published.
    const MIN_SAMPLES: u32 = 4;

    /// Counts a packet that arrived `at`, advertising `desired_tx`.
    pub(crate) fn on_packet(&mut self, at: Instant, desired_tx: Duration) {
        if self.desired_tx != Some(desired_tx) {
            *self = RxStats {
                desired_tx: Some(desired_tx),
                ..RxStats::default()
            };
        }
        let Some(last) = self.last.replace(at) else {
            return;
        };
        let sample = at.saturating_duration_since(last);
        if self.count == 0 {
            self.mean = sample;
            self.jitter = Duration::ZERO;
        } else {
            let deviation = self.mean.abs_diff(sample);
            self.jitter = self.jitter * 3 / 4 + deviation / 4;
            self.mean = self.mean * 7 / 8 + sample / 8;
        }
        self.count = self.count.saturating_add(1);
    }

    /// Forgets everything (a state change).
    pub(crate) fn reset(&mut self) {
        *self = RxStats::default();
    }

    /// (mean interval, jitter) once enough packets arrived.
    pub(crate) fn figures(&self) -> Option<(Duration, Duration)> {
        (self.count >= Self::MIN_SAMPLES).then_some((self.mean, self.jitter))
    }
}

/// The event a session publishes now.
fn event_of(
    session: &Session,
    rx: Option<(Duration, Duration)>,
    previous: &BfdEvent,
    now: Instant,
) -> BfdEvent {
    BfdEvent {
        state: session.state(),
        remote_state: session.remote_state(),
        diag: session.diag(),
        detection_time: session.detection_time(),
        since: if previous.state == session.state() {
            previous.since
        } else {
            now
        },
        rx_interval: rx.map(|(i, _)| i),
        rx_jitter: rx.map(|(_, j)| j),
    }
}

/// Timer bookkeeping for [`Action::Arm`] / [`Action::Cancel`].
fn set_timer(
    tx: &mut Option<Instant>,
    detect: &mut Option<Instant>,
    timer: Timer,
    at: Option<Instant>,
) {
    match timer {
        Timer::Tx => *tx = at,
        Timer::Detect => *detect = at,
    }
}

/// True when a received datagram passes the RFC 5881 §5 TTL check.
fn ttl_ok(ttl: Option<u8>) -> bool {
    ttl == Some(SINGLE_HOP_TTL)
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
