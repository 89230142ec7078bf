//! Update groups in the route engine, without sockets: internal neighbors
//! whose exports cannot differ get the same encoded bytes (one encoding,
//! shared), a late joiner gets the group's whole Adj-RIB-Out and
//! End-of-RIB, a member leaving disturbs no other, and a member a reload
//! gives an export policy is split off and brought in line on its own;
//! with two feeds racing, each change of winner goes out and nothing else.

mod common;

use common::engine_lab as lab;

use coldpotato::messages::Encoded;
use lab::*;

/// The wire pieces sent to `to`.
fn pieces<'a>(out: &'a [Output], to: &str) -> Vec<&'a Encoded> {
    out.iter()
        .filter(|(n, _)| &**n == to)
        .filter_map(|(_, m)| match m {
            ToPeer::Wire(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn table(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect()
}

fn announce_table(lab: &mut Lab, n: usize) -> Vec<Output> {
    let t = table(n);
    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
    lab.update("transit", ann(&refs, &[3356]))
}

fn ends_with_end_of_rib(out: &[Output], to: &str) -> bool {
    let ups = sent(out, to);
    ups.iter().any(|u| *u == Update::default())
}

#[test]
fn two_internal_neighbors_share_one_encoding() {
    let mut lab = Lab::new("");
    for n in ["transit", "rr1", "rr2"] {
        lab.up(n);
    }
    let out = announce_table(&mut lab, 1000);
    let (a, b) = (pieces(&out, "rr1"), pieces(&out, "rr2"));
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.bytes(), y.bytes());
        // The same buffer, not an equal copy: encoded once.
        assert_eq!(x.bytes().as_ptr(), y.bytes().as_ptr());
    }
    let got = announced(&out, "rr1");
    assert_eq!(got.len(), 1000);
    assert!(got.iter().all(|(_, a)| a.local_pref == Some(100)));
}

#[test]
fn a_late_joiner_gets_the_whole_table_and_end_of_rib_and_the_others_nothing() {
    let mut lab = Lab::new("");
    lab.up("transit");
    lab.up("rr1");
    announce_table(&mut lab, 500);
    let out = lab.up("rr2");
    assert!(
        announced(&out, "rr1").is_empty(),
        "rr1 already has the table"
    );
    let mut got: Vec<Prefix> = announced(&out, "rr2").into_iter().map(|x| x.0).collect();
    got.sort();
    // The table and our originated prefix, once each.
    let mut want: Vec<Prefix> = table(500).iter().map(|s| p(s)).collect();
    want.push(p("198.51.100.0/24"));
    want.sort();
    assert_eq!(got, want);
    assert!(ends_with_end_of_rib(&out, "rr2"));
    // From now on both get the same increments.
    let out = lab.update("transit", wd(&["10.0.7.0/24"]));
    for rr in ["rr1", "rr2"] {
        let w: Vec<Prefix> = sent(&out, rr)
            .into_iter()
            .flat_map(|u| u.withdrawn.into_iter().map(|x| x.prefix))
            .collect();
        assert_eq!(w, vec![p("10.0.7.0/24")], "{rr}");
    }
}

#[test]
fn a_member_going_down_and_back_disturbs_no_other() {
    let mut lab = Lab::new("");
    for n in ["transit", "rr1", "rr2"] {
        lab.up(n);
    }
    announce_table(&mut lab, 300);
    lab.down("rr1", None);
    let out = lab.update("transit", ann(&["192.0.2.0/24"], &[3356]));
    assert_eq!(announced(&out, "rr2").len(), 1);
    assert!(pieces(&out, "rr1").is_empty());
    let out = lab.up("rr1");
    assert_eq!(announced(&out, "rr1").len(), 302);
    assert!(ends_with_end_of_rib(&out, "rr1"));
    assert!(pieces(&out, "rr2").is_empty());
    // Both down: the group is gone; the next one up starts afresh.
    lab.down("rr1", None);
    lab.down("rr2", None);
    let out = lab.up("rr2");
    assert_eq!(announced(&out, "rr2").len(), 302);
}

#[test]
fn a_reload_giving_one_member_an_export_policy_splits_it_off() {
    let mut lab = Lab::new("");
    for n in ["transit", "rr1", "rr2"] {
        lab.up(n);
    }
    announce_table(&mut lab, 200);
    let text = BASE.replace(
        "name = \"rr2\"\naddress = \"10.0.0.2\"\nremote_as = 8075\nlocation = \"ams\"\nrole = \"internal\"\n",
        "name = \"rr2\"\naddress = \"10.0.0.2\"\nremote_as = 8075\nlocation = \"ams\"\nrole = \"internal\"\nexport_policy = \"none\"\n",
    );
    assert_ne!(text, BASE);
    let running = coldpotato::running::parse(&text, "groups.toml").expect("valid config");
    let out = lab.input(Input::Reload(running));
    // rr2 withdraws everything it had (export policy "none"); rr1 keeps it.
    let w: usize = sent(&out, "rr2").iter().map(|u| u.withdrawn.len()).sum();
    let w6: usize = sent(&out, "rr2")
        .iter()
        .filter_map(|u| u.mp_unreach.as_ref())
        .map(|m| m.withdrawn.len())
        .sum();
    assert_eq!(
        w + w6,
        201,
        "rr2 withdraws the table and the originated prefix"
    );
    assert!(sent(&out, "rr1")
        .iter()
        .all(|u| u.withdrawn.is_empty() && u.mp_unreach.is_none()));
    // Later increments: rr1 only.
    let out = lab.update("transit", ann(&["192.0.2.0/24"], &[3356]));
    assert_eq!(announced(&out, "rr1").len(), 1);
    assert!(announced(&out, "rr2").is_empty());
}

/// The internal neighbor's route for `prefix` in `out`: its AS path, or
/// `None` when it was withdrawn; absent when nothing was sent for it.
fn route_sent(out: &[Output], to: &str, prefix: &str) -> Option<Option<Vec<u32>>> {
    let mut last = None;
    for u in sent(out, to) {
        if u.withdrawn.iter().any(|w| w.prefix == p(prefix)) {
            last = Some(None);
        }
        if u.nlri.iter().any(|n| n.prefix == p(prefix)) {
            let path = u.attrs.as_path.as_ref().map(|a| a.all_asns().collect());
            last = Some(Some(path.unwrap_or_default()));
        }
    }
    last
}

#[test]
fn two_feeds_racing_the_internal_neighbor_gets_each_change_of_winner_and_nothing_else() {
    const P: &str = "192.0.2.0/24";
    let mut lab = Lab::new("");
    for n in ["ps-ams-1", "ps-ams-2", "rr1"] {
        lab.up(n);
    }
    let out = lab.update("ps-ams-1", ann(&[P], &[64500]));
    assert_eq!(route_sent(&out, "rr1", P), Some(Some(vec![64500])));
    // The other feed's longer path loses: the winner stands, nothing is sent.
    let out = lab.update("ps-ams-2", ann(&[P], &[64500, 3356]));
    assert!(sent(&out, "rr1").is_empty(), "{:?}", sent(&out, "rr1"));
    // The winner's own neighbor announces it again with a new MED: the same
    // neighbor still wins, with new attributes, which go out.
    let mut again = ann(&[P], &[64500]);
    again.attrs.med = Some(7);
    let out = lab.update("ps-ams-1", again);
    let got = announced(&out, "rr1");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.med, Some(7));
    // The winner's path gets longer than the other: the other one wins.
    let out = lab.update("ps-ams-1", ann(&[P], &[64500, 1299, 3356]));
    assert_eq!(route_sent(&out, "rr1", P), Some(Some(vec![64500, 3356])));
    // The winner withdraws: the first feed's (now longest) path takes over.
    let out = lab.update("ps-ams-2", wd(&[P]));
    assert_eq!(
        route_sent(&out, "rr1", P),
        Some(Some(vec![64500, 1299, 3356]))
    );
    // The last one goes: the internal neighbor gets the withdrawal.
    let out = lab.update("ps-ams-1", wd(&[P]));
    assert_eq!(route_sent(&out, "rr1", P), Some(None));
}

/// The prefixes announced to `to` in `out`, in order.
fn prefixes_sent(out: &[Output], to: &str) -> Vec<Prefix> {
    announced(out, to).into_iter().map(|x| x.0).collect()
}

#[test]
fn the_group_keeping_its_routes_in_the_rib_shows_no_route_and_lets_every_set_go() {
    let mut lab = Lab::new("");
    lab.up("transit");
    let sets = lab.core.attribute_sets();
    // rr1's group keeps what it was sent in the RIB's buckets: the
    // originated prefix is there, with no path, and is no route.
    let out = lab.up("rr1");
    let originated = p("198.51.100.0/24");
    assert_eq!(prefixes_sent(&out, "rr1"), vec![originated]);
    assert!(lab.routes(None, true).is_empty());
    announce_table(&mut lab, 100);
    assert_eq!(lab.routes(None, true).len(), 100);
    // The table goes: rr1 gets each withdrawal, and the RIB is empty again.
    let t = table(100);
    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
    let out = lab.update("transit", wd(&refs));
    let w: usize = sent(&out, "rr1").iter().map(|u| u.withdrawn.len()).sum();
    assert_eq!(w, 100);
    assert!(lab.routes(None, true).is_empty());
    // rr1 goes down: its group goes, and every reference it held with it.
    lab.down("rr1", None);
    assert_eq!(lab.core.attribute_sets(), sets);
    // rr2 forms the next group and is sent the originated prefix alone.
    let out = lab.up("rr2");
    assert_eq!(prefixes_sent(&out, "rr2"), vec![originated]);
    lab.update("transit", ann(&["192.0.2.0/24"], &[3356]));
    assert_eq!(lab.routes(None, true).len(), 1);
}
