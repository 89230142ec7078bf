//! RIB memory and load time: 1,000,000 IPv4 prefixes (mixed lengths,
//! ~100k distinct attribute sets in all) from each of 2 peers, fed as
//! UPDATEs into the Sans-IO engine core. Prints peak and resident memory
//! and bytes per path, then criterion-times a smaller load.
//!
//! `cargo bench --bench rib` (set `RIB_BENCH_PREFIXES` to change the size).

use coldpotato::config::Config;
use coldpotato::engine::EngineCore;
use coldpotato::messages::Input;
use coldpotato::messages::{NeighborName, SessionInfo};
use coldpotato::running::Running;
use coldpotato::wire::{
    AddPathPrefix, Afi, AsPath, Codec, Community, Origin, PathAttributes, Prefix, Safi, Update,
};
use criterion::Criterion;
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;
use std::time::Instant;

const PREFIXES: usize = 1_000_000;
/// Distinct attribute sets per peer (~100k in all).
const ATTR_SETS: usize = 50_000;
const PER_UPDATE: usize = 10;

const CONFIG: &str = r#"
[router]
asn = 8075
router_id = "198.51.100.1"
location = "ams"

[rules]
require_community = "8075:8007"
reject_private_asn = false
reject_reserved_asn = false
reject_bogons = false
max_as_path_len_longer_than_24 = 64

[[locations]]
name = "ams"

[[neighbors]]
name = "peer-a"
address = "192.0.2.2"
remote_as = 3356
location = "ams"
role = "transit"
import_policy = "accept-all"

[[neighbors]]
name = "peer-b"
address = "192.0.2.6"
remote_as = 1299
location = "ams"
role = "transit"
import_policy = "accept-all"
"#;

/// (VmHWM, VmRSS) in bytes.
fn memory() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Prefix-length mix of a full table: (first, last) of `i % 100`, length.
const LENGTH_MIX: &[(usize, usize, u8)] = &[
    (0, 60, 24),
    (61, 68, 23),
    (69, 77, 22),
    (78, 83, 21),
    (84, 88, 20),
    (89, 92, 19),
    (93, 95, 18),
    (96, 97, 17),
    (98, 99, 16),
];

/// The i-th prefix: realistic length mix, unique (an odd multiplier is a
/// bijection on each length's address space).
fn prefix(i: usize) -> Prefix {
    let r = i % 100;
    let &(lo, hi, len) = LENGTH_MIX
        .iter()
        .find(|(lo, hi, _)| (*lo..=*hi).contains(&r))
        .unwrap_or(&(0, 99, 24));
    let j = (i / 100) * (hi - lo + 1) + (r - lo);
    let slot = (j as u64).wrapping_mul(2_654_435_761) & ((1u64 << len) - 1);
    let addr = (slot << (32 - len)) as u32;
    Prefix::V4(
        Ipv4Net::new(Ipv4Addr::from(addr), len)
            .unwrap_or_default()
            .trunc(),
    )
}

fn attr_sets(first_as: u32, n: usize, seed: u64) -> Vec<PathAttributes> {
    let mut x = seed | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let hops = 1 + (rnd() % 5) as usize;
            let mut path = vec![first_as];
            path.extend((0..hops).map(|_| 1 + (rnd() % 64_000) as u32));
            let mut communities = vec![Community::new(8075, 8007)];
            communities.extend(
                (0..rnd() % 3).map(|_| Community::new(first_as as u16, (rnd() % 1000) as u16)),
            );
            PathAttributes {
                origin: Some(if i % 10 == 0 {
                    Origin::Incomplete
                } else {
                    Origin::Igp
                }),
                as_path: Some(AsPath::from_sequence(path)),
                next_hop: Some(
                    "192.0.2.2"
                        .parse()
                        .unwrap_or(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST)),
                ),
                med: (i % 3 == 0).then_some(i as u32 % 500),
                communities,
                ..Default::default()
            }
        })
        .collect()
}

fn session(remote: &str, asn: u32) -> SessionInfo {
    SessionInfo {
        remote_as: asn,
        remote_id: Ipv4Addr::new(192, 0, 2, 9),
        local_address: "192.0.2.1"
            .parse()
            .unwrap_or(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST)),
        remote_address: remote
            .parse()
            .unwrap_or(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST)),
        codec: Codec::default(),
        families: vec![(Afi::IPV4, Safi::UNICAST)],
        route_refresh: true,
        enhanced_route_refresh: false,
        graceful_restart: None,
        hold_time: 90,
        wire: Default::default(),
    }
}

struct Feed {
    cfg: Running,
    sets: [Vec<PathAttributes>; 2],
}

impl Feed {
    fn new(sets_per_peer: usize) -> Feed {
        let cfg: Config = toml::from_str(CONFIG).unwrap_or_else(|e| panic!("bench config: {e}"));
        Feed {
            cfg: Running::new(cfg).unwrap_or_else(|e| panic!("bench config: {e}")),
            sets: [
                attr_sets(3356, sets_per_peer, 0x9e37),
                attr_sets(1299, sets_per_peer, 0x7f4a),
            ],
        }
    }

    /// A core with both peers up and `n` prefixes from each.
    fn load(&self, n: usize) -> EngineCore {
        let mut core = EngineCore::new(self.cfg.clone());
        let now = Instant::now();
        let peers = [
            ("peer-a", "192.0.2.2", 3356u32),
            ("peer-b", "192.0.2.6", 1299),
        ];
        for (name, addr, asn) in peers {
            core.handle(
                Input::SessionUp {
                    neighbor: NeighborName::from(name),
                    info: session(addr, asn),
                },
                now,
            );
        }
        for (peer, (name, _, _)) in peers.iter().enumerate() {
            let sets = &self.sets[peer];
            let neighbor = NeighborName::from(*name);
            for (k, start) in (0..n).step_by(PER_UPDATE).enumerate() {
                let set = if peer == 0 {
                    k % sets.len()
                } else {
                    (k * 7919) % sets.len()
                };
                let update = Update {
                    attrs: sets[set].clone(),
                    nlri: (start..(start + PER_UPDATE).min(n))
                        .map(|i| AddPathPrefix {
                            path_id: None,
                            prefix: prefix(i),
                        })
                        .collect(),
                    ..Default::default()
                };
                core.handle(
                    Input::Update {
                        neighbor: neighbor.clone(),
                        update: update.into(),
                        ahead: None,
                    },
                    now,
                );
            }
        }
        core
    }
}

fn memory_report(n: usize) {
    let feed = Feed::new(ATTR_SETS);
    let (_, base) = memory();
    let started = Instant::now();
    let core = feed.load(n);
    let took = started.elapsed();
    let (hwm, rss) = memory();
    let paths = core.path_count().max(1);
    println!(
        "rib: {paths} paths ({n} prefixes x 2 peers), {} attribute sets, loaded in {:.2}s ({:.0} paths/s)",
        core.attribute_sets(),
        took.as_secs_f64(),
        paths as f64 / took.as_secs_f64()
    );
    println!(
        "rib: baseline RSS {:.1} MiB, after load RSS {:.1} MiB, peak (VmHWM) {:.1} MiB",
        base as f64 / 1048576.0,
        rss as f64 / 1048576.0,
        hwm as f64 / 1048576.0
    );
    println!(
        "rib: {:.1} bytes per path resident (RSS delta / paths), {:.1} bytes per path at peak (VmHWM - baseline)",
        rss.saturating_sub(base) as f64 / paths as f64,
        hwm.saturating_sub(base) as f64 / paths as f64
    );
    let mut core = core;
    let started = Instant::now();
    core.handle(Input::Reload(feed.cfg.clone()), Instant::now());
    println!(
        "rib: reload re-evaluating {paths} paths took {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    core.handle(
        Input::SessionDown {
            neighbor: NeighborName::from("peer-a"),
            reason: "bench".into(),
            graceful_restart: None,
        },
        Instant::now(),
    );
    println!(
        "rib: session down withdrawing {n} paths took {:.2}s; {} paths and {} attribute sets left",
        started.elapsed().as_secs_f64(),
        core.path_count(),
        core.attribute_sets()
    );
    drop(core);
}

fn main() {
    let n = std::env::var("RIB_BENCH_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PREFIXES);
    memory_report(n);
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let feed = Feed::new(ATTR_SETS / 10);
    c.bench_function("load 100k prefixes x 2 peers", |b| {
        b.iter(|| feed.load(100_000))
    });
    c.final_summary();
}
