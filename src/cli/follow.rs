//! `coldpotato show events --follow`: the event log as it happens, from the
//! API's Server-Sent Events stream (`GET /api/v1/events/stream`).
//!
//! Runs on the CLI's main thread (blocking `ureq`, no tokio): the last
//! [`TAIL`] events first (or those after `--since N`), then every event as
//! the daemon logs it, each row flushed at once, in the columns of `show
//! events` (`--json`: one JSON object a line). A per-route event whose
//! window closed comes again with its final count (same SEQ). A reader
//! that goes away (`| head`) ends it with exit 0; so does a closed pipe
//! noticed at a keep-alive. The daemon ending the stream is an error.

use super::{base_url, call, check_flags, parse, render, ShowError, ShowOpts, ShowWhat};
use crate::api::stream::KEEP_ALIVE;
use crate::messages::views::EventView;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::time::Duration;

/// Events shown before following when `--since` is not given.
pub const TAIL: usize = 10;

/// What one SSE message was.
#[derive(Debug, Default)]
struct Message {
    event: String,
    data: String,
}

/// Follows the event stream of the API at `opts.api`, writing to `out`
/// until the daemon ends the stream (an error) or the reader goes away
/// (`Ok`): a write fails with a broken pipe, or `out_closed` says so at a
/// keep-alive.
pub fn run_follow(
    what: ShowWhat,
    opts: &ShowOpts,
    out: &mut dyn Write,
    out_closed: &dyn Fn() -> bool,
) -> Result<(), ShowError> {
    check_flags(what, opts)?;
    if what != ShowWhat::Events {
        return Err(ShowError::FlagNotApplicable {
            flag: "--follow",
            applies_to: "events",
        });
    }
    let base = base_url(&opts.api)?;
    let step = Duration::from_secs(opts.timeout.max(1));
    let mut rows = render::EventRows::default();
    let since = match opts.since {
        Some(n) => n,
        None => {
            let url = format!("{base}/api/v1/events");
            let agent = ureq::AgentBuilder::new()
                .timeout_connect(step)
                .timeout_read(step)
                .build();
            let body = call(agent.get(&url), &base, opts.timeout)?;
            let list: Vec<EventView> = parse(&body, &url)?;
            let tail = &list[list.len().saturating_sub(TAIL)..];
            if !write_events(out, &mut rows, tail, opts.json)? {
                return Ok(());
            }
            tail.last().map_or(0, |e| e.seq)
        }
    };
    let url = format!("{base}/api/v1/events/stream");
    // A read waits for an event or the keep-alive comment.
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(step)
        .timeout_read(step.max(KEEP_ALIVE * 3))
        .build();
    let req = agent
        .get(&url)
        .set("Accept", "text/event-stream")
        .query("since", &since.to_string());
    let resp = super::respond(req, &base, opts.timeout)?;
    let mut reader = BufReader::new(resp.into_reader());
    let mut msg = Message::default();
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return Err(ShowError::StreamEnded { addr: base }),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                return Err(ShowError::Timeout {
                    addr: base,
                    secs: (step.max(KEEP_ALIVE * 3)).as_secs(),
                })
            }
            Err(e) => {
                return Err(ShowError::StreamEnded {
                    addr: format!("{base} ({e})"),
                })
            }
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            let m = std::mem::take(&mut msg);
            if !dispatch(out, &mut rows, m, opts.json, &url)? {
                return Ok(());
            }
            continue;
        }
        if l.starts_with(':') {
            // A keep-alive: a good time to notice a reader that left.
            if out_closed() {
                return Ok(());
            }
            continue;
        }
        let (field, value) = l.split_once(':').unwrap_or((l, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => msg.event = value.to_string(),
            "data" => {
                if !msg.data.is_empty() {
                    msg.data.push('\n');
                }
                msg.data.push_str(value);
            }
            _ => {}
        }
    }
}

/// Shows one SSE message; false when the reader went away.
fn dispatch(
    out: &mut dyn Write,
    rows: &mut render::EventRows,
    m: Message,
    json: bool,
    url: &str,
) -> Result<bool, ShowError> {
    if m.data.is_empty() {
        return Ok(true);
    }
    match m.event.as_str() {
        "" | "message" | "revised" => {
            let e: EventView = parse(&m.data, url)?;
            write_events(out, rows, std::slice::from_ref(&e), json)
        }
        "gap" => {
            let v: serde_json::Value = parse(&m.data, url)?;
            eprintln!(
                "coldpotato: {} events after #{} are no longer kept by the daemon and were missed",
                v["missed"], v["after"]
            );
            Ok(true)
        }
        _ => Ok(true),
    }
}

/// Writes and flushes rows (or JSON lines); false when the reader went away.
fn write_events(
    out: &mut dyn Write,
    rows: &mut render::EventRows,
    list: &[EventView],
    json: bool,
) -> Result<bool, ShowError> {
    if list.is_empty() {
        return Ok(true);
    }
    let text = if json {
        let mut s = String::new();
        for e in list {
            s.push_str(&serde_json::to_string(e).unwrap_or_default());
            s.push('\n');
        }
        s
    } else {
        rows.render(list)
    };
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(ShowError::Output(e.to_string())),
    }
}

/// True when stdout is a pipe whose reader has gone (`poll` reports an
/// error on its write end).
pub fn stdout_closed() -> bool {
    let mut p = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd and a zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLERR | libc::POLLHUP) != 0
}
