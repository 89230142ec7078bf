//! Route engine scenarios without sockets: inputs into `EngineCore`,
//! assertions on its outputs, views and events.

use coldpotato::api::model::{DecisionView, RouteView};
use coldpotato::config::Config;
use coldpotato::engine::messages::{
    BfdStatus, NeighborName, Query, QueryReply, SessionInfo, ToPeer,
};
use coldpotato::engine::{EngineCore, Input, Output};
use coldpotato::wire::update::{MpReach, MpUnreach};
use coldpotato::wire::{
    AddPathPrefix, Afi, AsPath, AttrAction, Codec, Community, Origin, PathAttributes, Prefix, Safi,
    Update,
};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BASE: &str = r#"
[router]
asn = 8075
router_id = "198.51.100.1"
location = "ams"

[rules]
reject_reserved_asn = false
reject_bogons = false

[[locations]]
name = "ams"
[[locations]]
name = "fra"

[[neighbors]]
name = "ps-ams-1"
address = "192.0.2.2"
remote_as = 64500
location = "ams"
role = "peering-service"

[[neighbors]]
name = "ps-ams-2"
address = "192.0.2.6"
remote_as = 64500
location = "ams"
role = "peering-service"

[[neighbors]]
name = "ps-fra"
address = "192.0.2.10"
remote_as = 64500
location = "fra"
role = "peering-service"

[[neighbors]]
name = "transit"
address = "192.0.2.14"
remote_as = 3356
location = "ams"
role = "transit"

[[neighbors]]
name = "rr1"
address = "10.0.0.1"
remote_as = 8075
location = "ams"
role = "internal"

[[neighbors]]
name = "rr2"
address = "10.0.0.2"
remote_as = 8075
location = "ams"
role = "internal"

[[registered_prefixes]]
prefix = "203.0.113.0/24"
peer_asn = 64500
primary = "ams"
backup = "fra"

[[originate]]
prefix = "198.51.100.0/24"
communities = ["8075:100"]
"#;

const REG: &str = "203.0.113.0/24";

fn cfg(extra: &str) -> Arc<Config> {
    Arc::new(toml::from_str(&format!("{BASE}\n{extra}")).unwrap())
}

struct Lab {
    core: EngineCore,
    now: Instant,
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn name(s: &str) -> NeighborName {
    NeighborName::from(s)
}

fn info(local: &str, remote: &str, remote_as: u32) -> SessionInfo {
    SessionInfo {
        remote_as,
        remote_id: "192.0.2.200".parse().unwrap(),
        local_address: local.parse().unwrap(),
        remote_address: remote.parse().unwrap(),
        codec: Codec::default(),
        families: vec![(Afi::IPV4, Safi::UNICAST), (Afi::IPV6, Safi::UNICAST)],
        route_refresh: true,
        enhanced_route_refresh: false,
        graceful_restart: None,
        hold_time: 90,
    }
}

fn attrs(path: &[u32]) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(path.to_vec())),
        next_hop: Some("192.0.2.2".parse().unwrap()),
        communities: vec![Community::new(8075, 8007)],
        ..Default::default()
    }
}

fn ann(prefixes: &[&str], path: &[u32]) -> Update {
    Update {
        attrs: attrs(path),
        nlri: prefixes
            .iter()
            .map(|s| AddPathPrefix {
                path_id: None,
                prefix: p(s),
            })
            .collect(),
        ..Default::default()
    }
}

fn sent<'a>(out: &'a [Output], to: &str) -> Vec<&'a Update> {
    out.iter()
        .filter(|(n, _)| &**n == to)
        .flat_map(|(_, m)| match m {
            ToPeer::Send(u) => u.iter().collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect()
}

fn announced(out: &[Output], to: &str) -> Vec<(Prefix, PathAttributes)> {
    sent(out, to)
        .into_iter()
        .flat_map(|u| u.nlri.iter().map(move |n| (n.prefix, u.attrs.clone())))
        .collect()
}

impl Lab {
    fn new(extra: &str) -> Lab {
        Lab {
            core: EngineCore::new(cfg(extra)),
            now: Instant::now(),
        }
    }

    fn input(&mut self, i: Input) -> Vec<Output> {
        self.core.handle(i, self.now)
    }

    fn up(&mut self, n: &str) -> Vec<Output> {
        let (local, remote, asn) = match n {
            "rr1" => ("10.0.0.100", "10.0.0.1", 8075),
            "rr2" => ("10.0.0.100", "10.0.0.2", 8075),
            "transit" => ("192.0.2.13", "192.0.2.14", 3356),
            _ => ("192.0.2.1", "192.0.2.2", 64500),
        };
        self.input(Input::SessionUp {
            neighbor: name(n),
            info: info(local, remote, asn),
        })
    }

    fn down(&mut self, n: &str, gr: Option<Duration>) -> Vec<Output> {
        self.input(Input::SessionDown {
            neighbor: name(n),
            reason: "test".into(),
            graceful_restart: gr,
        })
    }

    fn update(&mut self, n: &str, u: Update) -> Vec<Output> {
        self.input(Input::Update {
            neighbor: name(n),
            update: u,
        })
    }

    fn bfd(&mut self, n: &str, status: BfdStatus) -> Vec<Output> {
        self.input(Input::Bfd {
            neighbor: name(n),
            status,
            diagnostic: 0,
        })
    }

    fn routes(&self, prefix: Option<&str>, all: bool) -> Vec<RouteView> {
        match self.core.query(
            &Query::Routes {
                prefix: prefix.map(p),
                all,
            },
            self.now,
        ) {
            QueryReply::Routes(r) => r,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn decision(&self, prefix: &str) -> DecisionView {
        match self.core.query(&Query::Decisions, self.now) {
            QueryReply::Decisions(d) => d.into_iter().find(|d| d.prefix == prefix).unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn event_kinds(&self) -> Vec<String> {
        match self.core.query(&Query::Events { since: 0 }, self.now) {
            QueryReply::Events(e) => e.into_iter().map(|e| e.kind).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn accepted_routes_reach_the_loc_rib_and_are_listed() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24", REG], &[64500]));
    let r = lab.routes(None, false);
    assert_eq!(r.len(), 2);
    assert!(r
        .iter()
        .all(|r| r.status == "accepted" && r.best && r.neighbor == "ps-ams-1"));
    assert_eq!(
        r[0].as_path,
        vec![coldpotato::api::model::AsPathElem::Asn(64500)]
    );
    lab.update(
        "ps-ams-1",
        Update {
            withdrawn: vec![AddPathPrefix {
                path_id: None,
                prefix: p("192.0.2.0/24"),
            }],
            ..Default::default()
        },
    );
    assert_eq!(lab.routes(None, false).len(), 1);
}

#[test]
fn wrong_origin_for_a_registered_prefix_is_rejected_as_origin_mismatch_and_logged() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&[REG], &[64500, 64666]));
    assert!(
        lab.routes(None, false).is_empty(),
        "a rejected route is not listed by default"
    );
    let all = lab.routes(Some(REG), true);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, "rejected");
    assert_eq!(all[0].rule.as_deref(), Some("origin-mismatch"));
    assert!(all[0].reason.as_deref().unwrap_or("").contains("AS64666"));
    assert!(lab.event_kinds().contains(&"origin-mismatch".to_string()));
}

#[test]
fn more_specific_of_a_registered_prefix_from_another_origin_is_rejected_and_logged() {
    let mut lab = Lab::new("");
    lab.up("transit");
    lab.update("transit", ann(&["203.0.113.128/25"], &[3356, 64666]));
    let all = lab.routes(Some("203.0.113.128/25"), true);
    assert_eq!(all[0].rule.as_deref(), Some("unexpected-more-specific"));
    assert!(lab
        .event_kinds()
        .contains(&"unexpected-more-specific".to_string()));
    // From the registered origin it is fine.
    lab.update("transit", ann(&["203.0.113.128/25"], &[3356, 64500]));
    assert_eq!(lab.routes(Some("203.0.113.128/25"), false).len(), 1);
}

#[test]
fn treat_as_withdraw_removes_a_previously_accepted_route() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500]));
    let mut bad = ann(&["192.0.2.0/24"], &[64500]);
    bad.attr_error = Some((AttrAction::TreatAsWithdraw, 8));
    lab.update("ps-ams-1", bad);
    assert!(lab.routes(None, true).is_empty());
}

#[test]
fn max_prefix_teardown_sends_cease_with_rfc4486_data_and_hold_down() {
    let mut lab = Lab::new("");
    let mut c = (*lab.core.config().clone()).clone();
    c.neighbors[0].max_prefixes =
        toml::from_str("limit = 2\nwarn_percent = 50\nrestart_after_s = 60").ok();
    lab = Lab {
        core: EngineCore::new(Arc::new(c)),
        now: lab.now,
    };
    lab.up("ps-ams-1");
    let out = lab.update(
        "ps-ams-1",
        ann(
            &["192.0.2.0/24", "192.0.2.0/25", "192.0.2.128/25"],
            &[64500],
        ),
    );
    let td: Vec<_> = out
        .iter()
        .filter_map(|(n, m)| match m {
            ToPeer::Teardown {
                notification,
                hold_down,
            } if &**n == "ps-ams-1" => Some((notification, hold_down)),
            _ => None,
        })
        .collect();
    assert_eq!(td.len(), 1);
    assert_eq!((td[0].0.code, td[0].0.subcode), (6, 1));
    assert_eq!(&td[0].0.data[..], &[0, 1, 1, 0, 0, 0, 2]);
    assert_eq!(*td[0].1, Some(Duration::from_secs(60)));
    assert!(
        lab.routes(None, true).is_empty(),
        "routes of a tripped neighbor are dropped"
    );
    let kinds = lab.event_kinds();
    assert!(kinds.contains(&"max-prefix-warning".to_string()));
    assert!(kinds.contains(&"max-prefix-exceeded".to_string()));
}

fn limited(action: &str) -> Lab {
    let base = Lab::new("");
    let mut c = (*base.core.config().clone()).clone();
    c.neighbors[0].max_prefixes = toml::from_str(&format!("limit = 2\naction = \"{action}\"")).ok();
    let mut lab = Lab {
        core: EngineCore::new(Arc::new(c)),
        now: base.now,
    };
    lab.up("ps-ams-1");
    lab
}

#[test]
fn max_prefix_warn_logs_once_and_keeps_every_route() {
    let mut lab = limited("warn");
    let out = lab.update(
        "ps-ams-1",
        ann(
            &[
                "192.0.2.0/24",
                "192.0.2.0/25",
                "192.0.2.128/25",
                "192.0.2.0/26",
            ],
            &[64500],
        ),
    );
    assert!(out
        .iter()
        .all(|(_, m)| !matches!(m, ToPeer::Teardown { .. })));
    assert_eq!(lab.routes(None, false).len(), 4);
    assert_eq!(
        lab.event_kinds()
            .iter()
            .filter(|k| *k == "max-prefix-exceeded")
            .count(),
        1
    );
}

#[test]
fn max_prefix_refuse_rejects_prefixes_beyond_the_limit_with_rule_max_prefix() {
    let mut lab = limited("refuse");
    lab.update(
        "ps-ams-1",
        ann(
            &["192.0.2.0/24", "192.0.2.0/25", "192.0.2.128/25"],
            &[64500],
        ),
    );
    let all = lab.routes(None, true);
    assert_eq!(all.iter().filter(|r| r.status == "accepted").count(), 2);
    let refused: Vec<_> = all.iter().filter(|r| r.status == "rejected").collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].rule.as_deref(), Some("max-prefix"));
    match lab.core.query(&Query::Neighbors, lab.now) {
        QueryReply::Neighbors(n) => {
            let n = n.iter().find(|n| n.name == "ps-ams-1").unwrap();
            assert_eq!((n.prefixes_received, n.prefixes_accepted), (3, 2));
            assert_eq!(n.prefixes_rejected.get("max-prefix"), Some(&1));
        }
        other => panic!("unexpected {other:?}"),
    }
}

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
    assert_eq!(*ups[n - 2], Update::default());
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
        core: EngineCore::new(Arc::new(c)),
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

    lab.up("ps-ams-1");
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
fn reload_reapplies_registered_prefix_checks_without_a_session_reset() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("rr1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500]));
    let new = cfg("[[registered_prefixes]]\nprefix = \"192.0.2.0/24\"\npeer_asn = 64501\n");
    let out = lab.input(Input::Reload(new));
    assert!(out
        .iter()
        .all(|(_, m)| !matches!(m, ToPeer::Teardown { .. })));
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(r[0].rule.as_deref(), Some("origin-mismatch"));
    assert!(sent(&out, "rr1")
        .iter()
        .any(|u| u.withdrawn.iter().any(|w| w.prefix == p("192.0.2.0/24"))));
    // And back.
    lab.input(Input::Reload(cfg("")));
    assert_eq!(lab.routes(Some("192.0.2.0/24"), false).len(), 1);
    assert!(!lab.event_kinds().contains(&"session-down".to_string()));
}

#[test]
fn reload_without_a_neighbor_drops_its_routes() {
    let mut lab = Lab::new("");
    lab.up("ps-fra");
    lab.update("ps-fra", ann(&[REG], &[64500]));
    let mut c = (*cfg("")).clone();
    c.neighbors.retain(|n| n.name != "ps-fra");
    lab.input(Input::Reload(Arc::new(c)));
    assert!(lab.routes(None, true).is_empty());
    assert_eq!(lab.decision(REG).state, "unreachable");
}

#[test]
fn a_transit_asn_behind_a_providers_first_hop_logs_a_route_leak_but_is_accepted() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.update("ps-ams-1", ann(&["192.0.2.0/24"], &[64500, 1299, 64501]));
    assert!(lab.event_kinds().contains(&"route-leak".to_string()));
    assert_eq!(lab.routes(None, false).len(), 1);
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
    assert_eq!(
        lab.routes(Some("2001:db8:1:2::/64"), false)[0].prefix,
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
fn events_since_returns_only_newer_events() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    lab.up("ps-fra");
    match lab.core.query(&Query::Events { since: 1 }, lab.now) {
        QueryReply::Events(e) => {
            assert!(e.iter().all(|e| e.seq > 1));
            assert_eq!(e[0].seq, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_policy_rejection_is_kept_with_its_rule_and_a_reload_that_relaxes_the_rule_accepts_it() {
    let mut lab = Lab::new("");
    lab.up("ps-ams-1");
    let mut u = ann(&["192.0.2.0/24"], &[64500]);
    u.attrs.communities.clear();
    lab.update("ps-ams-1", u);
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(
        (r[0].status.as_str(), r[0].rule.as_deref()),
        ("rejected", Some("missing-community"))
    );
    assert!(r[0].reason.as_deref().unwrap_or("").contains("8075:8007"));
    let mut c: Config = (*cfg("")).clone();
    c.rules.require_community = None;
    lab.input(Input::Reload(Arc::new(c)));
    let r = lab.routes(Some("192.0.2.0/24"), true);
    assert_eq!(
        (r[0].status.as_str(), r[0].rule.as_deref()),
        ("accepted", None)
    );
    assert!(!lab.event_kinds().contains(&"session-down".to_string()));
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
