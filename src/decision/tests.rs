//! Unit tests for the decision key and the MED grouping; the per-step table
//! and the total-order property test live in `tests/decision_*.rs`.

use super::*;
use crate::wire::{AsPath, AsPathSegment, Origin, SegmentType};
use std::collections::HashSet;

/// An owned candidate (a [`Candidate`] borrows its attributes).
#[derive(Clone)]
struct Path {
    attrs: PathAttributes,
    ebgp: bool,
    peer_as: u32,
    router_id: Ipv4Addr,
    peer_address: IpAddr,
    stale: bool,
    rtt_ms: Option<u32>,
}

impl Path {
    /// An eBGP path from `asn` (path `[asn]`, ORIGIN IGP), router id and
    /// address derived from `n`.
    fn ebgp(asn: u32, n: u8) -> Path {
        Path {
            attrs: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::from_sequence(vec![asn])),
                ..PathAttributes::default()
            },
            ebgp: true,
            peer_as: asn,
            router_id: Ipv4Addr::new(10, 0, 0, n),
            peer_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
            stale: false,
            rtt_ms: None,
        }
    }

    fn rtt(mut self, ms: u32) -> Path {
        self.rtt_ms = Some(ms);
        self
    }

    fn med(mut self, med: u32) -> Path {
        self.attrs.med = Some(med);
        self
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

fn segment(kind: SegmentType, asns: &[u32]) -> AsPathSegment {
    AsPathSegment {
        kind,
        asns: asns.to_vec(),
    }
}

/// The cycle of the module docs: A beats B (MED), B beats C (router id),
/// C beats A (router id).
fn med_cycle() -> [Path; 3] {
    [
        Path::ebgp(64500, 3).med(5),
        Path::ebgp(64500, 1).med(10),
        Path::ebgp(64501, 2),
    ]
}

#[test]
fn neighbor_as_is_the_first_as_of_the_path() {
    let mut p = Path::ebgp(64500, 1);
    p.attrs.as_path = Some(AsPath::from_sequence(vec![64501, 64502]));
    assert_eq!(p.cand().neighbor_as(), 64501);
}

#[test]
fn neighbor_as_skips_confederation_segments() {
    let mut p = Path::ebgp(64500, 1);
    p.attrs.as_path = Some(AsPath {
        segments: vec![
            segment(SegmentType::ConfedSequence, &[65001, 65002]),
            segment(SegmentType::Sequence, &[64510, 64511]),
        ],
    });
    assert_eq!(p.cand().neighbor_as(), 64510);
}

#[test]
fn neighbor_as_falls_back_to_peer_as_for_empty_absent_or_set_first_paths() {
    let mut p = Path::ebgp(64500, 1);
    p.peer_as = 8075;
    p.attrs.as_path = Some(AsPath::default());
    assert_eq!(p.cand().neighbor_as(), 8075, "empty path");
    p.attrs.as_path = None;
    assert_eq!(p.cand().neighbor_as(), 8075, "absent path");
    p.attrs.as_path = Some(AsPath {
        segments: vec![
            segment(SegmentType::Set, &[64501, 64502]),
            segment(SegmentType::Sequence, &[64503]),
        ],
    });
    assert_eq!(p.cand().neighbor_as(), 8075, "path starting with AS_SET");
}

#[test]
fn originator_id_replaces_the_router_id() {
    let mut p = Path::ebgp(64500, 9);
    assert_eq!(p.cand().effective_router_id(), Ipv4Addr::new(10, 0, 0, 9));
    p.attrs.originator_id = Some(Ipv4Addr::new(10, 9, 9, 9));
    assert_eq!(p.cand().effective_router_id(), Ipv4Addr::new(10, 9, 9, 9));
}

#[test]
fn absent_local_pref_and_med_equal_their_defaults() {
    let absent = Path::ebgp(64500, 1);
    let mut explicit = absent.clone();
    explicit.attrs.local_pref = Some(DEFAULT_LOCAL_PREF);
    explicit.attrs.med = Some(ABSENT_MED);
    assert_eq!(
        compare(&absent.cand(), &explicit.cand()),
        (Ordering::Equal, Step::Equal)
    );
}

#[test]
fn missing_origin_loses_to_incomplete() {
    let mut incomplete = Path::ebgp(64500, 2);
    incomplete.attrs.origin = Some(Origin::Incomplete);
    let mut missing = Path::ebgp(64500, 1);
    missing.attrs.origin = None;
    assert_eq!(
        compare(&incomplete.cand(), &missing.cand()),
        (Ordering::Less, Step::Origin)
    );
}

#[test]
fn pairwise_rfc_comparison_of_the_med_example_is_a_cycle() {
    let [a, b, c] = med_cycle();
    let (a, b, c) = (a.cand(), b.cand(), c.cand());
    assert_eq!(explain(&a, &b), (Ordering::Less, Step::Med));
    assert_eq!(explain(&b, &c), (Ordering::Less, Step::RouterId));
    assert_eq!(explain(&c, &a), (Ordering::Less, Step::RouterId));
}

#[test]
fn compare_orders_the_med_example_by_neighbor_as_then_med() {
    let [a, b, c] = med_cycle();
    let (a, b, c) = (a.cand(), b.cand(), c.cand());
    assert_eq!(compare(&a, &b), (Ordering::Less, Step::Med));
    assert_eq!(compare(&b, &c), (Ordering::Less, Step::Med));
    assert_eq!(compare(&a, &c), (Ordering::Less, Step::Med));
}

#[test]
fn best_of_the_med_example_is_the_rfc_winner_in_every_input_order() {
    let paths = med_cycle();
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for perm in perms {
        let cands: Vec<Candidate> = perm.iter().map(|&i| paths[i].cand()).collect();
        let (winner, step) = best(&cands).unwrap_or((usize::MAX, Step::Equal));
        // C (index 2) wins: A eliminates B by MED, C beats A by router id.
        assert_eq!(perm.get(winner), Some(&2), "input order {perm:?}");
        assert_eq!(step, Step::RouterId, "C beat the runner-up A by router id");
        let ranked: Vec<usize> = rank(&cands).iter().map(|&i| perm[i]).collect();
        // Without C, A eliminates B by MED.
        assert_eq!(ranked, vec![2, 0, 1], "input order {perm:?}");
    }
}

#[test]
fn best_reports_med_when_the_runner_up_shares_the_neighbor_as() {
    let paths = [Path::ebgp(64500, 1).med(20), Path::ebgp(64500, 2).med(10)];
    let cands: Vec<Candidate> = paths.iter().map(Path::cand).collect();
    assert_eq!(best(&cands), Some((1, Step::Med)));
}

#[test]
fn med_is_not_compared_across_neighbor_ases() {
    // Lower MED from another AS does not help: router id decides.
    let paths = [Path::ebgp(64500, 1).med(20), Path::ebgp(64501, 2).med(10)];
    let cands: Vec<Candidate> = paths.iter().map(Path::cand).collect();
    assert_eq!(best(&cands), Some((0, Step::RouterId)));
    assert_eq!(
        explain(&cands[0], &cands[1]),
        (Ordering::Less, Step::RouterId)
    );
}

#[test]
fn best_of_one_candidate_reports_equal_and_of_none_is_none() {
    let p = Path::ebgp(64500, 1);
    assert_eq!(best(&[p.cand()]), Some((0, Step::Equal)));
    assert_eq!(best(&[]), None);
    assert_eq!(rank(&[]), Vec::<usize>::new());
}

#[test]
fn equal_candidates_keep_input_order() {
    let p = Path::ebgp(64500, 1);
    let cands = [p.cand(), p.cand(), p.cand()];
    assert_eq!(best(&cands), Some((0, Step::Equal)));
    assert_eq!(rank(&cands), vec![0, 1, 2]);
}

#[test]
fn step_labels_are_unique_and_all_steps_are_listed_in_order() {
    let labels: HashSet<&str> = Step::ALL.iter().map(|s| s.label()).collect();
    assert_eq!(labels.len(), Step::ALL.len());
    assert_eq!(Step::ALL.first(), Some(&Step::Stale));
    assert_eq!(Step::ALL.last(), Some(&Step::Equal));
    assert_eq!(Step::Med.to_string(), "lower MED from the same neighbor AS");
}

#[test]
fn rtt_decides_after_ebgp_and_before_router_id() {
    // Router id prefers 1; the lower RTT of 2 goes first.
    let paths = [Path::ebgp(64500, 1).rtt(30), Path::ebgp(64500, 2).rtt(20)];
    let cands: Vec<Candidate> = paths.iter().map(Path::cand).collect();
    assert_eq!(best(&cands), Some((1, Step::Rtt)));
    assert_eq!(rank(&cands), vec![1, 0]);
    assert_eq!(compare(&cands[1], &cands[0]), (Ordering::Less, Step::Rtt));
    assert_eq!(explain(&cands[1], &cands[0]), (Ordering::Less, Step::Rtt));
}

#[test]
fn rtt_never_outweighs_an_rfc_step() {
    // eBGP beats iBGP however slow the eBGP session.
    let mut ibgp = Path::ebgp(64500, 2).rtt(1);
    ibgp.ebgp = false;
    let paths = [Path::ebgp(64500, 1).rtt(500), ibgp];
    let cands: Vec<Candidate> = paths.iter().map(Path::cand).collect();
    assert_eq!(best(&cands), Some((0, Step::EbgpOverIbgp)));
    // A lower MED wins too.
    let paths = [
        Path::ebgp(64500, 1).med(5).rtt(500),
        Path::ebgp(64500, 2).med(10).rtt(1),
    ];
    let cands: Vec<Candidate> = paths.iter().map(Path::cand).collect();
    assert_eq!(best(&cands), Some((0, Step::Med)));
}

#[test]
fn without_rtt_the_order_is_the_rfc_one_and_an_unmeasured_session_goes_last() {
    let paths = [Path::ebgp(64500, 1), Path::ebgp(64500, 2)];
    let cands: Vec<Candidate> = paths.iter().map(Path::cand).collect();
    assert_eq!(best(&cands), Some((0, Step::RouterId)));
    // Equal RTTs: router id decides.
    let paths = [Path::ebgp(64500, 2).rtt(20), Path::ebgp(64500, 1).rtt(20)];
    let cands: Vec<Candidate> = paths.iter().map(Path::cand).collect();
    assert_eq!(best(&cands), Some((1, Step::RouterId)));
    // Only one measured: it goes first.
    let paths = [Path::ebgp(64500, 1), Path::ebgp(64500, 2).rtt(400)];
    let cands: Vec<Candidate> = paths.iter().map(Path::cand).collect();
    assert_eq!(best(&cands), Some((1, Step::Rtt)));
}
