//! The listener refuses connections from addresses that are not
//! configured neighbors (no OPEN is ever sent) and follows reloads.

mod common;

use common::session_util as util;

use coldpotato::session::listen::Listener;
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpSocket;
use util::*;

/// Connects from `from` and reads: `Ok(0)`/error means closed, `Ok(n)` bytes received.
async fn connect_and_read(from: &str, to: std::net::SocketAddr) -> std::io::Result<usize> {
    let s = TcpSocket::new_v4()?;
    s.bind(format!("{from}:0").parse().map_err(std::io::Error::other)?)?;
    let mut stream = s.connect(to).await?;
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer",
        )),
    }
}

#[tokio::test]
async fn connection_from_an_unconfigured_address_gets_no_open() -> TestResult {
    let l = Listener::bind(&["127.0.0.1:0".parse()?])?;
    let addr = l.local_addrs()[0];
    let neighbors = l.neighbors();
    let peer = spawn_peer(
        neighbor("n", "127.0.0.5", 65005, "passive = true"),
        65000,
        Ipv4Addr::new(10, 0, 0, 1),
        None,
    );
    neighbors.register("127.0.0.5".parse()?, peer.handle.registration())?;
    let tasks = l.spawn();

    let stranger = connect_and_read("127.0.0.2", addr).await;
    assert!(
        matches!(stranger, Ok(0) | Err(_)),
        "unconfigured address must see EOF/reset, got {stranger:?}"
    );
    assert!(
        !matches!(&stranger, Err(e) if e.kind() == std::io::ErrorKind::TimedOut),
        "the connection must be closed at once"
    );

    // The configured neighbor gets our OPEN (19-octet header at least).
    let friend = connect_and_read("127.0.0.5", addr).await?;
    assert!(friend >= 19, "configured neighbor got {friend} octets");

    // After a reload removes it, it is a stranger too.
    neighbors.unregister("127.0.0.5".parse()?);
    let removed = connect_and_read("127.0.0.5", addr).await;
    assert!(matches!(removed, Ok(0) | Err(_)), "got {removed:?}");

    let _ = peer.shutdown.send(Some("bye".into()));
    peer.handle.join().await;
    for t in tasks {
        t.abort();
    }
    Ok(())
}
