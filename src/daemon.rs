//! The daemon: wires the tasks together and owns their lifecycles.
//!
//! `start` builds, in this order: the route engine task (bounded
//! `mpsc::Sender<ToEngine>` shared by everyone, plus the RPKI `watch` of
//! VRP snapshots), one RTR client task per `[rpki] servers` entry, the BFD service (its own
//! thread, only when some neighbor asks for BFD), the BGP listener, one peer
//! task per neighbor (with a BFD forwarder task when BFD is configured), and
//! the HTTP API. `run` adds the signals: SIGHUP reloads (validate first; a
//! bad file keeps the running config), SIGTERM/SIGINT shut down gracefully
//! (Cease / Administrative Shutdown to every peer, then drain).

use crate::bfd::{BfdEvent, BfdHandle, BfdRequest, BfdService, SessionKey, State as BfdState};
use crate::config::{self, Config, NeighborConfig};
use crate::messages::{BfdStatus, Input, ToEngine};
use crate::metrics::METRICS;
use crate::running::Running;
use crate::session::listen::{Listener, Neighbors};
use crate::session::peer::{self, PeerHandle, PeerParams, Timing};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// BFD events carried to the peer task, the engine and the metrics.
mod bfd_feed;
mod control;

/// Capacity of the route engine's queue: enough for a burst of UPDATEs from
/// every session, small enough that a storm pushes back on the sockets.
pub const ENGINE_QUEUE: usize = 4096;
/// How long shutdown waits for peers to send their NOTIFICATIONs.
const DRAIN: Duration = Duration::from_secs(3);
/// The shutdown communication sent on SIGTERM (RFC 9003).
pub const SHUTDOWN_TEXT: &str = "coldpotato is shutting down";

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Config(#[from] config::ConfigErrors),
    #[error("BGP listener: {0}")]
    Listen(#[from] crate::session::listen::ListenError),
    #[error("API: {0}")]
    Api(std::io::Error),
    #[error("BFD service: {0}")]
    Bfd(std::io::Error),
    #[error("signals: {0}")]
    Signal(std::io::Error),
    #[error("[api] tokens_file: {0}")]
    Tokens(#[from] crate::api::auth::TokensFileError),
}

/// One running neighbor: its peer task and, with BFD, the forwarder that
/// turns the BFD service's events into the peer's and the engine's view.
struct PeerEntry {
    cfg: Arc<NeighborConfig>,
    handle: PeerHandle,
    bfd: Option<(SessionKey, JoinHandle<()>)>,
}

/// A running daemon.
pub struct Daemon {
    cfg: Running,
    path: Option<PathBuf>,
    engine: mpsc::Sender<ToEngine>,
    engine_task: JoinHandle<()>,
    bfd: Option<BfdHandle>,
    neighbors: Neighbors,
    listeners: Vec<JoinHandle<()>>,
    bgp_addrs: Vec<SocketAddr>,
    peers: HashMap<String, PeerEntry>,
    shutdown: watch::Sender<Option<Arc<str>>>,
    api_addr: SocketAddr,
    api_stop: Option<tokio::sync::oneshot::Sender<()>>,
    api_task: JoinHandle<std::io::Result<()>>,
    timing: Timing,
    /// Merges the RTR caches' VRPs for the engine.
    rpki_hub: Arc<crate::rpki::Hub>,
    /// One RTR client task per configured cache, by `host:port`.
    rpki_clients: HashMap<String, JoinHandle<()>>,
    /// Operators' requests from the API (`control`).
    control_rx: mpsc::Receiver<crate::messages::control::ControlRequest>,
    /// Who may send them (`[api] tokens_file`), shared with the API.
    tokens: crate::api::auth::TokenStore,
    /// Neighbors an operator shut down: they stay down across reloads.
    admin_down: std::collections::HashSet<String>,
}

impl Daemon {
    /// Starts every task for `cfg`. `path` is where SIGHUP re-reads it.
    pub async fn start(cfg: Running, path: Option<PathBuf>) -> Result<Daemon, DaemonError> {
        Self::start_with(cfg, path, Timing::default()).await
    }

    /// Like [`Daemon::start`] with FSM timing (the lab shortens it).
    pub async fn start_with(
        cfg: Running,
        path: Option<PathBuf>,
        timing: Timing,
    ) -> Result<Daemon, DaemonError> {
        crate::metrics::set_build_info();
        register_metrics(&cfg);
        crate::metrics::config_loaded(true);
        let (engine, rx) = mpsc::channel(ENGINE_QUEUE);
        let (rpki_hub, rpki_rx) = crate::rpki::Hub::new();
        let engine_task =
            tokio::spawn(crate::engine::run_with_rpki(cfg.clone(), rx, Some(rpki_rx)));

        let tokens =
            crate::api::auth::TokenStore::new(control::load_tokens(&cfg, path.as_deref())?);
        let (control_tx, control_rx) = mpsc::channel(crate::messages::control::CONTROL_QUEUE);
        let api = crate::api::ApiServer::bind(cfg.api.listen, engine.clone())
            .await
            .map_err(DaemonError::Api)?
            .with_control(control_tx, tokens.clone());
        let api_addr = api.local_addr().map_err(DaemonError::Api)?;
        let (api_stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let api_task = tokio::spawn(api.run(async move {
            let _ = stop_rx.await;
        }));

        let listener = Listener::bind(&cfg.router.listen)?;
        let bgp_addrs = listener.local_addrs();
        let neighbors = listener.neighbors();
        let listeners = listener.spawn();
        let (shutdown, _) = watch::channel(None);

        let mut d = Daemon {
            cfg: cfg.clone(),
            path,
            engine,
            engine_task,
            bfd: None,
            neighbors,
            listeners,
            bgp_addrs,
            peers: HashMap::new(),
            shutdown,
            api_addr,
            api_stop: Some(api_stop),
            api_task,
            timing,
            rpki_hub,
            rpki_clients: HashMap::new(),
            control_rx,
            tokens,
            admin_down: Default::default(),
        };
        d.sync_rpki_clients(None);
        for n in &cfg.neighbors {
            d.add_peer(n.clone())?;
        }
        info!(
            bgp = ?d.bgp_addrs,
            api = %d.api_addr,
            neighbors = cfg.neighbors.len(),
            "coldpotato started (AS {}, router id {})",
            cfg.router.asn,
            cfg.router.router_id
        );
        Ok(d)
    }

    /// The API's bound address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The BGP listener's bound addresses.
    pub fn bgp_addrs(&self) -> &[SocketAddr] {
        &self.bgp_addrs
    }

    /// The route engine's queue (for queries).
    pub fn engine(&self) -> mpsc::Sender<ToEngine> {
        self.engine.clone()
    }

    /// The running configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.cfg.config
    }

    /// Starts and stops RTR client tasks so that one runs per configured
    /// cache; `old` is the previous `[rpki]` (a change of intervals restarts
    /// every client). A removed cache's VRPs are dropped at once.
    fn sync_rpki_clients(&mut self, old: Option<&config::RpkiConfig>) {
        let new = self.cfg.rpki.clone();
        let timers_changed = match (old, new.as_ref()) {
            (Some(o), Some(n)) => {
                (o.refresh_s, o.retry_s, o.expire_s) != (n.refresh_s, n.retry_s, n.expire_s)
            }
            _ => false,
        };
        let wanted: Vec<String> = new.as_ref().map(|r| r.servers.clone()).unwrap_or_default();
        let running: Vec<String> = self.rpki_clients.keys().cloned().collect();
        for server in running {
            if timers_changed || !wanted.contains(&server) {
                if let Some(task) = self.rpki_clients.remove(&server) {
                    task.abort();
                }
                METRICS.rpki_session_up.with_label_values(&[&server]).set(0);
                if !wanted.contains(&server) {
                    info!(server = %server, "RTR cache removed; its VRPs are dropped");
                    self.rpki_hub.publish(&server, None);
                }
            }
        }
        let Some(r) = new else { return };
        let timers = crate::rpki::session::Timers {
            refresh: Duration::from_secs(r.refresh_s.into()),
            retry: Duration::from_secs(r.retry_s.into()),
            expire: Duration::from_secs(r.expire_s.into()),
        };
        for server in wanted {
            if !self.rpki_clients.contains_key(&server) {
                let task = crate::rpki::client::spawn(crate::rpki::client::ClientParams {
                    server: server.clone(),
                    timers,
                    hub: self.rpki_hub.clone(),
                });
                self.rpki_clients.insert(server, task);
            }
        }
    }

    fn bfd_service(&mut self) -> Result<&BfdHandle, DaemonError> {
        if self.bfd.is_none() {
            self.bfd = Some(BfdService::start().map_err(DaemonError::Bfd)?);
        }
        match &self.bfd {
            Some(b) => Ok(b),
            None => Err(DaemonError::Bfd(std::io::Error::other(
                "BFD service missing",
            ))),
        }
    }

    fn add_peer(&mut self, n: NeighborConfig) -> Result<(), DaemonError> {
        let cfg = Arc::new(n);
        // An administratively shut-down neighbor gets no BFD either: nothing
        // is sent toward it at all.
        let (bfd_rx, bfd) = match cfg.bfd.filter(|_| !cfg.shutdown) {
            Some(b) => {
                let req = BfdRequest {
                    peer: cfg.address,
                    local: cfg.local_address,
                    min_tx_ms: b.min_tx_ms,
                    min_rx_ms: b.min_rx_ms,
                    multiplier: b.multiplier,
                    interface: None,
                };
                let key = req.key();
                let events = match self.bfd_service()?.request(req) {
                    Ok(rx) => rx,
                    Err(e) => {
                        return Err(DaemonError::Bfd(std::io::Error::other(format!(
                            "neighbor {}: {e}",
                            cfg.name
                        ))))
                    }
                };
                let (tx, rx) = watch::channel(BfdStatus::Down);
                let fwd = tokio::spawn(bfd_feed::forward_bfd(
                    cfg.clone(),
                    events,
                    tx,
                    self.engine.clone(),
                ));
                (Some(rx), Some((key, fwd)))
            }
            None => (None, None),
        };
        let spawn = match self.admin_down.contains(&cfg.name) {
            true => peer::spawn_admin_down,
            false => peer::spawn,
        };
        let handle = spawn(PeerParams {
            neighbor: cfg.clone(),
            local_as: self.cfg.router.asn,
            router_id: self.cfg.router.router_id,
            hold_time: self.cfg.router.hold_time_s,
            engine: self.engine.clone(),
            bfd: bfd_rx,
            shutdown: self.shutdown.subscribe(),
            timing: self.timing,
        });
        if let Err(e) = self.neighbors.register(cfg.address, handle.registration()) {
            warn!(neighbor = %cfg.name, "cannot accept connections: {e}");
        }
        self.peers
            .insert(cfg.name.clone(), PeerEntry { cfg, handle, bfd });
        Ok(())
    }

    /// Ends a neighbor's task: Cease / Peer De-configured when it is gone
    /// from the config, Other Configuration Change when it is replaced.
    async fn remove_peer(&mut self, name: &str, replaced: bool) {
        if let Some(e) = self.peers.remove(name) {
            self.neighbors.unregister(e.cfg.address);
            if replaced {
                e.handle.reconfigure().await;
            } else {
                e.handle.remove().await;
                // Its series go once the task has sent its last NOTIFICATION
                // and state change.
                let name = name.to_string();
                tokio::spawn(async move {
                    e.handle.join().await;
                    crate::metrics::forget_neighbor(&name);
                });
            }
            if let Some((key, fwd)) = e.bfd {
                if let Some(b) = &self.bfd {
                    b.release(&key);
                }
                fwd.abort();
            }
        }
    }

    /// Administratively shuts one neighbor down (RFC 9003 communication),
    /// leaving every other session alone; `start_neighbor` brings it back.
    pub async fn shutdown_neighbor(&self, name: &str, text: &str) -> bool {
        match self.peers.get(name) {
            Some(e) => {
                e.handle.shutdown(text).await;
                true
            }
            None => false,
        }
    }

    /// Starts a neighbor again after [`Daemon::shutdown_neighbor`].
    pub async fn start_neighbor(&self, name: &str) -> bool {
        match self.peers.get(name) {
            Some(e) => {
                e.handle.start().await;
                true
            }
            None => false,
        }
    }

    /// Re-reads the config file and applies it (SIGHUP, `coldpotato
    /// reload`); says what changed. A file that does not validate is
    /// reported line by line and the running config stays.
    pub async fn reload(&mut self) -> Result<Vec<String>, config::ConfigErrors> {
        let Some(path) = self.path.clone() else {
            return Ok(Vec::new());
        };
        match crate::running::load(&path) {
            Ok(new) => {
                log_warnings(&new);
                register_metrics(&new);
                crate::metrics::config_loaded(true);
                // Counted once: here when nothing changed, else by the
                // engine, which may still refuse it (policy).
                let mut changes = control::describe(&config::diff(&self.cfg, &new));
                changes.extend(self.reload_tokens(&new));
                self.apply(new).await;
                self.admin_down.retain(|n| self.peers.contains_key(n));
                Ok(changes)
            }
            Err(errs) => {
                for e in errs.iter() {
                    error!("reload rejected, keeping the running config: {e}");
                }
                crate::metrics::config_loaded(false);
                METRICS
                    .config_reloads_total
                    .with_label_values(&["failure"])
                    .inc();
                Err(errs)
            }
        }
    }

    /// Applies a validated config: neighbors added, removed or reset as the
    /// diff says; everything else (policy, rules, registered prefixes,
    /// originate, max-prefix) goes to the engine, which re-applies it from
    /// the Adj-RIB-In without touching the sessions.
    pub async fn apply(&mut self, new: Running) {
        let diff = config::diff(&self.cfg, &new);
        if diff.is_empty() {
            info!("reload: no changes");
            METRICS
                .config_reloads_total
                .with_label_values(&["success"])
                .inc();
            return;
        }
        if diff.listen_changed || diff.api_changed {
            warn!("reload: listen addresses changed; they take effect at the next restart");
        }
        for name in &diff.neighbors_removed {
            info!(neighbor = %name, "reload: neighbor removed");
            self.remove_peer(name, false).await;
        }
        let restart: Vec<String> = diff
            .neighbors_reset
            .iter()
            .map(|c| c.name.clone())
            .chain(
                diff.neighbors_updated
                    .iter()
                    .filter(|c| c.fields.contains(&"bfd"))
                    .map(|c| c.name.clone()),
            )
            .collect();
        for name in &restart {
            info!(neighbor = %name, "reload: session reset required");
            self.remove_peer(name, true).await;
        }
        // The engine learns the new neighbor table before any new session.
        let _ = self.engine.send(Input::Reload(new.clone()).into()).await;
        let old = std::mem::replace(&mut self.cfg, new.clone());
        if diff.rpki_changed {
            info!("reload: [rpki] changed");
            self.sync_rpki_clients(old.rpki.as_ref());
        }
        // Changes the running sessions keep: each task takes its new config
        // (after the engine, so both move to a new `location` label).
        for change in &diff.neighbors_updated {
            if restart.contains(&change.name) {
                continue;
            }
            let (Some(n), Some(e)) = (
                new.neighbors.iter().find(|n| n.name == change.name),
                self.peers.get_mut(&change.name),
            ) else {
                continue;
            };
            let n = Arc::new(n.clone());
            e.cfg = n.clone();
            e.handle.update(n).await;
        }
        for n in &new.neighbors {
            if !self.peers.contains_key(&n.name) {
                if let Err(e) = self.add_peer(n.clone()) {
                    error!(neighbor = %n.name, "reload: cannot start: {e}");
                }
            }
        }
        info!(
            added = diff.neighbors_added.len(),
            removed = diff.neighbors_removed.len(),
            reset = restart.len(),
            "reload applied"
        );
    }

    /// Graceful shutdown: Cease / Administrative Shutdown with `text` to
    /// every peer, wait for them (bounded), stop BFD, the API and the engine.
    pub async fn shutdown(mut self, text: &str) {
        info!("shutting down: {text}");
        let _ = self.shutdown.send(Some(text.into()));
        let peers: Vec<PeerEntry> = self.peers.drain().map(|(_, e)| e).collect();
        let joins = async {
            for e in peers {
                e.handle.join().await;
                if let Some((_, fwd)) = e.bfd {
                    fwd.abort();
                }
            }
        };
        if tokio::time::timeout(DRAIN, joins).await.is_err() {
            warn!("some sessions did not close within {DRAIN:?}");
        }
        for l in &self.listeners {
            l.abort();
        }
        for (_, task) in self.rpki_clients.drain() {
            task.abort();
        }
        if let Some(b) = self.bfd.take() {
            let _ = tokio::task::spawn_blocking(move || b.shutdown()).await;
        }
        if let Some(stop) = self.api_stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(DRAIN, &mut self.api_task).await;
        drop(self.engine);
        let _ = tokio::time::timeout(DRAIN, &mut self.engine_task).await;
    }
}

/// Every configured neighbor's series, present from the start.
fn register_metrics(cfg: &Config) {
    crate::metrics::register_neighbors(cfg.neighbors.iter().map(|n| {
        crate::metrics::NeighborLabels {
            name: &n.name,
            address: n.address,
            remote_as: n.remote_as,
            role: n.role.as_str(),
            location: &n.location,
            max_prefixes: n.max_prefixes.is_some(),
        }
    }));
}

/// Logs what the loader warned about (also what `check` prints).
fn log_warnings(cfg: &Config) {
    for w in &cfg.warnings {
        warn!("config: {w}");
    }
}

/// `coldpotato run`: loads `path`, starts, and serves until SIGTERM/SIGINT;
/// SIGHUP reloads.
pub async fn run(path: &Path) -> Result<(), DaemonError> {
    use tokio::signal::unix::{signal, SignalKind};
    let cfg = crate::running::load(path)?;
    log_warnings(&cfg);
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let mut d = Daemon::start(cfg, Some(path.to_path_buf())).await?;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                info!("SIGHUP: reloading {}", path.display());
                let _ = d.reload().await;
            }
            Some(req) = d.control_rx.recv() => d.control(req).await,
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    d.shutdown(SHUTDOWN_TEXT).await;
    Ok(())
}
