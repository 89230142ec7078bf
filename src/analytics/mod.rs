//! Anomaly detection and the event log.
//!
//! Owned by the route engine task (the engine appends; `Query::Events`
//! reads); no channels of its own. The log is a ring buffer of
//! [`EVENT_LOG_CAPACITY`] events with sequence numbers from 1, unix-ms time,
//! a kind, the neighbor and prefix involved, a message and JSON evidence.
//! [`route_leak_asn`] is the route-leak detector (a peering-service path
//! that carries a transit-free ASN after the first hop).

use crate::api::model::EventView;
use crate::wire::AsPath;
use std::collections::VecDeque;

/// Events kept before the oldest are dropped.
pub const EVENT_LOG_CAPACITY: usize = 10_000;

/// The transit-free ("tier-1") networks whose ASN should never appear behind
/// a peering-service provider's first hop: seeing one is a route leak.
pub const TRANSIT_FREE_ASNS: &[u32] = &[
    174, 701, 1239, 1299, 2914, 3257, 3320, 3356, 3491, 5511, 6453, 6461, 6762, 6830, 7018, 12956,
];

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
    /// A provider path containing a transit-free ASN.
    RouteLeak,
    MaxPrefixWarning,
    MaxPrefixExceeded,
    DecisionChanged,
    /// An activated prefix received only away from its primary location.
    SuboptimalRouting,
}

impl EventKind {
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
        }
    }
}

/// The event ring buffer.
#[derive(Debug)]
pub struct EventLog {
    events: VecDeque<EventView>,
    next_seq: u64,
    capacity: usize,
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
        tracing::info!(
            seq,
            kind = kind.as_str(),
            neighbor,
            prefix = prefix.as_deref(),
            "{message}"
        );
        crate::metrics::METRICS
            .events_total
            .with_label_values(&[kind.as_str()])
            .inc();
        self.events.push_back(EventView {
            seq,
            time_ms,
            kind: kind.as_str().to_string(),
            neighbor: neighbor.map(str::to_string),
            prefix,
            message,
            evidence,
        });
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

/// The first transit-free ASN found after the first hop of `path`, if any.
pub fn route_leak_asn(path: &AsPath) -> Option<u32> {
    path.all_asns()
        .skip(1)
        .find(|a| TRANSIT_FREE_ASNS.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn transit_asn_behind_the_first_hop_is_a_leak_but_first_hop_is_not() {
        assert_eq!(
            route_leak_asn(&AsPath::from_sequence(vec![64500, 3356, 64501])),
            Some(3356)
        );
        assert_eq!(
            route_leak_asn(&AsPath::from_sequence(vec![3356, 64501])),
            None
        );
        assert_eq!(
            route_leak_asn(&AsPath::from_sequence(vec![64500, 64501])),
            None
        );
    }
}
