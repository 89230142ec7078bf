//! `coldpotato show neighbor NAME`, `show adj-rib-out NAME`, `show config`
//! and the paged `show routes`: the operator's read views of one neighbor
//! and of the configuration in effect (README, "Ask it what it sees").
//!
//! Runs on the CLI's main thread (blocking `ureq`, no tokio). `show routes`
//! and `show adj-rib-out` follow the API's `X-Next-Cursor` page after page
//! ([`CLI_PAGE`] routes each), writing each page as it arrives, so a
//! million routes never sit in one answer or in memory, and a reader that
//! goes away (`| head`) ends it quietly (exit 0). With `--limit N` they
//! fetch one page (from `--after CURSOR`) and say how to get the next.

use super::table::{sanitize, Align, Table};
use super::{bad, base_url, check_flags, json, parse, read_body, render, respond};
use super::{ShowError, ShowOpts, ShowWhat};
use crate::api::views::{percent_encode as segment, NEXT_CURSOR};
use crate::messages::detail::{AdjRibOutRoute, NeighborDetail, NotificationView};
use crate::messages::views::RouteView;
use std::io::{ErrorKind, Write};
use std::time::Duration;

/// Routes per request when the CLI follows the pages itself.
pub const CLI_PAGE: usize = 1000;

/// The neighbor NAME argument of `show neighbor|adj-rib-out`.
fn name_arg(what: ShowWhat, opts: &ShowOpts) -> Result<String, ShowError> {
    opts.name.clone().ok_or(ShowError::MissingName {
        view: match what {
            ShowWhat::AdjRibOut => "adj-rib-out",
            _ => "neighbor",
        },
    })
}

fn agent(opts: &ShowOpts) -> ureq::Agent {
    let step = Duration::from_secs(opts.timeout.max(1));
    ureq::AgentBuilder::new()
        .timeout_connect(step)
        .timeout_read(step)
        .timeout_write(step)
        .build()
}

/// Where a page write went: on, or the reader went away.
enum Flow {
    More,
    ReaderGone,
}

fn put(out: &mut dyn Write, text: &str) -> Result<Flow, ShowError> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(Flow::More),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(Flow::ReaderGone),
        Err(e) => Err(ShowError::Output(e.to_string())),
    }
}

/// Writes a JSON array page by page as one array, as `json::pretty`
/// would print it whole.
#[derive(Default)]
struct JsonArray {
    items: usize,
}

impl JsonArray {
    /// The text for one page's raw JSON array.
    fn page(&mut self, raw: &str, url: &str) -> Result<String, ShowError> {
        let pretty = json::pretty(raw).map_err(|e| bad(url, e))?;
        let inner = pretty
            .strip_prefix("[\n")
            .and_then(|s| s.strip_suffix("\n]\n"));
        Ok(match inner {
            Some(inner) => {
                let sep = if self.items == 0 { "[\n" } else { ",\n" };
                self.items += 1;
                format!("{sep}{inner}")
            }
            None => String::new(),
        })
    }

    fn end(&self) -> &'static str {
        if self.items == 0 {
            "[]\n"
        } else {
            "\n]\n"
        }
    }
}

/// `show routes` and `show adj-rib-out NAME`, written to `out` page by
/// page. A reader that goes away is not an error.
pub fn write_paged(what: ShowWhat, opts: &ShowOpts, out: &mut dyn Write) -> Result<(), ShowError> {
    check_flags(what, opts)?;
    let base = base_url(&opts.api)?;
    let (path, name) = match what {
        ShowWhat::AdjRibOut => {
            let name = name_arg(what, opts)?;
            (
                format!("/api/v1/neighbors/{}/adj-rib-out", segment(&name)),
                Some(name),
            )
        }
        _ => ("/api/v1/routes".to_string(), None),
    };
    let url = format!("{base}{path}");
    let agent = agent(opts);
    let one_page = opts.limit.is_some();
    let mut after = opts.after.clone();
    // Rendered page by page, so a column can only widen: start the first
    // columns at the width of any IPv4 prefix, `BEST`, a usual neighbor
    // name and an IPv4 next hop, so pages line up in the common case.
    let mut widths = match what {
        ShowWhat::AdjRibOut => vec![18, 15],
        _ => vec![18, 4, 16, 15],
    };
    let mut rows = 0usize;
    let mut array = JsonArray::default();
    loop {
        let mut req = agent.get(&url);
        if what == ShowWhat::Routes {
            if let Some(p) = &opts.prefix {
                req = req.query("prefix", p);
                if opts.longest_match {
                    req = req.query("match", "longest");
                }
            }
            if opts.all || opts.prefix.is_some() {
                req = req.query("status", "all");
            }
            if let Some(n) = &opts.neighbor {
                req = req.query("neighbor", n);
            }
        }
        req = req.query("limit", &opts.limit.unwrap_or(CLI_PAGE).to_string());
        if let Some(a) = &after {
            req = req.query("after", a);
        }
        let resp = respond(req, &base, opts.timeout)?;
        let next = resp.header(NEXT_CURSOR).map(str::to_string);
        let body = read_body(resp, &url)?;
        let text = if opts.json {
            array.page(&body, &url)?
        } else {
            let table = match what {
                ShowWhat::AdjRibOut => {
                    adj_rib_out_table(&parse::<Vec<AdjRibOutRoute>>(&body, &url)?)
                }
                _ => render::route_table(&parse::<Vec<RouteView>>(&body, &url)?),
            };
            let n = table.len();
            let text = if n == 0 {
                String::new()
            } else {
                table.render_within(&mut widths, rows == 0)
            };
            rows += n;
            text
        };
        if let Flow::ReaderGone = put(out, &text)? {
            return Ok(());
        }
        match next {
            Some(c) if !one_page => after = Some(c),
            Some(c) => {
                let note = if opts.json {
                    array.end().to_string()
                } else {
                    format!("(more: --after {c})\n")
                };
                put(out, &note)?;
                return Ok(());
            }
            None => break,
        }
    }
    let end = if opts.json {
        array.end().to_string()
    } else if rows > 0 {
        String::new()
    } else {
        match (what, &opts.prefix, &name) {
            (ShowWhat::AdjRibOut, _, Some(n)) => format!("nothing advertised to {}\n", sanitize(n)),
            (_, Some(p), _) => format!("no routes for {p}\n"),
            _ => "no routes\n".to_string(),
        }
    };
    put(out, &end)?;
    Ok(())
}

/// `show neighbor NAME` and `show config`: one answer, rendered.
pub fn fetch_one(what: ShowWhat, opts: &ShowOpts) -> Result<String, ShowError> {
    check_flags(what, opts)?;
    let base = base_url(&opts.api)?;
    let path = match what {
        ShowWhat::Neighbor => format!("/api/v1/neighbors/{}", segment(&name_arg(what, opts)?)),
        _ => "/api/v1/config".to_string(),
    };
    let url = format!("{base}{path}");
    let body = read_body(respond(agent(opts).get(&url), &base, opts.timeout)?, &url)?;
    if opts.json {
        return json::pretty(&body).map_err(|e| bad(&url, e));
    }
    match what {
        ShowWhat::Neighbor => Ok(neighbor(&parse::<NeighborDetail>(&body, &url)?)),
        _ => config_toml(&parse::<serde_json::Value>(&body, &url)?).map_err(|e| bad(&url, e)),
    }
}

/// The adj-rib-out table.
pub fn adj_rib_out_table(list: &[AdjRibOutRoute]) -> Table {
    let mut t = Table::new(&[
        ("PREFIX", Align::Left),
        ("NEXT HOP", Align::Left),
        ("LOCAL-PREF", Align::Right),
        ("MED", Align::Right),
        ("AS PATH", Align::Left),
        ("COMMUNITIES", Align::Left),
    ]);
    for r in list {
        t.row(vec![
            r.prefix.clone(),
            r.next_hop
                .clone()
                .unwrap_or_else(|| render::NONE.to_string()),
            r.local_pref
                .map_or_else(|| render::NONE.to_string(), |v| v.to_string()),
            r.med
                .map_or_else(|| render::NONE.to_string(), |v| v.to_string()),
            render::or_none(render::as_path(&r.as_path)),
            render::communities_cell(&r.communities, &r.large_communities),
        ]);
    }
    t
}

/// `show config`: the configuration in effect as TOML (the API's JSON,
/// secrets already redacted by the daemon).
pub fn config_toml(v: &serde_json::Value) -> Result<String, toml::ser::Error> {
    let mut text = String::from(
        "# the configuration in effect (the last one loaded or reloaded); secrets redacted\n",
    );
    text.push_str(&toml::to_string(&strip_nulls(v.clone()))?);
    Ok(text)
}

/// TOML has no null: an absent optional key is left out.
fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(strip_nulls).collect())
        }
        other => other,
    }
}

/// One `  key:  value` line of `show neighbor`.
fn kv(o: &mut String, k: &str, v: String) {
    o.push_str(&format!("  {k:<24}{v}\n"));
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| render::NONE.to_string(), |v| v.to_string())
}

fn notification_line(n: Option<&NotificationView>) -> String {
    match n {
        None => render::NONE.to_string(),
        Some(n) => format!(
            "{} ({}/{}) at {} ({} ago)",
            sanitize(&n.text),
            n.code,
            n.subcode,
            render::utc_time(n.time_ms),
            render::since(n.age_s)
        ),
    }
}

/// `show neighbor NAME`: one block of `key: value` lines per topic.
pub fn neighbor(d: &NeighborDetail) -> String {
    let s = &d.summary;
    let mut o = String::new();
    let mut head = format!(
        "neighbor {} ({}, AS{}, {} {}), location {}\n",
        sanitize(&s.name),
        s.address,
        s.remote_as,
        d.session_type,
        s.role,
        s.location
    );
    let state = if s.state == "Established" {
        format!(
            "Established for {} (up {})",
            render::since(s.state_since_s),
            render::uptime(s.uptime_s)
        )
    } else {
        format!("{} for {}", s.state, render::since(s.state_since_s))
    };
    head.push_str(&format!("  {:<24}{}\n", "state:", state));
    if let Some(e) = &s.last_error {
        head.push_str(&format!(
            "  {:<24}{}{}\n",
            "last error:",
            sanitize(e),
            render::ago(s.last_error_age_s)
        ));
    }
    if let (Some(l), Some(r)) = (&d.local_address, &d.remote_address) {
        head.push_str(&format!(
            "  {:<24}{l} -> {r}, remote id {}\n",
            "connection:",
            opt(d.remote_id.as_deref())
        ));
    }
    o.push_str(&head);
    o.push_str("capabilities:\n");
    match &d.capabilities {
        None => kv(&mut o, "negotiated:", "- (not Established)".into()),
        Some(c) => {
            kv(&mut o, "4-octet AS:", yes(c.four_octet_as).into());
            kv(&mut o, "families:", c.families.join(" "));
            let rr = match (c.route_refresh, c.enhanced_route_refresh) {
                (_, true) => "yes (enhanced)",
                (true, false) => "yes",
                (false, false) => "no",
            };
            kv(&mut o, "route refresh:", rr.into());
            kv(
                &mut o,
                "graceful restart:",
                c.graceful_restart.as_ref().map_or("no".into(), |g| {
                    format!(
                        "restart time {}s{}{}",
                        g.restart_time_s,
                        if g.restarting { ", restarting" } else { "" },
                        if g.families.is_empty() {
                            String::new()
                        } else {
                            format!(", forwarding kept: {}", g.families.join(" "))
                        }
                    )
                }),
            );
            kv(
                &mut o,
                "add-path receive:",
                if c.add_path_receive.is_empty() {
                    "no".into()
                } else {
                    c.add_path_receive.join(" ")
                },
            );
            kv(
                &mut o,
                "BGP role:",
                format!(
                    "local {}, remote {}",
                    opt(c.local_role.as_deref()),
                    opt(c.remote_role.as_deref())
                ),
            );
            kv(&mut o, "extended messages:", yes(c.extended_message).into());
        }
    }
    o.push_str("timers:\n");
    let t = &d.timers;
    kv(
        &mut o,
        "hold time:",
        format!(
            "{}s configured, {} negotiated",
            t.hold_time_configured_s,
            t.hold_time_negotiated_s
                .map_or_else(|| render::NONE.to_string(), |h| format!("{h}s"))
        ),
    );
    kv(
        &mut o,
        "keepalive:",
        t.keepalive_ms.map_or_else(
            || render::NONE.to_string(),
            |k| format!("{:.1}s", k as f64 / 1000.0),
        ),
    );
    kv(
        &mut o,
        "send hold time:",
        t.send_hold_time_s
            .map_or_else(|| render::NONE.to_string(), |h| format!("{h}s")),
    );
    o.push_str("BFD:\n");
    let b = &d.bfd;
    kv(&mut o, "state:", b.state.clone());
    if let (Some(tx), Some(rx), Some(m)) = (b.min_tx_ms, b.min_rx_ms, b.multiplier) {
        kv(
            &mut o,
            "configured:",
            format!("min tx {tx} ms, min rx {rx} ms, multiplier {m}"),
        );
    }
    if let (Some(c), Some(n)) = (b.diagnostic_code, &b.diagnostic) {
        kv(&mut o, "diagnostic:", format!("{n} ({c})"));
    }
    if b.rx_interval_ms.is_some() {
        kv(
            &mut o,
            "receive interval:",
            render::latency(b.rx_interval_ms, b.rx_jitter_ms),
        );
    }
    if let Some(dt) = b.detection_time_ms {
        kv(&mut o, "detection time:", format!("{dt:.0} ms"));
    }
    if let Some(r) = b.remote_discriminator {
        kv(&mut o, "remote discriminator:", r.to_string());
    }
    o.push_str("routes:\n");
    let mut t = Table::new(&[
        ("  FAMILY", Align::Left),
        ("RECEIVED", Align::Right),
        ("ACCEPTED", Align::Right),
        ("REJECTED", Align::Right),
        ("ADVERTISED", Align::Right),
        ("WITHDRAWN", Align::Right),
    ]);
    for f in &d.families {
        t.row(vec![
            format!("  {}", f.family),
            f.received.to_string(),
            f.accepted.to_string(),
            f.rejected.to_string(),
            f.advertised.to_string(),
            f.withdrawn.to_string(),
        ]);
    }
    o.push_str(&t.render());
    if !s.prefixes_rejected.is_empty() {
        let by_rule: Vec<String> = s
            .prefixes_rejected
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        o.push_str(&format!(
            "  {:<24}{}\n",
            "rejected by rule:",
            by_rule.join(" ")
        ));
    }
    o.push_str("messages:\n");
    let m = &d.messages;
    let counts = |c: &std::collections::BTreeMap<String, u64>, total: u64| {
        let parts: Vec<String> = c
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        if parts.is_empty() {
            "0".to_string()
        } else {
            format!("{total} ({})", parts.join(", "))
        }
    };
    o.push_str(&format!(
        "  {:<24}{}\n",
        "received:",
        counts(&m.received, m.received_total)
    ));
    o.push_str(&format!(
        "  {:<24}{}\n",
        "sent:",
        counts(&m.sent, m.sent_total)
    ));
    o.push_str("notifications:\n");
    o.push_str(&format!(
        "  {:<24}{}\n",
        "last sent:",
        notification_line(d.last_notification_sent.as_ref())
    ));
    o.push_str(&format!(
        "  {:<24}{}\n",
        "last received:",
        notification_line(d.last_notification_received.as_ref())
    ));
    o
}
