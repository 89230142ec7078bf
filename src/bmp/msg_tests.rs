//! BMP encoders against byte vectors written from RFC 7854 §4, RFC 8671
//! and RFC 9069.

use super::*;
use std::time::Duration;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(1_500_000)
}

fn peer() -> Peer {
    Peer {
        address: "192.0.2.1".parse().unwrap(),
        asn: 64500,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        two_octet_as: false,
    }
}

const V4_PEER: &str =
    "0000000000000000 00000000 00000000 00000000 c0000201 0000fbf4 0a000001 00000001 0007a120";

#[test]
fn per_peer_header_flags_follow_the_view() {
    for (view, flags, kind) in [
        (View::PrePolicy, "00", "00"),
        (View::PostPolicy, "40", "00"),
        (View::AdjRibOut, "10", "00"),
    ] {
        let mut out = BytesMut::new();
        per_peer_header(&mut out, view, &peer(), at());
        assert_eq!(
            out.to_vec(),
            hex(&format!("{kind} {flags} {V4_PEER}")),
            "{view:?}"
        );
    }
    // IPv6 peer on a 2-octet session, post-policy: V, L and A.
    let p6 = Peer {
        address: "2001:db8::1".parse().unwrap(),
        two_octet_as: true,
        ..peer()
    };
    let mut out = BytesMut::new();
    per_peer_header(&mut out, View::PostPolicy, &p6, at());
    assert_eq!(out.len(), 42);
    assert_eq!(&out[..2], &[0x00, 0xE0]);
    assert_eq!(&out[10..26], &hex("20010db8000000000000000000000001")[..]);
    // Loc-RIB (RFC 9069 §4.1): peer type 3, F flag, no peer address.
    let mut out = BytesMut::new();
    per_peer_header(&mut out, View::LocRib, &peer(), at());
    assert_eq!(
        out.to_vec(),
        hex("03 80 0000000000000000 00000000000000000000000000000000 0000fbf4 0a000001 00000001 0007a120")
    );
}

#[test]
fn initiation_and_termination_carry_their_tlvs() {
    let mut out = BytesMut::new();
    initiation(&mut out, "n", "d");
    assert_eq!(
        out.to_vec(),
        hex("03 00000010 04 0001 0001 64 0002 0001 6e")
    );
    let mut out = BytesMut::new();
    termination(&mut out, "bye");
    assert_eq!(
        out.to_vec(),
        hex("03 00000013 05 0000 0003 627965 0001 0002 0000")
    );
    assert_eq!(message_len(&out), Some(out.len()));
}

#[test]
fn route_monitoring_wraps_the_update_and_adds_the_rejection_tlv() {
    let update = hex("ffffffffffffffffffffffffffffffff 0017 02 0000 0000");
    let mut out = BytesMut::new();
    route_monitoring(&mut out, View::PrePolicy, &peer(), at(), &update, None);
    let mut want = hex(&format!("03 00000047 00 00 00 {V4_PEER}"));
    want.extend_from_slice(&update);
    assert_eq!(out.to_vec(), want);

    let mut out = BytesMut::new();
    route_monitoring(
        &mut out,
        View::PrePolicy,
        &peer(),
        at(),
        &update,
        Some(("as-zero", "AS 0")),
    );
    let tail = hex("fffb 000c 61732d7a65726f 00 41532030");
    assert_eq!(&out[out.len() - tail.len()..], &tail[..]);
    assert_eq!(message_len(&out), Some(out.len()));
}

#[test]
fn peer_up_holds_both_opens_and_loc_rib_names_its_table() {
    let open = hex("ffffffffffffffffffffffffffffffff 001d 01 04 fbf4 005a 0a000001 00");
    let local: SocketAddr = "192.0.2.254:179".parse().unwrap();
    let mut out = BytesMut::new();
    peer_up(
        &mut out,
        View::PrePolicy,
        &peer(),
        at(),
        Some(local),
        40000,
        &open,
        &open,
        None,
    );
    let mut want = hex(&format!(
        "03 {:08x} 03 00 00 {V4_PEER} 000000000000000000000000 c00002fe 00b3 9c40",
        6 + 42 + 20 + 2 * open.len()
    ));
    want.extend_from_slice(&open);
    want.extend_from_slice(&open);
    assert_eq!(out.to_vec(), want);

    let mut out = BytesMut::new();
    peer_up(
        &mut out,
        View::LocRib,
        &peer(),
        at(),
        None,
        0,
        &open,
        &open,
        Some("global"),
    );
    let tail = hex("0003 0006 676c6f62616c");
    assert_eq!(&out[out.len() - tail.len()..], &tail[..]);
    assert_eq!(&out[6 + 42..6 + 42 + 20], &[0u8; 20][..]);
}

#[test]
fn peer_down_reasons_and_statistics_are_encoded() {
    let n = hex("ffffffffffffffffffffffffffffffff 0017 03 06 02");
    let mut out = BytesMut::new();
    peer_down(
        &mut out,
        View::PrePolicy,
        &peer(),
        at(),
        &DownReason::LocalNotification(n.clone()),
    );
    assert_eq!(out[5], MsgType::PeerDown as u8);
    assert_eq!(out[6 + 42], 1);
    assert_eq!(&out[6 + 43..], &n[..]);
    let mut out = BytesMut::new();
    peer_down(
        &mut out,
        View::PrePolicy,
        &peer(),
        at(),
        &DownReason::LocalNoNotification(2),
    );
    assert_eq!(&out[6 + 42..], &[2, 0, 2]);

    let mut out = BytesMut::new();
    statistics(
        &mut out,
        View::PrePolicy,
        &peer(),
        at(),
        &[
            Stat::RejectedByPolicy(3),
            Stat::AdjRibIn(10),
            Stat::AdjRibInFamily(1, 1, 10),
        ],
    );
    assert_eq!(
        &out[6 + 42..],
        &hex("00000003 0000 0004 00000003 0007 0008 000000000000000a 0009 000b 0001 01 000000000000000a")[..]
    );
    assert_eq!(message_len(&out), Some(out.len()));
}

#[test]
fn a_per_rule_rejection_counter_is_an_experimental_stat_with_count_then_rule() {
    let mut out = BytesMut::new();
    statistics(
        &mut out,
        View::PrePolicy,
        &peer(),
        at(),
        &[Stat::RejectedByRule(100, "bogon".into())],
    );
    // One stat: type 65531, length 8 + 5, the count, then "bogon".
    assert_eq!(
        &out[6 + 42..],
        &hex("00000001 fffb 000d 0000000000000064 626f676f6e")[..]
    );
    assert_eq!(message_len(&out), Some(out.len()));
}
