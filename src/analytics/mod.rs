//! Anomaly detection and the event log.
//!
//! Owned by the route engine task (the engine appends; `Query::Events`
//! reads); no channels of its own. The log is a ring buffer of
//! [`EVENT_LOG_CAPACITY`] events with sequence numbers from 1, unix-ms time,
//! a kind, the neighbor and prefix involved, a message and JSON evidence.
//! Once the engine task turns publishing on, every new event (and every
//! per-route event again, revised, when its window closes) also lands in
//! an outbox the task drains into the event file ([`file`]) and the live
//! streams. [`leak::route_leak`] is the route-leak detector.

pub mod file;
pub mod leak;

use crate::messages::views::EventView;
use crate::messages::PublishedEvent;
use std::collections::{HashMap, VecDeque};

/// Per-route events of one kind from one neighbor are one event per this
/// window (milliseconds): the first is logged as it happens, the rest of
/// the window only counted into it.
pub const FLOOD_WINDOW_MS: u64 = 60_000;
/// Example prefixes kept in a summarised event.
pub const FLOOD_EXAMPLES: usize = 10;

/// Events kept before the oldest are dropped.
pub const EVENT_LOG_CAPACITY: usize = 10_000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    SessionUp,
    SessionDown,
    BfdUp,
    BfdDown,
    /// A registered prefix announced with the wrong origin AS (hijack).
    OriginMismatch,
    /// A more-specific of a registered prefix from another origin (sub-prefix hijack).
    UnexpectedMoreSpecific,
    /// A provider path through a transit-free network or outside the
    /// provider's declared customer cone (`leak`).
    RouteLeak,
    MaxPrefixWarning,
    MaxPrefixExceeded,
    DecisionChanged,
    /// An activated prefix received only away from its primary location.
    SuboptimalRouting,
    /// An operator changed the running daemon (shutdown, enable, reset,
    /// refresh, clear max-prefix, reload, log level); evidence `action`, `by`.
    Control,
}

impl EventKind {
    /// Kinds raised once per route, which a bad table raises by the
    /// thousand: summarised per neighbor and window.
    pub fn per_route(self) -> bool {
        matches!(
            self,
            EventKind::RouteLeak | EventKind::OriginMismatch | EventKind::UnexpectedMoreSpecific
        )
    }

    /// Logged at WARN: something an operator should look at.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            EventKind::SessionDown
                | EventKind::BfdDown
                | EventKind::OriginMismatch
                | EventKind::UnexpectedMoreSpecific
                | EventKind::RouteLeak
                | EventKind::MaxPrefixWarning
                | EventKind::MaxPrefixExceeded
        )
    }

    /// The name used in the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SessionUp => "session-up",
            EventKind::SessionDown => "session-down",
            EventKind::BfdUp => "bfd-up",
            EventKind::BfdDown => "bfd-down",
            EventKind::OriginMismatch => "origin-mismatch",
            EventKind::UnexpectedMoreSpecific => "unexpected-more-specific",
            EventKind::RouteLeak => "route-leak",
            EventKind::MaxPrefixWarning => "max-prefix-warning",
            EventKind::MaxPrefixExceeded => "max-prefix-exceeded",
            EventKind::DecisionChanged => "decision-changed",
            EventKind::SuboptimalRouting => "suboptimal-routing",
            EventKind::Control => "control",
        }
    }
}

/// The event ring buffer.
#[derive(Debug)]
pub struct EventLog {
    events: VecDeque<EventView>,
    next_seq: u64,
    capacity: usize,
    /// Open windows of per-route events, by (neighbor, kind).
    floods: HashMap<(String, EventKind), Flood>,
    /// What was logged since the engine task last took it; `None` until
    /// publishing is turned on (tests driving the core leave it off).
    outbox: Option<Vec<PublishedEvent>>,
}

/// One window of per-route events of one kind from one neighbor.
#[derive(Debug)]
struct Flood {
    start_ms: u64,
    /// The window's event (updated in place as routes add to it).
    seq: u64,
    count: u64,
    examples: Vec<String>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog::with_capacity(EVENT_LOG_CAPACITY)
    }
}

impl EventLog {
    /// An empty log keeping at most `capacity` events (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        EventLog {
            events: VecDeque::new(),
            next_seq: 1,
            capacity: capacity.max(1),
            floods: HashMap::new(),
            outbox: None,
        }
    }

    /// Starts collecting every event logged from now on for
    /// [`EventLog::take_published`].
    pub fn enable_publishing(&mut self) {
        self.outbox.get_or_insert_with(Vec::new);
    }

    /// The events logged (and the per-route events revised) since the last
    /// call, oldest first.
    pub fn take_published(&mut self) -> Vec<PublishedEvent> {
        self.outbox.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Puts back the events of an earlier run (read from the event file):
    /// the newest [`capacity`](EventLog::with_capacity) are kept, ahead of
    /// anything logged since, and sequence numbers continue after the
    /// newest. Neither logged, counted nor published again.
    pub fn restore(&mut self, mut old: Vec<EventView>) {
        old.sort_by_key(|e| e.seq);
        old.dedup_by(|later, earlier| {
            // The later copy of a sequence number (a revision) wins.
            let same = later.seq == earlier.seq;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        let first_own = self.events.front().map_or(u64::MAX, |e| e.seq);
        old.retain(|e| e.seq < first_own);
        let newest = old.last().map_or(0, |e| e.seq);
        let mut merged: VecDeque<EventView> = old.into();
        merged.append(&mut self.events);
        while merged.len() > self.capacity {
            merged.pop_front();
        }
        self.events = merged;
        self.next_seq = self.next_seq.max(newest + 1);
    }

    /// The newest sequence number handed out (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Closes every open per-route window (at shutdown, so that their
    /// final counts are published).
    pub fn close_all(&mut self) {
        let keys: Vec<(String, EventKind)> = self.floods.keys().cloned().collect();
        for k in keys {
            self.close(&k);
        }
    }

    /// A per-route event ([`EventKind::per_route`]): the first of its
    /// (neighbor, kind) in a [`FLOOD_WINDOW_MS`] window is logged and kept
    /// as an event; the rest of the window are counted into that event
    /// (`evidence.routes`, `evidence.examples`, a suffix on its message)
    /// and into the metric, without a log line each. Returns the event's
    /// sequence number.
    #[allow(clippy::too_many_arguments)]
    pub fn push_route(
        &mut self,
        time_ms: u64,
        kind: EventKind,
        neighbor: &str,
        prefix: Option<String>,
        message: String,
        evidence: serde_json::Value,
    ) -> u64 {
        let key = (neighbor.to_string(), kind);
        let open = self
            .floods
            .get(&key)
            .is_some_and(|f| time_ms.saturating_sub(f.start_ms) < FLOOD_WINDOW_MS);
        if !open {
            self.close(&key);
            let seq = self.push(
                time_ms,
                kind,
                Some(neighbor),
                prefix.clone(),
                message,
                evidence,
            );
            self.floods.insert(
                key,
                Flood {
                    start_ms: time_ms,
                    seq,
                    count: 1,
                    examples: prefix.into_iter().collect(),
                },
            );
            return seq;
        }
        crate::metrics::METRICS
            .events_total
            .with_label_values(&[kind.as_str()])
            .inc();
        let Some(f) = self.floods.get_mut(&key) else {
            return 0;
        };
        f.count += 1;
        if f.examples.len() < FLOOD_EXAMPLES {
            f.examples.extend(prefix);
        }
        let (seq, count, examples) = (f.seq, f.count, f.examples.clone());
        let start = self.events.partition_point(|e| e.seq < seq);
        if let Some(e) = self.events.get_mut(start).filter(|e| e.seq == seq) {
            let base = e.message.split(" [").next().unwrap_or("").to_string();
            e.message = format!(
                "{base} [{count} routes from {neighbor} within a minute, e.g. {}]",
                examples.join(", ")
            );
            if let Some(obj) = e.evidence.as_object_mut() {
                obj.insert("routes".into(), count.into());
                obj.insert("examples".into(), examples.into());
            }
        }
        seq
    }

    /// Closes the windows older than [`FLOOD_WINDOW_MS`] at `time_ms`,
    /// logging one summary line for each that counted more than its first
    /// route (the engine calls this every second).
    pub fn close_windows(&mut self, time_ms: u64) {
        let old: Vec<(String, EventKind)> = self
            .floods
            .iter()
            .filter(|(_, f)| time_ms.saturating_sub(f.start_ms) >= FLOOD_WINDOW_MS)
            .map(|(k, _)| k.clone())
            .collect();
        for k in old {
            self.close(&k);
        }
    }

    fn close(&mut self, key: &(String, EventKind)) {
        if let Some(f) = self.floods.remove(key) {
            if f.count > 1 {
                let at = self.events.partition_point(|e| e.seq < f.seq);
                let kept = self.events.get(at).filter(|e| e.seq == f.seq);
                if let (Some(out), Some(e)) = (self.outbox.as_mut(), kept) {
                    out.push(PublishedEvent {
                        event: e.clone(),
                        revised: true,
                    });
                }
                tracing::warn!(
                    neighbor = %key.0,
                    kind = key.1.as_str(),
                    routes = f.count,
                    seq = f.seq,
                    "{} {} routes from {} within a minute (event {}), e.g. {}",
                    f.count,
                    key.1.as_str(),
                    key.0,
                    f.seq,
                    f.examples.join(", ")
                );
            }
        }
    }

    /// Appends an event and returns its sequence number.
    pub fn push(
        &mut self,
        time_ms: u64,
        kind: EventKind,
        neighbor: Option<&str>,
        prefix: Option<String>,
        message: String,
        evidence: serde_json::Value,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        if kind.is_warning() {
            tracing::warn!(
                seq,
                kind = kind.as_str(),
                neighbor,
                prefix = prefix.as_deref(),
                "{message}"
            );
        } else {
            tracing::info!(
                seq,
                kind = kind.as_str(),
                neighbor,
                prefix = prefix.as_deref(),
                "{message}"
            );
        }
        crate::metrics::METRICS
            .events_total
            .with_label_values(&[kind.as_str()])
            .inc();
        let view = EventView {
            seq,
            time_ms,
            kind: kind.as_str().to_string(),
            neighbor: neighbor.map(str::to_string),
            prefix,
            message,
            evidence,
        };
        if let Some(out) = self.outbox.as_mut() {
            out.push(PublishedEvent {
                event: view.clone(),
                revised: false,
            });
        }
        self.events.push_back(view);
        seq
    }

    /// Events with a sequence number above `since`, oldest first.
    pub fn since(&self, since: u64) -> Vec<EventView> {
        let start = self.events.partition_point(|e| e.seq <= since);
        self.events.range(start..).cloned().collect()
    }

    /// Number of events kept.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when no event is kept.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_route_events_are_one_event_per_neighbor_kind_and_minute() {
        let mut log = EventLog::default();
        let leak = |log: &mut EventLog, t: u64, n: &str, p: &str| {
            log.push_route(
                t,
                EventKind::RouteLeak,
                n,
                Some(p.to_string()),
                format!("leak {p}"),
                serde_json::json!({ "transit_asn": 174 }),
            )
        };
        let first = leak(&mut log, 1_000, "a", "10.0.0.0/24");
        for i in 1..500u64 {
            assert_eq!(
                leak(&mut log, 1_000 + i * 10, "a", &format!("10.0.{i}.0/24")),
                first
            );
        }
        let other = leak(&mut log, 2_000, "b", "10.9.0.0/24");
        assert_ne!(other, first, "another neighbor has its own event");
        assert_eq!(log.len(), 2);
        let e = &log.since(0)[0];
        assert_eq!(e.evidence["routes"], 500);
        assert_eq!(
            e.evidence["examples"].as_array().map(Vec::len),
            Some(FLOOD_EXAMPLES)
        );
        assert!(e.message.starts_with("leak 10.0.0.0/24 [500 routes from a within a minute, e.g. 10.0.0.0/24, 10.0.1.0/24"), "{}", e.message);
        // The next minute opens a new event.
        log.close_windows(61_000);
        let next = leak(&mut log, 61_500, "a", "10.1.0.0/24");
        assert!(next > other);
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn sequence_numbers_start_at_one_and_since_filters() {
        let mut log = EventLog::with_capacity(10);
        for i in 0..3 {
            log.push(
                i,
                EventKind::BfdUp,
                Some("n"),
                None,
                "up".into(),
                serde_json::Value::Null,
            );
        }
        let seqs: Vec<u64> = log.since(1).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![2, 3]);
        assert_eq!(log.since(0)[0].kind, "bfd-up");
    }

    #[test]
    fn ring_buffer_drops_the_oldest_events() {
        let mut log = EventLog::with_capacity(2);
        for i in 0..5 {
            log.push(
                i,
                EventKind::RouteLeak,
                None,
                None,
                String::new(),
                serde_json::Value::Null,
            );
        }
        assert_eq!(log.len(), 2);
        assert_eq!(
            log.since(0).iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![4, 5]
        );
    }

    #[test]
    fn published_events_are_new_ones_then_a_closed_windows_revision() {
        let mut log = EventLog::default();
        log.push(
            0,
            EventKind::BfdUp,
            Some("n"),
            None,
            "before".into(),
            serde_json::Value::Null,
        );
        log.enable_publishing();
        let leak = |log: &mut EventLog, t: u64, p: &str| {
            log.push_route(
                t,
                EventKind::RouteLeak,
                "a",
                Some(p.into()),
                format!("leak {p}"),
                serde_json::json!({}),
            )
        };
        let seq = leak(&mut log, 1_000, "10.0.0.0/24");
        leak(&mut log, 1_001, "10.0.1.0/24");
        let got = log.take_published();
        assert_eq!(
            got.len(),
            1,
            "only the window's first route is new: {got:?}"
        );
        assert_eq!((got[0].event.seq, got[0].revised), (seq, false));
        assert!(log.take_published().is_empty(), "taken once");
        log.close_windows(61_000);
        let got = log.take_published();
        assert_eq!(got.len(), 1);
        assert!(got[0].revised);
        assert_eq!(got[0].event.seq, seq);
        assert_eq!(got[0].event.evidence["routes"], 2);
        // A window of one route has nothing to revise.
        leak(&mut log, 70_000, "10.0.2.0/24");
        log.close_all();
        assert_eq!(log.take_published().len(), 1);
    }

    #[test]
    fn restored_events_come_first_and_sequence_numbers_continue_after_them() {
        let old = |seq: u64, msg: &str| EventView {
            seq,
            time_ms: seq,
            kind: "session-down".into(),
            neighbor: None,
            prefix: None,
            message: msg.into(),
            evidence: serde_json::Value::Null,
        };
        let mut log = EventLog::with_capacity(3);
        log.restore(vec![
            old(7, "a"),
            old(5, "b"),
            old(8, "c"),
            old(7, "a, revised"),
        ]);
        assert_eq!(log.last_seq(), 8);
        let seq = log.push(
            9,
            EventKind::BfdUp,
            None,
            None,
            "new".into(),
            serde_json::Value::Null,
        );
        assert_eq!(seq, 9);
        let kept: Vec<(u64, String)> = log
            .since(0)
            .into_iter()
            .map(|e| (e.seq, e.message))
            .collect();
        assert_eq!(
            kept,
            vec![(7, "a, revised".into()), (8, "c".into()), (9, "new".into())],
            "the newest three, the later copy of 7"
        );
        let mut empty = EventLog::default();
        empty.restore(Vec::new());
        assert_eq!(empty.last_seq(), 0);
    }
}
