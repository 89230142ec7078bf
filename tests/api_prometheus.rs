//! Integration with a real Prometheus server (Debian `prometheus` package):
//! it scrapes our `/metrics` every second and a `coldpotato_` series is read
//! back through its HTTP query API; it also parses every PromQL expression
//! of the Grafana dashboard. Bounded to ~30 s; Prometheus is killed
//! by a drop guard even when the test fails. Everything stays on 127.0.0.1.

mod common;

use common::api_fixture as fixture;

use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "prometheus";
/// The whole exchange (start, first scrapes, query) must finish within this.
const DEADLINE: Duration = Duration::from_secs(30);

/// Kills and reaps Prometheus when dropped.
struct Prometheus {
    child: Child,
    log: PathBuf,
}

impl Prometheus {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => panic!("no free port: {e}"),
    }
}

fn start_prometheus(dir: &Path, target: std::net::SocketAddr, web_port: u16) -> Prometheus {
    let config = dir.join("prometheus.yml");
    let yml = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: coldpotato\n    metrics_path: /metrics\n    \
         static_configs:\n      - targets: ['{target}']\n"
    );
    if let Err(e) = std::fs::write(&config, yml) {
        panic!("writing {}: {e}", config.display());
    }
    let log = dir.join("prometheus.log");
    let (out, err) = match File::create(&log).and_then(|f| Ok((f.try_clone()?, f))) {
        Ok(p) => p,
        Err(e) => panic!("log file: {e}"),
    };
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn();
    match child {
        Ok(child) => Prometheus { child, log },
        Err(e) => panic!("cannot start {PROMETHEUS}: {e}"),
    }
}

/// One instant query; `None` while Prometheus is not up yet.
fn query(web_port: u16, promql: &str) -> Option<Value> {
    let url = format!("http://127.0.0.1:{web_port}/api/v1/query");
    let resp = ureq::get(&url)
        .timeout(Duration::from_secs(2))
        .query("query", promql)
        .call()
        .ok()?;
    let v: Value = serde_json::from_reader(resp.into_reader()).ok()?;
    (v["status"] == "success").then_some(v)
}

/// Whether Prometheus parses and evaluates `promql` (its error otherwise).
fn check_promql(web_port: u16, promql: &str) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{web_port}/api/v1/query");
    match ureq::get(&url)
        .timeout(Duration::from_secs(5))
        .query("query", promql)
        .call()
    {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, r)) => {
            Err(format!("{code}: {}", r.into_string().unwrap_or_default()))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The first sample's value of an instant-vector answer.
fn first_value(v: &Value) -> Option<String> {
    v["data"]["result"][0]["value"][1]
        .as_str()
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_scrapes_metrics_and_accepts_the_dashboard_queries() {
    if !common::need(&[PROMETHEUS], false) {
        return;
    }
    fixture::touch_all_metrics("prom-it", "ams");
    coldpotato::metrics::METRICS
        .prefixes_accepted
        .with_label_values(&["prom-it", "ams"])
        .set(4242);
    let api = fixture::start().await;
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let web_port = free_port();
    let prom = start_prometheus(dir.path(), api.addr, web_port);

    let outcome = tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        let promql = r#"coldpotato_prefixes_accepted{neighbor="prom-it",location="ams"}"#;
        while t0.elapsed() < DEADLINE {
            if let Some(v) = query(web_port, promql) {
                if let Some(val) = first_value(&v) {
                    let up = query(web_port, r#"up{job="coldpotato"}"#)
                        .as_ref()
                        .and_then(first_value);
                    let took = t0.elapsed();
                    // Prometheus is up: have it parse every dashboard expression.
                    let bad: Vec<String> = fixture::dashboard_exprs(&fixture::dashboard())
                        .iter()
                        .map(|e| fixture::substitute_variables(e))
                        .filter_map(|e| {
                            check_promql(web_port, &e)
                                .err()
                                .map(|why| format!("{e}\n  -> {why}"))
                        })
                        .collect();
                    return Ok((val, up, v, took, bad));
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        Err(t0.elapsed())
    })
    .await;

    match outcome {
        Ok(Ok((val, up, v, took, bad))) => {
            eprintln!("Prometheus returned the series after {took:?}");
            assert_eq!(val, "4242", "{v}");
            assert_eq!(up.as_deref(), Some("1"), "the scrape target must be up");
            assert_eq!(v["data"]["result"][0]["metric"]["job"], "coldpotato", "{v}");
            assert!(
                bad.is_empty(),
                "Prometheus refused dashboard PromQL:\n{}",
                bad.join("\n")
            );
        }
        Ok(Err(took)) => panic!(
            "no coldpotato_ series from Prometheus within {took:?}; its log:\n{}",
            prom.log()
        ),
        Err(e) => panic!("query task: {e}"),
    }
    drop(prom);
}
