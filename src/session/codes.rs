//! The NOTIFICATIONs the session layer sends (RFC 4271 §6, RFC 4486,
//! RFC 6608, RFC 9003, RFC 9384): a thin layer over the wire codec's code
//! points ([`crate::wire::iana`]) and constructors, so each code is defined
//! once. Pure; used by the FSM (`fsm`) and the peer task.

use crate::wire::Notification;
use bytes::Bytes;

pub use crate::wire::iana::{CeaseSubcode, ErrorCode, FsmSubcode, OpenSubcode};

/// The BGP version we speak (RFC 4271 §4.2).
pub const BGP_VERSION: u8 = 4;

/// OPEN Message Error with no data.
pub fn open_error(sub: OpenSubcode) -> Notification {
    Notification::new(ErrorCode::Open as u8, sub as u8, Bytes::new())
}

/// OPEN Message Error / Unsupported Version Number carrying our version (RFC 4271 §6.2).
pub fn unsupported_version() -> Notification {
    Notification::new(
        ErrorCode::Open as u8,
        OpenSubcode::UnsupportedVersionNumber as u8,
        Bytes::copy_from_slice(&u16::from(BGP_VERSION).to_be_bytes()),
    )
}

/// Hold Timer Expired (RFC 4271 §6.5).
pub fn hold_timer_expired() -> Notification {
    Notification::hold_timer_expired()
}

/// Send Hold Timer Expired (RFC 9687 §3).
pub fn send_hold_timer_expired() -> Notification {
    Notification::send_hold_timer_expired()
}

/// Finite State Machine Error with the RFC 6608 subcode.
pub fn fsm_error(sub: FsmSubcode) -> Notification {
    Notification::fsm_error(sub)
}

/// Cease with a subcode and no data.
pub fn cease(sub: CeaseSubcode) -> Notification {
    Notification::cease(sub, Bytes::new())
}

/// Cease / Administrative Shutdown with an RFC 9003 shutdown communication.
pub fn administrative_shutdown(text: &str) -> Notification {
    Notification::admin_shutdown(text)
}

/// A human description such as `Cease/Administrative Shutdown: "maintenance"`.
pub fn describe(n: &Notification) -> String {
    n.to_string()
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
            "Cease/Administrative Shutdown: \"maintenance\""
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
