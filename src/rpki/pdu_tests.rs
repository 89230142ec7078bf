//! RTR PDU vectors (RFC 8210 §5): `(bytes, value)` pairs checked both ways,
//! then malformed vectors with their exact error and Error Report code.

use super::*;

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

fn vectors() -> Vec<(Version, Vec<u8>, Pdu)> {
    vec![
        (
            Version::V1,
            vec![1, 0, 0x12, 0x34, 0, 0, 0, 12, 0, 0, 0, 42],
            Pdu::SerialNotify {
                session_id: 0x1234,
                serial: 42,
            },
        ),
        (
            Version::V1,
            vec![1, 1, 0x12, 0x34, 0, 0, 0, 12, 0xff, 0xff, 0xff, 0xff],
            Pdu::SerialQuery {
                session_id: 0x1234,
                serial: u32::MAX,
            },
        ),
        (Version::V1, vec![1, 2, 0, 0, 0, 0, 0, 8], Pdu::ResetQuery),
        (Version::V0, vec![0, 2, 0, 0, 0, 0, 0, 8], Pdu::ResetQuery),
        (
            Version::V1,
            vec![1, 3, 0, 7, 0, 0, 0, 8],
            Pdu::CacheResponse { session_id: 7 },
        ),
        (
            Version::V1,
            vec![
                1, 4, 0, 0, 0, 0, 0, 20, 1, 24, 24, 0, 203, 0, 113, 0, 0, 0, 0xfb, 0xf4,
            ],
            Pdu::Prefix(PrefixPdu {
                announce: true,
                prefix: net("203.0.113.0/24"),
                max_len: 24,
                asn: 64500,
            }),
        ),
        (
            Version::V0,
            vec![
                0, 4, 0, 0, 0, 0, 0, 20, 0, 16, 24, 0, 10, 1, 0, 0, 0, 0, 0, 0,
            ],
            Pdu::Prefix(PrefixPdu {
                announce: false,
                prefix: net("10.1.0.0/16"),
                max_len: 24,
                asn: 0,
            }),
        ),
        (
            Version::V1,
            vec![
                1, 6, 0, 0, 0, 0, 0, 32, 1, 32, 48, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0xfd, 0xe8,
            ],
            Pdu::Prefix(PrefixPdu {
                announce: true,
                prefix: net("2001:db8::/32"),
                max_len: 48,
                asn: 65000,
            }),
        ),
        (
            Version::V1,
            vec![
                1, 7, 0, 7, 0, 0, 0, 24, 0, 0, 0, 9, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58, 0, 0,
                0x1c, 0x20,
            ],
            Pdu::EndOfData {
                session_id: 7,
                serial: 9,
                intervals: Some(Intervals::DEFAULT),
            },
        ),
        (
            Version::V0,
            vec![0, 7, 0, 7, 0, 0, 0, 12, 0, 0, 0, 9],
            Pdu::EndOfData {
                session_id: 7,
                serial: 9,
                intervals: None,
            },
        ),
        (Version::V1, vec![1, 8, 0, 0, 0, 0, 0, 8], Pdu::CacheReset),
        (
            Version::V1,
            vec![
                1, 9, 1, 0, 0, 0, 0, 33, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0xfb, 0xf4, 0,
            ],
            Pdu::RouterKey {
                announce: true,
                asn: 64500,
            },
        ),
        (
            Version::V1,
            vec![
                1, 10, 0, 4, 0, 0, 0, 26, 0, 0, 0, 8, 2, 2, 0, 0, 0, 0, 0, 8, 0, 0, 0, 2, b'n',
                b'o',
            ],
            Pdu::ErrorReport {
                code: ErrorCode::UnsupportedVersion,
                pdu: vec![2, 2, 0, 0, 0, 0, 0, 8],
                text: "no".into(),
            },
        ),
        (
            Version::V1,
            vec![1, 10, 0, 2, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0],
            Pdu::ErrorReport {
                code: ErrorCode::NoDataAvailable,
                pdu: vec![],
                text: String::new(),
            },
        ),
    ]
}

#[test]
fn every_vector_decodes_to_its_value_and_encodes_back_to_its_bytes() {
    for (version, bytes, pdu) in vectors() {
        let got = decode(&bytes).unwrap();
        assert_eq!(got, Some((version, pdu.clone(), bytes.len())), "{bytes:?}");
        let mut out = BytesMut::new();
        pdu.encode(version, &mut out);
        assert_eq!(&out[..], &bytes[..], "{pdu:?}");
    }
}

#[test]
fn a_partial_pdu_is_incomplete_not_an_error() {
    for (_, bytes, _) in vectors() {
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), Ok(None), "{bytes:?} cut at {cut}");
        }
    }
}

#[test]
fn two_pdus_in_one_buffer_decode_one_at_a_time() {
    let mut buf = vec![1, 2, 0, 0, 0, 0, 0, 8];
    buf.extend_from_slice(&[1, 8, 0, 0, 0, 0, 0, 8]);
    let (_, first, used) = decode(&buf).unwrap().unwrap();
    assert_eq!((first, used), (Pdu::ResetQuery, 8));
    let (_, second, _) = decode(&buf[used..]).unwrap().unwrap();
    assert_eq!(second, Pdu::CacheReset);
}

#[test]
fn malformed_pdus_map_to_their_error_report_code() {
    let cases: Vec<(Vec<u8>, PduError, ErrorCode)> = vec![
        (
            vec![2, 2, 0, 0, 0, 0, 0, 8],
            PduError::UnsupportedVersion(2),
            ErrorCode::UnsupportedVersion,
        ),
        (
            vec![1, 5, 0, 0, 0, 0, 0, 8],
            PduError::UnsupportedType(5),
            ErrorCode::UnsupportedPduType,
        ),
        (
            vec![1, 11, 0, 0, 0, 0, 0, 8],
            PduError::UnsupportedType(11),
            ErrorCode::UnsupportedPduType,
        ),
        (
            // Router Key does not exist in version 0.
            [&[0u8, 9, 1, 0, 0, 0, 0, 33][..], &[0u8; 25][..]].concat(),
            PduError::UnsupportedType(9),
            ErrorCode::UnsupportedPduType,
        ),
        (
            vec![1, 2, 0, 0, 0, 0, 0, 4],
            PduError::BadLength {
                pdu_type: 2,
                len: 4,
            },
            ErrorCode::CorruptData,
        ),
        (
            vec![1, 2, 0, 0, 0, 0, 0, 12, 0, 0, 0, 0],
            PduError::BadLength {
                pdu_type: 2,
                len: 12,
            },
            ErrorCode::CorruptData,
        ),
        (
            // A version-1 End of Data must carry the intervals.
            vec![1, 7, 0, 7, 0, 0, 0, 12, 0, 0, 0, 9],
            PduError::BadLength {
                pdu_type: 7,
                len: 12,
            },
            ErrorCode::CorruptData,
        ),
        (
            vec![
                1, 4, 0, 0, 0, 0, 0, 20, 1, 33, 33, 0, 10, 0, 0, 0, 0, 0, 0, 1,
            ],
            PduError::Corrupt {
                pdu_type: 4,
                what: "prefix length beyond the address size",
            },
            ErrorCode::CorruptData,
        ),
        (
            vec![
                1, 4, 0, 0, 0, 0, 0, 20, 1, 24, 16, 0, 10, 0, 0, 0, 0, 0, 0, 1,
            ],
            PduError::Corrupt {
                pdu_type: 4,
                what: "max length outside prefix length..=address size",
            },
            ErrorCode::CorruptData,
        ),
        (
            vec![1, 10, 0, 0, 0, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0, 0],
            PduError::Corrupt {
                pdu_type: 10,
                what: "encapsulated PDU length",
            },
            ErrorCode::CorruptData,
        ),
        (
            vec![1, 10, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, b'x'],
            PduError::Corrupt {
                pdu_type: 10,
                what: "error text length",
            },
            ErrorCode::CorruptData,
        ),
    ];
    for (bytes, err, code) in cases {
        assert_eq!(decode(&bytes), Err(err.clone()), "{bytes:?}");
        assert_eq!(err.error_code(), code);
    }
}

#[test]
fn a_length_field_beyond_the_limit_is_rejected_before_buffering() {
    let bytes = [1u8, 10, 0, 0, 0x7f, 0xff, 0xff, 0xff];
    assert_eq!(
        frame_len(&bytes),
        Err(PduError::BadLength {
            pdu_type: 10,
            len: 0x7fff_ffff
        })
    );
}

#[test]
fn interval_ranges_follow_rfc8210_section_6() {
    assert!(Intervals::DEFAULT.is_valid());
    let bad = [
        Intervals {
            refresh: 0,
            ..Intervals::DEFAULT
        },
        Intervals {
            retry: 7201,
            ..Intervals::DEFAULT
        },
        Intervals {
            expire: 599,
            ..Intervals::DEFAULT
        },
        Intervals {
            refresh: 7200,
            retry: 600,
            expire: 7200,
        },
    ];
    for i in bad {
        assert!(!i.is_valid(), "{i:?}");
    }
}

#[test]
fn an_error_report_for_a_decode_failure_carries_the_offending_pdu() {
    let bytes = [1u8, 5, 0, 0, 0, 0, 0, 8];
    let err = decode(&bytes).unwrap_err();
    let report = Pdu::error_report(&err, &bytes);
    let mut out = BytesMut::new();
    report.encode(Version::V1, &mut out);
    let (_, back, _) = decode(&out).unwrap().unwrap();
    match back {
        Pdu::ErrorReport { code, pdu, .. } => {
            assert_eq!(code, ErrorCode::UnsupportedPduType);
            assert_eq!(pdu, bytes.to_vec());
        }
        other => panic!("not an error report: {other:?}"),
    }
}
