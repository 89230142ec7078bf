//! A reload tells each peer why its session ends (issue 16, RFC 4486 §4):
//! a neighbor whose changed config needs a new session gets Cease / Other
//! Configuration Change (6/6) and comes back; a neighbor removed from the
//! config gets Cease / Peer De-configured (6/3).

mod common;

use coldpotato::wire::Message;
use common::speaker::Speaker;
use common::*;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

fn config(port: u16, api: u16, changed_hold: bool, with_b: bool) -> DaemonConfig {
    let hold = if changed_hold { "hold_time_s = 30" } else { "" };
    let neighbor =
        |name: &str, addr: &str| Neighbor::new(name, addr, 3356, "transit").passive().ipv4();
    let c = DaemonConfig::new(8075, port, api).neighbor(&neighbor("a", "127.0.0.91").with(hold));
    if with_b {
        c.neighbor(&neighbor("b", "127.0.0.92"))
    } else {
        c
    }
}

fn cease(s: &Speaker) -> Option<(u8, u8)> {
    s.messages().into_iter().find_map(|m| match m {
        Message::Notification(n) => Some((n.code, n.subcode)),
        _ => None,
    })
}

#[test]
fn a_reload_sends_6_6_to_a_changed_neighbor_and_6_3_to_a_removed_one() {
    let (port, api) = (free_port(), free_port());
    let d = config(port, api, false, true).start();
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let a = Speaker::connect(Ipv4Addr::new(127, 0, 0, 91), daemon, 3356).expect("a");
    let b = Speaker::connect(Ipv4Addr::new(127, 0, 0, 92), daemon, 3356).expect("b");
    for n in ["a", "b"] {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(20)),
            "{n}"
        );
    }
    d.reload(&config(port, api, true, false).to_string());
    let got = wait_for(Duration::from_secs(10), || Some((cease(&a)?, cease(&b)?)));
    assert_eq!(
        got,
        Some(((6, 6), (6, 3))),
        "a: {:?}\nb: {:?}\n{}",
        a.messages(),
        b.messages(),
        d.log()
    );
    // The changed neighbor can come back.
    let again = Speaker::connect(Ipv4Addr::new(127, 0, 0, 91), daemon, 3356).expect("a again");
    assert!(d.wait_state("a", "Established", Duration::from_secs(20)));
    drop(again);
}
