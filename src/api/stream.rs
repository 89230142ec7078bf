//! `GET /api/v1/events/stream`: the event log live, as Server-Sent Events.
//!
//! Each event is one SSE message: `id:` its sequence number, `data:` one
//! line of JSON in the shape of a `GET /api/v1/events` item. A reconnecting
//! client sends `Last-Event-ID` (or `?since=SEQ`) and first gets the kept
//! events after it. A per-route event is sent again with its final count
//! when its window closes, as `event: revised` without an `id:` (so a
//! resume point never moves backwards). Comments (`: keep-alive`) keep idle
//! connections open through proxies.
//!
//! The stream never holds the engine: the connection task asks the engine
//! once ([`ToEngine::SubscribeEvents`]: the backlog and a `broadcast`
//! receiver taken at the same moment), then reads the broadcast. A client
//! that falls more than the channel's capacity behind is resynchronised
//! from the engine's log; what the log no longer holds is announced as
//! `event: gap` with `{"missed": N}`. At most [`MAX_EVENT_STREAMS`] streams
//! are open at once; they end when the server shuts down.

use super::error::HttpError;
use crate::messages::views::EventView;
use crate::messages::{EventSubscription, PublishedEvent, ToEngine};
use crate::metrics::METRICS;
use axum::response::sse::{Event, KeepAlive, Sse};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot, watch, OwnedSemaphorePermit};

/// Most event streams open at once.
pub const MAX_EVENT_STREAMS: usize = 16;
/// Period of the keep-alive comment on an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Asks the engine for a subscription (bounded by `limit`).
pub(super) async fn subscribe(
    engine: &mpsc::Sender<ToEngine>,
    since: Option<u64>,
    limit: Duration,
) -> Result<EventSubscription, HttpError> {
    let (reply, rx) = oneshot::channel();
    let ask = async {
        engine
            .send(ToEngine::SubscribeEvents { since, reply })
            .await
            .map_err(|_| HttpError::EngineGone)?;
        rx.await.map_err(|_| HttpError::EngineGone)
    };
    tokio::time::timeout(limit, ask)
        .await
        .map_err(|_| HttpError::EngineTimeout(limit))?
}

/// Counts an open stream in `coldpotato_events_streams` while it lives.
struct Open;

impl Open {
    fn new() -> Open {
        METRICS.events_streams.inc();
        Open
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        METRICS.events_streams.dec();
    }
}

/// One client's stream.
struct Feed {
    engine: mpsc::Sender<ToEngine>,
    limit: Duration,
    backlog: VecDeque<EventView>,
    live: broadcast::Receiver<Arc<PublishedEvent>>,
    /// The newest sequence number sent (or skipped as already seen).
    last: u64,
    /// A gap to announce before the backlog.
    missed: u64,
    stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
    _open: Open,
}

/// The SSE message of one event.
fn message(e: &EventView, revised: bool) -> Event {
    let json = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    let m = Event::default().data(json);
    match revised {
        true => m.event("revised"),
        false => m.id(e.seq.to_string()),
    }
}

/// Events a resumed stream cannot give any more: those between `after` and
/// the first kept one.
fn gap(after: u64, backlog: &VecDeque<EventView>) -> u64 {
    match backlog.front() {
        Some(first) if after > 0 => first.seq.saturating_sub(after + 1),
        _ => 0,
    }
}

impl Feed {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        loop {
            if *self.stopping.borrow() {
                return None;
            }
            if self.missed > 0 {
                let n = std::mem::take(&mut self.missed);
                let m = Event::default()
                    .event("gap")
                    .data(serde_json::json!({ "missed": n, "after": self.last }).to_string());
                return Some((Ok(m), self));
            }
            if let Some(e) = self.backlog.pop_front() {
                self.last = e.seq;
                return Some((Ok(message(&e, false)), self));
            }
            let got = tokio::select! {
                r = self.live.recv() => r,
                _ = self.stopping.changed() => return None,
            };
            match got {
                Ok(p) if p.revised => return Some((Ok(message(&p.event, true)), self)),
                Ok(p) if p.event.seq <= self.last => continue,
                Ok(p) => {
                    self.last = p.event.seq;
                    return Some((Ok(message(&p.event, false)), self));
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::info!(
                        missed = n,
                        "an event stream fell behind; resynchronising it from the log"
                    );
                    let sub = subscribe(&self.engine, Some(self.last), self.limit)
                        .await
                        .ok()?;
                    self.live = sub.live;
                    self.backlog = sub.backlog.into();
                    self.missed = gap(self.last, &self.backlog);
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// The stream for a client resuming after `since` (`None`: new events
/// only). `permit` is its place among [`MAX_EVENT_STREAMS`].
pub(super) async fn open(
    engine: mpsc::Sender<ToEngine>,
    since: Option<u64>,
    limit: Duration,
    stopping: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, HttpError> {
    let sub = subscribe(&engine, since, limit).await?;
    let backlog: VecDeque<EventView> = sub.backlog.into();
    // An id from before a restart without an event file is "from now on".
    let last = since.map_or(sub.last_seq, |s| s.min(sub.last_seq));
    let feed = Feed {
        engine,
        limit,
        missed: gap(last, &backlog),
        backlog,
        live: sub.live,
        last,
        stopping,
        _permit: permit,
        _open: Open::new(),
    };
    let stream = futures_util::stream::unfold(feed, Feed::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64) -> EventView {
        EventView {
            seq,
            time_ms: 0,
            kind: "bfd-up".into(),
            neighbor: None,
            prefix: None,
            message: String::new(),
            evidence: serde_json::Value::Null,
        }
    }

    /// A client 10 events behind on a channel of 4, while the engine's log
    /// still holds 8..=12: it is told that 5 were missed, then gets 8..=12
    /// from the log, each once, then what comes live.
    #[tokio::test]
    async fn a_stream_that_lags_is_resynchronised_from_the_log_and_told_what_it_missed() {
        let (engine, mut asks) = mpsc::channel::<ToEngine>(4);
        let (live, _) = broadcast::channel::<Arc<PublishedEvent>>(4);
        let publish = |seq: u64| {
            let _ = live.send(Arc::new(PublishedEvent {
                event: ev(seq),
                revised: false,
            }));
        };
        let live2 = live.clone();
        tokio::spawn(async move {
            while let Some(ToEngine::SubscribeEvents { since, reply }) = asks.recv().await {
                let s = since.unwrap_or(0);
                let backlog = (8..=12).filter(|q| *q > s).map(ev).collect();
                let _ = reply.send(EventSubscription {
                    backlog,
                    live: live2.subscribe(),
                    last_seq: 12,
                });
            }
        });
        let (_stop, stopping) = watch::channel(false);
        let permit = Arc::new(tokio::sync::Semaphore::new(1))
            .try_acquire_owned()
            .expect("a permit");
        let mut feed = Feed {
            engine,
            limit: Duration::from_secs(5),
            backlog: VecDeque::new(),
            live: live.subscribe(),
            last: 2,
            missed: 0,
            stopping,
            _permit: permit,
            _open: Open::new(),
        };
        for seq in 3..=12 {
            publish(seq);
        }
        let mut got = Vec::new();
        for _ in 0..6 {
            let (m, f) = feed.next().await.expect("a message");
            got.push(format!("{:?}", m.expect("infallible")));
            feed = f;
        }
        assert!(
            got[0].contains("event: gap") && got[0].contains("\\\"missed\\\":5"),
            "{}",
            got[0]
        );
        for (i, seq) in (8..=12).enumerate() {
            assert!(
                got[i + 1].contains(&format!("id: {seq}\\n")),
                "{}",
                got[i + 1]
            );
        }
        publish(13);
        let (m, _) = feed.next().await.expect("live again");
        assert!(format!("{m:?}").contains("id: 13"));
    }

    #[test]
    fn a_gap_is_what_the_log_no_longer_holds_after_the_resume_point() {
        let kept: VecDeque<EventView> = [ev(8), ev(9)].into();
        assert_eq!(gap(7, &kept), 0);
        assert_eq!(gap(3, &kept), 4);
        assert_eq!(gap(0, &kept), 0, "from the start: nothing promised");
        assert_eq!(gap(3, &VecDeque::new()), 0);
    }
}
