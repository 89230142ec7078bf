//! Best-path selection: RFC 4271 §9.1.2.2 and the usual tie-breaks, as a
//! total order ([`compare`]) and as the RFC's set-wise elimination
//! ([`best`], [`rank`]).
//!
//! **Owns** nothing but pure functions over [`Candidate`]s: no state, no I/O,
//! no channels. **Run by** the route engine task (the sole owner of the RIB)
//! each time the candidate set of a prefix changes, and by the code that
//! builds API views, which calls [`explain`] to say why one path lost to
//! another. The nearest-edge choice (primary location, else backup, else
//! internet) is the engine's; it ranks the candidates of one location with
//! [`rank`].
//!
//! # The decision process as the RFCs write it
//!
//! RFC 4271 §9.1.1 gives every route a degree of preference (LOCAL_PREF for
//! routes learned over iBGP, local policy for eBGP); §9.1.2.1 drops routes
//! whose NEXT_HOP cannot be resolved. Among the routes with the highest degree
//! of preference, §9.1.2.2 removes routes from consideration, in order:
//!
//! 1. (a) all but the routes with the shortest AS_PATH: an AS_SET counts as
//!    one AS, however many it holds; confederation segments count zero
//!    (RFC 5065 §5.3);
//! 2. (b) all but the routes with the lowest ORIGIN (IGP < EGP < INCOMPLETE);
//! 3. (c) every route for which another remaining route **from the same
//!    neighbor AS** has a lower MULTI_EXIT_DISC. A missing MED counts as the
//!    lowest possible value. The neighbor AS is the first AS of the AS_PATH;
//!    for a route whose path is empty or starts with an AS_SET it is the AS of
//!    the speaker that sent it (the local AS for iBGP);
//! 4. (d) the routes learned over iBGP, if any route learned over eBGP remains;
//! 5. (e) all but the routes with the lowest interior cost to the NEXT_HOP;
//! 6. (f) all but the route from the speaker with the lowest BGP Identifier —
//!    the ORIGINATOR_ID stands in for it when present (RFC 4456 §9);
//! 7. (RFC 4456 §9, between f and g) all but the routes with the shortest
//!    CLUSTER_LIST;
//! 8. (g) all but the route from the lowest peer address.
//!
//! # Our implementation
//!
//! * **Stale paths first out.** Before LOCAL_PREF, a fresh path beats a path
//!   kept stale across a peer's graceful restart (RFC 4724 §4.2 keeps stale
//!   paths usable; preferring fresh ones moves traffic off a restarting peer
//!   as soon as an alternative exists). [`Step::Stale`].
//! * **LOCAL_PREF is the degree of preference**, 100 when absent
//!   ([`DEFAULT_LOCAL_PREF`]). Import policy sets it for eBGP routes; this
//!   module reads what the attributes say.
//! * **Missing ORIGIN** (possible only for a route that escaped RFC 7606
//!   treat-as-withdraw, or a local route built without one) ranks after
//!   INCOMPLETE.
//! * **Missing AS_PATH** is an empty path (length 0, neighbor AS = `peer_as`).
//! * **Step (e), IGP cost, is skipped**: coldpotato does not program the
//!   forwarding plane and has no IGP view, so every NEXT_HOP costs the same.
//!   Unresolvable next hops (§9.1.2.1) are the engine's business: it only
//!   hands usable routes to this module.
//! * **Peer addresses** compare as [`IpAddr`] does: every IPv4 address sorts
//!   before every IPv6 address.
//! * **RTT, optional, between (d) and (f).** When the engine fills in
//!   [`Candidate::rtt_ms`] (the `[router] rtt_tiebreak` option, for the
//!   sessions of one location only), the lower session RTT goes first after
//!   eBGP over iBGP ([`Step::Rtt`]); a candidate without one sorts after
//!   every candidate with one. Left `None` everywhere (the default) the step
//!   never separates two paths and the process is exactly the RFC's.
//!
//! ## Why there are two answers: the MED problem
//!
//! Step (c) is set-based. Read as a pairwise comparison ("compare MEDs if the
//! neighbor ASes match, else go on to step d"), it is not transitive:
//!
//! | path | neighbor AS | MED | router id |
//! |------|-------------|-----|-----------|
//! | A    | 64500       | 5   | 10.0.0.3  |
//! | B    | 64500       | 10  | 10.0.0.1  |
//! | C    | 64501       | —   | 10.0.0.2  |
//!
//! A beats B (MED), B beats C (router id), C beats A (router id): a cycle, so
//! the winner of a naive "keep the better of the best so far and the next
//! one" loop depends on arrival order (the classic MED churn that vendors'
//! `deterministic-med` knobs exist for). The RFC's answer for {A, B, C} is C:
//! A eliminates B at step (c), then C beats A at step (f).
//!
//! No total order can agree with the RFC on every set (on the three pairs
//! above the RFC picks A, B and C). And a total order that keeps MED within
//! one neighbor AS has no freedom between two neighbor ASes: if path x of AS
//! X and path y of AS Y are tied before MED, the MEDs of X's paths can be
//! chosen to put any two of them in either order, so transitivity forces
//! every path of X to sit on the same side of y — the order between
//! different neighbor ASes can depend on the ASes alone. Hence:
//!
//! * [`compare`] is the total order (stale, LOCAL_PREF, AS_PATH length,
//!   ORIGIN, **neighbor AS**, MED, eBGP, RTT when given, router id,
//!   CLUSTER_LIST length, peer address). MED is only ever compared inside one neighbor AS; between
//!   paths tied before MED, the lower neighbor AS number goes first and the
//!   [`Step`] reported is [`Step::Med`] (the MED stage, grouped by neighbor
//!   AS). It is the right tool to sort, store, deduplicate or binary-search
//!   candidates; it is *not* the RFC's winner when paths from several
//!   neighbor ASes tie before MED (it picks the lowest AS, the RFC goes on
//!   to eBGP/router id/…).
//! * [`best`] is the RFC's set-wise elimination, computed as "deterministic
//!   MED": within each neighbor AS the best path by [`compare`] (MED counts),
//!   then across those group winners the best by every step except MED. This
//!   is exactly §9.1.2.2's result (the survivors of (c) in a group are its
//!   lowest-MED paths, and the group winner is the best of them by d–g), and
//!   it does not depend on the order of the input. Ties between group winners
//!   that every RFC step leaves equal fall back to [`compare`], so the answer
//!   is deterministic.
//! * [`rank`] repeats [`best`] on what is left: `rank[0]` is `best`'s winner
//!   and every later entry is the RFC winner among the ones after it. It
//!   agrees with [`compare`] on every pair except two paths from different
//!   neighbor ASes that tie before MED, which the RFC (and [`rank`]) order by
//!   eBGP/router id/… and [`compare`] by AS number. In particular, when all
//!   candidates share one neighbor AS (the usual case for one registered
//!   prefix at one location), [`rank`] is exactly [`compare`]'s stable sort.
//! * [`explain`] is the RFC's pairwise comparison (MED only within one
//!   neighbor AS, otherwise skipped): not transitive, meant to say why
//!   `rank[i]` is ahead of `rank[i + 1]` — it never contradicts [`rank`] on
//!   such neighbors.
//!
//! `compare` returns `Ordering::Equal` only for candidates whose decision
//! fields (with the defaults above applied) are all equal; [`best`] and
//! [`rank`] keep such candidates in input order. ADD-PATH paths from one peer
//! that differ only in attributes the decision does not read (NEXT_HOP,
//! communities) are such candidates: pass them in a stable order.

mod key;
mod select;
#[cfg(test)]
mod tests;

use crate::wire::{Origin, PathAttributes};
use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// LOCAL_PREF assumed for a path without one (the customary default of
/// BIRD, FRR, OpenBGPD and GoBGP; RFC 4271 §9.1.1 leaves it to policy).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// MED assumed for a path without one: the lowest possible value
/// (RFC 4271 §9.1.2.2 c).
pub const ABSENT_MED: u32 = 0;

/// What the decision process reads of a path's attributes, and nothing
/// else: built from decoded attributes ([`PathRank::of`]) or, by the route
/// engine, straight from an interned set's packed bytes (no unpacking).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathRank {
    pub local_pref: Option<u32>,
    /// AS_PATH length as §9.1.2.2 a counts it (an AS_SET counts one,
    /// confederation segments none); 0 without AS_PATH.
    pub path_len: usize,
    /// The first AS of a leading AS_SEQUENCE, confederation segments
    /// skipped ([`crate::wire::AsPath::first_as`]).
    pub first_as: Option<u32>,
    pub origin: Option<Origin>,
    pub med: Option<u32>,
    pub originator_id: Option<Ipv4Addr>,
    pub cluster_list_len: usize,
}

impl PathRank {
    /// The decision's view of `a`.
    pub fn of(a: &PathAttributes) -> PathRank {
        PathRank {
            local_pref: a.local_pref,
            path_len: a.as_path.as_ref().map_or(0, |p| p.path_len()),
            first_as: a.as_path.as_ref().and_then(|p| p.first_as()),
            origin: a.origin,
            med: a.med,
            originator_id: a.originator_id,
            cluster_list_len: a.cluster_list.len(),
        }
    }
}

/// One candidate path for a prefix, as best-path selection sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// What the decision reads of its attributes.
    pub path: PathRank,
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
    /// The session's round-trip time in milliseconds, for the optional RTT
    /// tie-break ([`Step::Rtt`]); `None` (the default) takes no part, and
    /// loses to any candidate that has one.
    pub rtt_ms: Option<u32>,
}

impl Candidate {
    /// The AS whose MEDs this path's MED may be compared with
    /// (RFC 4271 §9.1.2.2 c): the first AS of the AS_PATH, skipping
    /// confederation segments, or `peer_as` when the path is empty, absent or
    /// starts with an AS_SET (for iBGP, `peer_as` is the local AS, as the RFC
    /// asks).
    pub fn neighbor_as(&self) -> u32 {
        self.path.first_as.unwrap_or(self.peer_as)
    }

    /// The identifier step (f) compares: ORIGINATOR_ID when present
    /// (RFC 4456 §9), else the neighbor's BGP identifier.
    pub fn effective_router_id(&self) -> Ipv4Addr {
        self.path.originator_id.unwrap_or(self.router_id)
    }
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
    /// In [`compare`] only, also "lower neighbor AS" between paths from
    /// different neighbor ASes that tie before MED (see the module docs).
    Med,
    /// eBGP over iBGP (§9.1.2.2 d).
    EbgpOverIbgp,
    /// Lower session RTT: the optional tie-break between sessions of one
    /// location (`[router] rtt_tiebreak`), not an RFC step.
    Rtt,
    /// Lower BGP identifier / ORIGINATOR_ID (§9.1.2.2 f, RFC 4456 §9).
    RouterId,
    /// Shorter CLUSTER_LIST (RFC 4456 §9).
    ClusterListLength,
    /// Lower peer address (§9.1.2.2 g).
    PeerAddress,
    /// Indistinguishable.
    Equal,
}

impl Step {
    /// Every step, in decision order (`Equal` last).
    pub const ALL: [Step; 11] = [
        Step::Stale,
        Step::LocalPref,
        Step::AsPathLength,
        Step::Origin,
        Step::Med,
        Step::EbgpOverIbgp,
        Step::Rtt,
        Step::RouterId,
        Step::ClusterListLength,
        Step::PeerAddress,
        Step::Equal,
    ];

    /// A short stable label for metrics, logs and JSON (`"local-pref"`).
    pub const fn label(self) -> &'static str {
        match self {
            Step::Stale => "stale",
            Step::LocalPref => "local-pref",
            Step::AsPathLength => "as-path-length",
            Step::Origin => "origin",
            Step::Med => "med",
            Step::EbgpOverIbgp => "ebgp-over-ibgp",
            Step::Rtt => "rtt",
            Step::RouterId => "router-id",
            Step::ClusterListLength => "cluster-list-length",
            Step::PeerAddress => "peer-address",
            Step::Equal => "equal",
        }
    }
}

impl fmt::Display for Step {
    /// Why the preferred path won, as an operator reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Stale => "fresh path preferred over stale (graceful restart)",
            Step::LocalPref => "higher LOCAL_PREF",
            Step::AsPathLength => "shorter AS_PATH",
            Step::Origin => "lower ORIGIN",
            Step::Med => "lower MED from the same neighbor AS",
            Step::EbgpOverIbgp => "eBGP preferred over iBGP",
            Step::Rtt => "lower session round-trip time",
            Step::RouterId => "lower router ID (ORIGINATOR_ID when present)",
            Step::ClusterListLength => "shorter CLUSTER_LIST",
            Step::PeerAddress => "lower peer address",
            Step::Equal => "equal preference",
        })
    }
}

/// Compares two candidates: `Ordering::Less` means `a` is preferred.
/// A total order (checked by a property test), with the step that decided.
///
/// MED is compared only between paths from the same neighbor AS; paths from
/// different neighbor ASes that tie before MED are ordered by neighbor AS
/// (reported as [`Step::Med`]). Use [`best`]/[`rank`] to pick the RFC winner
/// among several candidates; see the module docs for why they can differ.
pub fn compare(a: &Candidate, b: &Candidate) -> (Ordering, Step) {
    key::total(&key::Key::of(a), &key::Key::of(b))
}

/// The RFC's pairwise comparison: the step at which `a` or `b` would be
/// eliminated if they were the only two candidates (MED compared only when
/// their neighbor ASes match, skipped otherwise). Not transitive — use it to
/// explain an outcome (e.g. `explain(rank[0], rank[1])`), never to sort.
/// `(Equal, Step::Equal)` when every RFC step ties.
pub fn explain(a: &Candidate, b: &Candidate) -> (Ordering, Step) {
    key::pairwise(&key::Key::of(a), &key::Key::of(b))
}

/// The index of the best candidate and the step that made it win over the
/// runner-up (`Step::Equal` when there is only one).
///
/// The winner is RFC 4271 §9.1.2.2's set-wise result (MED eliminates only
/// within a neighbor AS) and does not depend on the order of `cands`, except
/// among candidates [`compare`] finds equal, where the first one wins. The
/// step is [`explain`]`(winner, runner-up)`, the runner-up being `rank[1]`.
pub fn best(cands: &[Candidate]) -> Option<(usize, Step)> {
    select::best(cands)
}

/// Every candidate's index, best first: `rank[0]` is [`best`]'s winner and
/// each later entry is the RFC winner among itself and the entries after it.
/// For active-active listings (all sessions of a location, in order).
pub fn rank(cands: &[Candidate]) -> Vec<usize> {
    select::rank(cands)
}
