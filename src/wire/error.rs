//! Decode errors. Each error maps to exactly one outcome: a NOTIFICATION
//! (code, subcode, data per RFC 4271 §6) or an RFC 7606 action.

use super::notification::Notification;

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

/// A message that could not be decoded; [`DecodeError::notification`] says
/// what to send the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not enough bytes yet: framing waits for more (never sent to a peer).
    #[error("incomplete message")]
    Incomplete,
    /// Fallback carrying a ready NOTIFICATION.
    #[error("{0:?}")]
    Notify(Notification),
}

impl DecodeError {
    /// The NOTIFICATION this error requires, or `None` for [`DecodeError::Incomplete`].
    pub fn notification(&self) -> Option<Notification> {
        match self {
            DecodeError::Incomplete => None,
            DecodeError::Notify(n) => Some(n.clone()),
        }
    }
}
