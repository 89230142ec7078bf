//! Interop with FRR's bgpd on loopback: bgpd (no zebra, config in a
//! tempdir, passive, on 127.0.0.8:<free port>) announces a network; our
//! peer task connects from 127.0.0.1, the session establishes with FRR's
//! 9 s hold time and the route arrives as `ToEngine::Update`.
//!
//! Skipped (with a message) when FRR is not installed.

mod common;

use common::session_util as util;

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::*;

const BGPD: &str = "bgpd";
const FRR_AS: u32 = 64514;
const OUR_AS: u32 = 65001;

fn frr_config() -> String {
    format!(
        "frr defaults traditional
hostname coldpotato-test
router bgp {FRR_AS}
 bgp router-id 10.0.0.8
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 127.0.0.1 remote-as {OUR_AS}
 neighbor 127.0.0.1 passive
 neighbor 127.0.0.1 timers 3 9
 address-family ipv4 unicast
  network 198.18.8.0/24
 exit-address-family
"
    )
}

#[tokio::test]
async fn frr_session_delivers_its_network() -> TestResult {
    if !common::need(&[BGPD], false) {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let port = free_port("127.0.0.8")?;
    let cfg = dir.path().join("bgpd.conf");
    std::fs::write(&cfg, frr_config())?;
    let log = std::fs::File::create(dir.path().join("bgpd.log"))?;
    let _daemon = Daemon(
        Command::new(common::frr_daemon(BGPD))
            .arg("-f")
            .arg(&cfg)
            .args(["-Z", "-S", "-n", "-P", "0", "-l", "127.0.0.8"])
            .arg("-p")
            .arg(port.to_string())
            .arg("-i")
            .arg(dir.path().join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(dir.path())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?,
    );

    let mut us = spawn_peer(
        neighbor(
            "frr",
            "127.0.0.8",
            FRR_AS,
            &format!("port = {port}\nlocal_address = \"127.0.0.1\""),
        ),
        OUR_AS,
        Ipv4Addr::new(10, 0, 0, 1),
        None,
    );
    let info = established(
        &mut us.engine,
        Duration::from_secs(20),
        "FRR",
        &dir.path().join("bgpd.log"),
    )
    .await?;
    assert_eq!((info.remote_as, info.hold_time), (FRR_AS, 9));
    assert_eq!(info.remote_id, Ipv4Addr::new(10, 0, 0, 8));
    assert!(info.codec.four_octet_as && info.enhanced_route_refresh);

    let prefix: coldpotato::wire::Prefix = "198.18.8.0/24".parse()?;
    let got = update_announcing(&mut us.engine, Duration::from_secs(10), prefix)
        .await
        .ok_or("FRR's network never arrived")?;
    assert_eq!(got.attrs.as_path.and_then(|p| p.first_as()), Some(FRR_AS));

    let _ = us.shutdown.send(Some("test over".into()));
    us.handle.join().await;
    Ok(())
}
