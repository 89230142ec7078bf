//! Our encoder checked by a second decoder: every message type, several
//! attribute sets, IPv6 MP_REACH_NLRI, 4-octet AS (and AS4_PATH toward a
//! 2-octet peer) and large communities are written into a classic pcap
//! (Ethernet/IPv4/TCP to port 179) and dissected by `tshark -V -z expert`.
//! No "Malformed" packet and no expert warning or error may show, and the
//! fields tshark decodes must match what we encoded. Without tshark the test
//! is skipped through `common::need` (a failure under `tests/run.sh`).

mod common;

use bytes::{Bytes, BytesMut};
use coldpotato::wire::open::BgpRole;
use coldpotato::wire::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

const CLIENT: [u8; 4] = [192, 0, 2, 1];
const SERVER: [u8; 4] = [192, 0, 2, 2];
const CLIENT_PORT: u16 = 40179;
const BGP_PORT: u16 = 179;

/// Classic pcap writer (libpcap format, LINKTYPE_ETHERNET).
struct Pcap {
    buf: Vec<u8>,
    time: u32,
}

impl Pcap {
    fn new() -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&0i32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&65535u32.to_le_bytes());
        buf.extend_from_slice(&1u32.to_le_bytes());
        Pcap {
            buf,
            time: 1_700_000_000,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&dport.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push(5 << 4);
        tcp.push(flags);
        tcp.extend_from_slice(&65535u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&src);
        pseudo.extend_from_slice(&dst);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&tcp);
        let sum = checksum(&pseudo);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());

        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());

        let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);
        self.time += 1;
        self.buf.extend_from_slice(&self.time.to_le_bytes());
        self.buf.extend_from_slice(&0u32.to_le_bytes());
        self.buf
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.buf
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&frame);
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

fn p(s: &str) -> AddPathPrefix {
    AddPathPrefix::new(s.parse().expect("prefix"))
}

/// The messages we send, with the codec for each.
fn messages() -> Vec<(Message, Codec)> {
    let four = Codec::default();
    let two = Codec {
        four_octet_as: false,
        ..four
    };
    let rich = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(vec![65001, 4200000001, 64512])),
        next_hop: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
        med: Some(10),
        local_pref: Some(200),
        atomic_aggregate: true,
        aggregator: Some(attr::Aggregator {
            asn: 4200000001,
            address: Ipv4Addr::new(192, 0, 2, 9),
        }),
        communities: vec![Community::new(65001, 100), Community::NO_EXPORT],
        originator_id: Some(Ipv4Addr::new(10, 0, 0, 9)),
        cluster_list: vec![Ipv4Addr::new(10, 0, 0, 1)],
        ext_communities: vec![ExtCommunity([0, 2, 0xfd, 0xe9, 0, 0, 0, 7])],
        large_communities: vec![
            LargeCommunity {
                global: 4200000001,
                local1: 1,
                local2: 2,
            },
            LargeCommunity {
                global: 65001,
                local1: 3,
                local2: 4,
            },
        ],
        only_to_customer: Some(65001),
        unknown: vec![RawAttribute {
            flags: 0xe0,
            type_code: 0xf1,
            value: Bytes::from_static(&[1, 2]),
        }],
    };
    let plain = PathAttributes {
        origin: Some(Origin::Incomplete),
        as_path: Some(AsPath::from_sequence(vec![65001])),
        next_hop: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
        ..Default::default()
    };
    let v6: Ipv6Addr = "2001:db8::1".parse().expect("v6");
    let ll: Ipv6Addr = "fe80::1".parse().expect("ll");
    let open = Open {
        version: 4,
        my_as: 23456,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol {
                afi: Afi::IPV4,
                safi: Safi::UNICAST,
            },
            Capability::Multiprotocol {
                afi: Afi::IPV6,
                safi: Safi::UNICAST,
            },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(4200000001),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: true,
                notification: true,
                restart_time: 120,
                families: vec![(Afi::IPV4, Safi::UNICAST, true)],
            }),
            Capability::AddPath(vec![(Afi::IPV4, Safi::UNICAST, AddPathMode::Receive)]),
            Capability::ExtendedMessage,
            Capability::Role(BgpRole::Customer),
        ],
    };
    vec![
        (Message::Open(open), four),
        (Message::Keepalive, four),
        (
            Message::from(Update {
                attrs: rich.clone(),
                nlri: vec![p("10.0.0.0/8"), p("192.168.1.0/24"), p("198.51.100.7/32")],
                ..Default::default()
            }),
            four,
        ),
        (
            Message::from(Update {
                attrs: rich,
                nlri: vec![p("203.0.113.0/24")],
                ..Default::default()
            }),
            two,
        ),
        (
            Message::from(Update {
                attrs: PathAttributes {
                    next_hop: None,
                    ..plain.clone()
                },
                mp_reach: Some(MpReach {
                    afi: Afi::IPV6,
                    safi: Safi::UNICAST,
                    next_hop: IpAddr::V6(v6),
                    link_local_next_hop: Some(IpAddr::V6(ll)),
                    nlri: vec![p("2001:db8:1::/48"), p("2001:db8:2:3::/64")],
                }),
                ..Default::default()
            }),
            four,
        ),
        (
            Message::from(Update {
                withdrawn: vec![p("10.9.0.0/16")],
                mp_unreach: Some(MpUnreach {
                    afi: Afi::IPV6,
                    safi: Safi::UNICAST,
                    withdrawn: vec![p("2001:db8:9::/48")],
                }),
                ..Default::default()
            }),
            four,
        ),
        (
            Message::from(Update {
                attrs: plain,
                nlri: vec![p("172.16.0.0/12")],
                ..Default::default()
            }),
            four,
        ),
        (
            Message::from(Update::end_of_rib(Afi::IPV4, Safi::UNICAST)),
            four,
        ),
        (
            Message::from(Update::end_of_rib(Afi::IPV6, Safi::UNICAST)),
            four,
        ),
        (
            Message::RouteRefresh(RouteRefresh {
                afi: Afi::IPV4,
                safi: Safi::UNICAST,
                subtype: 0,
            }),
            four,
        ),
        (
            Message::RouteRefresh(RouteRefresh {
                afi: Afi::IPV6,
                safi: Safi::UNICAST,
                subtype: 1,
            }),
            four,
        ),
        (
            Message::Notification(Notification::admin_shutdown("maintenance")),
            four,
        ),
    ]
}

fn tshark(args: &[&str]) -> Option<String> {
    let out = Command::new("tshark").args(args).output().ok()?;
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn tshark_decodes_everything_we_encode_without_warnings() {
    if !common::need(&["tshark"], false) {
        return;
    }
    let mut pcap = Pcap::new();
    let (mut cseq, sseq) = (1000u32, 5000u32);
    pcap.tcp(CLIENT, SERVER, CLIENT_PORT, BGP_PORT, cseq, 0, 0x02, &[]);
    pcap.tcp(
        SERVER,
        CLIENT,
        BGP_PORT,
        CLIENT_PORT,
        sseq,
        cseq + 1,
        0x12,
        &[],
    );
    cseq += 1;
    pcap.tcp(
        CLIENT,
        SERVER,
        CLIENT_PORT,
        BGP_PORT,
        cseq,
        sseq + 1,
        0x10,
        &[],
    );
    let msgs = messages();
    for (m, codec) in &msgs {
        let mut out = BytesMut::new();
        m.encode(codec, &mut out).expect("encode");
        pcap.tcp(
            CLIENT,
            SERVER,
            CLIENT_PORT,
            BGP_PORT,
            cseq,
            sseq + 1,
            0x18,
            &out,
        );
        cseq += out.len() as u32;
        pcap.tcp(
            SERVER,
            CLIENT,
            BGP_PORT,
            CLIENT_PORT,
            sseq + 1,
            cseq,
            0x10,
            &[],
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bgp.pcap");
    std::fs::write(&file, &pcap.buf).expect("write pcap");
    let file = file.to_str().expect("utf-8 path");

    let Some(verbose) = tshark(&["-r", file, "-V", "-o", "tcp.check_checksum:FALSE"]) else {
        panic!("tshark is installed but could not run");
    };
    if std::env::var_os("WIRE_TSHARK_DUMP").is_some() {
        println!("{verbose}");
    }
    assert!(
        !verbose.contains("Malformed"),
        "tshark found a malformed packet:\n{verbose}"
    );
    let expert = tshark(&[
        "-r",
        file,
        "-q",
        "-o",
        "tcp.check_checksum:FALSE",
        "-z",
        "expert,warn",
    ])
    .unwrap_or_default();
    assert!(
        !expert.contains("Warns") && !expert.contains("Errors"),
        "tshark expert info has warnings or errors:\n{expert}"
    );

    let fields = tshark(&[
        "-r",
        file,
        "-o",
        "tcp.check_checksum:FALSE",
        "-Y",
        "bgp",
        "-T",
        "fields",
        "-e",
        "bgp.type",
    ])
    .unwrap_or_default();
    let types: Vec<u32> = fields
        .split(['\n', ','])
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let want: Vec<u32> = msgs.iter().map(|(m, _)| m.message_type() as u32).collect();
    assert_eq!(types, want, "message types tshark saw");

    for needle in [
        "My AS: 23456",
        "Hold Time: 90",
        "BGP Identifier: 192.0.2.1",
        "AS Number: 4200000001",
        "AS_PATH: 65001 4200000001 64512",
        // Toward the 2-octet peer: AS_TRANS in AS_PATH, the real path in AS4_PATH.
        "AS_PATH: 65001 23456 64512",
        "AS4_PATH: 65001 4200000001 64512",
        "AS4_AGGREGATOR: AS: 4200000001 origin: 192.0.2.9",
        "AGGREGATOR: AS: 23456 origin: 192.0.2.9",
        "NEXT_HOP: 192.0.2.1",
        "MULTI_EXIT_DISC: 10",
        "LOCAL_PREF: 200",
        "COMMUNITIES: 65001:100 NO_EXPORT",
        "ORIGINATOR_ID: 10.0.0.9",
        "CLUSTER_LIST: 10.0.0.1",
        "LARGE_COMMUNITY: 4200000001:1:2 65001:3:4",
        "10.0.0.0/8",
        "192.168.1.0/24",
        "198.51.100.7/32",
        "2001:db8:1::/48",
        "2001:db8:2:3::/64",
        "fe80::1",
        "2001:db8:9::/48",
        "10.9.0.0/16",
        "Minor error Code (Cease): Administratively Shutdown (2)",
        "Shutdown Communication: maintenance",
        "ROUTE-REFRESH Message",
        "Enhanced route refresh capability",
        "Support for 4-octet AS number capability",
    ] {
        assert!(
            verbose.contains(needle),
            "tshark output lacks {needle:?}:\n{verbose}"
        );
    }
    // tshark 4.0 predates RFC 9234 and shows OTC as an unknown type 35.
    assert!(
        verbose.contains("ONLY_TO_CUSTOMER") || verbose.contains("Type Code: Unknown (35)"),
        "tshark output lacks the OTC attribute"
    );
    assert!(verbose.contains("(241)"), "unknown attribute not passed on");
}
