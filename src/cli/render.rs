//! Human tables for each `coldpotato show` view, from the API's JSON shapes.
//!
//! Pure functions called by `super::run_show` (and usable by `coldpotato
//! lab` to print decisions); no tasks, channels or I/O.

use super::table::{Align, Table};
use crate::messages::views::{AsPathElem, DecisionView, EventView, NeighborView, RouteView};

/// Placeholder for an absent value.
pub(super) const NONE: &str = "-";

/// Width the default `show neighbors` keeps to (a terminal's).
pub const NARROW: usize = 80;

/// `show neighbors`: one row per configured neighbor, in 80 columns: name,
/// AS, state and for how long, BFD and prefix counts; below the table, each
/// neighbor's last error with its age (cut to fit). `wide` adds address,
/// location, uptime, the session's TCP RTT and BFD's receive interval (each
/// with its mean deviation), rejections by rule and the whole last error.
pub fn neighbors(list: &[NeighborView], wide: bool) -> String {
    if list.is_empty() {
        return "no neighbors configured\n".to_string();
    }
    if wide {
        return neighbors_wide(list);
    }
    let mut t = Table::new(&[
        ("NAME", Align::Left),
        ("AS", Align::Right),
        ("STATE", Align::Left),
        ("SINCE", Align::Right),
        ("BFD", Align::Left),
        ("RECV", Align::Right),
        ("ACPT", Align::Right),
        ("REJ", Align::Right),
    ]);
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    for n in list {
        let rejected: u64 = n.prefixes_rejected.values().sum();
        let bfd = if n.bfd_state == "disabled" {
            NONE.to_string()
        } else {
            n.bfd_state.clone()
        };
        t.row(vec![
            n.name.clone(),
            n.remote_as.to_string(),
            n.state.clone(),
            since(n.state_since_s),
            bfd,
            n.prefixes_received.to_string(),
            n.prefixes_accepted.to_string(),
            rejected.to_string(),
        ]);
        if let Some(e) = &n.last_error {
            errors.push(fit(
                &format!("{}: {}{}", n.name, e, ago(n.last_error_age_s)),
                NARROW,
            ));
        }
        if let Some(w) = &n.rfc8212 {
            notes.push(fit(&format!("{}: {w}", n.name), NARROW));
        }
    }
    let mut out = t.render();
    for (title, lines) in [("last errors", errors), ("policy", notes)] {
        if !lines.is_empty() {
            out.push_str(&format!("\n{title}:\n"));
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
    }
    out
}

fn neighbors_wide(list: &[NeighborView]) -> String {
    let mut t = Table::new(&[
        ("NAME", Align::Left),
        ("ADDRESS", Align::Left),
        ("AS", Align::Right),
        ("LOCATION", Align::Left),
        ("STATE", Align::Left),
        ("SINCE", Align::Right),
        ("BFD", Align::Left),
        ("BFD RX", Align::Right),
        ("UPTIME", Align::Right),
        ("RTT", Align::Right),
        ("RECEIVED", Align::Right),
        ("ACCEPTED", Align::Right),
        ("REJECTED", Align::Right),
        ("REJECTED BY RULE", Align::Left),
        ("LAST ERROR", Align::Left),
    ]);
    for n in list {
        let rejected: u64 = n.prefixes_rejected.values().sum();
        let by_rule: Vec<String> = n
            .prefixes_rejected
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(rule, c)| format!("{rule}={c}"))
            .collect();
        let uptime = if n.state == "Established" {
            uptime(n.uptime_s)
        } else {
            NONE.to_string()
        };
        t.row(vec![
            n.name.clone(),
            n.address.clone(),
            n.remote_as.to_string(),
            n.location.clone(),
            n.state.clone(),
            since(n.state_since_s),
            n.bfd_state.clone(),
            latency(n.bfd_rx_interval_ms, n.bfd_rx_jitter_ms),
            uptime,
            latency(n.rtt_ms, n.rtt_var_ms),
            n.prefixes_received.to_string(),
            n.prefixes_accepted.to_string(),
            rejected.to_string(),
            or_none(by_rule.join(", ")),
            n.last_error.as_ref().map_or_else(
                || NONE.to_string(),
                |e| format!("{e}{}", ago(n.last_error_age_s)),
            ),
        ]);
    }
    t.render()
}

/// A measured time and its mean deviation, in milliseconds: `20.4±0.3ms`
/// (`-` when not measured).
pub fn latency(ms: Option<f64>, deviation_ms: Option<f64>) -> String {
    match ms {
        Some(v) => format!("{v:.1}±{:.1}ms", deviation_ms.unwrap_or(0.0)),
        None => NONE.to_string(),
    }
}

/// A short age: `45s`, `12m05s`, `3h04m`, `2d03h`.
pub fn since(secs: u64) -> String {
    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    if secs < MIN {
        format!("{secs}s")
    } else if secs < HOUR {
        format!("{}m{:02}s", secs / MIN, secs % MIN)
    } else if secs < DAY {
        format!("{}h{:02}m", secs / HOUR, secs % HOUR / MIN)
    } else {
        format!("{}d{:02}h", secs / DAY, secs % DAY / HOUR)
    }
}

pub(super) fn ago(age: Option<u64>) -> String {
    age.map_or_else(String::new, |a| format!(" ({} ago)", since(a)))
}

/// `s` cut to `width` characters, ending in `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `show routes`: one row per path; `*` marks the best path of a prefix.
pub fn routes(list: &[RouteView]) -> String {
    if list.is_empty() {
        return "no routes\n".to_string();
    }
    route_table(list).render()
}

/// The table of [`routes`], for rendering page by page
/// ([`Table::render_within`]).
pub fn route_table(list: &[RouteView]) -> Table {
    let mut t = Table::new(&[
        ("PREFIX", Align::Left),
        ("BEST", Align::Left),
        ("NEIGHBOR", Align::Left),
        ("NEXT HOP", Align::Left),
        ("AS PATH", Align::Left),
        ("COMMUNITIES", Align::Left),
        ("STATUS", Align::Left),
        ("REASON", Align::Left),
    ]);
    for r in list {
        let reason = match (&r.rule, &r.reason) {
            (Some(rule), Some(why)) => format!("{rule}: {why}"),
            (Some(s), None) | (None, Some(s)) => s.clone(),
            (None, None) => NONE.to_string(),
        };
        t.row(vec![
            r.prefix.clone(),
            if r.best { "*" } else { "" }.to_string(),
            r.neighbor.clone(),
            r.next_hop.clone().unwrap_or_else(|| NONE.to_string()),
            or_none(as_path(&r.as_path)),
            communities_cell(&r.communities, &r.large_communities),
            if r.internet {
                format!("{} (internet)", r.status)
            } else {
                r.status.clone()
            },
            reason,
        ]);
    }
    t
}

/// `show decisions`: where traffic to each activated prefix leaves.
pub fn decisions(list: &[DecisionView]) -> String {
    if list.is_empty() {
        return "no activated prefixes\n".to_string();
    }
    let mut t = Table::new(&[
        ("PREFIX", Align::Left),
        ("STATE", Align::Left),
        ("LOCATION", Align::Left),
        ("NEIGHBORS", Align::Left),
        ("LOCAL-PREF", Align::Right),
        ("REASON", Align::Left),
    ]);
    for d in list {
        t.row(vec![
            d.prefix.clone(),
            d.state.clone(),
            d.location.clone().unwrap_or_else(|| NONE.to_string()),
            or_none(d.neighbors.join(",")),
            d.local_pref.to_string(),
            d.reason.clone(),
        ]);
    }
    t.render()
}

/// `show events`: the event log, oldest first, times in UTC.
pub fn events(list: &[EventView]) -> String {
    if list.is_empty() {
        return "no events\n".to_string();
    }
    event_table(list).render()
}

/// The columns of `show events` and of `show events --follow`.
fn event_table(list: &[EventView]) -> Table {
    let mut t = Table::new(&[
        ("SEQ", Align::Right),
        ("TIME (UTC)", Align::Left),
        ("KIND", Align::Left),
        ("NEIGHBOR", Align::Left),
        ("PREFIX", Align::Left),
        ("MESSAGE", Align::Left),
    ]);
    for e in list {
        t.row(vec![
            e.seq.to_string(),
            utc_time(e.time_ms),
            e.kind.clone(),
            e.neighbor.clone().unwrap_or_else(|| NONE.to_string()),
            e.prefix.clone().unwrap_or_else(|| NONE.to_string()),
            e.message.clone(),
        ]);
    }
    t
}

/// `show events --follow`: the rows of [`events`] as they come, under one
/// header. Columns start wide enough for usual values and widen when a
/// cell needs more (rows already printed stay as they were).
#[derive(Debug, Clone)]
pub struct EventRows {
    widths: Vec<usize>,
    header_done: bool,
}

impl Default for EventRows {
    fn default() -> Self {
        EventRows {
            // SEQ, a UTC time, "unexpected-more-specific", a neighbor name,
            // an IPv4 prefix.
            widths: vec![6, 23, 24, 16, 18, 0],
            header_done: false,
        }
    }
}

impl EventRows {
    /// The lines for `list` (the header first, the first time).
    pub fn render(&mut self, list: &[EventView]) -> String {
        let header = !std::mem::replace(&mut self.header_done, true);
        event_table(list).render_within(&mut self.widths, header)
    }
}

pub(super) fn or_none(s: String) -> String {
    if s.is_empty() {
        NONE.to_string()
    } else {
        s
    }
}

/// The COMMUNITIES cell of a route table: standard then large
/// communities, space-separated, or the none mark.
pub(super) fn communities_cell(communities: &[String], large: &[String]) -> String {
    let all: Vec<&str> = communities
        .iter()
        .chain(large)
        .map(String::as_str)
        .collect();
    or_none(all.join(" "))
}

/// An AS path as operators write it: `64500 64501 {64510 64511}`.
pub fn as_path(path: &[AsPathElem]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|e| match e {
            AsPathElem::Asn(a) => a.to_string(),
            AsPathElem::Set(set) => {
                let inner: Vec<String> = set.iter().map(u32::to_string).collect();
                format!("{{{}}}", inner.join(" "))
            }
        })
        .collect();
    parts.join(" ")
}

/// Session uptime like FRR/BIRD: `00:12:03` under a day, `3d04h05m` under
/// a week, `2w3d04h` beyond.
pub fn uptime(secs: u64) -> String {
    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    const WEEK: u64 = 7 * DAY;
    if secs < DAY {
        format!(
            "{:02}:{:02}:{:02}",
            secs / HOUR,
            secs % HOUR / MIN,
            secs % MIN
        )
    } else if secs < WEEK {
        format!(
            "{}d{:02}h{:02}m",
            secs / DAY,
            secs % DAY / HOUR,
            secs % HOUR / MIN
        )
    } else {
        format!(
            "{}w{}d{:02}h",
            secs / WEEK,
            secs % WEEK / DAY,
            secs % DAY / HOUR
        )
    }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS.mmm` in UTC.
pub fn utc_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days(secs / 86_400);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        t / 3600,
        t % 3600 / 60,
        t % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
