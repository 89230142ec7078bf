//! RFC 6811 validation tables and VRP set semantics (RFC 8210 §5.6).

use super::*;

use crate::wire::nlri::p;

fn table(vrps: &[(&str, u8, u32)]) -> VrpTable {
    let v: Vec<Vrp> = vrps.iter().map(|&(n, m, a)| Vrp::new(p(n), m, a)).collect();
    VrpTable::from_vrps(&v)
}

#[test]
fn validation_follows_rfc6811_one_row_per_case() {
    let t = table(&[
        ("10.0.0.0/16", 20, 65000),
        ("10.0.0.0/8", 8, 65010),
        ("192.0.2.0/24", 24, 0),
        ("198.51.100.0/24", 24, 0),
        ("198.51.100.0/24", 24, 64500),
        ("2001:db8::/32", 48, 65000),
        ("2001:db8:1::1/128", 128, 65020),
    ]);
    use RpkiState::*;
    let rows: &[(&str, Option<u32>, RpkiState, &str)] = &[
        (
            "10.0.0.0/16",
            Some(65000),
            Valid,
            "exact prefix, right origin",
        ),
        (
            "10.0.16.0/20",
            Some(65000),
            Valid,
            "more specific up to max length",
        ),
        (
            "10.0.16.0/21",
            Some(65000),
            Invalid,
            "one bit beyond max length",
        ),
        ("10.0.0.0/16", Some(65001), Invalid, "covered, wrong origin"),
        ("10.0.0.0/8", Some(65010), Valid, "the /8 VRP"),
        (
            "10.1.0.0/16",
            Some(65010),
            Invalid,
            "/8 VRP has max length 8",
        ),
        (
            "10.0.0.0/16",
            Some(65010),
            Invalid,
            "/8 VRP too short, /16 VRP other AS",
        ),
        ("11.0.0.0/8", Some(65000), NotFound, "no covering VRP"),
        (
            "10.0.0.0/7",
            Some(65000),
            NotFound,
            "less specific than every VRP",
        ),
        ("10.0.0.0/16", None, Invalid, "AS_SET origin when covered"),
        (
            "11.0.0.0/16",
            None,
            NotFound,
            "AS_SET origin, nothing covers",
        ),
        (
            "192.0.2.0/24",
            Some(0),
            Invalid,
            "AS0 VRP never matches (RFC 6483 §4)",
        ),
        ("192.0.2.0/24", Some(64500), Invalid, "AS0 VRP covers"),
        ("198.51.100.0/24", Some(64500), Valid, "AS0 plus a real VRP"),
        ("2001:db8::/32", Some(65000), Valid, "IPv6 exact"),
        ("2001:db8:ff::/48", Some(65000), Valid, "IPv6 at max length"),
        (
            "2001:db8:ff::/49",
            Some(65000),
            Invalid,
            "IPv6 beyond max length",
        ),
        ("2001:db8:1::1/128", Some(65020), Valid, "IPv6 /128 VRP"),
        (
            "2001:db8:1::1/128",
            Some(65000),
            Invalid,
            "/128 covered by both",
        ),
        ("2001:db9::/32", Some(65000), NotFound, "IPv6 not covered"),
    ];
    for &(prefix, origin, want, why) in rows {
        assert_eq!(
            t.validate(&p(prefix), origin),
            want,
            "{prefix} {origin:?}: {why}"
        );
    }
}

#[test]
fn an_empty_table_finds_nothing() {
    let t = VrpTable::default();
    assert!(t.is_empty());
    assert_eq!(t.validate(&p("10.0.0.0/8"), Some(1)), RpkiState::NotFound);
    assert_eq!(t.validate(&p("::/0"), None), RpkiState::NotFound);
}

#[test]
fn a_default_route_vrp_covers_everything_of_its_family() {
    let t = table(&[("0.0.0.0/0", 32, 65000)]);
    assert_eq!(t.validate(&p("1.2.3.4/32"), Some(65000)), RpkiState::Valid);
    assert_eq!(t.validate(&p("1.2.3.0/24"), Some(1)), RpkiState::Invalid);
    assert_eq!(
        t.validate(&p("2001:db8::/32"), Some(1)),
        RpkiState::NotFound
    );
}

#[test]
fn covering_lists_every_covering_vrp_longest_first_and_duplicates_collapse() {
    let t = table(&[
        ("10.0.0.0/8", 24, 1),
        ("10.0.0.0/16", 24, 2),
        ("10.0.0.0/16", 24, 2),
        ("10.1.0.0/16", 24, 3),
    ]);
    assert_eq!(t.len(), 3);
    let c: Vec<String> = t
        .covering(&p("10.0.5.0/24"))
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(c, vec!["10.0.0.0/16-24 AS2", "10.0.0.0/8-24 AS1"]);
    assert_eq!(t.iter().count(), 3);
}

#[test]
fn vrp_set_applies_a_transfer_atomically() {
    let a = Vrp::new(p("10.0.0.0/8"), 8, 1);
    let b = Vrp::new(p("11.0.0.0/8"), 8, 2);
    let mut s = VrpSet::default();
    s.apply(true, &[(true, a)]).unwrap();
    s.apply(false, &[(true, b), (false, a)]).unwrap();
    assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![b]);
    // The failing transfer leaves the set as it was.
    let err = s.apply(false, &[(false, b), (true, a), (false, a), (false, a)]);
    assert_eq!(err, Err(VrpSetError::UnknownWithdrawal(a)));
    assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![b]);
    assert_eq!(
        s.apply(false, &[(true, b)]),
        Err(VrpSetError::DuplicateAnnouncement(b))
    );
    assert_eq!(s.len(), 1);
    s.apply(true, &[]).unwrap();
    assert!(s.is_empty());
}

#[test]
fn rpki_state_names_round_trip() {
    for s in [RpkiState::Valid, RpkiState::Invalid, RpkiState::NotFound] {
        assert_eq!(RpkiState::parse(s.as_str()), Some(s));
    }
    assert_eq!(RpkiState::parse("unknown"), None);
}

#[test]
fn half_a_million_vrps_validate_with_hash_probes() {
    let mut v = Vec::new();
    for i in 0..500_000u32 {
        let addr = std::net::Ipv4Addr::from(0x0100_0000u32.wrapping_add(i << 8));
        let len = 16 + (i % 9) as u8;
        v.push(Vrp::new(
            Prefix::V4(ipnet::Ipv4Net::new(addr, len).unwrap()),
            24,
            i,
        ));
    }
    let t = VrpTable::from_vrps(&v);
    let started = std::time::Instant::now();
    let mut valid = 0;
    for i in 0..100_000u32 {
        let addr = std::net::Ipv4Addr::from(0x0100_0000u32.wrapping_add(i << 8));
        let pfx = Prefix::V4(ipnet::Ipv4Net::new(addr, 24).unwrap());
        if t.validate(&pfx, Some(i)) == RpkiState::Valid {
            valid += 1;
        }
    }
    assert!(valid > 0);
    // Generous bound for a debug build on a shared machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn changes_between_snapshots_are_the_vrps_that_came_or_went() {
    let old = table(&[("10.0.0.0/8", 8, 1), ("11.0.0.0/8", 8, 2)]);
    let new = table(&[("10.0.0.0/8", 8, 1), ("12.0.0.0/8", 16, 3)]);
    let d = old.changes(&new);
    let mut got: Vec<String> = d.iter().map(|v| v.to_string()).collect();
    got.sort();
    assert_eq!(got, vec!["11.0.0.0/8-8 AS2", "12.0.0.0/8-16 AS3"]);
    assert!(d.covers(&p("12.1.0.0/16")));
    assert!(!d.covers(&p("10.1.0.0/16")));
    assert!(old.changes(&old).is_empty());
}
