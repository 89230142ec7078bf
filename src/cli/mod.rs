//! `coldpotato show`: the operator's client of the running daemon's API
//! (`neighbors|routes|decisions|events|audit`).
//!
//! Runs on the CLI's main thread (blocking `ureq`, no tokio, no channels):
//! one HTTP GET to the API, then either an aligned human table
//! (`render`) or the API's JSON pretty-printed (`--json`). `main` wires clap:
//! `Show { what: ShowWhat, #[command(flatten)] opts: ShowOpts }` and prints
//! what [`run_show`] returns; `show events --follow` streams instead
//! ([`follow::run_follow`]).

pub mod audit;
pub mod control;
pub mod follow;
pub mod json;
pub mod render;
pub mod table;
pub mod views;

use crate::messages::views::{AuditReport, DecisionView, EventView, NeighborView, RouteView};
use serde::de::DeserializeOwned;
use std::io::Read;
use std::time::Duration;
use thiserror::Error;

/// Where the daemon's API listens by default (`[api] listen`).
pub const DEFAULT_API: &str = "127.0.0.1:9179";
/// The default API port, added when `--api` names only a host.
const DEFAULT_PORT: u16 = 9179;
/// Default `--timeout`: how long `show` waits for the daemon, in seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 5;
/// Largest answer read (a full IPv4+IPv6 table with `status=all` fits).
const MAX_BODY_BYTES: u64 = 2 << 30;

/// Which view `coldpotato show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowWhat {
    /// BGP sessions, BFD and prefix counts.
    Neighbors,
    /// Received routes (`--prefix P` includes rejected ones and why).
    Routes,
    /// Where traffic to each activated prefix leaves the network.
    Decisions,
    /// Anomalies, max-prefix, BFD flaps, decision changes.
    Events,
    /// The partner compliance audit: requirements checked against config and live state.
    Audit,
    /// One neighbor in detail (`show neighbor NAME`): negotiated
    /// capabilities, timers, BFD, counters per family, messages, last
    /// NOTIFICATIONs.
    Neighbor,
    /// What we advertise to a neighbor (`show adj-rib-out NAME`), attributes as sent.
    AdjRibOut,
    /// The configuration in effect, secrets redacted (TOML; `--json`: JSON).
    Config,
}

impl ShowWhat {
    fn path(self) -> &'static str {
        match self {
            ShowWhat::Neighbors => "/api/v1/neighbors",
            ShowWhat::Routes => "/api/v1/routes",
            ShowWhat::Decisions => "/api/v1/decisions",
            ShowWhat::Events => "/api/v1/events",
            ShowWhat::Audit => "/api/v1/audit",
            ShowWhat::Neighbor | ShowWhat::AdjRibOut => "/api/v1/neighbors",
            ShowWhat::Config => "/api/v1/config",
        }
    }
}

/// Flags of `coldpotato show`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ShowOpts {
    /// neighbor, adj-rib-out: the neighbor's name.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Print the API's JSON (pretty-printed) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The daemon's API address (its `[api] listen`), `HOST:PORT` or `http://HOST:PORT`.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_API)]
    pub api: String,
    /// routes: only this prefix, including rejected routes with the rule that rejected them.
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// routes: with --prefix, the most specific route covering P (an
    /// address or a longer prefix) instead of exactly P.
    #[arg(long)]
    pub longest_match: bool,
    /// routes: include rejected and stale routes.
    #[arg(long)]
    pub all: bool,
    /// routes: only the paths received from this neighbor.
    #[arg(long, value_name = "NAME")]
    pub neighbor: Option<String>,
    /// routes, adj-rib-out: one page of at most N routes (1..=10000), and
    /// the --after cursor of the next; without it every page is fetched.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// routes, adj-rib-out: the page after this cursor (printed by --limit).
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
    /// events: only events after this sequence number.
    #[arg(long, value_name = "N")]
    pub since: Option<u64>,
    /// events: keep printing events as they happen (after the last 10, or
    /// those after --since); until interrupted.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// audit: only the partner with this ASN.
    #[arg(long, value_name = "N")]
    pub peer_asn: Option<u32>,
    /// audit: exit 2 when a check warns (a failed check exits 1 always).
    #[arg(long)]
    pub strict: bool,
    /// neighbors: every column (address, location, uptime, TCP RTT, BFD
    /// receive interval, rejections by rule, the whole last error), wider
    /// than 80 columns.
    #[arg(long)]
    pub wide: bool,
    /// Give up when the daemon does not answer (connect, or a pause in its
    /// answer) for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_S)]
    pub timeout: u64,
}

impl Default for ShowOpts {
    fn default() -> Self {
        Self {
            name: None,
            neighbor: None,
            limit: None,
            after: None,
            json: false,
            api: DEFAULT_API.to_string(),
            prefix: None,
            longest_match: false,
            all: false,
            since: None,
            follow: false,
            peer_asn: None,
            strict: false,
            timeout: DEFAULT_TIMEOUT_S,
            wide: false,
        }
    }
}

/// Why `coldpotato show` failed (printed to stderr, exit 1).
#[derive(Debug, Error)]
pub enum ShowError {
    /// A flag that does not apply to the chosen view.
    #[error("{flag} only applies to `coldpotato show {applies_to}`")]
    FlagNotApplicable {
        flag: &'static str,
        applies_to: &'static str,
    },
    /// `--api` is not an address we can use.
    #[error("--api {0:?}: {1}")]
    BadAddress(String, &'static str),
    /// Nothing answered at the address.
    #[error("cannot reach the coldpotato API at {addr} ({detail}).\nIs the daemon running? Point --api ADDR at its [api] listen address (default {DEFAULT_API}).")]
    Connect { addr: String, detail: String },
    /// Something answered at the address, then fell silent.
    #[error("the coldpotato API at {addr} did not answer within {secs} s (--timeout {secs})")]
    Timeout { addr: String, secs: u64 },
    /// The API answered with an error status.
    #[error("the API at {addr} answered {status}: {message}")]
    Api {
        addr: String,
        status: u16,
        message: String,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from {url}: {detail}")]
    BadResponse { url: String, detail: String },
    /// `--follow`: the daemon ended the event stream (it stopped?).
    #[error("the event stream from {addr} ended (has the daemon stopped?)")]
    StreamEnded { addr: String },
    /// `show neighbor` / `show adj-rib-out` without the neighbor's name.
    #[error("`coldpotato show {view}` needs the neighbor's name: `coldpotato show {view} NAME`")]
    MissingName { view: &'static str },
    /// Writing the output failed (other than a reader that went away).
    #[error("cannot write the output: {0}")]
    Output(String),
}

/// What `coldpotato show` prints and the status it exits with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub text: String,
    /// 0; for `show audit`: 1 when a partner fails a check, 2 with
    /// `--strict` when one only warns.
    pub status: u8,
}

/// Fetches one view from the API at `opts.api` and renders it: an aligned
/// table, or the API's JSON pretty-printed with `--json`.
pub fn run_show(what: ShowWhat, opts: &ShowOpts) -> Result<String, ShowError> {
    show(what, opts).map(|s| s.text)
}

/// [`run_show`] with the exit status: `show audit` is a check a script or
/// a monitoring job can run.
pub fn show(what: ShowWhat, opts: &ShowOpts) -> Result<Shown, ShowError> {
    match what {
        ShowWhat::Routes | ShowWhat::AdjRibOut => {
            let mut out = Vec::new();
            views::write_paged(what, opts, &mut out)?;
            let text = String::from_utf8(out).map_err(|e| ShowError::Output(e.to_string()))?;
            return Ok(Shown { text, status: 0 });
        }
        ShowWhat::Neighbor | ShowWhat::Config => {
            let text = views::fetch_one(what, opts)?;
            return Ok(Shown { text, status: 0 });
        }
        _ => {}
    }
    let body = fetch(what, opts)?;
    let url = format!("{}{}", base_url(&opts.api)?, what.path());
    let status = match what {
        ShowWhat::Audit => audit::exit_status(&parse::<AuditReport>(&body, &url)?, opts.strict),
        _ => 0,
    };
    let text = if opts.json {
        json::pretty(&body).map_err(|e| bad(&url, e))?
    } else {
        render_view(what, opts, &body, &url)?
    };
    Ok(Shown { text, status })
}

/// The body of one view, as the API answered it.
fn fetch(what: ShowWhat, opts: &ShowOpts) -> Result<String, ShowError> {
    check_flags(what, opts)?;
    let base = base_url(&opts.api)?;
    let url = format!("{base}{}", what.path());
    let agent = ureq::AgentBuilder::new()
        // Per step (connect, each read, each write), not for the whole
        // answer: a daemon that does not answer fails fast, a full table
        // that takes a while to stream does not.
        .timeout_connect(Duration::from_secs(opts.timeout.max(1)))
        .timeout_read(Duration::from_secs(opts.timeout.max(1)))
        .timeout_write(Duration::from_secs(opts.timeout.max(1)))
        .build();
    let mut req = agent.get(&url);
    if let Some(p) = &opts.prefix {
        req = req.query("prefix", p);
        if opts.longest_match {
            req = req.query("match", "longest");
        }
    }
    // With a prefix the operator is asking "what happened to P": show every path.
    if opts.all || opts.prefix.is_some() {
        req = req.query("status", "all");
    }
    if let Some(n) = opts.since {
        req = req.query("since", &n.to_string());
    }
    if let Some(n) = opts.peer_asn {
        req = req.query("peer_asn", &n.to_string());
    }
    call(req, &base, opts.timeout)
}

/// One view's table.
fn render_view(
    what: ShowWhat,
    opts: &ShowOpts,
    body: &str,
    url: &str,
) -> Result<String, ShowError> {
    let (body, url) = (body.to_string(), url.to_string());
    Ok(match what {
        ShowWhat::Neighbors => {
            render::neighbors(&parse::<Vec<NeighborView>>(&body, &url)?, opts.wide)
        }
        ShowWhat::Routes => {
            let routes = parse::<Vec<RouteView>>(&body, &url)?;
            match (&opts.prefix, routes.is_empty()) {
                (Some(p), true) => format!("no routes for {p}\n"),
                _ => render::routes(&routes),
            }
        }
        ShowWhat::Decisions => render::decisions(&parse::<Vec<DecisionView>>(&body, &url)?),
        ShowWhat::Events => render::events(&parse::<Vec<EventView>>(&body, &url)?),
        ShowWhat::Audit => audit::render(&parse::<AuditReport>(&body, &url)?),
        ShowWhat::Neighbor | ShowWhat::AdjRibOut | ShowWhat::Config => {
            return Err(bad(&url, "rendered by cli::views"))
        }
    })
}

/// Sends `req` and reads the whole answer (at most [`MAX_BODY_BYTES`]).
fn call(req: ureq::Request, base: &str, timeout: u64) -> Result<String, ShowError> {
    let url = req.url().to_string();
    read_body(respond(req, base, timeout)?, &url)
}

/// Sends `req`; an error status, a timeout or no answer become the
/// matching [`ShowError`] (`base` names the API in it).
fn respond(req: ureq::Request, base: &str, timeout: u64) -> Result<ureq::Response, ShowError> {
    let url = req.url().to_string();
    answer(req.call(), &url, base, timeout)
}

/// What became of a sent request, as [`respond`] reports it (also for
/// the writes of `control`, which send a body).
fn answer(
    sent: Result<ureq::Response, ureq::Error>,
    url: &str,
    base: &str,
    timeout: u64,
) -> Result<ureq::Response, ShowError> {
    match sent {
        Ok(resp) => Ok(resp),
        Err(ureq::Error::Status(status, resp)) => {
            let text = read_body(resp, url).unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(text);
            Err(ShowError::Api {
                addr: base.to_string(),
                status,
                message,
            })
        }
        Err(ureq::Error::Transport(t)) if transport_detail(&t).contains("timed out") => {
            Err(ShowError::Timeout {
                addr: base.to_string(),
                secs: timeout.max(1),
            })
        }
        Err(ureq::Error::Transport(t)) => Err(ShowError::Connect {
            addr: base.to_string(),
            detail: transport_detail(&t),
        }),
    }
}

fn check_flags(what: ShowWhat, opts: &ShowOpts) -> Result<(), ShowError> {
    let misplaced = if what != ShowWhat::Routes && opts.prefix.is_some() {
        Some(("--prefix", "routes"))
    } else if what != ShowWhat::Neighbors && opts.wide {
        Some(("--wide", "neighbors"))
    } else if opts.longest_match && opts.prefix.is_none() {
        Some(("--longest-match", "routes --prefix P"))
    } else if what != ShowWhat::Routes && opts.all {
        Some(("--all", "routes"))
    } else if what != ShowWhat::Events && opts.since.is_some() {
        Some(("--since", "events"))
    } else if what != ShowWhat::Events && opts.follow {
        Some(("--follow", "events"))
    } else if what != ShowWhat::Audit && opts.peer_asn.is_some() {
        Some(("--peer-asn", "audit"))
    } else if what != ShowWhat::Audit && opts.strict {
        Some(("--strict", "audit"))
    } else if what != ShowWhat::Routes && opts.neighbor.is_some() {
        Some(("--neighbor", "routes"))
    } else if !matches!(what, ShowWhat::Routes | ShowWhat::AdjRibOut) && opts.limit.is_some() {
        Some(("--limit", "routes|adj-rib-out"))
    } else if !matches!(what, ShowWhat::Routes | ShowWhat::AdjRibOut) && opts.after.is_some() {
        Some(("--after", "routes|adj-rib-out"))
    } else if !matches!(what, ShowWhat::Neighbor | ShowWhat::AdjRibOut) && opts.name.is_some() {
        Some(("NAME", "neighbor NAME|adj-rib-out NAME"))
    } else {
        None
    };
    match misplaced {
        Some((flag, applies_to)) => Err(ShowError::FlagNotApplicable { flag, applies_to }),
        None => Ok(()),
    }
}

/// `127.0.0.1:9179`, `[::1]:9179`, `localhost:9179`, `http://h:p`, or a
/// bare address (default port) → `http://host:port`.
fn base_url(api: &str) -> Result<String, ShowError> {
    let a = api.trim().trim_end_matches('/');
    if a.is_empty() {
        return Err(ShowError::BadAddress(api.to_string(), "empty address"));
    }
    if a.starts_with("https://") {
        return Err(ShowError::BadAddress(
            api.to_string(),
            "the API speaks plain HTTP only (use http:// or HOST:PORT)",
        ));
    }
    if let Some(rest) = a.strip_prefix("http://") {
        return match rest.is_empty() || rest.contains('/') {
            true => Err(ShowError::BadAddress(
                api.to_string(),
                "expected http://HOST:PORT",
            )),
            false => Ok(a.to_string()),
        };
    }
    if a.contains('/') {
        return Err(ShowError::BadAddress(api.to_string(), "expected HOST:PORT"));
    }
    if let Ok(ip) = a.parse::<std::net::IpAddr>() {
        return Ok(format!(
            "http://{}",
            std::net::SocketAddr::new(ip, DEFAULT_PORT)
        ));
    }
    Ok(format!("http://{a}"))
}

fn read_body(resp: ureq::Response, url: &str) -> Result<String, ShowError> {
    let mut body = String::new();
    resp.into_reader()
        .take(MAX_BODY_BYTES)
        .read_to_string(&mut body)
        .map_err(|e| bad(url, e))?;
    Ok(body)
}

fn transport_detail(t: &ureq::Transport) -> String {
    // ureq's Display repeats the URL; keep the kind and the OS error.
    let mut s = t.kind().to_string();
    if let Some(m) = t.message() {
        s.push_str(": ");
        s.push_str(m);
    }
    if let Some(src) = std::error::Error::source(t) {
        s.push_str(": ");
        s.push_str(&src.to_string());
    }
    s
}

fn parse<T: DeserializeOwned>(body: &str, url: &str) -> Result<T, ShowError> {
    serde_json::from_str(body).map_err(|e| bad(url, e))
}

fn bad(url: &str, e: impl std::fmt::Display) -> ShowError {
    ShowError::BadResponse {
        url: url.to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_addresses_become_http_base_urls() {
        let ok = |a: &str| base_url(a).ok();
        assert_eq!(
            ok("127.0.0.1:9179").as_deref(),
            Some("http://127.0.0.1:9179")
        );
        assert_eq!(ok("[::1]:9179").as_deref(), Some("http://[::1]:9179"));
        assert_eq!(ok("::1").as_deref(), Some("http://[::1]:9179"));
        assert_eq!(ok("10.1.2.3").as_deref(), Some("http://10.1.2.3:9179"));
        assert_eq!(
            ok("localhost:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(ok("http://h:1/").as_deref(), Some("http://h:1"));
        assert!(base_url("https://h:1").is_err());
        assert!(base_url("").is_err());
        assert!(base_url("h:1/x").is_err());
    }

    /// How `main` wires the subcommand.
    #[derive(clap::Parser)]
    struct Show {
        what: ShowWhat,
        #[command(flatten)]
        opts: ShowOpts,
    }

    #[test]
    fn clap_parses_the_show_command_line() {
        use clap::Parser;
        let s = Show::try_parse_from(["show", "routes", "--prefix", "203.0.113.0/24", "--json"]);
        let s = s.map_err(|e| e.to_string());
        let (what, opts) = s
            .map(|s| (s.what, s.opts))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(what, ShowWhat::Routes);
        assert_eq!(
            opts,
            ShowOpts {
                json: true,
                prefix: Some("203.0.113.0/24".into()),
                ..ShowOpts::default()
            }
        );
        let s = Show::try_parse_from(["show", "events", "--since", "7", "--api", "[::1]:9180"]);
        let opts = s.map(|s| s.opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((opts.since, opts.api.as_str()), (Some(7), "[::1]:9180"));
        assert!(Show::try_parse_from(["show", "peers"]).is_err());
        assert!(Show::try_parse_from(["show", "events", "--since", "x"]).is_err());
        let s = Show::try_parse_from(["show", "events", "-f", "--json"]);
        let opts = s.map(|s| s.opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(opts.follow && opts.json);
        let s = Show::try_parse_from(["show", "audit", "--peer-asn", "64500", "--json"]);
        let (what, opts) = s
            .map(|s| (s.what, s.opts))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (what, opts.peer_asn, opts.json),
            (ShowWhat::Audit, Some(64500), true)
        );
    }

    #[test]
    fn flags_for_another_view_are_refused() {
        let o = ShowOpts {
            prefix: Some("10.0.0.0/8".into()),
            ..ShowOpts::default()
        };
        let e = run_show(ShowWhat::Neighbors, &o).map(|_| ()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--prefix only applies to `coldpotato show routes`"
        );
        let o = ShowOpts {
            since: Some(3),
            ..ShowOpts::default()
        };
        assert!(matches!(
            run_show(ShowWhat::Routes, &o),
            Err(ShowError::FlagNotApplicable {
                flag: "--since",
                ..
            })
        ));
        let o = ShowOpts {
            follow: true,
            ..ShowOpts::default()
        };
        let mut out = Vec::new();
        let e = follow::run_follow(ShowWhat::Neighbors, &o, &mut out, &|| false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--follow only applies to `coldpotato show events`"
        );
    }
}
