//! The decision key: every field of a [`Candidate`] the decision process
//! reads, with the RFC defaults applied, and the tie-break stages as one
//! table that [`total`], [`pairwise`] and [`across_groups`] walk.
//!
//! Pure functions called by `decision::{compare, explain, best, rank}` on the
//! route engine task; no state, no channels.

use super::{Candidate, Step, ABSENT_MED, DEFAULT_LOCAL_PREF};
use std::cmp::Ordering;
use std::net::IpAddr;

/// ORIGIN rank of a path without ORIGIN: after INCOMPLETE (= 2,
/// RFC 4271 §5.1.1), so a well-formed path always beats it.
const ORIGIN_ABSENT_RANK: u8 = 3;

/// A candidate reduced to what the decision compares (cheap to build: one
/// walk over the AS_PATH segments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key {
    pub(super) stale: bool,
    pub(super) local_pref: u32,
    pub(super) path_len: usize,
    pub(super) origin: u8,
    pub(super) neighbor_as: u32,
    pub(super) med: u32,
    pub(super) ebgp: bool,
    /// `u32::MAX` when the candidate has none: after every measured one.
    pub(super) rtt_ms: u32,
    pub(super) router_id: u32,
    pub(super) cluster_list_len: usize,
    pub(super) peer_address: IpAddr,
}

impl Key {
    /// Extracts the key, applying the defaults the module docs list.
    pub(super) fn of(c: &Candidate) -> Key {
        let attrs = &c.path;
        Key {
            stale: c.stale,
            local_pref: attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
            path_len: attrs.path_len,
            origin: attrs.origin.map_or(ORIGIN_ABSENT_RANK, |o| o as u8),
            neighbor_as: c.neighbor_as(),
            med: attrs.med.unwrap_or(ABSENT_MED),
            ebgp: c.ebgp,
            rtt_ms: c.rtt_ms.unwrap_or(u32::MAX),
            router_id: u32::from(c.effective_router_id()),
            cluster_list_len: attrs.cluster_list_len,
            peer_address: c.peer_address,
        }
    }
}

/// One tie-break: `Less` when the first key is preferred.
type Stage = (Step, fn(&Key, &Key) -> Ordering);

/// The steps before MED, in order (stale, §9.1.1, §9.1.2.2 a, b).
const BEFORE_MED: [Stage; 4] = [
    // false < true: the fresh path first.
    (Step::Stale, |a, b| a.stale.cmp(&b.stale)),
    // Reversed: higher is preferred.
    (Step::LocalPref, |a, b| b.local_pref.cmp(&a.local_pref)),
    (Step::AsPathLength, |a, b| a.path_len.cmp(&b.path_len)),
    (Step::Origin, |a, b| a.origin.cmp(&b.origin)),
];

/// The steps after MED, in order (§9.1.2.2 d, the optional RTT, f,
/// RFC 4456 §9, g; e skipped).
const AFTER_MED: [Stage; 5] = [
    // Reversed: true (eBGP) is preferred.
    (Step::EbgpOverIbgp, |a, b| b.ebgp.cmp(&a.ebgp)),
    (Step::Rtt, |a, b| a.rtt_ms.cmp(&b.rtt_ms)),
    (Step::RouterId, |a, b| a.router_id.cmp(&b.router_id)),
    (Step::ClusterListLength, |a, b| {
        a.cluster_list_len.cmp(&b.cluster_list_len)
    }),
    (Step::PeerAddress, |a, b| {
        a.peer_address.cmp(&b.peer_address)
    }),
];

/// The first stage that separates `a` and `b`, if any.
fn first_difference(stages: &[Stage], a: &Key, b: &Key) -> Option<(Ordering, Step)> {
    stages.iter().find_map(|(step, cmp)| match cmp(a, b) {
        Ordering::Equal => None,
        ord => Some((ord, *step)),
    })
}

/// The step before MED that separates `a` and `b`, if any: such pairs are
/// ordered the same way by every function here.
fn before_med(a: &Key, b: &Key) -> Option<(Ordering, Step)> {
    first_difference(&BEFORE_MED, a, b)
}

/// The total order behind `decision::compare`: the steps before MED, then
/// (neighbor AS, MED) as one lexicographic stage, then the steps after MED.
/// Lexicographic on a tuple of totally ordered fields, hence a total order.
pub(super) fn total(a: &Key, b: &Key) -> (Ordering, Step) {
    before_med(a, b)
        .or_else(
            || match a.neighbor_as.cmp(&b.neighbor_as).then(a.med.cmp(&b.med)) {
                Ordering::Equal => None,
                ord => Some((ord, Step::Med)),
            },
        )
        .or_else(|| first_difference(&AFTER_MED, a, b))
        .unwrap_or((Ordering::Equal, Step::Equal))
}

/// The RFC's pairwise view behind `decision::explain`: MED only when the
/// neighbor ASes match. Not transitive (see the module docs).
pub(super) fn pairwise(a: &Key, b: &Key) -> (Ordering, Step) {
    before_med(a, b)
        .or_else(|| {
            if a.neighbor_as != b.neighbor_as {
                return None;
            }
            match a.med.cmp(&b.med) {
                Ordering::Equal => None,
                ord => Some((ord, Step::Med)),
            }
        })
        .or_else(|| first_difference(&AFTER_MED, a, b))
        .unwrap_or((Ordering::Equal, Step::Equal))
}

/// The order between the winners of different neighbor-AS groups: every
/// step except MED, then [`total`] (which then decides by neighbor AS) so that
/// the result never depends on input order. A total order on the group
/// winners (lexicographic on (before-MED fields, after-MED fields, neighbor
/// AS, MED)).
pub(super) fn across_groups(a: &Key, b: &Key) -> Ordering {
    before_med(a, b)
        .or_else(|| first_difference(&AFTER_MED, a, b))
        .map_or_else(|| total(a, b).0, |(ord, _)| ord)
}
