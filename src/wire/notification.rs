//! NOTIFICATION message (RFC 4271 §4.5, §6) and its codes, including the
//! Cease subcodes (RFC 4486, RFC 9384) and shutdown communication (RFC 9003).

use bytes::Bytes;

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
}
