//! RPKI route origin validation over RTR (RFC 8210, RFC 6810 for version 0;
//! validation per RFC 6811).
//!
//! - [`pdu`]: the RTR PDU codec (pure).
//! - [`session`]: the router side of one RTR session, Sans-IO.
//! - [`table`]: VRP sets and the indexed [`VrpTable`] snapshot that validates.
//! - [`client`]: one tokio task per configured cache (TCP), driving a session.
//!
//! Channels: every client task publishes its cache's set into the shared
//! [`Hub`], which merges all caches into one `Arc<VrpTable>` and hands it to
//! the route engine over a `tokio::sync::watch` channel (one slot, latest
//! wins: a client never blocks the engine, and the engine never waits).

pub mod client;
pub mod pdu;
pub mod session;
pub mod table;

pub use table::{RpkiState, Vrp, VrpSet, VrpTable};

use crate::metrics::METRICS;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What the engine sees: `None` until some cache finished its first
/// transfer (routes are then `not-found`, never `invalid`).
pub type Snapshot = Option<Arc<VrpTable>>;

/// Merges the caches' sets into the snapshot the engine reads.
#[derive(Debug)]
pub struct Hub {
    caches: Mutex<BTreeMap<String, Arc<VrpSet>>>,
    tx: watch::Sender<Snapshot>,
}

impl Hub {
    /// A hub with no data, and the receiver the engine watches.
    pub fn new() -> (Arc<Hub>, watch::Receiver<Snapshot>) {
        let (tx, rx) = watch::channel(None);
        (
            Arc::new(Hub {
                caches: Mutex::new(BTreeMap::new()),
                tx,
            }),
            rx,
        )
    }

    /// Another receiver of the snapshots.
    pub fn subscribe(&self) -> watch::Receiver<Snapshot> {
        self.tx.subscribe()
    }

    /// Sets (or with `None` drops: expiry, server removed) one cache's VRPs
    /// and publishes the merged table.
    pub fn publish(&self, server: &str, set: Option<Arc<VrpSet>>) {
        let Ok(mut caches) = self.caches.lock() else {
            return;
        };
        METRICS
            .rpki_vrps
            .with_label_values(&[server])
            .set(set.as_ref().map_or(0, |s| s.len() as i64));
        let had_data = !caches.is_empty();
        match set {
            Some(s) => {
                caches.insert(server.to_string(), s);
            }
            None => {
                caches.remove(server);
            }
        }
        if caches.is_empty() && !had_data {
            return;
        }
        let table = VrpTable::from_vrps(caches.values().flat_map(|s| s.iter()));
        tracing::info!(server, vrps = table.len(), "RPKI: new VRP snapshot");
        // Sent under the lock: two caches publishing at once cannot
        // overtake each other with an older merge.
        self.tx.send_replace(Some(Arc::new(table)));
        drop(caches);
    }

    /// The current merged snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.tx.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(vrps: &[(&str, u8, u32)]) -> Arc<VrpSet> {
        let mut s = VrpSet::default();
        let changes: Vec<(bool, Vrp)> = vrps
            .iter()
            .map(|&(p, m, a)| (true, Vrp::new(p.parse().unwrap(), m, a)))
            .collect();
        s.apply(true, &changes).unwrap();
        Arc::new(s)
    }

    #[test]
    fn the_hub_merges_caches_and_drops_a_removed_one() {
        let (hub, mut rx) = Hub::new();
        assert!(rx.borrow_and_update().is_none(), "no data before any cache");
        hub.publish("a:1", Some(set(&[("10.0.0.0/8", 8, 1)])));
        hub.publish(
            "b:1",
            Some(set(&[("10.0.0.0/8", 8, 1), ("11.0.0.0/8", 8, 2)])),
        );
        assert!(rx.has_changed().unwrap());
        let t = rx.borrow_and_update().clone().unwrap();
        assert_eq!(t.len(), 2, "the union, duplicates once");
        hub.publish("b:1", None);
        assert_eq!(hub.snapshot().map(|t| t.len()), Some(1));
        hub.publish("a:1", None);
        assert_eq!(hub.snapshot().map(|t| t.len()), Some(0), "empty, not stale");
    }
}
