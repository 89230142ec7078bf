//! BMP messages as we send them to a collector (RFC 7854 §4, with the
//! Adj-RIB-Out flag of RFC 8671 and the Loc-RIB peer of RFC 9069): the
//! common header, the per-peer header, Initiation and Termination, Peer Up
//! and Peer Down, Route Monitoring and Statistics Reports. Pure encoders
//! into `BytesMut`; the exporter task (`bmp::client`) calls them.
//!
//! Our own additions, documented in the README, so that a collector sees
//! which peering rule took a route:
//! - a Statistics Report counter per rejection rule, of type
//!   [`STAT_REJECTED_BY_RULE`] (IANA's experimental range): an 8-octet count
//!   followed by the rule name in UTF-8 ([`Stat::RejectedByRule`]);
//! - optionally (`[[bmp]] rejection_tlv`), a Route Monitoring message for a
//!   route that import policy rejected (pre-policy view) carries, after the
//!   BGP PDU, one Information TLV (draft-ietf-grow-bmp-tlv layout: type 2,
//!   length 2, value) of type [`TLV_REJECTION`] whose value is
//!   `rule NUL reason` in UTF-8. RFC 7854 has no TLVs there: a decoder that
//!   reads every byte after the PDU as BGP (Wireshark) calls it malformed,
//!   pmacct skips it.

use bytes::{BufMut, BytesMut};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

/// BMP version (RFC 7854 §4.1).
pub const VERSION: u8 = 3;
/// The collector port operators usually run (pmacct, OpenBMP).
pub const DEFAULT_PORT: u16 = 11019;
/// Our Information TLV carrying the rejection (experimental range).
pub const TLV_REJECTION: u16 = 65531;
/// Our statistics type: routes rejected by one rule (IANA "BMP Statistics
/// Types" experimental range 65531-65534).
pub const STAT_REJECTED_BY_RULE: u16 = 65531;

/// BMP message types (RFC 7854 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MsgType {
    RouteMonitoring = 0,
    StatisticsReport = 1,
    PeerDown = 2,
    PeerUp = 3,
    Initiation = 4,
    Termination = 5,
}

/// Which table a per-peer header speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Adj-RIB-In as received (RFC 7854 §4.2, L = 0).
    PrePolicy,
    /// Adj-RIB-In after import policy (L = 1).
    PostPolicy,
    /// What we send the peer (RFC 8671 §4, O = 1), after export policy.
    AdjRibOut,
    /// Our decisions (RFC 9069 §4.1, peer type 3).
    LocRib,
}

/// Per-peer header flags (RFC 7854 §4.2, RFC 8671 §4; RFC 9069 §4.2 F).
pub mod flags {
    pub const V: u8 = 0x80;
    pub const L: u8 = 0x40;
    pub const A: u8 = 0x20;
    pub const O: u8 = 0x10;
    /// Loc-RIB: the table is filtered (RFC 9069 §4.2).
    pub const F: u8 = 0x80;
}

/// The peer a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub address: IpAddr,
    pub asn: u32,
    pub bgp_id: Ipv4Addr,
    /// The session uses 2-octet AS_PATHs (RFC 7854 §4.2 A flag).
    pub two_octet_as: bool,
}

/// Peer Down reasons (RFC 7854 §4.9, RFC 9069 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// 1: we sent this NOTIFICATION (the whole BGP message).
    LocalNotification(Vec<u8>),
    /// 2: we closed without a NOTIFICATION, with the FSM event code.
    LocalNoNotification(u16),
    /// 3: the peer sent this NOTIFICATION (the whole BGP message).
    RemoteNotification(Vec<u8>),
    /// 4: the peer closed without a NOTIFICATION.
    RemoteNoData,
    /// 5: the peer was de-configured.
    Deconfigured,
}

/// Statistics we report (RFC 7854 §4.8, IANA "BMP Statistics Types").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stat {
    /// 0: prefixes rejected by inbound policy (32-bit counter).
    RejectedByPolicy(u32),
    /// 7: routes in the Adj-RIB-In (64-bit gauge).
    AdjRibIn(u64),
    /// 8: routes in the Loc-RIB (64-bit gauge).
    LocRib(u64),
    /// 9: routes in the per-AFI/SAFI Adj-RIB-In.
    AdjRibInFamily(u16, u8, u64),
    /// 10: routes in the per-AFI/SAFI Loc-RIB.
    LocRibFamily(u16, u8, u64),
    /// [`STAT_REJECTED_BY_RULE`]: routes rejected by this rule now (an
    /// 8-octet gauge, then the rule name).
    RejectedByRule(u64, String),
}

/// Starts a message; [`finish`] writes its length.
fn begin(out: &mut BytesMut, t: MsgType) -> usize {
    let start = out.len();
    out.put_u8(VERSION);
    out.put_u32(0);
    out.put_u8(t as u8);
    start
}

fn finish(out: &mut BytesMut, start: usize) {
    let len = (out.len() - start) as u32;
    out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
}

fn tlv(out: &mut BytesMut, t: u16, v: &[u8]) {
    out.put_u16(t);
    out.put_u16(v.len().min(u16::MAX as usize) as u16);
    out.put_slice(&v[..v.len().min(u16::MAX as usize)]);
}

fn put_addr(out: &mut BytesMut, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => {
            out.put_slice(&[0; 12]);
            out.put_slice(&v4.octets());
        }
        IpAddr::V6(v6) => out.put_slice(&v6.octets()),
    }
}

/// The per-peer header (RFC 7854 §4.2), 42 octets. A Loc-RIB view
/// (RFC 9069 §4.1) has peer type 3 and zero address, AS and identifier
/// fields but ours.
pub fn per_peer_header(out: &mut BytesMut, view: View, peer: &Peer, at: SystemTime) {
    let (kind, fl) = match view {
        View::LocRib => (3u8, flags::F),
        v => {
            let mut f = 0;
            if peer.address.is_ipv6() {
                f |= flags::V;
            }
            if v == View::PostPolicy {
                f |= flags::L;
            }
            if peer.two_octet_as {
                f |= flags::A;
            }
            if v == View::AdjRibOut {
                f |= flags::O;
            }
            (0u8, f)
        }
    };
    out.put_u8(kind);
    out.put_u8(fl);
    out.put_u64(0);
    if view == View::LocRib {
        out.put_slice(&[0; 16]);
    } else {
        put_addr(out, peer.address);
    }
    out.put_u32(peer.asn);
    out.put_slice(&peer.bgp_id.octets());
    let t = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    out.put_u32(t.as_secs() as u32);
    out.put_u32(t.subsec_micros());
}

/// Initiation (RFC 7854 §4.3): sysDescr and sysName.
pub fn initiation(out: &mut BytesMut, sys_name: &str, sys_descr: &str) {
    let s = begin(out, MsgType::Initiation);
    tlv(out, 1, sys_descr.as_bytes());
    tlv(out, 2, sys_name.as_bytes());
    finish(out, s);
}

/// Termination (RFC 7854 §4.5) with reason 0, "administratively closed".
pub fn termination(out: &mut BytesMut, text: &str) {
    let s = begin(out, MsgType::Termination);
    tlv(out, 0, text.as_bytes());
    tlv(out, 1, &0u16.to_be_bytes());
    finish(out, s);
}

/// Peer Up (RFC 7854 §4.10): our end of the session and both OPEN
/// messages as sent on the wire. For the Loc-RIB (RFC 9069 §5.3) the
/// addresses and ports are zero and `table_name` names the table.
#[allow(clippy::too_many_arguments)]
pub fn peer_up(
    out: &mut BytesMut,
    view: View,
    peer: &Peer,
    at: SystemTime,
    local: Option<SocketAddr>,
    remote_port: u16,
    sent_open: &[u8],
    received_open: &[u8],
    table_name: Option<&str>,
) {
    let s = begin(out, MsgType::PeerUp);
    per_peer_header(out, view, peer, at);
    match local {
        Some(l) => {
            put_addr(out, l.ip());
            out.put_u16(l.port());
        }
        None => {
            out.put_slice(&[0; 16]);
            out.put_u16(0);
        }
    }
    out.put_u16(remote_port);
    out.put_slice(sent_open);
    out.put_slice(received_open);
    if let Some(name) = table_name {
        tlv(out, 3, name.as_bytes());
    }
    finish(out, s);
}

/// Peer Down (RFC 7854 §4.9).
pub fn peer_down(out: &mut BytesMut, view: View, peer: &Peer, at: SystemTime, why: &DownReason) {
    let s = begin(out, MsgType::PeerDown);
    per_peer_header(out, view, peer, at);
    match why {
        DownReason::LocalNotification(n) => {
            out.put_u8(1);
            out.put_slice(n);
        }
        DownReason::LocalNoNotification(ev) => {
            out.put_u8(2);
            out.put_u16(*ev);
        }
        DownReason::RemoteNotification(n) => {
            out.put_u8(3);
            out.put_slice(n);
        }
        DownReason::RemoteNoData => out.put_u8(4),
        DownReason::Deconfigured => out.put_u8(5),
    }
    finish(out, s);
}

/// Route Monitoring (RFC 7854 §4.6): one whole BGP UPDATE message, with
/// our rejection TLV when the route was rejected by import policy.
pub fn route_monitoring(
    out: &mut BytesMut,
    view: View,
    peer: &Peer,
    at: SystemTime,
    update: &[u8],
    rejection: Option<(&str, &str)>,
) {
    let s = begin(out, MsgType::RouteMonitoring);
    per_peer_header(out, view, peer, at);
    out.put_slice(update);
    if let Some((rule, reason)) = rejection {
        let mut v = Vec::with_capacity(rule.len() + reason.len() + 1);
        v.extend_from_slice(rule.as_bytes());
        v.push(0);
        v.extend_from_slice(reason.as_bytes());
        tlv(out, TLV_REJECTION, &v);
    }
    finish(out, s);
}

/// Statistics Report (RFC 7854 §4.8).
pub fn statistics(out: &mut BytesMut, view: View, peer: &Peer, at: SystemTime, stats: &[Stat]) {
    let s = begin(out, MsgType::StatisticsReport);
    per_peer_header(out, view, peer, at);
    out.put_u32(stats.len() as u32);
    for st in stats {
        match *st {
            Stat::RejectedByPolicy(n) => tlv(out, 0, &n.to_be_bytes()),
            Stat::AdjRibIn(n) => tlv(out, 7, &n.to_be_bytes()),
            Stat::LocRib(n) => tlv(out, 8, &n.to_be_bytes()),
            Stat::RejectedByRule(n, ref rule) => {
                let mut v = n.to_be_bytes().to_vec();
                v.extend_from_slice(rule.as_bytes());
                tlv(out, STAT_REJECTED_BY_RULE, &v);
            }
            Stat::AdjRibInFamily(afi, safi, n) | Stat::LocRibFamily(afi, safi, n) => {
                let t = if matches!(st, Stat::AdjRibInFamily(..)) {
                    9
                } else {
                    10
                };
                let mut v = [0u8; 11];
                v[0..2].copy_from_slice(&afi.to_be_bytes());
                v[2] = safi;
                v[3..].copy_from_slice(&n.to_be_bytes());
                tlv(out, t, &v);
            }
        }
    }
    finish(out, s);
}

/// The length of the whole BMP message at the front of `buf`, once its
/// common header is there (the tests' collector-side reader).
#[cfg(test)]
pub fn message_len(buf: &[u8]) -> Option<usize> {
    match buf {
        [VERSION, a, b, c, d, _, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d]) as usize),
        _ => None,
    }
}

#[cfg(test)]
#[path = "msg_tests.rs"]
mod tests;
