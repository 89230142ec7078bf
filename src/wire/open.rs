//! OPEN message (RFC 4271 §4.2), optional parameters with the extended
//! length of RFC 9072, and capabilities (RFC 5492 and the RFC per variant).
//!
//! Pure byte conversion called by the session task while opening a session.

use super::error::DecodeError;
use super::iana::{opt_param, Afi, CapabilityCode, OpenSubcode, Safi, BGP_VERSION};
use super::EncodeError;
use bytes::{BufMut, Bytes, BytesMut};
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

impl Open {
    /// Decodes an OPEN body (after the 19-octet header), RFC 4271 §4.2 and §6.2.
    pub fn decode_body(body: &[u8]) -> Result<Open, DecodeError> {
        let [version, as0, as1, h0, h1, i0, i1, i2, i3, opt_len, rest @ ..] = body else {
            return Err(malformed());
        };
        if *version != BGP_VERSION {
            return Err(DecodeError::Open(
                OpenSubcode::UnsupportedVersionNumber,
                Bytes::copy_from_slice(&(BGP_VERSION as u16).to_be_bytes()),
            ));
        }
        let mut capabilities = Vec::new();
        // RFC 9072 §2: a non-zero length followed by type 255 selects the
        // extended format with 2-octet lengths.
        let extended = *opt_len != 0 && rest.first() == Some(&opt_param::EXTENDED_LENGTH);
        let (mut params, len_size) = if extended {
            let [_, l0, l1, params @ ..] = rest else {
                return Err(malformed());
            };
            let len = u16::from_be_bytes([*l0, *l1]) as usize;
            if params.len() != len {
                return Err(malformed());
            }
            (params, 2)
        } else {
            let len = *opt_len as usize;
            if rest.len() != len {
                return Err(malformed());
            }
            (rest, 1)
        };
        while !params.is_empty() {
            let hdr = 1 + len_size;
            if params.len() < hdr {
                return Err(malformed());
            }
            let ptype = params[0];
            let plen = if len_size == 2 {
                u16::from_be_bytes([params[1], params[2]]) as usize
            } else {
                params[1] as usize
            };
            let value = params.get(hdr..hdr + plen).ok_or_else(malformed)?;
            params = &params[hdr + plen..];
            if ptype != opt_param::CAPABILITIES {
                return Err(DecodeError::open(OpenSubcode::UnsupportedOptionalParameter));
            }
            decode_capabilities(value, &mut capabilities)?;
        }
        let hold_time = u16::from_be_bytes([*h0, *h1]);
        if hold_time == 1 || hold_time == 2 {
            return Err(DecodeError::open(OpenSubcode::UnacceptableHoldTime));
        }
        let bgp_id = Ipv4Addr::new(*i0, *i1, *i2, *i3);
        if bgp_id.is_unspecified() {
            // RFC 6286 §2.2: only zero is invalid on its own.
            return Err(DecodeError::open(OpenSubcode::BadBgpIdentifier));
        }
        Ok(Open {
            version: *version,
            my_as: u16::from_be_bytes([*as0, *as1]),
            hold_time,
            bgp_id,
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

/// Decodes the capabilities of one Capabilities optional parameter (RFC 5492 §4).
fn decode_capabilities(mut buf: &[u8], out: &mut Vec<Capability>) -> Result<(), DecodeError> {
    while let [code, len, rest @ ..] = buf {
        let value = rest.get(..*len as usize).ok_or_else(malformed)?;
        buf = &rest[*len as usize..];
        out.push(Capability::decode(*code, value)?);
    }
    if buf.is_empty() {
        Ok(())
    } else {
        Err(malformed())
    }
}

impl Capability {
    /// Decodes one capability value; known codes with a wrong length are an
    /// OPEN Message Error/Unspecific, unknown values are kept raw.
    pub fn decode(code: u8, v: &[u8]) -> Result<Capability, DecodeError> {
        let raw = || Capability::Unknown {
            code,
            data: Bytes::copy_from_slice(v),
        };
        let empty = |c: Capability| {
            if v.is_empty() {
                Ok(c)
            } else {
                Err(malformed())
            }
        };
        Ok(match code {
            c if c == CapabilityCode::Multiprotocol as u8 => match v {
                [a0, a1, _, s] => Capability::Multiprotocol {
                    afi: Afi(u16::from_be_bytes([*a0, *a1])),
                    safi: Safi(*s),
                },
                _ => return Err(malformed()),
            },
            c if c == CapabilityCode::RouteRefresh as u8 => empty(Capability::RouteRefresh)?,
            c if c == CapabilityCode::ExtendedMessage as u8 => empty(Capability::ExtendedMessage)?,
            c if c == CapabilityCode::EnhancedRouteRefresh as u8 => {
                empty(Capability::EnhancedRouteRefresh)?
            }
            c if c == CapabilityCode::Role as u8 => match v {
                [r] => BgpRole::from_u8(*r)
                    .map(Capability::Role)
                    .unwrap_or_else(raw),
                _ => return Err(malformed()),
            },
            c if c == CapabilityCode::FourOctetAs as u8 => match v {
                [a, b, c, d] => Capability::FourOctetAs(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => return Err(malformed()),
            },
            c if c == CapabilityCode::GracefulRestart as u8 => {
                let [f0, f1, fams @ ..] = v else {
                    return Err(malformed());
                };
                if !fams.len().is_multiple_of(4) {
                    return Err(malformed());
                }
                let word = u16::from_be_bytes([*f0, *f1]);
                Capability::GracefulRestart(GracefulRestart {
                    restart_state: word & GR_RESTART_STATE != 0,
                    notification: word & GR_NOTIFICATION != 0,
                    restart_time: word & 0x0FFF,
                    families: fams
                        .chunks_exact(4)
                        .map(|f| {
                            (
                                Afi(u16::from_be_bytes([f[0], f[1]])),
                                Safi(f[2]),
                                f[3] & GR_FORWARDING != 0,
                            )
                        })
                        .collect(),
                })
            }
            c if c == CapabilityCode::AddPath as u8 => {
                if v.is_empty() || !v.len().is_multiple_of(4) {
                    return Err(malformed());
                }
                let mut fams = Vec::with_capacity(v.len() / 4);
                for f in v.chunks_exact(4) {
                    match AddPathMode::from_u8(f[3]) {
                        Some(m) => {
                            fams.push((Afi(u16::from_be_bytes([f[0], f[1]])), Safi(f[2]), m))
                        }
                        None => return Ok(raw()),
                    }
                }
                Capability::AddPath(fams)
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
