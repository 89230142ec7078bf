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

fn config(port: u16, api: u16, changed_hold: bool, with_b: bool) -> String {
    let hold = if changed_hold {
        "hold_time_s = 30\n"
    } else {
        ""
    };
    let mut c = format!(
        r#"
[router]
asn = 8075
router_id = "127.0.0.1"
listen = ["127.0.0.1:{port}"]
location = "ams"

[api]
listen = "127.0.0.1:{api}"

[[locations]]
name = "ams"

[[neighbors]]
name = "a"
address = "127.0.0.91"
remote_as = 3356
location = "ams"
role = "transit"
passive = true
families = ["ipv4"]
{hold}"#
    );
    if with_b {
        c.push_str(
            r#"
[[neighbors]]
name = "b"
address = "127.0.0.92"
remote_as = 3356
location = "ams"
role = "transit"
passive = true
families = ["ipv4"]
"#,
        );
    }
    c
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
    let d = Daemon::start(
        &config(port, api, false, true),
        SocketAddr::from(([127, 0, 0, 1], api)),
    );
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let a = Speaker::connect(Ipv4Addr::new(127, 0, 0, 91), daemon, 3356).expect("a");
    let b = Speaker::connect(Ipv4Addr::new(127, 0, 0, 92), daemon, 3356).expect("b");
    for n in ["a", "b"] {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(20)),
            "{n}"
        );
    }
    d.reload(&config(port, api, true, false));
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
