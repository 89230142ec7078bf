//! The event file's writer thread on its own (`analytics::file`): rotation
//! at `max_bytes` keeps exactly `keep` rotated files, every file within the
//! size, the newest events readable back in order; a reconfiguration to
//! fewer files removes the extra ones at the next rotation.

use coldpotato::analytics::file::{read_back, rotated, EventWriter, FileSettings};
use coldpotato::messages::views::EventView;
use coldpotato::messages::PublishedEvent;
use std::sync::Arc;

fn event(seq: u64) -> Arc<PublishedEvent> {
    Arc::new(PublishedEvent {
        event: EventView {
            seq,
            time_ms: 1_767_225_600_000 + seq,
            kind: "route-leak".into(),
            neighbor: Some("contoso-ams-er1".into()),
            prefix: Some(format!("203.0.{}.0/24", seq % 256)),
            message: format!("possible route leak: transit-free AS3356 in the AS path ({seq})"),
            evidence: serde_json::json!({ "leak_asn": 3356, "as_path": "64500 3356 64501" }),
        },
        revised: false,
    })
}

fn len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn rotation_at_max_bytes_keeps_keep_files_each_within_the_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("events.jsonl");
    let settings = FileSettings {
        path: path.clone(),
        max_bytes: 4096,
        keep: 3,
    };
    let mut w = EventWriter::spawn(settings).expect("writer thread");
    // About 300 bytes a line: 13 a file, 200 lines rotate many times.
    for seq in 1..=200 {
        w.send(event(seq));
    }
    w.close();
    // Rotated files are full (another line would not fit), the current one
    // holds what came since.
    for n in 0..=3 {
        let l = len(&rotated(&path, n));
        let full = if n == 0 { 1 } else { 4096 - 400 };
        assert!(
            l >= full && l <= 4096,
            "{}: {l} bytes",
            rotated(&path, n).display()
        );
    }
    assert!(!rotated(&path, 4).exists(), "keep = 3: no events.jsonl.4");
    let back = read_back(&path, 3, 10_000).expect("reads back");
    assert_eq!(back.skipped, 0);
    let seqs: Vec<u64> = back.events.iter().map(|e| e.seq).collect();
    let first = seqs[0];
    assert_eq!(
        seqs,
        (first..=200).collect::<Vec<u64>>(),
        "the newest events, in order, none missing"
    );
    assert!(first > 100, "older files were dropped: first {first}");

    // Fewer files from now on: the extra ones go at the next rotation.
    let mut w = EventWriter::spawn(FileSettings {
        path: path.clone(),
        max_bytes: 4096,
        keep: 3,
    })
    .expect("writer thread");
    w.configure(FileSettings {
        path: path.clone(),
        max_bytes: 4096,
        keep: 1,
    });
    for seq in 201..=230 {
        w.send(event(seq));
    }
    w.close();
    assert!(rotated(&path, 1).exists());
    assert!(!rotated(&path, 2).exists() && !rotated(&path, 3).exists());
}
