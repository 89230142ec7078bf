//! A peer that stops reading (issue 11, RFC 9687): the real daemon exports
//! a table to two internal neighbors; one (`coldpotato sink`) reads, the
//! other (a raw speaker in this test with a 4 KB receive buffer) completes
//! the OPEN exchange and then never reads again, while it keeps its side of
//! the session alive. Its send hold time is 5 s: the daemon must tear it
//! down with NOTIFICATION 8 (Send Hold Timer Expired), drop what it held
//! for it, and meanwhile keep every other session at its pace: the sink
//! gets the whole table, the feed and the sink never flap.
//!
//! `COLDPOTATO_SEND_HOLD_PREFIXES=1000000` runs the full size (the
//! default, 150,000 prefixes in as many attribute sets, is what fits a
//! debug build in CI).

mod common;

use coldpotato::wire::{Afi, Capability, Codec, Message, Open, Safi};
use common::*;
use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
const SEND_HOLD_S: u64 = 5;

fn prefixes() -> usize {
    std::env::var("COLDPOTATO_SEND_HOLD_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150_000)
}

/// Connects as an internal neighbor from `source` with a tiny receive
/// buffer, sends OPEN and KEEPALIVE, reads the daemon's OPEN and KEEPALIVE,
/// and from then on reads nothing.
fn stuck_peer(source: Ipv4Addr, daemon: SocketAddr) -> TcpStream {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    sock.bind(&SocketAddr::from((source, 0)).into())
        .expect("bind");
    sock.connect_timeout(&daemon.into(), Duration::from_secs(5))
        .expect("connect");
    let mut stream: TcpStream = sock.into();
    let open = Open {
        version: 4,
        my_as: OUR_AS as u16,
        hold_time: 90,
        bgp_id: source,
        capabilities: vec![
            Capability::FourOctetAs(OUR_AS),
            Capability::Multiprotocol {
                afi: Afi::IPV4,
                safi: Safi::UNICAST,
            },
        ],
    };
    let mut out = bytes::BytesMut::new();
    for m in [Message::Open(open), Message::Keepalive] {
        m.encode(&Codec::default(), &mut out).expect("encode");
    }
    stream.write_all(&out).expect("send OPEN");
    // The daemon's OPEN and first KEEPALIVE, then nothing more is read.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut framer = coldpotato::session::conn::Framer::default();
    let mut got_keepalive = false;
    let mut buf = [0u8; 1];
    while !got_keepalive {
        let n = stream.read(&mut buf).expect("the daemon's OPEN");
        assert!(n > 0, "the daemon closed before Established");
        framer.extend(&buf[..n]);
        while let Ok(Some(m)) = framer.next_message(&Codec::default()) {
            got_keepalive |= matches!(m, Message::Keepalive);
        }
    }
    stream
}

#[test]
fn a_peer_that_stops_reading_is_torn_down_by_the_send_hold_timer_and_nobody_else_waits() {
    let n = prefixes();
    let port = free_port();
    let api = free_port();
    let sink_port = free_port();
    let d = DaemonConfig::new(OUR_AS, port, api)
        .neighbor(
            &Neighbor::new("feed", "127.0.0.71", 3356, "transit")
                .accept_all()
                .passive()
                .ipv4(),
        )
        .neighbor(
            &Neighbor::new("rr-ok", "127.0.0.72", OUR_AS, "internal")
                .port(sink_port)
                .ipv4(),
        )
        .neighbor(
            &Neighbor::new("rr-stuck", "127.0.0.73", OUR_AS, "internal")
                .passive()
                .with(&format!("send_hold_time_s = {SEND_HOLD_S}"))
                .ipv4(),
        )
        .start();
    let bin = env!("CARGO_BIN_EXE_coldpotato");
    let mut sink = Command::new(bin);
    sink.args([
        "sink",
        "--listen",
        &format!("127.0.0.72:{sink_port}"),
        "--asn",
        &OUR_AS.to_string(),
    ]);
    let sink_log = d.dir.path().join("sink.log");
    let _sink = Proc::spawn("sink", sink, sink_log.clone());
    assert!(
        d.wait_state("rr-ok", "Established", Duration::from_secs(30)),
        "the reading neighbor never came up: {:?}",
        d.neighbor("rr-ok")
    );
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let stuck = stuck_peer(Ipv4Addr::new(127, 0, 0, 73), daemon);
    assert!(
        d.wait_state("rr-stuck", "Established", Duration::from_secs(10)),
        "{:?}",
        d.neighbor("rr-stuck")
    );
    let rss_before = proc_status_kb(d.proc.pid(), "VmRSS:");

    let started = Instant::now();
    let _feed = Loadgen {
        target: daemon,
        local: "127.0.0.71",
        asn: 3356,
        prefixes: n,
        sets: n,
        seed: None,
        hold_for_s: 600,
    }
    .spawn(d.dir.path().join("loadgen.log"));

    // The reading neighbor gets the whole table (every prefix the feed's
    // session accepted: the generator may draw a prefix twice) while the
    // other one stalls.
    let sink_held = || -> Option<u64> {
        let log = std::fs::read_to_string(&sink_log).unwrap_or_default();
        let l = log.lines().rev().find(|l| l.contains("held="))?;
        l.split("held=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let mut last = (0, Instant::now());
    let complete = wait_for(Duration::from_secs(300), || {
        let accepted = d.neighbor("feed")?["prefixes_accepted"].as_u64()?;
        if accepted != last.0 {
            last = (accepted, Instant::now());
        }
        let settled =
            accepted as usize * 100 >= n * 99 && last.1.elapsed() > Duration::from_secs(2);
        (settled && sink_held()? == accepted).then_some(accepted)
    });
    let sink_secs = started.elapsed().as_secs_f64();
    let accepted = complete.unwrap_or_else(|| {
        panic!(
            "the reading neighbor did not get the table: feed {:?}\n{}",
            d.neighbor("feed"),
            std::fs::read_to_string(&sink_log).unwrap_or_default()
        )
    });

    // The stuck one is torn down with Send Hold Timer Expired.
    let down = wait_for(Duration::from_secs(SEND_HOLD_S * 12 + 60), || {
        let nb = d.neighbor("rr-stuck")?;
        (nb["state"] != "Established").then_some(nb)
    });
    let down_secs = started.elapsed().as_secs_f64();
    let nb = down.unwrap_or_else(|| {
        panic!(
            "the neighbor that stopped reading is still up: {:?}\n{}",
            d.neighbor("rr-stuck"),
            d.log()
        )
    });
    let last_error = nb["last_error"].as_str().unwrap_or_default().to_string();
    assert!(
        last_error.contains("Send Hold Timer Expired"),
        "last error: {last_error}"
    );
    let sent8 = metric_sum(
        d.api,
        "coldpotato_notifications_total",
        &["neighbor=\"rr-stuck\"", "direction=\"sent\"", "code=\"8\""],
    );
    assert_eq!(sent8, 1.0, "one NOTIFICATION 8 counted");
    // What it held for the stuck neighbor is gone with the session.
    assert_eq!(
        metric_sum(
            d.api,
            "coldpotato_export_backlog_bytes",
            &["neighbor=\"rr-stuck\""]
        ),
        0.0
    );

    // Nobody else was disturbed.
    for name in ["feed", "rr-ok"] {
        let nb = d.neighbor(name).expect("neighbor");
        assert_eq!(nb["state"], "Established", "{name}: {nb:?}");
        let ups = metric_sum(
            d.api,
            "coldpotato_session_established_total",
            &[&format!("neighbor=\"{name}\"")],
        );
        assert_eq!(ups, 1.0, "{name} came up once and stayed up");
    }
    let pid = d.proc.pid();
    note(&format!(
        "send hold: {n} prefixes ({accepted} distinct); reading iBGP neighbor complete after {sink_secs:.1} s; \
         stuck neighbor down after {down_secs:.1} s (send hold time {SEND_HOLD_S} s) with \
         \"{last_error}\"; RSS {} -> {} kB, peak {} kB; sessions disturbed: 0",
        rss_before,
        proc_status_kb(pid, "VmRSS:"),
        proc_status_kb(pid, "VmHWM:"),
    ));
    drop(stuck);
}
