//! Tests of OPEN building and negotiation: hold time, identifiers, ASNs,
//! families, optional capabilities, ADD-PATH and BGP roles (RFC 9234).

use super::*;

fn cfg() -> FsmConfig {
    FsmConfig::new(65000, Ipv4Addr::new(10, 0, 0, 1), 64500)
}

fn peer_open(caps: Vec<Capability>) -> Open {
    Open {
        version: 4,
        my_as: 64500,
        hold_time: 30,
        bgp_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities: caps,
    }
}

/// RFC 9234 §4.2 Table 2, plus strict mode and the malformed cases:
/// (our role, strict, the peer's Role capabilities) → accepted?
#[test]
fn role_capability_pairs_follow_rfc9234_table_2() {
    use BgpRole::*;
    let role = |r: BgpRole| Capability::Role(r);
    let unknown = Capability::Unknown {
        code: CapabilityCode::Role as u8,
        data: bytes::Bytes::from_static(&[7]),
    };
    let rows: Vec<(Option<BgpRole>, bool, Vec<Capability>, bool)> = vec![
        (Some(Peer), false, vec![role(Peer)], true),
        (Some(Customer), false, vec![role(Provider)], true),
        (Some(Provider), false, vec![role(Customer)], true),
        (
            Some(RouteServer),
            false,
            vec![role(RouteServerClient)],
            true,
        ),
        (
            Some(RouteServerClient),
            false,
            vec![role(RouteServer)],
            true,
        ),
        (Some(Peer), false, vec![role(Customer)], false),
        (Some(Customer), false, vec![role(Customer)], false),
        (Some(Provider), false, vec![role(Peer)], false),
        (Some(Peer), false, vec![], true),
        (Some(Peer), true, vec![], false),
        (Some(Peer), false, vec![role(Peer), role(Peer)], true),
        (Some(Peer), false, vec![role(Peer), role(Provider)], false),
        (Some(Peer), false, vec![unknown.clone()], false),
        // No role of ours: nothing to check, but two different roles
        // are still malformed.
        (None, false, vec![role(Provider)], true),
        (None, false, vec![unknown], true),
        (None, false, vec![role(Peer), role(Customer)], false),
    ];
    for (local, strict, caps, ok) in rows {
        let mut c = cfg();
        c.local_role = local;
        c.strict_role = strict;
        let got = negotiate(&c, &peer_open(caps.clone())).map_err(|n| (n.code, n.subcode));
        match (ok, got) {
            (true, Ok(n)) => assert_eq!(
                n.remote_role,
                caps.iter().find_map(|c| match c {
                    Capability::Role(r) => Some(*r),
                    _ => None,
                }),
                "{local:?} {caps:?}"
            ),
            (false, Err(e)) => assert_eq!(e, (2, 11), "{local:?} {caps:?}"),
            (ok, got) => {
                panic!("{local:?} strict={strict} {caps:?}: want ok={ok}, got {got:?}")
            }
        }
    }
}

#[test]
fn our_open_carries_our_role() {
    let mut c = cfg();
    assert!(!build_open(&c)
        .capabilities
        .iter()
        .any(|x| matches!(x, Capability::Role(_))));
    c.local_role = Some(BgpRole::Customer);
    assert!(build_open(&c)
        .capabilities
        .contains(&Capability::Role(BgpRole::Customer)));
}

#[test]
fn holdtime_negotiation_uses_minimum() {
    let n = negotiate(&cfg(), &peer_open(vec![])).map_err(|e| e.code);
    assert_eq!(n.map(|n| n.hold_time), Ok(30));
    let mut o = peer_open(vec![]);
    o.hold_time = 180;
    assert_eq!(negotiate(&cfg(), &o).map(|n| n.hold_time), Ok(90));
}

#[test]
fn hold_time_zero_disables_keepalives() {
    let mut o = peer_open(vec![]);
    o.hold_time = 0;
    let n = negotiate(&cfg(), &o);
    assert_eq!(n.as_ref().map(|n| n.hold_time), Ok(0));
    assert_eq!(n.map(|n| n.keepalive()), Ok(None));
}

#[test]
fn keepalive_is_a_third_of_the_hold_time() {
    let n = negotiate(&cfg(), &peer_open(vec![]));
    assert_eq!(n.map(|n| n.keepalive()), Ok(Some(Duration::from_secs(10))));
}

#[test]
fn hold_time_of_one_or_two_seconds_is_unacceptable() {
    for h in [1, 2] {
        let mut o = peer_open(vec![]);
        o.hold_time = h;
        assert_eq!(
            negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
            Err((2, 6))
        );
    }
}

#[test]
fn wrong_version_is_refused_with_our_version_in_the_data() {
    let mut o = peer_open(vec![]);
    o.version = 3;
    assert_eq!(negotiate(&cfg(), &o), Err(codes::unsupported_version()));
}

#[test]
fn wrong_peer_as_is_bad_peer_as() {
    let mut o = peer_open(vec![]);
    o.my_as = 64501;
    assert_eq!(
        negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
        Err((2, 2))
    );
}

#[test]
fn as_zero_in_my_autonomous_system_is_bad_peer_as_even_with_a_matching_capability() {
    let mut o = peer_open(vec![Capability::FourOctetAs(64500)]);
    o.my_as = 0;
    assert_eq!(
        negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
        Err((2, 2))
    );
    let o = peer_open(vec![Capability::FourOctetAs(0)]);
    assert_eq!(
        negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
        Err((2, 2))
    );
}

#[test]
fn four_octet_as_capability_decides_the_peer_as() {
    let mut c = cfg();
    c.remote_as = 4_200_000_001;
    let mut o = peer_open(vec![Capability::FourOctetAs(4_200_000_001)]);
    o.my_as = AS_TRANS;
    let n = negotiate(&c, &o);
    assert_eq!(n.as_ref().map(|n| n.remote_as), Ok(4_200_000_001));
    assert_eq!(n.map(|n| n.codec.four_octet_as), Ok(true));
    // Without the capability the peer is AS 23456, not the configured one.
    o.capabilities.clear();
    assert_eq!(
        negotiate(&c, &o).map_err(|n| (n.code, n.subcode)),
        Err((2, 2))
    );
}

#[test]
fn zero_bgp_identifier_is_bad() {
    let mut o = peer_open(vec![]);
    o.bgp_id = Ipv4Addr::UNSPECIFIED;
    assert_eq!(
        negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
        Err((2, 3))
    );
}

#[test]
fn same_bgp_identifier_is_only_an_error_for_ibgp() {
    let mut o = peer_open(vec![]);
    o.bgp_id = cfg().router_id;
    assert!(negotiate(&cfg(), &o).is_ok(), "eBGP allows it (RFC 6286)");
    let mut ibgp = cfg();
    ibgp.remote_as = 65000;
    o.my_as = 65000;
    assert_eq!(
        negotiate(&ibgp, &o).map_err(|n| (n.code, n.subcode)),
        Err((2, 3))
    );
}

#[test]
fn no_multiprotocol_capability_implies_ipv4_unicast() {
    let n = negotiate(&cfg(), &peer_open(vec![]));
    assert_eq!(n.map(|n| n.families), Ok(vec![(Afi::IPV4, Safi::UNICAST)]));
}

#[test]
fn families_are_the_intersection() {
    let o = peer_open(vec![Capability::Multiprotocol {
        afi: Afi::IPV6,
        safi: Safi::UNICAST,
    }]);
    let n = negotiate(&cfg(), &o);
    assert_eq!(n.map(|n| n.families), Ok(vec![(Afi::IPV6, Safi::UNICAST)]));
}

#[test]
fn optional_capabilities_are_on_only_when_both_sides_send_them() {
    let o = peer_open(vec![
        Capability::RouteRefresh,
        Capability::ExtendedMessage,
        Capability::GracefulRestart(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 90,
            families: vec![],
        }),
    ]);
    let n = negotiate(&cfg(), &o);
    let n = n.as_ref().map_err(|e| e.code);
    assert_eq!(n.map(|n| n.route_refresh), Ok(true));
    assert_eq!(n.map(|n| n.enhanced_route_refresh), Ok(false));
    assert_eq!(n.map(|n| n.codec.extended_message), Ok(true));
    assert_eq!(n.map(|n| n.codec.four_octet_as), Ok(false));
    assert_eq!(
        n.map(|n| n.graceful_restart.as_ref().map(|g| g.restart_time)),
        Ok(Some(90))
    );
    let mut no_gr = cfg();
    no_gr.graceful_restart = None;
    assert_eq!(negotiate(&no_gr, &o).map(|n| n.graceful_restart), Ok(None));
}

#[test]
fn add_path_receive_needs_our_offer_and_the_peers_send() {
    let o = peer_open(vec![
        Capability::Multiprotocol {
            afi: Afi::IPV4,
            safi: Safi::UNICAST,
        },
        Capability::AddPath(vec![(Afi::IPV4, Safi::UNICAST, AddPathMode::Send)]),
    ]);
    assert_eq!(
        negotiate(&cfg(), &o).map(|n| n.codec.add_path_ipv4),
        Ok(false)
    );
    let mut c = cfg();
    c.add_path_receive = true;
    let n = negotiate(&c, &o).map(|n| n.codec);
    assert_eq!(
        n.map(|c| (c.add_path_ipv4, c.add_path_ipv6)),
        Ok((true, false))
    );
    let o2 = peer_open(vec![Capability::AddPath(vec![(
        Afi::IPV4,
        Safi::UNICAST,
        AddPathMode::Receive,
    )])]);
    assert_eq!(negotiate(&c, &o2).map(|n| n.codec.add_path_ipv4), Ok(false));
}

#[test]
fn our_open_uses_as_trans_for_a_four_octet_asn() {
    let mut c = cfg();
    c.local_as = 4_200_000_000;
    let o = build_open(&c);
    assert_eq!(o.my_as, AS_TRANS);
    assert_eq!(o.asn(), 4_200_000_000);
    assert!(o.capabilities.contains(&Capability::Multiprotocol {
        afi: Afi::IPV6,
        safi: Safi::UNICAST
    }));
}
