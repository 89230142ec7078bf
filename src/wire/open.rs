//! OPEN message (RFC 4271 §4.2), optional parameters with the extended
//! length of RFC 9072, and capabilities (RFC 5492 and the RFC per variant).

use super::iana::{Afi, Safi};
use bytes::Bytes;
use std::net::Ipv4Addr;

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Always 4.
    pub version: u8,
    /// The 2-octet My Autonomous System field (AS_TRANS 23456 for a 4-octet AS).
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    /// Capabilities from every Capabilities optional parameter, in order.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The speaker's real ASN: the 4-octet AS capability if present (RFC 6793), else `my_as`.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(self.my_as as u32)
    }
}

/// ADD-PATH send/receive mode (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathMode {
    Receive = 1,
    Send = 2,
    Both = 3,
}

/// Graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Restart State (R) bit.
    pub restart_state: bool,
    /// Graceful Notification (N) bit (RFC 8538).
    pub notification: bool,
    /// Restart Time in seconds (12 bits).
    pub restart_time: u16,
    /// Per family: (AFI, SAFI, Forwarding State bit).
    pub families: Vec<(Afi, Safi, bool)>,
}

/// BGP role (RFC 9234 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BgpRole {
    Provider = 0,
    RouteServer = 1,
    RouteServerClient = 2,
    Customer = 3,
    Peer = 4,
}

/// A capability (RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760.
    Multiprotocol { afi: Afi, safi: Safi },
    /// Code 2, RFC 2918.
    RouteRefresh,
    /// Code 6, RFC 8654.
    ExtendedMessage,
    /// Code 9, RFC 9234. Unknown role values are kept raw in `Unknown`.
    Role(BgpRole),
    /// Code 64, RFC 4724.
    GracefulRestart(GracefulRestart),
    /// Code 65, RFC 6793.
    FourOctetAs(u32),
    /// Code 69, RFC 7911.
    AddPath(Vec<(Afi, Safi, AddPathMode)>),
    /// Code 70, RFC 7313.
    EnhancedRouteRefresh,
    /// Any other capability, kept as raw bytes.
    Unknown { code: u8, data: Bytes },
}
