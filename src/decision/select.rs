//! RFC 4271 §9.1.2.2 set-wise selection over many candidates: [`best`] and
//! [`rank`], computed as "deterministic MED" (best path of each neighbor-AS
//! group by the total order, then the best group winner by every step but
//! MED). Pure functions called by `decision::{best, rank}` on the route engine
//! task; no state, no channels.
//!
//! Cost: `best` is O(n·g) and `rank` O(n log n + n·g) key comparisons for n
//! candidates from g neighbor ASes, after one O(n) key extraction.

use super::key::{across_groups, pairwise, total, Key};
use super::{Candidate, Step};
use smallvec::SmallVec;
use std::cmp::Ordering;

/// Keys of a typical candidate set fit inline (a prefix rarely has more than
/// a handful of paths).
type Keys = SmallVec<[Key; 8]>;

fn keys_of(cands: &[Candidate]) -> Keys {
    cands.iter().map(Key::of).collect()
}

/// See `decision::best`.
pub(super) fn best(cands: &[Candidate]) -> Option<(usize, Step)> {
    let keys = keys_of(cands);
    let winner = pick(&keys, None)?;
    let step = pick(&keys, Some(winner)).map_or(Step::Equal, |runner_up| {
        pairwise(&keys[winner], &keys[runner_up]).1
    });
    Some((winner, step))
}

/// The RFC winner among `keys` without `skip`: the best of each neighbor-AS
/// group by [`total`] (first index among equals), then the best of those by
/// [`across_groups`].
fn pick(keys: &[Key], skip: Option<usize>) -> Option<usize> {
    let mut heads: SmallVec<[usize; 8]> = SmallVec::new();
    for (i, key) in keys.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        match heads
            .iter_mut()
            .find(|h| keys[**h].neighbor_as == key.neighbor_as)
        {
            Some(head) => {
                if total(key, &keys[*head]).0 == Ordering::Less {
                    *head = i;
                }
            }
            None => heads.push(i),
        }
    }
    // Heads have distinct neighbor ASes, so `across_groups` never ties here.
    heads.into_iter().reduce(|winner, head| {
        if across_groups(&keys[head], &keys[winner]) == Ordering::Less {
            head
        } else {
            winner
        }
    })
}

/// See `decision::rank`: repeated [`pick`], done as a merge of the
/// neighbor-AS groups, each sorted by [`total`] (the next RFC winner of a
/// group is always its next path in that order).
pub(super) fn rank(cands: &[Candidate]) -> Vec<usize> {
    let keys = keys_of(cands);
    let mut order: Vec<usize> = (0..keys.len()).collect();
    // Stable: equal candidates keep input order.
    order.sort_by(|&i, &j| {
        keys[i]
            .neighbor_as
            .cmp(&keys[j].neighbor_as)
            .then_with(|| total(&keys[i], &keys[j]).0)
    });
    // (next, end) cursors into `order`, one per neighbor AS.
    let mut groups: SmallVec<[(usize, usize); 8]> = SmallVec::new();
    for (pos, &i) in order.iter().enumerate() {
        match groups.last_mut() {
            Some((start, end)) if keys[order[*start]].neighbor_as == keys[i].neighbor_as => {
                *end = pos + 1
            }
            _ => groups.push((pos, pos + 1)),
        }
    }
    let mut ranked = Vec::with_capacity(order.len());
    while let Some(g) = groups
        .iter()
        .enumerate()
        .filter(|(_, (next, end))| next < end)
        .map(|(g, (next, _))| (g, order[*next]))
        .reduce(|(gw, w), (gh, h)| {
            if across_groups(&keys[h], &keys[w]) == Ordering::Less {
                (gh, h)
            } else {
                (gw, w)
            }
        })
        .map(|(g, _)| g)
    {
        ranked.push(order[groups[g].0]);
        groups[g].0 += 1;
    }
    ranked
}
