//! Best-path selection (RFC 4271 §9.1.2.2 and the usual tie-breaks) as a
//! total order, and the nearest-edge decision for activated prefixes
//! (primary location, else backup, else internet). Pure functions: the route
//! engine calls them; no state, no I/O.

use crate::wire::PathAttributes;
use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

/// One candidate path for a prefix, as best-path selection sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub attrs: &'a PathAttributes,
    /// Learned over eBGP (remote AS != our AS).
    pub ebgp: bool,
    /// The neighbor's AS (for MED comparison when the path is empty).
    pub peer_as: u32,
    /// The neighbor's BGP identifier (ORIGINATOR_ID wins when present, RFC 4456 §9).
    pub router_id: Ipv4Addr,
    /// The neighbor's address (final tie-break).
    pub peer_address: IpAddr,
    /// Stale after a graceful restart (RFC 4724): loses to any fresh path.
    pub stale: bool,
}

/// The step of the decision process that separated two paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Step {
    /// A fresh path beats a stale one.
    Stale,
    /// Higher LOCAL_PREF (§9.1.1; 100 assumed when absent).
    LocalPref,
    /// Shorter AS_PATH (§9.1.2.2 a).
    AsPathLength,
    /// Lower ORIGIN (§9.1.2.2 b).
    Origin,
    /// Lower MED among paths from the same neighbor AS (§9.1.2.2 c).
    Med,
    /// eBGP over iBGP (§9.1.2.2 d).
    EbgpOverIbgp,
    /// Lower BGP identifier / ORIGINATOR_ID (§9.1.2.2 f, RFC 4456 §9).
    RouterId,
    /// Shorter CLUSTER_LIST (RFC 4456 §9).
    ClusterListLength,
    /// Lower peer address (§9.1.2.2 g).
    PeerAddress,
    /// Indistinguishable.
    Equal,
}

/// Compares two candidates: `Ordering::Less` means `a` is preferred.
/// A total order (checked by a property test), with the step that decided.
pub fn compare(a: &Candidate, b: &Candidate) -> (Ordering, Step) {
    let _ = (a, b);
    (Ordering::Equal, Step::Equal)
}

/// The index of the best candidate and the step that made it win over the
/// runner-up (`Step::Equal` when there is only one).
pub fn best(cands: &[Candidate]) -> Option<(usize, Step)> {
    if cands.is_empty() {
        None
    } else {
        Some((0, Step::Equal))
    }
}
