//! Validation of the self-contained sections: `[[bmp]]` collectors,
//! `[events]`, `[rpki]` servers and intervals, and the route-leak lists
//! (`[analytics] transit_free_asns`, the neighbors' `customer_asns`). Each
//! error at its key path; called by `validate`.

use super::*;

/// `[[bmp]]`: names unique and not empty, addresses `host:port`, a sane
/// statistics interval.
pub(super) fn check_bmp(v: &mut V, collectors: &[crate::config::model::BmpConfig]) {
    let mut names = HashMap::new();
    let mut addrs = HashMap::new();
    for (i, b) in collectors.iter().enumerate() {
        let at = |k: &str| cfg_path!["bmp", i, k];
        if b.name.trim().is_empty() {
            v.err(at("name"), "a BMP collector needs a name".to_string());
        } else if let Some(first) = names.insert(b.name.as_str(), i) {
            v.err(
                at("name"),
                format!(
                    "duplicate BMP collector name \"{}\" (first defined in bmp #{})",
                    b.name,
                    first + 1
                ),
            );
        }
        let port_ok = b
            .address
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p != 0));
        if !port_ok {
            v.err(
                at("address"),
                format!(
                    "BMP collector address \"{}\" must be HOST:PORT (e.g. \"127.0.0.1:11019\")",
                    b.address
                ),
            );
        } else if let Some(first) = addrs.insert(b.address.as_str(), i) {
            v.err(
                at("address"),
                format!(
                    "duplicate BMP collector address \"{}\" (also bmp #{})",
                    b.address,
                    first + 1
                ),
            );
        }
        if b.stats_interval_s > 86_400 {
            v.err(
                at("stats_interval_s"),
                format!(
                    "stats_interval_s must be within 0..=86400 seconds (0: no Statistics Reports), not {}",
                    b.stats_interval_s
                ),
            );
        }
    }
}

/// `[events]`: a size and a count in range, and a file whose directory
/// exists (the daemon creates the file, never its directory). Whether the
/// daemon's user may write there is only known when it runs: it logs an
/// error then and keeps running with the log in memory.
pub(super) fn check_events(v: &mut V, e: &crate::config::model::EventsConfig) {
    use crate::config::model::{MAX_EVENTS_KEEP, MIN_EVENTS_MAX_BYTES};
    if e.max_bytes < MIN_EVENTS_MAX_BYTES {
        v.err(
            cfg_path!["events", "max_bytes"],
            format!(
                "max_bytes must be at least {MIN_EVENTS_MAX_BYTES}, not {}",
                e.max_bytes
            ),
        );
    }
    if e.keep > MAX_EVENTS_KEEP {
        v.err(
            cfg_path!["events", "keep"],
            format!("keep must be 0..={MAX_EVENTS_KEEP}, not {}", e.keep),
        );
    }
    let (Some(file), Some(path)) = (&e.file, &e.path) else {
        return;
    };
    let at = cfg_path!["events", "file"];
    if file.trim().is_empty() || file.ends_with('/') {
        v.err(at, format!("event file \"{file}\" must name a file"));
        return;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if !dir.is_dir() {
        v.err(
            at,
            format!(
                "event file {}: directory {} does not exist",
                path.display(),
                dir.display()
            ),
        );
    } else if path.is_dir() {
        v.err(at, format!("event file {} is a directory", path.display()));
    }
}

/// `[analytics] transit_free_asns` and the neighbors' `customer_asns`:
/// real ASNs, no repeats, and a customer cone only where the route-leak
/// detector reads it (peering-service neighbors).
pub(super) fn check_leak_lists(v: &mut V, cfg: &Config) {
    for (j, &asn) in cfg.analytics.transit_free_asns.iter().enumerate() {
        let at = cfg_path!["analytics", "transit_free_asns", j];
        if asn == 0 || asn == 23456 {
            v.err(
                at,
                format!("AS{asn} is never a network (RFC 7607, RFC 6793)"),
            );
        } else if cfg.analytics.transit_free_asns[..j].contains(&asn) {
            v.err(at, format!("AS{asn} listed twice"));
        }
    }
    for (i, n) in cfg.neighbors.iter().enumerate() {
        for key in ["customer_asns", "customer_as_set_file"] {
            let set = match key {
                "customer_asns" => n.customer_asns.is_some(),
                _ => n.customer_as_set_file.is_some(),
            };
            if set && n.role != Role::PeeringService {
                v.err(
                    cfg_path!["neighbors", i, key],
                    format!(
                        "{key} is for peering-service neighbors (route-leak detection); \"{}\" is {}",
                        n.name,
                        n.role.as_str()
                    ),
                );
            }
        }
        for (j, &asn) in n.customer_asns.iter().flatten().enumerate() {
            if asn == 0 || asn == 23456 {
                v.err(
                    cfg_path!["neighbors", i, "customer_asns", j],
                    format!("AS{asn} is never a network (RFC 7607, RFC 6793)"),
                );
            }
        }
    }
}

/// `[rpki]`: servers are `host:port`, unique; intervals within RFC 8210 §6.
pub(super) fn check_rpki(v: &mut V, r: &crate::config::model::RpkiConfig) {
    let mut seen = HashMap::new();
    for (i, s) in r.servers.iter().enumerate() {
        let port_ok = s
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p != 0));
        if !port_ok {
            v.err(
                cfg_path!["rpki", "servers", i],
                format!("RTR server \"{s}\" must be host:port (e.g. \"127.0.0.1:3323\")"),
            );
        }
        if let Some(first) = seen.insert(s.as_str(), i) {
            v.err(
                cfg_path!["rpki", "servers", i],
                format!("duplicate RTR server \"{s}\" (also servers #{})", first + 1),
            );
        }
    }
    let ranges: [(&str, u32, u32, u32); 3] = [
        ("refresh_s", r.refresh_s, 1, 86_400),
        ("retry_s", r.retry_s, 1, 7_200),
        ("expire_s", r.expire_s, 600, 172_800),
    ];
    for (key, val, lo, hi) in ranges {
        if !(lo..=hi).contains(&val) {
            v.err(
                cfg_path!["rpki", key],
                format!("{key} must be within {lo}..={hi} seconds (RFC 8210 §6), not {val}"),
            );
        }
    }
    if r.expire_s <= r.refresh_s || r.expire_s <= r.retry_s {
        v.err(
            cfg_path!["rpki", "expire_s"],
            format!(
                "expire_s ({}) must be larger than refresh_s ({}) and retry_s ({}) (RFC 8210 §6)",
                r.expire_s, r.refresh_s, r.retry_s
            ),
        );
    }
}
