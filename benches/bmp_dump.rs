//! How long a full BMP dump of a large table takes: the engine core holds
//! 1,000,000 IPv4 prefixes from one transit neighbor (100,000 distinct
//! attribute sets, 10 prefixes each), a collector connects and the core
//! dumps the pre-policy, post-policy and Loc-RIB views through the hub and
//! the real exporter task to a sink on 127.0.0.1 that reads the BMP
//! messages and counts the prefixes of each view. The clock runs from the
//! dump request to the sink holding every prefix of all three views.
//!
//! `cargo bench --bench bmp_dump` (`BMP_DUMP_PREFIXES` changes the size).
//!
//! Measured (2026-12, a 2-core VM shared with two compiling jobs): 1M
//! prefixes in 100,000 attribute sets, 19.98 s (300,000 Route Monitoring
//! feed items; `perf` shows allocation and copies first: attribute sets
//! unpacked and UPDATEs cloned per item); the same table in 1,000
//! attribute sets, 2.82 s.

use coldpotato::bmp::client::{self, Exporter};
use coldpotato::bmp::hub::{Hub, Views};
use coldpotato::config::{BmpConfig, Config};
use coldpotato::engine::EngineCore;
use coldpotato::messages::{Input, NeighborName, SessionInfo};
use coldpotato::running::Running;
use coldpotato::wire::{
    AddPathPrefix, Afi, AsPath, Codec, Origin, PathAttributes, Prefix, Safi, Update,
};
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
[router]
asn = 8075
router_id = "198.51.100.1"
location = "ams"

[rules]
reject_bogons = false

[[locations]]
name = "ams"

[[neighbors]]
name = "transit"
address = "192.0.2.2"
remote_as = 3356
location = "ams"
role = "transit"
import_policy = "accept-all"
"#;

const PER_UPDATE: usize = 10;

fn session() -> SessionInfo {
    SessionInfo {
        remote_as: 3356,
        remote_id: Ipv4Addr::new(192, 0, 2, 2),
        local_address: Ipv4Addr::new(192, 0, 2, 1).into(),
        remote_address: Ipv4Addr::new(192, 0, 2, 2).into(),
        codec: Codec::default(),
        families: vec![(Afi::IPV4, Safi::UNICAST)],
        route_refresh: true,
        enhanced_route_refresh: false,
        graceful_restart: None,
        hold_time: 90,
        wire: Default::default(),
    }
}

/// Prefix counts per view as the sink reads them: pre, post, Loc-RIB.
#[derive(Default)]
struct Counts([AtomicU64; 3]);

/// Counts the IPv4 NLRI of each Route Monitoring message.
fn sink(listener: TcpListener, counts: Arc<Counts>) {
    let Ok((mut s, _)) = listener.accept() else {
        return;
    };
    let mut buf = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut at = 0;
        while buf.len() - at >= 6 {
            let len =
                u32::from_be_bytes([buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]]) as usize;
            if buf.len() - at < len {
                break;
            }
            let m = &buf[at..at + len];
            if m[5] == 0 && len > 6 + 42 + 23 {
                let view = if m[6] == 3 {
                    2
                } else if m[7] & 0x40 != 0 {
                    1
                } else {
                    0
                };
                counts.0[view].fetch_add(nlri(&m[48..]), Ordering::Relaxed);
            }
            at += len;
        }
        buf.drain(..at);
    }
}

/// The IPv4 NLRI count of one BGP UPDATE message.
fn nlri(u: &[u8]) -> u64 {
    let len = |a: usize| usize::from(u16::from_be_bytes([u[a], u[a + 1]]));
    let total = len(16).min(u.len());
    let wd = len(19);
    let attrs_at = 21 + wd;
    let mut i = attrs_at + 2 + len(attrs_at);
    let mut n = 0;
    while i < total {
        i += 1 + usize::from(u[i]).div_ceil(8);
        n += 1;
    }
    n
}

fn main() {
    let n: usize = std::env::var("BMP_DUMP_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let cfg: Config = toml::from_str(CONFIG).unwrap_or_else(|e| panic!("bench config: {e}"));
    let running = Running::new(cfg).unwrap_or_else(|e| panic!("bench config: {e}"));
    let mut core = EngineCore::new(running);
    let now = Instant::now();
    let name = NeighborName::from("transit");
    core.handle(
        Input::SessionUp {
            neighbor: name.clone(),
            info: session(),
        },
        now,
    );
    let loaded = Instant::now();
    let mut batch = Vec::new();
    for (k, start) in (0..n).step_by(PER_UPDATE).enumerate() {
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![
                3356,
                64_512 + (k as u32 % 1000),
                1000 + (k as u32 / 1000 % 100),
            ])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 2).into()),
            ..Default::default()
        };
        let nlri = (start..(start + PER_UPDATE).min(n))
            .map(|i| {
                let a = Ipv4Addr::from(0x0100_0000u32 + ((i as u32) << 8));
                AddPathPrefix::new(Prefix::V4(
                    ipnet::Ipv4Net::new(a, 24).unwrap_or_else(|e| panic!("{e}")),
                ))
            })
            .collect();
        batch.push((
            name.clone(),
            Box::new(Update {
                attrs,
                nlri,
                ..Default::default()
            }),
            None,
        ));
        if batch.len() == 256 {
            core.handle_updates(std::mem::take(&mut batch), Instant::now());
        }
    }
    core.handle_updates(batch, Instant::now());
    println!(
        "bmp_dump: {n} prefixes loaded in {:.1}s ({} attribute sets)",
        loaded.elapsed().as_secs_f64(),
        core.attribute_sets()
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let counts = Arc::new(Counts::default());
    let c2 = counts.clone();
    std::thread::spawn(move || sink(listener, c2));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let collectors = [BmpConfig {
        name: "bench".into(),
        address: addr.to_string(),
        pre_policy: true,
        post_policy: true,
        loc_rib: true,
        adj_rib_out: false,
        stats_interval_s: 0,
        rejection_tlv: false,
    }];
    let hub = Hub::new(vec![Views {
        pre_policy: true,
        post_policy: true,
        loc_rib: true,
        adj_rib_out: false,
    }]);
    let requests = hub.request_tx.clone();
    core.attach_bmp(Some(hub), &collectors);
    let want = n as u64;
    rt.block_on(async {
        let (_stop, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(client::run(
            Exporter {
                name: "bench".into(),
                address: addr.to_string(),
                sys_name: "bench".into(),
                queue: coldpotato::bmp::fleet::QUEUE,
                rejection_tlv: false,
            },
            0,
            requests,
            stop_rx,
        ));
        let mut started = None;
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if started.is_none() && core.bmp_dumping() {
                started = Some(Instant::now());
            }
            core.bmp_poll(Instant::now());
            if started.is_none() && core.bmp_dumping() {
                started = Some(Instant::now());
            }
            let got: Vec<u64> = counts.0.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            if got.iter().all(|&g| g >= want) {
                let t = started.map_or(Duration::ZERO, |s| s.elapsed());
                println!(
                    "bmp_dump: full dump of {n} prefixes (pre-policy, post-policy, Loc-RIB: {got:?} prefixes) in {:.2}s",
                    t.as_secs_f64()
                );
                break;
            }
            if Instant::now() > deadline {
                panic!("dump incomplete after 600 s: {got:?}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
}
