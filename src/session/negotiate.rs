//! OPEN handling for the FSM: the OPEN we send, validation of the peer's
//! OPEN with the exact NOTIFICATION for each fault (RFC 4271 §6.2, RFC 6286,
//! RFC 6793, RFC 5492), and capability negotiation into [`Negotiated`].
//!
//! Pure functions, called by `fsm` (no I/O, no channels).
//!
//! Required capabilities: we require none, so we never send OPEN Message
//! Error / Unsupported Capability (RFC 5492 §5). A peer without the 4-octet
//! AS capability is accepted when its 2-octet AS matches; a peer without any
//! Multiprotocol capability is taken to support IPv4 unicast only
//! (RFC 4760 §8 via RFC 5492 §3).

use super::codes::{self, OpenSubcode, BGP_VERSION};
use crate::messages::{SessionInfo, SessionWire};
use crate::wire::iana::CapabilityCode;
use crate::wire::{
    AddPathMode, Afi, BgpRole, Capability, Codec, GracefulRestart, Notification, Open, Safi,
};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// AS_TRANS, sent in the 2-octet My AS field for a 4-octet ASN (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

/// The smallest non-zero hold time a peer may propose (RFC 4271 §4.2).
pub const MIN_HOLD_TIME: u16 = 3;

/// Per-session settings the FSM needs (derived from `NeighborConfig` and `RouterConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsmConfig {
    /// Our ASN.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The ASN the peer must present.
    pub remote_as: u32,
    /// The hold time we offer (0 or ≥ 3).
    pub hold_time: u16,
    /// Families we offer.
    pub families: Vec<(Afi, Safi)>,
    /// Only accept connections, never connect out.
    pub passive: bool,
    /// Restart time we advertise in the graceful-restart capability; `None` disables GR.
    pub graceful_restart: Option<u16>,
    /// Offer ADD-PATH receive (RFC 7911) for our families.
    pub add_path_receive: bool,
    /// ConnectRetryTime (RFC 4271 §10 suggests 120 s; we retry sooner).
    pub connect_retry: Duration,
    /// The large hold time used in OpenSent (RFC 4271 §8.2.2 suggests 4 minutes).
    pub open_hold: Duration,
    /// First IdleHoldTime after a failure; doubles per consecutive failure.
    pub idle_hold_initial: Duration,
    /// Ceiling for the IdleHoldTime back-off.
    pub idle_hold_max: Duration,
    /// An Established period at least this long resets the back-off.
    pub stable_after: Duration,
    /// Our BGP role (RFC 9234), sent in the Role capability; `None` sends none.
    pub local_role: Option<BgpRole>,
    /// RFC 9234 §4.2 strict mode: a peer without a Role capability is refused.
    pub strict_role: bool,
}

impl FsmConfig {
    /// Defaults for everything but the identities.
    pub fn new(local_as: u32, router_id: Ipv4Addr, remote_as: u32) -> Self {
        FsmConfig {
            local_as,
            router_id,
            remote_as,
            hold_time: 90,
            families: vec![(Afi::IPV4, Safi::UNICAST), (Afi::IPV6, Safi::UNICAST)],
            passive: false,
            graceful_restart: Some(120),
            local_role: None,
            strict_role: false,
            add_path_receive: false,
            connect_retry: Duration::from_secs(30),
            open_hold: Duration::from_secs(240),
            idle_hold_initial: Duration::from_secs(1),
            idle_hold_max: Duration::from_secs(120),
            stable_after: Duration::from_secs(60),
        }
    }

    /// Internal BGP: same ASN on both sides.
    pub fn is_ibgp(&self) -> bool {
        self.local_as == self.remote_as
    }
}

/// What both sides agreed on (RFC 5492 negotiation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's ASN (from the 4-octet AS capability when present).
    pub remote_as: u32,
    /// The peer's BGP identifier.
    pub remote_id: Ipv4Addr,
    /// min(ours, theirs); 0 means no keepalives and no hold timer.
    pub hold_time: u16,
    /// How to read and write this session's messages.
    pub codec: Codec,
    /// Families both sides support.
    pub families: Vec<(Afi, Safi)>,
    /// Both sent the Route Refresh capability (RFC 2918).
    pub route_refresh: bool,
    /// Both sent the Enhanced Route Refresh capability (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// The peer's graceful-restart capability, when both sides do GR.
    pub graceful_restart: Option<GracefulRestart>,
    /// The peer's BGP role (RFC 9234), when it sent one.
    pub remote_role: Option<BgpRole>,
    /// Both OPENs as whole BGP messages (BMP Peer Up); the ports are the
    /// session task's to fill in.
    pub wire: SessionWire,
}

impl Negotiated {
    /// The keepalive interval: one third of the hold time (RFC 4271 §10),
    /// `None` when the hold time is 0.
    pub fn keepalive(&self) -> Option<Duration> {
        (self.hold_time > 0).then(|| Duration::from_millis(u64::from(self.hold_time) * 1000 / 3))
    }

    /// The engine's view, with the connection's addresses.
    pub fn session_info(&self, local_address: IpAddr, remote_address: IpAddr) -> SessionInfo {
        SessionInfo {
            remote_as: self.remote_as,
            remote_id: self.remote_id,
            local_address,
            remote_address,
            codec: self.codec,
            families: self.families.clone(),
            route_refresh: self.route_refresh,
            enhanced_route_refresh: self.enhanced_route_refresh,
            graceful_restart: self.graceful_restart.clone(),
            hold_time: self.hold_time,
            wire: self.wire.clone(),
        }
    }
}

/// The OPEN we send.
pub fn build_open(cfg: &FsmConfig) -> Open {
    let mut caps = Vec::new();
    for &(afi, safi) in &cfg.families {
        caps.push(Capability::Multiprotocol { afi, safi });
    }
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::EnhancedRouteRefresh);
    caps.push(Capability::ExtendedMessage);
    caps.push(Capability::FourOctetAs(cfg.local_as));
    if let Some(restart_time) = cfg.graceful_restart {
        caps.push(Capability::GracefulRestart(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: restart_time.min(0x0fff),
            families: cfg.families.iter().map(|&(a, s)| (a, s, false)).collect(),
        }));
    }
    if let Some(role) = cfg.local_role {
        caps.push(Capability::Role(role));
    }
    if cfg.add_path_receive {
        caps.push(Capability::AddPath(
            cfg.families
                .iter()
                .map(|&(a, s)| (a, s, AddPathMode::Receive))
                .collect(),
        ));
    }
    Open {
        version: BGP_VERSION,
        my_as: u16::try_from(cfg.local_as).unwrap_or(AS_TRANS),
        hold_time: cfg.hold_time,
        bgp_id: cfg.router_id,
        capabilities: caps,
    }
}

/// Checks the peer's OPEN (RFC 4271 §6.2) and negotiates; the `Err` is the
/// NOTIFICATION to send.
pub fn negotiate(cfg: &FsmConfig, open: &Open) -> Result<Negotiated, Notification> {
    if open.version != BGP_VERSION {
        return Err(codes::unsupported_version());
    }
    // RFC 7607 §2: AS 0 in My Autonomous System (or in the 4-octet AS
    // capability, which config never matches) is Bad Peer AS.
    if open.asn() != cfg.remote_as || open.my_as == 0 {
        return Err(codes::open_error(OpenSubcode::BadPeerAs));
    }
    if open.hold_time != 0 && open.hold_time < MIN_HOLD_TIME {
        return Err(codes::open_error(OpenSubcode::UnacceptableHoldTime));
    }
    // RFC 6286 §2.2: any non-zero value; equal to ours only matters for iBGP.
    if open.bgp_id.is_unspecified() || (cfg.is_ibgp() && open.bgp_id == cfg.router_id) {
        return Err(codes::open_error(OpenSubcode::BadBgpIdentifier));
    }

    let caps = &open.capabilities;
    let remote_role = check_role(cfg, caps)?;
    let has = |want: &Capability| caps.iter().any(|c| c == want);
    let mut peer_families: Vec<(Afi, Safi)> = caps
        .iter()
        .filter_map(|c| match c {
            Capability::Multiprotocol { afi, safi } => Some((*afi, *safi)),
            _ => None,
        })
        .collect();
    if peer_families.is_empty() {
        peer_families.push((Afi::IPV4, Safi::UNICAST));
    }
    let families: Vec<(Afi, Safi)> = cfg
        .families
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();

    let four_octet_as = caps.iter().any(|c| matches!(c, Capability::FourOctetAs(_)));
    let peer_add_path: Vec<(Afi, Safi, AddPathMode)> = caps
        .iter()
        .filter_map(|c| match c {
            Capability::AddPath(v) => Some(v.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let add_path_rx = |afi: Afi| {
        cfg.add_path_receive
            && families.contains(&(afi, Safi::UNICAST))
            && peer_add_path.iter().any(|&(a, s, m)| {
                a == afi && s == Safi::UNICAST && matches!(m, AddPathMode::Send | AddPathMode::Both)
            })
    };
    let codec = Codec {
        four_octet_as,
        extended_message: has(&Capability::ExtendedMessage),
        add_path_ipv4: add_path_rx(Afi::IPV4),
        add_path_ipv6: add_path_rx(Afi::IPV6),
    };
    let graceful_restart = if cfg.graceful_restart.is_some() {
        caps.iter().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr.clone()),
            _ => None,
        })
    } else {
        None
    };
    Ok(Negotiated {
        remote_as: open.asn(),
        remote_id: open.bgp_id,
        hold_time: cfg.hold_time.min(open.hold_time),
        codec,
        families,
        route_refresh: has(&Capability::RouteRefresh),
        enhanced_route_refresh: has(&Capability::EnhancedRouteRefresh),
        graceful_restart,
        remote_role,
        wire: SessionWire {
            sent_open: open_message(&build_open(cfg)),
            received_open: open_message(open),
            ..SessionWire::default()
        },
    })
}

/// An OPEN as the whole BGP message it is on the wire (for BMP).
fn open_message(open: &Open) -> bytes::Bytes {
    let mut b = bytes::BytesMut::new();
    // An OPEN we sent or decoded always encodes; empty is the fallback.
    let _ = crate::wire::Message::Open(open.clone()).encode(&Codec::default(), &mut b);
    b.freeze()
}

/// The role the peer must announce for ours (RFC 9234 §4.2, Table 2).
pub fn expected_peer_role(local: BgpRole) -> BgpRole {
    match local {
        BgpRole::Provider => BgpRole::Customer,
        BgpRole::Customer => BgpRole::Provider,
        BgpRole::RouteServer => BgpRole::RouteServerClient,
        BgpRole::RouteServerClient => BgpRole::RouteServer,
        BgpRole::Peer => BgpRole::Peer,
    }
}

/// RFC 9234 §4.2: the peer's Role capability against ours. Several Role
/// capabilities with different values, an unknown role, a role that does
/// not pair with ours, or (in strict mode) no role at all is a Role
/// Mismatch. Returns the peer's role.
fn check_role(cfg: &FsmConfig, caps: &[Capability]) -> Result<Option<BgpRole>, Notification> {
    let mismatch = || codes::open_error(OpenSubcode::RoleMismatch);
    let mut remote: Option<BgpRole> = None;
    let mut unknown = false;
    for c in caps {
        match c {
            Capability::Role(r) => {
                if remote.is_some_and(|x| x != *r) {
                    return Err(mismatch());
                }
                remote = Some(*r);
            }
            Capability::Unknown { code, .. } if *code == CapabilityCode::Role as u8 => {
                unknown = true;
            }
            _ => {}
        }
    }
    let Some(local) = cfg.local_role else {
        return Ok(remote);
    };
    if unknown {
        return Err(mismatch());
    }
    match remote {
        Some(r) if r != expected_peer_role(local) => Err(mismatch()),
        None if cfg.strict_role => Err(mismatch()),
        r => Ok(r),
    }
}

#[cfg(test)]
#[path = "negotiate_tests.rs"]
mod tests;
