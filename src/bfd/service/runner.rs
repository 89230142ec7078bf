//! The loop on the `bfd` thread: receives datagrams, demultiplexes them to
//! sessions (by Your Discriminator, or by source address when it is zero —
//! RFC 5880 §6.8.6), fires timers and carries out the FSM's actions. Reads
//! [`Command`]s from the handles' `mpsc`; writes each session's `watch`.

use super::{
    event_of, lock, set_timer, ttl_ok, BfdEvent, Command, NewSession, Registry, RxStats, SessionKey,
};
use crate::bfd::fsm::{Action, Session};
use crate::bfd::packet::{ControlPacket, Flags};
use crate::bfd::socket::recv_with_ttl;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

/// How often sessions whose receivers are all gone are swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Largest datagram read (a Control packet is at most 255 octets).
const RECV_BUFFER: usize = 512;
/// Datagrams read but not yet handled by the loop; beyond this (a flood on
/// UDP 3784) new ones are dropped and counted, so memory stays bounded.
const DATAGRAM_QUEUE: usize = 1024;
/// A reader yields to the loop (timers, transmissions) after this many
/// datagrams in a row, so a flood cannot starve the sessions' timers on
/// this single-threaded runtime.
const READ_BURST: usize = 32;

/// One session on the service thread.
struct Entry {
    key: SessionKey,
    session: Session,
    socket: UdpSocket,
    dest: SocketAddr,
    events: watch::Sender<BfdEvent>,
    tx_at: Option<Instant>,
    detect_at: Option<Instant>,
    /// Transmission suppressed ([`super::BfdHandle::mute`]).
    muted: bool,
    /// What arrives from the remote: interval and jitter.
    rx: RxStats,
}

impl Entry {
    /// Carries out the FSM's actions and publishes the new view.
    fn apply(&mut self, now: Instant, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send(packet) => self.send(&packet),
                Action::Arm(timer, at) => {
                    set_timer(&mut self.tx_at, &mut self.detect_at, timer, Some(at))
                }
                Action::Cancel(timer) => {
                    set_timer(&mut self.tx_at, &mut self.detect_at, timer, None)
                }
                Action::StateChanged { from, to, diag } => {
                    self.rx.reset();
                    tracing::info!(peer = %self.key.peer, %from, %to, diag = diag.code(), "BFD state changed");
                }
            }
        }
        let session = &self.session;
        let rx = self.rx.figures();
        self.events.send_if_modified(|event| {
            let next = event_of(session, rx, event, now);
            let changed = next.state != event.state
                || next.remote_state != event.remote_state
                || next.diag != event.diag
                || next.detection_time != event.detection_time;
            // The receive figures move with every packet: stored for
            // whoever reads them, without waking anybody.
            event.rx_interval = next.rx_interval;
            event.rx_jitter = next.rx_jitter;
            if changed {
                *event = next;
            }
            changed
        });
    }

    fn send(&self, packet: &ControlPacket) {
        if self.muted {
            return;
        }
        let bytes = packet.to_bytes();
        if let Err(e) = self.socket.try_send_to(&bytes, self.dest) {
            tracing::debug!(peer = %self.key.peer, error = %e, "BFD send failed");
        }
    }
}

/// All sessions, indexed by local discriminator and by peer address.
#[derive(Default)]
struct Sessions {
    by_discr: HashMap<u32, Entry>,
    /// Sessions per peer address, for packets whose Your Discriminator is 0.
    by_peer: HashMap<IpAddr, Vec<u32>>,
}

impl Sessions {
    fn new_discriminator(&self) -> u32 {
        loop {
            let d: u32 = rand::random();
            if d != 0 && !self.by_discr.contains_key(&d) {
                return d;
            }
        }
    }

    fn add(&mut self, now: Instant, new: NewSession) {
        if self.by_discr.values().any(|e| e.key == new.key) {
            return;
        }
        let socket = match UdpSocket::from_std(new.socket) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(peer = %new.key.peer, error = %e, "BFD socket registration failed");
                return;
            }
        };
        let discr = self.new_discriminator();
        let mut session = Session::new(discr, new.config, rand::random());
        let actions = session.start(now);
        let mut entry = Entry {
            key: new.key,
            session,
            socket,
            dest: new.dest,
            events: new.events,
            tx_at: None,
            detect_at: None,
            muted: false,
            rx: RxStats::default(),
        };
        entry.apply(now, actions);
        self.by_peer.entry(entry.key.peer).or_default().push(discr);
        self.by_discr.insert(discr, entry);
    }

    /// Tells the remote AdminDown and forgets the session.
    fn remove(&mut self, now: Instant, key: &SessionKey) {
        let Some(discr) = self
            .by_discr
            .iter()
            .find(|(_, e)| &e.key == key)
            .map(|(d, _)| *d)
        else {
            return;
        };
        if let Some(mut entry) = self.by_discr.remove(&discr) {
            let actions = entry.session.admin_down(now);
            entry.apply(now, actions);
            if let Some(list) = self.by_peer.get_mut(&key.peer) {
                list.retain(|d| *d != discr);
                if list.is_empty() {
                    self.by_peer.remove(&key.peer);
                }
            }
        }
    }

    /// The session for a packet whose Your Discriminator is zero (RFC 5880
    /// §6.8.6, RFC 5881 §3): by source address, then by the local address
    /// the packet arrived on when the receive socket knows it.
    fn by_source(&self, from: IpAddr, local: Option<IpAddr>) -> Option<u32> {
        let candidates = self.by_peer.get(&from)?;
        let local_of = |d: &u32| self.by_discr.get(d).and_then(|e| e.key.local);
        candidates
            .iter()
            .find(|d| local.is_some() && local_of(d) == local)
            .or_else(|| candidates.iter().find(|d| local_of(d).is_none()))
            .or_else(|| candidates.first())
            .copied()
    }

    fn receive(&mut self, now: Instant, datagram: &Datagram) {
        let Datagram {
            bytes: buf,
            from,
            ttl,
            local,
            ..
        } = datagram;
        let (from, ttl) = (*from, *ttl);
        if !ttl_ok(ttl) {
            tracing::debug!(%from, ?ttl, "BFD packet discarded: TTL/hop limit is not 255");
            return;
        }
        let packet = match ControlPacket::decode(buf) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(%from, error = %e, "BFD packet discarded");
                return;
            }
        };
        let discr = if packet.your_discriminator != 0 {
            packet.your_discriminator
        } else {
            match self.by_source(from.ip(), *local) {
                Some(d) => d,
                None => {
                    tracing::debug!(%from, "BFD packet for no session");
                    return;
                }
            }
        };
        let Some(entry) = self.by_discr.get_mut(&discr) else {
            tracing::debug!(%from, discr, "BFD packet for an unknown discriminator");
            return;
        };
        match entry.session.on_packet(now, &packet) {
            Ok(actions) => {
                if !packet.flags.contains(Flags::FINAL) {
                    entry.rx.on_packet(now, packet.desired_min_tx());
                }
                entry.apply(now, actions)
            }
            Err(e) => tracing::debug!(%from, error = %e, "BFD packet discarded by session"),
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        for entry in self.by_discr.values_mut() {
            if entry.detect_at.is_some_and(|at| at <= now) {
                entry.detect_at = None;
                let actions = entry.session.on_detect_timer(now);
                entry.apply(now, actions);
            }
            if entry.tx_at.is_some_and(|at| at <= now) {
                entry.tx_at = None;
                let actions = entry.session.on_tx_timer(now);
                entry.apply(now, actions);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.by_discr
            .values()
            .flat_map(|e| [e.tx_at, e.detect_at])
            .flatten()
            .min()
    }
}

/// One datagram read by a receive task.
struct Datagram {
    bytes: Vec<u8>,
    from: SocketAddr,
    ttl: Option<u8>,
    /// The address the receive socket is bound to, unless a wildcard.
    local: Option<IpAddr>,
    at: Instant,
}

/// Reads one receive socket until the service loop goes away, forwarding
/// each datagram (with its arrival time) to the loop.
async fn receive_task(socket: std::net::UdpSocket, out: mpsc::Sender<Datagram>) {
    let socket = match UdpSocket::from_std(socket) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "BFD receive socket registration failed");
            return;
        }
    };
    let local = socket
        .local_addr()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified());
    let mut buf = [0u8; RECV_BUFFER];
    let dropped = crate::metrics::METRICS
        .bfd_datagrams_dropped_total
        .with_label_values(&[]);
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        for _ in 0..READ_BURST {
            match socket.try_io(Interest::READABLE, || recv_with_ttl(&socket, &mut buf)) {
                Ok(r) => {
                    let datagram = Datagram {
                        bytes: buf[..r.len.min(buf.len())].to_vec(),
                        from: r.from,
                        ttl: r.ttl,
                        local,
                        at: Instant::now(),
                    };
                    match out.try_send(datagram) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => dropped.inc(),
                        Err(mpsc::error::TrySendError::Closed(_)) => return,
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!(error = %e, "BFD receive failed");
                    break;
                }
            }
        }
        tokio::task::yield_now().await;
    }
}

/// The service loop; returns on [`Command::Shutdown`] or when every handle is gone.
pub(super) async fn run(
    mut commands: mpsc::UnboundedReceiver<Command>,
    listeners: Vec<std::net::UdpSocket>,
    registry: Registry,
) {
    let (datagram_tx, mut datagrams) = mpsc::channel(DATAGRAM_QUEUE);
    let mut readers = Vec::new();
    for listener in listeners {
        readers.push(tokio::spawn(receive_task(listener, datagram_tx.clone())));
    }
    let mut sessions = Sessions::default();
    let mut next_sweep = Instant::now() + SWEEP_INTERVAL;
    loop {
        let wake = sessions
            .next_deadline()
            .map_or(next_sweep, |d| d.min(next_sweep));
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(Command::Add(mut new)) => {
                    if let Some(listener) = new.listener.take() {
                        readers.push(tokio::spawn(receive_task(listener, datagram_tx.clone())));
                    }
                    sessions.add(Instant::now(), new)
                }
                Some(Command::Remove(key)) => sessions.remove(Instant::now(), &key),
                Some(Command::Mute(key, muted)) => {
                    for e in sessions.by_discr.values_mut().filter(|e| e.key == key) {
                        e.muted = muted;
                    }
                }
                Some(Command::Shutdown) | None => break,
            },
            Some(d) = datagrams.recv() => sessions.receive(d.at, &d),
            () = tokio::time::sleep_until(wake.into()) => {},
        }
        let now = Instant::now();
        sessions.fire_timers(now);
        if now >= next_sweep {
            next_sweep = now + SWEEP_INTERVAL;
            sweep(&registry, &mut sessions, now);
        }
    }
    for reader in readers {
        reader.abort();
    }
    let now = Instant::now();
    let keys: Vec<SessionKey> = sessions.by_discr.values().map(|e| e.key.clone()).collect();
    for key in keys {
        sessions.remove(now, &key);
    }
    lock(&registry).clear();
}

/// Ends the sessions nobody watches any more.
fn sweep(registry: &Registry, sessions: &mut Sessions, now: Instant) {
    let mut gone = Vec::new();
    {
        let mut map = lock(registry);
        map.retain(|key, events| {
            // The service's own clone is the only sender; receivers are the requesters.
            let watched = events.receiver_count() > 0;
            if !watched {
                gone.push(key.clone());
            }
            watched
        });
    }
    for key in gone {
        tracing::info!(peer = %key.peer, "BFD session released: no more watchers");
        sessions.remove(now, &key);
    }
}
