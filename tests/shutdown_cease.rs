//! Graceful shutdown always says why (issue 11): the real daemon is started
//! and stopped with SIGTERM twenty times in one run against two BIRD 2
//! sessions on loopback (BIRD keys a session by the neighbor address, so
//! ours come from 127.0.0.1 and 127.0.0.4) (BIRD passive, exporting routes toward us while we
//! export ours), and every time both BIRD sessions record our Cease /
//! Administrative Shutdown (6/2) with its RFC 9003 text — never a bare
//! "connection closed", which is what a RST ahead of the NOTIFICATION
//! looks like from the peer.

mod common;

use common::*;
use std::time::Duration;

const OUR_AS: u32 = 8075;
const BIRD_AS: u32 = 196_615;
const ROUNDS: usize = 20;

fn bird_config(peer: u16, ours: u16) -> String {
    let mut statics = String::new();
    for i in 0..200 {
        statics.push_str(&format!(
            "route 45.{}.{}.0/24 unreachable; ",
            20 + i / 256,
            i % 256
        ));
    }
    let proto = |name: &str, local: &str, us: &str| {
        format!(
            r#"
protocol bgp {name} {{
  local {local} port {peer} as {BIRD_AS};
  neighbor {us} port {ours} as {OUR_AS};
  strict bind on;
  passive on;
  multihop;
  hold time 9;
  ipv4 {{ import all; export all; }};
}}
"#
        )
    };
    format!(
        r#"
router id 127.0.0.2;
log stderr all;
protocol device {{ }}
protocol static s4 {{ ipv4; {statics} }}
{}{}"#,
        proto("cpa", "127.0.0.2", "127.0.0.1"),
        proto("cpb", "127.0.0.3", "127.0.0.4"),
    )
}

fn our_config(ours: u16, api: u16, peer: u16) -> DaemonConfig {
    let neighbor = |name: &str, addr: &str, local: &str| {
        Neighbor::new(name, addr, BIRD_AS, "transit")
            .port(peer)
            .accept_all()
            .local_address(local)
    };
    DaemonConfig::new(OUR_AS, ours, api)
        .router("hold_time_s = 9")
        .originate("192.0.2.0/24")
        .neighbor(&neighbor("bird-a", "127.0.0.2", "127.0.0.1"))
        .neighbor(&neighbor("bird-b", "127.0.0.3", "127.0.0.4"))
}

/// How many times BIRD's protocol `name` logged our shutdown NOTIFICATION.
fn ceases(log: &str, name: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains(&format!("{name}: Received: Administrative shutdown"))
                && l.contains(coldpotato::daemon::SHUTDOWN_TEXT)
        })
        .count()
}

#[test]
fn sigterm_sends_cease_on_every_session_every_time() {
    if !need(&["bird", "birdc"], false) {
        return;
    }
    let (ours, api, peer) = (free_port(), free_port(), free_port());
    let bird = Bird::start(&bird_config(peer, ours));
    let config = our_config(ours, api, peer);
    for round in 1..=ROUNDS {
        let mut d = config.start();
        for n in ["bird-a", "bird-b"] {
            assert!(
                d.wait_state(n, "Established", Duration::from_secs(30)),
                "round {round}: {n} not Established\nours:\n{}\nbird:\n{}",
                d.log(),
                bird.proc.log_text()
            );
        }
        let code = d.proc.terminate(Duration::from_secs(10));
        assert_eq!(code, Some(0), "round {round}: exit\n{}", d.log());
        let seen = wait_for(Duration::from_secs(5), || {
            let log = bird.proc.log_text();
            (ceases(&log, "cpa") >= round && ceases(&log, "cpb") >= round).then_some(())
        });
        let log = bird.proc.log_text();
        assert!(
            seen.is_some(),
            "round {round}: BIRD did not get our Cease on both sessions \
             (cpa {}, cpb {}):\n{}",
            ceases(&log, "cpa"),
            ceases(&log, "cpb"),
            log.lines()
                .filter(|l| l.contains("cpa") || l.contains("cpb"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    note(&format!(
        "shutdown: {ROUNDS} of {ROUNDS} SIGTERMs put Cease 6/2 on both BIRD sessions"
    ));
}
