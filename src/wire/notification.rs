//! NOTIFICATION message (RFC 4271 §4.5, §6) and its codes, including the
//! Cease subcodes (RFC 4486, RFC 9384) and shutdown communication (RFC 9003).
//!
//! Pure data and byte conversion; the session task builds these to close a
//! session and logs the ones it receives through the `Display` impl.

use super::iana::{Afi, Safi};
use super::iana::{CeaseSubcode, ErrorCode};
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// Longest shutdown communication in octets (RFC 9003 §2).
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION: error code, subcode and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Bytes,
}

impl Notification {
    /// A NOTIFICATION with the given code, subcode and data.
    pub fn new(code: u8, subcode: u8, data: impl Into<Bytes>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// A Cease NOTIFICATION (RFC 4486) with raw data.
    pub fn cease(subcode: CeaseSubcode, data: impl Into<Bytes>) -> Self {
        Notification::new(ErrorCode::Cease as u8, subcode as u8, data)
    }

    /// Cease/Administrative Shutdown with an RFC 9003 shutdown communication
    /// (truncated on a character boundary to 255 octets; empty → no data).
    pub fn admin_shutdown(message: &str) -> Self {
        Notification::cease(CeaseSubcode::AdministrativeShutdown, shutdown_data(message))
    }

    /// Cease/Administrative Reset with an RFC 9003 shutdown communication.
    pub fn admin_reset(message: &str) -> Self {
        Notification::cease(CeaseSubcode::AdministrativeReset, shutdown_data(message))
    }

    /// Cease/Maximum Number of Prefixes Reached with the RFC 4486 §4 data:
    /// AFI (2 octets), SAFI (1), the configured limit (4).
    pub fn max_prefixes(afi: Afi, safi: Safi, limit: u32) -> Self {
        let mut d = BytesMut::with_capacity(7);
        d.put_u16(afi.0);
        d.put_u8(safi.0);
        d.put_u32(limit);
        Notification::cease(CeaseSubcode::MaxPrefixesReached, d.freeze())
    }

    /// Cease/BFD Down (RFC 9384 §3).
    pub fn bfd_down() -> Self {
        Notification::cease(CeaseSubcode::BfdDown, Bytes::new())
    }

    /// Hold Timer Expired (RFC 4271 §6.5).
    pub fn hold_timer_expired() -> Self {
        Notification::new(ErrorCode::HoldTimerExpired as u8, 0, Bytes::new())
    }

    /// Send Hold Timer Expired (RFC 9687 §3): the peer stopped reading.
    pub fn send_hold_timer_expired() -> Self {
        Notification::new(ErrorCode::SendHoldTimerExpired as u8, 0, Bytes::new())
    }

    /// Finite State Machine Error (RFC 6608) with the given subcode.
    pub fn fsm_error(subcode: super::iana::FsmSubcode) -> Self {
        Notification::new(ErrorCode::Fsm as u8, subcode as u8, Bytes::new())
    }

    /// The shutdown communication of a Cease/Administrative Shutdown or
    /// Reset (RFC 9003 §2); `None` when absent, truncated or not UTF-8.
    pub fn shutdown_communication(&self) -> Option<String> {
        if self.code != ErrorCode::Cease as u8
            || (self.subcode != CeaseSubcode::AdministrativeShutdown as u8
                && self.subcode != CeaseSubcode::AdministrativeReset as u8)
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..len as usize)?;
        std::str::from_utf8(text).ok().map(str::to_owned)
    }

    /// The Max Prefixes data (AFI, SAFI, limit) of a Cease/Maximum Number of
    /// Prefixes Reached (RFC 4486 §4).
    pub fn max_prefixes_data(&self) -> Option<(Afi, Safi, u32)> {
        if self.code != ErrorCode::Cease as u8
            || self.subcode != CeaseSubcode::MaxPrefixesReached as u8
            || self.data.len() < 7
        {
            return None;
        }
        let d = &self.data;
        Some((
            Afi(u16::from_be_bytes([d[0], d[1]])),
            Safi(d[2]),
            u32::from_be_bytes([d[3], d[4], d[5], d[6]]),
        ))
    }

    /// The error code's name (`Cease`), or `Error N` for an unknown code.
    pub fn code_name(&self) -> String {
        match ErrorCode::from_u8(self.code) {
            Some(c) => c.name().to_string(),
            None => format!("Error {}", self.code),
        }
    }

    /// The subcode's name (`Administrative Shutdown`), when it has one.
    pub fn subcode_name(&self) -> Option<&'static str> {
        subcode_name(self.code, self.subcode)
    }

    /// Decodes the NOTIFICATION body (after the 19-octet header).
    pub(crate) fn decode_body(body: &[u8]) -> Option<Notification> {
        match body {
            [code, subcode, data @ ..] => Some(Notification::new(
                *code,
                *subcode,
                Bytes::copy_from_slice(data),
            )),
            _ => None,
        }
    }

    /// Appends the NOTIFICATION body.
    pub(crate) fn encode_body(&self, out: &mut BytesMut) {
        out.put_u8(self.code);
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }
}

fn shutdown_data(message: &str) -> Bytes {
    if message.is_empty() {
        return Bytes::new();
    }
    let mut end = message.len().min(MAX_SHUTDOWN_COMMUNICATION);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let mut d = BytesMut::with_capacity(end + 1);
    d.put_u8(end as u8);
    d.put_slice(&message.as_bytes()[..end]);
    d.freeze()
}

fn subcode_name(code: u8, subcode: u8) -> Option<&'static str> {
    Some(match (code, subcode) {
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 0) => "Unspecific",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (2, 11) => "Role Mismatch",
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
        (5, 0) => "Unspecified Error",
        (5, 1) => "Receive Unexpected Message in OpenSent State",
        (5, 2) => "Receive Unexpected Message in OpenConfirm State",
        (5, 3) => "Receive Unexpected Message in Established State",
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
        (7, 1) => "Invalid Message Length",
        _ => return None,
    })
}

impl fmt::Display for Notification {
    /// `Cease/Administrative Shutdown: "maintenance"`; unknown codes print as numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match ErrorCode::from_u8(self.code) {
            Some(c) => f.write_str(c.name())?,
            None => write!(f, "Error {}", self.code)?,
        }
        match subcode_name(self.code, self.subcode) {
            Some(s) => write!(f, "/{s}")?,
            None if self.subcode != 0 => write!(f, "/{}", self.subcode)?,
            None => {}
        }
        if let Some(text) = self.shutdown_communication() {
            return write!(f, ": {text:?}");
        }
        if let Some((afi, safi, limit)) = self.max_prefixes_data() {
            return write!(f, ": AFI {} SAFI {} limit {limit}", afi.0, safi.0);
        }
        if !self.data.is_empty() {
            f.write_str(" (data ")?;
            for b in self.data.iter() {
                write!(f, "{b:02x}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}
