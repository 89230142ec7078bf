//! Vectors from second implementations (BIRD 2.0.12 and GoBGP 3.10, captured
//! by `tests/vectors/capture.sh`): every message decodes, re-encodes to a
//! message that decodes to the same value, and to the very same bytes where
//! the peer's encoding is the canonical one ours produces.

use bytes::BytesMut;
use coldpotato::wire::{
    AsPath, Capability, Codec, Community, LargeCommunity, Message, Origin, Prefix,
};

fn load(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

fn codec(four_octet_as: bool) -> Codec {
    Codec {
        four_octet_as,
        ..Codec::default()
    }
}

/// Decodes every message of a file; checks the re-encoding round trip and
/// returns the messages with a flag telling whether the bytes matched.
fn round_trip(name: &str, codec: &Codec) -> Vec<(Message, bool)> {
    let mut out = Vec::new();
    for raw in load(name) {
        let msg =
            Message::decode(&raw, codec).unwrap_or_else(|e| panic!("{name}: {e:?} in {raw:02x?}"));
        let mut buf = BytesMut::new();
        msg.encode(codec, &mut buf).expect("encode");
        let again = Message::decode(&buf, codec).expect("decode re-encoded");
        assert_eq!(again, msg, "{name}: value changed through re-encoding");
        out.push((msg, buf[..] == raw[..]));
    }
    out
}

fn updates(msgs: &[(Message, bool)]) -> Vec<&coldpotato::wire::Update> {
    msgs.iter()
        .filter_map(|(m, _)| match m {
            Message::Update(u) => Some(&**u),
            _ => None,
        })
        .collect()
}

fn announced<'a>(
    msgs: &'a [(Message, bool)],
    prefix: &str,
) -> &'a coldpotato::wire::PathAttributes {
    let p: Prefix = prefix.parse().expect("prefix");
    updates(msgs)
        .into_iter()
        .find(|u| {
            u.nlri.iter().any(|n| n.prefix == p)
                || u.mp_reach
                    .as_ref()
                    .is_some_and(|r| r.nlri.iter().any(|n| n.prefix == p))
        })
        .map(|u| &u.attrs)
        .unwrap_or_else(|| panic!("{prefix} not announced"))
}

/// Non-UPDATE messages and IPv4 UPDATEs must re-encode byte for byte.
fn assert_canonical_except_mp(name: &str, msgs: &[(Message, bool)]) {
    for (m, same) in msgs {
        let mp = matches!(m, Message::Update(u) if u.mp_reach.is_some() || u.mp_unreach.as_ref().is_some_and(|x| !x.withdrawn.is_empty()));
        if !mp {
            assert!(
                *same,
                "{name}: {m:?} did not re-encode to the captured bytes"
            );
        }
    }
}

#[test]
fn bird_four_octet_session_decodes_and_reencodes() {
    let msgs = round_trip("bird_as4.hex", &codec(true));
    assert_canonical_except_mp("bird_as4", &msgs);
    let Message::Open(open) = &msgs[0].0 else {
        panic!("first message is not OPEN")
    };
    assert_eq!(open.asn(), 65001);
    assert!(open
        .capabilities
        .contains(&Capability::EnhancedRouteRefresh));
    assert!(open.capabilities.contains(&Capability::FourOctetAs(65001)));
    assert_eq!(
        announced(&msgs, "10.30.0.0/22").as_path,
        Some(AsPath::from_sequence(vec![65001, 65010, 4200000001]))
    );
    let a = announced(&msgs, "10.10.0.0/16");
    assert_eq!(a.communities, vec![Community::new(65001, 100)]);
    assert_eq!(
        a.large_communities,
        vec![LargeCommunity {
            global: 65001,
            local1: 1,
            local2: 2
        }]
    );
    assert_eq!(
        announced(&msgs, "192.0.2.128/25").origin,
        Some(Origin::Incomplete)
    );
    let a6 = announced(&msgs, "2001:db8:2::/64");
    assert_eq!(a6.large_communities[0].global, 4200000001);
    let eors: Vec<_> = updates(&msgs)
        .iter()
        .filter_map(|u| u.end_of_rib_family())
        .collect();
    assert!(eors.contains(&(coldpotato::wire::Afi::IPV4, coldpotato::wire::Safi::UNICAST)));
    assert!(eors.contains(&(coldpotato::wire::Afi::IPV6, coldpotato::wire::Safi::UNICAST)));
}

#[test]
fn bird_two_octet_session_merges_as4_path() {
    let msgs = round_trip("bird_as2.hex", &codec(false));
    assert_canonical_except_mp("bird_as2", &msgs);
    // BIRD sent AS_TRANS in AS_PATH plus AS4_PATH; the merge restores 4200000001.
    assert_eq!(
        announced(&msgs, "10.30.0.0/22").as_path,
        Some(AsPath::from_sequence(vec![65001, 65010, 4200000001]))
    );
    let raw = load("bird_as2.hex");
    assert!(
        raw.iter().any(|m| m.windows(2).any(|w| w == [0xC0, 17])),
        "no AS4_PATH captured"
    );
    let Some((Message::Notification(n), _)) = msgs.last() else {
        panic!("last message is not a NOTIFICATION")
    };
    assert_eq!(
        n.shutdown_communication().as_deref(),
        Some("bird going down")
    );
}

#[test]
fn gobgp_four_octet_session_decodes_and_reencodes() {
    let msgs = round_trip("gobgp_as4.hex", &codec(true));
    assert_canonical_except_mp("gobgp_as4", &msgs);
    let Message::Open(open) = &msgs[0].0 else {
        panic!("first message is not OPEN")
    };
    assert_eq!(open.my_as, 23456);
    assert_eq!(open.asn(), 4200000002);
    let a = announced(&msgs, "10.99.0.0/24");
    assert_eq!(a.med, Some(100));
    assert_eq!(a.communities, vec![Community::new(65002, 1)]);
    assert_eq!(
        announced(&msgs, "10.98.0.0/16").as_path,
        Some(AsPath::from_sequence(vec![4200000002, 65020, 4200000099]))
    );
    let Some((Message::Notification(n), _)) = msgs.last() else {
        panic!("last message is not a NOTIFICATION")
    };
    assert_eq!(n.shutdown_communication().as_deref(), Some("maintenance"));
    assert_eq!(
        n.to_string(),
        "Cease/Administrative Shutdown: \"maintenance\""
    );
}

#[test]
fn gobgp_two_octet_session_merges_as4_path() {
    let msgs = round_trip("gobgp_as2.hex", &codec(false));
    assert_canonical_except_mp("gobgp_as2", &msgs);
    assert_eq!(
        announced(&msgs, "10.98.0.0/16").as_path,
        Some(AsPath::from_sequence(vec![65002, 65020, 4200000099]))
    );
}

#[test]
fn bird_bad_peer_as_notification_decodes() {
    let msgs = round_trip("bird_bad_peer_as.hex", &codec(false));
    assert!(msgs.iter().all(|(_, same)| *same));
    let Some((Message::Notification(n), _)) = msgs.last() else {
        panic!("last message is not a NOTIFICATION")
    };
    assert_eq!((n.code, n.subcode), (2, 2));
    assert!(n.to_string().starts_with("OPEN Message Error/Bad Peer AS"));
}
