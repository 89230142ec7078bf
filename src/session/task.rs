//! The body of the per-neighbor task (see `peer` for the API that spawns
//! it): the select loop over commands, shutdown, timers, BFD, the engine's
//! `ToPeer` channel, connection reports and handed-over connections, and
//! the RTT of the established connection. The FSM's actions and
//! `ToEngine` delivery with back-pressure are in `actions`; what is written
//! to the peer, with the session metrics, in `write`; operator control in
//! `control`.
//!
//! Runs inside the `peer` span, so every log line carries the neighbor.

use super::codes::{self, CeaseSubcode};
use super::conn::{self, ConnIo, IoEvent};
use super::encode::encode_update;
use super::fsm::{Action, ConnId, Event, Fsm, State, Timer};
use super::peer::{Command, PeerParams};
use super::sockopt::TcpRtt;
use crate::config::NeighborConfig;
use crate::messages::{BfdStatus, DownCause, Input, NeighborName, ToEngine, ToPeer};
use crate::metrics::METRICS;
use crate::policy::ahead::ImportEval;
use crate::wire::{Codec, Message, RouteRefresh};
use bytes::BytesMut;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

mod actions;
mod control;
mod write;

/// Capacity of the engine → session channel handed over in `SessionUp`.
pub const TO_PEER_CAPACITY: usize = 64;
/// Encoded UPDATEs are handed to the writer in chunks of about this size.
const WRITE_CHUNK: usize = 64 * 1024;
/// The RFC 9687 §4 floor of the default send hold time.
const DEFAULT_SEND_HOLD: Duration = Duration::from_secs(8 * 60);
/// How long shutdown waits for queued NOTIFICATIONs to be written.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) struct Task {
    fsm: Fsm,
    name: NeighborName,
    neighbor: Arc<NeighborConfig>,
    engine: mpsc::Sender<ToEngine>,
    connect_timeout: Duration,
    conns: HashMap<ConnId, ConnIo>,
    connecting: HashMap<ConnId, JoinHandle<()>>,
    io_tx: mpsc::Sender<(ConnId, IoEvent)>,
    to_peer: Option<mpsc::Receiver<ToPeer>>,
    codec: Codec,
    /// Actions not yet carried out.
    queue: VecDeque<Action>,
    /// The state last reported to the engine.
    reported: Option<State>,
    /// Writers of closed connections still flushing.
    flushing: Vec<JoinHandle<()>>,
    /// Teardowns received while waiting for the engine, run next.
    deferred: VecDeque<ToPeer>,
    commands: mpsc::Receiver<Command>,
    /// Commands received while waiting for the engine, run next.
    pending_cmds: VecDeque<Command>,
    shutdown: watch::Receiver<Option<Arc<str>>>,
    /// False once the daemon dropped the shutdown sender.
    shutdown_live: bool,
    /// Shutting down or removed: engine messages are sent without waiting.
    stopping: bool,
    /// Started administratively down (an operator's shutdown survived a
    /// reload that replaced this task): no start until enable
    /// (`NeighborAction::Enable`, or `Command::Start`).
    pub(super) admin_down: bool,
    /// The NOTIFICATION that ends the established session, for BMP.
    down_cause: Option<DownCause>,
    /// `messages_received_total` per message type, resolved on first use
    /// (a label lookup per message was 1 % of the daemon's CPU on a full
    /// table), with the labels every metric of the task uses: its name and
    /// the location of the config it was started with.
    received: [Option<prometheus::IntCounter>; RECEIVED_TYPES.len()],
    /// When `session_uptime_seconds` was last set: at most once a second,
    /// not after every message.
    uptime_set: Option<Instant>,
    /// The engine's import policy for this neighbor, to work out the
    /// verdicts of the UPDATEs we deliver ([`crate::policy::ahead`]).
    import_eval: Option<Arc<ImportEval>>,
}

/// I/O events (mostly received messages) handled per wake-up before the
/// task looks at its other inputs again (commands, timers, the engine).
const IO_BURST: usize = 32;

/// The message types `messages_received_total` counts, in [`Task::received`]'s order.
pub(super) const RECEIVED_TYPES: [&str; 6] = [
    "open",
    "update",
    "notification",
    "keepalive",
    "route_refresh",
    "invalid",
];

impl Task {
    pub(super) fn new(
        params: &PeerParams,
        name: NeighborName,
        commands: mpsc::Receiver<Command>,
        io_tx: mpsc::Sender<(ConnId, IoEvent)>,
    ) -> Task {
        Task {
            fsm: Fsm::new(params.fsm_config()),
            name,
            neighbor: params.neighbor.clone(),
            engine: params.engine.clone(),
            connect_timeout: params.timing.connect_retry,
            conns: HashMap::new(),
            connecting: HashMap::new(),
            io_tx,
            to_peer: None,
            codec: Codec::default(),
            queue: VecDeque::new(),
            reported: None,
            flushing: Vec::new(),
            deferred: VecDeque::new(),
            commands,
            pending_cmds: VecDeque::new(),
            shutdown: params.shutdown.clone(),
            shutdown_live: true,
            stopping: false,
            admin_down: false,
            down_cause: None,
            received: Default::default(),
            uptime_set: None,
            import_eval: None,
        }
    }

    pub(super) async fn run(
        mut self,
        mut accept_rx: mpsc::Receiver<TcpStream>,
        mut io_rx: mpsc::Receiver<(ConnId, IoEvent)>,
        mut bfd: Option<watch::Receiver<BfdStatus>>,
    ) {
        let mut bfd_last = bfd.as_mut().map(|b| *b.borrow_and_update());
        self.report_state().await;
        if !self.neighbor.shutdown && !self.admin_down {
            self.feed(self.start_event()).await;
        }
        info!(state = self.fsm.state().as_str(), "peer task started");
        loop {
            let stop = self.shutdown.borrow_and_update().clone();
            if let Some(text) = stop {
                self.stopping = true;
                self.feed(Event::ManualStop {
                    communication: text.to_string(),
                })
                .await;
                break;
            }
            if let Some(cmd) = self.pending_cmds.pop_front() {
                if self.command(cmd).await {
                    break;
                }
                continue;
            }
            let deadline = self.fsm.next_deadline();
            let established = self.to_peer.is_some();
            let keepalive = self.fsm.timer(Timer::Keepalive);
            let shutdown_live = self.shutdown_live;
            // Order matters (biased): control first; KEEPALIVEs go out even
            // while the peer floods us; the Hold timer (last) is judged only
            // once everything that arrived has been read.
            tokio::select! {
                biased;
                cmd = self.commands.recv() => {
                    if self.command(cmd.unwrap_or(Command::Remove)).await {
                        break;
                    }
                }
                r = self.shutdown.changed(), if shutdown_live => {
                    // Err: the daemon dropped the sender; nothing more will come.
                    self.shutdown_live = r.is_ok();
                }
                _ = sleep_until(keepalive), if keepalive.is_some() => {
                    let actions = self.fsm.poll_keepalive(Instant::now());
                    self.queue.extend(actions);
                    self.drain().await;
                }
                r = wait_bfd(&mut bfd) => match r {
                    Some(status) => {
                        let prev = bfd_last.replace(status);
                        debug!(bfd = status.as_str(), "BFD status");
                        if status == BfdStatus::Down && prev == Some(BfdStatus::Up) {
                            self.feed(Event::BfdDown).await;
                        } else if status == BfdStatus::Up {
                            self.feed(Event::BfdUp).await;
                        }
                    }
                    None => bfd = None,
                },
                msg = recv_to_peer(&mut self.to_peer), if established => match msg {
                    Some(m) => self.on_to_peer(m).await,
                    None => self.to_peer = None,
                },
                Some((id, ev)) = io_rx.recv() => {
                    self.on_io(id, ev).await;
                    // What else has arrived, in order, without setting the
                    // whole select up again per message.
                    for _ in 1..IO_BURST {
                        match io_rx.try_recv() {
                            Ok((id, ev)) => self.on_io(id, ev).await,
                            Err(_) => break,
                        }
                    }
                }
                Some(stream) = accept_rx.recv() => {
                    let id = self.fsm.alloc_conn();
                    if self.add_conn(id, stream) {
                        self.feed(Event::TcpConnectionConfirmed(id)).await;
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    let actions = self.fsm.poll_timers(Instant::now());
                    self.queue.extend(actions);
                    self.drain().await;
                }
            }
            while let Some(t) = self.deferred.pop_front() {
                self.on_to_peer(t).await;
            }
            self.update_uptime();
        }
        self.finish().await;
    }

    fn start_event(&self) -> Event {
        if self.neighbor.passive {
            Event::ManualStartPassive
        } else {
            Event::ManualStart
        }
    }

    /// Carries out a command; true when the task must end.
    async fn command(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Shutdown(text) => {
                self.feed(Event::ManualStop {
                    communication: text,
                })
                .await
            }
            Command::Start => self.feed(self.start_event()).await,
            Command::Control(action, reply) => {
                let answer = self.control(action).await;
                let _ = reply.send(answer);
            }
            Command::Update(neighbor) => self.update_config(neighbor),
            Command::Remove | Command::Reconfigure => {
                let sub = if matches!(cmd, Command::Remove) {
                    CeaseSubcode::PeerDeconfigured
                } else {
                    CeaseSubcode::OtherConfigurationChange
                };
                self.feed(Event::AutomaticStop {
                    notification: codes::cease(sub),
                    hold_down: None,
                })
                .await;
                return true;
            }
        }
        false
    }

    /// Feeds one event and carries out the resulting actions.
    async fn feed(&mut self, ev: Event) {
        let actions = self.fsm.handle(Instant::now(), ev);
        self.sync_codec();
        self.queue.extend(actions);
        self.drain().await;
    }

    /// Once the peer's OPEN is accepted, its connection decodes with the
    /// negotiated codec. This happens before our KEEPALIVE is queued, and
    /// the peer sends no UPDATE before it has that KEEPALIVE, so no UPDATE
    /// is ever decoded with the pre-OPEN defaults.
    fn sync_codec(&mut self) {
        let (Some(n), Some(id)) = (self.fsm.negotiated(), self.fsm.main_conn()) else {
            return;
        };
        let limit = self.send_hold_time();
        if let Some(c) = self.conns.get(&id) {
            c.set_codec(n.codec);
            c.set_stall_limit(limit);
            self.codec = n.codec;
        }
    }

    /// The RFC 9687 send hold time: the neighbor's `send_hold_time_s`, or
    /// by default twice the negotiated hold time and at least 8 minutes.
    fn send_hold_time(&self) -> Duration {
        let hold = self.fsm.negotiated().map_or(0, |n| n.hold_time);
        send_hold_time(self.neighbor.send_hold_time_s, hold)
    }

    async fn drain(&mut self) {
        while let Some(a) = self.queue.pop_front() {
            self.act(a).await;
        }
        self.report_state().await;
    }

    fn add_conn(&mut self, id: ConnId, stream: TcpStream) -> bool {
        match ConnIo::start(id, stream, self.io_tx.clone()) {
            Ok(c) => {
                debug!(conn = id.0, local = %c.local, remote = %c.remote, "connection up");
                self.conns.insert(id, c);
                true
            }
            Err(e) => {
                debug!(conn = id.0, error = %e, "connection lost before start");
                false
            }
        }
    }

    async fn on_io(&mut self, id: ConnId, ev: IoEvent) {
        let fsm_ev = match ev {
            IoEvent::Connected(stream) => {
                self.connecting.remove(&id);
                if !self.add_conn(id, stream) {
                    Event::TcpConnectionFails(id)
                } else {
                    Event::TcpCrAcked(id)
                }
            }
            IoEvent::ConnectFailed(e) => {
                self.connecting.remove(&id);
                self.feed(Event::TcpConnectionFails(id)).await;
                // Once per attempt, i.e. once per back-off step.
                let retry = self
                    .fsm
                    .next_deadline()
                    .map(|d| d.saturating_duration_since(Instant::now()).as_secs());
                let address = self.neighbor.address;
                let port = self.neighbor.port;
                match retry {
                    Some(s) => {
                        info!(%address, port, error = %e, retry_in_s = s, "connect failed; retrying in {s} s")
                    }
                    None => {
                        info!(%address, port, error = %e, "connect failed; waiting for the peer to connect")
                    }
                }
                return;
            }
            IoEvent::Closed(e) => {
                if !self.conns.contains_key(&id) {
                    return;
                }
                match e {
                    Some(e) => info!(conn = id.0, error = %e, "connection lost"),
                    None => debug!(conn = id.0, "connection closed by peer"),
                }
                Event::TcpConnectionFails(id)
            }
            IoEvent::Rtt(sample) => {
                self.on_rtt(id, sample);
                return;
            }
            IoEvent::WriteStalled => {
                if !self.conns.contains_key(&id) {
                    return;
                }
                let limit = self.send_hold_time();
                warn!(
                    conn = id.0,
                    send_hold_time_s = limit.as_secs(),
                    "peer has taken none of our bytes for the send hold time (RFC 9687)"
                );
                Event::SendHoldTimerExpires(id)
            }
            IoEvent::Invalid(e) => {
                if !self.conns.contains_key(&id) {
                    return;
                }
                warn!(conn = id.0, error = %e, "invalid message");
                self.count_received("invalid");
                match e.notification() {
                    Some(n) => Event::MessageError(id, n),
                    None => Event::TcpConnectionFails(id),
                }
            }
            IoEvent::Message(m) => {
                if !self.conns.contains_key(&id) {
                    return;
                }
                self.count_received(type_name(&m));
                match m {
                    Message::Open(o) => Event::Open(id, o),
                    Message::Keepalive => Event::Keepalive(id),
                    Message::Update(u) => Event::Update(id, u),
                    Message::RouteRefresh(r) => Event::RouteRefresh(id, r),
                    Message::Notification(n) => {
                        self.count_notification("received", n.code, n.subcode);
                        self.log_notification(false, &n);
                        info!(notification = %codes::describe(&n), "received NOTIFICATION");
                        if self.to_peer.is_some() && self.fsm.main_conn() == Some(id) {
                            self.down_cause = Some(DownCause::Received(n.clone()));
                        }
                        Event::Notification(id, n)
                    }
                }
            }
        };
        self.feed(fsm_ev).await;
    }

    /// The kernel's RTT estimate of a connection: published (metrics and
    /// the engine) for the session's connection while Established only.
    /// Telemetry: when the engine's channel is full the sample is dropped
    /// rather than waited for; the next one comes in [`conn::RTT_SAMPLE`].
    fn on_rtt(&mut self, id: ConnId, sample: TcpRtt) {
        if self.to_peer.is_none()
            || self.fsm.state() != State::Established
            || self.fsm.main_conn() != Some(id)
        {
            return;
        }
        self.metric_labels(|n, l| {
            METRICS
                .session_rtt_seconds
                .with_label_values(&[n, l])
                .set(sample.rtt.as_secs_f64());
            METRICS
                .session_rtt_variance_seconds
                .with_label_values(&[n, l])
                .set(sample.rttvar.as_secs_f64());
        });
        let msg = Input::SessionRtt {
            neighbor: self.name.clone(),
            rtt: sample.rtt,
            rttvar: sample.rttvar,
        };
        if self.engine.try_send(msg.into()).is_err() {
            debug!("route engine busy; RTT sample dropped");
        }
    }

    /// Ends the task: closes everything, waits briefly for queued
    /// NOTIFICATIONs to be written.
    async fn finish(mut self) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.act(Action::Close(id)).await;
        }
        for (_, h) in self.connecting.drain() {
            h.abort();
        }
        let flushing = std::mem::take(&mut self.flushing);
        let _ = tokio::time::timeout(FLUSH_TIMEOUT, async {
            for h in flushing {
                let _ = h.await;
            }
        })
        .await;
        info!("peer task stopped");
    }
}

/// RFC 9687 §4: the configured send hold time, or by default the larger of
/// 8 minutes and twice the negotiated hold time.
pub(crate) fn send_hold_time(configured: Option<u32>, hold_time: u16) -> Duration {
    match configured {
        Some(s) => Duration::from_secs(u64::from(s)),
        None => DEFAULT_SEND_HOLD.max(Duration::from_secs(2 * u64::from(hold_time))),
    }
}

fn type_name(m: &Message) -> &'static str {
    match m {
        Message::Open(_) => "open",
        Message::Update(_) => "update",
        Message::Notification(_) => "notification",
        Message::Keepalive => "keepalive",
        Message::RouteRefresh(_) => "route_refresh",
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

async fn recv_to_peer(rx: &mut Option<mpsc::Receiver<ToPeer>>) -> Option<ToPeer> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next BFD status; `None` when the BFD service dropped its sender.
async fn wait_bfd(rx: &mut Option<watch::Receiver<BfdStatus>>) -> Option<BfdStatus> {
    match rx {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(*rx.borrow_and_update()),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}
