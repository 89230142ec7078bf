//! Forgetting a neighbor's series: when a reload removes it or moves it to
//! another location, every per-neighbor family loses the old series.

use super::{NeighborLabels, METRICS};

/// Removes every per-neighbor series whose neighbor is not in `keep` (a
/// neighbor removed by a reload), or whose location is not the one it has
/// now (moved): a removed neighbor's BFD state or prefix counts must not
/// linger in `/metrics` as if it still existed.
pub(super) fn forget_other_neighbors(keep: &[NeighborLabels<'_>]) {
    prune_neighbors(&|labels| {
        let Some(name) = labels.get("neighbor") else {
            return true;
        };
        keep.iter()
            .any(|n| n.name == *name && labels.get("location").is_none_or(|l| *l == n.location))
    });
}

/// Removes every series of neighbor `name` (called once its session task
/// has ended after the neighbor was removed: its last state change and
/// NOTIFICATION counts come after the reload's [`super::register_neighbors`]).
pub fn forget_neighbor(name: &str) {
    prune_neighbors(&|labels| labels.get("neighbor") != Some(&name));
}

/// Removes the series of neighbor `name` labelled `location` (its old
/// location, after a reload moved it: the session task and the engine each
/// call it once they use the new label, so neither brings an old series
/// back).
pub fn forget_neighbor_at(name: &str, location: &str) {
    prune_neighbors(&|labels| {
        labels.get("neighbor") != Some(&name) || labels.get("location") != Some(&location)
    });
}

/// Labels of one series, by name.
type Labels<'a> = std::collections::HashMap<&'a str, &'a str>;

/// Applies `kept` to every per-neighbor family.
fn prune_neighbors(kept: &dyn Fn(&Labels<'_>) -> bool) {
    let m = &*METRICS;
    prune(&m.session_state, kept);
    prune(&m.session_uptime_seconds, kept);
    prune(&m.session_established_total, kept);
    prune(&m.session_rtt_seconds, kept);
    prune(&m.session_rtt_variance_seconds, kept);
    prune(&m.messages_received_total, kept);
    prune(&m.messages_sent_total, kept);
    prune(&m.notifications_total, kept);
    prune(&m.update_attribute_errors_total, kept);
    prune(&m.prefixes_received, kept);
    prune(&m.prefixes_accepted, kept);
    prune(&m.prefixes_rejected, kept);
    prune(&m.prefixes_advertised, kept);
    prune(&m.max_prefix_utilization_ratio, kept);
    prune(&m.bfd_state, kept);
    prune(&m.bfd_transitions_total, kept);
    prune(&m.bfd_detection_time_seconds, kept);
    prune(&m.bfd_last_diagnostic, kept);
    prune(&m.bfd_rx_interval_seconds, kept);
    prune(&m.bfd_rx_jitter_seconds, kept);
    prune(&m.export_backlog_bytes, kept);
    prune(&m.export_resyncs_total, kept);
}

/// Removes the series of `v` whose labels `kept` refuses.
fn prune<T: prometheus::core::MetricVecBuilder>(
    v: &prometheus::core::MetricVec<T>,
    kept: &dyn Fn(&Labels<'_>) -> bool,
) {
    use prometheus::core::Collector;
    for family in v.collect() {
        for metric in family.get_metric() {
            let labels: Labels<'_> = metric
                .get_label()
                .iter()
                .map(|p| (p.get_name(), p.get_value()))
                .collect();
            if !kept(&labels) {
                let _ = v.remove(&labels);
            }
        }
    }
}
