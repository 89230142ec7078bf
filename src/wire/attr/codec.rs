//! Path attribute decode and encode (RFC 4271 §4.3, §5; RFC 7606 error
//! handling; RFC 6793 AS4_PATH/AS4_AGGREGATOR merge toward 2-octet peers).
//!
//! Decoding walks the attribute list once (here; encoding is `encode`); each malformation yields exactly
//! one outcome: the RFC 7606 action it calls for (the most severe is kept) or
//! a session-reset NOTIFICATION as a [`DecodeError`]. Called from UPDATE
//! decode/encode in the session task.

use super::{
    Aggregator, AsPath, AsPathSegment, Community, ExtCommunity, LargeCommunity, Origin,
    PathAttributes, RawAttribute, SegmentType,
};
use crate::wire::error::{AttrAction, AttrCause, AttrError, DecodeError};
use crate::wire::iana::{attr_flags, Afi, AttrType, Safi, UpdateSubcode, AS_TRANS};
use crate::wire::nlri::{decode_prefixes, encode_prefix, Family};
use crate::wire::update::{MpReach, MpUnreach};
use crate::wire::{Codec, EncodeError};
use bytes::{BufMut, Bytes, BytesMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Encoding (the other direction).
mod encode;
pub use encode::encode_attributes;

/// The attributes of one UPDATE after decoding, with the MP attributes apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedAttrs {
    pub attrs: PathAttributes,
    pub mp_reach: Option<MpReach>,
    pub mp_unreach: Option<MpUnreach>,
    /// The most severe RFC 7606 action applied, with the attribute type
    /// code and its cause (the first one of that severity is kept).
    pub action: Option<AttrError>,
}

impl DecodedAttrs {
    fn note(&mut self, action: AttrAction, type_code: u8) {
        self.note_cause(action, type_code, AttrCause::Malformed);
    }

    fn note_cause(&mut self, action: AttrAction, type_code: u8, cause: AttrCause) {
        match self.action {
            Some(e) if e.action.severity() >= action.severity() => {}
            _ => {
                self.action = Some(AttrError {
                    action,
                    type_code,
                    cause,
                })
            }
        }
    }
}

/// Maximum ASNs per AS_PATH segment (1-octet segment length, RFC 4271 §4.3).
const MAX_SEGMENT_ASNS: usize = 255;

fn be32(v: &[u8]) -> u32 {
    u32::from_be_bytes([v[0], v[1], v[2], v[3]])
}

/// Decodes the Path Attributes field of an UPDATE (RFC 4271 §4.3) under the
/// RFC 7606 rules. `Err` only for session-reset errors.
pub fn decode_attributes(buf: &[u8], codec: &Codec) -> Result<DecodedAttrs, DecodeError> {
    let mut out = DecodedAttrs::default();
    let mut seen = [0u64; 4];
    let mut as4_path: Option<AsPath> = None;
    let mut as4_aggregator: Option<Aggregator> = None;
    let mut pos = 0usize;
    while pos < buf.len() {
        let rest = &buf[pos..];
        // RFC 7606 §4: too few octets for an attribute header, or a length
        // running past the field: treat-as-withdraw and stop.
        let (flags, type_code) = match rest {
            [f, t, _, ..] => (*f, *t),
            _ => {
                out.note(AttrAction::TreatAsWithdraw, 0);
                break;
            }
        };
        let ext = flags & attr_flags::EXTENDED_LENGTH != 0;
        let hdr = if ext { 4 } else { 3 };
        let len = match (ext, rest) {
            (true, [_, _, a, b, ..]) => u16::from_be_bytes([*a, *b]) as usize,
            (false, [_, _, a, ..]) => *a as usize,
            _ => {
                out.note(AttrAction::TreatAsWithdraw, type_code);
                break;
            }
        };
        let Some(value) = rest.get(hdr..hdr + len) else {
            out.note(AttrAction::TreatAsWithdraw, type_code);
            break;
        };
        let whole = &rest[..hdr + len];
        pos += hdr + len;

        let bit = 1u64 << (type_code % 64);
        let slot = &mut seen[(type_code / 64) as usize];
        if *slot & bit != 0 {
            // RFC 7606 §3 g: MP attributes twice → reset; others: keep the first.
            if type_code == AttrType::MpReachNlri as u8
                || type_code == AttrType::MpUnreachNlri as u8
            {
                return Err(DecodeError::update(UpdateSubcode::MalformedAttributeList));
            }
            out.note(AttrAction::Discard, type_code);
            continue;
        }
        *slot |= bit;

        let Some(kind) = AttrType::from_u8(type_code) else {
            if flags & attr_flags::OPTIONAL == 0 {
                return Err(DecodeError::Update(
                    UpdateSubcode::UnrecognizedWellKnownAttribute,
                    Bytes::copy_from_slice(whole),
                ));
            }
            if flags & attr_flags::TRANSITIVE != 0 {
                out.attrs.unknown.push(RawAttribute {
                    flags: (flags | attr_flags::PARTIAL) & !attr_flags::EXTENDED_LENGTH,
                    type_code,
                    value: Bytes::copy_from_slice(value),
                });
            }
            continue;
        };
        // RFC 7606 §3 c: wrong Optional/Transitive bits → treat-as-withdraw.
        if flags & (attr_flags::OPTIONAL | attr_flags::TRANSITIVE) != kind.flags() {
            out.note(AttrAction::TreatAsWithdraw, type_code);
        }
        let taw = AttrAction::TreatAsWithdraw;
        let mut as_zero: Option<(AttrAction, u8)> = None;
        let a = &mut out.attrs;
        let bad: Option<AttrAction> = match kind {
            AttrType::Origin => match value {
                [0] => set(&mut a.origin, Origin::Igp),
                [1] => set(&mut a.origin, Origin::Egp),
                [2] => set(&mut a.origin, Origin::Incomplete),
                _ => Some(taw),
            },
            AttrType::AsPath => match decode_as_path(value, codec.four_octet_as) {
                // RFC 7607 §2: AS 0 makes the UPDATE malformed (treat-as-withdraw).
                // The path is kept so the rejected route shows what was sent.
                Some(p) => {
                    if p.has_as_zero() {
                        as_zero = Some((taw, type_code));
                    }
                    set(&mut a.as_path, p)
                }
                None => Some(taw),
            },
            AttrType::NextHop => match value {
                [a0, a1, a2, a3] => set(
                    &mut a.next_hop,
                    IpAddr::V4(Ipv4Addr::new(*a0, *a1, *a2, *a3)),
                ),
                _ => Some(taw),
            },
            AttrType::Med => fixed32(value)
                .map(|v| a.med = Some(v))
                .map_or(Some(taw), |_| None),
            AttrType::LocalPref => fixed32(value)
                .map(|v| a.local_pref = Some(v))
                .map_or(Some(taw), |_| None),
            AttrType::AtomicAggregate => {
                if value.is_empty() {
                    a.atomic_aggregate = true;
                    None
                } else {
                    Some(AttrAction::Discard)
                }
            }
            // RFC 7607 §2: AS 0 in AGGREGATOR → attribute discard.
            AttrType::Aggregator => match (codec.four_octet_as, value) {
                (true, [0, 0, 0, 0, _, _, _, _]) | (false, [0, 0, _, _, _, _]) => {
                    as_zero = Some((AttrAction::Discard, type_code));
                    None
                }
                (true, [a0, a1, a2, a3, i0, i1, i2, i3]) => set(
                    &mut a.aggregator,
                    Aggregator {
                        asn: u32::from_be_bytes([*a0, *a1, *a2, *a3]),
                        address: Ipv4Addr::new(*i0, *i1, *i2, *i3),
                    },
                ),
                (false, [a0, a1, i0, i1, i2, i3]) => set(
                    &mut a.aggregator,
                    Aggregator {
                        asn: u16::from_be_bytes([*a0, *a1]) as u32,
                        address: Ipv4Addr::new(*i0, *i1, *i2, *i3),
                    },
                ),
                _ => Some(AttrAction::Discard),
            },
            AttrType::Communities => chunks(value, 4, &mut a.communities, |c| Community(be32(c))),
            AttrType::OriginatorId => match value {
                [a0, a1, a2, a3] => set(&mut a.originator_id, Ipv4Addr::new(*a0, *a1, *a2, *a3)),
                _ => Some(taw),
            },
            AttrType::ClusterList => chunks(value, 4, &mut a.cluster_list, |c| {
                Ipv4Addr::new(c[0], c[1], c[2], c[3])
            }),
            AttrType::ExtendedCommunities => chunks(value, 8, &mut a.ext_communities, |c| {
                let mut e = [0u8; 8];
                e.copy_from_slice(c);
                ExtCommunity(e)
            }),
            AttrType::LargeCommunity => {
                chunks(value, 12, &mut a.large_communities, |c| LargeCommunity {
                    global: be32(&c[0..4]),
                    local1: be32(&c[4..8]),
                    local2: be32(&c[8..12]),
                })
            }
            AttrType::OnlyToCustomer => fixed32(value)
                .map(|v| a.only_to_customer = Some(v))
                .map_or(Some(taw), |_| None),
            // RFC 6793 §4.1: a NEW speaker ignores these from a NEW speaker;
            // §6: malformed ones are discarded.
            AttrType::As4Path => {
                if codec.four_octet_as {
                    None
                } else {
                    match decode_as_path(value, true) {
                        Some(mut p) => {
                            // RFC 7607 §2: AS 0 in AS4_PATH → treat-as-withdraw.
                            if p.has_as_zero() {
                                as_zero = Some((taw, type_code));
                            }
                            p.segments.retain(|s| {
                                matches!(s.kind, SegmentType::Sequence | SegmentType::Set)
                            });
                            as4_path = Some(p);
                            None
                        }
                        None => Some(AttrAction::Discard),
                    }
                }
            }
            AttrType::As4Aggregator => {
                if codec.four_octet_as {
                    None
                } else {
                    match value {
                        // RFC 7607 §2: AS 0 in AS4_AGGREGATOR → attribute discard.
                        [0, 0, 0, 0, _, _, _, _] => {
                            as_zero = Some((AttrAction::Discard, type_code));
                            None
                        }
                        [a0, a1, a2, a3, i0, i1, i2, i3] => {
                            as4_aggregator = Some(Aggregator {
                                asn: u32::from_be_bytes([*a0, *a1, *a2, *a3]),
                                address: Ipv4Addr::new(*i0, *i1, *i2, *i3),
                            });
                            None
                        }
                        _ => Some(AttrAction::Discard),
                    }
                }
            }
            AttrType::MpReachNlri => {
                match decode_mp_reach(value, codec).map_err(|()| optional_error(whole))? {
                    Some(r) => {
                        out.mp_reach = Some(r);
                        None
                    }
                    None => Some(AttrAction::Discard),
                }
            }
            AttrType::MpUnreachNlri => {
                match decode_mp_unreach(value, codec).map_err(|()| optional_error(whole))? {
                    Some(r) => {
                        out.mp_unreach = Some(r);
                        None
                    }
                    None => Some(AttrAction::Discard),
                }
            }
        };
        if let Some(action) = bad {
            out.note(action, type_code);
        }
        if let Some((action, code)) = as_zero.take() {
            out.note_cause(action, code, AttrCause::AsZero);
        }
    }
    if !codec.four_octet_as {
        merge_as4(&mut out.attrs, as4_path, as4_aggregator);
    }
    // Canonical order (type code, as encode writes them) so equal attribute
    // sets compare and hash equal whatever order the peer used.
    out.attrs.unknown.sort_by_key(|r| r.type_code);
    Ok(out)
}

fn set<T>(slot: &mut Option<T>, v: T) -> Option<AttrAction> {
    *slot = Some(v);
    None
}

fn fixed32(v: &[u8]) -> Option<u32> {
    match v {
        [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// A list attribute of `size`-octet items: a non-zero multiple of `size`,
/// else treat-as-withdraw (RFC 7606 §7.8, §7.10, §7.14, RFC 8092 §6).
fn chunks<T>(
    v: &[u8],
    size: usize,
    out: &mut Vec<T>,
    f: impl Fn(&[u8]) -> T,
) -> Option<AttrAction> {
    if v.is_empty() || !v.len().is_multiple_of(size) {
        return Some(AttrAction::TreatAsWithdraw);
    }
    out.reserve_exact(v.len() / size);
    out.extend(v.chunks_exact(size).map(f));
    None
}

fn optional_error(whole: &[u8]) -> DecodeError {
    DecodeError::Update(
        UpdateSubcode::OptionalAttributeError,
        Bytes::copy_from_slice(whole),
    )
}

/// AS_PATH / AS4_PATH value (RFC 4271 §4.3, RFC 5065 §3); `None` when
/// malformed (RFC 7606 §7.2: bad segment type, empty segment, overrun).
pub fn decode_as_path(mut v: &[u8], four: bool) -> Option<AsPath> {
    let size = if four { 4 } else { 2 };
    let mut segments = Vec::with_capacity(1);
    while let [t, n, rest @ ..] = v {
        let kind = match t {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => return None,
        };
        if *n == 0 {
            return None;
        }
        let bytes = rest.get(..*n as usize * size)?;
        let asns = if four {
            bytes.chunks_exact(4).map(be32).collect()
        } else {
            bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
                .collect()
        };
        segments.push(AsPathSegment { kind, asns });
        v = &rest[bytes.len()..];
    }
    if v.is_empty() {
        Some(AsPath { segments })
    } else {
        None
    }
}

/// RFC 6793 §4.2.3: rebuild the 4-octet path and aggregator from a 2-octet peer.
fn merge_as4(a: &mut PathAttributes, as4_path: Option<AsPath>, as4_agg: Option<Aggregator>) {
    if let Some(agg) = a.aggregator {
        if agg.asn != AS_TRANS as u32 {
            // An AGGREGATOR from a non-AS_TRANS AS: both AS4 attributes are ignored.
            return;
        }
        if let Some(a4) = as4_agg {
            a.aggregator = Some(a4);
        }
    }
    let (Some(as4), Some(path)) = (as4_path, a.as_path.as_ref()) else {
        return;
    };
    let n = path.path_len();
    let m = as4.path_len();
    if n < m {
        return;
    }
    let mut need = n - m;
    let mut merged = AsPath::default();
    for seg in &path.segments {
        match seg.kind {
            SegmentType::ConfedSequence | SegmentType::ConfedSet => {
                if need > 0 || merged.segments.is_empty() {
                    merged.segments.push(seg.clone());
                }
            }
            _ if need == 0 => break,
            SegmentType::Set => {
                merged.segments.push(seg.clone());
                need -= 1;
            }
            SegmentType::Sequence => {
                let take = need.min(seg.asns.len());
                merged.segments.push(AsPathSegment {
                    kind: SegmentType::Sequence,
                    asns: seg.asns[..take].to_vec(),
                });
                need -= take;
            }
        }
    }
    for seg in as4.segments {
        match merged.segments.last_mut() {
            Some(last)
                if last.kind == SegmentType::Sequence
                    && seg.kind == SegmentType::Sequence
                    && last.asns.len() + seg.asns.len() <= MAX_SEGMENT_ASNS =>
            {
                last.asns.extend_from_slice(&seg.asns)
            }
            _ => merged.segments.push(seg),
        }
    }
    a.as_path = Some(merged);
}

fn family_of(afi: Afi, safi: Safi) -> Option<Family> {
    if safi != Safi::UNICAST && safi != Safi::MULTICAST {
        return None;
    }
    match afi {
        Afi::IPV4 => Some(Family::Ipv4),
        Afi::IPV6 => Some(Family::Ipv6),
        _ => None,
    }
}

fn add_path_for(family: Family, codec: &Codec) -> bool {
    match family {
        Family::Ipv4 => codec.add_path_ipv4,
        Family::Ipv6 => codec.add_path_ipv6,
    }
}

/// MP_REACH_NLRI (RFC 4760 §3). `Ok(None)`: a family this codec does not
/// carry (discarded); `Err`: malformed, a session reset (RFC 7606 §7.11).
fn decode_mp_reach(v: &[u8], codec: &Codec) -> Result<Option<MpReach>, ()> {
    let [a0, a1, safi, nh_len, rest @ ..] = v else {
        return Err(());
    };
    let afi = Afi(u16::from_be_bytes([*a0, *a1]));
    let safi = Safi(*safi);
    let nh = rest.get(..*nh_len as usize).ok_or(())?;
    // One reserved octet follows the next hop (RFC 4760 §3).
    let nlri = rest.get(*nh_len as usize + 1..).ok_or(())?;
    let Some(family) = family_of(afi, safi) else {
        return Ok(None);
    };
    let (next_hop, link_local_next_hop) = match nh.len() {
        4 => (IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3])), None),
        16 => (IpAddr::V6(v6(&nh[..16])), None),
        32 => (IpAddr::V6(v6(&nh[..16])), Some(IpAddr::V6(v6(&nh[16..32])))),
        _ => return Err(()),
    };
    let mut prefixes = Vec::new();
    decode_prefixes(nlri, family, add_path_for(family, codec), &mut prefixes).map_err(|_| ())?;
    Ok(Some(MpReach {
        afi,
        safi,
        next_hop,
        link_local_next_hop,
        nlri: prefixes,
    }))
}

fn v6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

/// MP_UNREACH_NLRI (RFC 4760 §4), same outcomes as [`decode_mp_reach`].
fn decode_mp_unreach(v: &[u8], codec: &Codec) -> Result<Option<MpUnreach>, ()> {
    let [a0, a1, safi, nlri @ ..] = v else {
        return Err(());
    };
    let afi = Afi(u16::from_be_bytes([*a0, *a1]));
    let safi = Safi(*safi);
    let Some(family) = family_of(afi, safi) else {
        return Ok(None);
    };
    let mut withdrawn = Vec::new();
    decode_prefixes(nlri, family, add_path_for(family, codec), &mut withdrawn).map_err(|_| ())?;
    Ok(Some(MpUnreach {
        afi,
        safi,
        withdrawn,
    }))
}
