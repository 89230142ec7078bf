//! Events that last and stream, on the real daemon (issue 13): the event
//! log survives a restart through `[events] file` (rotated files included)
//! with its sequence numbers; `GET /api/v1/events/stream` resumes after
//! `Last-Event-ID`; `show events --follow` prints an event within 100 ms of
//! the moment a peer ends its session, and exits 0 when its reader goes
//! away. Events come from a test peer's session going up and down.

mod common;

use common::peers::{BgpPeer, OpenSpec};
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PEER: Ipv4Addr = Ipv4Addr::new(127, 0, 13, 2);
const PEER_AS: u32 = 20_013;

fn config(port: u16, api: u16, events: &str) -> String {
    format!(
        r#"
[router]
asn = 8075
router_id = "127.0.0.1"
listen = ["127.0.0.1:{port}"]
location = "ams"

[api]
listen = "127.0.0.1:{api}"

{events}

[[locations]]
name = "ams"

[[neighbors]]
name = "flap"
address = "{PEER}"
remote_as = {PEER_AS}
location = "ams"
role = "transit"
passive = true
families = ["ipv4"]
max_prefixes = {{ limit = 100 }}
"#
    )
}

fn start(events: &str) -> (Daemon, SocketAddr) {
    let (port, api) = (free_port(), free_port());
    let d = Daemon::start(
        &config(port, api, events),
        SocketAddr::from(([127, 0, 0, 1], api)),
    );
    (d, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The peer's session, Established.
fn up(d: &Daemon, bgp: SocketAddr) -> BgpPeer {
    let p = wait_for(Duration::from_secs(20), || {
        BgpPeer::connect(
            PEER,
            bgp,
            &OpenSpec::new(PEER_AS, PEER),
            Duration::from_secs(5),
        )
        .ok()
    })
    .unwrap_or_else(|| panic!("the peer cannot connect\n{}", d.log()));
    assert!(
        d.wait_state("flap", "Established", Duration::from_secs(10)),
        "{:?}",
        d.neighbor("flap")
    );
    p
}

/// Ends the peer's session (Cease) and waits until the daemon saw it.
fn down(d: &Daemon, p: BgpPeer) {
    p.close();
    assert!(
        wait_for(Duration::from_secs(10), || {
            (d.neighbor("flap")?["state"] != "Established").then_some(())
        })
        .is_some(),
        "{:?}",
        d.neighbor("flap")
    );
}

fn events(d: &Daemon) -> Vec<Value> {
    d.get("/api/v1/events")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until the log holds `n` events.
fn wait_events(d: &Daemon, n: usize) -> Vec<Value> {
    wait_for(Duration::from_secs(10), || {
        let e = events(d);
        (e.len() >= n).then_some(e)
    })
    .unwrap_or_else(|| panic!("fewer than {n} events: {:?}", events(d)))
}

fn seqs(list: &[Value]) -> Vec<u64> {
    list.iter().filter_map(|e| e["seq"].as_u64()).collect()
}

#[test]
fn events_survive_a_restart_with_their_sequence_numbers_across_rotated_files() {
    let keep = tempfile::tempdir().expect("tempdir");
    let file = keep.path().join("events.jsonl");
    // A flap (session up and down) writes about 430 bytes: fifteen rotate
    // the file once, and file.1 and the file still hold every event.
    let table = format!(
        "[events]\nfile = \"{}\"\nmax_bytes = 4096\nkeep = 2\n",
        file.display()
    );
    let (mut d, bgp) = start(&table);
    for _ in 0..15 {
        let p = up(&d, bgp);
        down(&d, p);
    }
    let before = wait_events(&d, 30);
    assert_eq!(seqs(&before), (1..=30).collect::<Vec<u64>>());
    assert_eq!(d.proc.terminate(Duration::from_secs(10)), Some(0));
    let len = |n: u32| std::fs::metadata(events_path(&file, n)).map_or(0, |m| m.len());
    assert!(len(1) > 0, "rotated at 4096 bytes");
    for n in 0..=1 {
        assert!(len(n) > 0 && len(n) <= 4096, "file {n}: {} bytes", len(n));
    }

    // Same file, a new daemon: the log is back, numbering goes on.
    let port = bgp.port();
    let api = d.api;
    let text = std::fs::read_to_string(&d.config).expect("config");
    drop(d);
    let d = Daemon::start(&text, api);
    let after = events(&d);
    assert_eq!(
        after, before,
        "the same events, the same seq, time and text"
    );
    let p = up(&d, SocketAddr::from(([127, 0, 0, 1], port)));
    let now = wait_events(&d, 31);
    let newest = &now[now.len() - 1];
    assert_eq!(newest["seq"], 31);
    assert_eq!(newest["kind"], "session-up");
    down(&d, p);
    let out = Command::new(env!("CARGO_BIN_EXE_coldpotato"))
        .args(["show", "events", "--api", &d.api.to_string()])
        .output()
        .expect("show runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("1 ")),
        "show events has event 1 of the first run:\n{text}"
    );
}

fn events_path(file: &std::path::Path, n: u32) -> std::path::PathBuf {
    coldpotato::analytics::file::rotated(file, n)
}

/// One SSE message: (event type, id, data).
type Sse = (String, Option<u64>, Value);

/// Reads SSE messages from a stream into a channel, on a thread.
fn sse_reader(resp: ureq::Response) -> mpsc::Receiver<Sse> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(resp.into_reader());
        let (mut event, mut id, mut data) = (String::new(), None, String::new());
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if l.is_empty() {
                if !data.is_empty() {
                    let v = serde_json::from_str(&data).unwrap_or(Value::Null);
                    if tx.send((std::mem::take(&mut event), id.take(), v)).is_err() {
                        return;
                    }
                }
                data.clear();
                continue;
            }
            if let Some(v) = l.strip_prefix("data: ") {
                data.push_str(v);
            } else if let Some(v) = l.strip_prefix("id: ") {
                id = v.parse().ok();
            } else if let Some(v) = l.strip_prefix("event: ") {
                event = v.to_string();
            }
        }
    });
    rx
}

fn stream(d: &Daemon, last_event_id: Option<u64>) -> mpsc::Receiver<Sse> {
    let url = format!("http://{}/api/v1/events/stream", d.api);
    let mut req = ureq::get(&url).timeout(Duration::from_secs(30));
    if let Some(id) = last_event_id {
        req = req.set("Last-Event-ID", &id.to_string());
    }
    let resp = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_type(), "text/event-stream");
    sse_reader(resp)
}

fn streams_open(d: &Daemon) -> f64 {
    common::metric_sum(d.api, "coldpotato_events_streams", &[])
}

#[test]
fn an_event_stream_resumes_after_last_event_id_without_gaps_or_repeats() {
    let (d, bgp) = start("");
    let p = up(&d, bgp);
    let first = wait_events(&d, 1);
    assert_eq!(first[0]["kind"], "session-up");

    // Only new events without an id to resume from.
    let rx = stream(&d, None);
    assert!(
        wait_for(Duration::from_secs(5), || (streams_open(&d) == 1.0)
            .then_some(()))
        .is_some()
    );
    down(&d, p);
    let (kind, id, data) = rx.recv_timeout(Duration::from_secs(10)).expect("an event");
    assert_eq!((kind.as_str(), id), ("", Some(2)));
    assert_eq!(data["kind"], "session-down");
    assert_eq!(
        data,
        wait_events(&d, 2)[1],
        "the same JSON as /api/v1/events"
    );
    drop(rx);

    // Disconnected: two more events happen.
    let p = up(&d, bgp);
    down(&d, p);
    wait_events(&d, 4);
    let rx = stream(&d, Some(2));
    let got: Vec<Option<u64>> = (0..2)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("backlog").1)
        .collect();
    assert_eq!(got, vec![Some(3), Some(4)], "what was missed, in order");
    let p = up(&d, bgp);
    let (_, id, data) = rx.recv_timeout(Duration::from_secs(10)).expect("live");
    assert_eq!(id, Some(5), "then live, nothing twice");
    assert_eq!(data["kind"], "session-up");
    down(&d, p);
    drop(rx);

    // A bad Last-Event-ID is a 400 naming the header.
    let url = format!("http://{}/api/v1/events/stream", d.api);
    match ureq::get(&url).set("Last-Event-ID", "abc").call() {
        Err(ureq::Error::Status(400, r)) => {
            let body = r.into_string().unwrap_or_default();
            assert!(body.contains("Last-Event-ID"), "{body}");
        }
        other => panic!("{:?}", other.map(|r| r.status())),
    }
}

/// `show events --follow`: the time from the peer's Cease to the printed
/// row, three times. Set-up waits are generous; the latency is not.
#[test]
fn show_events_follow_prints_an_event_within_100_ms() {
    let (d, bgp) = start("");
    let p = up(&d, bgp);
    wait_events(&d, 1);
    let mut child = Command::new(env!("CARGO_BIN_EXE_coldpotato"))
        .args(["show", "events", "--follow", "--api", &d.api.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("show --follow runs");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<(Instant, String)>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send((Instant::now(), line)).is_err() {
                return;
            }
        }
    });
    // The header and the tail (session-up #1), then the stream is open.
    let head = rx.recv_timeout(Duration::from_secs(10)).expect("header");
    assert!(head.1.starts_with("   SEQ  TIME (UTC)"), "{}", head.1);
    let tail = rx.recv_timeout(Duration::from_secs(10)).expect("tail");
    assert!(tail.1.contains("session-up"), "{}", tail.1);
    assert!(
        wait_for(Duration::from_secs(10), || (streams_open(&d) == 1.0)
            .then_some(()))
        .is_some(),
        "the stream did not open"
    );

    let mut latencies = Vec::new();
    let mut peer = Some(p);
    for round in 0..3 {
        let p = match peer.take() {
            Some(p) => p,
            None => {
                let p = up(&d, bgp);
                let (_, l) = rx
                    .recv_timeout(Duration::from_secs(10))
                    .expect("session-up row");
                assert!(l.contains("session-up"), "{l}");
                p
            }
        };
        let t0 = Instant::now();
        p.close();
        let (t1, line) = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("round {round}: no row\n{}", d.log()));
        assert!(line.contains("session-down"), "{line}");
        latencies.push(t1.duration_since(t0));
    }
    eprintln!("show events --follow latency: {latencies:?}");
    for l in &latencies {
        assert!(*l < Duration::from_millis(100), "{latencies:?}");
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `show events --follow | head -2`: the reader goes away after the
/// header and one row; the command notices at the next event (or the next
/// keep-alive) and exits 0, under `set -o pipefail` too.
#[test]
fn show_events_follow_into_a_pipe_closed_early_exits_zero() {
    let (d, bgp) = start("");
    let p = up(&d, bgp);
    wait_events(&d, 1);
    let mut child = Command::new("bash")
        .args([
            "-o",
            "pipefail",
            "-c",
            &format!(
                "{} show events --follow --api {} | head -2",
                env!("CARGO_BIN_EXE_coldpotato"),
                d.api
            ),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    assert!(
        wait_for(Duration::from_secs(10), || (streams_open(&d) == 1.0)
            .then_some(()))
        .is_some(),
        "the stream did not open"
    );
    // An event for the closed pipe.
    down(&d, p);
    // At the row, or at the next keep-alive (15 s) if head was still reading.
    let status = wait_for(Duration::from_secs(25), || child.try_wait().ok().flatten())
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("still running after its reader left")
        });
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(status.success(), "exit {:?}: {err}", status.code());
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        wait_for(Duration::from_secs(20), || (streams_open(&d) == 0.0)
            .then_some(()))
        .is_some(),
        "the daemon closed the stream (at the latest at its next keep-alive)"
    );
}

#[test]
fn check_refuses_an_event_file_in_a_missing_directory_at_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        config(
            179,
            9179,
            "[events]\nfile = \"/nonexistent-coldpotato/events.jsonl\"\n",
        ),
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_coldpotato"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("check runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{}:12:8: event file /nonexistent-coldpotato/events.jsonl: directory /nonexistent-coldpotato does not exist",
            path.display()
        )),
        "{err}"
    );
}

/// A file the daemon cannot write (its directory removed after `check`):
/// logged, counted, and the daemon serves on with the log in memory.
#[test]
fn an_unwritable_event_file_is_logged_and_the_daemon_runs_on() {
    let keep = tempfile::tempdir().expect("tempdir");
    let sub = keep.path().join("gone");
    std::fs::create_dir(&sub).expect("mkdir");
    let table = format!("[events]\nfile = \"{}\"\n", sub.join("e.jsonl").display());
    let (d, bgp) = start(&table);
    std::fs::remove_dir_all(&sub).expect("rmdir");
    let p = up(&d, bgp);
    down(&d, p);
    assert_eq!(seqs(&wait_events(&d, 2)), vec![1, 2], "still in memory");
    let dropped = wait_for(Duration::from_secs(5), || {
        let n = common::metric_sum(
            d.api,
            "coldpotato_events_file_dropped_total",
            &["reason=\"write-error\""],
        );
        (n >= 2.0).then_some(n)
    });
    assert!(dropped.is_some(), "{}", d.log());
    assert!(d.log().contains("event file: cannot open"), "{}", d.log());
    assert_eq!(http_get(d.api, "/healthz").map(|r| r.0), Some(200));
}

/// SIGHUP with another `[events] file`: later events go to the new file
/// (appended; the old one is left as it is), numbering goes on.
#[test]
fn a_reload_moves_the_event_file_and_numbering_goes_on() {
    let keep = tempfile::tempdir().expect("tempdir");
    let (a, b) = (keep.path().join("a.jsonl"), keep.path().join("b.jsonl"));
    let table = |f: &std::path::Path| format!("[events]\nfile = \"{}\"\n", f.display());
    let (d, bgp) = start(&table(&a));
    let p = up(&d, bgp);
    down(&d, p);
    wait_events(&d, 2);
    d.reload(&config(bgp.port(), d.api.port(), &table(&b)));
    let reloaded = wait_for(Duration::from_secs(10), || {
        let n = common::metric_sum(d.api, "coldpotato_config_reloads_total", &["success"]);
        (n >= 1.0).then_some(())
    });
    assert!(reloaded.is_some(), "{}", d.log());
    let p = up(&d, bgp);
    down(&d, p);
    wait_events(&d, 4);
    let lines = |f: &std::path::Path| -> Vec<u64> {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["seq"].as_u64())
            .collect()
    };
    let written = wait_for(Duration::from_secs(5), || {
        (lines(&b) == vec![3, 4]).then_some(())
    });
    assert!(written.is_some(), "b: {:?}\n{}", lines(&b), d.log());
    assert_eq!(lines(&a), vec![1, 2]);
}
