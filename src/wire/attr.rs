//! Path attributes (RFC 4271 §4.3, §5 and the RFCs listed per field).
//!
//! [`PathAttributes`] is the decoded, interned-friendly form (`Eq + Hash`): the
//! route engine shares one copy among every prefix that carries it. AS4_PATH
//! and AS4_AGGREGATOR are merged into `as_path`/`aggregator` on decode
//! (RFC 6793 §4.2.3) and regenerated on encode toward a 2-octet peer.
//! Bytes ↔ values live in `attr::codec`; both run in the session task.

use bytes::Bytes;
use serde::Serialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// ORIGIN (RFC 4271 §5.1.1). Lower is preferred in best-path selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Origin {
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

/// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SegmentType {
    /// AS_SET = 1
    Set = 1,
    /// AS_SEQUENCE = 2
    Sequence = 2,
    /// AS_CONFED_SEQUENCE = 3 (RFC 5065)
    ConfedSequence = 3,
    /// AS_CONFED_SET = 4 (RFC 5065)
    ConfedSet = 4,
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsPathSegment {
    pub kind: SegmentType,
    pub asns: Vec<u32>,
}

/// AS_PATH with 4-octet ASNs (after the RFC 6793 merge).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    pub segments: Vec<AsPathSegment>,
}

impl AsPath {
    /// A path made of one AS_SEQUENCE.
    pub fn from_sequence(asns: impl Into<Vec<u32>>) -> Self {
        let asns = asns.into();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![AsPathSegment {
                kind: SegmentType::Sequence,
                asns,
            }],
        }
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2 a): an AS_SET
    /// counts 1, confederation segments count 0 (RFC 5065 §5.3).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// The neighbor AS: first ASN of a leading AS_SEQUENCE (RFC 4271 §9.1.2.2 c).
    pub fn first_as(&self) -> Option<u32> {
        self.segments
            .iter()
            .find(|s| !matches!(s.kind, SegmentType::ConfedSequence | SegmentType::ConfedSet))
            .and_then(|s| match s.kind {
                SegmentType::Sequence => s.asns.first().copied(),
                _ => None,
            })
    }

    /// The origin AS: last ASN of a trailing AS_SEQUENCE; `None` when the
    /// path ends in an AS_SET (RFC 6811 §2) or is empty.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last() {
            Some(s) if s.kind == SegmentType::Sequence => s.asns.last().copied(),
            _ => None,
        }
    }

    /// True when the path holds an AS_SET or AS_CONFED_SET (RFC 9774
    /// deprecates both).
    pub fn has_set(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s.kind, SegmentType::Set | SegmentType::ConfedSet))
    }

    /// Every ASN in the path, in every kind of segment.
    pub fn all_asns(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }

    /// Does any segment hold AS 0? Such a path is malformed (RFC 7607 §2):
    /// never accepted, never sent.
    pub fn has_as_zero(&self) -> bool {
        self.all_asns().any(|a| a == 0)
    }

    /// A copy with `asn` prepended `count` times to the leading AS_SEQUENCE
    /// (a new one is started when the path starts with another segment type
    /// or the first segment is full at 255 ASNs).
    pub fn prepended(&self, asn: u32, count: usize) -> AsPath {
        let mut out = self.clone();
        for _ in 0..count {
            match out.segments.first_mut() {
                Some(s) if s.kind == SegmentType::Sequence && s.asns.len() < 255 => {
                    s.asns.insert(0, asn)
                }
                _ => out.segments.insert(
                    0,
                    AsPathSegment {
                        kind: SegmentType::Sequence,
                        asns: vec![asn],
                    },
                ),
            }
        }
        out
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.segments {
            let (open, close) = match s.kind {
                SegmentType::Sequence => ("", ""),
                SegmentType::Set => ("{", "}"),
                SegmentType::ConfedSequence => ("(", ")"),
                SegmentType::ConfedSet => ("[", "]"),
            };
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(open)?;
            for (i, a) in s.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(if s.kind == SegmentType::Sequence {
                        " "
                    } else {
                        ","
                    })?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// A standard community (RFC 1997), `asn:value` in the high/low 16 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);

    /// `asn:value`.
    pub const fn new(asn: u16, value: u16) -> Self {
        Community(((asn as u32) << 16) | value as u32)
    }
    /// The high 16 bits.
    pub const fn asn(self) -> u16 {
        (self.0 >> 16) as u16
    }
    /// The low 16 bits.
    pub const fn value(self) -> u16 {
        self.0 as u16
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.asn(), self.value())
    }
}

/// An extended community (RFC 4360), the 8 raw octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtCommunity(pub [u8; 8]);

/// A large community (RFC 8092): global administrator and two local data parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    pub global: u32,
    pub local1: u32,
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// AGGREGATOR (RFC 4271 §5.1.7), with a 4-octet AS after the RFC 6793 merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    pub asn: u32,
    pub address: Ipv4Addr,
}

/// An attribute kept as raw bytes: unknown optional transitive attributes
/// are passed on with the Partial bit set (RFC 4271 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    pub flags: u8,
    pub type_code: u8,
    pub value: Bytes,
}

/// The decoded path attributes of one UPDATE, except MP_REACH_NLRI and
/// MP_UNREACH_NLRI, which [`super::Update`] carries itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PathAttributes {
    /// ORIGIN (RFC 4271 §5.1.1), well-known mandatory.
    pub origin: Option<Origin>,
    /// AS_PATH (RFC 4271 §5.1.2), merged with AS4_PATH (RFC 6793).
    pub as_path: Option<AsPath>,
    /// NEXT_HOP (RFC 4271 §5.1.3) for IPv4 NLRI; IPv6 next hops come in MP_REACH_NLRI.
    pub next_hop: Option<IpAddr>,
    /// MULTI_EXIT_DISC (RFC 4271 §5.1.4).
    pub med: Option<u32>,
    /// LOCAL_PREF (RFC 4271 §5.1.5), iBGP only.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE (RFC 4271 §5.1.6).
    pub atomic_aggregate: bool,
    /// AGGREGATOR (RFC 4271 §5.1.7), merged with AS4_AGGREGATOR (RFC 6793).
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES (RFC 1997).
    pub communities: Vec<Community>,
    /// ORIGINATOR_ID (RFC 4456).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456).
    pub cluster_list: Vec<Ipv4Addr>,
    /// EXTENDED_COMMUNITIES (RFC 4360).
    pub ext_communities: Vec<ExtCommunity>,
    /// LARGE_COMMUNITY (RFC 8092).
    pub large_communities: Vec<LargeCommunity>,
    /// ONLY_TO_CUSTOMER (RFC 9234 §5): the ASN that set it.
    pub only_to_customer: Option<u32>,
    /// Unknown optional transitive attributes, passed on with Partial set,
    /// sorted by type code after decoding.
    pub unknown: Vec<RawAttribute>,
}

impl PathAttributes {
    /// AS 0 in AS_PATH or AGGREGATOR (where AS4_PATH and AS4_AGGREGATOR are
    /// merged in): malformed by RFC 7607 §2, so never sent.
    pub fn carries_as_zero(&self) -> bool {
        self.as_path.as_ref().is_some_and(AsPath::has_as_zero)
            || self.aggregator.is_some_and(|a| a.asn == 0)
    }
}

mod codec;
pub use codec::{decode_as_path, decode_attributes, encode_attributes, DecodedAttrs};

/// An attribute set already packed (the route engine's compact form,
/// `rib::packed`) and hashed for its interner, by the session task that
/// decoded it: the engine then finds or adds the set with one probe and
/// keeps these bytes when the set is new, instead of packing and hashing
/// it on its own task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedSet {
    pub bytes: Box<[u8]>,
    pub hash: u64,
}
