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
        drop(caches);
        tracing::info!(server, vrps = table.len(), "RPKI: new VRP snapshot");
        self.tx.send_replace(Some(Arc::new(table)));
    }

    /// The current merged snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.tx.borrow().clone()
    }
}
