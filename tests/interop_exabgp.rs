//! Active-only peers (issue 11): Debian's ExaBGP opens no listener, so our
//! connects to it are refused (RST) and the session can only come up on
//! the connection ExaBGP opens toward us. Over IPv4 on loopback and over
//! IPv6 across a veth into a namespace; with the peer up before us, and
//! with the peer starting 30 s after us (our FSM has backed off by then).

mod common;

use common::exabgp::ExaBgp;
use common::*;
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
const PEER_AS: u32 = 3356;

fn config(listen: &str, api: u16, address: &str, closed_port: u16, family: &str) -> DaemonConfig {
    DaemonConfig::new(OUR_AS, 0, api)
        .listen(&[listen])
        .neighbor(
            &Neighbor::new("exa", address, PEER_AS, "transit")
                .port(closed_port)
                .accept_all()
                .with(&format!("families = [\"{family}\"]"))
                .with("hold_time_s = 30"),
        )
}

/// Waits until `exa` is Established and its route arrived; returns how long it took.
fn comes_up(d: &Daemon, exa: &ExaBgp, within: Duration) -> Duration {
    let t0 = Instant::now();
    let up = wait_for(within, || {
        let n = d.neighbor("exa")?;
        (n["state"] == "Established" && n["prefixes_received"].as_u64() == Some(1)).then_some(())
    });
    assert!(
        up.is_some(),
        "active-only ExaBGP never reached Established with its route: {:?}\n--- ours\n{}\n--- exabgp\n{}",
        d.neighbor("exa"),
        d.log(),
        exa.log()
    );
    t0.elapsed()
}

#[test]
fn an_active_only_peer_up_before_us_comes_up_over_ipv4() {
    if !need(&["exabgp"], false) {
        return;
    }
    let (port, api, closed) = (free_port(), free_port(), free_port());
    let exa = ExaBgp::start_in(
        None,
        &ExaBgp::neighbor_config(
            "127.0.0.81",
            "127.0.0.1",
            port,
            PEER_AS,
            OUR_AS,
            "ipv4",
            &["192.0.2.0/24 next-hop 127.0.0.81 as-path [ 3356 64496 ]"],
        ),
    );
    std::thread::sleep(Duration::from_secs(2));
    let d = config(
        &format!("127.0.0.1:{port}"),
        api,
        "127.0.0.81",
        closed,
        "ipv4",
    )
    .start();
    let took = comes_up(&d, &exa, Duration::from_secs(60));
    note(&format!(
        "active-only ExaBGP (IPv4, up first): Established with its route after {took:?}"
    ));
}

#[test]
fn an_active_only_peer_starting_30_s_after_us_comes_up_over_ipv4() {
    if !need(&["exabgp"], false) {
        return;
    }
    let (port, api, closed) = (free_port(), free_port(), free_port());
    let d = config(
        &format!("127.0.0.1:{port}"),
        api,
        "127.0.0.82",
        closed,
        "ipv4",
    )
    .start();
    std::thread::sleep(Duration::from_secs(30));
    let n = d.neighbor("exa").expect("neighbor");
    assert_ne!(n["state"], "Established");
    assert_eq!(n["last_error"], "connect failed", "{n}");
    let exa = ExaBgp::start_in(
        None,
        &ExaBgp::neighbor_config(
            "127.0.0.82",
            "127.0.0.1",
            port,
            PEER_AS,
            OUR_AS,
            "ipv4",
            &["192.0.2.0/24 next-hop 127.0.0.82 as-path [ 3356 64496 ]"],
        ),
    );
    let took = comes_up(&d, &exa, Duration::from_secs(30));
    note(&format!(
        "active-only ExaBGP (IPv4, started 30 s after us): Established with its route {took:?} after it started"
    ));
}

#[test]
fn an_active_only_peer_comes_up_over_ipv6() {
    if !need(&["exabgp", "ip"], true) {
        return;
    }
    let link = VethLink::new("ex6", 9, true);
    let (port, api, closed) = (free_port(), free_port(), free_port());
    let d = config(
        &format!("[{}]:{port}", link.ours),
        api,
        &link.peer,
        closed,
        "ipv6",
    )
    .start();
    let exa = ExaBgp::start_in(
        Some(&link.ns.name),
        &ExaBgp::neighbor_config(
            &link.peer,
            &link.ours,
            port,
            PEER_AS,
            OUR_AS,
            "ipv6",
            &[&format!(
                "2001:db8:1::/48 next-hop {} as-path [ 3356 64496 ]",
                link.peer
            )],
        ),
    );
    let took = comes_up(&d, &exa, Duration::from_secs(60));
    note(&format!(
        "active-only ExaBGP (IPv6 over veth): Established with its route after {took:?}"
    ));
}
