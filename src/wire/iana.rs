//! IANA code points used on the wire, each with the RFC that defines it.
//!
//! Pure constants; no state. Message types, AFI/SAFI, capability codes,
//! path attribute type codes, NOTIFICATION codes and subcodes, well-known
//! communities.

use serde::Serialize;

/// Address Family Identifier (RFC 4760 §3; IANA "Address Family Numbers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Afi(pub u16);

impl Afi {
    /// IPv4 (RFC 4760).
    pub const IPV4: Afi = Afi(1);
    /// IPv6 (RFC 4760, RFC 2545).
    pub const IPV6: Afi = Afi(2);
}

/// Subsequent Address Family Identifier (RFC 4760 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Safi(pub u8);

impl Safi {
    /// Unicast forwarding (RFC 4760).
    pub const UNICAST: Safi = Safi(1);
    /// Multicast forwarding (RFC 4760).
    pub const MULTICAST: Safi = Safi(2);
}

/// BGP message type codes (RFC 4271 §4.1, RFC 2918 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    /// RFC 4271 §4.2
    Open = 1,
    /// RFC 4271 §4.3
    Update = 2,
    /// RFC 4271 §4.5
    Notification = 3,
    /// RFC 4271 §4.4
    Keepalive = 4,
    /// RFC 2918 §3
    RouteRefresh = 5,
}
