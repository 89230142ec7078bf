//! NOTIFICATION error codes and subcodes the session layer sends and
//! interprets (RFC 4271 §4.5 and §6, RFC 4486, RFC 6608, RFC 9003, RFC 9384),
//! plus helpers that build the exact NOTIFICATION for each fault.
//!
//! Pure constants and constructors; used by the FSM (`fsm`) and the peer task.

use crate::wire::Notification;
use bytes::Bytes;

/// NOTIFICATION error codes (RFC 4271 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// RFC 4271 §6.1
    MessageHeader = 1,
    /// RFC 4271 §6.2
    OpenMessage = 2,
    /// RFC 4271 §6.3
    UpdateMessage = 3,
    /// RFC 4271 §6.5
    HoldTimerExpired = 4,
    /// RFC 4271 §6.6, subcodes RFC 6608
    FiniteStateMachine = 5,
    /// RFC 4271 §6.7, subcodes RFC 4486
    Cease = 6,
    /// RFC 7313 §5
    RouteRefresh = 7,
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OpenSubcode {
    /// Data: the largest locally supported version, 2 octets (RFC 4271 §6.2).
    UnsupportedVersion = 1,
    BadPeerAs = 2,
    BadBgpIdentifier = 3,
    UnsupportedOptionalParameter = 4,
    UnacceptableHoldTime = 6,
    /// RFC 5492 §5
    UnsupportedCapability = 7,
}

/// Finite State Machine Error subcodes (RFC 6608 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FsmSubcode {
    Unspecified = 0,
    UnexpectedInOpenSent = 1,
    UnexpectedInOpenConfirm = 2,
    UnexpectedInEstablished = 3,
}

/// Cease subcodes (RFC 4486 §4, RFC 8538 §3, RFC 9384 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CeaseSubcode {
    MaxPrefixesReached = 1,
    /// Data: RFC 9003 shutdown communication.
    AdministrativeShutdown = 2,
    PeerDeconfigured = 3,
    AdministrativeReset = 4,
    ConnectionRejected = 5,
    OtherConfigurationChange = 6,
    ConnectionCollisionResolution = 7,
    OutOfResources = 8,
    /// RFC 8538 §3
    HardReset = 9,
    /// RFC 9384 §2
    BfdDown = 10,
}

/// The BGP version we speak (RFC 4271 §4.2).
pub const BGP_VERSION: u8 = 4;

/// Longest shutdown communication in octets (RFC 9003 §2).
pub const SHUTDOWN_COMMUNICATION_MAX: usize = 255;

/// OPEN Message Error with no data.
pub fn open_error(sub: OpenSubcode) -> Notification {
    Notification::new(ErrorCode::OpenMessage as u8, sub as u8, Bytes::new())
}

/// OPEN Message Error / Unsupported Version Number carrying our version (RFC 4271 §6.2).
pub fn unsupported_version() -> Notification {
    Notification::new(
        ErrorCode::OpenMessage as u8,
        OpenSubcode::UnsupportedVersion as u8,
        Bytes::copy_from_slice(&u16::from(BGP_VERSION).to_be_bytes()),
    )
}

/// Hold Timer Expired (RFC 4271 §6.5).
pub fn hold_timer_expired() -> Notification {
    Notification::new(ErrorCode::HoldTimerExpired as u8, 0, Bytes::new())
}

/// Finite State Machine Error with the RFC 6608 subcode.
pub fn fsm_error(sub: FsmSubcode) -> Notification {
    Notification::new(ErrorCode::FiniteStateMachine as u8, sub as u8, Bytes::new())
}

/// Cease with a subcode and no data.
pub fn cease(sub: CeaseSubcode) -> Notification {
    Notification::new(ErrorCode::Cease as u8, sub as u8, Bytes::new())
}

/// Cease / Administrative Shutdown with an RFC 9003 shutdown communication:
/// one length octet and up to 255 octets of UTF-8, cut on a char boundary.
pub fn administrative_shutdown(text: &str) -> Notification {
    let mut end = text.len().min(SHUTDOWN_COMMUNICATION_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let msg = &text.as_bytes()[..end];
    let mut data = Vec::with_capacity(1 + msg.len());
    if !msg.is_empty() {
        // A zero-length communication is sent as no data at all.
        data.push(msg.len() as u8);
        data.extend_from_slice(msg);
    }
    Notification::new(
        ErrorCode::Cease as u8,
        CeaseSubcode::AdministrativeShutdown as u8,
        data,
    )
}

/// A human description such as `Cease/Administrative Shutdown ("maintenance")`.
pub fn describe(n: &Notification) -> String {
    let code = match n.code {
        1 => "Message Header Error",
        2 => "OPEN Message Error",
        3 => "UPDATE Message Error",
        4 => "Hold Timer Expired",
        5 => "Finite State Machine Error",
        6 => "Cease",
        7 => "ROUTE-REFRESH Message Error",
        _ => "Unknown",
    };
    let sub = match (n.code, n.subcode) {
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 1) => "Unexpected Message in OpenSent",
        (5, 2) => "Unexpected Message in OpenConfirm",
        (5, 3) => "Unexpected Message in Established",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (_, 0) => "",
        _ => "Unknown",
    };
    let mut s = if sub.is_empty() {
        code.to_string()
    } else {
        format!("{code}/{sub}")
    };
    if n.code == ErrorCode::Cease as u8
        && (n.subcode == CeaseSubcode::AdministrativeShutdown as u8
            || n.subcode == CeaseSubcode::AdministrativeReset as u8)
    {
        if let Some((&len, rest)) = n.data.split_first() {
            let len = usize::from(len).min(rest.len());
            let text = String::from_utf8_lossy(&rest[..len]);
            s.push_str(&format!(" ({text:?})"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication_is_length_prefixed_utf8() {
        let n = administrative_shutdown("maintenance");
        assert_eq!((n.code, n.subcode), (6, 2));
        assert_eq!(n.data[0] as usize, "maintenance".len());
        assert_eq!(&n.data[1..], b"maintenance");
        assert_eq!(
            describe(&n),
            "Cease/Administrative Shutdown (\"maintenance\")"
        );
    }

    #[test]
    fn shutdown_communication_is_cut_at_255_octets_on_a_char_boundary() {
        let text = "é".repeat(200); // 400 octets
        let n = administrative_shutdown(&text);
        assert_eq!(n.data[0], 254);
        assert!(std::str::from_utf8(&n.data[1..]).is_ok());
    }

    #[test]
    fn unsupported_version_carries_version_four() {
        let n = unsupported_version();
        assert_eq!((n.code, n.subcode, &n.data[..]), (2, 1, &[0u8, 4][..]));
    }
}
