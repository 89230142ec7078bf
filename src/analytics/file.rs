//! The event file (`[events] file`): one JSON line per event, in the shape
//! of a `GET /api/v1/events` item, appended as the engine logs them;
//! rotated by size (`file` → `file.1` → … → `file.KEEP`, the oldest
//! dropped); read back at start ([`read_back`]) so the log survives a
//! restart.
//!
//! Writing runs on its own OS thread ([`EventWriter`]), fed by the engine
//! task over a bounded channel of [`QUEUE`] events: the engine never waits
//! on the disk. A full queue drops the event and counts it
//! (`coldpotato_events_file_dropped_total{reason="queue-full"}`); a file
//! that cannot be opened or written is logged (at most once a minute),
//! counted (`reason="write-error"`) and retried every few seconds, and the
//! daemon runs on with the log in memory. A per-route event is written
//! again with its final count when its window closes (same `seq`): on
//! reading back, the later line of a sequence number wins.

use crate::messages::views::EventView;
use crate::messages::PublishedEvent;
use crate::metrics::METRICS;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Events waiting for the writer thread before new ones are dropped.
pub const QUEUE: usize = 4096;
/// How long after a failed open or write the file is tried again.
const RETRY: Duration = Duration::from_secs(5);
/// At most one log line per this period about the same trouble.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Where and how the event file is written (`[events]`, resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSettings {
    pub path: PathBuf,
    /// Rotate before a line would take the file past this size.
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` … `path.KEEP`).
    pub keep: u32,
}

/// `path.N`: the `n`-th rotated file (`path` itself for 0).
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// What [`read_back`] found.
#[derive(Debug, Default)]
pub struct ReadBack {
    /// The events, oldest first (a revised event may appear twice: the
    /// later copy wins, see `EventLog::restore`).
    pub events: Vec<EventView>,
    /// Lines that were not an event (corrupt, or cut short by a crash).
    pub skipped: usize,
}

/// Reads back the newest `want` events of the event file at `path` and its
/// rotated copies (`path.1` … `path.keep`, newest first until `want` lines
/// are found). A line that is not an event is skipped with a warning, a
/// truncated last line (a crash in mid-write) too; a missing file is an
/// empty log. Only an unreadable file is an error.
pub fn read_back(path: &Path, keep: u32, want: usize) -> io::Result<ReadBack> {
    // (file, its lines), newest file first.
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut lines = 0usize;
    for n in 0..=keep {
        if lines >= want {
            break;
        }
        let p = rotated(path, n);
        let mut text = Vec::new();
        match File::open(&p) {
            Ok(mut f) => f.read_to_end(&mut text)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", p.display()))),
        };
        let text = String::from_utf8_lossy(&text).into_owned();
        lines += text.lines().filter(|l| !l.trim().is_empty()).count();
        files.push((p, text));
    }
    let mut out = ReadBack::default();
    for (p, text) in files.iter().rev() {
        let complete = text.ends_with('\n');
        let all: Vec<&str> = text.lines().collect();
        for (i, line) in all.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<EventView>(line) {
                Ok(e) => out.events.push(e),
                Err(e) => {
                    out.skipped += 1;
                    let last = i + 1 == all.len() && !complete;
                    if last {
                        tracing::warn!(
                            file = %p.display(),
                            line = i + 1,
                            "event file: skipped a truncated last line ({e})"
                        );
                    } else if out.skipped <= 3 {
                        tracing::warn!(
                            file = %p.display(),
                            line = i + 1,
                            "event file: skipped a line that is not an event ({e})"
                        );
                    }
                }
            }
        }
    }
    let start = out
        .events
        .len()
        .saturating_sub(want.saturating_add(want / 8));
    out.events.drain(..start);
    Ok(out)
}

enum Msg {
    Event(Arc<PublishedEvent>),
    Settings(FileSettings),
}

/// The writer thread's handle, owned by the engine task.
#[derive(Debug)]
pub struct EventWriter {
    tx: Option<SyncSender<Msg>>,
    thread: Option<JoinHandle<()>>,
    /// New settings a full queue did not take yet.
    pending: Option<FileSettings>,
    warned: Option<Instant>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Event(e) => write!(f, "Event({})", e.event.seq),
            Msg::Settings(s) => write!(f, "Settings({s:?})"),
        }
    }
}

impl EventWriter {
    /// Starts the writer thread for `settings` (the file is opened at the
    /// first event).
    pub fn spawn(settings: FileSettings) -> io::Result<EventWriter> {
        for reason in ["queue-full", "write-error"] {
            // Present from the start, so that `increase()` sees the first drop.
            METRICS
                .events_file_dropped_total
                .with_label_values(&[reason])
                .inc_by(0);
        }
        let (tx, rx) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("coldpotato-events".into())
            .spawn(move || writer_loop(rx, settings))?;
        Ok(EventWriter {
            tx: Some(tx),
            thread: Some(thread),
            pending: None,
            warned: None,
        })
    }

    /// Queues `event` for the file; never waits. A full queue drops it
    /// (counted, and logged at most once a minute).
    pub fn send(&mut self, event: Arc<PublishedEvent>) {
        let Some(tx) = &self.tx else { return };
        if let Some(s) = self.pending.take() {
            if let Err(TrySendError::Full(Msg::Settings(s))) = tx.try_send(Msg::Settings(s)) {
                self.pending = Some(s);
            }
        }
        if let Err(TrySendError::Full(_)) = tx.try_send(Msg::Event(event)) {
            METRICS
                .events_file_dropped_total
                .with_label_values(&["queue-full"])
                .inc();
            if self.warned.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                self.warned = Some(Instant::now());
                tracing::warn!(
                    "event file writer is {QUEUE} events behind (a slow disk?): events are kept in \
                     memory but not written (coldpotato_events_file_dropped_total)"
                );
            }
        }
    }

    /// Follows a reload: another path (the old file is closed, the new one
    /// appended to), size or number of rotated files.
    pub fn configure(&mut self, settings: FileSettings) {
        let Some(tx) = &self.tx else { return };
        if let Err(TrySendError::Full(Msg::Settings(s))) = tx.try_send(Msg::Settings(settings)) {
            self.pending = Some(s);
        }
    }

    /// Lets the thread write what is queued, then waits for it (a blocking
    /// call: from async code, run it with `spawn_blocking`).
    pub fn close(mut self) {
        if let (Some(tx), Some(s)) = (&self.tx, self.pending.take()) {
            let _ = tx.send(Msg::Settings(s));
        }
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn writer_loop(rx: Receiver<Msg>, settings: FileSettings) {
    let mut w = Writer::new(settings);
    while let Ok(msg) = rx.recv() {
        w.handle(msg);
        while let Ok(msg) = rx.try_recv() {
            w.handle(msg);
        }
        w.flush();
    }
    w.finish();
}

/// The file side of the writer thread.
struct Writer {
    settings: FileSettings,
    file: Option<BufWriter<File>>,
    size: u64,
    /// Highest `keep` seen: rotated files beyond the current `keep` are
    /// removed at the next rotation.
    most_kept: u32,
    retry_at: Option<Instant>,
    failing: bool,
    logged: Option<Instant>,
}

impl Writer {
    fn new(settings: FileSettings) -> Writer {
        Writer {
            most_kept: settings.keep,
            settings,
            file: None,
            size: 0,
            retry_at: None,
            failing: false,
            logged: None,
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Event(e) => self.write(&e.event),
            Msg::Settings(s) => {
                if s.path != self.settings.path {
                    self.finish();
                    self.file = None;
                    self.retry_at = None;
                    tracing::info!(file = %s.path.display(), "event file changed");
                }
                self.most_kept = self.most_kept.max(s.keep);
                self.settings = s;
            }
        }
    }

    fn write(&mut self, e: &EventView) {
        let mut line = match serde_json::to_vec(e) {
            Ok(l) => l,
            Err(_) => return,
        };
        line.push(b'\n');
        let len = line.len() as u64;
        if self.file.is_none() && !self.open() {
            return self.dropped();
        }
        if self.size > 0 && self.size + len > self.settings.max_bytes {
            if let Err(err) = self.rotate() {
                self.fail("cannot rotate", &err);
                return self.dropped();
            }
        }
        let written = match self.file.as_mut() {
            Some(f) => f.write_all(&line),
            None => return self.dropped(),
        };
        match written {
            Ok(()) => self.size += len,
            Err(err) => {
                self.fail("cannot write", &err);
                self.dropped();
            }
        }
    }

    fn dropped(&self) {
        METRICS
            .events_file_dropped_total
            .with_label_values(&["write-error"])
            .inc();
    }

    /// Opens (creates) the file for appending; a file whose last line was
    /// cut short by a crash gets its newline first, so the next line is
    /// whole.
    fn open(&mut self) -> bool {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        let path = self.settings.path.clone();
        let opened = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| {
                let size = f.metadata()?.len();
                if size > 0 && last_byte(&path)? != Some(b'\n') {
                    f.write_all(b"\n")?;
                    return Ok((f, size + 1));
                }
                Ok((f, size))
            });
        match opened {
            Ok((f, size)) => {
                self.file = Some(BufWriter::new(f));
                self.size = size;
                self.retry_at = None;
                if self.failing {
                    self.failing = false;
                    tracing::info!(file = %path.display(), "event file is written again");
                }
                true
            }
            Err(err) => {
                self.fail("cannot open", &err);
                false
            }
        }
    }

    /// `path` → `path.1` → … → `path.keep` (the oldest dropped), then a new
    /// `path`.
    fn rotate(&mut self) -> io::Result<()> {
        self.finish();
        self.file = None;
        let (path, keep) = (self.settings.path.clone(), self.settings.keep);
        for n in (keep + 1)..=self.most_kept {
            remove_if_present(&rotated(&path, n))?;
        }
        self.most_kept = keep;
        if keep == 0 {
            remove_if_present(&path)?;
        } else {
            for n in (1..keep).rev() {
                let from = rotated(&path, n);
                if from.exists() {
                    std::fs::rename(&from, rotated(&path, n + 1))?;
                }
            }
            match std::fs::rename(&path, rotated(&path, 1)) {
                // Removed behind our back: nothing to keep.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                r => r?,
            }
        }
        let f = OpenOptions::new().create(true).append(true).open(&path)?;
        self.file = Some(BufWriter::new(f));
        self.size = 0;
        Ok(())
    }

    fn fail(&mut self, what: &str, err: &io::Error) {
        self.file = None;
        self.retry_at = Some(Instant::now() + RETRY);
        self.failing = true;
        if self.logged.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            self.logged = Some(Instant::now());
            tracing::error!(
                file = %self.settings.path.display(),
                "event file: {what}: {err}; events stay in memory only, retrying every {}s",
                RETRY.as_secs()
            );
        }
    }

    fn flush(&mut self) {
        if let Some(f) = self.file.as_mut() {
            if let Err(err) = f.flush() {
                self.fail("cannot write", &err);
            }
        }
    }

    /// Flushes and syncs the open file (rotation, another path, exit).
    fn finish(&mut self) {
        self.flush();
        if let Some(f) = self.file.as_mut() {
            let _ = f.get_ref().sync_data();
        }
    }
}

fn last_byte(path: &Path) -> io::Result<Option<u8>> {
    let mut f = File::open(path)?;
    if f.metadata()?.len() == 0 {
        return Ok(None);
    }
    f.seek(SeekFrom::End(-1))?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    Ok(Some(b[0]))
}

fn remove_if_present(p: &Path) -> io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64) -> EventView {
        EventView {
            seq,
            time_ms: 1_700_000_000_000 + seq,
            kind: "session-down".into(),
            neighbor: Some("n".into()),
            prefix: None,
            message: format!("event {seq}"),
            evidence: serde_json::json!({ "reason": "test" }),
        }
    }

    #[test]
    fn a_truncated_last_line_and_a_corrupt_line_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.jsonl");
        let mut text = String::new();
        for seq in 1..=3 {
            text.push_str(&serde_json::to_string(&ev(seq)).expect("json"));
            text.push('\n');
        }
        text.push_str("not json\n");
        text.push_str(&serde_json::to_string(&ev(4)).expect("json")[..20]);
        std::fs::write(&path, text).expect("write");
        let got = read_back(&path, 0, 100).expect("reads");
        assert_eq!(got.skipped, 2);
        assert_eq!(
            got.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        // Appending after the crash starts on a line of its own.
        let mut w = Writer::new(FileSettings {
            path: path.clone(),
            max_bytes: 1 << 20,
            keep: 1,
        });
        w.write(&ev(5));
        w.finish();
        let got = read_back(&path, 0, 100).expect("reads");
        assert_eq!(
            got.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 5]
        );
    }

    #[test]
    fn a_missing_file_is_an_empty_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let got = read_back(&dir.path().join("none"), 3, 10).expect("reads");
        assert!(got.events.is_empty());
    }
}
