//! Interop with GoBGP on loopback: gobgpd (TOML config in a tempdir,
//! passive, on 127.0.0.3:<free port>) and our peer task connecting from
//! 127.0.0.1. The session establishes, a route injected with
//! `gobgp global rib add` arrives as `ToEngine::Update`, and once gobgpd is
//! frozen with SIGSTOP we send Hold Timer Expired within the 3 s hold time.
//!
//! Skipped (with a message) when `gobgpd` is not installed.

mod common;

use common::session_util as util;

use coldpotato::engine::messages::ToEngine;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::*;

const GOBGPD: &str = "gobgpd";
const GOBGP: &str = "gobgp";
const GOBGP_AS: u32 = 64512;
const OUR_AS: u32 = 65001;

fn signal(d: &Daemon, sig: libc::c_int) {
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(d.0.id() as libc::pid_t, sig);
    }
}

fn gobgp_config(port: u16) -> String {
    format!(
        r#"[global.config]
  as = {GOBGP_AS}
  router-id = "10.0.0.3"
  port = {port}
  local-address-list = ["127.0.0.3"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = {OUR_AS}
  [neighbors.transport.config]
    passive-mode = true
    local-address = "127.0.0.3"
  [neighbors.timers.config]
    hold-time = 3
    keepalive-interval = 1
"#
    )
}

async fn inject_route(grpc: u16) -> TestResult {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new(GOBGP)
            .args(["-u", "127.0.0.1", "-p", &grpc.to_string()])
            .args(["global", "rib", "add", "-a", "ipv4", "198.18.7.0/24"])
            .output()?;
        if out.status.success() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("gobgp failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn gobgp_session_delivers_updates_and_hold_timer_expires_when_it_freezes() -> TestResult {
    if !common::need(&[GOBGPD, GOBGP], false) {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let port = free_port("127.0.0.3")?;
    let grpc = free_port("127.0.0.1")?;
    let cfg = dir.path().join("gobgpd.toml");
    std::fs::write(&cfg, gobgp_config(port))?;
    let log = std::fs::File::create(dir.path().join("gobgpd.log"))?;
    let daemon = Daemon(
        Command::new(GOBGPD)
            .arg("-f")
            .arg(&cfg)
            .args(["-p", "--pprof-disable"])
            .arg(format!("--api-hosts=127.0.0.1:{grpc}"))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?,
    );

    let mut us = spawn_peer(
        neighbor(
            "gobgp",
            "127.0.0.3",
            GOBGP_AS,
            &format!("port = {port}\nlocal_address = \"127.0.0.1\"\nhold_time_s = 3"),
        ),
        OUR_AS,
        Ipv4Addr::new(10, 0, 0, 1),
        None,
    );
    let info = established(
        &mut us.engine,
        Duration::from_secs(20),
        "gobgpd",
        &dir.path().join("gobgpd.log"),
    )
    .await?;
    assert_eq!((info.remote_as, info.hold_time), (GOBGP_AS, 3));
    assert_eq!(info.remote_id, Ipv4Addr::new(10, 0, 0, 3));
    assert!(info.codec.four_octet_as);

    inject_route(grpc).await?;
    let prefix: coldpotato::wire::Prefix = "198.18.7.0/24".parse()?;
    let got = update_announcing(&mut us.engine, Duration::from_secs(10), prefix)
        .await
        .ok_or("the injected route never arrived")?;
    assert_eq!(got.attrs.as_path.and_then(|p| p.first_as()), Some(GOBGP_AS));

    // Freeze gobgpd: no more KEEPALIVEs, so our 3 s hold timer must fire.
    let t0 = tokio::time::Instant::now();
    signal(&daemon, libc::SIGSTOP);
    let reason = wait_for(&mut us.engine, Duration::from_secs(6), |m| match m {
        ToEngine::SessionDown { reason, .. } => Some(reason),
        _ => None,
    })
    .await
    .ok_or("session stayed up with a frozen peer")?;
    let took = t0.elapsed();
    assert_eq!(reason, "sent NOTIFICATION Hold Timer Expired");
    assert!(
        took <= Duration::from_millis(3500),
        "hold timer fired after {took:?}"
    );
    signal(&daemon, libc::SIGCONT);

    let _ = us.shutdown.send(Some("test over".into()));
    us.handle.join().await;
    drop(daemon);
    Ok(())
}
