//! RFC 7607 end to end: the real daemon, a crafted eBGP peer on an
//! `accept-all` neighbor (a raw speaker writing UPDATE bytes our own encoder
//! refuses to build) and an internal neighbor that records what we export.
//! AS 0 in AS_PATH makes the route treated as withdrawn, whatever the policy,
//! with the session kept up and the neighbor's other routes untouched; AS 0
//! in AGGREGATOR drops only that attribute. The internal neighbor never
//! receives AS 0, and `show routes` explains the rejection.

mod common;

use coldpotato::wire::Prefix;
use common::speaker::Speaker;
use common::*;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

const OUR_AS: u32 = 8075;
const PEER_AS: u32 = 3356;
const PEER_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 31);
const IBGP_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 32);

const ORIGIN: &str = "40 01 01 00";
const NEXT_HOP: &str = "40 03 04 7f00001f";
/// AS_PATH 3356 64496.
const PATH_GOOD: &str = "40 02 0a 02 02 00000d1c 0000fbf0";
/// AS_PATH 3356 0 64496.
const PATH_ZERO_MID: &str = "40 02 0e 02 03 00000d1c 00000000 0000fbf0";
/// AS_PATH 3356 0.
const PATH_ZERO_ORIGIN: &str = "40 02 0a 02 02 00000d1c 00000000";
/// AGGREGATOR AS 0, 127.0.0.31.
const AGGREGATOR_ZERO: &str = "c0 07 08 00000000 7f00001f";

const A: &str = "192.0.2.0/24";
const B: &str = "203.0.113.0/24";
const C: &str = "198.51.100.0/24";
const D: &str = "100.64.1.0/24";
const E: &str = "192.0.2.128/25";

fn config(port: u16, api: u16) -> DaemonConfig {
    DaemonConfig::new(OUR_AS, port, api)
        .section("[rules]\nreject_bogons = false\nreject_reserved_asn = false")
        .neighbor(
            &Neighbor::new("crafted", &PEER_ADDR.to_string(), PEER_AS, "transit")
                .accept_all()
                .passive()
                .ipv4(),
        )
        .neighbor(
            &Neighbor::new("ibgp", &IBGP_ADDR.to_string(), OUR_AS, "internal")
                .passive()
                .ipv4(),
        )
}

fn pfx(s: &str) -> Prefix {
    s.parse().expect("prefix")
}

#[test]
fn as_zero_in_the_path_is_withdrawn_on_an_accept_all_neighbor_and_never_exported() {
    let (port, api) = (free_port(), free_port());
    let d = config(port, api).start();
    let daemon = SocketAddr::from(([127, 0, 0, 1], port));

    let ibgp = Speaker::connect(IBGP_ADDR, daemon, OUR_AS).expect("ibgp connects");
    let mut peer = Speaker::connect(PEER_ADDR, daemon, PEER_AS).expect("peer connects");
    for n in ["ibgp", "crafted"] {
        assert!(
            d.wait_state(n, "Established", Duration::from_secs(20)),
            "{n} not Established\n{}",
            d.log()
        );
    }

    let good = format!("{ORIGIN} {PATH_GOOD} {NEXT_HOP}");
    peer.send_raw_update(&good, &[A, B]).expect("send");
    let got = |p: &str| {
        let p = pfx(p);
        move |s: &Speaker| s.announced().iter().any(|(q, _)| *q == p)
    };
    assert!(
        wait_for(Duration::from_secs(10), || got(A)(&ibgp).then_some(())).is_some()
            && got(B)(&ibgp),
        "the internal neighbor did not get A and B: {:?}\n{}",
        ibgp.messages(),
        d.log()
    );

    // B again, now with AS 0 in the middle of its path; C with AS 0 as its
    // origin; D with AS 0 only in AGGREGATOR; E, a normal route, last.
    peer.send_raw_update(&format!("{ORIGIN} {PATH_ZERO_MID} {NEXT_HOP}"), &[B])
        .expect("send");
    peer.send_raw_update(&format!("{ORIGIN} {PATH_ZERO_ORIGIN} {NEXT_HOP}"), &[C])
        .expect("send");
    peer.send_raw_update(&format!("{good} {AGGREGATOR_ZERO}"), &[D])
        .expect("send");
    peer.send_raw_update(&good, &[E]).expect("send");
    let done = wait_for(Duration::from_secs(10), || {
        (got(E)(&ibgp) && got(D)(&ibgp) && ibgp.withdrawn().contains(&pfx(B))).then_some(())
    });
    assert!(
        done.is_some(),
        "the internal neighbor did not get D, E and B's withdrawal: {:?}\n{}",
        ibgp.messages(),
        d.log()
    );

    // What the internal neighbor holds: A, D, E; never C, never AS 0.
    let announced = ibgp.announced();
    assert!(
        !announced.iter().any(|(p, _)| *p == pfx(C)),
        "C (AS 0) reached the internal neighbor: {announced:?}"
    );
    for (p, u) in &announced {
        let path = u.attrs.as_path.as_ref().expect("AS_PATH");
        assert!(!path.has_as_zero(), "{p} was exported with AS 0: {path}");
        assert!(
            !u.attrs.carries_as_zero(),
            "{p} was exported with AGGREGATOR AS 0"
        );
    }
    let d_update = &announced.iter().find(|(p, _)| *p == pfx(D)).expect("D").1;
    assert_eq!(
        d_update.attrs.aggregator, None,
        "AGGREGATOR with AS 0 is discarded (RFC 7607), the route kept"
    );
    assert!(!ibgp.withdrawn().contains(&pfx(A)), "A must stay");

    // The session stayed up and no NOTIFICATION was sent.
    assert!(!peer.notified(), "{:?}", peer.messages());
    assert_eq!(
        d.neighbor("crafted").expect("crafted")["state"],
        "Established"
    );

    // `show routes` explains B and C; A is still accepted from the same peer.
    for p in [B, C] {
        let r = d.routes_for(p);
        assert_eq!(r.len(), 1, "{p}: {r:?}");
        assert_eq!(r[0]["status"], "rejected", "{p}: {r:?}");
        assert_eq!(r[0]["rule"], "as-zero", "{p}: {r:?}");
        let reason = r[0]["reason"].as_str().unwrap_or("");
        assert!(
            reason.contains("RFC 7607") && reason.contains("AS_PATH"),
            "{p}: {reason}"
        );
        assert!(
            r[0]["as_path"].to_string().contains('0'),
            "the kept path shows what was sent: {r:?}"
        );
    }
    let a = d.routes_for(A);
    assert_eq!(a[0]["status"], "accepted", "{a:?}");
    let dd = d.routes_for(D);
    assert_eq!(dd[0]["status"], "accepted", "{dd:?}");

    // Counted and logged like every RFC 7606 case, naming the neighbor.
    let (_, metrics) = http_get(d.api, "/metrics").expect("metrics");
    let series = |action: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("coldpotato_update_attribute_errors_total{")
                    && l.contains(&format!("action=\"{action}\""))
                    && l.contains("cause=\"as-zero\"")
                    && l.contains("neighbor=\"crafted\"")
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    assert_eq!(series("treat-as-withdraw"), Some(2), "{metrics}");
    assert_eq!(series("discard"), Some(1), "{metrics}");
    let log = d.log();
    assert!(
        log.lines()
            .any(|l| l.contains("RFC 7607") && l.contains("crafted")),
        "no RFC 7607 log line naming the neighbor:\n{log}"
    );
}
