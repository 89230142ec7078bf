//! Path attribute encoding (RFC 4271 §4.3, §5) in type-code order: AS_PATH
//! with AS_TRANS and AS4_PATH / AS4_AGGREGATOR toward a 2-octet peer
//! (RFC 6793 §4.2.2), the 2-octet length form past 255 octets, MP_REACH_NLRI
//! (RFC 4760), unknown transitive attributes passed on; AS 0 refused
//! (RFC 7607 §2).

use super::*;

/// Starts an attribute: flags, type, one length octet; [`end_attr`] fixes the
/// length and switches to the 2-octet form when the value exceeds 255 octets.
#[inline]
fn begin_attr(out: &mut BytesMut, flags: u8, t: AttrType) -> usize {
    out.put_u8(flags);
    out.put_u8(t as u8);
    out.put_u8(0);
    out.len()
}

#[inline]
fn end_attr(out: &mut BytesMut, start: usize) -> Result<(), EncodeError> {
    let len = out.len() - start;
    if len <= 255 {
        out[start - 1] = len as u8;
        return Ok(());
    }
    if len > u16::MAX as usize {
        return Err(EncodeError::Invalid("attribute exceeds 65535 octets"));
    }
    out.put_u8(0);
    out.copy_within(start..start + len, start + 1);
    out[start - 3] |= attr_flags::EXTENDED_LENGTH;
    out[start - 1] = (len >> 8) as u8;
    out[start] = len as u8;
    Ok(())
}

fn put_as_path(out: &mut BytesMut, path: &AsPath, four: bool, confed: bool) {
    for seg in &path.segments {
        if !confed
            && matches!(
                seg.kind,
                SegmentType::ConfedSequence | SegmentType::ConfedSet
            )
        {
            continue;
        }
        for chunk in seg.asns.chunks(MAX_SEGMENT_ASNS) {
            out.put_u8(seg.kind as u8);
            out.put_u8(chunk.len() as u8);
            for &asn in chunk {
                if four {
                    out.put_u32(asn);
                } else if asn > u16::MAX as u32 {
                    out.put_u16(AS_TRANS);
                } else {
                    out.put_u16(asn as u16);
                }
            }
        }
    }
}

/// Appends the Path Attributes field (without its length) in type-code
/// order; toward a 2-octet peer (`!codec.four_octet_as`) 4-octet ASNs become
/// AS_TRANS with AS4_PATH / AS4_AGGREGATOR added (RFC 6793 §4.2.2). A
/// NEXT_HOP attribute is written only for an IPv4 `next_hop`. A path or
/// aggregator holding AS 0 is refused (RFC 7607 §2: never sent).
pub fn encode_attributes(
    a: &PathAttributes,
    mp_reach: Option<&MpReach>,
    mp_unreach: Option<&MpUnreach>,
    codec: &Codec,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    if a.carries_as_zero() {
        return Err(EncodeError::Invalid(
            "AS 0 in AS_PATH or AGGREGATOR (RFC 7607)",
        ));
    }
    use attr_flags::{OPT_NON_TRANS, OPT_TRANS, WELL_KNOWN};
    let four = codec.four_octet_as;
    let mut unknown: smallvec::SmallVec<[&RawAttribute; 4]> = smallvec::SmallVec::new();
    if !a.unknown.is_empty() {
        unknown.extend(
            a.unknown
                .iter()
                .filter(|r| AttrType::from_u8(r.type_code).is_none()),
        );
        unknown.sort_by_key(|r| r.type_code);
    }
    let mut unknown = unknown.into_iter().peekable();
    let flush = flush_unknown;
    if let Some(o) = a.origin {
        let s = begin_attr(out, WELL_KNOWN, AttrType::Origin);
        out.put_u8(o as u8);
        end_attr(out, s)?;
    }
    let needs_as4 = !four
        && a.as_path
            .as_ref()
            .is_some_and(|p| p.all_asns().any(|x| x > u16::MAX as u32));
    if let Some(p) = &a.as_path {
        let s = begin_attr(out, WELL_KNOWN, AttrType::AsPath);
        put_as_path(out, p, four, true);
        end_attr(out, s)?;
    }
    if let Some(IpAddr::V4(nh)) = a.next_hop {
        let s = begin_attr(out, WELL_KNOWN, AttrType::NextHop);
        out.put_slice(&nh.octets());
        end_attr(out, s)?;
    }
    flush(out, &mut unknown, AttrType::Med as u16)?;
    if let Some(v) = a.med {
        let s = begin_attr(out, OPT_NON_TRANS, AttrType::Med);
        out.put_u32(v);
        end_attr(out, s)?;
    }
    if let Some(v) = a.local_pref {
        let s = begin_attr(out, WELL_KNOWN, AttrType::LocalPref);
        out.put_u32(v);
        end_attr(out, s)?;
    }
    if a.atomic_aggregate {
        let s = begin_attr(out, WELL_KNOWN, AttrType::AtomicAggregate);
        end_attr(out, s)?;
    }
    if let Some(agg) = a.aggregator {
        let s = begin_attr(out, OPT_TRANS, AttrType::Aggregator);
        if four {
            out.put_u32(agg.asn);
        } else {
            out.put_u16(u16::try_from(agg.asn).unwrap_or(AS_TRANS));
        }
        out.put_slice(&agg.address.octets());
        end_attr(out, s)?;
    }
    if !a.communities.is_empty() {
        let s = begin_attr(out, OPT_TRANS, AttrType::Communities);
        for c in &a.communities {
            out.put_u32(c.0);
        }
        end_attr(out, s)?;
    }
    if let Some(id) = a.originator_id {
        let s = begin_attr(out, OPT_NON_TRANS, AttrType::OriginatorId);
        out.put_slice(&id.octets());
        end_attr(out, s)?;
    }
    if !a.cluster_list.is_empty() {
        let s = begin_attr(out, OPT_NON_TRANS, AttrType::ClusterList);
        for id in &a.cluster_list {
            out.put_slice(&id.octets());
        }
        end_attr(out, s)?;
    }
    flush(out, &mut unknown, AttrType::MpReachNlri as u16)?;
    if let Some(r) = mp_reach {
        let s = begin_attr(out, OPT_NON_TRANS, AttrType::MpReachNlri);
        put_mp_reach(out, r, codec)?;
        end_attr(out, s)?;
    }
    if let Some(u) = mp_unreach {
        let s = begin_attr(out, OPT_NON_TRANS, AttrType::MpUnreachNlri);
        out.put_u16(u.afi.0);
        out.put_u8(u.safi.0);
        let ap = family_of(u.afi, u.safi).is_some_and(|f| add_path_for(f, codec));
        for p in &u.withdrawn {
            encode_prefix(p, ap, out);
        }
        end_attr(out, s)?;
    }
    if !a.ext_communities.is_empty() {
        let s = begin_attr(out, OPT_TRANS, AttrType::ExtendedCommunities);
        for c in &a.ext_communities {
            out.put_slice(&c.0);
        }
        end_attr(out, s)?;
    }
    if needs_as4 {
        if let Some(p) = &a.as_path {
            let s = begin_attr(out, OPT_TRANS, AttrType::As4Path);
            put_as_path(out, p, true, false);
            end_attr(out, s)?;
        }
    }
    if let Some(agg) = a.aggregator.filter(|g| !four && g.asn > u16::MAX as u32) {
        let s = begin_attr(out, OPT_TRANS, AttrType::As4Aggregator);
        out.put_u32(agg.asn);
        out.put_slice(&agg.address.octets());
        end_attr(out, s)?;
    }
    flush(out, &mut unknown, AttrType::LargeCommunity as u16)?;
    if !a.large_communities.is_empty() {
        let s = begin_attr(out, OPT_TRANS, AttrType::LargeCommunity);
        for c in &a.large_communities {
            out.put_u32(c.global);
            out.put_u32(c.local1);
            out.put_u32(c.local2);
        }
        end_attr(out, s)?;
    }
    flush(out, &mut unknown, AttrType::OnlyToCustomer as u16)?;
    if let Some(v) = a.only_to_customer {
        let s = begin_attr(out, OPT_TRANS, AttrType::OnlyToCustomer);
        out.put_u32(v);
        end_attr(out, s)?;
    }
    flush(out, &mut unknown, u16::MAX)?;
    Ok(())
}

/// Writes the unknown attributes whose type code is below `below` (exclusive).
fn flush_unknown<'a>(
    out: &mut BytesMut,
    unknown: &mut std::iter::Peekable<impl Iterator<Item = &'a RawAttribute>>,
    below: u16,
) -> Result<(), EncodeError> {
    while let Some(r) = unknown.next_if(|r| (r.type_code as u16) < below) {
        out.put_u8(r.flags & !attr_flags::EXTENDED_LENGTH);
        out.put_u8(r.type_code);
        out.put_u8(0);
        let start = out.len();
        out.put_slice(&r.value);
        end_attr(out, start)?;
    }
    Ok(())
}

fn put_mp_reach(out: &mut BytesMut, r: &MpReach, codec: &Codec) -> Result<(), EncodeError> {
    out.put_u16(r.afi.0);
    out.put_u8(r.safi.0);
    match (r.next_hop, r.link_local_next_hop) {
        (IpAddr::V4(nh), None) => {
            out.put_u8(4);
            out.put_slice(&nh.octets());
        }
        (IpAddr::V6(nh), None) => {
            out.put_u8(16);
            out.put_slice(&nh.octets());
        }
        (IpAddr::V6(nh), Some(IpAddr::V6(ll))) => {
            out.put_u8(32);
            out.put_slice(&nh.octets());
            out.put_slice(&ll.octets());
        }
        _ => {
            return Err(EncodeError::Invalid(
                "link-local next hop needs IPv6 next hops",
            ))
        }
    }
    out.put_u8(0);
    let ap = family_of(r.afi, r.safi).is_some_and(|f| add_path_for(f, codec));
    for p in &r.nlri {
        encode_prefix(p, ap, out);
    }
    Ok(())
}
