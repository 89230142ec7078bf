//! The route engine tokio task: receives `ToEngine`, drives the Sans-IO
//! [`EngineCore`], keeps each established session's `mpsc::Sender<ToPeer>`
//! and delivers the outputs. A slow session never blocks the engine: its
//! messages wait in a bounded per-session backlog ([`Backlogs`]) retried
//! every few milliseconds, and resent from the Adj-RIB-Out when dropped.
//!
//! Events: at start the task reads the `[events] file` back into the core's
//! log; after every step it hands what the core logged to the event file's
//! writer thread (`analytics::file`, a bounded queue: never waits on the
//! disk) and to a `broadcast` channel of [`STREAM_QUEUE`] events that the
//! API's live streams subscribe to ([`ToEngine::SubscribeEvents`]).

use super::backlog::{Backlogs, BACKLOG_LIMIT};
use super::core::EngineCore;
use super::pass::Output;
use crate::analytics::file::{self, EventWriter, FileSettings};
use crate::analytics::EVENT_LOG_CAPACITY;
use crate::config::EventsConfig;
use crate::messages::{EventSubscription, Input, NeighborName, PublishedEvent, ToEngine, ToPeer};
use crate::metrics::METRICS;
use crate::running::Running;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

/// Retry period for messages a full session channel did not take.
const RETRY: Duration = Duration::from_millis(10);
/// Timer resolution for graceful-restart expiry when nothing else happens.
const TICK: Duration = Duration::from_secs(1);

/// How many engine messages make a burst worth a `malloc_trim`.
const TRIM_AFTER: u64 = 1_000;
/// Most UPDATEs imported before one settle (decisions and exports): large
/// enough that a full table is exported in few passes, small enough that
/// queries and session events wait little behind a burst.
const BATCH: usize = 256;

/// Dead attribute sets that make the engine free them even while its queue
/// is not empty (see `rib::interner`: otherwise they wait for a quiet
/// moment, after the withdrawals they came with are on their way).
const RECLAIM_AT: usize = 65_536;

/// Events a live stream may fall behind before it is resynchronised.
pub const STREAM_QUEUE: usize = 1024;

/// Where the engine's events go besides its own log: the event file's
/// writer thread and the live streams.
struct Outlets {
    streams: broadcast::Sender<Arc<PublishedEvent>>,
    file: Option<EventWriter>,
    settings: Option<FileSettings>,
    /// The `[[bmp]]` exporters (the core holds their hub).
    bmp: crate::bmp::fleet::Fleet,
}

fn file_settings(e: &EventsConfig) -> Option<FileSettings> {
    e.path.clone().map(|path| FileSettings {
        path,
        max_bytes: e.max_bytes,
        keep: e.keep,
    })
}

impl Outlets {
    fn new(settings: Option<FileSettings>) -> Outlets {
        let mut o = Outlets {
            streams: broadcast::channel(STREAM_QUEUE).0,
            file: None,
            settings: None,
            bmp: Default::default(),
        };
        o.follow(settings);
        o
    }

    /// Hands what the core logged to the file and the streams.
    fn publish(&mut self, core: &mut EngineCore) {
        for e in core.take_published() {
            let e = Arc::new(e);
            if let Some(f) = self.file.as_mut() {
                f.send(e.clone());
            }
            // No receiver is not an error: nobody is watching.
            let _ = self.streams.send(e);
        }
    }

    /// Starts, reconfigures or stops the file writer for `settings`.
    fn follow(&mut self, settings: Option<FileSettings>) {
        if settings == self.settings {
            return;
        }
        match (self.file.as_mut(), settings.clone()) {
            (Some(f), Some(s)) => f.configure(s),
            (None, Some(s)) => match EventWriter::spawn(s) {
                Ok(w) => self.file = Some(w),
                Err(e) => tracing::error!("cannot start the event file writer: {e}"),
            },
            // Detached: it writes what it holds, then ends.
            (Some(_), None) => self.file = None,
            (None, None) => {}
        }
        self.settings = settings;
    }

    /// Starts, replaces or stops the BMP exporters for `cfg`'s `[[bmp]]`,
    /// handing the core the new hub.
    fn follow_bmp(&mut self, core: &mut EngineCore, cfg: &crate::config::Config) {
        let name = crate::bmp::fleet::sys_name(cfg.router.router_id);
        if let Some(hub) = self.bmp.follow(&cfg.bmp, &name) {
            core.attach_bmp(hub, &cfg.bmp);
        }
    }

    /// A live stream's start: everything logged so far is published first,
    /// then the backlog and the receiver are taken at the same moment.
    fn subscribe(&mut self, core: &mut EngineCore, since: Option<u64>) -> EventSubscription {
        self.publish(core);
        let (backlog, last_seq) = match since {
            Some(s) => core.events_since(s),
            None => (Vec::new(), core.events_since(u64::MAX).1),
        };
        EventSubscription {
            backlog,
            live: self.streams.subscribe(),
            last_seq,
        }
    }
}

/// The events of the event file named by `cfg`, read on the blocking pool
/// (an unreadable file is logged; the log then starts empty).
async fn read_back(cfg: &Running) -> Vec<crate::messages::views::EventView> {
    let Some(s) = file_settings(&cfg.events) else {
        return Vec::new();
    };
    let path = s.path.clone();
    let read =
        tokio::task::spawn_blocking(move || file::read_back(&s.path, s.keep, EVENT_LOG_CAPACITY))
            .await;
    match read {
        Ok(Ok(r)) => {
            tracing::info!(
                file = %path.display(),
                events = r.events.len(),
                skipped = r.skipped,
                "event log read back"
            );
            r.events
        }
        Ok(Err(e)) => {
            tracing::error!(file = %path.display(), "cannot read the event file back: {e}");
            Vec::new()
        }
        Err(e) => {
            tracing::error!("reading the event file back failed: {e}");
            Vec::new()
        }
    }
}

/// Returns freed heap pages to the OS (glibc `malloc_trim`: for users of
/// the library on the system allocator; the daemon runs jemalloc, which
/// purges by itself, and this finds glibc's heap all but empty).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs the route engine until every `ToEngine` sender is dropped.
pub async fn run(cfg: Running, rx: mpsc::Receiver<ToEngine>) {
    run_with_rpki(cfg, rx, None).await
}

/// [`run`] that also applies the RPKI VRP snapshots the RTR clients publish
/// (`watch`: the latest wins, nobody waits on the engine).
pub async fn run_with_rpki(
    cfg: Running,
    mut rx: mpsc::Receiver<ToEngine>,
    mut rpki: Option<watch::Receiver<crate::rpki::Snapshot>>,
) {
    let restored = read_back(&cfg).await;
    let settings = file_settings(&cfg.events);
    let mut core = EngineCore::with_events(cfg, restored);
    core.enable_event_publishing();
    let mut outlets = Outlets::new(settings);
    let first = core.config().clone();
    outlets.follow_bmp(&mut core, &first);
    let mut peers: HashMap<NeighborName, mpsc::Sender<ToPeer>> = HashMap::new();
    let mut pending = Backlogs::new(BACKLOG_LIMIT);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Messages handled since memory was last handed back to the OS.
    let mut since_trim: u64 = 0;
    loop {
        let retry = !pending.is_empty() || core.bmp_dumping();
        let outputs = tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                METRICS.engine_queue_depth.set(rx.len() as i64);
                since_trim += 1;
                match msg {
                    ToEngine::Input(Input::Update { neighbor, update, ahead }) => {
                        // Take the UPDATEs already queued behind it (up to
                        // BATCH) and settle once for all of them.
                        let mut batch = vec![(neighbor, update, ahead)];
                        let mut next = None;
                        while batch.len() < BATCH {
                            match rx.try_recv() {
                                Ok(ToEngine::Input(Input::Update { neighbor, update, ahead })) => {
                                    batch.push((neighbor, update, ahead))
                                }
                                Ok(other) => {
                                    next = Some(other);
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                        since_trim += batch.len() as u64;
                        let n = batch.len();
                        let started = Instant::now();
                        let mut out = core.handle_updates(batch, Instant::now());
                        let each = started.elapsed().as_secs_f64() / n as f64;
                        let h = METRICS.engine_update_seconds.with_label_values(&[]);
                        for _ in 0..n {
                            h.observe(each);
                        }
                        if let Some(m) = next {
                            out.extend(handle(&mut core, &mut peers, &mut pending, &mut outlets, m));
                        }
                        out
                    }
                    msg => handle(&mut core, &mut peers, &mut pending, &mut outlets, msg),
                }
            }
            _ = tick.tick() => {
                // After a burst (a full table arriving or leaving), hand the
                // freed decode buffers back: glibc keeps them otherwise.
                if since_trim >= TRIM_AFTER && rx.is_empty() {
                    since_trim = 0;
                    release_free_memory();
                }
                core.tick(Instant::now())
            }
            _ = tokio::time::sleep(RETRY), if retry => Vec::new(),
            changed = async {
                match rpki.as_mut() {
                    Some(w) => w.changed().await,
                    None => std::future::pending().await,
                }
            } => {
                match (changed, rpki.as_mut()) {
                    (Ok(()), Some(w)) => {
                        let snapshot = w.borrow_and_update().clone();
                        core.handle(Input::Rpki(snapshot), Instant::now())
                    }
                    _ => {
                        // Every RTR publisher is gone: keep the last data.
                        rpki = None;
                        Vec::new()
                    }
                }
            }
        };
        pending.deliver(&peers, outputs);
        let now = Instant::now();
        for input in pending.ready_resyncs(&peers) {
            let out = core.handle(input, now);
            pending.deliver(&peers, out);
        }
        outlets.publish(&mut core);
        core.bmp_poll(now);
        if rx.is_empty() || core.rib.attrs.dying() >= RECLAIM_AT {
            core.rib.attrs.reclaim();
        }
    }
    outlets.bmp.stop().await;
    core.close_event_windows();
    outlets.publish(&mut core);
    if let Some(w) = outlets.file.take() {
        let _ = tokio::task::spawn_blocking(move || w.close()).await;
    }
    tracing::info!("route engine stopped: every sender is gone");
}

fn handle(
    core: &mut EngineCore,
    peers: &mut HashMap<NeighborName, mpsc::Sender<ToPeer>>,
    pending: &mut Backlogs,
    outlets: &mut Outlets,
    msg: ToEngine,
) -> Vec<Output> {
    let now = Instant::now();
    match msg {
        ToEngine::Query(q, reply) => {
            let _ = reply.send(core.query(&q, now));
            Vec::new()
        }
        ToEngine::SubscribeEvents { since, reply } => {
            let _ = reply.send(outlets.subscribe(core, since));
            Vec::new()
        }
        ToEngine::Attach { neighbor, tx } => {
            pending.remove(&neighbor);
            peers.insert(neighbor, tx);
            Vec::new()
        }
        ToEngine::Input(input) => {
            if let Input::SessionDown { neighbor, .. } = &input {
                peers.remove(neighbor);
                pending.remove(neighbor);
            }
            let started = Instant::now();
            let update = matches!(input, Input::Update { .. });
            let reload = match &input {
                Input::Reload(r) => Some(r.config.clone()),
                _ => None,
            };
            let out = core.handle(input, now);
            if let Some(new) = reload.filter(|new| Arc::ptr_eq(new, core.config())) {
                // Applied (a refused reload keeps the running file too).
                outlets.follow(file_settings(&new.events));
                outlets.follow_bmp(core, &new);
            }
            if update {
                METRICS
                    .engine_update_seconds
                    .with_label_values(&[])
                    .observe(started.elapsed().as_secs_f64());
            }
            out
        }
    }
}
