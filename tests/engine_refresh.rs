//! Route refresh in the engine core (RFC 2918, RFC 7313) and the record of
//! operator actions: scenarios fed to `EngineCore` as `Input`s.
//!
//! - The peer's BoRR marks its routes of that family stale, its
//!   re-advertisements replace them, its EoRR removes the rest.
//! - An operator's `refresh out` (and a peer's ROUTE-REFRESH) re-sends the
//!   Adj-RIB-Out, between BoRR and EoRR when Enhanced Route Refresh was
//!   negotiated, bare otherwise.
//! - `Input::Control` is kept as a `control` event naming the action and who asked.

mod common;

use coldpotato::wire::{Message, RouteRefresh};
use common::engine_lab::*;

const ROUTES: [&str; 3] = ["45.1.0.0/24", "45.2.0.0/24", "45.3.0.0/24"];

/// The transit session up with Enhanced Route Refresh, and three routes from it.
fn lab_with_routes(enhanced: bool) -> Lab {
    let mut lab = Lab::new("");
    let mut i = info("192.0.2.13", "192.0.2.14", 3356);
    i.enhanced_route_refresh = enhanced;
    lab.input(Input::SessionUp {
        neighbor: name("transit"),
        info: i,
    });
    lab.update("transit", ann(&ROUTES, &[3356, 15169]));
    assert_eq!(accepted(&lab), ROUTES.to_vec());
    lab
}

/// The accepted routes' prefixes, sorted.
fn accepted(lab: &Lab) -> Vec<String> {
    let mut v: Vec<String> = lab
        .routes(None, false)
        .into_iter()
        .filter(|r| r.neighbor == "transit")
        .map(|r| r.prefix)
        .collect();
    v.sort();
    v
}

fn demarcation(lab: &mut Lab, end: bool) -> Vec<Output> {
    lab.input(Input::RefreshDemarcation {
        neighbor: name("transit"),
        afi: Afi::IPV4,
        safi: Safi::UNICAST,
        end,
    })
}

#[test]
fn routes_not_readvertised_between_borr_and_eorr_are_removed() {
    let mut lab = lab_with_routes(true);
    demarcation(&mut lab, false);
    // Stale, but still there until the EoRR.
    let during: Vec<String> = lab
        .routes(None, true)
        .into_iter()
        .filter(|r| r.neighbor == "transit")
        .map(|r| r.status)
        .collect();
    assert_eq!(during, ["stale", "stale", "stale"]);
    lab.update("transit", ann(&ROUTES[..2], &[3356, 15169]));
    demarcation(&mut lab, true);
    assert_eq!(accepted(&lab), ROUTES[..2].to_vec());
    let all = lab.routes(None, true);
    assert!(
        all.iter().all(|r| r.status != "stale"),
        "the re-advertised routes are fresh: {all:?}"
    );
}

#[test]
fn an_eorr_of_the_other_family_removes_nothing() {
    let mut lab = lab_with_routes(true);
    demarcation(&mut lab, false);
    lab.input(Input::RefreshDemarcation {
        neighbor: name("transit"),
        afi: Afi::IPV6,
        safi: Safi::UNICAST,
        end: true,
    });
    assert_eq!(
        lab.routes(None, true)
            .iter()
            .filter(|r| r.neighbor == "transit")
            .count(),
        3
    );
}

/// The subtypes of the ROUTE-REFRESH messages among the outputs to `to`, in order.
fn refresh_markers(out: &[Output], to: &str) -> Vec<u8> {
    out.iter()
        .filter(|(n, _)| &**n == to)
        .filter_map(|(_, m)| match m {
            ToPeer::Wire(e) => match Message::decode(e.bytes(), &e.codec) {
                Ok(Message::RouteRefresh(RouteRefresh { subtype, .. })) => Some(subtype),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Brings rr1 up; the prefixes of its initial dump (its Adj-RIB-Out), sorted.
fn rr1_up(lab: &mut Lab, enhanced: bool) -> Vec<String> {
    let mut i = info("10.0.0.100", "10.0.0.1", 8075);
    i.enhanced_route_refresh = enhanced;
    let out = lab.input(Input::SessionUp {
        neighbor: name("rr1"),
        info: i,
    });
    prefixes(&out)
}

fn prefixes(out: &[Output]) -> Vec<String> {
    let mut v: Vec<String> = announced(out, "rr1")
        .into_iter()
        .map(|(p, _)| p.to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn refresh_out_resends_the_adj_rib_out_within_borr_and_eorr_when_enhanced() {
    let mut lab = lab_with_routes(false);
    let held = rr1_up(&mut lab, true);
    assert!(
        ROUTES.iter().all(|r| held.contains(&r.to_string())),
        "{held:?}"
    );
    let out = lab.input(Input::RefreshOut {
        neighbor: name("rr1"),
        families: vec![(Afi::IPV4, Safi::UNICAST)],
    });
    assert_eq!(refresh_markers(&out, "rr1"), vec![1, 2], "BoRR, EoRR");
    assert_eq!(prefixes(&out), held);
    // The markers bracket the routes.
    let pos: Vec<bool> = out
        .iter()
        .filter(|(n, _)| &**n == "rr1")
        .map(|(_, m)| matches!(m, ToPeer::Wire(e) if matches!(Message::decode(e.bytes(), &e.codec), Ok(Message::RouteRefresh(_)))))
        .collect();
    assert_eq!(pos.first(), Some(&true));
    assert_eq!(pos.last(), Some(&true));
}

#[test]
fn refresh_out_without_enhanced_refresh_sends_only_the_routes() {
    let mut lab = lab_with_routes(false);
    let held = rr1_up(&mut lab, false);
    let out = lab.input(Input::RefreshOut {
        neighbor: name("rr1"),
        families: vec![(Afi::IPV4, Safi::UNICAST)],
    });
    assert!(refresh_markers(&out, "rr1").is_empty());
    assert_eq!(prefixes(&out), held);
}

#[test]
fn a_peers_route_refresh_is_answered_within_borr_and_eorr_when_enhanced() {
    let mut lab = lab_with_routes(false);
    let held = rr1_up(&mut lab, true);
    let out = lab.input(Input::RouteRefresh {
        neighbor: name("rr1"),
        afi: Afi::IPV4,
        safi: Safi::UNICAST,
    });
    assert_eq!(refresh_markers(&out, "rr1"), vec![1, 2]);
    assert_eq!(prefixes(&out), held);
}

#[test]
fn an_operator_action_is_a_control_event_naming_who_asked() {
    let mut lab = Lab::new("");
    lab.input(Input::Control {
        action: "shutdown",
        neighbor: Some(name("transit")),
        who: "noc".into(),
        message: "transit: Cease/Administrative Shutdown sent (asked by noc)".into(),
    });
    let events = match lab.core.query(&Query::Events { since: 0 }, lab.now) {
        QueryReply::Events(e) => e,
        other => panic!("unexpected {other:?}"),
    };
    let e = events
        .iter()
        .find(|e| e.kind == "control")
        .expect("a control event");
    assert_eq!(e.neighbor.as_deref(), Some("transit"));
    assert_eq!(e.evidence["action"], "shutdown");
    assert_eq!(e.evidence["by"], "noc");
    assert!(e.message.contains("asked by noc"));
}
