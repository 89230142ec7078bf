//! The packed form of an interned attribute set: one heap block of bytes,
//! about a fifth of the decoded [`PathAttributes`] (which is ~210 bytes of
//! struct plus a heap block per list before it holds anything).
//!
//! The encoding is ours, not the wire's: it is lossless for every field
//! (IPv6 next hops, unknown attributes with their flags, empty AS paths) and
//! canonical — equal sets give equal bytes — so the interner hashes and
//! compares the bytes. Counts and ASNs are LEB128 varints (most ASNs fit in
//! two or three bytes); fixed-width values are little-endian.
//!
//! Layout: a 16-bit presence mask, then each present field in mask order.

use crate::decision::PathRank;
use crate::wire::attr::Aggregator;
use crate::wire::{
    AsPath, AsPathSegment, Community, ExtCommunity, LargeCommunity, Origin, PathAttributes,
    RawAttribute, SegmentType,
};
use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ORIGIN: u16 = 1;
const AS_PATH: u16 = 1 << 1;
const NEXT_HOP_V4: u16 = 1 << 2;
const NEXT_HOP_V6: u16 = 1 << 3;
const MED: u16 = 1 << 4;
const LOCAL_PREF: u16 = 1 << 5;
const ATOMIC: u16 = 1 << 6;
const AGGREGATOR: u16 = 1 << 7;
const COMMUNITIES: u16 = 1 << 8;
const ORIGINATOR: u16 = 1 << 9;
const CLUSTER_LIST: u16 = 1 << 10;
const EXT_COMMUNITIES: u16 = 1 << 11;
const LARGE_COMMUNITIES: u16 = 1 << 12;
const ONLY_TO_CUSTOMER: u16 = 1 << 13;
const UNKNOWN: u16 = 1 << 14;

/// Packs `a` (canonical: equal sets give equal bytes).
pub fn pack(a: &PathAttributes) -> Box<[u8]> {
    let mut b = Vec::with_capacity(64);
    pack_into(a, &mut b);
    b.into_boxed_slice()
}

/// [`pack`] into `b` (cleared first), so a caller that only looks the set
/// up, or copies it out at its exact length, reuses one buffer.
pub fn pack_into(a: &PathAttributes, b: &mut Vec<u8>) {
    let mut mask = 0u16;
    b.clear();
    b.extend_from_slice(&[0, 0]);
    if let Some(o) = a.origin {
        mask |= ORIGIN;
        b.push(o as u8);
    }
    if let Some(p) = &a.as_path {
        mask |= AS_PATH;
        varint(b, p.segments.len() as u32);
        for s in &p.segments {
            b.push(s.kind as u8);
            varint(b, s.asns.len() as u32);
            for &asn in &s.asns {
                varint(b, asn);
            }
        }
    }
    match a.next_hop {
        Some(IpAddr::V4(v4)) => {
            mask |= NEXT_HOP_V4;
            b.extend_from_slice(&v4.octets());
        }
        Some(IpAddr::V6(v6)) => {
            mask |= NEXT_HOP_V6;
            b.extend_from_slice(&v6.octets());
        }
        None => {}
    }
    if let Some(m) = a.med {
        mask |= MED;
        b.extend_from_slice(&m.to_le_bytes());
    }
    if let Some(lp) = a.local_pref {
        mask |= LOCAL_PREF;
        b.extend_from_slice(&lp.to_le_bytes());
    }
    if a.atomic_aggregate {
        mask |= ATOMIC;
    }
    if let Some(g) = a.aggregator {
        mask |= AGGREGATOR;
        b.extend_from_slice(&g.asn.to_le_bytes());
        b.extend_from_slice(&g.address.octets());
    }
    if !a.communities.is_empty() {
        mask |= COMMUNITIES;
        varint(b, a.communities.len() as u32);
        for c in &a.communities {
            b.extend_from_slice(&c.0.to_le_bytes());
        }
    }
    if let Some(id) = a.originator_id {
        mask |= ORIGINATOR;
        b.extend_from_slice(&id.octets());
    }
    if !a.cluster_list.is_empty() {
        mask |= CLUSTER_LIST;
        varint(b, a.cluster_list.len() as u32);
        for id in &a.cluster_list {
            b.extend_from_slice(&id.octets());
        }
    }
    if !a.ext_communities.is_empty() {
        mask |= EXT_COMMUNITIES;
        varint(b, a.ext_communities.len() as u32);
        for c in &a.ext_communities {
            b.extend_from_slice(&c.0);
        }
    }
    if !a.large_communities.is_empty() {
        mask |= LARGE_COMMUNITIES;
        varint(b, a.large_communities.len() as u32);
        for c in &a.large_communities {
            for v in [c.global, c.local1, c.local2] {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    if let Some(asn) = a.only_to_customer {
        mask |= ONLY_TO_CUSTOMER;
        b.extend_from_slice(&asn.to_le_bytes());
    }
    if !a.unknown.is_empty() {
        mask |= UNKNOWN;
        varint(b, a.unknown.len() as u32);
        for u in &a.unknown {
            b.push(u.flags);
            b.push(u.type_code);
            varint(b, u.value.len() as u32);
            b.extend_from_slice(&u.value);
        }
    }
    b[..2].copy_from_slice(&mask.to_le_bytes());
}

/// Unpacks bytes made by [`pack`]; `None` if they are not such bytes.
pub fn unpack(bytes: &[u8]) -> Option<PathAttributes> {
    let mut r = Reader(bytes);
    let mask = u16::from_le_bytes(r.array()?);
    let has = |bit: u16| mask & bit != 0;
    let mut a = PathAttributes::default();
    if has(ORIGIN) {
        a.origin = Some(r.origin()?);
    }
    if has(AS_PATH) {
        let n = r.count()?;
        let mut segments = Vec::with_capacity(n);
        for _ in 0..n {
            let kind = match r.byte()? {
                1 => SegmentType::Set,
                2 => SegmentType::Sequence,
                3 => SegmentType::ConfedSequence,
                4 => SegmentType::ConfedSet,
                _ => return None,
            };
            let len = r.count()?;
            let mut asns = Vec::with_capacity(len);
            for _ in 0..len {
                asns.push(r.varint()?);
            }
            segments.push(AsPathSegment { kind, asns });
        }
        a.as_path = Some(AsPath { segments });
    }
    if has(NEXT_HOP_V4) {
        a.next_hop = Some(IpAddr::V4(Ipv4Addr::from(r.array::<4>()?)));
    }
    if has(NEXT_HOP_V6) {
        a.next_hop = Some(IpAddr::V6(Ipv6Addr::from(r.array::<16>()?)));
    }
    if has(MED) {
        a.med = Some(r.u32()?);
    }
    if has(LOCAL_PREF) {
        a.local_pref = Some(r.u32()?);
    }
    a.atomic_aggregate = has(ATOMIC);
    if has(AGGREGATOR) {
        let asn = r.u32()?;
        let address = Ipv4Addr::from(r.array::<4>()?);
        a.aggregator = Some(Aggregator { asn, address });
    }
    if has(COMMUNITIES) {
        a.communities = r.list(|r| r.u32().map(Community))?;
    }
    if has(ORIGINATOR) {
        a.originator_id = Some(Ipv4Addr::from(r.array::<4>()?));
    }
    if has(CLUSTER_LIST) {
        a.cluster_list = r.list(|r| r.array::<4>().map(Ipv4Addr::from))?;
    }
    if has(EXT_COMMUNITIES) {
        a.ext_communities = r.list(|r| r.array::<8>().map(ExtCommunity))?;
    }
    if has(LARGE_COMMUNITIES) {
        a.large_communities = r.list(|r| {
            Some(LargeCommunity {
                global: r.u32()?,
                local1: r.u32()?,
                local2: r.u32()?,
            })
        })?;
    }
    if has(ONLY_TO_CUSTOMER) {
        a.only_to_customer = Some(r.u32()?);
    }
    if has(UNKNOWN) {
        a.unknown = r.list(|r| {
            let flags = r.byte()?;
            let type_code = r.byte()?;
            let len = r.count()?;
            let value = Bytes::copy_from_slice(r.take(len)?);
            Some(RawAttribute {
                flags,
                type_code,
                value,
            })
        })?;
    }
    r.0.is_empty().then_some(a)
}

/// What the decision process reads of packed bytes made by [`pack`],
/// without unpacking them (no allocation: the AS path is walked, the
/// communities skipped); `None` if they are not such bytes.
pub fn rank(bytes: &[u8]) -> Option<PathRank> {
    let mut r = Reader(bytes);
    let mask = u16::from_le_bytes(r.array()?);
    let has = |bit: u16| mask & bit != 0;
    let mut k = PathRank::default();
    if has(ORIGIN) {
        k.origin = Some(r.origin()?);
    }
    if has(AS_PATH) {
        let mut leading = true;
        for _ in 0..r.count()? {
            let kind = r.byte()?;
            let len = r.count()?;
            let first = if len > 0 { Some(r.varint()?) } else { None };
            for _ in 1..len {
                r.varint()?;
            }
            match kind {
                // AS_SEQUENCE, AS_SET: as `AsPath::path_len` and `first_as`.
                2 => {
                    k.path_len += len;
                    if leading {
                        k.first_as = first;
                    }
                    leading = false;
                }
                1 => {
                    k.path_len += 1;
                    leading = false;
                }
                3 | 4 => {}
                _ => return None,
            }
        }
    }
    if has(NEXT_HOP_V4) {
        r.take(4)?;
    }
    if has(NEXT_HOP_V6) {
        r.take(16)?;
    }
    if has(MED) {
        k.med = Some(r.u32()?);
    }
    if has(LOCAL_PREF) {
        k.local_pref = Some(r.u32()?);
    }
    if has(AGGREGATOR) {
        r.take(8)?;
    }
    if has(COMMUNITIES) {
        let n = r.count()?;
        r.take(n.checked_mul(4)?)?;
    }
    if has(ORIGINATOR) {
        k.originator_id = Some(Ipv4Addr::from(r.array::<4>()?));
    }
    if has(CLUSTER_LIST) {
        k.cluster_list_len = r.count()?;
    }
    Some(k)
}

/// Appends `v` as LEB128 (1–5 bytes).
fn varint(b: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

/// A cursor over packed bytes; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn byte(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }
    fn origin(&mut self) -> Option<Origin> {
        match self.byte()? {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    fn varint(&mut self) -> Option<u32> {
        let mut v: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            v |= u32::from(b & 0x7F).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// A count, bounded by the bytes left (every element takes at least one).
    fn count(&mut self) -> Option<usize> {
        let n = self.varint()? as usize;
        (n <= self.0.len()).then_some(n)
    }
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.count()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(item(self)?);
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn segment() -> impl Strategy<Value = AsPathSegment> {
        (
            prop_oneof![
                Just(SegmentType::Set),
                Just(SegmentType::Sequence),
                Just(SegmentType::ConfedSequence),
                Just(SegmentType::ConfedSet),
            ],
            prop::collection::vec(any::<u32>(), 0..6),
        )
            .prop_map(|(kind, asns)| AsPathSegment { kind, asns })
    }

    prop_compose! {
        fn attributes()(
            origin in prop::option::of(prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)]),
            as_path in prop::option::of(prop::collection::vec(segment(), 0..3)),
            nh in prop::option::of(prop_oneof![
                any::<[u8; 4]>().prop_map(IpAddr::from),
                any::<[u8; 16]>().prop_map(IpAddr::from),
            ]),
            med in prop::option::of(any::<u32>()),
            local_pref in prop::option::of(any::<u32>()),
            atomic in any::<bool>(),
            aggregator in prop::option::of((any::<u32>(), any::<[u8; 4]>())),
            communities in prop::collection::vec(any::<u32>(), 0..4),
            originator in prop::option::of(any::<[u8; 4]>()),
            clusters in prop::collection::vec(any::<[u8; 4]>(), 0..3),
            ext in prop::collection::vec(any::<[u8; 8]>(), 0..3),
            large in prop::collection::vec(any::<(u32, u32, u32)>(), 0..3),
            otc in prop::option::of(any::<u32>()),
            unknown in prop::collection::vec((any::<u8>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..300)), 0..3),
        ) -> PathAttributes {
            PathAttributes {
                origin,
                as_path: as_path.map(|segments| AsPath { segments }),
                next_hop: nh,
                med,
                local_pref,
                atomic_aggregate: atomic,
                aggregator: aggregator.map(|(asn, a)| Aggregator { asn, address: Ipv4Addr::from(a) }),
                communities: communities.into_iter().map(Community).collect(),
                originator_id: originator.map(Ipv4Addr::from),
                cluster_list: clusters.into_iter().map(Ipv4Addr::from).collect(),
                ext_communities: ext.into_iter().map(ExtCommunity).collect(),
                large_communities: large.into_iter().map(|(global, local1, local2)| LargeCommunity { global, local1, local2 }).collect(),
                only_to_customer: otc,
                unknown: unknown.into_iter().map(|(flags, type_code, v)| RawAttribute { flags, type_code, value: Bytes::from(v) }).collect(),
            }
        }
    }

    proptest! {
        #[test]
        fn every_set_round_trips(a in attributes()) {
            prop_assert_eq!(unpack(&pack(&a)), Some(a));
        }

        /// The decision's reader sees what the set holds.
        #[test]
        fn the_decisions_view_of_the_bytes_is_that_of_the_set(a in attributes()) {
            prop_assert_eq!(rank(&pack(&a)), Some(PathRank::of(&a)));
        }

        /// Canonical: equal bytes exactly when the sets are equal.
        #[test]
        fn bytes_are_equal_exactly_when_sets_are(a in attributes(), b in attributes()) {
            prop_assert_eq!(pack(&a) == pack(&b), a == b);
        }

        /// Never panics on bytes it did not make.
        #[test]
        fn garbage_is_refused_or_decoded_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            // The decision's reader never panics either, and agrees with
            // the whole decoder on what it decodes.
            let k = rank(&bytes);
            if let Some(a) = unpack(&bytes) {
                prop_assert_eq!(k, Some(PathRank::of(&a)));
                // Whatever decodes re-packs to a set that decodes the same.
                prop_assert_eq!(unpack(&pack(&a)), Some(a));
            }
        }
    }

    #[test]
    fn a_typical_provider_set_packs_small() {
        let a = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![
                64500, 3356, 1299, 400_123, 13335,
            ])),
            next_hop: Some("192.0.2.1".parse().unwrap()),
            med: Some(50),
            communities: vec![Community::new(8075, 8007)],
            ..Default::default()
        };
        let p = pack(&a);
        // mask 2 + origin 1 + path (count, kind, length, then ASNs of
        // 3+2+2+3+2 bytes) + next hop 4 + MED 4 + communities (count + 4).
        assert_eq!(p.len(), 2 + 1 + (3 + 12) + 4 + 4 + 5);
        assert_eq!(unpack(&p), Some(a));
    }

    #[test]
    fn empty_and_absent_as_paths_differ() {
        let absent = PathAttributes::default();
        let empty = PathAttributes {
            as_path: Some(AsPath::default()),
            ..Default::default()
        };
        assert_ne!(pack(&absent), pack(&empty));
        assert_eq!(unpack(&pack(&empty)), Some(empty));
    }

    #[test]
    fn truncated_bytes_are_refused() {
        let a = PathAttributes {
            med: Some(7),
            ..Default::default()
        };
        let p = pack(&a);
        assert_eq!(unpack(&p[..p.len() - 1]), None);
        assert_eq!(unpack(&[]), None);
    }
}
