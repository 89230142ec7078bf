//! The engine's BMP feed without sockets: a hub attached to `EngineCore`,
//! a collector's queue taken by the test, and what the engine queues for
//! it as sessions come and go and routes arrive, are rejected and leave.

mod common;

use coldpotato::bmp::hub::{Feed, Hub, Request, Views};
use coldpotato::bmp::msg::{DownReason, Stat, View};
use coldpotato::config::BmpConfig;
use coldpotato::messages::{DownCause, Input};
use coldpotato::wire::{Notification, Prefix, Update};
use common::engine_lab::*;
use std::time::Duration;
use tokio::sync::mpsc;

fn collector() -> BmpConfig {
    BmpConfig {
        name: "test".into(),
        address: "127.0.0.1:11019".into(),
        pre_policy: true,
        post_policy: true,
        loc_rib: true,
        adj_rib_out: false,
        stats_interval_s: 60,
        rejection_tlv: false,
    }
}

/// A lab whose engine has a connected collector; returns its queue.
fn connected(lab: &mut Lab) -> mpsc::Receiver<Feed> {
    let hub = Hub::new(vec![Views {
        pre_policy: true,
        post_policy: true,
        loc_rib: true,
        adj_rib_out: false,
    }]);
    let (tx, rx) = mpsc::channel(10_000);
    hub.request_tx
        .send(Request::Dump {
            collector: 0,
            queue: tx,
        })
        .expect("hub alive");
    lab.core.attach_bmp(Some(hub), &[collector()]);
    lab.core.bmp_poll(lab.now);
    rx
}

fn drain(rx: &mut mpsc::Receiver<Feed>) -> Vec<Feed> {
    let mut out = Vec::new();
    while let Ok(f) = rx.try_recv() {
        out.push(f);
    }
    out
}

fn prefixes(u: &Update) -> Vec<Prefix> {
    u.nlri.iter().map(|p| p.prefix).collect()
}

fn withdrawn(u: &Update) -> Vec<Prefix> {
    u.withdrawn.iter().map(|p| p.prefix).collect()
}

/// One Route item: view, announced, withdrawn, rejection rule.
type Route = (View, Vec<Prefix>, Vec<Prefix>, Option<String>);

/// The Route items among `feeds`.
fn routes(feeds: &[Feed]) -> Vec<Route> {
    feeds
        .iter()
        .filter_map(|f| match f {
            Feed::Route {
                view,
                update,
                rejection,
                ..
            } => Some((
                *view,
                prefixes(update),
                withdrawn(update),
                rejection.as_ref().map(|r| r.0.clone()),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_connected_collector_gets_peer_up_both_policies_loc_rib_withdrawals_stats_and_peer_down() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    let mut rx = connected(&mut lab);
    // The dump: the Loc-RIB instance, then the established session.
    let dump = drain(&mut rx);
    assert!(
        matches!(dump.first(), Some(Feed::LocRibUp { .. })),
        "{dump:?}"
    );
    assert!(
        dump.iter()
            .any(|f| matches!(f, Feed::PeerUp { peer, .. } if peer.asn == 64500)),
        "{dump:?}"
    );

    // One route accepted, one rejected (no 8075:8007).
    lab.update("ps-ams-1", ann(&["203.0.113.0/24"], &[64500]));
    let mut bad = ann(&["198.18.0.0/24"], &[64500]);
    bad.attrs.communities.clear();
    lab.update("ps-ams-1", bad);
    let got = routes(&drain(&mut rx));
    let (ok, rejected) = (p("203.0.113.0/24"), p("198.18.0.0/24"));
    let has = |view: View, pfx: Prefix| got.iter().any(|r| r.0 == view && r.1.contains(&pfx));
    assert!(
        has(View::PrePolicy, ok) && has(View::PrePolicy, rejected),
        "{got:?}"
    );
    assert!(
        has(View::PostPolicy, ok) && !has(View::PostPolicy, rejected),
        "{got:?}"
    );
    assert!(
        has(View::LocRib, ok) && !has(View::LocRib, rejected),
        "{got:?}"
    );
    let rule = got
        .iter()
        .find(|r| r.0 == View::PrePolicy && r.1.contains(&rejected))
        .and_then(|r| r.3.clone())
        .expect("the rejected route carries its rule");
    assert!(got
        .iter()
        .filter(|r| r.1.contains(&ok))
        .all(|r| r.3.is_none()));

    // Statistics: type 0 and the rule's own counter.
    lab.core.tick(lab.now + Duration::from_secs(61));
    let stats: Vec<Stat> = drain(&mut rx)
        .into_iter()
        .filter_map(|f| match f {
            Feed::Stats {
                view: View::PrePolicy,
                stats,
                ..
            } => Some(stats),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(stats.contains(&Stat::RejectedByPolicy(1)), "{stats:?}");
    assert!(stats.contains(&Stat::AdjRibIn(2)), "{stats:?}");
    assert!(
        stats.contains(&Stat::RejectedByRule(1, rule.clone())),
        "{rule}: {stats:?}"
    );

    // The accepted route leaves: withdrawn in all three views.
    lab.update("ps-ams-1", wd(&["203.0.113.0/24"]));
    let got = routes(&drain(&mut rx));
    for view in [View::PrePolicy, View::PostPolicy, View::LocRib] {
        assert!(
            got.iter().any(|r| r.0 == view && r.2 == vec![ok]),
            "{view:?}: {got:?}"
        );
    }

    // Peer Down with the NOTIFICATION the peer sent.
    let n = Notification::new(6, 2, Vec::new());
    lab.input(Input::DownCause {
        neighbor: name("ps-ams-1"),
        cause: DownCause::Received(n),
    });
    lab.down("ps-ams-1", None);
    let feeds = drain(&mut rx);
    let reason = feeds.iter().find_map(|f| match f {
        Feed::PeerDown { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    match reason {
        // The whole BGP message: marker, length 21, type 3, Cease 6/2.
        Some(DownReason::RemoteNotification(b)) => {
            assert_eq!(&b[..16], &[0xff; 16]);
            assert_eq!(&b[16..], &[0, 21, 3, 6, 2]);
        }
        other => panic!("Peer Down reason {other:?}: {feeds:?}"),
    }
}

#[test]
fn routes_from_before_the_collector_connected_come_in_its_dump() {
    let mut lab = Lab::new("");
    let hub = Hub::new(vec![Views {
        pre_policy: true,
        post_policy: true,
        loc_rib: true,
        adj_rib_out: false,
    }]);
    let requests = hub.request_tx.clone();
    lab.core.attach_bmp(Some(hub), &[collector()]);
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["203.0.113.0/24"], &[64500]));
    lab.core.bmp_poll(lab.now);
    assert!(!lab.core.bmp_dumping(), "nobody connected, nothing to dump");
    let (tx, mut rx) = mpsc::channel(1000);
    requests
        .send(Request::Dump {
            collector: 0,
            queue: tx,
        })
        .expect("hub alive");
    lab.core.bmp_poll(lab.now);
    let got = routes(&drain(&mut rx));
    let ok = p("203.0.113.0/24");
    for view in [View::PrePolicy, View::PostPolicy, View::LocRib] {
        assert_eq!(
            got.iter()
                .filter(|r| r.0 == view && r.1 == vec![ok])
                .count(),
            1,
            "{view:?}: {got:?}"
        );
    }
}

#[test]
fn with_adj_rib_out_the_routes_sent_to_a_neighbor_are_monitored_with_the_o_flag_view() {
    let mut lab = Lab::new("");
    let hub = Hub::new(vec![Views {
        pre_policy: false,
        post_policy: false,
        loc_rib: false,
        adj_rib_out: true,
    }]);
    let (tx, mut rx) = mpsc::channel(1000);
    hub.request_tx
        .send(Request::Dump {
            collector: 0,
            queue: tx,
        })
        .expect("hub alive");
    let mut c = collector();
    c.adj_rib_out = true;
    lab.core.attach_bmp(Some(hub), &[c]);
    lab.core.bmp_poll(lab.now);
    lab.up("rr1");
    lab.up("ps-ams-1");
    drain(&mut rx);
    // A partner's route goes to the route reflector: Adj-RIB-Out of rr1.
    lab.update("ps-ams-1", ann(&["203.0.113.0/24"], &[64500]));
    let feeds = drain(&mut rx);
    let ok = p("203.0.113.0/24");
    let to_rr1 = feeds.iter().any(|f| {
        matches!(f, Feed::Route { view: View::AdjRibOut, peer, update, .. }
            if peer.address == "10.0.0.1".parse::<std::net::IpAddr>().unwrap()
                && prefixes(update) == vec![ok]
                // As rr1 gets it: the decision's LOCAL_PREF.
                && update.attrs.local_pref.is_some())
    });
    assert!(to_rr1, "{feeds:?}");
    assert!(
        routes(&feeds).iter().all(|r| r.0 == View::AdjRibOut),
        "only the view asked for: {feeds:?}"
    );
    lab.update("ps-ams-1", wd(&["203.0.113.0/24"]));
    let got = routes(&drain(&mut rx));
    assert!(
        got.iter()
            .any(|r| r.0 == View::AdjRibOut && r.2 == vec![ok]),
        "{got:?}"
    );
}
