//! `coldpotato lab`: the newcomer's first command. Starts the daemon
//! in-process on an embedded config with simulated provider routers on
//! loopback (two edge locations, redundant sessions with BFD, registered
//! prefixes, a hijack attempt, a max-prefix offender), narrates sessions and
//! decisions while links fail and recover, then exits with a summary.
//!
//! Runs on the caller's tokio runtime: the daemon's tasks, one task per
//! simulated router ([`sim`]) and a second BFD service playing the routers'
//! side of BFD. Queries go to the engine over its `ToEngine` queue.

pub mod dump;
pub mod loadgen;
pub mod sim;
pub mod sink;
pub mod table;

use crate::bfd::{BfdHandle, BfdRequest, BfdService, SessionKey};
use crate::cli::render;
use crate::daemon::{Daemon, DaemonError};
use crate::messages::views::{DecisionView, EventView, NeighborView, RouteView};
use crate::messages::{Query, QueryReply, ToEngine};
use crate::session::peer::Timing;
use crate::wire::Community;
use ipnet::IpNet;
use sim::{SimEvent, SimMode, SimPeer};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// The embedded lab configuration (`@BGP_PORT@`/`@API_PORT@` filled at start).
pub const LAB_CONFIG: &str = include_str!("lab.toml");

/// The registered prefix whose decision the lab follows.
const WATCHED: &str = "203.0.113.0/24";

/// Why the lab could not run.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("embedded config: {0}")]
    Config(#[from] crate::config::ConfigErrors),
    #[error("{0}")]
    Daemon(#[from] DaemonError),
    #[error("simulated routers' BFD: {0}")]
    Bfd(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the route engine stopped answering")]
    Engine,
}

/// A simulated router: its BGP task's mode switch and its BFD session.
struct Router {
    name: &'static str,
    mode: watch::Sender<SimMode>,
    bfd: Option<SessionKey>,
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn query(engine: &mpsc::Sender<ToEngine>, q: Query) -> Result<QueryReply, LabError> {
    let (tx, rx) = oneshot::channel();
    engine
        .send(ToEngine::Query(q, tx))
        .await
        .map_err(|_| LabError::Engine)?;
    rx.await.map_err(|_| LabError::Engine)
}

async fn neighbors(engine: &mpsc::Sender<ToEngine>) -> Result<Vec<NeighborView>, LabError> {
    match query(engine, Query::Neighbors).await? {
        QueryReply::Neighbors(v) => Ok(v),
        _ => Err(LabError::Engine),
    }
}

async fn decisions(engine: &mpsc::Sender<ToEngine>) -> Result<Vec<DecisionView>, LabError> {
    match query(engine, Query::Decisions).await? {
        QueryReply::Decisions(v) => Ok(v),
        _ => Err(LabError::Engine),
    }
}

async fn events(engine: &mpsc::Sender<ToEngine>, since: u64) -> Result<Vec<EventView>, LabError> {
    match query(engine, Query::Events { since }).await? {
        QueryReply::Events(v) => Ok(v),
        _ => Err(LabError::Engine),
    }
}

async fn rejected(engine: &mpsc::Sender<ToEngine>) -> Result<Vec<RouteView>, LabError> {
    match query(
        engine,
        Query::Routes {
            prefix: None,
            all: true,
            longest: false,
        },
    )
    .await?
    {
        QueryReply::Routes(v) => Ok(v.into_iter().filter(|r| r.status == "rejected").collect()),
        _ => Err(LabError::Engine),
    }
}

fn prefixes(list: &[&str]) -> Vec<IpNet> {
    list.iter().filter_map(|p| p.parse().ok()).collect()
}

/// The simulated routers and what each announces.
fn routers(target: SocketAddr) -> Vec<(SimPeer, bool)> {
    let tag = Community::new(8075, 8007);
    let nh = |a: &str| {
        a.parse::<IpAddr>()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    };
    let contoso = |name: &str, addr: &str, id: &str| {
        let updates = vec![
            sim::ipv4_update(
                &prefixes(&[WATCHED, "198.51.100.0/25"]),
                &[64500],
                &[tag],
                nh(addr),
            ),
            // A customer route with a private ASN in its path: rejected, explained.
            sim::ipv4_update(
                &prefixes(&["198.51.100.128/25"]),
                &[64500, 65001],
                &[tag],
                nh(addr),
            ),
        ];
        SimPeer {
            name: name.to_string(),
            local: nh(addr),
            asn: 64500,
            router_id: id.parse().unwrap_or(Ipv4Addr::LOCALHOST),
            target,
            hold_time: 9,
            updates,
        }
    };
    let transit = SimPeer {
        name: "transit-ams".into(),
        local: nh("127.0.0.21"),
        asn: 64510,
        router_id: Ipv4Addr::new(127, 0, 0, 21),
        target,
        hold_time: 9,
        updates: vec![sim::ipv4_update(
            &prefixes(&[WATCHED, "198.51.100.0/24"]),
            &[64510, 64500],
            &[],
            nh("127.0.0.21"),
        )],
    };
    // Fabrikam announces Contoso's registered prefix as its own, and a
    // more-specific of it: a hijack the daemon must refuse and report.
    let hijacker = SimPeer {
        name: "fabrikam-ams-er1".into(),
        local: nh("127.0.0.31"),
        asn: 64501,
        router_id: Ipv4Addr::new(127, 0, 0, 31),
        target,
        hold_time: 9,
        updates: vec![sim::ipv4_update(
            &prefixes(&[WATCHED, "203.0.113.128/25"]),
            &[64501],
            &[tag],
            nh("127.0.0.31"),
        )],
    };
    // Northwind announces 80 prefixes against a limit of 50.
    let many: Vec<IpNet> = (0..80u8)
        .filter_map(|i| format!("45.64.{i}.0/24").parse().ok())
        .collect();
    let offender = SimPeer {
        name: "northwind-ams-er1".into(),
        local: nh("127.0.0.41"),
        asn: 64502,
        router_id: Ipv4Addr::new(127, 0, 0, 41),
        target,
        hold_time: 9,
        updates: vec![sim::ipv4_update(&many, &[64502], &[tag], nh("127.0.0.41"))],
    };
    vec![
        (contoso("contoso-ams-er1", "127.0.0.11", "127.0.0.11"), true),
        (contoso("contoso-ams-er2", "127.0.0.12", "127.0.0.12"), true),
        (contoso("contoso-fra-er1", "127.0.0.13", "127.0.0.13"), true),
        (transit, false),
        (hijacker, false),
        (offender, false),
    ]
}

/// A clock for the narration.
struct Clock(Instant);

impl Clock {
    fn say(&self, text: &str) {
        println!("[{:>6.2}s] {text}", self.0.elapsed().as_secs_f64());
    }
}

fn watched(list: &[DecisionView]) -> Option<&DecisionView> {
    list.iter().find(|d| d.prefix == WATCHED)
}

fn describe(d: &DecisionView) -> String {
    let via = if d.neighbors.is_empty() {
        "-".to_string()
    } else {
        d.neighbors.join(", ")
    };
    let place = match &d.location {
        Some(l) => format!("{} {l}", d.state),
        None => d.state.clone(),
    };
    format!(
        "{} -> {place} via {via} (LOCAL_PREF {}; {})",
        d.prefix, d.local_pref, d.reason
    )
}

/// Waits (polling every 10 ms, at most `limit`) until the watched
/// decision satisfies `ok`; returns it and how long it took.
async fn wait_decision(
    engine: &mpsc::Sender<ToEngine>,
    limit: Duration,
    ok: impl Fn(&DecisionView) -> bool,
) -> Result<Option<(DecisionView, Duration)>, LabError> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(d) = watched(&decisions(engine).await?[..]) {
            if ok(d) {
                return Ok(Some((d.clone(), start.elapsed())));
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(None)
}

/// Runs the lab; `Ok(true)` when every failover and recovery happened.
pub async fn run() -> Result<bool, LabError> {
    let bgp_port = free_port()?;
    let api_port = free_port()?;
    let text = LAB_CONFIG
        .replace("@BGP_PORT@", &bgp_port.to_string())
        .replace("@API_PORT@", &api_port.to_string());
    let cfg = crate::running::parse(&text, "lab.toml")?;
    let clock = Clock(Instant::now());
    println!("coldpotato lab: an edge at ams (AS 8075) with backup location fra, and simulated");
    println!("provider routers on 127.0.0.0/8. Contoso (AS 64500) peers twice at ams and once at");
    println!(
        "fra with BFD at 100 ms x 3; {WATCHED} is registered to it (primary ams, backup fra)."
    );
    println!();
    let timing = Timing {
        connect_retry: Duration::from_secs(1),
        idle_hold_initial: Duration::from_millis(200),
        idle_hold_max: Duration::from_secs(1),
    };
    let daemon = Daemon::start_with(cfg, None, timing).await?;
    let engine = daemon.engine();
    clock.say(&format!(
        "daemon up: BGP on {:?}, API on http://{} (while the lab runs: coldpotato show neighbors --api {})",
        daemon.bgp_addrs(),
        daemon.api_addr(),
        daemon.api_addr()
    ));

    let target = SocketAddr::from(([127, 0, 0, 1], bgp_port));
    let bfd = BfdService::start().map_err(|e| LabError::Bfd(e.to_string()))?;
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let mut fleet = Vec::new();
    for (peer, with_bfd) in routers(target) {
        let key = if with_bfd {
            let req = BfdRequest {
                peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
                local: Some(peer.local),
                min_tx_ms: 100,
                min_rx_ms: 100,
                multiplier: 3,
                interface: None,
            };
            let key = req.key();
            // The receiver is kept alive by the service's registry until released.
            let rx = bfd.request(req).map_err(|e| LabError::Bfd(e.to_string()))?;
            std::mem::forget(rx);
            Some(key)
        } else {
            None
        };
        let (mode, mode_rx) = watch::channel(SimMode::Up);
        let name: &'static str = Box::leak(peer.name.clone().into_boxed_str());
        tokio::spawn(sim::run(peer, mode_rx, ev_tx.clone()));
        fleet.push(Router {
            name,
            mode,
            bfd: key,
        });
    }

    // Phase 0: everything comes up.
    let up_deadline = Instant::now() + Duration::from_secs(20);
    loop {
        while let Ok(ev) = ev_rx.try_recv() {
            if let SimEvent::Established {
                name,
                sent_prefixes,
                ..
            } = ev
            {
                clock.say(&format!(
                    "{name}: session Established, announced {sent_prefixes} prefixes"
                ));
            }
        }
        let n = neighbors(&engine).await?;
        let contoso_up = n
            .iter()
            .filter(|v| v.name.starts_with("contoso"))
            .all(|v| v.state == "Established" && v.bfd_state == "Up");
        let d = decisions(&engine).await?;
        let primary = watched(&d).is_some_and(|d| d.state == "primary" && d.neighbors.len() == 2);
        if contoso_up && primary {
            break;
        }
        if Instant::now() > up_deadline {
            println!("{}", render::neighbors(&n, true));
            println!("{}", render::decisions(&d));
            clock.say("FAILED: the sessions did not all come up within 20 s");
            bfd.shutdown();
            daemon.shutdown("lab failed").await;
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("\n== sessions ==");
    print!("{}", render::neighbors(&neighbors(&engine).await?, true));
    println!("\n== decisions ==");
    print!("{}", render::decisions(&decisions(&engine).await?));
    println!("\n== rejected routes (kept, with the rule that took them) ==");
    print!("{}", render::routes(&rejected(&engine).await?));
    println!("\n== events so far ==");
    let evs = events(&engine, 0).await?;
    print!("{}", render::events(&evs));
    let mut last_seq = evs.last().map_or(0, |e| e.seq);
    println!();

    let mut ok = true;
    let mut summary = Vec::new();
    let find = |name: &str| fleet.iter().find(|r| r.name == name);
    let cut = |r: Option<&Router>, bfd: &BfdHandle| {
        if let Some(k) = r.and_then(|r| r.bfd.as_ref()) {
            bfd.mute(k, true);
        }
    };

    type Check = fn(&DecisionView) -> bool;
    let steps: [(&str, &[&str], Check, &str); 3] = [
        (
            "link to contoso-ams-er1 goes dark (its BFD falls silent)",
            &["contoso-ams-er1"],
            |d| d.state == "primary" && d.neighbors == ["contoso-ams-er2"],
            "still primary ams, active on the remaining session",
        ),
        (
            "link to contoso-ams-er2 goes dark too",
            &["contoso-ams-er2"],
            |d| d.state == "backup" && d.location.as_deref() == Some("fra"),
            "backup location fra",
        ),
        (
            "link to contoso-fra-er1 goes dark",
            &["contoso-fra-er1"],
            |d| d.state == "internet",
            "the internet (transit)",
        ),
    ];
    for (what, names, check, expect) in steps {
        clock.say(&format!("FAILURE: {what}"));
        for n in names {
            cut(find(n), &bfd);
        }
        match wait_decision(&engine, Duration::from_secs(5), check).await? {
            Some((d, took)) => {
                clock.say(&format!(
                    "FAILOVER in {} ms: {}",
                    took.as_millis(),
                    describe(&d)
                ));
                summary.push(format!("{what}: {expect} in {} ms", took.as_millis()));
            }
            None => {
                ok = false;
                clock.say(&format!("FAILED: expected {expect}"));
            }
        }
        for e in events(&engine, last_seq).await? {
            last_seq = e.seq;
            if e.kind.starts_with("bfd") || e.kind.starts_with("session") {
                clock.say(&format!(
                    "  event {}: {} {}",
                    e.kind,
                    e.neighbor.as_deref().unwrap_or(""),
                    e.message
                ));
            }
        }
    }

    clock.say("REPAIR: all three links come back");
    for r in fleet.iter().filter(|r| r.name.starts_with("contoso")) {
        if let Some(k) = &r.bfd {
            bfd.mute(k, false);
        }
    }
    match wait_decision(&engine, Duration::from_secs(20), |d| {
        d.state == "primary" && d.neighbors.len() == 2
    })
    .await?
    {
        Some((d, took)) => {
            clock.say(&format!(
                "RECOVERED in {} ms: {}",
                took.as_millis(),
                describe(&d)
            ));
            summary.push(format!(
                "links restored: back to primary ams on both sessions in {} ms",
                took.as_millis()
            ));
        }
        None => {
            ok = false;
            clock.say("FAILED: did not return to primary ams");
        }
    }

    // Let the last repaired session finish coming back before the final view.
    let settle = Instant::now() + Duration::from_secs(10);
    while Instant::now() < settle {
        let n = neighbors(&engine).await?;
        if n.iter()
            .filter(|v| v.name.starts_with("contoso"))
            .all(|v| v.state == "Established" && v.bfd_state == "Up")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("\n== sessions ==");
    print!("{}", render::neighbors(&neighbors(&engine).await?, true));
    println!("\n== decisions ==");
    print!("{}", render::decisions(&decisions(&engine).await?));
    let all = events(&engine, 0).await?;
    let count = |k: &str| all.iter().filter(|e| e.kind == k).count();
    println!("\n== summary ==");
    for s in &summary {
        println!("  {s}");
    }
    println!(
        "  events: {} origin-mismatch, {} unexpected-more-specific (fabrikam's hijack refused), {} max-prefix-exceeded (northwind torn down, Cease/1), {} bfd-down, {} decision-changed",
        count("origin-mismatch"),
        count("unexpected-more-specific"),
        count("max-prefix-exceeded"),
        count("bfd-down"),
        count("decision-changed"),
    );
    println!(
        "  next: write your own config (config/coldpotato.toml), `coldpotato check --config FILE`, `coldpotato run --config FILE`"
    );
    println!(
        "  result: {}",
        if ok {
            "all failovers and the recovery happened"
        } else {
            "FAILED"
        }
    );

    for r in &fleet {
        let _ = r.mode.send(SimMode::Down);
    }
    let b = bfd.clone();
    let _ = tokio::task::spawn_blocking(move || b.shutdown()).await;
    daemon.shutdown("lab finished").await;
    Ok(ok)
}
