//! Every malformation with its exact outcome: the NOTIFICATION (code,
//! subcode, data) RFC 4271 §6 prescribes as revised by RFC 7606, or the
//! RFC 7606 action recorded in `Update::attr_error`; plus framing limits.

use coldpotato::wire::*;

/// Hex with optional spaces/underscores.
fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A whole message: marker, length, type, body.
fn msg(kind: u8, body: &str) -> Vec<u8> {
    let body = hex(body);
    let mut m = vec![0xFF; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(&body);
    m
}

/// An UPDATE with no withdrawals, the given attributes and NLRI.
fn update(attrs: &str, nlri: &str) -> Vec<u8> {
    let a = hex(attrs);
    msg(2, &format!("0000 {:04x} {} {}", a.len(), attrs, nlri))
}

fn four() -> Codec {
    Codec::default()
}

fn two() -> Codec {
    Codec {
        four_octet_as: false,
        ..Codec::default()
    }
}

const BASE_ATTRS: &str = "40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 c0000201";

/// A message and the NOTIFICATION (code, subcode, data) it must produce.
fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Expected NOTIFICATION: code, subcode, data.
type Expected = (u8, u8, Vec<u8>);

fn check_notifications(cases: Vec<(&str, Vec<u8>, Codec, Expected)>) {
    for (name, bytes, codec, (code, subcode, data)) in cases {
        let err = Message::decode(&bytes, &codec).expect_err(name);
        let n = err
            .notification()
            .unwrap_or_else(|| panic!("{name}: no notification for {err:?}"));
        assert_eq!(
            (n.code, n.subcode, hex_of(&n.data)),
            (code, subcode, hex_of(&data)),
            "{name}"
        );
    }
}

#[test]
fn malformed_headers_and_messages_map_to_their_notification() {
    let mut bad_marker = msg(4, "");
    bad_marker[3] = 0;
    let mut short = msg(4, "");
    short[17] = 18;
    let long = msg(2, &"00".repeat(4096 - 19 + 1));
    let mut borr_long = msg(5, "0001 01 01 00");
    let borr_copy = borr_long.clone();
    borr_long.truncate(24);
    check_notifications(vec![
        ("bad marker", bad_marker, four(), (1, 1, vec![])),
        ("length below header", short, four(), (1, 2, vec![0, 18])),
        ("length above 4096", long, four(), (1, 2, hex("1001"))),
        (
            "keepalive with a body",
            msg(4, "00"),
            four(),
            (1, 2, hex("0014")),
        ),
        (
            "update shorter than 23",
            msg(2, "00"),
            four(),
            (1, 2, hex("0014")),
        ),
        (
            "open shorter than 29",
            msg(1, "04 fde9 005a 0a000001"),
            four(),
            (1, 2, hex("001c")),
        ),
        (
            "notification shorter than 21",
            msg(3, "06"),
            four(),
            (1, 2, hex("0014")),
        ),
        ("unknown type", msg(9, ""), four(), (1, 3, vec![9])),
        ("borr of wrong length", borr_long, four(), (7, 1, borr_copy)),
        (
            "refresh of wrong length",
            msg(5, "0001 00 01 00"),
            four(),
            (1, 2, hex("0018")),
        ),
        (
            "open version 3",
            msg(1, "03 fde9 005a 0a000001 00"),
            four(),
            (2, 1, hex("0004")),
        ),
        (
            "open hold time 1",
            msg(1, "04 fde9 0001 0a000001 00"),
            four(),
            (2, 6, vec![]),
        ),
        (
            "open hold time 2",
            msg(1, "04 fde9 0002 0a000001 00"),
            four(),
            (2, 6, vec![]),
        ),
        (
            "open bgp id zero",
            msg(1, "04 fde9 005a 00000000 00"),
            four(),
            (2, 3, vec![]),
        ),
        (
            "open auth parameter",
            msg(1, "04 fde9 005a 0a000001 03 01 01 00"),
            four(),
            (2, 4, vec![]),
        ),
        (
            "open opt len too long",
            msg(1, "04 fde9 005a 0a000001 05 02 02 02 00"),
            four(),
            (2, 0, vec![]),
        ),
        (
            "open capability overrun",
            msg(1, "04 fde9 005a 0a000001 04 02 02 41 04"),
            four(),
            (2, 0, vec![]),
        ),
        (
            "open 4-octet cap length 2",
            msg(1, "04 fde9 005a 0a000001 06 02 04 41 02 fde9"),
            four(),
            (2, 0, vec![]),
        ),
        (
            "open mp cap length 3",
            msg(1, "04 fde9 005a 0a000001 07 02 05 01 03 000101"),
            four(),
            (2, 0, vec![]),
        ),
        (
            "update withdrawn overrun",
            msg(2, "0005 08 0a 0000"),
            four(),
            (3, 1, vec![]),
        ),
        (
            "update attr length overrun",
            msg(2, "0000 0010 400101 00"),
            four(),
            (3, 1, vec![]),
        ),
        (
            "nlri prefix length 33",
            update(BASE_ATTRS, "21 0a000000 00"),
            four(),
            (3, 10, vec![]),
        ),
        (
            "nlri overrun",
            update(BASE_ATTRS, "18 0a00"),
            four(),
            (3, 10, vec![]),
        ),
        (
            "withdrawn prefix length 40",
            msg(2, "0002 28 0a 0000"),
            four(),
            (3, 10, vec![]),
        ),
        (
            "unrecognized well-known",
            update(&format!("{BASE_ATTRS} 40 63 01 00"), "08 0a"),
            four(),
            (3, 2, hex("40630100")),
        ),
        (
            "duplicate MP_UNREACH",
            update("80 0f 03 0002 01  80 0f 03 0002 01", ""),
            four(),
            (3, 1, vec![]),
        ),
        (
            "MP_REACH next hop of 5 octets",
            update("80 0e 0a 0002 01 05 0102030405 00", ""),
            four(),
            (
                3,
                9,
                hex("800e0a0002010501020304050 0".replace(' ', "").as_str()),
            ),
        ),
        (
            "MP_REACH ipv6 prefix length 129",
            update(
                "80 0e 17 0002 01 10 20010db8000000000000000000000001 00 81 ff",
                "",
            ),
            four(),
            (
                3,
                9,
                hex("800e17 0002 01 10 20010db8000000000000000000000001 00 81 ff"),
            ),
        ),
    ]);
}

#[test]
fn extended_message_raises_the_limit_to_65535_but_not_for_open() {
    let ext = Codec {
        extended_message: true,
        ..four()
    };
    let big = update(BASE_ATTRS, &"18 0a0000 ".repeat(2000));
    assert!(big.len() > 4096);
    assert_eq!(frame_len(&big, &ext), Ok(Some(big.len())));
    assert_eq!(
        frame_len(&big, &four()),
        Err(DecodeError::BadLength(big.len() as u16))
    );
    let mut open = msg(1, "04 fde9 005a 0a000001 00");
    open[16..18].copy_from_slice(&5000u16.to_be_bytes());
    assert_eq!(frame_len(&open, &ext), Err(DecodeError::BadLength(5000)));
}

#[test]
fn frame_len_waits_for_a_whole_message() {
    let m = msg(4, "");
    assert_eq!(frame_len(&m[..5], &four()), Ok(None));
    assert_eq!(frame_len(&m[..18], &four()), Ok(None));
    assert_eq!(frame_len(&m, &four()), Ok(Some(19)));
    let mut two = m.clone();
    two.extend_from_slice(&m);
    assert_eq!(frame_len(&two, &four()), Ok(Some(19)));
    assert_eq!(
        Message::decode(&m[..10], &four()),
        Err(DecodeError::Incomplete)
    );
    assert_eq!(DecodeError::Incomplete.notification(), None);
}

/// An attribute appended to the base set, and the RFC 7606 action it draws.
#[test]
fn malformed_attributes_get_their_rfc7606_action() {
    use AttrAction::{Discard, TreatAsWithdraw as Taw};
    let cases: Vec<(&str, String, Codec, (AttrAction, u8))> = vec![
        (
            "origin value 3",
            "40 01 01 03  40 02 00  40 03 04 c0000201".into(),
            four(),
            (Taw, 1),
        ),
        (
            "origin length 2",
            "40 01 02 0000  40 02 00  40 03 04 c0000201".into(),
            four(),
            (Taw, 1),
        ),
        (
            "as_path segment type 5",
            "40 01 01 00  40 02 06 05 01 0000fde9  40 03 04 c0000201".into(),
            four(),
            (Taw, 2),
        ),
        (
            "as_path empty segment",
            "40 01 01 00  40 02 02 02 00  40 03 04 c0000201".into(),
            four(),
            (Taw, 2),
        ),
        (
            "as_path overrun",
            "40 01 01 00  40 02 04 02 01 fde9  40 03 04 c0000201".into(),
            four(),
            (Taw, 2),
        ),
        (
            "next_hop length 5",
            "40 01 01 00  40 02 00  40 03 05 c000020100".into(),
            four(),
            (Taw, 3),
        ),
        (
            "med length 3",
            format!("{BASE_ATTRS} 80 04 03 000001"),
            four(),
            (Taw, 4),
        ),
        (
            "local_pref length 2",
            format!("{BASE_ATTRS} 40 05 02 0001"),
            four(),
            (Taw, 5),
        ),
        (
            "atomic_aggregate length 1",
            format!("{BASE_ATTRS} 40 06 01 00"),
            four(),
            (Discard, 6),
        ),
        (
            "aggregator length 7",
            format!("{BASE_ATTRS} c0 07 07 00000001 c00002"),
            four(),
            (Discard, 7),
        ),
        (
            "aggregator 8 on 2-octet",
            "40 01 01 00  40 02 04 02 01 fde9  40 03 04 c0000201  c0 07 08 00000001 c0000202"
                .into(),
            two(),
            (Discard, 7),
        ),
        (
            "communities length 5",
            format!("{BASE_ATTRS} c0 08 05 0000000100"),
            four(),
            (Taw, 8),
        ),
        (
            "communities empty",
            format!("{BASE_ATTRS} c0 08 00"),
            four(),
            (Taw, 8),
        ),
        (
            "originator_id length 3",
            format!("{BASE_ATTRS} 80 09 03 0a0000"),
            four(),
            (Taw, 9),
        ),
        (
            "cluster_list length 6",
            format!("{BASE_ATTRS} 80 0a 06 0a0000010a00"),
            four(),
            (Taw, 10),
        ),
        (
            "ext communities length 7",
            format!("{BASE_ATTRS} c0 10 07 00020000000000"),
            four(),
            (Taw, 16),
        ),
        (
            "large communities length 13",
            format!("{BASE_ATTRS} c0 20 0d {}", "00".repeat(13)),
            four(),
            (Taw, 32),
        ),
        (
            "otc length 3",
            format!("{BASE_ATTRS} c0 23 03 000001"),
            four(),
            (Taw, 35),
        ),
        (
            "as4_path malformed",
            "40 01 01 00  40 02 04 02 01 fde9  40 03 04 c0000201  c0 11 03 02 01 00".into(),
            two(),
            (Discard, 17),
        ),
        (
            "as4_aggregator length 7",
            "40 01 01 00  40 02 04 02 01 fde9  40 03 04 c0000201  c0 12 07 00000001 c00002".into(),
            two(),
            (Discard, 18),
        ),
        (
            "origin flagged optional",
            "c0 01 01 00  40 02 00  40 03 04 c0000201".into(),
            four(),
            (Taw, 1),
        ),
        (
            "med flagged transitive",
            format!("{BASE_ATTRS} c0 04 04 00000001"),
            four(),
            (Taw, 4),
        ),
        (
            "attribute length overruns the field",
            format!("{BASE_ATTRS} c0 08 08 00000001"),
            four(),
            (Taw, 8),
        ),
        (
            "two octets left over",
            format!("{BASE_ATTRS} c0 08"),
            four(),
            (Taw, 0),
        ),
        (
            "missing origin",
            "40 02 00  40 03 04 c0000201".into(),
            four(),
            (Taw, 1),
        ),
        (
            "missing as_path",
            "40 01 01 00  40 03 04 c0000201".into(),
            four(),
            (Taw, 2),
        ),
        (
            "missing next_hop",
            "40 01 01 00  40 02 00".into(),
            four(),
            (Taw, 3),
        ),
        (
            "mp_reach of a family we do not carry",
            format!("{BASE_ATTRS} 80 0e 09 0019 46 04 01020304 00"),
            four(),
            (Discard, 14),
        ),
        (
            "duplicate med keeps the first",
            format!("{BASE_ATTRS} 80 04 04 00000001 80 04 04 00000002"),
            four(),
            (Discard, 4),
        ),
    ];
    for (name, attrs, codec, want) in cases {
        let bytes = update(&attrs, "08 0a");
        match Message::decode(&bytes, &codec) {
            Ok(Message::Update(u)) => {
                assert_eq!(
                    u.attr_error.map(|e| (e.action, e.type_code)),
                    Some(want),
                    "{name}: {u:?}"
                );
                if name.starts_with("duplicate med") {
                    assert_eq!(u.attrs.med, Some(1));
                }
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// RFC 7607 §2: AS 0 in AS_PATH or AS4_PATH is treat-as-withdraw, in
/// AGGREGATOR or AS4_AGGREGATOR attribute discard; the cause is `AsZero` so
/// the engine can explain the rejection. AS4_* attributes count only on a
/// 2-octet session (RFC 6793 §4.1: a 4-octet speaker ignores them).
#[test]
fn as_zero_in_paths_and_aggregators_is_malformed_rfc7607() {
    use AttrAction::{Discard, TreatAsWithdraw as Taw};
    const O: &str = "40 01 01 00";
    const NH: &str = "40 03 04 c0000201";
    type Case = (&'static str, String, Codec, Option<(AttrAction, u8)>);
    let cases: Vec<Case> = vec![
        (
            "AS_PATH 4-octet, AS 0 in the middle",
            format!("{O} 40 02 0e 02 03 0000fbf4 00000000 0000fbf0 {NH}"),
            four(),
            Some((Taw, 2)),
        ),
        (
            "AS_PATH 4-octet, AS 0 as the origin",
            format!("{O} 40 02 0a 02 02 0000fbf4 00000000 {NH}"),
            four(),
            Some((Taw, 2)),
        ),
        (
            "AS_PATH 4-octet, AS 0 in an AS_SET",
            format!("{O} 40 02 0a 01 02 0000fbf4 00000000 {NH}"),
            four(),
            Some((Taw, 2)),
        ),
        (
            "AS_PATH 2-octet, AS 0 in the middle",
            format!("{O} 40 02 08 02 03 fbf4 0000 fbf0 {NH}"),
            two(),
            Some((Taw, 2)),
        ),
        (
            "AS4_PATH on a 2-octet session holding AS 0",
            format!("{O} 40 02 06 02 02 fbf4 5ba0 {NH} c0 11 0a 02 02 0000fbf4 00000000"),
            two(),
            Some((Taw, 17)),
        ),
        (
            "AS4_PATH with AS 0 from a 4-octet speaker is ignored",
            format!("{O} 40 02 06 02 01 0000fbf4 {NH} c0 11 0a 02 02 0000fbf4 00000000"),
            four(),
            None,
        ),
        (
            "AGGREGATOR 4-octet AS 0",
            format!("{BASE_ATTRS} c0 07 08 00000000 c0000201"),
            four(),
            Some((Discard, 7)),
        ),
        (
            "AGGREGATOR 2-octet AS 0",
            format!("{O} 40 02 04 02 01 fde9 {NH} c0 07 06 0000 c0000201"),
            two(),
            Some((Discard, 7)),
        ),
        (
            "AS4_AGGREGATOR on a 2-octet session with AS 0",
            format!(
                "{O} 40 02 04 02 01 fde9 {NH} c0 07 06 5ba0 c0000201 c0 12 08 00000000 c0000201"
            ),
            two(),
            Some((Discard, 18)),
        ),
        (
            "AS 0 in both the path and the aggregator: the withdraw wins",
            format!("{O} 40 02 0a 02 02 0000fbf4 00000000 {NH} c0 07 08 00000000 c0000201"),
            four(),
            Some((Taw, 2)),
        ),
    ];
    for (name, attrs, codec, want) in cases {
        let bytes = update(&attrs, "18 c00002");
        let Ok(Message::Update(u)) = Message::decode(&bytes, &codec) else {
            panic!("{name}: does not decode as an UPDATE");
        };
        assert_eq!(
            u.attr_error.map(|e| (e.action, e.type_code)),
            want,
            "{name}: {u:?}"
        );
        if want.is_some() {
            assert_eq!(
                u.attr_error.map(|e| e.cause),
                Some(AttrCause::AsZero),
                "{name}"
            );
        }
        // The route keeps no AGGREGATOR holding AS 0, and a withdrawn route
        // keeps its path so the rejection shows what was sent.
        assert!(u.attrs.aggregator.is_none_or(|a| a.asn != 0), "{name}");
        if want.is_some_and(|(a, _)| a == Taw) {
            assert!(u.attrs.carries_as_zero(), "{name}: {:?}", u.attrs.as_path);
        }
    }
}

/// RFC 7607 §2: a speaker never sends AS 0; the encoder refuses such a
/// path or aggregator.
#[test]
fn the_encoder_refuses_as_zero_in_a_path_or_aggregator() {
    let base = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(vec![64500, 0])),
        next_hop: Some("192.0.2.1".parse().expect("addr")),
        ..Default::default()
    };
    let agg = PathAttributes {
        as_path: Some(AsPath::from_sequence(vec![64500])),
        aggregator: Some(Aggregator {
            asn: 0,
            address: "192.0.2.1".parse().expect("addr"),
        }),
        ..base.clone()
    };
    for (name, attrs) in [("path", base), ("aggregator", agg)] {
        for codec in [four(), two()] {
            let u = Update {
                nlri: vec![AddPathPrefix {
                    path_id: None,
                    prefix: "192.0.2.0/24".parse().expect("prefix"),
                }],
                attrs: attrs.clone(),
                ..Default::default()
            };
            let mut out = bytes::BytesMut::new();
            let err = Message::from(u).encode(&codec, &mut out).expect_err(name);
            assert!(err.to_string().contains("RFC 7607"), "{name}: {err}");
        }
    }
}

/// A 4,096-octet BoRR (RFC 7313 §5): the NOTIFICATION carries the message
/// back, cut so that it still fits in 4,096 octets and can be sent.
#[test]
fn a_maximal_bad_route_refresh_gets_a_notification_that_fits() {
    use coldpotato::wire::{Codec, Message};
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&4096u16.to_be_bytes());
    m.push(5);
    m.extend_from_slice(&[0, 1, 1, 1]);
    m.resize(4096, 0);
    let e = Message::decode(&m, &Codec::default()).expect_err("bad length");
    let n = e.notification().expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode, n.data.len()), (7, 1, 4096));
    let mut out = bytes::BytesMut::new();
    Message::Notification(n)
        .encode(&Codec::default(), &mut out)
        .expect("it fits once cut");
    assert_eq!(out.len(), 4096);
    assert_eq!(
        &out[21..],
        &m[..4096 - 21],
        "the data is the message's start"
    );
}
