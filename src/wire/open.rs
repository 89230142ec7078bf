//! OPEN message (RFC 4271 §4.2), optional parameters with the extended
//! length of RFC 9072, and capabilities (RFC 5492 and the RFC per variant).
//!
//! Decoding is a set of small nom parsers (fixed fields, optional parameters,
//! one per capability layout); every malformation that RFC 4271 §6.2 does
//! not name more precisely is OPEN Message Error/Unspecific. Encoding writes
//! into `BytesMut`. Pure byte conversion called by the session task while
//! opening a session.

use super::error::DecodeError;
use super::iana::{opt_param, Afi, CapabilityCode, OpenSubcode, Safi, BGP_VERSION};
use super::EncodeError;
use bytes::{BufMut, Bytes, BytesMut};
use nom::bytes::complete::take;
use nom::combinator::{all_consuming, eof, map};
use nom::multi::{length_data, many0, many1};
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::sequence::preceded;
use nom::{IResult, Parser};
use std::net::Ipv4Addr;

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Always 4.
    pub version: u8,
    /// The 2-octet My Autonomous System field (AS_TRANS 23456 for a 4-octet AS).
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    /// Capabilities from every Capabilities optional parameter, in order.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The speaker's real ASN: the 4-octet AS capability if present (RFC 6793), else `my_as`.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(self.my_as as u32)
    }
}

/// ADD-PATH send/receive mode (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathMode {
    Receive = 1,
    Send = 2,
    Both = 3,
}

/// Graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Restart State (R) bit.
    pub restart_state: bool,
    /// Graceful Notification (N) bit (RFC 8538).
    pub notification: bool,
    /// Restart Time in seconds (12 bits).
    pub restart_time: u16,
    /// Per family: (AFI, SAFI, Forwarding State bit).
    pub families: Vec<(Afi, Safi, bool)>,
}

/// BGP role (RFC 9234 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BgpRole {
    Provider = 0,
    RouteServer = 1,
    RouteServerClient = 2,
    Customer = 3,
    Peer = 4,
}

/// A capability (RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760.
    Multiprotocol { afi: Afi, safi: Safi },
    /// Code 2, RFC 2918.
    RouteRefresh,
    /// Code 6, RFC 8654.
    ExtendedMessage,
    /// Code 9, RFC 9234. Unknown role values are kept raw in `Unknown`.
    Role(BgpRole),
    /// Code 64, RFC 4724.
    GracefulRestart(GracefulRestart),
    /// Code 65, RFC 6793.
    FourOctetAs(u32),
    /// Code 69, RFC 7911.
    AddPath(Vec<(Afi, Safi, AddPathMode)>),
    /// Code 70, RFC 7313.
    EnhancedRouteRefresh,
    /// Any other capability, kept as raw bytes.
    Unknown { code: u8, data: Bytes },
}

impl BgpRole {
    /// The role as the config spells it (`provider`, `rs`, `rs-client`,
    /// `customer`, `peer`).
    pub fn name(self) -> &'static str {
        match self {
            BgpRole::Provider => "provider",
            BgpRole::RouteServer => "rs",
            BgpRole::RouteServerClient => "rs-client",
            BgpRole::Customer => "customer",
            BgpRole::Peer => "peer",
        }
    }

    /// The role for a wire value, `None` when unknown.
    pub fn from_u8(v: u8) -> Option<BgpRole> {
        Some(match v {
            0 => BgpRole::Provider,
            1 => BgpRole::RouteServer,
            2 => BgpRole::RouteServerClient,
            3 => BgpRole::Customer,
            4 => BgpRole::Peer,
            _ => return None,
        })
    }
}

impl AddPathMode {
    /// The mode for a wire value, `None` when invalid.
    pub fn from_u8(v: u8) -> Option<AddPathMode> {
        Some(match v {
            1 => AddPathMode::Receive,
            2 => AddPathMode::Send,
            3 => AddPathMode::Both,
            _ => return None,
        })
    }
}

/// Restart State bit in the graceful restart capability (RFC 4724 §3).
const GR_RESTART_STATE: u16 = 0x8000;
/// Graceful Notification bit (RFC 8538 §2).
const GR_NOTIFICATION: u16 = 0x4000;
/// Forwarding State bit of a per-family entry (RFC 4724 §3).
const GR_FORWARDING: u8 = 0x80;

fn malformed() -> DecodeError {
    DecodeError::open(OpenSubcode::Unspecific)
}

/// The fixed part of an OPEN body (RFC 4271 §4.2) as read: nothing checked yet.
struct Fixed {
    version: u8,
    my_as: u16,
    hold_time: u16,
    bgp_id: Ipv4Addr,
    /// Opt Parm Len (RFC 9072: 255 and non-zero when extended).
    opt_len: u8,
}

/// Version, My Autonomous System, Hold Time, BGP Identifier, Opt Parm Len.
fn fixed_fields(i: &[u8]) -> IResult<&[u8], Fixed> {
    map(
        (be_u8, be_u16, be_u16, map(be_u32, Ipv4Addr::from), be_u8),
        |(version, my_as, hold_time, bgp_id, opt_len)| Fixed {
            version,
            my_as,
            hold_time,
            bgp_id,
            opt_len,
        },
    )
    .parse_complete(i)
}

/// The Optional Parameters field, which must end the body, and whether its
/// parameters have the 2-octet lengths of RFC 9072. The extended format is
/// a non-zero Opt Parm Len followed by type 255 and a 2-octet length (§2).
fn optional_parameters(opt_len: u8, i: &[u8]) -> IResult<&[u8], (&[u8], bool)> {
    if opt_len != 0 && i.first() == Some(&opt_param::EXTENDED_LENGTH) {
        let extended = preceded(be_u8, length_data(be_u16));
        all_consuming(map(extended, |params| (params, true))).parse_complete(i)
    } else {
        all_consuming(map(take(opt_len), |params| (params, false))).parse_complete(i)
    }
}

/// One optional parameter: type and value, the length in one octet or, in
/// the extended format, two.
fn optional_parameter(extended: bool, i: &[u8]) -> IResult<&[u8], (u8, &[u8])> {
    if extended {
        (be_u8, length_data(be_u16)).parse_complete(i)
    } else {
        (be_u8, length_data(be_u8)).parse_complete(i)
    }
}

impl Open {
    /// Decodes an OPEN body (after the 19-octet header), RFC 4271 §4.2 and §6.2.
    pub fn decode_body(body: &[u8]) -> Result<Open, DecodeError> {
        let (rest, fixed) = fixed_fields(body).map_err(|_| malformed())?;
        if fixed.version != BGP_VERSION {
            return Err(DecodeError::Open(
                OpenSubcode::UnsupportedVersionNumber,
                Bytes::copy_from_slice(&(BGP_VERSION as u16).to_be_bytes()),
            ));
        }
        let (_, (mut params, extended)) =
            optional_parameters(fixed.opt_len, rest).map_err(|_| malformed())?;
        let mut capabilities = Vec::new();
        // One parameter at a time: an earlier one's error wins.
        while !params.is_empty() {
            let (next, (ptype, value)) =
                optional_parameter(extended, params).map_err(|_| malformed())?;
            if ptype != opt_param::CAPABILITIES {
                return Err(DecodeError::open(OpenSubcode::UnsupportedOptionalParameter));
            }
            decode_capabilities(value, &mut capabilities)?;
            params = next;
        }
        if fixed.hold_time == 1 || fixed.hold_time == 2 {
            return Err(DecodeError::open(OpenSubcode::UnacceptableHoldTime));
        }
        if fixed.bgp_id.is_unspecified() {
            // RFC 6286 §2.2: only zero is invalid on its own.
            return Err(DecodeError::open(OpenSubcode::BadBgpIdentifier));
        }
        Ok(Open {
            version: fixed.version,
            my_as: fixed.my_as,
            hold_time: fixed.hold_time,
            bgp_id: fixed.bgp_id,
            capabilities,
        })
    }

    /// Appends the OPEN body; uses the RFC 9072 extended optional parameters
    /// format only when the capabilities do not fit in 255 octets.
    pub(crate) fn encode_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let mut caps = BytesMut::with_capacity(64);
        for c in &self.capabilities {
            c.encode(&mut caps)?;
        }
        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_slice(&self.bgp_id.octets());
        if caps.is_empty() {
            out.put_u8(0);
        } else if caps.len() + 2 <= 255 {
            out.put_u8(caps.len() as u8 + 2);
            out.put_u8(opt_param::CAPABILITIES);
            out.put_u8(caps.len() as u8);
            out.put_slice(&caps);
        } else {
            let total = caps.len() + 3;
            if total > u16::MAX as usize {
                return Err(EncodeError::Invalid("capabilities exceed 65535 octets"));
            }
            out.put_u8(255);
            out.put_u8(opt_param::EXTENDED_LENGTH);
            out.put_u16(total as u16);
            out.put_u8(opt_param::CAPABILITIES);
            out.put_u16(caps.len() as u16);
            out.put_slice(&caps);
        }
        Ok(())
    }
}

/// Decodes the capabilities of one Capabilities optional parameter (RFC 5492
/// §4): code, one-octet length, value, to the end of the parameter.
fn decode_capabilities(buf: &[u8], out: &mut Vec<Capability>) -> Result<(), DecodeError> {
    let (_, tlvs) = all_consuming(many0((be_u8, length_data(be_u8))))
        .parse_complete(buf)
        .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| malformed())?;
    for (code, value) in tlvs {
        out.push(Capability::decode(code, value)?);
    }
    Ok(())
}

/// Runs `parser` on the whole of a capability value: OPEN Message
/// Error/Unspecific unless it takes every octet.
fn whole<'a, O>(
    parser: impl Parser<&'a [u8], Output = O, Error = nom::error::Error<&'a [u8]>>,
    v: &'a [u8],
) -> Result<O, DecodeError> {
    all_consuming(parser)
        .parse_complete(v)
        .map(|(_, out)| out)
        .map_err(|_| malformed())
}

/// The 2-octet AFI of a per-family capability entry.
fn afi(i: &[u8]) -> IResult<&[u8], Afi> {
    map(be_u16, Afi).parse_complete(i)
}

/// The 1-octet SAFI of a per-family capability entry.
fn safi(i: &[u8]) -> IResult<&[u8], Safi> {
    map(be_u8, Safi).parse_complete(i)
}

/// Multiprotocol (RFC 4760 §8): AFI, a reserved octet, SAFI.
fn multiprotocol(i: &[u8]) -> IResult<&[u8], Capability> {
    map((afi, be_u8, safi), |(afi, _, safi)| {
        Capability::Multiprotocol { afi, safi }
    })
    .parse_complete(i)
}

/// One per-family entry of graceful restart (RFC 4724 §3): AFI, SAFI, flags.
fn graceful_restart_family(i: &[u8]) -> IResult<&[u8], (Afi, Safi, bool)> {
    map((afi, safi, be_u8), |(afi, safi, flags)| {
        (afi, safi, flags & GR_FORWARDING != 0)
    })
    .parse_complete(i)
}

/// Graceful restart (RFC 4724 §3): restart flags and time, then families.
fn graceful_restart(i: &[u8]) -> IResult<&[u8], GracefulRestart> {
    map(
        (be_u16, many0(graceful_restart_family)),
        |(word, families)| GracefulRestart {
            restart_state: word & GR_RESTART_STATE != 0,
            notification: word & GR_NOTIFICATION != 0,
            restart_time: word & 0x0FFF,
            families,
        },
    )
    .parse_complete(i)
}

/// One ADD-PATH entry (RFC 7911 §4): AFI, SAFI, Send/Receive as sent.
fn add_path_entry(i: &[u8]) -> IResult<&[u8], (Afi, Safi, u8)> {
    (afi, safi, be_u8).parse_complete(i)
}

impl Capability {
    /// Decodes one capability value; known codes with a wrong length are an
    /// OPEN Message Error/Unspecific, unknown values are kept raw.
    pub fn decode(code: u8, v: &[u8]) -> Result<Capability, DecodeError> {
        let raw = || Capability::Unknown {
            code,
            data: Bytes::copy_from_slice(v),
        };
        let empty = |c: Capability| whole(eof, v).map(|_| c);
        Ok(match code {
            c if c == CapabilityCode::Multiprotocol as u8 => whole(multiprotocol, v)?,
            c if c == CapabilityCode::RouteRefresh as u8 => empty(Capability::RouteRefresh)?,
            c if c == CapabilityCode::ExtendedMessage as u8 => empty(Capability::ExtendedMessage)?,
            c if c == CapabilityCode::EnhancedRouteRefresh as u8 => {
                empty(Capability::EnhancedRouteRefresh)?
            }
            c if c == CapabilityCode::Role as u8 => BgpRole::from_u8(whole(be_u8, v)?)
                .map(Capability::Role)
                .unwrap_or_else(raw),
            c if c == CapabilityCode::FourOctetAs as u8 => {
                Capability::FourOctetAs(whole(be_u32, v)?)
            }
            c if c == CapabilityCode::GracefulRestart as u8 => {
                Capability::GracefulRestart(whole(graceful_restart, v)?)
            }
            c if c == CapabilityCode::AddPath as u8 => {
                // A mode other than 1..=3 keeps the whole capability raw.
                let entries = whole(many1(add_path_entry), v)?;
                let families: Option<Vec<_>> = entries
                    .into_iter()
                    .map(|(afi, safi, mode)| Some((afi, safi, AddPathMode::from_u8(mode)?)))
                    .collect();
                families.map(Capability::AddPath).unwrap_or_else(raw)
            }
            _ => raw(),
        })
    }

    /// Appends this capability (code, length, value).
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let code = match self {
            Capability::Multiprotocol { .. } => CapabilityCode::Multiprotocol as u8,
            Capability::RouteRefresh => CapabilityCode::RouteRefresh as u8,
            Capability::ExtendedMessage => CapabilityCode::ExtendedMessage as u8,
            Capability::Role(_) => CapabilityCode::Role as u8,
            Capability::GracefulRestart(_) => CapabilityCode::GracefulRestart as u8,
            Capability::FourOctetAs(_) => CapabilityCode::FourOctetAs as u8,
            Capability::AddPath(_) => CapabilityCode::AddPath as u8,
            Capability::EnhancedRouteRefresh => CapabilityCode::EnhancedRouteRefresh as u8,
            Capability::Unknown { code, .. } => *code,
        };
        out.put_u8(code);
        let len_at = out.len();
        out.put_u8(0);
        match self {
            Capability::Multiprotocol { afi, safi } => {
                out.put_u16(afi.0);
                out.put_u8(0);
                out.put_u8(safi.0);
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => {}
            Capability::Role(r) => out.put_u8(*r as u8),
            Capability::GracefulRestart(gr) => {
                let mut word = gr.restart_time & 0x0FFF;
                if gr.restart_state {
                    word |= GR_RESTART_STATE;
                }
                if gr.notification {
                    word |= GR_NOTIFICATION;
                }
                out.put_u16(word);
                for (afi, safi, fwd) in &gr.families {
                    out.put_u16(afi.0);
                    out.put_u8(safi.0);
                    out.put_u8(if *fwd { GR_FORWARDING } else { 0 });
                }
            }
            Capability::FourOctetAs(a) => out.put_u32(*a),
            Capability::AddPath(fams) => {
                for (afi, safi, mode) in fams {
                    out.put_u16(afi.0);
                    out.put_u8(safi.0);
                    out.put_u8(*mode as u8);
                }
            }
            Capability::Unknown { data, .. } => out.put_slice(data),
        }
        let len = out.len() - len_at - 1;
        if len > 255 {
            return Err(EncodeError::Invalid("capability value exceeds 255 octets"));
        }
        out[len_at] = len as u8;
        Ok(())
    }
}
