//! Table dump reader: bgpdump text lines, MRT TABLE_DUMP_V2 and TABLE_DUMP
//! records built byte by byte, gzip, and malformed input with its error.

use super::*;
use crate::wire::attr::encode_attributes;
use bytes::BytesMut;
use std::io::Write;

const TEXT: &str = "\
TABLE_DUMP2|1277971199|B|202.249.2.20|4777|20.137.0.0/21|4777 2516 3549 21877 {4237}|IGP|202.249.2.110|0|0||NAG|21877 20.137.31.194|
TABLE_DUMP2|1277971199|B|202.249.2.169|2497|1.24.0.0/13|2497 4837|IGP|202.249.2.169|0|0||AG|4837 219.158.1.7|
TABLE_DUMP2|1277971199|B|202.249.2.169|2497|1.56.0.0/13|2497 4837|IGP|202.249.2.169|0|0||AG|4837 219.158.1.7|
TABLE_DUMP2|1277971200|B|202.249.2.169|2497|69.166.10.0/24|2497 3856|INCOMPLETE|202.249.2.169|0|5|3856:53302 2497:1|NAG||
TABLE_DUMP2|1277971200|B|202.249.2.169|2497|2001:db8::/32|2497 3856|IGP|202.249.2.169|0|0||NAG||
";

fn seq(asns: &[u32]) -> AsPathSegment {
    AsPathSegment {
        kind: SegmentType::Sequence,
        asns: asns.to_vec(),
    }
}

#[test]
fn bgpdump_text_gives_each_peer_its_routes_grouped_by_attribute_set() {
    let d = parse(TEXT.as_bytes()).expect("parses");
    assert_eq!(d.peers.len(), 2);
    assert_eq!(d.skipped_ipv6, 1);
    let p = d.peer(None).expect("largest peer");
    assert_eq!(
        (p.address, p.asn, p.routes),
        (Some("202.249.2.169".parse().unwrap()), 2497, 3)
    );
    assert_eq!(p.groups.len(), 2, "1.24/13 and 1.56/13 share one set");
    let (a, nets) = &p.groups[0];
    assert_eq!(nets.len(), 2);
    assert!(a.atomic_aggregate);
    assert_eq!(a.aggregator.map(|g| g.asn), Some(4837));
    let (b, _) = &p.groups[1];
    assert_eq!(b.origin, Some(Origin::Incomplete));
    assert_eq!(b.med, Some(5));
    assert_eq!(
        b.communities,
        vec![Community::new(3856, 53302), Community::new(2497, 1)]
    );
    let other = d.peer(Some("202.249.2.20".parse().unwrap())).expect("peer");
    let path = other.groups[0].0.as_path.clone().expect("path");
    assert_eq!(
        path.segments,
        vec![
            seq(&[4777, 2516, 3549, 21877]),
            AsPathSegment {
                kind: SegmentType::Set,
                asns: vec![4237]
            }
        ]
    );
}

#[test]
fn a_bad_text_line_names_its_line_number() {
    let bad = "TABLE_DUMP2|1|B|202.249.2.169|2497|1.24.0.0/33|2497|IGP|1.1.1.1|0|0||NAG||\n";
    let err = parse(format!("{TEXT}{bad}").as_bytes()).expect_err("bad prefix");
    assert!(err.to_string().starts_with("line 6: bad prefix"), "{err}");
}

fn attrs(path: &[u32]) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![seq(path)],
        }),
        next_hop: Some("192.0.2.1".parse().unwrap()),
        communities: vec![Community::new(65000, 1)],
        ..Default::default()
    }
}

fn encoded(a: &PathAttributes, four_octet_as: bool) -> Vec<u8> {
    let codec = Codec {
        four_octet_as,
        ..Codec::default()
    };
    let mut out = BytesMut::new();
    encode_attributes(a, None, None, &codec, &mut out).expect("encodes");
    out.to_vec()
}

fn record(kind: u16, sub: u16, body: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(&1_277_971_199u32.to_be_bytes());
    r.extend_from_slice(&kind.to_be_bytes());
    r.extend_from_slice(&sub.to_be_bytes());
    r.extend_from_slice(&(body.len() as u32).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// A TABLE_DUMP_V2 dump: two peers (one 2-octet, one 4-octet AS), one
/// IPv4 prefix seen from both, one IPv6 prefix.
fn table_dump_v2() -> Vec<u8> {
    let mut idx = vec![192, 0, 2, 254, 0, 0, 0, 2];
    idx.extend_from_slice(&[0, 10, 0, 0, 1, 192, 0, 2, 1, 0xFC, 0x00]); // AS 64512
    idx.extend_from_slice(&[2, 10, 0, 0, 2, 192, 0, 2, 2, 0, 3, 0x0D, 0x40]); // AS 200000
    let mut rib = vec![0, 0, 0, 0, 22, 198, 51, 100, 0, 2];
    for (peer, path) in [(0u16, vec![64512, 3356]), (1, vec![200_000, 0xFBF0])] {
        let a = encoded(&attrs(&path), true);
        rib.extend_from_slice(&peer.to_be_bytes());
        rib.extend_from_slice(&[0, 0, 0, 0]);
        rib.extend_from_slice(&(a.len() as u16).to_be_bytes());
        rib.extend_from_slice(&a);
    }
    let v6 = [0, 0, 0, 1, 32, 0x20, 0x01, 0x0d, 0xb8, 0, 0];
    let mut out = record(13, 1, &idx);
    out.extend(record(13, 2, &rib));
    out.extend(record(13, 4, &v6));
    out.extend(record(16, 4, &[1, 2, 3])); // BGP4MP: skipped
    out
}

#[test]
fn mrt_table_dump_v2_maps_rib_entries_to_the_peer_index() {
    let d = parse(&table_dump_v2()).expect("parses");
    assert_eq!(d.peers.len(), 2);
    let a = d.peer(Some("192.0.2.1".parse().unwrap())).expect("peer 0");
    assert_eq!(a.asn, 64512);
    assert_eq!(
        a.groups[0].1,
        vec!["198.51.100.0/22".parse::<Ipv4Net>().unwrap()]
    );
    assert_eq!(a.groups[0].0, attrs(&[64512, 3356]));
    let b = d.peer(Some("192.0.2.2".parse().unwrap())).expect("peer 1");
    assert_eq!(b.asn, 200_000);
    assert_eq!(b.groups[0].0, attrs(&[200_000, 0xFBF0]));
}

#[test]
fn mrt_table_dump_v1_reads_two_octet_as_attributes() {
    let a = encoded(&attrs(&[64512, 3356]), false);
    let mut body = vec![
        0, 0, 0, 1, 203, 0, 113, 0, 24, 1, 0, 0, 0, 0, 192, 0, 2, 9, 0xFC, 0x00,
    ];
    body.extend_from_slice(&(a.len() as u16).to_be_bytes());
    body.extend_from_slice(&a);
    let d = parse(&record(12, 1, &body)).expect("parses");
    let p = d.peer(None).expect("peer");
    assert_eq!(
        (p.address, p.asn),
        (Some("192.0.2.9".parse().unwrap()), 64512)
    );
    assert_eq!(p.groups[0].0, attrs(&[64512, 3356]));
}

#[test]
fn a_truncated_mrt_record_is_an_error_with_its_offset() {
    let mut data = table_dump_v2();
    let first = 12 + u32::from_be_bytes([data[8], data[9], data[10], data[11]]) as usize;
    data.truncate(first + 20);
    let err = parse(&data).expect_err("truncated");
    assert_eq!(
        err.to_string(),
        format!("MRT record at offset {first}: record runs past the end of the file")
    );
    // A record whose body is too short for what it announces.
    let err = parse(&record(13, 2, &[0, 0, 0, 0, 24, 10])).expect_err("short body");
    assert_eq!(
        err.to_string(),
        "MRT record at offset 0: malformed type 13 subtype 2"
    );
}

#[test]
fn gzip_files_are_read_transparently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rib.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&table_dump_v2()).expect("gzip");
    std::fs::write(&path, gz.finish().expect("gzip")).expect("write");
    let d = read(&path).expect("reads");
    assert_eq!(d.peers.len(), 2);
    let ups = updates(&d.peers[0], "127.0.0.2".parse().unwrap());
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].attrs.next_hop, Some("127.0.0.2".parse().unwrap()));
}
