//! A synthetic, deterministic "full table": unique public IPv4 prefixes with a
//! realistic length mix and a pool of realistic attribute sets. The load
//! generator, the benches and the lab use it so that every measurement runs
//! on the same data.

use crate::wire::{AsPath, Community, LargeCommunity, Origin, PathAttributes};
use ipnet::{IpNet, Ipv4Net};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

/// A small deterministic PRNG (xorshift64*), so tables are identical across runs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Prefix length drawn from the mix seen in a real IPv4 table: ~58% /24,
/// ~20% /22–/23, most of the rest /16–/21, a few shorter.
fn draw_len(rng: &mut Rng) -> u8 {
    match rng.below(1000) {
        0..=579 => 24,
        580..=689 => 23,
        690..=789 => 22,
        790..=849 => 21,
        850..=899 => 20,
        900..=929 => 19,
        930..=954 => 18,
        955..=969 => 17,
        970..=989 => 16,
        990..=994 => 15,
        995..=997 => 14,
        _ => 12 + rng.below(2) as u8,
    }
}

/// First octets never used for the table (bogons, multicast, reserved, and
/// the documentation ranges the tests announce by hand).
fn is_excluded(first: u8, second: u8) -> bool {
    matches!(
        first,
        0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203 | 224..=255
    ) || (first == 100 && (64..128).contains(&second))
}

/// `n` unique public IPv4 prefixes, deterministic for a seed.
pub fn ipv4_prefixes(n: usize, seed: u64) -> Vec<IpNet> {
    let mut rng = Rng::new(seed);
    let mut seen: HashSet<(u32, u8)> = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let len = draw_len(&mut rng);
        let raw = rng.next_u64() as u32;
        let (a, b) = ((raw >> 24) as u8, (raw >> 16) as u8);
        if is_excluded(a, b) {
            continue;
        }
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        let addr = raw & mask;
        if seen.insert((addr, len)) {
            if let Ok(net) = Ipv4Net::new(Ipv4Addr::from(addr), len) {
                out.push(IpNet::V4(net));
            }
        }
    }
    out
}

/// `n` distinct attribute sets as a provider announcing customer and
/// transit routes would send them: AS paths of 1–8 hops starting with
/// `first_as`, the peering community on most, MED on some, a large community
/// on a few.
pub fn attribute_sets(n: usize, first_as: u32, next_hop: IpAddr, seed: u64) -> Vec<PathAttributes> {
    let mut rng = Rng::new(seed ^ 0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let hops = 1 + rng.below(8) as usize;
        let mut path = Vec::with_capacity(hops);
        path.push(first_as);
        for _ in 1..hops {
            // Public 16- and 32-bit ASNs (avoid private and reserved ranges).
            let asn = if rng.below(5) == 0 {
                400_000 + rng.below(50_000) as u32
            } else {
                1 + rng.below(60_000) as u32
            };
            path.push(asn);
        }
        // Make each set distinct even when the draw repeats.
        path.push(100_000 + (i as u32 % 200_000));
        let mut communities = Vec::new();
        if rng.below(10) < 8 {
            communities.push(Community::new(8075, 8007));
        }
        if rng.below(3) == 0 {
            communities.push(Community::new(
                (first_as & 0xFFFF) as u16,
                rng.below(1000) as u16,
            ));
        }
        let large_communities = if rng.below(10) == 0 {
            vec![LargeCommunity {
                global: first_as,
                local1: 1,
                local2: rng.below(100) as u32,
            }]
        } else {
            Vec::new()
        };
        out.push(PathAttributes {
            origin: Some(if rng.below(10) == 0 {
                Origin::Incomplete
            } else {
                Origin::Igp
            }),
            as_path: Some(AsPath::from_sequence(path)),
            next_hop: Some(next_hop),
            med: (rng.below(4) == 0).then(|| rng.below(500) as u32),
            communities,
            large_communities,
            ..Default::default()
        });
    }
    out
}

/// Assigns each prefix an attribute-set index, clustered as in real tables
/// (consecutive prefixes often share a set).
pub fn assign(prefixes: usize, sets: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed ^ 0xD1B5_4A32_D192_ED03);
    let mut out = Vec::with_capacity(prefixes);
    let mut cur = 0u32;
    for _ in 0..prefixes {
        if rng.below(10) < 4 {
            cur = rng.below(sets.max(1) as u64) as u32;
        }
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_unique_public_and_deterministic() {
        let a = ipv4_prefixes(20_000, 7);
        let b = ipv4_prefixes(20_000, 7);
        assert_eq!(a, b);
        let set: HashSet<_> = a.iter().collect();
        assert_eq!(set.len(), a.len());
        let slash24 = a.iter().filter(|p| p.prefix_len() == 24).count();
        assert!((10_000..13_000).contains(&slash24), "{slash24} /24s");
        assert!(a.iter().all(|p| match p {
            IpNet::V4(n) => !n.addr().is_private() && !n.addr().is_loopback(),
            IpNet::V6(_) => false,
        }));
    }

    #[test]
    fn attribute_sets_are_distinct() {
        let sets = attribute_sets(5_000, 64500, "127.0.0.2".parse().unwrap(), 1);
        let uniq: HashSet<_> = sets.iter().collect();
        assert_eq!(uniq.len(), sets.len());
        assert!(sets
            .iter()
            .all(|s| s.as_path.as_ref().and_then(|p| p.first_as()) == Some(64500)));
    }
}
