//! Decode errors. Each error maps to exactly one outcome: a NOTIFICATION
//! (code, subcode, data per RFC 4271 §6 as revised by RFC 7606) or an RFC 7606
//! action recorded in `Update::attr_error`.
//!
//! Pure data; used by the session task through [`DecodeError::notification`].

use super::iana::{ErrorCode, HeaderSubcode, OpenSubcode, RouteRefreshSubcode, UpdateSubcode};
use super::notification::Notification;
use bytes::Bytes;

/// The RFC 7606 §2 action taken for a malformed path attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrAction {
    /// RFC 7606 §2 "attribute discard".
    Discard,
    /// RFC 7606 §2 "treat-as-withdraw".
    TreatAsWithdraw,
    /// RFC 7606 §2 "session reset": send the NOTIFICATION.
    Reset,
}

impl AttrAction {
    /// Severity order: Discard < TreatAsWithdraw < Reset.
    pub fn severity(self) -> u8 {
        match self {
            AttrAction::Discard => 0,
            AttrAction::TreatAsWithdraw => 1,
            AttrAction::Reset => 2,
        }
    }
}

/// A message that could not be decoded; [`DecodeError::notification`] says
/// what to send the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not enough bytes yet: framing waits for more (never sent to a peer).
    #[error("incomplete message")]
    Incomplete,
    /// Marker not all ones (RFC 4271 §6.1: Connection Not Synchronized).
    #[error("message header marker is not all ones")]
    BadMarker,
    /// Length field out of range for the message type (RFC 4271 §6.1: Bad Message Length).
    #[error("bad message length {0}")]
    BadLength(u16),
    /// Unknown message type (RFC 4271 §6.1: Bad Message Type).
    #[error("bad message type {0}")]
    BadType(u8),
    /// OPEN Message Error (RFC 4271 §6.2) with its subcode and data.
    #[error("OPEN message error {0:?}")]
    Open(OpenSubcode, Bytes),
    /// UPDATE Message Error requiring a session reset (RFC 4271 §6.3, RFC 7606 §2).
    #[error("UPDATE message error {0:?}")]
    Update(UpdateSubcode, Bytes),
    /// ROUTE-REFRESH of the wrong length with subtype BoRR/EoRR (RFC 7313 §5);
    /// carries the complete message.
    #[error("ROUTE-REFRESH message of invalid length")]
    RouteRefreshLength(Bytes),
    /// A NOTIFICATION that could not be read (RFC 4271 §6.4: none is sent back).
    #[error("malformed NOTIFICATION message")]
    BadNotification,
    /// Fallback carrying a ready NOTIFICATION.
    #[error("{0}")]
    Notify(Notification),
}

impl DecodeError {
    /// The NOTIFICATION this error requires, or `None` for
    /// [`DecodeError::Incomplete`] and [`DecodeError::BadNotification`]
    /// (RFC 4271 §6.4: errors in a NOTIFICATION are not answered with another).
    pub fn notification(&self) -> Option<Notification> {
        let (code, subcode, data) = match self {
            DecodeError::Incomplete | DecodeError::BadNotification => return None,
            DecodeError::BadMarker => (
                ErrorCode::MessageHeader,
                HeaderSubcode::ConnectionNotSynchronized as u8,
                Bytes::new(),
            ),
            DecodeError::BadLength(len) => (
                ErrorCode::MessageHeader,
                HeaderSubcode::BadMessageLength as u8,
                Bytes::copy_from_slice(&len.to_be_bytes()),
            ),
            DecodeError::BadType(t) => (
                ErrorCode::MessageHeader,
                HeaderSubcode::BadMessageType as u8,
                Bytes::copy_from_slice(&[*t]),
            ),
            DecodeError::Open(s, d) => (ErrorCode::Open, *s as u8, d.clone()),
            DecodeError::Update(s, d) => (ErrorCode::Update, *s as u8, d.clone()),
            DecodeError::RouteRefreshLength(d) => (
                ErrorCode::RouteRefresh,
                RouteRefreshSubcode::InvalidMessageLength as u8,
                d.clone(),
            ),
            DecodeError::Notify(n) => return Some(n.clone()),
        };
        Some(Notification::new(code as u8, subcode, data))
    }

    /// An UPDATE error without data.
    pub(crate) fn update(subcode: UpdateSubcode) -> DecodeError {
        DecodeError::Update(subcode, Bytes::new())
    }

    /// An OPEN error without data.
    pub(crate) fn open(subcode: OpenSubcode) -> DecodeError {
        DecodeError::Open(subcode, Bytes::new())
    }
}
