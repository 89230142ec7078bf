//! Route engine export and decision scenarios without sockets: export by
//! role, End-of-RIB, nearest-edge failover, BFD gating, graceful restart.

mod common;

use common::engine_lab as lab;

use coldpotato::wire::GracefulRestart;
use lab::*;

#[test]
fn peering_service_routes_go_only_to_internal_neighbors_with_local_pref_and_location_community() {
    let mut lab = Lab::new("");
    for n in ["ps-ams-1", "ps-fra", "transit", "rr1"] {
        lab.up(n);
    }
    let out = lab.update("ps-ams-1", ann(&[REG, "192.0.2.0/24"], &[64500]));
    for n in ["ps-ams-1", "ps-fra", "transit"] {
        assert!(
            announced(&out, n).is_empty(),
            "{n} must not receive peering-service routes"
        );
    }
    let rr = announced(&out, "rr1");
    let reg = rr.iter().find(|(q, _)| *q == p(REG)).unwrap();
    assert_eq!(reg.1.local_pref, Some(300));
    assert!(reg.1.communities.contains(&Community::new(8075, 1001)));
    assert!(reg
        .1
        .large_communities
        .iter()
        .any(|l| (l.global, l.local1, l.local2) == (8075, 1, 1)));
    assert_eq!(
        reg.1.as_path,
        Some(AsPath::from_sequence(vec![64500])),
        "no prepend toward iBGP"
    );
    assert_eq!(
        reg.1.next_hop,
        Some("192.0.2.2".parse::<IpAddr>().unwrap()),
        "iBGP keeps NEXT_HOP"
    );
    let plain = rr.iter().find(|(q, _)| *q == p("192.0.2.0/24")).unwrap();
    assert_eq!(plain.1.local_pref, Some(100));
    assert!(!plain.1.communities.contains(&Community::new(8075, 1001)));
}

#[test]
fn routes_from_an_internal_neighbor_are_not_sent_to_other_internal_neighbors_or_peers() {
    let mut lab = Lab::new("");
    for n in ["rr1", "rr2", "transit"] {
        lab.up(n);
    }
    let mut u = ann(&["192.0.2.0/24"], &[]);
    u.attrs.local_pref = Some(100);
    let out = lab.update("rr1", u);
    assert!(announced(&out, "rr2").is_empty());
    assert!(announced(&out, "transit").is_empty());
    assert!(announced(&out, "rr1").is_empty());
}

#[test]
fn originated_prefixes_carry_our_as_and_local_next_hop_toward_ebgp_and_lp_toward_ibgp() {
    let mut lab = Lab::new("");
    let out = lab.up("transit");
    let t = announced(&out, "transit");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].0, p("198.51.100.0/24"));
    assert_eq!(t[0].1.as_path, Some(AsPath::from_sequence(vec![8075])));
    assert_eq!(
        t[0].1.next_hop,
        Some("192.0.2.13".parse::<IpAddr>().unwrap())
    );
    assert_eq!(t[0].1.local_pref, None);
    assert_eq!(t[0].1.communities, vec![Community::new(8075, 100)]);
    let out = lab.up("rr1");
    let r = announced(&out, "rr1");
    assert_eq!(r[0].1.as_path, Some(AsPath::default()));
    assert_eq!(r[0].1.local_pref, Some(100));
}

#[test]
fn the_initial_dump_ends_with_end_of_rib_for_each_family() {
    let mut lab = Lab::new("");
    let out = lab.up("ps-ams-1");
    let ups = sent(&out, "ps-ams-1");
    let n = ups.len();
    assert!(n >= 3);
    assert_eq!(ups[n - 2], Update::default());
    assert_eq!(
        ups[n - 1].mp_unreach,
        Some(MpUnreach {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
            withdrawn: vec![]
        })
    );
    assert!(ups[n - 1].nlri.is_empty() && ups[n - 1].withdrawn.is_empty());
}

#[test]
fn decisions_fail_over_primary_backup_internet_unreachable_and_back() {
    let mut lab = Lab::new("");
    for n in ["ps-ams-1", "ps-ams-2", "ps-fra", "transit", "rr1"] {
        lab.up(n);
    }
    assert_eq!(lab.decision(REG).state, "unreachable");
    lab.update("transit", ann(&["203.0.112.0/23"], &[3356, 64500]));
    lab.update("ps-fra", ann(&[REG], &[64500]));
    lab.update("ps-ams-1", ann(&[REG], &[64500]));
    lab.update("ps-ams-2", ann(&[REG], &[64500]));
    let d = lab.decision(REG);
    assert_eq!(
        (d.state.as_str(), d.location.as_deref(), d.local_pref),
        ("primary", Some("ams"), 300)
    );
    let mut ns = d.neighbors.clone();
    ns.sort();
    assert_eq!(
        ns,
        vec!["ps-ams-1", "ps-ams-2"],
        "active-active at the primary"
    );
    assert_eq!(d.reason, "2 sessions at primary ams");
    assert_eq!(d.community.as_deref(), Some("8075:1001"));

    lab.down("ps-ams-1", None);
    assert_eq!(lab.decision(REG).state, "primary");
    let out = lab.down("ps-ams-2", None);
    let d = lab.decision(REG);
    assert_eq!(
        (d.state.as_str(), d.location.as_deref()),
        ("backup", Some("fra"))
    );
    assert_eq!(d.reason, "no session at primary ams; 1 at backup fra");
    let rr = announced(&out, "rr1");
    let reg = rr.iter().find(|(q, _)| *q == p(REG)).unwrap();
    assert_eq!(reg.1.local_pref, Some(200));
    assert!(reg.1.communities.contains(&Community::new(8075, 1002)));

    let out = lab.down("ps-fra", None);
    let d = lab.decision(REG);
    assert_eq!(
        (d.state.as_str(), d.neighbors.clone()),
        ("internet", vec!["transit".to_string()])
    );
    let rr = sent(&out, "rr1");
    assert!(
        rr.iter()
            .any(|u| u.withdrawn.iter().any(|w| w.prefix == p(REG))),
        "no exact route left: withdrawn"
    );

    lab.down("transit", None);
    assert_eq!(lab.decision(REG).state, "unreachable");

    lab.up("ps-ams-2");
    let out = lab.update("ps-ams-2", ann(&[REG], &[64500]));
    assert_eq!(lab.decision(REG).state, "primary");
    let rr = announced(&out, "rr1");
    assert_eq!(
        rr.iter().find(|(q, _)| *q == p(REG)).unwrap().1.local_pref,
        Some(300)
    );
    assert!(
        lab.event_kinds()
            .iter()
            .filter(|k| *k == "decision-changed")
            .count()
            >= 5
    );
}

#[test]
fn a_prefix_received_only_away_from_its_primary_is_suboptimal() {
    let mut lab = Lab::new("");
    lab.up("ps-fra");
    lab.update("ps-fra", ann(&[REG], &[64500]));
    assert_eq!(lab.decision(REG).state, "backup");
    assert!(lab
        .event_kinds()
        .contains(&"suboptimal-routing".to_string()));
}

#[test]
fn bfd_gates_routes_until_up_and_bfd_down_removes_them_at_once() {
    let mut lab = Lab::new("");
    let mut c = (*lab.core.config().clone()).clone();
    c.neighbors[0].bfd = toml::from_str("").ok();
    lab = Lab {
        evals: Default::default(),
        core: EngineCore::new(Running::new(c).expect("policies compile")),
        now: lab.now,
    };
    lab.up("ps-ams-1");
    lab.up("rr1");
    let out = lab.update("ps-ams-1", ann(&[REG], &[64500]));
    assert!(announced(&out, "rr1").iter().all(|(q, _)| *q != p(REG)));
    assert_eq!(lab.decision(REG).state, "unreachable");
    assert!(!lab.routes(Some(REG), false)[0].best);

    let out = lab.bfd("ps-ams-1", BfdStatus::Up);
    assert_eq!(lab.decision(REG).state, "primary");
    assert!(announced(&out, "rr1").iter().any(|(q, _)| *q == p(REG)));

    let out = lab.bfd("ps-ams-1", BfdStatus::Down);
    assert_eq!(lab.decision(REG).state, "unreachable");
    assert!(sent(&out, "rr1")
        .iter()
        .any(|u| u.withdrawn.iter().any(|w| w.prefix == p(REG))));
    let kinds = lab.event_kinds();
    assert!(kinds.contains(&"bfd-up".to_string()) && kinds.contains(&"bfd-down".to_string()));
}

#[test]
fn graceful_restart_keeps_routes_stale_until_end_of_rib_sweeps_the_unannounced() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("rr1");
    lab.update("ps-ams-1", ann(&[REG, "192.0.2.0/24"], &[64500]));
    let out = lab.down("ps-ams-1", Some(Duration::from_secs(120)));
    assert!(
        sent(&out, "rr1").iter().all(|u| u.withdrawn.is_empty()),
        "stale routes stay in use"
    );
    assert!(lab.routes(None, true).iter().all(|r| r.status == "stale"));
    assert_eq!(lab.decision(REG).state, "primary");

    // Back, with its forwarding state kept (RFC 4724 F bit).
    restarted(&mut lab, "ps-ams-1", true);
    lab.update("ps-ams-1", ann(&[REG], &[64500]));
    let out = lab.update("ps-ams-1", Update::default());
    let all = lab.routes(None, true);
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].prefix.as_str(), all[0].status.as_str()),
        (REG, "accepted")
    );
    assert!(sent(&out, "rr1")
        .iter()
        .any(|u| u.withdrawn.iter().any(|w| w.prefix == p("192.0.2.0/24"))));
}

/// `n` re-establishes after a restart, announcing Graceful Restart for
/// IPv4 unicast with the Forwarding State bit as given.
fn restarted(lab: &mut Lab, n: &str, forwarding: bool) -> Vec<Output> {
    let mut i = info("192.0.2.1", "192.0.2.2", 64500);
    i.graceful_restart = Some(GracefulRestart {
        restart_state: true,
        notification: false,
        restart_time: 120,
        families: vec![(Afi::IPV4, Safi::UNICAST, forwarding)],
    });
    lab.input(Input::SessionUp {
        neighbor: name(n),
        info: i,
    })
}

#[test]
fn graceful_restart_stale_routes_go_at_once_when_the_peer_returns_without_forwarding_state() {
    // RFC 4724 §4.2: no F bit for the family, no family in the capability,
    // or no capability at all: the stale routes go when the session is up.
    for how in ["no F bit", "no capability"] {
        let mut lab = Lab::new("");
        lab.up("ps-ams-1");
        lab.up("rr1");
        lab.update("ps-ams-1", ann(&[REG, "192.0.2.0/24"], &[64500]));
        lab.down("ps-ams-1", Some(Duration::from_secs(120)));
        assert_eq!(lab.routes(None, true).len(), 2, "{how}: kept as stale");
        let out = match how {
            "no F bit" => restarted(&mut lab, "ps-ams-1", false),
            _ => lab.up("ps-ams-1"),
        };
        assert!(
            lab.routes(None, true).is_empty(),
            "{how}: {:?}",
            lab.routes(None, true)
        );
        let withdrawn: Vec<Prefix> = sent(&out, "rr1")
            .iter()
            .flat_map(|u| u.withdrawn.iter().map(|w| w.prefix))
            .collect();
        assert!(withdrawn.contains(&p(REG)), "{how}: {withdrawn:?}");
    }
}

#[test]
fn graceful_restart_expiry_withdraws_every_stale_route() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&[REG], &[64500]));
    lab.down("ps-ams-1", Some(Duration::from_secs(5)));
    assert_eq!(
        lab.core.next_deadline(),
        Some(lab.now + Duration::from_secs(5))
    );
    lab.core.tick(lab.now + Duration::from_secs(4));
    assert_eq!(lab.routes(None, true).len(), 1);
    lab.core.tick(lab.now + Duration::from_secs(6));
    assert!(lab.routes(None, true).is_empty());
    assert_eq!(lab.decision(REG).state, "unreachable");
}

#[test]
fn plain_session_down_withdraws_everything_from_that_neighbor() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("rr1");
    lab.update("ps-ams-1", ann(&[REG, "192.0.2.0/24"], &[64500]));
    let out = lab.down("ps-ams-1", None);
    assert!(lab.routes(None, true).is_empty());
    let w: usize = sent(&out, "rr1").iter().map(|u| u.withdrawn.len()).sum();
    assert_eq!(w, 2);
}

#[test]
fn ipv6_routes_keep_their_mp_next_hop_toward_ibgp() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("rr1");
    let u = Update {
        attrs: PathAttributes {
            next_hop: None,
            ..attrs(&[64500])
        },
        mp_reach: Some(MpReach {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
            next_hop: "2001:db8::2".parse().unwrap(),
            link_local_next_hop: None,
            nlri: vec![AddPathPrefix {
                path_id: None,
                prefix: p("2001:db8:1::/48"),
            }],
        }),
        ..Default::default()
    };
    let out = lab.update("ps-ams-1", u);
    let rr = sent(&out, "rr1");
    let mp = rr.iter().find_map(|u| u.mp_reach.as_ref()).unwrap();
    assert_eq!(mp.next_hop, "2001:db8::2".parse::<IpAddr>().unwrap());
    assert_eq!(mp.nlri[0].prefix, p("2001:db8:1::/48"));
    assert!(
        lab.routes(Some("2001:db8:1:2::/64"), false).is_empty(),
        "exact match by default"
    );
    assert_eq!(
        lab.routes_matching(Some("2001:db8:1:2::/64"), false, true)[0].prefix,
        "2001:db8:1::/48",
        "longest match"
    );
}

#[test]
fn route_refresh_resends_the_familys_adj_rib_out() {
    let mut lab = Lab::new("");
    lab.up("transit");
    let out = lab.input(Input::RouteRefresh {
        neighbor: name("transit"),
        afi: Afi::IPV4,
        safi: Safi::UNICAST,
    });
    assert_eq!(announced(&out, "transit").len(), 1);
}

#[test]
fn resend_after_a_dropped_backlog_announces_what_the_adj_rib_out_holds_and_withdraws_the_rest() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("rr1");
    lab.update("ps-ams-1", ann(&[REG, "192.0.2.0/24"], &[64500]));
    lab.update("ps-ams-1", wd(&["192.0.2.0/24"]));
    // What the engine task resends for prefixes whose UPDATEs it dropped.
    let out = lab.input(Input::Resend {
        neighbor: name("rr1"),
        prefixes: vec![p(REG), p("192.0.2.0/24")],
        end_of_rib: true,
    });
    let a = announced(&out, "rr1");
    assert_eq!(a.len(), 1, "only the route still held: {a:?}");
    assert_eq!(a[0].0, p(REG));
    assert_eq!(a[0].1.local_pref, Some(300), "with its exported attributes");
    let ups = sent(&out, "rr1");
    assert!(
        ups.iter()
            .any(|u| u.withdrawn.iter().any(|w| w.prefix == p("192.0.2.0/24"))),
        "the withdrawn route is withdrawn again"
    );
    assert!(
        ups.iter().any(|u| u.nlri.is_empty()
            && u.withdrawn.is_empty()
            && u.mp_reach.is_none()
            && u.mp_unreach.as_ref().is_none_or(|m| m.withdrawn.is_empty())),
        "End-of-RIB follows when one was dropped"
    );
    assert!(
        sent(&out, "ps-ams-1").is_empty(),
        "only the neighbor behind gets the resend"
    );
}

#[test]
fn active_active_sessions_at_the_primary_are_ordered_by_best_path() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("ps-ams-2");
    lab.update("ps-ams-1", ann(&[REG], &[64500, 64500, 64500]));
    lab.update("ps-ams-2", ann(&[REG], &[64500]));
    let d = lab.decision(REG);
    assert_eq!(
        d.neighbors,
        vec!["ps-ams-2", "ps-ams-1"],
        "shorter AS path first"
    );
    let best: Vec<_> = lab
        .routes(Some(REG), false)
        .into_iter()
        .filter(|r| r.best)
        .map(|r| r.neighbor)
        .collect();
    assert_eq!(best, vec!["ps-ams-2"]);
}

#[test]
fn a_covering_transit_route_alone_makes_an_activated_prefix_internet() {
    let mut lab = Lab::new("");
    lab.up("transit");
    lab.up("rr1");
    let out = lab.update("transit", ann(&["203.0.112.0/22"], &[3356, 64500]));
    let d = lab.decision(REG);
    assert_eq!((d.state.as_str(), d.local_pref), ("internet", 100));
    assert_eq!(d.neighbors, vec!["transit"]);
    assert_eq!(
        d.reason,
        "no session at primary ams; none at backup fra; 1 internet route"
    );
    let rr = announced(&out, "rr1");
    assert!(rr
        .iter()
        .any(|(q, a)| *q == p("203.0.112.0/22") && a.local_pref == Some(100)));
    assert!(
        announced(&out, "transit")
            .iter()
            .all(|(q, _)| *q != p("203.0.112.0/22")),
        "never back to its source"
    );
    lab.update("transit", wd(&["203.0.112.0/22"]));
    assert_eq!(lab.decision(REG).state, "unreachable");
}

#[test]
fn backup_none_fails_over_straight_to_the_internet() {
    let mut c = (*cfg("")).clone();
    c.registered_prefixes[0].backup = None; // backup = "none"
    let mut lab = Lab {
        evals: Default::default(),
        core: EngineCore::new(Running::new(c).expect("policies compile")),
        now: Instant::now(),
    };
    lab.up("ps-fra");
    lab.up("transit");
    lab.update("ps-fra", ann(&[REG], &[64500]));
    lab.update("transit", ann(&[REG], &[3356, 64500]));
    let d = lab.decision(REG);
    assert_eq!((d.state.as_str(), d.backup.clone()), ("internet", None));
    assert!(d.reason.contains("no backup"));
    let best: Vec<_> = lab
        .routes(Some(REG), false)
        .into_iter()
        .filter(|r| r.best)
        .map(|r| r.neighbor)
        .collect();
    assert_eq!(best, vec!["transit"], "the Loc-RIB follows the decision");
}

#[test]
fn a_second_session_up_without_a_down_gets_the_full_dump_again() {
    let mut lab = Lab::new("");
    assert_eq!(announced(&lab.up("transit"), "transit").len(), 1);
    assert_eq!(announced(&lab.up("transit"), "transit").len(), 1);
}

#[test]
fn an_untagged_route_taken_as_internet_by_policy_is_an_internet_decision_not_a_primary_one() {
    let mut lab = Lab::with_import_policy(
        r#"
[policy.untagged-as-internet]
default = "accept"

[[policy.untagged-as-internet.rule]]
name = "untagged"
match.no_community = ["8075:8007"]
action = "internet"
"#,
        "untagged-as-internet",
    );
    lab.up("ps-ams-1");
    lab.up("rr1");
    let mut untagged = ann(&[REG], &[64500]);
    untagged.attrs.communities.clear();
    let out = lab.update("ps-ams-1", untagged);
    let r = lab.routes(Some(REG), false);
    assert_eq!(r.len(), 1);
    assert!(r[0].internet && r[0].best && r[0].status == "accepted");
    let d = lab.decision(REG);
    assert_eq!((d.state.as_str(), d.local_pref), ("internet", 100));
    assert_eq!(d.neighbors, vec!["ps-ams-1"]);
    assert!(announced(&out, "rr1")
        .iter()
        .any(|(q, a)| *q == p(REG) && a.local_pref == Some(100)));
    // Tagged again: a peering-service route, and the primary decision.
    lab.update("ps-ams-1", ann(&[REG], &[64500]));
    assert!(!lab.routes(Some(REG), false)[0].internet);
    let d = lab.decision(REG);
    assert_eq!((d.state.as_str(), d.local_pref), ("primary", 300));
    // A neighbor without that policy still rejects the untagged route.
    lab.up("ps-ams-2");
    let mut untagged = ann(&[REG], &[64500]);
    untagged.attrs.communities.clear();
    lab.update("ps-ams-2", untagged);
    let all = lab.routes(Some(REG), true);
    let r2 = all.iter().find(|r| r.neighbor == "ps-ams-2").unwrap();
    assert_eq!(
        (r2.status.as_str(), r2.rule.as_deref()),
        ("rejected", Some("missing-community"))
    );
}

#[test]
fn a_route_grown_too_big_for_a_neighbor_is_withdrawn_from_it() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("rr1");
    let out = lab.update("ps-ams-1", ann(&[REG], &[64500]));
    assert_eq!(announced(&out, "rr1").len(), 1);
    // The same route again with 1,100 communities: 4,400 octets of them
    // alone, more than a 4,096-octet message can carry.
    let mut big = ann(&[REG], &[64500]);
    big.attrs
        .communities
        .extend((0..1100u16).map(|i| Community::new(64500, i)));
    let out = lab.update("ps-ams-1", big);
    assert!(announced(&out, "rr1").is_empty());
    assert!(
        sent(&out, "rr1")
            .iter()
            .any(|u| u.withdrawn.iter().any(|w| w.prefix == p(REG))),
        "withdrawn from the neighbor that cannot take it (RFC 8654 §4)"
    );
}

/// A lab whose `[router] rtt_tiebreak` is `on`.
fn rtt_lab(on: bool, bfd: bool) -> Lab {
    let mut c = (*cfg("")).clone();
    c.router.rtt_tiebreak = on;
    if bfd {
        c.neighbors[0].bfd = toml::from_str("").ok();
    }
    Lab {
        evals: Default::default(),
        core: EngineCore::new(Running::new(c).expect("policies compile")),
        now: Instant::now(),
    }
}

fn rtt(lab: &mut Lab, n: &str, ms: f64) -> Vec<Output> {
    lab.input(Input::SessionRtt {
        neighbor: name(n),
        rtt: Duration::from_micros((ms * 1000.0) as u64),
        rttvar: Duration::from_micros((ms * 50.0) as u64),
    })
}

fn neighbor_view(lab: &Lab, n: &str) -> coldpotato::messages::views::NeighborView {
    match lab.core.query(&Query::Neighbors, lab.now) {
        QueryReply::Neighbors(v) => v.into_iter().find(|x| x.name == n).expect("neighbor"),
        other => panic!("unexpected {other:?}"),
    }
}

fn best_neighbor(lab: &Lab) -> Vec<String> {
    lab.routes(Some(REG), false)
        .into_iter()
        .filter(|r| r.best)
        .map(|r| r.neighbor)
        .collect()
}

#[test]
fn rtt_tiebreak_puts_the_faster_session_of_a_location_first_only_when_on() {
    for on in [false, true] {
        let mut lab = rtt_lab(on, false);
        for n in ["ps-ams-1", "ps-ams-2", "ps-fra", "rr1"] {
            lab.up(n);
        }
        for n in ["ps-ams-1", "ps-ams-2"] {
            lab.update(n, ann(&[REG], &[64500]));
        }
        // Equal paths, equal router ids: the lower peer address first.
        assert_eq!(lab.decision(REG).neighbors, vec!["ps-ams-1", "ps-ams-2"]);
        rtt(&mut lab, "ps-ams-1", 30.0);
        rtt(&mut lab, "ps-ams-2", 12.0);
        // Faster still, at the other location: never a reason to leave the primary.
        rtt(&mut lab, "ps-fra", 1.0);
        lab.update("ps-fra", ann(&[REG], &[64500]));
        let d = lab.decision(REG);
        assert_eq!(d.state, "primary");
        if on {
            assert_eq!(d.neighbors, vec!["ps-ams-2", "ps-ams-1"], "lower RTT first");
            assert_eq!(best_neighbor(&lab), vec!["ps-ams-2"]);
        } else {
            assert_eq!(
                d.neighbors,
                vec!["ps-ams-1", "ps-ams-2"],
                "off: RTT ignored"
            );
            assert_eq!(best_neighbor(&lab), vec!["ps-ams-1"]);
        }
        // Noise (within 10 % and 2 ms of the figure) reorders nothing.
        rtt(&mut lab, "ps-ams-1", 29.0);
        rtt(&mut lab, "ps-ams-2", 13.5);
        assert_eq!(lab.decision(REG).neighbors, d.neighbors);
        // A clear change does.
        rtt(&mut lab, "ps-ams-1", 5.0);
        let want = if on {
            vec!["ps-ams-1".to_string(), "ps-ams-2".to_string()]
        } else {
            d.neighbors.clone()
        };
        assert_eq!(lab.decision(REG).neighbors, want);
        // An RFC step outranks any RTT: a longer AS path stays behind.
        lab.update("ps-ams-1", ann(&[REG], &[64500, 64500]));
        assert_eq!(lab.decision(REG).neighbors, vec!["ps-ams-2", "ps-ams-1"]);
    }
}

#[test]
fn rtt_tiebreak_ranks_an_unmeasured_session_last_and_forgets_the_rtt_when_down() {
    let mut lab = rtt_lab(true, false);
    for n in ["ps-ams-1", "ps-ams-2", "rr1"] {
        lab.up(n);
    }
    for n in ["ps-ams-1", "ps-ams-2"] {
        lab.update(n, ann(&[REG], &[64500]));
    }
    rtt(&mut lab, "ps-ams-2", 40.0);
    assert_eq!(lab.decision(REG).neighbors, vec!["ps-ams-2", "ps-ams-1"]);
    // Down and up again: not measured any more, so behind the measured one.
    lab.down("ps-ams-2", None);
    lab.up("ps-ams-2");
    lab.update("ps-ams-2", ann(&[REG], &[64500]));
    rtt(&mut lab, "ps-ams-1", 40.0);
    assert_eq!(lab.decision(REG).neighbors, vec!["ps-ams-1", "ps-ams-2"]);
}

#[test]
fn the_neighbor_view_shows_rtt_and_bfd_receive_figures_while_they_hold() {
    let mut lab = rtt_lab(false, true);
    let v = neighbor_view(&lab, "ps-ams-1");
    assert_eq!((v.rtt_ms, v.rtt_var_ms), (None, None));
    // Not Established: a late sample is ignored.
    rtt(&mut lab, "ps-ams-1", 20.0);
    assert_eq!(neighbor_view(&lab, "ps-ams-1").rtt_ms, None);
    lab.up("ps-ams-1");
    rtt(&mut lab, "ps-ams-1", 20.5);
    let v = neighbor_view(&lab, "ps-ams-1");
    assert_eq!((v.rtt_ms, v.rtt_var_ms), (Some(20.5), Some(1.025)));

    let bfd_rx = |lab: &mut Lab| {
        lab.input(Input::BfdRx {
            neighbor: name("ps-ams-1"),
            interval: Duration::from_micros(87_500),
            jitter: Duration::from_micros(6_250),
        })
    };
    // Before BFD is Up a report is stale.
    bfd_rx(&mut lab);
    assert_eq!(neighbor_view(&lab, "ps-ams-1").bfd_rx_interval_ms, None);
    lab.bfd("ps-ams-1", BfdStatus::Up);
    bfd_rx(&mut lab);
    let v = neighbor_view(&lab, "ps-ams-1");
    assert_eq!(
        (v.bfd_rx_interval_ms, v.bfd_rx_jitter_ms),
        (Some(87.5), Some(6.25))
    );
    lab.bfd("ps-ams-1", BfdStatus::Down);
    assert_eq!(neighbor_view(&lab, "ps-ams-1").bfd_rx_interval_ms, None);

    lab.down("ps-ams-1", None);
    assert_eq!(neighbor_view(&lab, "ps-ams-1").rtt_ms, None);
}

#[test]
fn a_route_rejected_after_being_accepted_is_withdrawn_and_rejected_churn_sends_nothing() {
    let mut lab = Lab::new("");
    for n in ["ps-ams-1", "rr1"] {
        lab.up(n);
    }
    let withdrawn = |out: &[Output]| -> Vec<Prefix> {
        sent(out, "rr1")
            .into_iter()
            .flat_map(|u| u.withdrawn.into_iter().map(|w| w.prefix))
            .collect()
    };
    let out = lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500]));
    assert_eq!(announced(&out, "rr1").len(), 1);
    // The same prefix again with a private ASN in its path: rejected, so
    // the internal neighbor loses it.
    let out = lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500, 64512]));
    assert!(announced(&out, "rr1").is_empty());
    assert_eq!(withdrawn(&out), vec![p("192.0.2.0/24")]);
    // Rejected replaced by rejected, then withdrawn: nothing to send.
    let out = lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500, 64513]));
    assert!(sent(&out, "rr1").is_empty(), "{out:?}");
    assert_eq!(lab.routes(Some("192.0.2.0/24"), true).len(), 1);
    let out = lab.update("ps-ams-1", wd(&["192.0.2.0/24"]));
    assert!(sent(&out, "rr1").is_empty(), "{out:?}");
    assert!(lab.routes(Some("192.0.2.0/24"), true).is_empty());
    // Accepted again: announced again.
    let out = lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500]));
    assert_eq!(announced(&out, "rr1").len(), 1);
}
