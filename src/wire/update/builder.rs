//! [`UpdateBuilder`]: packs many prefixes that share one attribute set into
//! as few UPDATEs as fit the session's maximum message length (RFC 4271 §4,
//! RFC 8654). IPv4 goes in the NLRI / Withdrawn Routes fields, IPv6 in
//! MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
//!
//! Used by [`Job::encode`](crate::messages::Job::encode) when a session
//! task turns an update group's Adj-RIB-Out diffs, as the engine's
//! `Outbox` collected them, into bytes (once for all its members).

use super::{MpReach, MpUnreach};
use crate::wire::attr::{encode_attributes, PathAttributes};
use crate::wire::iana::{Afi, MessageType, Safi};
use crate::wire::nlri::{encode_prefix, write_v4, AddPathPrefix, V4_WRITE_SLACK};
use crate::wire::{begin_message, finish_message, Codec, EncodeError, HEADER_LEN};
use bytes::{BufMut, BytesMut};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

/// Packs announcements and withdrawals into UPDATE messages for one session.
#[derive(Debug, Clone, Copy)]
pub struct UpdateBuilder {
    codec: Codec,
}

/// Octets an MP_REACH/MP_UNREACH header may grow by when its length needs
/// the 2-octet form (RFC 4271 §4.3 Extended Length).
const EXT_LEN_SLACK: usize = 1;

impl UpdateBuilder {
    /// A builder for a session with the given negotiated codec.
    pub fn new(codec: Codec) -> Self {
        UpdateBuilder { codec }
    }

    /// Appends UPDATEs announcing `prefixes` with `attrs` to `out` and
    /// returns how many messages were written. IPv4 prefixes use the NLRI
    /// field and need an IPv4 `attrs.next_hop`; IPv6 prefixes go in
    /// MP_REACH_NLRI with the IPv6 `attrs.next_hop` and the optional
    /// `link_local` (RFC 2545 §3). With ADD-PATH in the codec each prefix's
    /// path id is sent (0 when `None`).
    pub fn announce(
        &self,
        attrs: &PathAttributes,
        link_local: Option<Ipv6Addr>,
        prefixes: &[AddPathPrefix],
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let mut count = 0;
        let (mut has_v4, mut has_v6) = (false, false);
        for p in prefixes {
            match p.prefix {
                IpNet::V4(_) => has_v4 = true,
                IpNet::V6(_) => has_v6 = true,
            }
        }
        if has_v4 {
            if !matches!(attrs.next_hop, Some(IpAddr::V4(_))) {
                return Err(EncodeError::Invalid("IPv4 NLRI need an IPv4 next hop"));
            }
            count += self.announce_v4(attrs, prefixes, out)?;
        }
        if has_v6 {
            let Some(IpAddr::V6(nh)) = attrs.next_hop else {
                return Err(EncodeError::Invalid("IPv6 NLRI need an IPv6 next hop"));
            };
            count += self.announce_v6(attrs, nh, link_local, prefixes, out)?;
        }
        Ok(count)
    }

    fn announce_v4(
        &self,
        attrs: &PathAttributes,
        prefixes: &[AddPathPrefix],
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let max = self.codec.max_message_len();
        let ap = self.codec.add_path_ipv4;
        let v4 = |p: &AddPathPrefix| match p.prefix {
            IpNet::V4(net) => Some(net),
            IpNet::V6(_) => None,
        };
        // The attributes are encoded once, straight into the first message;
        // later messages (rare: most sets fit one) copy them.
        let mut attr_copy: Option<BytesMut> = None;
        let mut count = 0;
        let mut i = 0;
        loop {
            while i < prefixes.len() && v4(&prefixes[i]).is_none() {
                i += 1;
            }
            if i == prefixes.len() {
                return Ok(count);
            }
            let start = begin_message(out, MessageType::Update);
            out.put_u16(0);
            out.put_u16(0);
            let attr_start = out.len();
            match &attr_copy {
                Some(a) => out.extend_from_slice(a),
                None => encode_attributes(attrs, None, None, &self.codec, out)?,
            }
            let attr_len = out.len() - attr_start;
            if attr_len > u16::MAX as usize {
                out.truncate(start);
                return Err(EncodeError::TooLong(attr_len, max));
            }
            out[attr_start - 2..attr_start].copy_from_slice(&(attr_len as u16).to_be_bytes());
            let fixed = out.len() - start;
            let room = max.saturating_sub(fixed);
            // Pass 1: how many prefixes fit; pass 2: write them in place.
            let (mut j, mut used) = (i, 0);
            while let Some(p) = prefixes.get(j) {
                let w = if v4(p).is_some() { p.wire_len(ap) } else { 0 };
                if used + w > room {
                    break;
                }
                used += w;
                j += 1;
            }
            if used == 0 {
                out.truncate(start);
                return Err(EncodeError::TooLong(fixed + 6, max));
            }
            let base = out.len();
            out.resize(base + used + V4_WRITE_SLACK, 0);
            let mut pos = base;
            for p in &prefixes[i..j] {
                if let Some(net) = v4(p) {
                    pos += write_v4(&mut out[pos..], &net, p.path_id, ap);
                }
            }
            out.truncate(pos);
            i = j;
            if attr_copy.is_none() && prefixes[i..].iter().any(|p| v4(p).is_some()) {
                attr_copy = Some(BytesMut::from(&out[attr_start..attr_start + attr_len]));
            }
            finish_message(out, start, max)?;
            count += 1;
        }
    }

    fn announce_v6(
        &self,
        attrs: &PathAttributes,
        nh: Ipv6Addr,
        link_local: Option<Ipv6Addr>,
        prefixes: &[AddPathPrefix],
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let max = self.codec.max_message_len();
        let ap = self.codec.add_path_ipv6;
        let mut reach = MpReach {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
            next_hop: IpAddr::V6(nh),
            link_local_next_hop: link_local.map(IpAddr::V6),
            nlri: Vec::new(),
        };
        // Size with an empty MP_REACH_NLRI tells how much room NLRI have.
        let mut probe = BytesMut::with_capacity(128);
        encode_attributes(attrs, Some(&reach), None, &self.codec, &mut probe)?;
        let fixed = HEADER_LEN + 4 + probe.len() + EXT_LEN_SLACK;
        let mut iter = prefixes
            .iter()
            .filter(|p| p.prefix.addr().is_ipv6())
            .peekable();
        let mut count = 0;
        while iter.peek().is_some() {
            reach.nlri.clear();
            let mut room = max.saturating_sub(fixed);
            while let Some(p) = iter.next_if(|p| p.wire_len(ap) <= room) {
                room -= p.wire_len(ap);
                reach.nlri.push(*p);
            }
            if reach.nlri.is_empty() {
                return Err(EncodeError::TooLong(fixed + 18, max));
            }
            let start = begin_message(out, MessageType::Update);
            out.put_u16(0);
            let at = out.len();
            out.put_u16(0);
            encode_attributes(attrs, Some(&reach), None, &self.codec, out)?;
            let tal = out.len() - at - 2;
            out[at..at + 2].copy_from_slice(&(tal as u16).to_be_bytes());
            finish_message(out, start, max)?;
            count += 1;
        }
        Ok(count)
    }

    /// Appends UPDATEs withdrawing `prefixes` (IPv4 in the Withdrawn Routes
    /// field, IPv6 in MP_UNREACH_NLRI) and returns how many were written.
    pub fn withdraw(
        &self,
        prefixes: &[AddPathPrefix],
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let max = self.codec.max_message_len();
        let mut count = 0;
        let ap = self.codec.add_path_ipv4;
        let mut v4 = prefixes
            .iter()
            .filter(|p| p.prefix.addr().is_ipv4())
            .peekable();
        while v4.peek().is_some() {
            let start = begin_message(out, MessageType::Update);
            let at = out.len();
            out.put_u16(0);
            let mut room = max - HEADER_LEN - 4;
            while let Some(p) = v4.next_if(|p| p.wire_len(ap) <= room) {
                room -= p.wire_len(ap);
                encode_prefix(p, ap, out);
            }
            let wlen = out.len() - at - 2;
            out[at..at + 2].copy_from_slice(&(wlen as u16).to_be_bytes());
            out.put_u16(0);
            finish_message(out, start, max)?;
            count += 1;
        }
        let ap = self.codec.add_path_ipv6;
        let mut v6 = prefixes
            .iter()
            .filter(|p| p.prefix.addr().is_ipv6())
            .peekable();
        let mut unreach = MpUnreach {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
            withdrawn: Vec::new(),
        };
        // Header, two length fields, a 4-octet attribute header and AFI/SAFI.
        let fixed = HEADER_LEN + 4 + 4 + 3;
        while v6.peek().is_some() {
            unreach.withdrawn.clear();
            let mut room = max - fixed;
            while let Some(p) = v6.next_if(|p| p.wire_len(ap) <= room) {
                room -= p.wire_len(ap);
                unreach.withdrawn.push(*p);
            }
            let start = begin_message(out, MessageType::Update);
            out.put_u16(0);
            let at = out.len();
            out.put_u16(0);
            encode_attributes(
                &PathAttributes::default(),
                None,
                Some(&unreach),
                &self.codec,
                out,
            )?;
            let tal = out.len() - at - 2;
            out[at..at + 2].copy_from_slice(&(tal as u16).to_be_bytes());
            finish_message(out, start, max)?;
            count += 1;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attr::{AsPath, Origin};
    use crate::wire::{frame_len, Message, Update};
    use std::net::Ipv4Addr;

    fn attrs(nh: IpAddr) -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![65001, 65002])),
            next_hop: Some(nh),
            ..Default::default()
        }
    }

    fn split(mut buf: &[u8], codec: &Codec) -> Vec<Update> {
        let mut out = Vec::new();
        while let Ok(Some(n)) = frame_len(buf, codec) {
            assert!(n <= codec.max_message_len());
            match Message::decode(&buf[..n], codec) {
                Ok(Message::Update(u)) => out.push(*u),
                other => panic!("not an UPDATE: {other:?}"),
            }
            buf = &buf[n..];
        }
        assert!(buf.is_empty(), "trailing bytes");
        out
    }

    fn v4_prefixes(n: u32) -> Vec<AddPathPrefix> {
        (0..n)
            .map(|i| {
                AddPathPrefix::new(
                    ipnet::Ipv4Net::new(Ipv4Addr::from(0x0A00_0000 + (i << 8)), 24)
                        .map(Into::into)
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn ipv4_announcements_fill_each_message_to_the_limit() {
        let codec = Codec::default();
        let b = UpdateBuilder::new(codec);
        let prefixes = v4_prefixes(3000);
        let mut out = BytesMut::new();
        let a = attrs(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let n = b.announce(&a, None, &prefixes, &mut out).expect("announce");
        let updates = split(&out, &codec);
        assert_eq!(updates.len(), n);
        // 4096 - 19 - 4 - 28 octets of attributes = 4045 / 4 octets per /24.
        assert_eq!(n, 3000usize.div_ceil(4045 / 4));
        let got: Vec<_> = updates
            .iter()
            .flat_map(|u| u.nlri.iter().copied())
            .collect();
        assert_eq!(got, prefixes);
        assert!(updates.iter().all(|u| u.attrs == a));
    }

    #[test]
    fn extended_message_packs_more_prefixes_per_update() {
        let codec = Codec {
            extended_message: true,
            ..Codec::default()
        };
        let mut out = BytesMut::new();
        let a = attrs(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let n = UpdateBuilder::new(codec)
            .announce(&a, None, &v4_prefixes(30000), &mut out)
            .expect("announce");
        assert_eq!(n, 2);
        assert_eq!(split(&out, &codec).len(), 2);
    }

    #[test]
    fn ipv6_announcements_go_in_mp_reach_with_the_link_local() {
        let codec = Codec::default();
        let nh: Ipv6Addr = "2001:db8::1".parse().unwrap_or(Ipv6Addr::LOCALHOST);
        let ll: Ipv6Addr = "fe80::1".parse().unwrap_or(Ipv6Addr::LOCALHOST);
        let prefixes: Vec<AddPathPrefix> = (0..1000u32)
            .map(|i| {
                let addr = Ipv6Addr::from((0x2001_0db8u128 << 96) | ((i as u128) << 80));
                AddPathPrefix::new(
                    ipnet::Ipv6Net::new(addr, 48)
                        .map(Into::into)
                        .unwrap_or_default(),
                )
            })
            .collect();
        let mut out = BytesMut::new();
        let n = UpdateBuilder::new(codec)
            .announce(&attrs(IpAddr::V6(nh)), Some(ll), &prefixes, &mut out)
            .expect("announce");
        let updates = split(&out, &codec);
        assert_eq!(updates.len(), n);
        assert_eq!(n, 2);
        let mut got = Vec::new();
        for u in &updates {
            let r = u.mp_reach.as_ref().expect("mp_reach");
            assert_eq!(r.next_hop, IpAddr::V6(nh));
            assert_eq!(r.link_local_next_hop, Some(IpAddr::V6(ll)));
            assert!(u.nlri.is_empty() && u.attrs.next_hop.is_none());
            got.extend_from_slice(&r.nlri);
        }
        assert_eq!(got, prefixes);
    }

    #[test]
    fn withdrawals_of_both_families_round_trip() {
        let codec = Codec::default();
        let mut prefixes = v4_prefixes(2000);
        prefixes.push(AddPathPrefix::new(
            "2001:db8::/32".parse().unwrap_or_default(),
        ));
        let mut out = BytesMut::new();
        let n = UpdateBuilder::new(codec)
            .withdraw(&prefixes, &mut out)
            .expect("withdraw");
        let updates = split(&out, &codec);
        assert_eq!(n, updates.len());
        assert_eq!(n, 3);
        let v4: Vec<_> = updates
            .iter()
            .flat_map(|u| u.withdrawn.iter().copied())
            .collect();
        assert_eq!(v4[..], prefixes[..2000]);
        let v6 = updates[2].mp_unreach.as_ref().expect("mp_unreach");
        assert_eq!(v6.withdrawn[..], prefixes[2000..]);
    }

    #[test]
    fn announcing_ipv4_without_an_ipv4_next_hop_is_an_error() {
        let mut out = BytesMut::new();
        let a = attrs(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let r = UpdateBuilder::new(Codec::default()).announce(&a, None, &v4_prefixes(1), &mut out);
        assert!(matches!(r, Err(EncodeError::Invalid(_))));
        assert!(out.is_empty());
    }

    #[test]
    fn add_path_ids_are_sent_when_negotiated() {
        let codec = Codec {
            add_path_ipv4: true,
            ..Codec::default()
        };
        let mut prefixes = v4_prefixes(3);
        prefixes[1].path_id = Some(42);
        let mut out = BytesMut::new();
        let a = attrs(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        UpdateBuilder::new(codec)
            .announce(&a, None, &prefixes, &mut out)
            .expect("announce");
        let u = &split(&out, &codec)[0];
        let ids: Vec<_> = u.nlri.iter().map(|p| p.path_id).collect();
        assert_eq!(ids, vec![Some(0), Some(42), Some(0)]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        #[test]
        fn any_ipv4_prefix_set_round_trips_through_the_builder(
            raw in proptest::collection::vec((proptest::prelude::any::<u32>(), 0u8..=32, proptest::option::of(proptest::prelude::any::<u32>())), 1..3000),
            add_path in proptest::prelude::any::<bool>(),
            extended in proptest::prelude::any::<bool>(),
        ) {
            let codec = Codec { add_path_ipv4: add_path, extended_message: extended, ..Codec::default() };
            let prefixes: Vec<AddPathPrefix> = raw
                .iter()
                .filter_map(|(a, l, id)| {
                    let net = ipnet::Ipv4Net::new(Ipv4Addr::from(*a), *l).ok()?.trunc();
                    Some(AddPathPrefix { path_id: if add_path { Some(id.unwrap_or(0)) } else { None }, prefix: net.into() })
                })
                .collect();
            let mut out = BytesMut::new();
            let a = attrs(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
            let n = UpdateBuilder::new(codec).announce(&a, None, &prefixes, &mut out).expect("announce");
            let updates = split(&out, &codec);
            proptest::prop_assert_eq!(updates.len(), n);
            let got: Vec<_> = updates.iter().flat_map(|u| u.nlri.iter().copied()).collect();
            proptest::prop_assert_eq!(got, prefixes);
        }
    }
}
