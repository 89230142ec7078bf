//! Paged walks over the RIB for the API (`Query::RoutesPage`,
//! `Query::AdjRibOut`), run inside the route engine task.
//!
//! The Adj-RIB-In and the Adj-RIB-Out are hash tables (one per prefix
//! length, `crate::rib`), kept compact on purpose: no ordered index. A page
//! is therefore one pass over the table that keeps the `limit` smallest
//! qualifying prefixes after the cursor in a bounded max-heap, O(n + k log
//! k) with a comparison per prefix and no allocation per prefix, then sorts
//! those k. Measured in `tests`: see `a_page_of_a_large_table_is_one_pass`.
//! The order and the cursor are `messages::paging`'s.

use super::core::EngineCore;
use crate::messages::detail::AdjRibOutRoute;
use crate::messages::paging::{RouteKey, RoutePage, RoutesQuery, MAX_PAGE_SIZE};
use crate::rib::{NeighborIdx, PathEntry, PathFlags};
use crate::wire::Prefix;
use std::collections::BinaryHeap;

/// Why a paged query has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// `neighbor=` names no configured neighbor.
    #[error("no neighbor named \"{0}\"")]
    UnknownNeighbor(String),
}

/// The `limit` smallest prefixes of `candidates` (any order), sorted, and
/// whether more qualified than were kept.
pub(crate) fn smallest(
    candidates: impl IntoIterator<Item = Prefix>,
    limit: usize,
) -> (Vec<Prefix>, bool) {
    let limit = limit.clamp(1, MAX_PAGE_SIZE);
    let mut heap: BinaryHeap<Prefix> = BinaryHeap::with_capacity(limit + 1);
    let mut more = false;
    for p in candidates {
        if heap.len() < limit {
            heap.push(p);
        } else if heap.peek().is_some_and(|top| p < *top) {
            heap.pop();
            heap.push(p);
            more = true;
        } else {
            more = true;
        }
    }
    (heap.into_sorted_vec(), more)
}

impl EngineCore {
    /// One page of `GET /api/v1/routes`.
    pub(crate) fn route_page(&self, q: &RoutesQuery) -> Result<RoutePage, PageError> {
        let only: Option<NeighborIdx> = match &q.neighbor {
            Some(name) => Some(
                *self
                    .by_name
                    .get(name.as_str())
                    .ok_or_else(|| PageError::UnknownNeighbor(name.clone()))?,
            ),
            None => None,
        };
        let limit = q.limit.clamp(1, MAX_PAGE_SIZE);
        let after = q.after.as_ref();
        let shown = |e: &PathEntry| {
            only.is_none_or(|i| i == e.neighbor)
                && q.status.keeps(
                    e.flags.contains(PathFlags::ACCEPTED),
                    e.flags.contains(PathFlags::STALE),
                )
        };
        // The paths of `p` this page may list, by neighbor name, after the cursor.
        let listed = |p: &Prefix, paths: &[PathEntry]| -> Vec<(String, PathEntry)> {
            let mut v: Vec<(String, PathEntry)> = paths
                .iter()
                .filter(|e| shown(e))
                .filter_map(|e| Some((self.nb(e.neighbor)?.cfg.name.clone(), *e)))
                .filter(|(name, _)| after.is_none_or(|a| a.cmp_parts(p, name).is_lt()))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let qualifies = |p: &Prefix, paths: &[PathEntry]| match after {
            Some(a) if *p < a.prefix => false,
            Some(a) if *p == a.prefix => !listed(p, paths).is_empty(),
            _ => paths.iter().any(shown),
        };
        let (prefixes, mut more) = match q.prefix {
            Some(p) => {
                let p = p.trunc();
                let one = if q.longest {
                    (0..=p.prefix_len())
                        .rev()
                        .filter_map(|len| Prefix::new(p.addr(), len).ok().map(|x| x.trunc()))
                        .find(|x| !self.rib.paths(x).is_empty())
                } else {
                    Some(p)
                };
                let v: Vec<Prefix> = one
                    .into_iter()
                    .filter(|x| qualifies(x, self.rib.paths(x)))
                    .collect();
                (v, false)
            }
            None => smallest(
                self.rib
                    .iter()
                    .filter(|(p, paths)| qualifies(p, paths))
                    .map(|(p, _)| p),
                limit,
            ),
        };
        let mut routes = Vec::new();
        let mut last: Option<RouteKey> = None;
        'walk: for (i, p) in prefixes.iter().enumerate() {
            let paths = listed(p, self.rib.paths(p));
            for (j, (name, e)) in paths.iter().enumerate() {
                if routes.len() == limit {
                    more = true;
                    break 'walk;
                }
                if let Some(v) = self.route_view(p, e) {
                    routes.push(v);
                    last = Some(RouteKey::new(*p, name.clone()));
                }
                if routes.len() == limit && (j + 1 < paths.len() || i + 1 < prefixes.len()) {
                    more = true;
                    break 'walk;
                }
            }
        }
        Ok(RoutePage {
            routes,
            next: if more { last } else { None },
        })
    }

    /// One page of `GET /api/v1/neighbors/{name}/adj-rib-out`: what we
    /// advertise to `name`, attributes as sent, after `after` (whose
    /// neighbor part is `name`).
    pub(crate) fn adj_rib_out_page(
        &self,
        name: &str,
        after: Option<&RouteKey>,
        limit: usize,
    ) -> Result<(Vec<AdjRibOutRoute>, Option<RouteKey>), PageError> {
        let nb = self
            .by_name
            .get(name)
            .and_then(|i| self.nb(*i))
            .ok_or_else(|| PageError::UnknownNeighbor(name.to_string()))?;
        let after_prefix = after.map(|a| a.prefix);
        let out = self.adj_rib_out(nb.idx);
        let (prefixes, more) = smallest(
            out.into_iter()
                .flat_map(|o| o.iter())
                .map(|(p, _)| p)
                .filter(|p| after_prefix.is_none_or(|a| *p > a)),
            limit,
        );
        let routes: Vec<AdjRibOutRoute> = prefixes
            .iter()
            .filter_map(|p| {
                let attrs = self.rib.attrs.get(out?.get(p)?)?;
                Some(AdjRibOutRoute {
                    prefix: p.to_string(),
                    next_hop: attrs.next_hop.map(|n| n.to_string()),
                    as_path: super::query::as_path_view(&attrs),
                    origin: super::query::origin_name(&attrs).to_string(),
                    local_pref: attrs.local_pref,
                    med: attrs.med,
                    communities: attrs.communities.iter().map(|c| c.to_string()).collect(),
                    large_communities: attrs
                        .large_communities
                        .iter()
                        .map(|c| c.to_string())
                        .collect(),
                })
            })
            .collect();
        let next = match (more, prefixes.last()) {
            (true, Some(p)) => Some(RouteKey::new(*p, name)),
            _ => None,
        };
        Ok((routes, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::wire::nlri::p;

    #[test]
    fn smallest_keeps_the_first_k_in_order_and_says_more_follow() {
        let all: Vec<Prefix> = (0..200u32)
            .rev()
            .map(|i| p(&format!("10.{}.{}.0/24", i / 256, i % 256)))
            .collect();
        let (k, more) = smallest(all.clone(), 5);
        assert_eq!(
            k,
            (0..5u32)
                .map(|i| p(&format!("10.0.{i}.0/24")))
                .collect::<Vec<_>>()
        );
        assert!(more);
        let (k, more) = smallest(all, 200);
        assert_eq!(k.len(), 200);
        assert!(!more, "exactly the limit: nothing more");
        assert!(k.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn smallest_never_returns_more_than_the_maximum_page() {
        let all = (0..(MAX_PAGE_SIZE as u32 + 10)).map(|i| {
            p(&format!(
                "{}.{}.{}.0/24",
                10 + i / 65536,
                (i / 256) % 256,
                i % 256
            ))
        });
        let (k, more) = smallest(all, usize::MAX);
        assert_eq!(k.len(), MAX_PAGE_SIZE);
        assert!(more);
    }
}
