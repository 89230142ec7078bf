//! ONLY_TO_CUSTOMER (RFC 9234 §5): route-leak prevention by BGP role.
//! Pure functions the route engine calls on import (the leak checks) and
//! export (the attribute it adds); no state, no channels.
//!
//! The roles are ours toward a neighbor (`NeighborConfig::local_role`), and
//! only apply to eBGP sessions. RFC 9234 §5 also asks that a route received
//! from a provider, a peer or a route server without the attribute get it
//! (the neighbor's AS). We do not store that change on every route (it
//! would double the interned attribute sets of a full table); it is applied
//! where it matters, when the route is sent on to an internal neighbor
//! ([`implied`]). Learned routes never go to other eBGP neighbors here.

use crate::config::LocalRole;
use crate::policy::{Rejection, Rule};
use crate::wire::PathAttributes;

/// Rule label of a rejected leak.
pub const RULE_OTC_LEAK: Rule = Rule::OtcLeak;

/// The RFC 9234 §5 ingress check for a route received from a neighbor in
/// AS `remote_as` to whom we are `local`: `Some` when it is a route leak
/// (ineligible, kept and explained like every rejection).
pub fn ingress_leak(local: LocalRole, remote_as: u32, attrs: &PathAttributes) -> Option<Rejection> {
    let otc = attrs.only_to_customer?;
    let leak = |from: &str| {
        Rejection {
        rule: RULE_OTC_LEAK,
        reason: format!(
            "route leak: ONLY_TO_CUSTOMER {otc} on a route from a {from} (AS{remote_as}, RFC 9234 §5)"
        ),
    }
    };
    match local {
        // 1. From a customer or a route-server client: any OTC is a leak.
        LocalRole::Provider => Some(leak("customer")),
        LocalRole::Rs => Some(leak("route-server client")),
        // 2. From a peer: an OTC other than the peer's own AS is a leak.
        LocalRole::Peer if otc != remote_as => Some(leak("peer")),
        _ => None,
    }
}

/// The OTC a route from a neighbor in AS `remote_as`, to whom we are
/// `local`, carries on toward internal neighbors: its own, else (§5 rule 3:
/// received from a provider, a peer or a route server) the neighbor's AS.
pub fn implied(local: LocalRole, remote_as: u32, attrs: &PathAttributes) -> Option<u32> {
    attrs.only_to_customer.or(match local {
        LocalRole::Customer | LocalRole::Peer | LocalRole::RsClient => Some(remote_as),
        LocalRole::Provider | LocalRole::Rs | LocalRole::None => None,
    })
}

/// The RFC 9234 §5 egress step for a route we send to a neighbor to whom we
/// are `local`: `false` when it must not be sent (it carries OTC and goes
/// to a provider, a peer or a route server); otherwise, toward a customer,
/// a peer or a route-server client, adds OTC = `our_as` when absent.
pub fn egress(local: LocalRole, our_as: u32, attrs: &mut PathAttributes) -> bool {
    if attrs.only_to_customer.is_some()
        && matches!(
            local,
            LocalRole::Customer | LocalRole::Peer | LocalRole::RsClient
        )
    {
        return false;
    }
    if attrs.only_to_customer.is_none()
        && matches!(local, LocalRole::Provider | LocalRole::Peer | LocalRole::Rs)
    {
        attrs.only_to_customer = Some(our_as);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use LocalRole::{Customer, Peer, Provider, Rs, RsClient};

    fn with(otc: Option<u32>) -> PathAttributes {
        PathAttributes {
            only_to_customer: otc,
            ..Default::default()
        }
    }

    /// (our role, the route's OTC, leak?) for a neighbor in AS 64500.
    #[test]
    fn ingress_leaks_follow_rfc9234_section_5() {
        let rows = [
            (Provider, None, false),
            (Provider, Some(64500), true),
            (Rs, Some(1), true),
            (Peer, None, false),
            (Peer, Some(64500), false),
            (Peer, Some(3356), true),
            (Customer, Some(3356), false),
            (RsClient, Some(3356), false),
            (LocalRole::None, Some(3356), false),
        ];
        for (local, otc, leak) in rows {
            let got = ingress_leak(local, 64500, &with(otc));
            assert_eq!(got.is_some(), leak, "{local:?} {otc:?}");
            if let Some(r) = got {
                assert_eq!(r.rule, "otc-leak");
                assert!(r.reason.contains("RFC 9234"), "{}", r.reason);
            }
        }
    }

    #[test]
    fn routes_from_providers_peers_and_route_servers_imply_their_as() {
        assert_eq!(implied(Customer, 3356, &with(None)), Some(3356));
        assert_eq!(implied(Peer, 64500, &with(None)), Some(64500));
        assert_eq!(implied(RsClient, 6695, &with(None)), Some(6695));
        assert_eq!(implied(Provider, 64500, &with(None)), None);
        assert_eq!(implied(Customer, 3356, &with(Some(174))), Some(174));
    }

    #[test]
    fn egress_adds_our_as_toward_customers_and_peers_and_stops_leaks() {
        let mut a = with(None);
        assert!(egress(Peer, 8075, &mut a));
        assert_eq!(a.only_to_customer, Some(8075));
        // Now it carries OTC: never to a peer or a provider again.
        assert!(!egress(Peer, 8075, &mut a.clone()));
        assert!(!egress(Customer, 8075, &mut a.clone()));
        assert!(egress(Provider, 8075, &mut a));
        let mut b = with(None);
        assert!(egress(Customer, 8075, &mut b));
        assert_eq!(b.only_to_customer, None);
    }
}
