//! UPDATE message (RFC 4271 §4.3) with MP_REACH_NLRI / MP_UNREACH_NLRI
//! (RFC 4760), and the builder that packs many prefixes sharing one
//! attribute set into as few messages as fit.
//!
//! Pure byte conversion, called by the session task (decode of received
//! UPDATEs, encode of Adj-RIB-Out diffs through [`UpdateBuilder`]).

mod builder;

pub use builder::UpdateBuilder;

use super::attr::{decode_attributes, encode_attributes, PathAttributes};
use super::error::{AttrAction, AttrError, DecodeError};
use super::iana::{Afi, AttrType, Safi, UpdateSubcode};
use super::nlri::{decode_prefixes, encode_prefix, AddPathPrefix, Family};
use super::{Codec, EncodeError};
use bytes::{BufMut, BytesMut};
use std::net::IpAddr;

/// MP_REACH_NLRI (RFC 4760 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    pub afi: Afi,
    pub safi: Safi,
    /// Global next hop and, for IPv6, the optional link-local (RFC 2545 §3).
    pub next_hop: IpAddr,
    pub link_local_next_hop: Option<IpAddr>,
    pub nlri: Vec<AddPathPrefix>,
}

/// MP_UNREACH_NLRI (RFC 4760 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    pub afi: Afi,
    pub safi: Safi,
    pub withdrawn: Vec<AddPathPrefix>,
}

/// An UPDATE message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// IPv4 Withdrawn Routes field.
    pub withdrawn: Vec<AddPathPrefix>,
    pub attrs: PathAttributes,
    pub mp_reach: Option<MpReach>,
    pub mp_unreach: Option<MpUnreach>,
    /// IPv4 NLRI field.
    pub nlri: Vec<AddPathPrefix>,
    /// The most severe RFC 7606 action applied while decoding (never
    /// `Reset`: that is a decode error), with the attribute type code and
    /// its cause (RFC 7607 AS 0 apart).
    pub attr_error: Option<AttrError>,
}

impl Update {
    /// The End-of-RIB marker for a family (RFC 4724 §2): an empty UPDATE for
    /// IPv4 unicast, an UPDATE with an empty MP_UNREACH_NLRI otherwise.
    pub fn end_of_rib(afi: Afi, safi: Safi) -> Update {
        if afi == Afi::IPV4 && safi == Safi::UNICAST {
            return Update::default();
        }
        Update {
            mp_unreach: Some(MpUnreach {
                afi,
                safi,
                withdrawn: Vec::new(),
            }),
            ..Update::default()
        }
    }

    /// The family this UPDATE marks End-of-RIB for (RFC 4724 §2), if it is one.
    pub fn end_of_rib_family(&self) -> Option<(Afi, Safi)> {
        if !self.withdrawn.is_empty()
            || !self.nlri.is_empty()
            || self.mp_reach.is_some()
            || self.attrs != PathAttributes::default()
            || self.attr_error.is_some()
        {
            return None;
        }
        match &self.mp_unreach {
            None => Some((Afi::IPV4, Safi::UNICAST)),
            Some(u) if u.withdrawn.is_empty() => Some((u.afi, u.safi)),
            Some(_) => None,
        }
    }

    /// True for an End-of-RIB marker of any family.
    pub fn is_end_of_rib(&self) -> bool {
        self.end_of_rib_family().is_some()
    }

    /// Decodes an UPDATE body (after the 19-octet header), RFC 4271 §4.3 with
    /// RFC 7606 error handling.
    pub fn decode_body(body: &[u8], codec: &Codec) -> Result<Update, DecodeError> {
        let malformed = || DecodeError::update(UpdateSubcode::MalformedAttributeList);
        let [w0, w1, rest @ ..] = body else {
            return Err(malformed());
        };
        let wlen = u16::from_be_bytes([*w0, *w1]) as usize;
        // RFC 7606 §4: lengths that overrun the message are a session reset.
        let withdrawn_field = rest.get(..wlen).ok_or_else(malformed)?;
        let rest = &rest[wlen..];
        let [t0, t1, rest @ ..] = rest else {
            return Err(malformed());
        };
        let tal = u16::from_be_bytes([*t0, *t1]) as usize;
        let attr_field = rest.get(..tal).ok_or_else(malformed)?;
        let nlri_field = &rest[tal..];

        let invalid_network = || DecodeError::update(UpdateSubcode::InvalidNetworkField);
        let mut withdrawn = Vec::new();
        decode_prefixes(
            withdrawn_field,
            Family::Ipv4,
            codec.add_path_ipv4,
            &mut withdrawn,
        )
        .map_err(|_| invalid_network())?;
        let decoded = decode_attributes(attr_field, codec)?;
        let mut nlri = Vec::new();
        decode_prefixes(nlri_field, Family::Ipv4, codec.add_path_ipv4, &mut nlri)
            .map_err(|_| invalid_network())?;

        let mut update = Update {
            withdrawn,
            attrs: decoded.attrs,
            mp_reach: decoded.mp_reach,
            mp_unreach: decoded.mp_unreach,
            nlri,
            attr_error: decoded.action,
        };
        // RFC 7606 §3 d: missing well-known mandatory attributes → treat-as-withdraw.
        let reach = !update.nlri.is_empty() || update.mp_reach.is_some();
        let missing = if !reach {
            None
        } else if update.attrs.origin.is_none() {
            Some(AttrType::Origin)
        } else if update.attrs.as_path.is_none() {
            Some(AttrType::AsPath)
        } else if !update.nlri.is_empty() && update.attrs.next_hop.is_none() {
            Some(AttrType::NextHop)
        } else {
            None
        };
        if let Some(t) = missing {
            if !update.attr_error.is_some_and(|e| e.withdraws()) {
                update.attr_error =
                    Some(AttrError::malformed(AttrAction::TreatAsWithdraw, t as u8));
            }
        }
        Ok(update)
    }

    /// Appends the UPDATE body. IPv4 prefixes only in `withdrawn`/`nlri`;
    /// IPv4 NLRI need an IPv4 (or absent) `attrs.next_hop`.
    pub(crate) fn encode_body(&self, codec: &Codec, out: &mut BytesMut) -> Result<(), EncodeError> {
        if self
            .withdrawn
            .iter()
            .chain(&self.nlri)
            .any(|p| !p.prefix.addr().is_ipv4())
        {
            return Err(EncodeError::Invalid(
                "IPv6 prefix outside MP_REACH/MP_UNREACH",
            ));
        }
        if !self.nlri.is_empty() && matches!(self.attrs.next_hop, Some(IpAddr::V6(_))) {
            return Err(EncodeError::Invalid("IPv4 NLRI with an IPv6 NEXT_HOP"));
        }
        let at = out.len();
        out.put_u16(0);
        for p in &self.withdrawn {
            encode_prefix(p, codec.add_path_ipv4, out);
        }
        let wlen = out.len() - at - 2;
        out[at..at + 2].copy_from_slice(&len16(wlen)?.to_be_bytes());
        let at = out.len();
        out.put_u16(0);
        encode_attributes(
            &self.attrs,
            self.mp_reach.as_ref(),
            self.mp_unreach.as_ref(),
            codec,
            out,
        )?;
        let tal = out.len() - at - 2;
        out[at..at + 2].copy_from_slice(&len16(tal)?.to_be_bytes());
        for p in &self.nlri {
            encode_prefix(p, codec.add_path_ipv4, out);
        }
        Ok(())
    }
}

fn len16(n: usize) -> Result<u16, EncodeError> {
    u16::try_from(n).map_err(|_| EncodeError::TooLong(n, u16::MAX as usize))
}
