//! Interop with BIRD 2 on loopback: bird (config in a tempdir, passive,
//! on 127.0.0.7:<free port>) exports a static route; our peer task connects
//! from 127.0.0.1, the session establishes and the route arrives as
//! `ToEngine::Update`; our administrative shutdown reaches BIRD as Cease.
//!
//! Skipped (with a message) when `bird` is not installed.

mod common;

use common::session_util as util;

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::*;

const BIRD: &str = "bird";
const BIRD_AS: u32 = 64513;
const OUR_AS: u32 = 65001;

fn bird_config(port: u16) -> String {
    format!(
        r#"log stderr all;
router id 10.0.0.7;
protocol device {{}}
protocol static s4 {{ ipv4; route 198.18.9.0/24 blackhole; }}
protocol bgp cp {{
  local 127.0.0.7 port {port} as {BIRD_AS};
  neighbor 127.0.0.1 as {OUR_AS};
  strict bind on;
  passive on;
  multihop;
  hold time 9;
  ipv4 {{ import all; export all; }};
  debug {{ states, events }};
}}
"#
    )
}

#[tokio::test]
async fn bird_session_delivers_its_static_route() -> TestResult {
    if !common::need(&[BIRD, "birdc"], false) {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let port = free_port("127.0.0.7")?;
    let cfg = dir.path().join("bird.conf");
    std::fs::write(&cfg, bird_config(port))?;
    let log = std::fs::File::create(dir.path().join("bird.log"))?;
    let _daemon = Daemon(
        Command::new(BIRD)
            .arg("-f")
            .arg("-c")
            .arg(&cfg)
            .arg("-s")
            .arg(dir.path().join("bird.ctl"))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?,
    );

    let mut us = spawn_peer(
        neighbor(
            "bird",
            "127.0.0.7",
            BIRD_AS,
            &format!("port = {port}\nlocal_address = \"127.0.0.1\""),
        ),
        OUR_AS,
        Ipv4Addr::new(10, 0, 0, 1),
        None,
    );
    let info = established(
        &mut us.engine,
        Duration::from_secs(20),
        "bird",
        &dir.path().join("bird.log"),
    )
    .await?;
    assert_eq!((info.remote_as, info.hold_time), (BIRD_AS, 9));
    assert_eq!(info.remote_id, Ipv4Addr::new(10, 0, 0, 7));
    assert!(info.codec.four_octet_as && info.route_refresh);

    let prefix: coldpotato::wire::Prefix = "198.18.9.0/24".parse()?;
    let got = update_announcing(&mut us.engine, Duration::from_secs(10), prefix)
        .await
        .ok_or("bird's static route never arrived")?;
    assert_eq!(got.attrs.as_path.and_then(|p| p.first_as()), Some(BIRD_AS));
    assert_eq!(got.attrs.next_hop, Some("127.0.0.7".parse()?));

    let _ = us.shutdown.send(Some("test over".into()));
    us.handle.join().await;
    // BIRD saw our Cease / Administrative Shutdown and its RFC 9003 text.
    let ctl = dir.path().join("bird.ctl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(&ctl)
            .args(["show", "protocols", "all", "cp"])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if text.contains("Administrative shutdown") && text.contains("test over") {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("bird did not report our Cease:\n{text}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
