//! The BMP exporter against a real collector: Debian's pmacct (`pmbmpd`,
//! logging every BMP message it decodes as JSON lines). The hub is fed as
//! the route engine feeds it: a Peer Up with real OPENs, a 10,000-prefix
//! table pre-policy and post-policy, the Loc-RIB view, one withdrawal and a
//! Peer Down; the collector's message counts are checked, and the
//! collector disconnecting mid-session brings a reconnect and a new dump.

mod common;

use coldpotato::bmp::client::{self, Exporter};
use coldpotato::bmp::hub::{Feed, Hub, Views};
use coldpotato::bmp::msg::{DownReason, Peer, Stat, View};
use coldpotato::wire::{
    AddPathPrefix, AsPath, Capability, Codec, Community, Open, Origin, PathAttributes, Update,
};
use common::*;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

const PREFIXES: u32 = 10_000;

fn peer() -> Peer {
    Peer {
        address: "192.0.2.2".parse().unwrap(),
        asn: 64500,
        bgp_id: Ipv4Addr::new(192, 0, 2, 2),
        two_octet_as: false,
    }
}

fn open(asn: u32, id: Ipv4Addr) -> Open {
    Open {
        version: 4,
        my_as: asn as u16,
        hold_time: 90,
        bgp_id: id,
        capabilities: vec![Capability::FourOctetAs(asn)],
    }
}

/// `PREFIXES` /24s from 20.0.0.0 in UPDATEs of 500.
fn table() -> Vec<Update> {
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(vec![64500, 3356])),
        next_hop: Some("192.0.2.2".parse().unwrap()),
        communities: vec![Community::new(8075, 8007)],
        ..Default::default()
    };
    let nlri: Vec<AddPathPrefix> = (0..PREFIXES)
        .map(|i| {
            let a = Ipv4Addr::from(0x1400_0000 + (i << 8));
            AddPathPrefix::new(ipnet::Ipv4Net::new(a, 24).unwrap().into())
        })
        .collect();
    nlri.chunks(500)
        .map(|c| Update {
            attrs: attrs.clone(),
            nlri: c.to_vec(),
            ..Default::default()
        })
        .collect()
}

/// What the engine would publish for one session and its table.
fn dump(hub: &mut Hub, c: usize) {
    let now = SystemTime::now();
    hub.dump_to(
        c,
        Feed::PeerUp {
            peer: peer(),
            at: now,
            local: "192.0.2.1:179".parse().unwrap(),
            remote_port: 40000,
            sent_open: client::open_bytes(&open(8075, Ipv4Addr::new(192, 0, 2, 1))),
            received_open: client::open_bytes(&open(64500, Ipv4Addr::new(192, 0, 2, 2))),
        },
    );
    hub.dump_to(
        c,
        Feed::LocRibUp {
            us: Peer {
                address: "192.0.2.1".parse().unwrap(),
                asn: 8075,
                bgp_id: Ipv4Addr::new(192, 0, 2, 1),
                two_octet_as: false,
            },
            at: now,
            open: client::open_bytes(&open(8075, Ipv4Addr::new(192, 0, 2, 1))),
        },
    );
    for view in [View::PrePolicy, View::PostPolicy, View::LocRib] {
        for u in table() {
            hub.dump_to(
                c,
                Feed::Route {
                    view,
                    peer: peer(),
                    at: now,
                    update: Box::new(u),
                    codec: Codec::default(),
                    rejection: None,
                },
            );
        }
    }
    hub.dump_to(
        c,
        Feed::Stats {
            view: View::PrePolicy,
            peer: peer(),
            at: now,
            stats: vec![Stat::RejectedByPolicy(0), Stat::AdjRibIn(PREFIXES.into())],
        },
    );
}

/// Message counts by `bmp_msg_type` (and `log_type` for route monitoring,
/// which pmacct logs once per prefix) in pmbmpd's JSON log.
fn counts(log: &std::path::Path) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let t = v["bmp_msg_type"].as_str().unwrap_or("?").to_string();
        let key = match t.as_str() {
            "route_monitor" => {
                let policy = if v["is_post"].as_i64() == Some(1) || v["is_post"] == true {
                    "post"
                } else if v["is_loc"].as_i64() == Some(1) || v["is_loc"] == true {
                    "loc"
                } else {
                    "pre"
                };
                format!(
                    "route_monitor/{policy}/{}",
                    v["log_type"].as_str().unwrap_or("?")
                )
            }
            _ => t,
        };
        *out.entry(key).or_default() += 1;
    }
    out
}

fn pmbmpd(dir: &std::path::Path, port: u16) -> Proc {
    let conf = dir.join("pmbmpd.conf");
    std::fs::write(
        &conf,
        format!(
            "bmp_daemon_ip: 127.0.0.1\nbmp_daemon_port: {port}\n\
             bmp_daemon_msglog_file: {}\nbmp_daemon_msglog_output: json\n",
            dir.join("bmp.json").display()
        ),
    )
    .expect("write config");
    let mut cmd = Command::new("pmbmpd");
    cmd.arg("-f").arg(&conf);
    let p = Proc::spawn("pmbmpd", cmd, dir.join("pmbmpd.log"));
    let up = wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| ())
    });
    assert!(up.is_some(), "pmbmpd did not listen: {}", p.log_text());
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pmacct_receives_peer_up_tables_loc_rib_a_withdrawal_and_peer_down() {
    if !need(&["pmbmpd"], false) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let collector = pmbmpd(dir.path(), port);
    let log = dir.path().join("bmp.json");

    let mut hub = Hub::new(vec![Views {
        pre_policy: true,
        post_policy: true,
        loc_rib: true,
        adj_rib_out: false,
    }]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let exporter = tokio::spawn(client::run(
        Exporter {
            name: "pmacct".into(),
            address: SocketAddr::from(([127, 0, 0, 1], port)).to_string(),
            sys_name: "edge-ams-1".into(),
            queue: 200_000,
            rejection_tlv: false,
        },
        0,
        hub.request_tx.clone(),
        stop_rx,
    ));
    // The exporter connects and asks for a dump.
    let asked = wait_for_async(Duration::from_secs(10), || {
        let r = hub.take_dump_requests();
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(asked, Some(vec![0]), "no dump request");
    dump(&mut hub, 0);

    // Increments: one withdrawal (pre, post and Loc-RIB), then Peer Down.
    let w = Update {
        withdrawn: vec![AddPathPrefix::new("20.0.0.0/24".parse().unwrap())],
        ..Default::default()
    };
    for view in [View::PrePolicy, View::PostPolicy, View::LocRib] {
        hub.publish(&Feed::Route {
            view,
            peer: peer(),
            at: SystemTime::now(),
            update: Box::new(w.clone()),
            codec: Codec::default(),
            rejection: None,
        });
    }
    hub.publish(&Feed::PeerDown {
        peer: peer(),
        at: SystemTime::now(),
        reason: DownReason::RemoteNoData,
    });

    let n = PREFIXES as usize;
    let got = wait_for_async(Duration::from_secs(30), || {
        let c = counts(&log);
        (c.get("peer_down").copied().unwrap_or(0) >= 1).then_some(c)
    })
    .await
    .unwrap_or_else(|| counts(&log));
    note(&format!("pmbmpd message counts: {got:?}"));
    let _ = std::fs::copy(&log, "/tmp/bmp_last.json");
    assert_eq!(got.get("init"), Some(&1), "{got:?}");
    // The session's Peer Up and the Loc-RIB instance's (RFC 9069 §5.3).
    assert_eq!(got.get("peer_up"), Some(&2), "{got:?}");
    for view in ["pre", "post", "loc"] {
        let u = format!("route_monitor/{view}/update");
        let w = format!("route_monitor/{view}/withdraw");
        assert_eq!(got.get(&u), Some(&n), "{u}: {got:?}");
        assert_eq!(got.get(&w), Some(&1), "{w}: {got:?}");
    }
    // pmacct logs one line per statistics counter: two were sent.
    assert_eq!(got.get("stats"), Some(&2), "{got:?}");
    assert_eq!(got.get("peer_down"), Some(&1), "{got:?}");

    stop_tx.send(true).expect("stop");
    let _ = tokio::time::timeout(Duration::from_secs(5), exporter).await;
    let term = wait_for_async(Duration::from_secs(5), || {
        (counts(&log).get("term").copied().unwrap_or(0) == 1).then_some(())
    })
    .await;
    assert!(term.is_some(), "no Termination: {:?}", counts(&log));
    let _ = std::fs::copy(&log, "/tmp/bmp_last.json");
    drop(collector);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_falls_behind_is_cut_off_and_re_synced_without_blocking_the_feed() {
    if !need(&["pmbmpd"], false) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _collector = pmbmpd(dir.path(), port);
    let views = Views {
        pre_policy: true,
        post_policy: false,
        loc_rib: false,
        adj_rib_out: false,
    };
    let mut hub = Hub::new(vec![views]);
    let (_stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(client::run(
        Exporter {
            name: "slow".into(),
            address: SocketAddr::from(([127, 0, 0, 1], port)).to_string(),
            sys_name: "edge-ams-1".into(),
            queue: 8,
            rejection_tlv: false,
        },
        0,
        hub.request_tx.clone(),
        stop_rx,
    ));
    let first = wait_for_async(Duration::from_secs(10), || {
        let r = hub.take_dump_requests();
        (!r.is_empty()).then_some(())
    })
    .await;
    assert!(first.is_some(), "no first dump request");
    // Dumps far larger than the queue: publishing never waits, the
    // collector is cut off, and its exporter comes back for a new dump.
    // Dump after dump until then (usually the first): a test thread
    // descheduled mid-dump on a busy machine lets the exporter drain one
    // dump, never the burst (pmbmpd is slower than the copying).
    let mut dumps = 0;
    while hub.wants(View::PrePolicy) && dumps < 200 {
        dump(&mut hub, 0);
        dumps += 1;
    }
    assert!(
        !hub.wants(View::PrePolicy),
        "the overflowing collector is cut off (after {dumps} dumps)"
    );
    let again = wait_for_async(Duration::from_secs(10), || {
        let r = hub.take_dump_requests();
        (!r.is_empty()).then_some(())
    })
    .await;
    assert!(again.is_some(), "no re-sync after the overflow");
    assert!(hub.wants(View::PrePolicy));
    let resyncs = coldpotato::metrics::METRICS
        .bmp_resyncs_total
        .with_label_values(&["slow", "overflow"])
        .get();
    assert!(resyncs >= 1, "overflow not counted");
}

/// `wait_for` for async tests: polls `f` every 100 ms.
async fn wait_for_async<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() > end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
