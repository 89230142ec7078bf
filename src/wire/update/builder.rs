//! [`UpdateBuilder`]: packs many prefixes that share one attribute set into
//! as few UPDATEs as fit the session's maximum message length (RFC 4271 §4,
//! RFC 8654). IPv4 goes in the NLRI / Withdrawn Routes fields, IPv6 in
//! MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
//!
//! Used by the session task when it turns Adj-RIB-Out diffs into bytes.

use super::{MpReach, MpUnreach};
use crate::wire::attr::{encode_attributes, PathAttributes};
use crate::wire::iana::{Afi, MessageType, Safi};
use crate::wire::nlri::{encode_prefix, AddPathPrefix};
use crate::wire::{begin_message, finish_message, Codec, EncodeError, HEADER_LEN};
use bytes::{BufMut, BytesMut};
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
        if prefixes.iter().any(|p| p.prefix.addr().is_ipv4()) {
            if !matches!(attrs.next_hop, Some(IpAddr::V4(_))) {
                return Err(EncodeError::Invalid("IPv4 NLRI need an IPv4 next hop"));
            }
            count += self.announce_v4(attrs, prefixes, out)?;
        }
        if prefixes.iter().any(|p| p.prefix.addr().is_ipv6()) {
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
        let mut attr_bytes = BytesMut::with_capacity(128);
        encode_attributes(attrs, None, None, &self.codec, &mut attr_bytes)?;
        let fixed = HEADER_LEN + 4 + attr_bytes.len();
        let mut iter = prefixes
            .iter()
            .filter(|p| p.prefix.addr().is_ipv4())
            .peekable();
        let mut count = 0;
        while iter.peek().is_some() {
            let start = begin_message(out, MessageType::Update);
            out.put_u16(0);
            out.put_u16(attr_bytes.len() as u16);
            out.extend_from_slice(&attr_bytes);
            let mut room = max.saturating_sub(fixed);
            let mut any = false;
            while let Some(p) = iter.next_if(|p| p.wire_len(ap) <= room) {
                room -= p.wire_len(ap);
                encode_prefix(p, ap, out);
                any = true;
            }
            if !any {
                out.truncate(start);
                return Err(EncodeError::TooLong(fixed + 6, max));
            }
            finish_message(out, start, max)?;
            count += 1;
        }
        Ok(count)
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
