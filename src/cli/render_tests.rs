//! Golden-string tests of the `show` tables.

use super::*;
use std::collections::BTreeMap;

pub(super) fn sample_neighbors() -> Vec<NeighborView> {
    vec![
        NeighborView {
            name: "contoso-ams-er1".into(),
            address: "192.0.2.2".into(),
            remote_as: 64500,
            location: "ams".into(),
            role: "peering-service".into(),
            state: "Established".into(),
            bfd_state: "Up".into(),
            uptime_s: 93_784,
            prefixes_received: 120,
            prefixes_accepted: 117,
            prefixes_rejected: BTreeMap::from([
                ("bogon".to_string(), 1),
                ("missing-community".to_string(), 2),
                ("private-asn".to_string(), 0),
            ]),
            last_error: None,
            state_since_s: 93_784,
            last_error_age_s: None,
            rfc8212: None,
            rtt_ms: Some(20.412),
            rtt_var_ms: Some(0.31),
            bfd_rx_interval_ms: Some(99.1),
            bfd_rx_jitter_ms: Some(6.04),
        },
        NeighborView {
            name: "fabrikam-fra-er2".into(),
            address: "2001:db8::2".into(),
            remote_as: 64511,
            location: "fra".into(),
            role: "peering-service".into(),
            state: "Active".into(),
            bfd_state: "Down".into(),
            uptime_s: 0,
            prefixes_received: 0,
            prefixes_accepted: 0,
            prefixes_rejected: BTreeMap::new(),
            last_error: Some("sent NOTIFICATION Hold Timer Expired".into()),
            state_since_s: 125,
            last_error_age_s: Some(3_725),
            rfc8212: Some(
                "imports and exports nothing: no built-in rules and no policy (RFC 8212)".into(),
            ),
            rtt_ms: None,
            rtt_var_ms: None,
            bfd_rx_interval_ms: None,
            bfd_rx_jitter_ms: None,
        },
    ]
}

pub(super) fn sample_routes() -> Vec<RouteView> {
    vec![
        RouteView {
            prefix: "203.0.113.0/24".into(),
            neighbor: "contoso-ams-er1".into(),
            peer: "192.0.2.2".into(),
            as_path: vec![AsPathElem::Asn(64500), AsPathElem::Asn(64501)],
            origin: "igp".into(),
            communities: vec!["8075:8007".into()],
            large_communities: vec!["8075:100:1".into()],
            next_hop: Some("192.0.2.2".into()),
            local_pref: Some(100),
            med: None,
            status: "accepted".into(),
            rule: None,
            reason: None,
            best: true,
            internet: false,
            rpki: None,
        },
        RouteView {
            prefix: "203.0.113.0/24".into(),
            neighbor: "fabrikam-fra-er2".into(),
            peer: "2001:db8::2".into(),
            as_path: vec![AsPathElem::Asn(64511), AsPathElem::Set(vec![64512, 64513])],
            origin: "incomplete".into(),
            communities: vec![],
            large_communities: vec![],
            next_hop: Some("2001:db8::2".into()),
            local_pref: None,
            med: Some(10),
            status: "rejected".into(),
            rule: Some("private-asn".into()),
            reason: Some("AS 64512 in AS path is private (RFC 6996)".into()),
            best: false,
            internet: false,
            rpki: None,
        },
    ]
}

pub(super) fn sample_decisions() -> Vec<DecisionView> {
    vec![
        DecisionView {
            prefix: "203.0.113.0/24".into(),
            peer_asn: 64500,
            state: "primary".into(),
            location: Some("ams".into()),
            primary: "ams".into(),
            backup: Some("fra".into()),
            neighbors: vec!["contoso-ams-er1".into(), "contoso-ams-er2".into()],
            local_pref: 300,
            community: Some("8075:1001".into()),
            reason: "2 sessions up at primary ams".into(),
            changed_at: 1_795_000_000,
        },
        DecisionView {
            prefix: "198.18.0.0/15".into(),
            peer_asn: 64511,
            state: "internet".into(),
            location: None,
            primary: "fra".into(),
            backup: None,
            neighbors: vec![],
            local_pref: 100,
            community: None,
            reason: "no session up at primary fra, backup none".into(),
            changed_at: 1_795_000_100,
        },
    ]
}

pub(super) fn sample_events() -> Vec<EventView> {
    vec![
        EventView {
            seq: 7,
            time_ms: 1_795_307_976_123,
            kind: "origin-mismatch".into(),
            neighbor: Some("fabrikam-fra-er2".into()),
            prefix: Some("203.0.113.0/24".into()),
            message: "203.0.113.0/24 registered to AS64500 originated by AS64511".into(),
            evidence: serde_json::json!({"expected": 64500, "seen": 64511}),
        },
        EventView {
            seq: 12,
            time_ms: 0,
            kind: "bfd-flap".into(),
            neighbor: None,
            prefix: None,
            message: "BFD Down".into(),
            evidence: serde_json::Value::Null,
        },
    ]
}

#[test]
fn neighbors_table_fits_80_columns_with_state_age_and_errors_below() {
    let want = "\
NAME                 AS  STATE        SINCE  BFD   RECV  ACPT  REJ
contoso-ams-er1   64500  Established  1d02h  Up     120   117    3
fabrikam-fra-er2  64511  Active       2m05s  Down     0     0    0

last errors:
fabrikam-fra-er2: sent NOTIFICATION Hold Timer Expired (1h02m ago)

policy:
fabrikam-fra-er2: imports and exports nothing: no built-in rules and no policy …
";
    assert_eq!(neighbors(&sample_neighbors(), false), want);
    let mut long = sample_neighbors();
    long[1].last_error = Some("x".repeat(200));
    for l in neighbors(&long, false).lines() {
        assert!(l.chars().count() <= NARROW, "{l}");
    }
}

#[test]
fn neighbors_wide_shows_every_column() {
    let want = "\
NAME              ADDRESS         AS  LOCATION  STATE        SINCE  BFD       BFD RX    UPTIME         RTT  RECEIVED  ACCEPTED  REJECTED  REJECTED BY RULE              LAST ERROR
contoso-ams-er1   192.0.2.2    64500  ams       Established  1d02h  Up    99.1±6.0ms  1d02h03m  20.4±0.3ms       120       117         3  bogon=1, missing-community=2  -
fabrikam-fra-er2  2001:db8::2  64511  fra       Active       2m05s  Down           -         -           -         0         0         0  -                             sent NOTIFICATION Hold Timer Expired (1h02m ago)
";
    assert_eq!(neighbors(&sample_neighbors(), true), want);
}

#[test]
fn routes_table_shows_sets_in_braces_and_the_rejecting_rule() {
    let want = "\
PREFIX          BEST  NEIGHBOR          NEXT HOP     AS PATH              COMMUNITIES           STATUS    REASON
203.0.113.0/24  *     contoso-ams-er1   192.0.2.2    64500 64501          8075:8007 8075:100:1  accepted  -
203.0.113.0/24        fabrikam-fra-er2  2001:db8::2  64511 {64512 64513}  -                     rejected  private-asn: AS 64512 in AS path is private (RFC 6996)
";
    assert_eq!(routes(&sample_routes()), want);
}

#[test]
fn decisions_table_shows_location_neighbors_and_reason() {
    let want = "\
PREFIX          STATE     LOCATION  NEIGHBORS                        LOCAL-PREF  REASON
203.0.113.0/24  primary   ams       contoso-ams-er1,contoso-ams-er2         300  2 sessions up at primary ams
198.18.0.0/15   internet  -         -                                       100  no session up at primary fra, backup none
";
    assert_eq!(decisions(&sample_decisions()), want);
}

#[test]
fn events_table_shows_utc_time_and_placeholders() {
    let want = "\
SEQ  TIME (UTC)               KIND             NEIGHBOR          PREFIX          MESSAGE
  7  2026-11-22 00:39:36.123  origin-mismatch  fabrikam-fra-er2  203.0.113.0/24  203.0.113.0/24 registered to AS64500 originated by AS64511
 12  1970-01-01 00:00:00.000  bfd-flap         -                 -               BFD Down
";
    assert_eq!(events(&sample_events()), want);
}

#[test]
fn followed_events_keep_the_columns_of_show_events_under_one_header() {
    let e = sample_events();
    let mut rows = EventRows::default();
    let first = rows.render(&e[..1]);
    let second = rows.render(&e[1..]);
    let want = concat!(
        "   SEQ  TIME (UTC)               KIND                      NEIGHBOR          PREFIX              MESSAGE\n",
        "     7  2026-11-22 00:39:36.123  origin-mismatch           fabrikam-fra-er2  203.0.113.0/24      203.0.113.0/24 registered to AS64500 originated by AS64511\n",
    );
    assert_eq!(first, want);
    assert_eq!(
        second,
        "    12  1970-01-01 00:00:00.000  bfd-flap                  -                 -                   BFD Down\n",
        "no second header, the same columns"
    );
    assert_eq!(rows.render(&[]), "", "nothing to print");
}

#[test]
fn empty_views_say_so_instead_of_printing_a_bare_header() {
    assert_eq!(neighbors(&[], false), "no neighbors configured\n");
    assert_eq!(routes(&[]), "no routes\n");
    assert_eq!(decisions(&[]), "no activated prefixes\n");
    assert_eq!(events(&[]), "no events\n");
}

#[test]
fn uptime_is_clock_style_under_a_day_then_days_then_weeks() {
    assert_eq!(uptime(0), "00:00:00");
    assert_eq!(uptime(3_723), "01:02:03");
    assert_eq!(uptime(86_399), "23:59:59");
    assert_eq!(uptime(86_400), "1d00h00m");
    assert_eq!(uptime(7 * 86_400 + 3 * 86_400 + 5 * 3600), "1w3d05h");
}

#[test]
fn utc_time_handles_leap_days_and_century_rules() {
    assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00:00.000");
    assert_eq!(utc_time(4_107_542_400_000), "2100-03-01 00:00:00.000");
    assert_eq!(utc_time(1_709_164_799_999), "2024-02-28 23:59:59.999");
}

#[test]
fn as_path_renders_sequences_and_sets() {
    assert_eq!(as_path(&[]), "");
    let p = [
        AsPathElem::Asn(1),
        AsPathElem::Set(vec![2, 3]),
        AsPathElem::Asn(4),
    ];
    assert_eq!(as_path(&p), "1 {2 3} 4");
}
