//! RTR router-side sessions as tables of PDUs in → actions out.

use super::*;
use crate::rpki::pdu::PrefixPdu;

fn pfx(s: &str, max_len: u8, asn: u32, announce: bool) -> Pdu {
    Pdu::Prefix(PrefixPdu {
        announce,
        prefix: s.parse().unwrap(),
        max_len,
        asn,
    })
}

fn eod(serial: u32, intervals: Option<Intervals>) -> Pdu {
    Pdu::EndOfData {
        session_id: 7,
        serial,
        intervals,
    }
}

#[test]
fn reset_query_then_transfer_publishes_at_end_of_data_only() {
    let now = Instant::now();
    let mut s = Session::new(Timers::default());
    assert_eq!(s.connected(), vec![Action::Send(Pdu::ResetQuery)]);
    let v1 = Version::V1;
    assert!(s
        .on_pdu(v1, Pdu::CacheResponse { session_id: 7 }, now)
        .is_empty());
    assert!(s.on_pdu(v1, pfx("10.0.0.0/8", 8, 1, true), now).is_empty());
    assert!(s.vrps().is_empty(), "nothing applies before End of Data");
    let i = Intervals {
        refresh: 60,
        retry: 30,
        expire: 900,
    };
    assert_eq!(s.on_pdu(v1, eod(1, Some(i)), now), vec![Action::Publish]);
    assert_eq!(s.vrps().len(), 1);
    assert_eq!(s.sync, Some((7, 1)));
    assert_eq!(s.timers.refresh, Duration::from_secs(60));
    assert_eq!(s.timers.expire, Duration::from_secs(900));
}

#[test]
fn serial_notify_triggers_a_serial_query_and_an_incremental_update() {
    let now = Instant::now();
    let mut s = Session::new(Timers::default());
    s.connected();
    let v1 = Version::V1;
    s.on_pdu(v1, Pdu::CacheResponse { session_id: 7 }, now);
    s.on_pdu(v1, pfx("10.0.0.0/8", 8, 1, true), now);
    s.on_pdu(v1, eod(1, None), now);
    let notify = Pdu::SerialNotify {
        session_id: 7,
        serial: 2,
    };
    assert_eq!(
        s.on_pdu(v1, notify, now),
        vec![Action::Send(Pdu::SerialQuery {
            session_id: 7,
            serial: 1
        })]
    );
    s.on_pdu(v1, Pdu::CacheResponse { session_id: 7 }, now);
    s.on_pdu(v1, pfx("10.0.0.0/8", 8, 1, false), now);
    s.on_pdu(v1, pfx("11.0.0.0/8", 8, 2, true), now);
    assert_eq!(s.on_pdu(v1, eod(2, None), now), vec![Action::Publish]);
    let asns: Vec<u32> = s.vrps().iter().map(|v| v.asn).collect();
    assert_eq!(asns, vec![2]);
}

#[test]
fn unsupported_version_falls_back_to_version_zero_at_once() {
    let mut s = Session::new(Timers::default());
    s.connected();
    let report = Pdu::ErrorReport {
        code: ErrorCode::UnsupportedVersion,
        pdu: vec![],
        text: String::new(),
    };
    let out = s.on_pdu(Version::V0, report, Instant::now());
    assert!(matches!(
        out.as_slice(),
        [Action::Close { report: None, reconnect_after, .. }] if *reconnect_after == Duration::ZERO
    ));
    assert_eq!(s.version, Version::V0);
}

#[test]
fn a_pdu_of_another_version_is_an_unexpected_version_error() {
    let mut s = Session::new(Timers::default());
    s.connected();
    let now = Instant::now();
    assert!(s
        .on_pdu(Version::V1, Pdu::CacheResponse { session_id: 1 }, now)
        .is_empty());
    let out = s.on_pdu(Version::V0, pfx("10.0.0.0/8", 8, 1, true), now);
    assert!(matches!(
        out.as_slice(),
        [Action::Close {
            report: Some(Pdu::ErrorReport {
                code: ErrorCode::UnexpectedVersion,
                ..
            }),
            ..
        }]
    ));
}

#[test]
fn withdrawal_of_an_unknown_record_is_reported_and_nothing_applies() {
    let now = Instant::now();
    let mut s = Session::new(Timers::default());
    s.connected();
    let v1 = Version::V1;
    s.on_pdu(v1, Pdu::CacheResponse { session_id: 7 }, now);
    s.on_pdu(v1, pfx("10.0.0.0/8", 8, 1, true), now);
    s.on_pdu(v1, pfx("12.0.0.0/8", 8, 1, false), now);
    let out = s.on_pdu(v1, eod(1, None), now);
    assert!(matches!(
        out.as_slice(),
        [Action::Close {
            report: Some(Pdu::ErrorReport {
                code: ErrorCode::WithdrawalOfUnknownRecord,
                ..
            }),
            ..
        }]
    ));
    assert!(s.vrps().is_empty());
    assert_eq!(s.sync, None);
}

#[test]
fn cache_reset_asks_for_everything_again() {
    let now = Instant::now();
    let mut s = Session::new(Timers::default());
    s.connected();
    s.on_pdu(Version::V1, Pdu::CacheResponse { session_id: 7 }, now);
    s.on_pdu(Version::V1, eod(1, None), now);
    assert!(!s.refresh().is_empty());
    assert_eq!(
        s.on_pdu(Version::V1, Pdu::CacheReset, now),
        vec![Action::Send(Pdu::ResetQuery)]
    );
}

#[test]
fn data_expires_after_the_expire_interval() {
    let t0 = Instant::now();
    let mut s = Session::new(Timers::default());
    s.connected();
    s.on_pdu(Version::V1, Pdu::CacheResponse { session_id: 7 }, t0);
    s.on_pdu(Version::V1, pfx("10.0.0.0/8", 8, 1, true), t0);
    s.on_pdu(Version::V1, eod(1, None), t0);
    assert!(!s.expire(t0 + Duration::from_secs(7199)));
    assert!(s.expire(t0 + Duration::from_secs(7200)));
    assert!(s.vrps().is_empty());
    assert_eq!(s.sync, None);
}

#[test]
fn no_data_available_waits_the_retry_interval() {
    let mut s = Session::new(Timers::default());
    s.connected();
    let report = Pdu::ErrorReport {
        code: ErrorCode::NoDataAvailable,
        pdu: vec![],
        text: String::new(),
    };
    let out = s.on_pdu(Version::V1, report, Instant::now());
    assert!(matches!(
        out.as_slice(),
        [Action::Close { reconnect_after, .. }] if *reconnect_after == Duration::from_secs(600)
    ));
    assert_eq!(s.version, Version::V1);
}

#[test]
fn a_version_zero_answer_to_a_version_one_reset_query_downgrades_the_session() {
    let now = Instant::now();
    let mut s = Session::new(Timers::default());
    s.connected();
    let v0 = Version::V0;
    let notify = Pdu::SerialNotify {
        session_id: 1,
        serial: 1,
    };
    assert!(
        s.on_pdu(v0, notify, now).is_empty(),
        "ignored during start-up"
    );
    assert!(s
        .on_pdu(v0, Pdu::CacheResponse { session_id: 7 }, now)
        .is_empty());
    assert_eq!(s.version, Version::V0);
    s.on_pdu(v0, pfx("10.0.0.0/8", 8, 1, true), now);
    assert_eq!(s.on_pdu(v0, eod(1, None), now), vec![Action::Publish]);
    assert_eq!(s.vrps().len(), 1);
    // Now negotiated: a version 1 PDU is unexpected.
    let out = s.on_pdu(Version::V1, Pdu::CacheReset, now);
    assert!(matches!(
        out.as_slice(),
        [Action::Close {
            report: Some(Pdu::ErrorReport {
                code: ErrorCode::UnexpectedVersion,
                ..
            }),
            ..
        }]
    ));
}
