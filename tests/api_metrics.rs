//! `/metrics` exposition checks: the scrape passes `promtool check metrics`
//! (Debian `prometheus` package), and the API reports the engine's queue
//! depth at scrape time. Tests in this file share the global registry, so
//! they run one at a time under a lock.

mod common;

use common::api_fixture as fixture;

use coldpotato::messages::{Query, ToEngine};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Serialises the tests of this file (the metrics registry is global).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PROMTOOL: &str = "promtool";

#[tokio::test]
async fn scraped_metrics_pass_promtool_check_metrics() {
    let _g = SERIAL.lock().await;
    if !common::need(&[PROMTOOL], false) {
        return;
    }
    fixture::touch_all_metrics("promtool-test", "ams");
    let api = fixture::start().await;
    let (status, _, body) = fixture::get(api.url("/metrics")).await;
    assert_eq!(status, 200);
    assert!(body.contains("process_resident_memory_bytes"), "{body}");

    let mut child = match Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot run {PROMTOOL}: {e}"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        if let Err(e) = stdin.write_all(body.as_bytes()) {
            panic!("writing to promtool: {e}");
        }
    }
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => panic!("promtool: {e}"),
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics: {report}\n--- scraped ---\n{body}"
    );
}

#[tokio::test]
async fn metrics_report_the_engine_queue_depth_at_scrape_time() {
    let _g = SERIAL.lock().await;
    let (tx, _rx_not_drained) = mpsc::channel::<ToEngine>(16);
    for _ in 0..3 {
        let (otx, _orx) = oneshot::channel();
        if tx.try_send(ToEngine::Query(Query::Neighbors, otx)).is_err() {
            panic!("queue full");
        }
    }
    let api = fixture::start_with(tx, Arc::new(Mutex::new(Vec::new())), None).await;
    let (status, _, body) = fixture::get(api.url("/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        body.lines().any(|l| l == "coldpotato_engine_queue_depth 3"),
        "{body}"
    );
}
