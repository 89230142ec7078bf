//! The route engine's own OS thread.
//!
//! The engine is one task that does the RIB, the decisions and the export
//! diff for every session; on a full table it is the busiest thing in the
//! daemon. On the runtime's shared workers it had to take turns with the
//! session tasks that feed it: tokio keeps a task woken by another on the
//! waker's worker (its LIFO slot), so the engine and the session feeding it
//! often ran one after the other on one core while the other core slept.
//! Here it runs on a thread of its own (named `engine`, as `top -H` shows
//! it) with a current-thread runtime for its timers, and the daemon's
//! runtime keeps one worker fewer (see [`worker_threads`]): one core for
//! the engine, the rest for sessions, encoding and the API.

use std::future::Future;
use tokio::sync::oneshot;

/// How many runtime workers a daemon with `cores` cores runs beside the
/// engine's thread: one per remaining core, at least one.
pub fn worker_threads(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Starts `engine` on its own thread; the receiver completes when the
/// engine ends (or the thread dies).
pub(super) fn spawn(
    engine: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<oneshot::Receiver<()>> {
    let (done, ended) = oneshot::channel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            rt.block_on(engine);
            let _ = done.send(());
        })?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_core_for_the_engine_and_at_least_one_worker() {
        assert_eq!(
            [1, 2, 4, 16].map(worker_threads),
            [1, 1, 3, 15],
            "cores 1, 2, 4, 16"
        );
    }

    #[tokio::test]
    async fn the_engine_runs_on_its_own_named_thread_with_timers() {
        let (tx, rx) = oneshot::channel();
        let ended = spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let _ = tx.send(std::thread::current().name().map(str::to_owned));
        })
        .expect("spawn");
        assert_eq!(rx.await.expect("ran"), Some("engine".to_owned()));
        ended
            .await
            .expect("the receiver completes when the engine ends");
    }
}
