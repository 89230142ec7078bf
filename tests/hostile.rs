//! Hostile peers (issue 11), against the real daemon on loopback, while one
//! configured session (a raw speaker, `good`) must stay Established and
//! never be disturbed:
//! - a TCP connect flood to the BGP port from unconfigured addresses;
//! - slowloris: connections that open and send nothing, from unconfigured
//!   addresses and from a configured neighbor's;
//! - OPENs that must be refused with the RFC's NOTIFICATION (wrong AS,
//!   hold time 1, an unknown optional parameter) and one that must not (an
//!   unknown capability is ignored, RFC 5492 §3);
//! - huge UPDATEs: an AS path of 1,000 ASNs and a 4,096-byte UPDATE full
//!   of communities, re-exported intact to an internal neighbor; many
//!   distinct attribute sets (one prefix each).
//!
//! Each case notes its figures (rates, peak RSS, file descriptors, sessions
//! disturbed). `COLDPOTATO_HOSTILE_FULL=1` runs the issue's sizes (30 s of
//! 1,000 connects a second, 1M attribute sets); the defaults fit CI.

mod common;

use coldpotato::session::conn::Framer;
use coldpotato::wire::{Codec, Message};
use common::speaker::Speaker;
use common::*;
use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const OUR_AS: u32 = 8075;
const PEER_AS: u32 = 3356;

fn full() -> bool {
    std::env::var("COLDPOTATO_HOSTILE_FULL").is_ok_and(|v| v == "1")
}

fn config(port: u16, api: u16) -> String {
    let mut c = format!(
        r#"
[router]
asn = {OUR_AS}
router_id = "127.0.0.1"
listen = ["127.0.0.1:{port}"]
location = "ams"

[api]
listen = "127.0.0.1:{api}"

[rules]
reject_bogons = false

[[locations]]
name = "ams"
"#
    );
    for (name, addr, role, asn) in [
        ("good", "127.0.0.51", "transit", PEER_AS),
        ("bad-as", "127.0.0.52", "transit", PEER_AS),
        ("bad-hold", "127.0.0.53", "transit", PEER_AS),
        ("bad-param", "127.0.0.54", "transit", PEER_AS),
        ("unknown-cap", "127.0.0.55", "transit", PEER_AS),
        ("idle-peer", "127.0.0.56", "transit", PEER_AS),
        ("big", "127.0.0.57", "transit", PEER_AS),
        ("ibgp", "127.0.0.58", "internal", OUR_AS),
    ] {
        c.push_str(&format!(
            r#"
[[neighbors]]
name = "{name}"
address = "{addr}"
remote_as = {asn}
location = "ams"
role = "{role}"
import_policy = "accept-all"
passive = true
families = ["ipv4"]
"#
        ));
    }
    c
}

/// The configured `good` session is up, came up once and got no NOTIFICATION.
fn undisturbed(d: &Daemon, good: &Speaker) {
    let n = d.neighbor("good").expect("good");
    assert_eq!(n["state"], "Established", "{n:?}");
    let ups = metric_sum(
        d.api,
        "coldpotato_session_established_total",
        &["neighbor=\"good\""],
    );
    assert_eq!(ups, 1.0, "the good session came up once and stayed up");
    assert!(!good.notified(), "{:?}", good.messages());
}

fn connect_from(source: Ipv4Addr, daemon: SocketAddr) -> std::io::Result<TcpStream> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from((source, 0)).into())?;
    s.connect_timeout(&daemon.into(), Duration::from_secs(2))?;
    Ok(s.into())
}

/// An OPEN as bytes: `params` are the optional parameters, raw.
fn open_bytes(my_as: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut body = vec![4];
    body.extend_from_slice(&my_as.to_be_bytes());
    body.extend_from_slice(&hold.to_be_bytes());
    body.extend_from_slice(&id);
    body.push(params.len() as u8);
    body.extend_from_slice(params);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(1);
    m.extend_from_slice(&body);
    m
}

/// Capabilities parameter: multiprotocol IPv4 unicast, 4-octet AS `asn`,
/// then `extra` capability TLVs.
fn caps(asn: u32, extra: &[u8]) -> Vec<u8> {
    let mut c = vec![1, 4, 0, 1, 0, 1, 65, 4];
    c.extend_from_slice(&asn.to_be_bytes());
    c.extend_from_slice(extra);
    let mut p = vec![2, c.len() as u8];
    p.extend_from_slice(&c);
    p
}

/// Sends `open` (and a KEEPALIVE) from `source`; the daemon's answer: the
/// NOTIFICATION's (code, subcode), or `None` when it answered OPEN and
/// KEEPALIVE (the session comes up).
fn try_open(source: Ipv4Addr, daemon: SocketAddr, open: &[u8]) -> Option<(u8, u8)> {
    let mut s = connect_from(source, daemon).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut out = open.to_vec();
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&[0, 19, 4]);
    s.write_all(&out).expect("send OPEN");
    let mut framer = Framer::default();
    let mut buf = [0u8; 4096];
    let (mut opened, mut keepalive) = (false, false);
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        assert!(n > 0, "the daemon closed without a NOTIFICATION");
        framer.extend(&buf[..n]);
        while let Ok(Some(m)) = framer.next_message(&Codec::default()) {
            match m {
                Message::Notification(n) => return Some((n.code, n.subcode)),
                Message::Open(_) => opened = true,
                Message::Keepalive => keepalive = true,
                _ => {}
            }
        }
        if opened && keepalive {
            return None;
        }
    }
}

#[test]
fn floods_slowloris_and_bad_opens_leave_the_other_sessions_alone() {
    let (port, api) = (free_port(), free_port());
    let d = Daemon::start(&config(port, api), SocketAddr::from(([127, 0, 0, 1], api)));
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let pid = d.proc.pid();
    let good = Speaker::connect(Ipv4Addr::new(127, 0, 0, 51), daemon, PEER_AS).expect("good");
    assert!(d.wait_state("good", "Established", Duration::from_secs(20)));
    let fds_before = open_fds(pid);

    // 1. Connect flood from unconfigured addresses.
    let secs = if full() { 30 } else { 5 };
    let rate = 1000u32;
    let start = Instant::now();
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut i = 0u32;
    while start.elapsed() < Duration::from_secs(secs) {
        let due = start + Duration::from_secs_f64(f64::from(i) / f64::from(rate));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let src = Ipv4Addr::new(127, 0, 1, (i % 250 + 1) as u8);
        match connect_from(src, daemon) {
            Ok(s) => {
                ok += 1;
                drop(s);
            }
            Err(_) => failed += 1,
        }
        i += 1;
    }
    let achieved = (ok + failed) as f64 / start.elapsed().as_secs_f64();
    undisturbed(&d, &good);
    note(&format!(
        "hostile connect flood: {ok} connects ({failed} failed) in {secs} s = {achieved:.0}/s \
         from 250 unconfigured addresses; good session undisturbed; fds {fds_before} -> {}, \
         peak RSS {} kB",
        open_fds(pid),
        proc_status_kb(pid, "VmHWM:")
    ));

    // 2. Slowloris: 200 silent connections from unconfigured addresses and
    // 20 from a configured neighbor's address.
    let mut idle = Vec::new();
    for i in 0..200u32 {
        let src = Ipv4Addr::new(127, 0, 1, (i % 250 + 1) as u8);
        if let Ok(s) = connect_from(src, daemon) {
            idle.push(s);
        }
    }
    for _ in 0..20 {
        if let Ok(s) = connect_from(Ipv4Addr::new(127, 0, 0, 56), daemon) {
            idle.push(s);
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let fds_during = open_fds(pid);
    // Meanwhile a real neighbor still gets in.
    let late = try_open(
        Ipv4Addr::new(127, 0, 0, 55),
        daemon,
        &open_bytes(23456, 90, [127, 0, 0, 55], &caps(PEER_AS, &[250, 0])),
    );
    assert_eq!(
        late, None,
        "an unknown capability is ignored (RFC 5492) and the session opens"
    );
    drop(idle);
    let settled = wait_for(Duration::from_secs(10), || {
        (open_fds(pid) <= fds_before + 4).then_some(())
    });
    undisturbed(&d, &good);
    note(&format!(
        "hostile slowloris: 220 silent connections: daemon fds {fds_before} -> {fds_during} \
         while open -> {} after ({}); good session undisturbed; peak RSS {} kB",
        open_fds(pid),
        if settled.is_some() {
            "released"
        } else {
            "NOT released"
        },
        proc_status_kb(pid, "VmHWM:")
    ));
    assert!(settled.is_some(), "file descriptors not released");

    // 3. Bad OPENs get their NOTIFICATION.
    let c = caps(PEER_AS, &[]);
    for (name, src, open, want) in [
        (
            "wrong AS",
            [127, 0, 0, 52],
            open_bytes(174, 90, [127, 0, 0, 52], &caps(174, &[])),
            (2, 2),
        ),
        (
            "hold time 1",
            [127, 0, 0, 53],
            open_bytes(23456, 1, [127, 0, 0, 53], &c),
            (2, 6),
        ),
        (
            "unknown optional parameter",
            [127, 0, 0, 54],
            open_bytes(23456, 90, [127, 0, 0, 54], &[99, 2, 0, 0]),
            (2, 4),
        ),
    ] {
        let got = try_open(Ipv4Addr::from(src), daemon, &open);
        assert_eq!(got, Some(want), "{name}");
        note(&format!(
            "hostile OPEN ({name}): NOTIFICATION {}/{}",
            want.0, want.1
        ));
    }
    undisturbed(&d, &good);
}

/// A path of `n` ASNs (4-octet AS_PATH attribute, split in 255-ASN segments).
fn as_path_hex(first: u32, n: usize) -> String {
    let asns: Vec<u32> = (0..n)
        .map(|i| if i == 0 { first } else { 10_000 + i as u32 })
        .collect();
    let mut v = Vec::new();
    for seg in asns.chunks(255) {
        v.push(2u8);
        v.push(seg.len() as u8);
        for a in seg {
            v.extend_from_slice(&a.to_be_bytes());
        }
    }
    let mut attr = vec![0x50, 2];
    attr.extend_from_slice(&(v.len() as u16).to_be_bytes());
    attr.extend_from_slice(&v);
    hex(&attr)
}

/// COMMUNITIES with `n` values (extended length).
fn communities_hex(n: usize) -> String {
    let mut v = Vec::new();
    for i in 0..n {
        v.extend_from_slice(&(3356u16).to_be_bytes());
        v.extend_from_slice(&(i as u16).to_be_bytes());
    }
    let mut attr = vec![0xd0, 8];
    attr.extend_from_slice(&(v.len() as u16).to_be_bytes());
    attr.extend_from_slice(&v);
    hex(&attr)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn huge_paths_and_updates_are_taken_and_passed_on_correctly() {
    let (port, api) = (free_port(), free_port());
    let d = Daemon::start(&config(port, api), SocketAddr::from(([127, 0, 0, 1], api)));
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));
    let pid = d.proc.pid();
    let good = Speaker::connect(Ipv4Addr::new(127, 0, 0, 51), daemon, PEER_AS).expect("good");
    let ibgp = Speaker::connect(Ipv4Addr::new(127, 0, 0, 58), daemon, OUR_AS).expect("ibgp");
    let mut big = Speaker::connect(Ipv4Addr::new(127, 0, 0, 57), daemon, PEER_AS).expect("big");
    for n in ["good", "ibgp", "big"] {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(20)),
            "{n}"
        );
    }
    let origin = "40010100";
    let nh = "4003047f000039";
    // An AS path of 1,000 ASNs.
    big.send_raw_update(
        &format!("{origin}{}{nh}", as_path_hex(PEER_AS, 1000)),
        &["45.0.0.0/24"],
    )
    .expect("send");
    // An UPDATE of about 4,096 bytes: 1,000 communities.
    big.send_raw_update(
        &format!(
            "{origin}{}{nh}{}",
            as_path_hex(PEER_AS, 2),
            communities_hex(1000)
        ),
        &["45.0.1.0/24"],
    )
    .expect("send");
    let both = wait_for(Duration::from_secs(15), || {
        let a = ibgp.announced();
        let path = a.iter().find(|(p, _)| p.to_string() == "45.0.0.0/24")?;
        let comms = a.iter().find(|(p, _)| p.to_string() == "45.0.1.0/24")?;
        Some((path.1.clone(), comms.1.clone()))
    });
    let (path_u, comm_u) = both.unwrap_or_else(|| panic!("not exported: {:?}", ibgp.messages()));
    assert_eq!(
        path_u.attrs.as_path.as_ref().map(|p| p.path_len()),
        Some(1000),
        "the 1,000-ASN path passes unchanged toward iBGP"
    );
    assert_eq!(comm_u.attrs.communities.len(), 1000);

    // Many distinct attribute sets, one prefix each (MED varies).
    let sets = if full() { 1_000_000 } else { 20_000 };
    let started = Instant::now();
    for i in 0..sets {
        let med = format!("800404{:08x}", i as u32);
        let prefix = format!("46.{}.{}.0/24", (i >> 8) & 0xff, i & 0xff);
        let prefix = if i < 65_536 {
            prefix
        } else {
            format!(
                "47.{}.{}.{}/32",
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff
            )
        };
        big.send_raw_update(
            &format!("{origin}{}{nh}{med}", as_path_hex(PEER_AS, 2)),
            &[prefix.as_str()],
        )
        .expect("send");
    }
    let loaded = wait_for(Duration::from_secs(300), || {
        let n = d.neighbor("big")?;
        (n["prefixes_accepted"].as_u64()? >= 2 + sets as u64).then_some(())
    });
    assert!(loaded.is_some(), "{:?}", d.neighbor("big"));
    let sets_secs = started.elapsed().as_secs_f64();
    undisturbed(&d, &good);
    note(&format!(
        "hostile UPDATEs: a 1,000-ASN path and a 1,000-community UPDATE re-exported intact; \
         {sets} distinct attribute sets taken in {sets_secs:.1} s; peak RSS {} kB; good \
         session undisturbed",
        proc_status_kb(pid, "VmHWM:")
    ));
}
