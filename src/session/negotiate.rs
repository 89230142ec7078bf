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
mod tests {
    use super::*;

    fn cfg() -> FsmConfig {
        FsmConfig::new(65000, Ipv4Addr::new(10, 0, 0, 1), 64500)
    }

    fn peer_open(caps: Vec<Capability>) -> Open {
        Open {
            version: 4,
            my_as: 64500,
            hold_time: 30,
            bgp_id: Ipv4Addr::new(10, 0, 0, 2),
            capabilities: caps,
        }
    }

    /// RFC 9234 §4.2 Table 2, plus strict mode and the malformed cases:
    /// (our role, strict, the peer's Role capabilities) → accepted?
    #[test]
    fn role_capability_pairs_follow_rfc9234_table_2() {
        use BgpRole::*;
        let role = |r: BgpRole| Capability::Role(r);
        let unknown = Capability::Unknown {
            code: CapabilityCode::Role as u8,
            data: bytes::Bytes::from_static(&[7]),
        };
        let rows: Vec<(Option<BgpRole>, bool, Vec<Capability>, bool)> = vec![
            (Some(Peer), false, vec![role(Peer)], true),
            (Some(Customer), false, vec![role(Provider)], true),
            (Some(Provider), false, vec![role(Customer)], true),
            (
                Some(RouteServer),
                false,
                vec![role(RouteServerClient)],
                true,
            ),
            (
                Some(RouteServerClient),
                false,
                vec![role(RouteServer)],
                true,
            ),
            (Some(Peer), false, vec![role(Customer)], false),
            (Some(Customer), false, vec![role(Customer)], false),
            (Some(Provider), false, vec![role(Peer)], false),
            (Some(Peer), false, vec![], true),
            (Some(Peer), true, vec![], false),
            (Some(Peer), false, vec![role(Peer), role(Peer)], true),
            (Some(Peer), false, vec![role(Peer), role(Provider)], false),
            (Some(Peer), false, vec![unknown.clone()], false),
            // No role of ours: nothing to check, but two different roles
            // are still malformed.
            (None, false, vec![role(Provider)], true),
            (None, false, vec![unknown], true),
            (None, false, vec![role(Peer), role(Customer)], false),
        ];
        for (local, strict, caps, ok) in rows {
            let mut c = cfg();
            c.local_role = local;
            c.strict_role = strict;
            let got = negotiate(&c, &peer_open(caps.clone())).map_err(|n| (n.code, n.subcode));
            match (ok, got) {
                (true, Ok(n)) => assert_eq!(
                    n.remote_role,
                    caps.iter().find_map(|c| match c {
                        Capability::Role(r) => Some(*r),
                        _ => None,
                    }),
                    "{local:?} {caps:?}"
                ),
                (false, Err(e)) => assert_eq!(e, (2, 11), "{local:?} {caps:?}"),
                (ok, got) => {
                    panic!("{local:?} strict={strict} {caps:?}: want ok={ok}, got {got:?}")
                }
            }
        }
    }

    #[test]
    fn our_open_carries_our_role() {
        let mut c = cfg();
        assert!(!build_open(&c)
            .capabilities
            .iter()
            .any(|x| matches!(x, Capability::Role(_))));
        c.local_role = Some(BgpRole::Customer);
        assert!(build_open(&c)
            .capabilities
            .contains(&Capability::Role(BgpRole::Customer)));
    }

    #[test]
    fn holdtime_negotiation_uses_minimum() {
        let n = negotiate(&cfg(), &peer_open(vec![])).map_err(|e| e.code);
        assert_eq!(n.map(|n| n.hold_time), Ok(30));
        let mut o = peer_open(vec![]);
        o.hold_time = 180;
        assert_eq!(negotiate(&cfg(), &o).map(|n| n.hold_time), Ok(90));
    }

    #[test]
    fn hold_time_zero_disables_keepalives() {
        let mut o = peer_open(vec![]);
        o.hold_time = 0;
        let n = negotiate(&cfg(), &o);
        assert_eq!(n.as_ref().map(|n| n.hold_time), Ok(0));
        assert_eq!(n.map(|n| n.keepalive()), Ok(None));
    }

    #[test]
    fn keepalive_is_a_third_of_the_hold_time() {
        let n = negotiate(&cfg(), &peer_open(vec![]));
        assert_eq!(n.map(|n| n.keepalive()), Ok(Some(Duration::from_secs(10))));
    }

    #[test]
    fn hold_time_of_one_or_two_seconds_is_unacceptable() {
        for h in [1, 2] {
            let mut o = peer_open(vec![]);
            o.hold_time = h;
            assert_eq!(
                negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
                Err((2, 6))
            );
        }
    }

    #[test]
    fn wrong_version_is_refused_with_our_version_in_the_data() {
        let mut o = peer_open(vec![]);
        o.version = 3;
        assert_eq!(negotiate(&cfg(), &o), Err(codes::unsupported_version()));
    }

    #[test]
    fn wrong_peer_as_is_bad_peer_as() {
        let mut o = peer_open(vec![]);
        o.my_as = 64501;
        assert_eq!(
            negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
            Err((2, 2))
        );
    }

    #[test]
    fn as_zero_in_my_autonomous_system_is_bad_peer_as_even_with_a_matching_capability() {
        let mut o = peer_open(vec![Capability::FourOctetAs(64500)]);
        o.my_as = 0;
        assert_eq!(
            negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
            Err((2, 2))
        );
        let o = peer_open(vec![Capability::FourOctetAs(0)]);
        assert_eq!(
            negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
            Err((2, 2))
        );
    }

    #[test]
    fn four_octet_as_capability_decides_the_peer_as() {
        let mut c = cfg();
        c.remote_as = 4_200_000_001;
        let mut o = peer_open(vec![Capability::FourOctetAs(4_200_000_001)]);
        o.my_as = AS_TRANS;
        let n = negotiate(&c, &o);
        assert_eq!(n.as_ref().map(|n| n.remote_as), Ok(4_200_000_001));
        assert_eq!(n.map(|n| n.codec.four_octet_as), Ok(true));
        // Without the capability the peer is AS 23456, not the configured one.
        o.capabilities.clear();
        assert_eq!(
            negotiate(&c, &o).map_err(|n| (n.code, n.subcode)),
            Err((2, 2))
        );
    }

    #[test]
    fn zero_bgp_identifier_is_bad() {
        let mut o = peer_open(vec![]);
        o.bgp_id = Ipv4Addr::UNSPECIFIED;
        assert_eq!(
            negotiate(&cfg(), &o).map_err(|n| (n.code, n.subcode)),
            Err((2, 3))
        );
    }

    #[test]
    fn same_bgp_identifier_is_only_an_error_for_ibgp() {
        let mut o = peer_open(vec![]);
        o.bgp_id = cfg().router_id;
        assert!(negotiate(&cfg(), &o).is_ok(), "eBGP allows it (RFC 6286)");
        let mut ibgp = cfg();
        ibgp.remote_as = 65000;
        o.my_as = 65000;
        assert_eq!(
            negotiate(&ibgp, &o).map_err(|n| (n.code, n.subcode)),
            Err((2, 3))
        );
    }

    #[test]
    fn no_multiprotocol_capability_implies_ipv4_unicast() {
        let n = negotiate(&cfg(), &peer_open(vec![]));
        assert_eq!(n.map(|n| n.families), Ok(vec![(Afi::IPV4, Safi::UNICAST)]));
    }

    #[test]
    fn families_are_the_intersection() {
        let o = peer_open(vec![Capability::Multiprotocol {
            afi: Afi::IPV6,
            safi: Safi::UNICAST,
        }]);
        let n = negotiate(&cfg(), &o);
        assert_eq!(n.map(|n| n.families), Ok(vec![(Afi::IPV6, Safi::UNICAST)]));
    }

    #[test]
    fn optional_capabilities_are_on_only_when_both_sides_send_them() {
        let o = peer_open(vec![
            Capability::RouteRefresh,
            Capability::ExtendedMessage,
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 90,
                families: vec![],
            }),
        ]);
        let n = negotiate(&cfg(), &o);
        let n = n.as_ref().map_err(|e| e.code);
        assert_eq!(n.map(|n| n.route_refresh), Ok(true));
        assert_eq!(n.map(|n| n.enhanced_route_refresh), Ok(false));
        assert_eq!(n.map(|n| n.codec.extended_message), Ok(true));
        assert_eq!(n.map(|n| n.codec.four_octet_as), Ok(false));
        assert_eq!(
            n.map(|n| n.graceful_restart.as_ref().map(|g| g.restart_time)),
            Ok(Some(90))
        );
        let mut no_gr = cfg();
        no_gr.graceful_restart = None;
        assert_eq!(negotiate(&no_gr, &o).map(|n| n.graceful_restart), Ok(None));
    }

    #[test]
    fn add_path_receive_needs_our_offer_and_the_peers_send() {
        let o = peer_open(vec![
            Capability::Multiprotocol {
                afi: Afi::IPV4,
                safi: Safi::UNICAST,
            },
            Capability::AddPath(vec![(Afi::IPV4, Safi::UNICAST, AddPathMode::Send)]),
        ]);
        assert_eq!(
            negotiate(&cfg(), &o).map(|n| n.codec.add_path_ipv4),
            Ok(false)
        );
        let mut c = cfg();
        c.add_path_receive = true;
        let n = negotiate(&c, &o).map(|n| n.codec);
        assert_eq!(
            n.map(|c| (c.add_path_ipv4, c.add_path_ipv6)),
            Ok((true, false))
        );
        let o2 = peer_open(vec![Capability::AddPath(vec![(
            Afi::IPV4,
            Safi::UNICAST,
            AddPathMode::Receive,
        )])]);
        assert_eq!(negotiate(&c, &o2).map(|n| n.codec.add_path_ipv4), Ok(false));
    }

    #[test]
    fn our_open_uses_as_trans_for_a_four_octet_asn() {
        let mut c = cfg();
        c.local_as = 4_200_000_000;
        let o = build_open(&c);
        assert_eq!(o.my_as, AS_TRANS);
        assert_eq!(o.asn(), 4_200_000_000);
        assert!(o.capabilities.contains(&Capability::Multiprotocol {
            afi: Afi::IPV6,
            safi: Safi::UNICAST
        }));
    }
}
