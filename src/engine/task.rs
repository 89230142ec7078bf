//! The route engine tokio task: receives `ToEngine`, drives the Sans-IO
//! [`EngineCore`], keeps each established session's `mpsc::Sender<ToPeer>`
//! and delivers the outputs. A slow session never blocks the engine: its
//! messages wait in a bounded per-session backlog ([`Backlogs`]) retried
//! every few milliseconds, and resent from the Adj-RIB-Out when dropped.

use super::backlog::{Backlogs, BACKLOG_LIMIT};
use super::core::{EngineCore, Output};
use crate::messages::{Input, NeighborName, ToEngine, ToPeer};
use crate::metrics::METRICS;
use crate::running::Running;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

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

/// Returns freed heap pages to the OS (glibc `malloc_trim`).
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
    let mut core = EngineCore::new(cfg);
    let mut peers: HashMap<NeighborName, mpsc::Sender<ToPeer>> = HashMap::new();
    let mut pending = Backlogs::new(BACKLOG_LIMIT);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Messages handled since memory was last handed back to the OS.
    let mut since_trim: u64 = 0;
    loop {
        let retry = !pending.is_empty();
        let outputs = tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                METRICS.engine_queue_depth.set(rx.len() as i64);
                since_trim += 1;
                match msg {
                    ToEngine::Input(Input::Update { neighbor, update }) => {
                        // Take the UPDATEs already queued behind it (up to
                        // BATCH) and settle once for all of them.
                        let mut batch = vec![(neighbor, update)];
                        let mut next = None;
                        while batch.len() < BATCH {
                            match rx.try_recv() {
                                Ok(ToEngine::Input(Input::Update { neighbor, update })) => {
                                    batch.push((neighbor, update))
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
                            out.extend(handle(&mut core, &mut peers, &mut pending, m));
                        }
                        out
                    }
                    msg => handle(&mut core, &mut peers, &mut pending, msg),
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
    }
    tracing::info!("route engine stopped: every sender is gone");
}

fn handle(
    core: &mut EngineCore,
    peers: &mut HashMap<NeighborName, mpsc::Sender<ToPeer>>,
    pending: &mut Backlogs,
    msg: ToEngine,
) -> Vec<Output> {
    let now = Instant::now();
    match msg {
        ToEngine::Query(q, reply) => {
            let _ = reply.send(core.query(&q, now));
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
            let out = core.handle(input, now);
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
