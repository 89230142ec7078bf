//! `coldpotato neighbor NAME …`, `coldpotato reload` and `coldpotato
//! log-level`: the operator's client of the API's authenticated writes
//! (`api::control`).
//!
//! Runs on the CLI's main thread (blocking `ureq`, like `show`): finds the
//! daemon the way `show` does (`--api ADDR`, same default, same error when
//! nothing answers), reads the token from `--token-file FILE` or
//! `$COLDPOTATO_TOKEN_FILE` (a file holding `TOKEN` or `NAME TOKEN`), sends
//! one request and prints the daemon's one-line answer (and, for reload,
//! what changed). Exit 0 when done, 1 with a one-line reason otherwise.

use super::{answer, base_url, read_body, ShowError, DEFAULT_API};
use crate::messages::control::ControlDone;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// The environment variable naming the token file when `--token-file` is absent.
pub const TOKEN_FILE_ENV: &str = "COLDPOTATO_TOKEN_FILE";
/// Default `--timeout` of a write, in seconds (a reload validates the whole file).
pub const DEFAULT_CONTROL_TIMEOUT_S: u64 = 30;

/// Flags of every control command.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ControlOpts {
    /// The daemon's API address (its `[api] listen`), `HOST:PORT` or `http://HOST:PORT`.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_API, global = true)]
    pub api: String,
    /// A file holding the API token (`TOKEN`, or a `NAME TOKEN` line of the
    /// daemon's `[api] tokens_file`); default: $COLDPOTATO_TOKEN_FILE.
    #[arg(long, value_name = "FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// Print the API's JSON answer instead of a line.
    #[arg(long, global = true)]
    pub json: bool,
    /// Give up when the daemon does not answer within this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_CONTROL_TIMEOUT_S, global = true)]
    pub timeout: u64,
}

/// `coldpotato neighbor NAME ACTION`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct NeighborArgs {
    /// The neighbor's configured name.
    pub name: String,
    #[command(subcommand)]
    pub action: NeighborCmd,
    #[command(flatten)]
    pub opts: ControlOpts,
}

/// What to do with the neighbor.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum NeighborCmd {
    /// Take the session down (Cease/Administrative Shutdown, RFC 9003
    /// message) and keep it down, across reloads, until `enable`.
    Shutdown {
        /// The shutdown communication the peer sees (UTF-8, at most 255 octets; longer is cut).
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Bring a neighbor taken down by `shutdown` back.
    Enable,
    /// Reset the session (Cease/Administrative Reset); it comes back by itself.
    Reset {
        /// The communication sent with the reset (RFC 9003).
        #[arg(long, short)]
        message: Option<String>,
    },
    /// `in`: ask the peer for its routes again (ROUTE-REFRESH); `out`:
    /// send it ours again.
    Refresh {
        #[arg(value_enum)]
        direction: Direction,
    },
    /// `max-prefix`: end the max-prefix restart penalty now.
    Clear {
        #[arg(value_enum)]
        what: ClearWhat,
    },
}

/// `refresh in|out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    In,
    Out,
}

/// `clear max-prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClearWhat {
    MaxPrefix,
}

/// A write the CLI sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// `POST` or `PUT`.
    pub method: &'static str,
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
}

impl NeighborArgs {
    /// The request this command sends.
    pub fn write(&self) -> Write {
        let name = urlencode(&self.name);
        let (action, body) = match &self.action {
            NeighborCmd::Shutdown { message } => ("shutdown", message_body(message)),
            NeighborCmd::Enable => ("enable", None),
            NeighborCmd::Reset { message } => ("reset", message_body(message)),
            NeighborCmd::Refresh {
                direction: Direction::In,
            } => ("refresh-in", None),
            NeighborCmd::Refresh {
                direction: Direction::Out,
            } => ("refresh-out", None),
            NeighborCmd::Clear {
                what: ClearWhat::MaxPrefix,
            } => ("clear-max-prefix", None),
        };
        Write {
            method: "POST",
            path: format!("/api/v1/neighbors/{name}/{action}"),
            body,
        }
    }
}

fn message_body(m: &Option<String>) -> Option<serde_json::Value> {
    m.as_ref().map(|m| serde_json::json!({ "message": m }))
}

/// `coldpotato reload`.
pub fn reload_write() -> Write {
    Write {
        method: "POST",
        path: "/api/v1/reload".into(),
        body: None,
    }
}

/// `coldpotato log-level LEVEL`.
pub fn log_level_write(level: &str) -> Write {
    Write {
        method: "PUT",
        path: "/api/v1/log-level".into(),
        body: Some(serde_json::json!({ "level": level })),
    }
}

/// Why a control command failed (printed to stderr, exit 1).
#[derive(Debug, Error)]
pub enum ControlCliError {
    #[error("no API token: pass --token-file FILE or set {TOKEN_FILE_ENV} (the daemon's [api] tokens_file holds the tokens)")]
    NoTokenFile,
    #[error("cannot read the token file {path}: {error}")]
    TokenFile { path: String, error: String },
    #[error("the token file {0} holds no token")]
    EmptyTokenFile(String),
    #[error(transparent)]
    Api(#[from] ShowError),
}

/// Where the token comes from: `--token-file`, else the environment.
fn token_file(opts: &ControlOpts, env: Option<std::ffi::OsString>) -> Option<PathBuf> {
    opts.token_file
        .clone()
        .or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from))
}

fn read_token(opts: &ControlOpts) -> Result<String, ControlCliError> {
    let path =
        token_file(opts, std::env::var_os(TOKEN_FILE_ENV)).ok_or(ControlCliError::NoTokenFile)?;
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| ControlCliError::TokenFile {
        path: shown.clone(),
        error: e.to_string(),
    })?;
    crate::api::auth::client_token(&text).ok_or(ControlCliError::EmptyTokenFile(shown))
}

/// Sends `w` and returns what to print: the daemon's message (and a reload's
/// changes), or its JSON with `--json`.
pub fn run_write(w: &Write, opts: &ControlOpts) -> Result<String, ControlCliError> {
    let base = base_url(&opts.api)?;
    let token = read_token(opts)?;
    let url = format!("{base}{}", w.path);
    let secs = opts.timeout.max(1);
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(secs))
        .timeout_read(Duration::from_secs(secs))
        .timeout_write(Duration::from_secs(secs))
        .build();
    let req = agent
        .request(w.method, &url)
        .set("Authorization", &format!("Bearer {token}"));
    let resp = match &w.body {
        Some(b) => {
            let req = req.set("Content-Type", "application/json");
            respond_with(req, &base, secs, &b.to_string())?
        }
        None => respond_with(req, &base, secs, "")?,
    };
    let body = read_body(resp, &url)?;
    if opts.json {
        return super::json::pretty(&body).map_err(|e| super::bad(&url, e).into());
    }
    let done: ControlDone = super::parse(&body, &url)?;
    let mut out = format!("{}\n", done.message);
    for c in &done.changes {
        out.push_str(&format!("  {c}\n"));
    }
    Ok(out)
}

/// Sends a request with a body through `show`'s error handling.
fn respond_with(
    req: ureq::Request,
    base: &str,
    timeout: u64,
    body: &str,
) -> Result<ureq::Response, ShowError> {
    let url = req.url().to_string();
    answer(req.send_string(body), &url, base, timeout)
}

/// Percent-encodes a neighbor name for the path (names are usually plain).
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(subcommand)]
        c: C,
    }

    #[derive(Debug, clap::Subcommand)]
    enum C {
        Neighbor(NeighborArgs),
    }

    fn parse(args: &[&str]) -> NeighborArgs {
        let mut v = vec!["t", "neighbor"];
        v.extend_from_slice(args);
        match T::try_parse_from(v).expect("parses").c {
            C::Neighbor(n) => n,
        }
    }

    #[test]
    fn each_neighbor_command_becomes_its_api_request() {
        let cases: [(&[&str], &str, Option<serde_json::Value>); 7] = [
            (&["rr1", "shutdown"], "/api/v1/neighbors/rr1/shutdown", None),
            (
                &["rr1", "shutdown", "--message", "maintenance, back at 12:00"],
                "/api/v1/neighbors/rr1/shutdown",
                Some(serde_json::json!({"message": "maintenance, back at 12:00"})),
            ),
            (&["rr1", "enable"], "/api/v1/neighbors/rr1/enable", None),
            (
                &["rr1", "reset", "-m", "x"],
                "/api/v1/neighbors/rr1/reset",
                Some(serde_json::json!({"message": "x"})),
            ),
            (
                &["rr1", "refresh", "in"],
                "/api/v1/neighbors/rr1/refresh-in",
                None,
            ),
            (
                &["rr1", "refresh", "out"],
                "/api/v1/neighbors/rr1/refresh-out",
                None,
            ),
            (
                &["rr 1", "clear", "max-prefix"],
                "/api/v1/neighbors/rr%201/clear-max-prefix",
                None,
            ),
        ];
        for (args, path, body) in cases {
            let w = parse(args).write();
            assert_eq!(
                (w.method, w.path.as_str(), w.body),
                ("POST", path, body),
                "{args:?}"
            );
        }
    }

    #[test]
    fn global_flags_go_after_the_action_too() {
        let n = parse(&[
            "rr1",
            "refresh",
            "in",
            "--api",
            "127.0.0.1:1",
            "--token-file",
            "/t",
        ]);
        assert_eq!(n.opts.api, "127.0.0.1:1");
        assert_eq!(n.opts.token_file, Some(PathBuf::from("/t")));
        assert_eq!(n.opts.timeout, DEFAULT_CONTROL_TIMEOUT_S);
    }

    #[test]
    fn the_token_file_flag_wins_over_the_environment() {
        let mut n = parse(&["rr1", "enable"]);
        assert_eq!(
            token_file(&n.opts, Some("/env".into())),
            Some(PathBuf::from("/env"))
        );
        assert_eq!(token_file(&n.opts, Some("".into())), None);
        assert_eq!(token_file(&n.opts, None), None);
        n.opts.token_file = Some("/flag".into());
        assert_eq!(
            token_file(&n.opts, Some("/env".into())),
            Some(PathBuf::from("/flag"))
        );
    }

    #[test]
    fn reload_and_log_level_requests() {
        assert_eq!(reload_write().path, "/api/v1/reload");
        let w = log_level_write("debug");
        assert_eq!(
            (w.method, w.body),
            ("PUT", Some(serde_json::json!({"level": "debug"})))
        );
    }
}
