//! UPDATE message (RFC 4271 §4.3) with MP_REACH_NLRI / MP_UNREACH_NLRI
//! (RFC 4760), and the builder that packs many prefixes sharing one
//! attribute set into as few messages as fit.

use super::attr::PathAttributes;
use super::error::AttrAction;
use super::iana::{Afi, Safi};
use super::nlri::AddPathPrefix;
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
    /// `Reset`: that is a decode error), with the attribute type code.
    pub attr_error: Option<(AttrAction, u8)>,
}
