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

/// Why RFC 7606 handling was applied, where the cause matters beyond the
/// attribute type: the route engine keeps an RFC 7607 route as a rejected
/// path (rule `as-zero`) so an operator can see it, while a route with
/// attributes that could not be read is only withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrCause {
    /// Malformed per RFC 7606 (length, flags, value, a missing mandatory attribute).
    Malformed,
    /// AS number 0 in AS_PATH, AS4_PATH, AGGREGATOR or AS4_AGGREGATOR
    /// (RFC 7607 §2): treat-as-withdraw for the paths, attribute discard
    /// for the aggregators.
    AsZero,
}

impl AttrCause {
    /// The label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrCause::Malformed => "malformed",
            AttrCause::AsZero => "as-zero",
        }
    }
}

/// The RFC 7606 outcome recorded on an UPDATE: the most severe action
/// applied (never `Reset`: that is a [`DecodeError`]), the type code of the
/// attribute that caused it, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttrError {
    pub action: AttrAction,
    pub type_code: u8,
    pub cause: AttrCause,
}

impl AttrError {
    /// A malformed attribute (RFC 7606).
    pub fn malformed(action: AttrAction, type_code: u8) -> AttrError {
        AttrError {
            action,
            type_code,
            cause: AttrCause::Malformed,
        }
    }

    /// True when the UPDATE's routes are to be treated as withdrawn.
    pub fn withdraws(&self) -> bool {
        self.action == AttrAction::TreatAsWithdraw
    }
}

impl AttrAction {
    /// The label used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrAction::Discard => "discard",
            AttrAction::TreatAsWithdraw => "treat-as-withdraw",
            AttrAction::Reset => "session-reset",
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
