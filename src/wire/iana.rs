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

impl MessageType {
    /// The type for a wire code, `None` for an unknown type (RFC 4271 §6.1 Bad Message Type).
    pub fn from_u8(v: u8) -> Option<MessageType> {
        Some(match v {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            _ => return None,
        })
    }

    /// The smallest valid total length (header included) for this type (RFC 4271 §4, RFC 2918 §3).
    pub fn min_len(self) -> usize {
        match self {
            MessageType::Open => 29,
            MessageType::Update => 23,
            MessageType::Notification => 21,
            MessageType::Keepalive => 19,
            MessageType::RouteRefresh => 23,
        }
    }
}

/// The BGP version this codec speaks (RFC 4271 §4.2).
pub const BGP_VERSION: u8 = 4;
/// AS_TRANS, the 2-octet stand-in for a 4-octet ASN (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorCode {
    /// RFC 4271 §6.1
    MessageHeader = 1,
    /// RFC 4271 §6.2
    Open = 2,
    /// RFC 4271 §6.3
    Update = 3,
    /// RFC 4271 §6.5
    HoldTimerExpired = 4,
    /// RFC 4271 §6.6, RFC 6608
    Fsm = 5,
    /// RFC 4271 §6.7, RFC 4486
    Cease = 6,
    /// RFC 7313 §5
    RouteRefresh = 7,
    /// RFC 9687 §3
    SendHoldTimerExpired = 8,
}

impl ErrorCode {
    /// The code for a wire value, `None` when unknown.
    pub fn from_u8(v: u8) -> Option<ErrorCode> {
        Some(match v {
            1 => ErrorCode::MessageHeader,
            2 => ErrorCode::Open,
            3 => ErrorCode::Update,
            4 => ErrorCode::HoldTimerExpired,
            5 => ErrorCode::Fsm,
            6 => ErrorCode::Cease,
            7 => ErrorCode::RouteRefresh,
            8 => ErrorCode::SendHoldTimerExpired,
            _ => return None,
        })
    }

    /// The name used in logs (IANA "BGP Error (Notification) Codes").
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::MessageHeader => "Message Header Error",
            ErrorCode::Open => "OPEN Message Error",
            ErrorCode::Update => "UPDATE Message Error",
            ErrorCode::HoldTimerExpired => "Hold Timer Expired",
            ErrorCode::Fsm => "Finite State Machine Error",
            ErrorCode::Cease => "Cease",
            ErrorCode::RouteRefresh => "ROUTE-REFRESH Message Error",
            ErrorCode::SendHoldTimerExpired => "Send Hold Timer Expired",
        }
    }
}

/// Message Header Error subcodes (RFC 4271 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum HeaderSubcode {
    /// Marker not all ones.
    ConnectionNotSynchronized = 1,
    /// Data: the erroneous Length field.
    BadMessageLength = 2,
    /// Data: the erroneous Type field.
    BadMessageType = 3,
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5, RFC 9234 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpenSubcode {
    /// Malformed optional parameter or capability (RFC 4271 §6.2).
    Unspecific = 0,
    /// Data: the largest supported version, 2 octets.
    UnsupportedVersionNumber = 1,
    BadPeerAs = 2,
    BadBgpIdentifier = 3,
    UnsupportedOptionalParameter = 4,
    UnacceptableHoldTime = 6,
    /// RFC 5492 §5; data: the unsupported capabilities.
    UnsupportedCapability = 7,
    /// RFC 9234 §4.2.
    RoleMismatch = 11,
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum UpdateSubcode {
    MalformedAttributeList = 1,
    UnrecognizedWellKnownAttribute = 2,
    MissingWellKnownAttribute = 3,
    AttributeFlagsError = 4,
    AttributeLengthError = 5,
    InvalidOriginAttribute = 6,
    InvalidNextHopAttribute = 8,
    OptionalAttributeError = 9,
    InvalidNetworkField = 10,
    MalformedAsPath = 11,
}

/// Finite State Machine Error subcodes (RFC 6608 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FsmSubcode {
    Unspecified = 0,
    UnexpectedInOpenSent = 1,
    UnexpectedInOpenConfirm = 2,
    UnexpectedInEstablished = 3,
}

/// Cease subcodes (RFC 4486 §4, RFC 9384 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CeaseSubcode {
    /// Data: AFI (2), SAFI (1), limit (4) (RFC 4486 §4).
    MaxPrefixesReached = 1,
    /// Data: shutdown communication (RFC 9003).
    AdministrativeShutdown = 2,
    PeerDeconfigured = 3,
    /// Data: shutdown communication (RFC 9003).
    AdministrativeReset = 4,
    ConnectionRejected = 5,
    OtherConfigurationChange = 6,
    ConnectionCollisionResolution = 7,
    OutOfResources = 8,
    /// RFC 8538 §3.
    HardReset = 9,
    /// RFC 9384 §3.
    BfdDown = 10,
}

impl CeaseSubcode {
    /// The subcode for a wire value, `None` when unknown.
    pub fn from_u8(v: u8) -> Option<CeaseSubcode> {
        Some(match v {
            1 => CeaseSubcode::MaxPrefixesReached,
            2 => CeaseSubcode::AdministrativeShutdown,
            3 => CeaseSubcode::PeerDeconfigured,
            4 => CeaseSubcode::AdministrativeReset,
            5 => CeaseSubcode::ConnectionRejected,
            6 => CeaseSubcode::OtherConfigurationChange,
            7 => CeaseSubcode::ConnectionCollisionResolution,
            8 => CeaseSubcode::OutOfResources,
            9 => CeaseSubcode::HardReset,
            10 => CeaseSubcode::BfdDown,
            _ => return None,
        })
    }
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RouteRefreshSubcode {
    /// Data: the complete ROUTE-REFRESH message.
    InvalidMessageLength = 1,
}

/// ROUTE-REFRESH message subtypes (RFC 7313 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RouteRefreshSubtype {
    /// A normal route refresh request (RFC 2918).
    Normal = 0,
    /// Beginning of Route Refresh.
    BoRR = 1,
    /// End of Route Refresh.
    EoRR = 2,
}

/// OPEN optional parameter types (RFC 5492 §4, RFC 9072 §2).
pub mod opt_param {
    /// Capabilities (RFC 5492).
    pub const CAPABILITIES: u8 = 2;
    /// Non-Ext OP Type marking the extended optional parameters format (RFC 9072 §2).
    pub const EXTENDED_LENGTH: u8 = 255;
}

/// Capability codes (IANA "Capability Codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CapabilityCode {
    /// RFC 4760
    Multiprotocol = 1,
    /// RFC 2918
    RouteRefresh = 2,
    /// RFC 8654
    ExtendedMessage = 6,
    /// RFC 9234
    Role = 9,
    /// RFC 4724
    GracefulRestart = 64,
    /// RFC 6793
    FourOctetAs = 65,
    /// RFC 7911
    AddPath = 69,
    /// RFC 7313
    EnhancedRouteRefresh = 70,
}

/// Path attribute flag bits (RFC 4271 §4.3).
pub mod attr_flags {
    /// Optional (1) or well-known (0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Attribute Length is two octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;
    /// Well-known attributes (always transitive).
    pub const WELL_KNOWN: u8 = TRANSITIVE;
    /// Optional non-transitive attributes.
    pub const OPT_NON_TRANS: u8 = OPTIONAL;
    /// Optional transitive attributes.
    pub const OPT_TRANS: u8 = OPTIONAL | TRANSITIVE;
}

/// Path attribute type codes (IANA "BGP Path Attributes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum AttrType {
    /// RFC 4271 §5.1.1
    Origin = 1,
    /// RFC 4271 §5.1.2
    AsPath = 2,
    /// RFC 4271 §5.1.3
    NextHop = 3,
    /// RFC 4271 §5.1.4
    Med = 4,
    /// RFC 4271 §5.1.5
    LocalPref = 5,
    /// RFC 4271 §5.1.6
    AtomicAggregate = 6,
    /// RFC 4271 §5.1.7
    Aggregator = 7,
    /// RFC 1997
    Communities = 8,
    /// RFC 4456
    OriginatorId = 9,
    /// RFC 4456
    ClusterList = 10,
    /// RFC 4760
    MpReachNlri = 14,
    /// RFC 4760
    MpUnreachNlri = 15,
    /// RFC 4360
    ExtendedCommunities = 16,
    /// RFC 6793
    As4Path = 17,
    /// RFC 6793
    As4Aggregator = 18,
    /// RFC 8092
    LargeCommunity = 32,
    /// RFC 9234
    OnlyToCustomer = 35,
}

impl AttrType {
    /// The type for a wire code, `None` for attributes this codec does not know.
    pub fn from_u8(v: u8) -> Option<AttrType> {
        Some(match v {
            1 => AttrType::Origin,
            2 => AttrType::AsPath,
            3 => AttrType::NextHop,
            4 => AttrType::Med,
            5 => AttrType::LocalPref,
            6 => AttrType::AtomicAggregate,
            7 => AttrType::Aggregator,
            8 => AttrType::Communities,
            9 => AttrType::OriginatorId,
            10 => AttrType::ClusterList,
            14 => AttrType::MpReachNlri,
            15 => AttrType::MpUnreachNlri,
            16 => AttrType::ExtendedCommunities,
            17 => AttrType::As4Path,
            18 => AttrType::As4Aggregator,
            32 => AttrType::LargeCommunity,
            35 => AttrType::OnlyToCustomer,
            _ => return None,
        })
    }

    /// The Optional and Transitive flag bits this attribute must carry.
    pub fn flags(self) -> u8 {
        use attr_flags::*;
        match self {
            AttrType::Origin
            | AttrType::AsPath
            | AttrType::NextHop
            | AttrType::LocalPref
            | AttrType::AtomicAggregate => WELL_KNOWN,
            AttrType::Med
            | AttrType::OriginatorId
            | AttrType::ClusterList
            | AttrType::MpReachNlri
            | AttrType::MpUnreachNlri => OPT_NON_TRANS,
            AttrType::Aggregator
            | AttrType::Communities
            | AttrType::ExtendedCommunities
            | AttrType::As4Path
            | AttrType::As4Aggregator
            | AttrType::LargeCommunity
            | AttrType::OnlyToCustomer => OPT_TRANS,
        }
    }
}

/// RFC 6996 §5: private-use ASNs, 16-bit and 32-bit ranges.
pub fn is_private_asn(asn: u32) -> bool {
    (64512..=65534).contains(&asn) || (4_200_000_000..=4_294_967_294).contains(&asn)
}

/// Reserved ASNs: 0 (RFC 7607), 23456 AS_TRANS (RFC 6793), 65535 (RFC 7300),
/// 4294967295 (RFC 7300) and the documentation ranges of RFC 5398
/// (64496–64511 and 65536–65551).
pub fn is_reserved_asn(asn: u32) -> bool {
    matches!(asn, 0 | 23456 | 65535 | 4_294_967_295)
        || (64496..=64511).contains(&asn)
        || (65536..=65551).contains(&asn)
}
