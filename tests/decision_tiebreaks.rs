//! One test per best-path tie-break step (RFC 4271 §9.1.2.2, RFC 4456 §9,
//! RFC 4724, and the optional session-RTT step), driven by one table: two candidates built from the same base
//! path and differing in one thing (or, in the "precedence" rows, in two
//! things, to show which step comes first) → the expected winner and step.
//!
//! Every row is checked through every entry point and in both argument
//! orders: `compare`, `explain`, `best` and `rank`.

use coldpotato::decision::{best, compare, explain, rank, Candidate, PathRank, Step};
use coldpotato::wire::{AsPath, AsPathSegment, Community, Origin, PathAttributes, SegmentType};
use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Our AS (the peer AS of iBGP paths).
const LOCAL_AS: u32 = 8075;

/// An owned candidate (its attributes whole; a `Candidate` holds what the decision reads of them).
#[derive(Clone)]
struct Path {
    attrs: PathAttributes,
    ebgp: bool,
    peer_as: u32,
    router_id: Ipv4Addr,
    peer_address: IpAddr,
    stale: bool,
    /// The session RTT of the optional tie-break (`None`: not used).
    rtt_ms: Option<u32>,
}

impl Path {
    /// The base of every row: a fresh eBGP path from AS 64500 with AS_PATH
    /// `64500 64510`, ORIGIN IGP, no LOCAL_PREF, no MED, router id 10.0.0.1,
    /// from 192.0.2.1.
    fn base() -> Path {
        Path {
            attrs: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::from_sequence(vec![64500, 64510])),
                next_hop: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
                ..PathAttributes::default()
            },
            ebgp: true,
            peer_as: 64500,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            peer_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            stale: false,
            rtt_ms: None,
        }
    }

    fn cand(&self) -> Candidate {
        Candidate {
            path: PathRank::of(&self.attrs),
            ebgp: self.ebgp,
            peer_as: self.peer_as,
            router_id: self.router_id,
            peer_address: self.peer_address,
            stale: self.stale,
            rtt_ms: self.rtt_ms,
        }
    }
}

/// Which of the two candidates is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Winner {
    A,
    B,
    Neither,
}

/// One row: `a` and `b` are the base path changed by their function.
struct Row {
    name: &'static str,
    a: fn(&mut Path),
    b: fn(&mut Path),
    /// The RFC's answer (`best`, `rank`, `explain`).
    winner: Winner,
    step: Step,
    /// `compare`'s answer when it differs from the RFC's: only for paths from
    /// different neighbor ASes that tie before MED (ordered by neighbor AS).
    compare: Option<(Winner, Step)>,
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn segment(kind: SegmentType, asns: &[u32]) -> AsPathSegment {
    AsPathSegment {
        kind,
        asns: asns.to_vec(),
    }
}

fn path(segments: &[(SegmentType, &[u32])]) -> Option<AsPath> {
    Some(AsPath {
        segments: segments.iter().map(|(k, a)| segment(*k, a)).collect(),
    })
}

fn unchanged(_: &mut Path) {}

/// Turns a path into an iBGP one from our AS (keeping its AS_PATH).
fn ibgp(p: &mut Path) {
    p.ebgp = false;
    p.peer_as = LOCAL_AS;
}

use SegmentType::{ConfedSequence, Sequence, Set};
use Winner::{Neither, A, B};

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    vec![
        // --- fresh over stale (RFC 4724) ---
        Row { name: "fresh path beats stale path", a: unchanged, b: |p| p.stale = true,
              winner: A, step: Step::Stale, compare: None },
        Row { name: "precedence: stale loses despite higher LOCAL_PREF",
              a: |p| { p.stale = true; p.attrs.local_pref = Some(500) }, b: unchanged,
              winner: B, step: Step::Stale, compare: None },

        // --- highest LOCAL_PREF (§9.1.1) ---
        Row { name: "higher LOCAL_PREF wins", a: |p| p.attrs.local_pref = Some(200),
              b: |p| p.attrs.local_pref = Some(150), winner: A, step: Step::LocalPref, compare: None },
        Row { name: "absent LOCAL_PREF counts as 100 and beats 99", a: unchanged,
              b: |p| p.attrs.local_pref = Some(99), winner: A, step: Step::LocalPref, compare: None },
        Row { name: "absent LOCAL_PREF counts as 100 and loses to 101", a: unchanged,
              b: |p| p.attrs.local_pref = Some(101), winner: B, step: Step::LocalPref, compare: None },
        Row { name: "precedence: LOCAL_PREF before AS_PATH length",
              a: |p| { p.attrs.local_pref = Some(200); p.attrs.as_path = path(&[(Sequence, &[64500, 64510, 64520, 64530])]) },
              b: unchanged, winner: A, step: Step::LocalPref, compare: None },

        // --- shortest AS_PATH (§9.1.2.2 a) ---
        Row { name: "shorter AS_SEQUENCE wins", a: |p| p.attrs.as_path = path(&[(Sequence, &[64500])]),
              b: unchanged, winner: A, step: Step::AsPathLength, compare: None },
        Row { name: "prepending lengthens the path",
              a: unchanged, b: |p| p.attrs.as_path = path(&[(Sequence, &[64500, 64500, 64510])]),
              winner: A, step: Step::AsPathLength, compare: None },
        Row { name: "an AS_SET counts as one AS however many it holds",
              a: |p| p.attrs.as_path = path(&[(Sequence, &[64500]), (Set, &[64510, 64511, 64512, 64513])]),
              b: |p| p.attrs.as_path = path(&[(Sequence, &[64500, 64510, 64511])]),
              winner: A, step: Step::AsPathLength, compare: None },
        Row { name: "an AS_SET-only path has length one",
              a: |p| p.attrs.as_path = path(&[(Set, &[64500, 64501, 64502])]),
              b: unchanged, winner: A, step: Step::AsPathLength, compare: None },
        Row { name: "confederation segments count zero",
              a: |p| p.attrs.as_path = path(&[(ConfedSequence, &[65001, 65002, 65003]), (Sequence, &[64500, 64510])]),
              b: |p| p.attrs.as_path = path(&[(Sequence, &[64500, 64510, 64511])]),
              winner: A, step: Step::AsPathLength, compare: None },
        Row { name: "empty path from iBGP (locally originated) beats any non-empty path",
              a: |p| { ibgp(p); p.attrs.as_path = Some(AsPath::default()) },
              b: ibgp, winner: A, step: Step::AsPathLength, compare: None },
        Row { name: "absent AS_PATH counts as empty",
              a: ibgp, b: |p| { ibgp(p); p.attrs.as_path = None },
              winner: B, step: Step::AsPathLength, compare: None },
        Row { name: "precedence: AS_PATH length before ORIGIN",
              a: |p| { p.attrs.as_path = path(&[(Sequence, &[64500])]); p.attrs.origin = Some(Origin::Incomplete) },
              b: unchanged, winner: A, step: Step::AsPathLength, compare: None },

        // --- lowest ORIGIN (§9.1.2.2 b) ---
        Row { name: "IGP beats EGP", a: unchanged, b: |p| p.attrs.origin = Some(Origin::Egp),
              winner: A, step: Step::Origin, compare: None },
        Row { name: "EGP beats INCOMPLETE", a: |p| p.attrs.origin = Some(Origin::Incomplete),
              b: |p| p.attrs.origin = Some(Origin::Egp), winner: B, step: Step::Origin, compare: None },
        Row { name: "missing ORIGIN loses to INCOMPLETE", a: |p| p.attrs.origin = None,
              b: |p| p.attrs.origin = Some(Origin::Incomplete), winner: B, step: Step::Origin, compare: None },
        Row { name: "precedence: ORIGIN before MED", a: |p| p.attrs.med = Some(1000),
              b: |p| p.attrs.origin = Some(Origin::Egp), winner: A, step: Step::Origin, compare: None },

        // --- lowest MED within one neighbor AS (§9.1.2.2 c) ---
        Row { name: "lower MED from the same neighbor AS wins", a: |p| p.attrs.med = Some(20),
              b: |p| p.attrs.med = Some(10), winner: B, step: Step::Med, compare: None },
        Row { name: "absent MED counts as 0 and beats MED 1", a: |p| p.attrs.med = Some(1),
              b: unchanged, winner: B, step: Step::Med, compare: None },
        Row { name: "MED compares iBGP paths through the same neighbor AS",
              a: |p| { ibgp(p); p.attrs.med = Some(5) }, b: |p| { ibgp(p); p.attrs.med = Some(7) },
              winner: A, step: Step::Med, compare: None },
        Row { name: "MED compares empty iBGP paths (neighbor AS = local AS)",
              a: |p| { ibgp(p); p.attrs.as_path = Some(AsPath::default()); p.attrs.med = Some(9) },
              b: |p| { ibgp(p); p.attrs.as_path = Some(AsPath::default()); p.attrs.med = Some(3) },
              winner: B, step: Step::Med, compare: None },
        Row { name: "MED compares paths whose neighbor AS sits after a confederation segment",
              a: |p| { p.attrs.as_path = path(&[(ConfedSequence, &[65001]), (Sequence, &[64500, 64510])]); p.attrs.med = Some(30) },
              b: |p| p.attrs.med = Some(40), winner: A, step: Step::Med, compare: None },
        Row { name: "precedence: MED within one neighbor AS before eBGP over iBGP",
              a: |p| p.attrs.med = Some(50), b: |p| { ibgp(p); p.attrs.med = Some(40) },
              winner: B, step: Step::Med, compare: None },
        Row { name: "MED is not compared across neighbor ASes (lower AS also wins compare)",
              a: |p| { p.attrs.med = Some(20) },
              b: |p| { p.peer_as = 64501; p.attrs.as_path = path(&[(Sequence, &[64501, 64510])]);
                       p.attrs.med = Some(10); p.router_id = v4(10, 0, 0, 2) },
              winner: A, step: Step::RouterId, compare: Some((A, Step::Med)) },
        Row { name: "MED is not compared across neighbor ASes (compare groups by lower AS)",
              a: |p| { p.peer_as = 64501; p.attrs.as_path = path(&[(Sequence, &[64501, 64510])]); p.attrs.med = Some(20) },
              b: |p| { p.attrs.med = Some(10); p.router_id = v4(10, 0, 0, 2) },
              winner: A, step: Step::RouterId, compare: Some((B, Step::Med)) },
        Row { name: "MED is not compared between AS_SET-first paths from different peers",
              a: |p| { p.attrs.as_path = path(&[(Set, &[64500, 64501])]); p.attrs.med = Some(20) },
              b: |p| { p.peer_as = 64502; p.attrs.as_path = path(&[(Set, &[64500, 64501])]);
                       p.attrs.med = Some(10); p.router_id = v4(10, 0, 0, 2) },
              winner: A, step: Step::RouterId, compare: Some((A, Step::Med)) },

        // --- eBGP over iBGP (§9.1.2.2 d) ---
        Row { name: "eBGP path beats iBGP path", a: ibgp, b: unchanged,
              winner: B, step: Step::EbgpOverIbgp, compare: None },
        Row { name: "precedence: eBGP over iBGP before router id",
              a: |p| { ibgp(p); p.router_id = v4(10, 0, 0, 0) }, b: |p| p.router_id = v4(10, 0, 0, 9),
              winner: B, step: Step::EbgpOverIbgp, compare: None },

        // --- lower session RTT (optional, `[router] rtt_tiebreak`) ---
        Row { name: "lower RTT wins", a: |p| p.rtt_ms = Some(30), b: |p| p.rtt_ms = Some(20),
              winner: B, step: Step::Rtt, compare: None },
        Row { name: "a measured RTT beats none", a: unchanged, b: |p| p.rtt_ms = Some(400),
              winner: B, step: Step::Rtt, compare: None },
        Row { name: "precedence: eBGP over iBGP before RTT",
              a: |p| { ibgp(p); p.rtt_ms = Some(1) }, b: |p| p.rtt_ms = Some(50),
              winner: B, step: Step::EbgpOverIbgp, compare: None },
        Row { name: "precedence: RTT before router id",
              a: |p| { p.rtt_ms = Some(20); p.router_id = v4(10, 0, 0, 9) },
              b: |p| { p.rtt_ms = Some(30); p.router_id = v4(10, 0, 0, 2) },
              winner: A, step: Step::Rtt, compare: None },
        Row { name: "equal RTTs: router id decides",
              a: |p| { p.rtt_ms = Some(20); p.router_id = v4(10, 0, 0, 9) },
              b: |p| { p.rtt_ms = Some(20); p.router_id = v4(10, 0, 0, 2) },
              winner: B, step: Step::RouterId, compare: None },

        // --- lowest BGP identifier / ORIGINATOR_ID (§9.1.2.2 f, RFC 4456 §9) ---
        Row { name: "lower router id wins", a: |p| p.router_id = v4(10, 0, 0, 2),
              b: |p| p.router_id = v4(10, 0, 0, 3), winner: A, step: Step::RouterId, compare: None },
        Row { name: "router ids compare as numbers, not strings", a: |p| p.router_id = v4(10, 0, 0, 10),
              b: |p| p.router_id = v4(10, 0, 0, 9), winner: B, step: Step::RouterId, compare: None },
        Row { name: "ORIGINATOR_ID stands in for the router id",
              a: |p| { ibgp(p); p.router_id = v4(10, 0, 0, 1); p.attrs.originator_id = Some(v4(10, 0, 0, 7)) },
              b: |p| { ibgp(p); p.router_id = v4(10, 0, 0, 5) },
              winner: B, step: Step::RouterId, compare: None },
        Row { name: "precedence: router id before CLUSTER_LIST length",
              a: |p| { ibgp(p); p.router_id = v4(10, 0, 0, 1); p.attrs.cluster_list = vec![v4(1, 1, 1, 1), v4(2, 2, 2, 2)] },
              b: |p| { ibgp(p); p.router_id = v4(10, 0, 0, 2) },
              winner: A, step: Step::RouterId, compare: None },

        // --- shortest CLUSTER_LIST (RFC 4456 §9) ---
        Row { name: "shorter CLUSTER_LIST wins",
              a: |p| { ibgp(p); p.attrs.originator_id = Some(v4(10, 9, 9, 9)); p.attrs.cluster_list = vec![v4(1, 1, 1, 1), v4(2, 2, 2, 2)] },
              b: |p| { ibgp(p); p.attrs.originator_id = Some(v4(10, 9, 9, 9)); p.attrs.cluster_list = vec![v4(3, 3, 3, 3)] },
              winner: B, step: Step::ClusterListLength, compare: None },
        Row { name: "no CLUSTER_LIST beats one", a: |p| p.attrs.cluster_list = vec![v4(1, 1, 1, 1)],
              b: unchanged, winner: B, step: Step::ClusterListLength, compare: None },
        Row { name: "precedence: CLUSTER_LIST length before peer address",
              a: |p| { p.attrs.cluster_list = vec![v4(1, 1, 1, 1)]; p.peer_address = IpAddr::V4(v4(192, 0, 2, 0)) },
              b: unchanged, winner: B, step: Step::ClusterListLength, compare: None },

        // --- lowest peer address (§9.1.2.2 g) ---
        Row { name: "lower peer address wins", a: |p| p.peer_address = IpAddr::V4(v4(192, 0, 2, 20)),
              b: |p| p.peer_address = IpAddr::V4(v4(192, 0, 2, 3)), winner: B, step: Step::PeerAddress, compare: None },
        Row { name: "IPv4 peer address sorts before IPv6",
              a: |p| p.peer_address = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
              b: |p| p.peer_address = IpAddr::V4(v4(203, 0, 113, 255)), winner: B, step: Step::PeerAddress, compare: None },
        Row { name: "IPv6 peer addresses compare numerically",
              a: |p| p.peer_address = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10)),
              b: |p| p.peer_address = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x9)), winner: B, step: Step::PeerAddress, compare: None },

        // --- indistinguishable ---
        Row { name: "identical paths are equal", a: unchanged, b: unchanged,
              winner: Neither, step: Step::Equal, compare: None },
        Row { name: "attributes the decision does not read do not matter",
              a: |p| p.attrs.communities = vec![Community::new(8075, 8007)],
              b: |p| p.attrs.next_hop = Some(IpAddr::V4(v4(192, 0, 2, 99))),
              winner: Neither, step: Step::Equal, compare: None },
        Row { name: "explicit defaults equal absent LOCAL_PREF and MED",
              a: |p| { p.attrs.local_pref = Some(100); p.attrs.med = Some(0) }, b: unchanged,
              winner: Neither, step: Step::Equal, compare: None },
        Row { name: "same router id via ORIGINATOR_ID or BGP identifier",
              a: |p| p.attrs.originator_id = Some(v4(10, 0, 0, 1)), b: unchanged,
              winner: Neither, step: Step::Equal, compare: None },
    ]
}

fn ordering_of(w: Winner) -> Ordering {
    match w {
        A => Ordering::Less,
        B => Ordering::Greater,
        Neither => Ordering::Equal,
    }
}

/// Checks one row through every entry point, both ways round.
fn check(row: &Row) {
    let (mut pa, mut pb) = (Path::base(), Path::base());
    (row.a)(&mut pa);
    (row.b)(&mut pb);
    let (a, b) = (pa.cand(), pb.cand());
    let name = row.name;

    let rfc = (ordering_of(row.winner), row.step);
    let (cw, cs) = row.compare.unwrap_or((row.winner, row.step));
    let total = (ordering_of(cw), cs);
    assert_eq!(compare(&a, &b), total, "compare(a, b): {name}");
    assert_eq!(
        compare(&b, &a),
        (total.0.reverse(), total.1),
        "compare(b, a): {name}"
    );
    assert_eq!(explain(&a, &b), rfc, "explain(a, b): {name}");
    assert_eq!(
        explain(&b, &a),
        (rfc.0.reverse(), rfc.1),
        "explain(b, a): {name}"
    );

    // best/rank on [a, b] and [b, a]: the RFC winner, first among equals.
    let (ab, ba) = match row.winner {
        A => ((0, vec![0, 1]), (1, vec![1, 0])),
        B => ((1, vec![1, 0]), (0, vec![0, 1])),
        Neither => ((0, vec![0, 1]), (0, vec![0, 1])),
    };
    assert_eq!(
        best(&[a, b]),
        Some((ab.0, row.step)),
        "best([a, b]): {name}"
    );
    assert_eq!(
        best(&[b, a]),
        Some((ba.0, row.step)),
        "best([b, a]): {name}"
    );
    assert_eq!(rank(&[a, b]), ab.1, "rank([a, b]): {name}");
    assert_eq!(rank(&[b, a]), ba.1, "rank([b, a]): {name}");
}

/// Runs every row whose RFC step is `step`; there must be at least one.
fn check_step(step: Step) {
    let rows: Vec<Row> = rows().into_iter().filter(|r| r.step == step).collect();
    assert!(!rows.is_empty(), "no row for {step:?}");
    for row in &rows {
        check(row);
    }
}

#[test]
fn fresh_path_beats_stale_path() {
    check_step(Step::Stale);
}

#[test]
fn highest_local_pref_wins() {
    check_step(Step::LocalPref);
}

#[test]
fn shortest_as_path_wins() {
    check_step(Step::AsPathLength);
}

#[test]
fn lowest_origin_wins() {
    check_step(Step::Origin);
}

#[test]
fn lowest_med_wins_within_one_neighbor_as_only() {
    check_step(Step::Med);
}

#[test]
fn ebgp_path_beats_ibgp_path() {
    check_step(Step::EbgpOverIbgp);
}

#[test]
fn lower_rtt_wins_when_the_tiebreak_supplies_it() {
    check_step(Step::Rtt);
}

#[test]
fn lowest_router_id_or_originator_id_wins() {
    check_step(Step::RouterId);
}

#[test]
fn shortest_cluster_list_wins() {
    check_step(Step::ClusterListLength);
}

#[test]
fn lowest_peer_address_wins() {
    check_step(Step::PeerAddress);
}

#[test]
fn indistinguishable_paths_are_equal() {
    check_step(Step::Equal);
}

#[test]
fn every_step_has_a_row_and_row_names_are_unique() {
    let rows = rows();
    for step in Step::ALL {
        assert!(rows.iter().any(|r| r.step == step), "no row for {step:?}");
    }
    let mut names: Vec<&str> = rows.iter().map(|r| r.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), rows.len());
}
