//! Full-table UPDATE stream benchmark: 1,000,000 IPv4 prefixes with a
//! realistic prefix-length mix (~55% /24, ~20% /22–/23, the rest /16–/21, a
//! few /8–/15) over ~100k distinct attribute sets (AS paths of 1–8 ASNs,
//! communities, some large communities, MED on some), packed by
//! `UpdateBuilder`. Measures decode and encode of the whole stream, in
//! prefixes per second.

use bytes::BytesMut;
use coldpotato::wire::{
    frame_len, AddPathPrefix, AsPath, Codec, Community, LargeCommunity, Message, Origin,
    PathAttributes, UpdateBuilder,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

const PREFIXES: usize = 1_000_000;
const ATTR_SETS: usize = 100_000;

fn prefix_len(rng: &mut StdRng) -> u8 {
    match rng.gen_range(0..1000) {
        0..=549 => 24,
        550..=749 => rng.gen_range(22..=23),
        750..=994 => rng.gen_range(16..=21),
        _ => rng.gen_range(8..=15),
    }
}

fn attr_set(rng: &mut StdRng, asn_pool: &[u32]) -> PathAttributes {
    let len = rng.gen_range(1..=8);
    let path: Vec<u32> = (0..len)
        .map(|_| asn_pool[rng.gen_range(0..asn_pool.len())])
        .collect();
    let communities = if rng.gen_bool(0.5) {
        (0..rng.gen_range(1..=4))
            .map(|_| Community::new(rng.gen_range(1..65535), rng.gen()))
            .collect()
    } else {
        Vec::new()
    };
    let large_communities = if rng.gen_bool(0.1) {
        vec![LargeCommunity {
            global: path[0],
            local1: rng.gen_range(1..100),
            local2: rng.gen(),
        }]
    } else {
        Vec::new()
    };
    PathAttributes {
        origin: Some(if rng.gen_bool(0.9) {
            Origin::Igp
        } else {
            Origin::Incomplete
        }),
        as_path: Some(AsPath::from_sequence(path)),
        next_hop: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
        med: rng.gen_bool(0.3).then(|| rng.gen_range(0..1000)),
        communities,
        large_communities,
        ..Default::default()
    }
}

/// Attribute sets with the prefixes that share each of them.
fn table() -> Vec<(PathAttributes, Vec<AddPathPrefix>)> {
    let mut rng = StdRng::seed_from_u64(0xC01D_9074);
    let asn_pool: Vec<u32> = (0..60_000)
        .map(|i| {
            if i % 5 == 0 {
                4_200_000_000 + i
            } else {
                1 + i % 64_000
            }
        })
        .collect();
    let mut sets: Vec<(PathAttributes, Vec<AddPathPrefix>)> = (0..ATTR_SETS)
        .map(|_| (attr_set(&mut rng, &asn_pool), Vec::new()))
        .collect();
    let mut seen = HashSet::with_capacity(PREFIXES);
    while seen.len() < PREFIXES {
        let len = prefix_len(&mut rng);
        let addr = rng.gen_range(0x0100_0000u32..0xDF00_0000) & (u32::MAX << (32 - len));
        if let Ok(net) = Ipv4Net::new(Ipv4Addr::from(addr), len) {
            if seen.insert(net) {
                let i = rng.gen_range(0..ATTR_SETS);
                sets[i].1.push(AddPathPrefix::new(IpNet::V4(net)));
            }
        }
    }
    sets.retain(|(_, p)| !p.is_empty());
    sets
}

/// Encodes the whole table into `out` (cleared first, as a session reuses
/// its send buffer).
fn encode_all(
    builder: &UpdateBuilder,
    table: &[(PathAttributes, Vec<AddPathPrefix>)],
    out: &mut BytesMut,
) -> usize {
    out.clear();
    for (attrs, prefixes) in table {
        builder
            .announce(attrs, None, prefixes, out)
            .expect("encode");
    }
    out.len()
}

fn decode_all(mut buf: &[u8], codec: &Codec) -> usize {
    let mut prefixes = 0;
    while let Ok(Some(n)) = frame_len(buf, codec) {
        if let Ok(Message::Update(u)) = Message::decode(&buf[..n], codec) {
            prefixes += u.nlri.len();
        }
        buf = &buf[n..];
    }
    prefixes
}

fn full_table(c: &mut Criterion) {
    let codec = Codec::default();
    let builder = UpdateBuilder::new(codec);
    let table = table();
    let mut stream = BytesMut::with_capacity(32 << 20);
    encode_all(&builder, &table, &mut stream);
    let mut out = BytesMut::with_capacity(stream.len());
    assert_eq!(decode_all(&stream, &codec), PREFIXES);
    eprintln!(
        "full table: {PREFIXES} prefixes, {} attribute sets, {} bytes",
        table.len(),
        stream.len()
    );
    // Wall time is noisy on a shared machine: also report prefixes per
    // second of this thread's CPU time.
    let runs = 5;
    let t = thread_cpu_secs();
    for _ in 0..runs {
        black_box(decode_all(black_box(&stream), &codec));
    }
    let decode_cpu = thread_cpu_secs() - t;
    let t = thread_cpu_secs();
    for _ in 0..runs {
        black_box(encode_all(&builder, black_box(&table), &mut out));
    }
    let encode_cpu = thread_cpu_secs() - t;
    eprintln!(
        "thread CPU time: decode {:.1} M prefixes/s, encode {:.1} M prefixes/s",
        (runs * PREFIXES) as f64 / decode_cpu / 1e6,
        (runs * PREFIXES) as f64 / encode_cpu / 1e6
    );
    let mut g = c.benchmark_group("full_table");
    g.throughput(Throughput::Elements(PREFIXES as u64));
    g.sample_size(10);
    g.bench_function("decode", |b| {
        b.iter(|| black_box(decode_all(black_box(&stream), &codec)))
    });
    g.bench_function("encode", |b| {
        b.iter(|| black_box(encode_all(&builder, black_box(&table), &mut out)))
    });
    g.finish();
}

fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass it.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

criterion_group!(benches, full_table);
criterion_main!(benches);
