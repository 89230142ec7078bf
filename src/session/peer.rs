//! The per-neighbor session task's API: runs the Sans-IO FSM against real
//! sockets and channels, one tokio task per configured neighbor.
//!
//! Inputs: connections handed over by the listener (`mpsc::Sender<TcpStream>`
//! from [`PeerHandle::acceptor`]), our own connects and the connection
//! tasks' reports (`conn`), commands from the daemon ([`PeerHandle`]), the
//! daemon-wide shutdown `watch`, the neighbor's BFD status `watch`, and once
//! Established the engine's `mpsc::Receiver<ToPeer>`.
//! Outputs: `ToEngine` on the shared bounded engine channel — `SessionUp`,
//! `Update` (awaited: that is the back-pressure), `RouteRefresh`,
//! `SessionDown`, and `PeerState` on every state change — and the session
//! metrics. Every log line carries the neighbor name (span `peer`).
//!
//! This file holds the spawn API and handle; the loop itself is in `task`.

use super::listen::Registration;
use super::negotiate::FsmConfig;
use super::task::Task;
use crate::config::{Family, LocalRole, NeighborConfig};
use crate::messages::control::{ControlRefused, NeighborAction};
use crate::messages::{BfdStatus, NeighborName, ToEngine};
use crate::wire::{Afi, BgpRole, Safi};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{info_span, Instrument};

pub use super::task::TO_PEER_CAPACITY;

/// Connections waiting for the task to take them.
const ACCEPT_QUEUE: usize = 4;
/// Reports from connection tasks waiting for the peer task.
const IO_QUEUE: usize = 256;
/// How long an operator's action waits for the peer task's answer.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// FSM timing that deployments leave at the defaults and tests shorten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// ConnectRetryTime; also the connect timeout.
    pub connect_retry: Duration,
    /// First IdleHoldTime of the back-off.
    pub idle_hold_initial: Duration,
    /// Ceiling of the IdleHoldTime back-off.
    pub idle_hold_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            connect_retry: Duration::from_secs(30),
            idle_hold_initial: Duration::from_secs(1),
            idle_hold_max: Duration::from_secs(120),
        }
    }
}

/// Everything a peer task needs.
pub struct PeerParams {
    /// The neighbor's configuration (address, port, passive, MD5, GTSM, …).
    pub neighbor: Arc<NeighborConfig>,
    /// Our ASN (`[router] asn`).
    pub local_as: u32,
    /// Our BGP identifier (`[router] router_id`).
    pub router_id: Ipv4Addr,
    /// Hold time offered unless the neighbor sets `hold_time_s` (`[router] hold_time_s`).
    pub hold_time: u16,
    /// The route engine's shared, bounded channel.
    pub engine: mpsc::Sender<ToEngine>,
    /// The neighbor's BFD status, when BFD is configured.
    pub bfd: Option<watch::Receiver<BfdStatus>>,
    /// Daemon-wide graceful shutdown: `Some(text)` sends Cease /
    /// Administrative Shutdown with that communication and ends the task.
    pub shutdown: watch::Receiver<Option<Arc<str>>>,
    /// FSM timers; `Timing::default()` in the daemon.
    pub timing: Timing,
}

impl PeerParams {
    /// The FSM configuration this neighbor gets.
    pub fn fsm_config(&self) -> FsmConfig {
        let n = &self.neighbor;
        let mut c = FsmConfig::new(self.local_as, self.router_id, n.remote_as);
        c.hold_time = n.hold_time_s.unwrap_or(self.hold_time);
        c.families = n
            .families
            .iter()
            .map(|f| match f {
                Family::Ipv4 => (Afi::IPV4, Safi::UNICAST),
                Family::Ipv6 => (Afi::IPV6, Safi::UNICAST),
            })
            .collect();
        c.passive = n.passive;
        if n.remote_as != self.local_as {
            c.local_role = n.local_role().and_then(|r| match r {
                LocalRole::Provider => Some(BgpRole::Provider),
                LocalRole::Customer => Some(BgpRole::Customer),
                LocalRole::Peer => Some(BgpRole::Peer),
                LocalRole::Rs => Some(BgpRole::RouteServer),
                LocalRole::RsClient => Some(BgpRole::RouteServerClient),
                LocalRole::None => None,
            });
            c.strict_role = n.strict_role;
        }
        if !n.graceful_restart {
            c.graceful_restart = None;
        }
        c.connect_retry = self.timing.connect_retry;
        c.idle_hold_initial = self.timing.idle_hold_initial;
        c.idle_hold_max = self.timing.idle_hold_max;
        c
    }
}

/// Commands to a running peer task.
#[derive(Debug)]
pub(super) enum Command {
    /// Administrative shutdown of this neighbor only (RFC 9003 text).
    Shutdown(String),
    /// Start again after [`PeerHandle::shutdown`].
    Start,
    /// The neighbor was removed from the configuration: Cease / Peer
    /// De-configured, then the task ends.
    Remove,
    /// The neighbor's configuration changed in a way that needs a new
    /// session: Cease / Other Configuration Change, then the task ends
    /// (the daemon starts a new one with the new configuration).
    Reconfigure,
    /// The neighbor's configuration changed only in keys the running
    /// session keeps (`config::diff`'s update fields: policies, limits,
    /// `location`, …): the task takes the new one, and its metrics move to
    /// a new `location` label.
    Update(Arc<NeighborConfig>),
    /// An operator's action (`coldpotato neighbor NAME …`), answered with
    /// what was done or why not (see `task::control`).
    Control(
        NeighborAction,
        oneshot::Sender<Result<String, ControlRefused>>,
    ),
}

/// The daemon's handle on one peer task. Dropping it removes the neighbor
/// like [`PeerHandle::remove`] (without waiting).
pub struct PeerHandle {
    /// The neighbor's name.
    pub name: NeighborName,
    neighbor: Arc<NeighborConfig>,
    accept: mpsc::Sender<TcpStream>,
    commands: mpsc::Sender<Command>,
    join: JoinHandle<()>,
}

impl PeerHandle {
    /// Where the listener hands this neighbor's accepted connections.
    pub fn acceptor(&self) -> mpsc::Sender<TcpStream> {
        self.accept.clone()
    }

    /// The listener registration for this neighbor (MD5 key, GTSM, hand-over).
    pub fn registration(&self) -> Registration {
        Registration {
            name: self.name.clone(),
            password: self.neighbor.password.clone(),
            ttl_security: self.neighbor.ttl_security,
            handoff: self.accept.clone(),
        }
    }

    /// Administratively shuts this session down (Cease / Administrative
    /// Shutdown with `communication`); other sessions are untouched.
    pub async fn shutdown(&self, communication: &str) {
        let _ = self
            .commands
            .send(Command::Shutdown(communication.into()))
            .await;
    }

    /// Starts the session again after [`PeerHandle::shutdown`].
    pub async fn start(&self) {
        let _ = self.commands.send(Command::Start).await;
    }

    /// Removes the neighbor: Cease / Peer De-configured, then the task
    /// ends. Does not wait for it (the caller may be the engine the task is
    /// talking to); use [`PeerHandle::join`] for that.
    pub async fn remove(&self) {
        let _ = self.commands.send(Command::Remove).await;
    }

    /// Hands the task its neighbor's new configuration, for a change that
    /// keeps the session ([`Command::Update`]). Does not wait.
    pub async fn update(&mut self, neighbor: Arc<NeighborConfig>) {
        self.neighbor = neighbor.clone();
        let _ = self.commands.send(Command::Update(neighbor)).await;
    }

    /// Ends the session for a configuration change that needs a new one:
    /// Cease / Other Configuration Change (RFC 4486 §4), then the task
    /// ends. Does not wait.
    pub async fn reconfigure(&self) {
        let _ = self.commands.send(Command::Reconfigure).await;
    }

    /// Carries out an operator's action on this neighbor and says what was
    /// done; waits at most [`CONTROL_TIMEOUT`] for the task's answer.
    pub async fn control(&self, action: NeighborAction) -> Result<String, ControlRefused> {
        let (tx, rx) = oneshot::channel();
        let gone =
            || ControlRefused::Failed(format!("the session task of {} is not running", self.name));
        let exchange = async {
            self.commands
                .send(Command::Control(action, tx))
                .await
                .map_err(|_| gone())?;
            rx.await.map_err(|_| gone())?
        };
        match tokio::time::timeout(CONTROL_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => Err(ControlRefused::Failed(format!(
                "the session task of {} did not answer within {} s",
                self.name,
                CONTROL_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Waits for the task to end (after the daemon-wide shutdown signal).
    pub async fn join(self) {
        let _ = self.join.await;
    }
}

/// Starts the task of one neighbor. It connects (unless passive) right
/// away, unless the neighbor is configured `shutdown = true`.
pub fn spawn(params: PeerParams) -> PeerHandle {
    spawn_with(params, false)
}

/// Starts the task of a neighbor an operator shut down (`coldpotato
/// neighbor NAME shutdown`) and whose task a reload replaced: it stays Idle,
/// refusing connections, until [`PeerHandle::start`].
pub fn spawn_admin_down(params: PeerParams) -> PeerHandle {
    spawn_with(params, true)
}

fn spawn_with(params: PeerParams, admin_down: bool) -> PeerHandle {
    let name: NeighborName = params.neighbor.name.as_str().into();
    let (accept_tx, accept_rx) = mpsc::channel(ACCEPT_QUEUE);
    let (cmd_tx, cmd_rx) = mpsc::channel(8);
    let (io_tx, io_rx) = mpsc::channel(IO_QUEUE);
    let neighbor = params.neighbor.clone();
    let span = info_span!("peer", neighbor = %name);
    let mut task = Task::new(&params, name.clone(), cmd_rx, io_tx);
    task.admin_down = admin_down;
    let join = tokio::spawn(task.run(accept_rx, io_rx, params.bfd).instrument(span));
    PeerHandle {
        name,
        neighbor,
        accept: accept_tx,
        commands: cmd_tx,
        join,
    }
}
