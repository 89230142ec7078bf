//! The route-leak detector: pure, called by the route engine on every new
//! route from a peering-service neighbor (`engine::import`).
//!
//! A peering-service provider announces its own routes and its customers',
//! never what it learned from its upstreams or its other peers (that would
//! be a route leak, RFC 7908 §3). So, in the AS path it sends us, every ASN
//! behind its own must be one of its customers. Two checks say when that
//! is not so:
//!
//! - **transit-free**: an ASN of `[analytics] transit_free_asns` (the
//!   tier-1 networks) behind the provider's own AS. Nobody is a tier-1's
//!   provider, so the route came from the provider's upstream or peer.
//! - **customer-asns**: when the neighbor declares its customer cone
//!   (`customer_asns`, `customer_as_set_file`), an ASN behind its own AS
//!   that is neither its own nor in the cone: the path runs through a
//!   network that is not its customer, i.e. someone else's upstream.
//!
//! The provider's own AS at the head of the path (and its prepends) is
//! skipped, and so is the provider's AS wherever else it appears.

use crate::wire::AsPath;

/// Which check found the leak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakCheck {
    /// A transit-free network behind the provider's first hop.
    TransitFree,
    /// A network outside the provider's declared customer cone.
    CustomerAsns,
}

impl LeakCheck {
    /// The name in the event's evidence (`evidence.check`).
    pub fn as_str(self) -> &'static str {
        match self {
            LeakCheck::TransitFree => "transit-free",
            LeakCheck::CustomerAsns => "customer-asns",
        }
    }
}

/// A route leak: the first ASN of the path that tripped a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leak {
    pub asn: u32,
    pub check: LeakCheck,
}

/// What a peering-service neighbor's paths are checked against.
#[derive(Debug, Clone, Copy)]
pub struct LeakRules<'a> {
    /// The neighbor's ASN (`remote_as`).
    pub neighbor_as: u32,
    /// `[analytics] transit_free_asns`.
    pub transit_free: &'a [u32],
    /// The neighbor's customer cone, sorted; `None`: not declared (only the
    /// transit-free check runs).
    pub customers: Option<&'a [u32]>,
}

/// The first ASN behind the provider's own AS that makes `path` a route
/// leak under `rules`, if any.
pub fn route_leak(path: &AsPath, rules: &LeakRules<'_>) -> Option<Leak> {
    let mut asns = path.all_asns().peekable();
    // The first hop and its prepends.
    let first = asns.next()?;
    while asns.peek() == Some(&first) {
        asns.next();
    }
    asns.filter(|&a| a != rules.neighbor_as && a != first)
        .find_map(|asn| {
            if rules.transit_free.contains(&asn) {
                Some(LeakCheck::TransitFree)
            } else if rules
                .customers
                .is_some_and(|c| c.binary_search(&asn).is_err())
            {
                Some(LeakCheck::CustomerAsns)
            } else {
                None
            }
            .map(|check| Leak { asn, check })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_TRANSIT_FREE_ASNS;

    fn leak(path: &[u32], customers: Option<&[u32]>) -> Option<(u32, &'static str)> {
        let rules = LeakRules {
            neighbor_as: 64500,
            transit_free: DEFAULT_TRANSIT_FREE_ASNS,
            customers,
        };
        route_leak(&AsPath::from_sequence(path.to_vec()), &rules).map(|l| (l.asn, l.check.as_str()))
    }

    #[test]
    fn a_transit_free_asn_behind_the_first_hop_is_a_leak_but_the_first_hop_is_not() {
        assert_eq!(
            leak(&[64500, 3356, 64501], None),
            Some((3356, "transit-free"))
        );
        assert_eq!(leak(&[3356, 64501], None), None);
        assert_eq!(leak(&[64500, 64501], None), None);
        assert_eq!(leak(&[], None), None);
    }

    #[test]
    fn a_transit_free_provider_prepending_itself_is_not_a_leak() {
        assert_eq!(leak(&[3356, 3356, 3356, 64501], None), None);
    }

    /// A path and the leak it is: (ASN, check).
    type Row<'a> = (&'a [u32], Option<(u32, &'a str)>);

    /// Rows of the customer-asns check for a neighbor in AS 64500 whose
    /// customers are 64501 and 64502.
    #[test]
    fn only_the_declared_customer_cone_may_follow_the_neighbors_own_as() {
        let cone: &[u32] = &[64501, 64502];
        let rows: &[Row] = &[
            (&[64500], None),
            (&[64500, 64500, 64501], None),
            (&[64500, 64501, 64502], None),
            (&[64500, 64501, 64500], None),
            (&[64500, 64510], Some((64510, "customer-asns"))),
            (
                &[64500, 64501, 64510, 64502],
                Some((64510, "customer-asns")),
            ),
            // Path order: the first offender is named, whichever check.
            (&[64500, 1299, 64510], Some((1299, "transit-free"))),
            (&[64500, 64510, 1299], Some((64510, "customer-asns"))),
        ];
        for (path, want) in rows {
            assert_eq!(leak(path, Some(cone)), *want, "{path:?}");
        }
        assert_eq!(
            leak(&[64500, 64501], Some(&[])),
            Some((64501, "customer-asns")),
            "an empty cone: no customers at all"
        );
    }

    #[test]
    fn a_transit_free_asn_stays_a_leak_even_when_declared_a_customer() {
        assert_eq!(
            leak(&[64500, 174], Some(&[174])),
            Some((174, "transit-free"))
        );
    }
}
