//! The exporters of the `[[bmp]]` collectors as a set that follows the
//! configuration: [`Fleet::follow`] starts one [`super::client`] task per
//! collector with a new [`Hub`] for them, and on a reload that changes the
//! `[[bmp]]` list stops the old ones (each sends Termination) and starts the
//! new list (each BMP session then gets a full dump again).
//!
//! Held by the route engine task, which owns the hub (see `engine::bmp`);
//! the exporters run as their own tasks on the daemon's runtime.

use super::client::{self, Exporter};
use super::hub::{Hub, Views};
use crate::config::BmpConfig;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Feed items a collector's queue holds before the hub cuts it off (a
/// route-monitoring item is one UPDATE's worth of prefixes).
pub const QUEUE: usize = 65_536;

/// How long stopping waits for the exporters' Termination messages.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The running exporters and the configuration they were started for.
#[derive(Debug, Default)]
pub struct Fleet {
    running: Vec<BmpConfig>,
    stop: Option<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Brings the exporters in line with `collectors`. Returns the new hub
    /// when they changed: `Some(None)` when there are none any more,
    /// `None` when nothing changed.
    pub fn follow(&mut self, collectors: &[BmpConfig], sys_name: &str) -> Option<Option<Hub>> {
        if collectors == self.running.as_slice() {
            return None;
        }
        self.signal_stop();
        self.running = collectors.to_vec();
        if collectors.is_empty() {
            tracing::info!("BMP: no collector configured");
            return Some(None);
        }
        let hub = Hub::new(
            collectors
                .iter()
                .map(|b| Views {
                    pre_policy: b.pre_policy,
                    post_policy: b.post_policy,
                    loc_rib: b.loc_rib,
                    adj_rib_out: b.adj_rib_out,
                })
                .collect(),
        );
        let (stop, rx) = watch::channel(false);
        for (i, b) in collectors.iter().enumerate() {
            tracing::info!(collector = %b.name, address = %b.address, "BMP exporter starting");
            let ex = Exporter {
                name: b.name.clone(),
                address: b.address.clone(),
                sys_name: sys_name.to_string(),
                queue: QUEUE,
                rejection_tlv: b.rejection_tlv,
            };
            self.tasks.push(tokio::spawn(client::run(
                ex,
                i,
                hub.request_tx.clone(),
                rx.clone(),
            )));
        }
        self.stop = Some(stop);
        Some(Some(hub))
    }

    fn signal_stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        // Stopped exporters end by themselves (Termination, then return).
        self.tasks.retain(|t| !t.is_finished());
    }

    /// Stops every exporter and waits (bounded) for their Termination.
    pub async fn stop(&mut self) {
        self.signal_stop();
        self.running.clear();
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(STOP_WAIT, t).await;
        }
    }
}

/// Our sysName for Initiation (RFC 7854 §4.4): the host name, else the
/// router id.
pub fn sys_name(router_id: std::net::Ipv4Addr) -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| router_id.to_string())
}
