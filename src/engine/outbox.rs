//! [`Outbox`]: the UPDATEs for one session (or one update group, whose
//! members share them), collected as the export produces them and handed
//! over as [`ToPeer::Wire`](crate::messages::ToPeer) pieces: jobs the
//! first member's session task encodes ([`Encoded::lazy`]), so the engine's
//! task does not; and [`by_set`], which lays an export's (set, prefix)
//! pairs out as one run of prefixes per attribute set for
//! [`Outbox::announce_runs`].

use crate::messages::{Encoded, Job, SetRef, Step};
use crate::wire::{AddPathPrefix, Afi, Codec, PathAttributes, Prefix, Safi};
use std::sync::Arc;

/// An [`Outbox`] hands its UPDATEs over in pieces that hold about this
/// much memory (sets and prefixes, about 50 KB once encoded), so a
/// full-table dump is many bounded [`ToPeer::Wire`] messages (paced by the
/// session's channel, and counted against the engine's backlog limit by
/// what they hold) rather than one job of tens of megabytes.
const WIRE_PIECE: usize = 256 * 1024;

/// About the memory set `a` holds in a piece.
fn set_held(a: &PathAttributes) -> usize {
    let path = a.as_path.as_ref().map_or(0, |p| {
        p.segments.iter().map(|s| 32 + 4 * s.asns.len()).sum()
    });
    std::mem::size_of::<PathAttributes>()
        + path
        + 4 * a.communities.len()
        + 8 * a.ext_communities.len()
        + 12 * a.large_communities.len()
        + 4 * a.cluster_list.len()
        + a.unknown.iter().map(|u| 32 + u.value.len()).sum::<usize>()
}

/// The memory a run of prefixes holds in a piece.
fn prefixes_held(n: usize) -> usize {
    n * std::mem::size_of::<AddPathPrefix>()
}

/// UPDATEs for one session, collected as they are produced (no `Update`
/// values, no copies of the export's sets), handed over as
/// [`ToPeer::Wire`] pieces that hold about [`WIRE_PIECE`] bytes each.
#[derive(Debug)]
pub struct Outbox {
    codec: Codec,
    job: Job,
    /// About the memory `job` holds.
    held: usize,
    done: Vec<Encoded>,
}

impl Outbox {
    pub fn new(codec: Codec) -> Self {
        Outbox {
            codec,
            job: Job::default(),
            held: 0,
            done: Vec::new(),
        }
    }

    fn push(&mut self, step: Step, bytes: usize) {
        self.job.steps.push(step);
        self.held += bytes;
        if self.held >= WIRE_PIECE {
            self.cut();
        }
    }

    /// Ends the current piece.
    fn cut(&mut self) {
        if !self.job.steps.is_empty() {
            let job = std::mem::take(&mut self.job);
            let held = std::mem::take(&mut self.held);
            self.done.push(Encoded::lazy(job, held, self.codec));
        }
    }

    /// Announces `prefixes` with `attrs` (IPv4 in NLRI, IPv6 in MP_REACH).
    pub fn announce(&mut self, attrs: Arc<PathAttributes>, prefixes: Vec<AddPathPrefix>) {
        if prefixes.is_empty() {
            return;
        }
        let bytes = set_held(&attrs) + prefixes_held(prefixes.len());
        let starts = vec![0, prefixes.len()];
        let step = Step::Announce {
            sets: vec![SetRef::Shared(attrs)],
            prefixes,
            starts,
        };
        self.push(step, bytes);
    }

    /// Announces set `sets[i]` with `prefixes[starts[i]..starts[i + 1]]`
    /// ([`by_set`]'s layout), in that order.
    pub fn announce_runs(
        &mut self,
        sets: Vec<PathAttributes>,
        prefixes: Vec<AddPathPrefix>,
        starts: Vec<usize>,
    ) {
        if prefixes.is_empty() {
            return;
        }
        // Only the sets with prefixes to announce travel.
        let mut kept = Vec::with_capacity(sets.len());
        let mut bounds = vec![0];
        let mut bytes = prefixes_held(prefixes.len());
        for (set, run) in sets.into_iter().zip(starts.windows(2)) {
            if run[1] > run[0] {
                bytes += set_held(&set) + std::mem::size_of::<usize>();
                kept.push(SetRef::Owned(set));
                bounds.push(run[1]);
            }
        }
        let step = Step::Announce {
            sets: kept,
            prefixes,
            starts: bounds,
        };
        self.push(step, bytes);
    }

    /// Withdraws `prefixes`.
    pub fn withdraw(&mut self, prefixes: Vec<AddPathPrefix>) {
        if !prefixes.is_empty() {
            let bytes = prefixes_held(prefixes.len());
            self.push(Step::Withdraw(prefixes), bytes);
        }
    }

    /// End-of-RIB for the unicast families of a session (RFC 4724 §2);
    /// nothing when it has none.
    pub fn end_of_rib(&mut self, families: &[(Afi, Safi)]) {
        let unicast: Vec<(Afi, Safi)> = families
            .iter()
            .copied()
            .filter(|&(afi, safi)| safi == Safi::UNICAST && (afi == Afi::IPV4 || afi == Afi::IPV6))
            .collect();
        if !unicast.is_empty() {
            self.push(Step::EndOfRib(unicast), 0);
        }
    }

    /// The UPDATEs in pieces, none when there were none.
    pub fn finish(mut self) -> Vec<Encoded> {
        self.cut();
        self.done
    }
}

/// `announce`'s prefixes grouped by set, each set's in the order given (a
/// counting sort: two passes, no comparisons), and where each set's run
/// starts (`sets + 1` offsets; set `i` is `starts[i]..starts[i + 1]`).
pub fn by_set(announce: &[(u32, Prefix)], sets: usize) -> (Vec<AddPathPrefix>, Vec<usize>) {
    let mut starts = vec![0usize; sets + 1];
    for (set, _) in announce {
        starts[*set as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let Some(&(_, any)) = announce.first() else {
        return (Vec::new(), starts);
    };
    let mut flat = vec![AddPathPrefix::new(any); announce.len()];
    let mut next = starts.clone();
    for &(set, prefix) in announce {
        let at = &mut next[set as usize];
        flat[*at] = AddPathPrefix::new(prefix);
        *at += 1;
    }
    (flat, starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::wire::nlri::p;

    #[test]
    fn end_of_rib_is_sent_for_the_unicast_families_only() {
        let mut none = Outbox::new(Codec::default());
        none.end_of_rib(&[(Afi::IPV4, Safi(133))]);
        assert!(
            none.finish().is_empty(),
            "no piece without a unicast family"
        );
        let mut both = Outbox::new(Codec::default());
        both.end_of_rib(&[(Afi::IPV4, Safi::UNICAST), (Afi::IPV4, Safi(133))]);
        let pieces = both.finish();
        assert_eq!(pieces.len(), 1);
        let ups = pieces[0].updates().unwrap_or_default();
        assert_eq!(ups, vec![crate::wire::Update::default()]);
    }

    #[test]
    fn by_set_groups_the_prefixes_of_each_set_in_their_order() {
        let announce = [
            (1, p("10.0.1.0/24")),
            (0, p("10.0.0.0/24")),
            (1, p("10.0.2.0/24")),
            (3, p("10.0.3.0/24")),
            (0, p("10.0.4.0/24")),
        ];
        let (flat, starts) = by_set(&announce, 4);
        let got: Vec<Prefix> = flat.iter().map(|a| a.prefix).collect();
        let want: Vec<Prefix> = [
            "10.0.0.0/24",
            "10.0.4.0/24",
            "10.0.1.0/24",
            "10.0.2.0/24",
            "10.0.3.0/24",
        ]
        .into_iter()
        .map(p)
        .collect();
        assert_eq!(got, want);
        assert_eq!(starts, vec![0, 2, 4, 4, 5], "set 2 has an empty run");
        assert!(flat.iter().all(|a| a.path_id.is_none()));
        let (flat, starts) = by_set(&[], 2);
        assert!(flat.is_empty());
        assert_eq!(starts, vec![0, 0, 0]);
    }
}
