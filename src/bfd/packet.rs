//! BFD Control packet codec (RFC 5880 §4.1, §4.2) with the reception checks of
//! §6.8.6 that concern the packet alone. The decoder reads the mandatory
//! section with nom (the bit fields of the first two octets split with
//! shifts), then checks it in the order of §6.8.6. Pure functions: no task,
//! no channel;
//! the BFD service thread ([`super::service`]) calls [`ControlPacket::decode`]
//! on every datagram and [`ControlPacket::encode`] for every packet it sends.

use bitflags::bitflags;
use nom::bytes::complete::take;
use nom::combinator::{map, rest};
use nom::number::complete::{be_u32, be_u8};
use nom::{IResult, Parser};
use std::fmt;
use std::time::Duration;
use thiserror::Error;

/// Protocol version carried in every packet (RFC 5880 §4.1, "Vers").
pub const VERSION: u8 = 1;
/// Length of the mandatory section (RFC 5880 §4.1).
pub const MANDATORY_LEN: usize = 24;
/// Minimum length when the A bit is set: the mandatory section plus the
/// Auth Type and Auth Len octets (RFC 5880 §6.8.6).
pub const MIN_AUTH_LEN: usize = MANDATORY_LEN + 2;

bitflags! {
    /// The six flag bits after the State field (RFC 5880 §4.1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Flags: u8 {
        /// Poll: the sender asks for verification of a parameter change (§6.5).
        const POLL = 0x20;
        /// Final: the answer to a Poll (§6.5).
        const FINAL = 0x10;
        /// Control Plane Independent (§4.1).
        const CPI = 0x08;
        /// Authentication Present (§4.1, §6.7).
        const AUTH = 0x04;
        /// Demand mode (§6.6).
        const DEMAND = 0x02;
        /// Multipoint, reserved: must be zero (§4.1).
        const MULTIPOINT = 0x01;
    }
}

/// Session state as carried in the Sta field (RFC 5880 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum State {
    /// The session is administratively held down (§6.8.16).
    AdminDown = 0,
    /// The session is down or just created.
    Down = 1,
    /// The remote system is talking to us; we wait for it to see us.
    Init = 2,
    /// Both systems see each other.
    Up = 3,
}

impl State {
    /// Decodes the two-bit Sta field.
    pub fn from_bits(bits: u8) -> State {
        match bits & 0x03 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// The RFC name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Diagnostic code: why the local system last left Up (RFC 5880 §4.1, "Diag").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diagnostic {
    /// 0 — No Diagnostic.
    None,
    /// 1 — Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2 — Echo Function Failed.
    EchoFunctionFailed,
    /// 3 — Neighbor Signaled Session Down.
    NeighborSignaledDown,
    /// 4 — Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5 — Path Down.
    PathDown,
    /// 6 — Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7 — Administratively Down.
    AdministrativelyDown,
    /// 8 — Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9–31 — reserved for future use; kept so a packet round-trips.
    Reserved(u8),
}

impl Diagnostic {
    /// Decodes the five-bit Diag field.
    pub fn from_code(code: u8) -> Diagnostic {
        match code & 0x1f {
            0 => Diagnostic::None,
            1 => Diagnostic::ControlDetectionTimeExpired,
            2 => Diagnostic::EchoFunctionFailed,
            3 => Diagnostic::NeighborSignaledDown,
            4 => Diagnostic::ForwardingPlaneReset,
            5 => Diagnostic::PathDown,
            6 => Diagnostic::ConcatenatedPathDown,
            7 => Diagnostic::AdministrativelyDown,
            8 => Diagnostic::ReverseConcatenatedPathDown,
            other => Diagnostic::Reserved(other),
        }
    }

    /// The five-bit code.
    pub fn code(self) -> u8 {
        match self {
            Diagnostic::None => 0,
            Diagnostic::ControlDetectionTimeExpired => 1,
            Diagnostic::EchoFunctionFailed => 2,
            Diagnostic::NeighborSignaledDown => 3,
            Diagnostic::ForwardingPlaneReset => 4,
            Diagnostic::PathDown => 5,
            Diagnostic::ConcatenatedPathDown => 6,
            Diagnostic::AdministrativelyDown => 7,
            Diagnostic::ReverseConcatenatedPathDown => 8,
            Diagnostic::Reserved(code) => code & 0x1f,
        }
    }
}

/// The optional authentication section (RFC 5880 §4.2), kept opaque: the
/// service does not use authentication and discards authenticated packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSection {
    /// Auth Type (§4.2: 1 simple password, 2/3 keyed MD5, 4/5 keyed SHA1).
    pub auth_type: u8,
    /// The octets after Auth Type and Auth Len.
    pub data: Vec<u8>,
}

/// One BFD Control packet (RFC 5880 §4.1). Intervals are in microseconds,
/// as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPacket {
    /// Diag.
    pub diag: Diagnostic,
    /// Sta.
    pub state: State,
    /// P F C A D M. `AUTH` is set by [`ControlPacket::encode`] from `auth`.
    pub flags: Flags,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discriminator: u32,
    /// Your Discriminator.
    pub your_discriminator: u32,
    /// Desired Min TX Interval, microseconds.
    pub desired_min_tx_us: u32,
    /// Required Min RX Interval, microseconds.
    pub required_min_rx_us: u32,
    /// Required Min Echo RX Interval, microseconds.
    pub required_min_echo_rx_us: u32,
    /// Authentication section, present iff the A bit is set.
    pub auth: Option<AuthSection>,
}

/// Why a received packet is discarded (RFC 5880 §6.8.6, packet checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PacketError {
    /// Fewer octets than the mandatory section.
    #[error("packet of {received} octets is shorter than the 24-octet mandatory section")]
    TooShort { received: usize },
    /// Version is not 1.
    #[error("unsupported BFD version {0}")]
    BadVersion(u8),
    /// Length field below 24 (A clear) or 26 (A set).
    #[error("length field {length} is below the minimum {min}")]
    LengthTooSmall { length: u8, min: u8 },
    /// Length field larger than the datagram.
    #[error("length field {length} exceeds the {received} octets received")]
    LengthExceedsPayload { length: u8, received: usize },
    /// Detect Mult is zero.
    #[error("detect multiplier is zero")]
    ZeroDetectMult,
    /// The Multipoint bit is set.
    #[error("multipoint bit is set")]
    Multipoint,
    /// My Discriminator is zero.
    #[error("my discriminator is zero")]
    ZeroMyDiscriminator,
    /// Your Discriminator is zero while the state is Init or Up.
    #[error("your discriminator is zero in state {state}")]
    ZeroYourDiscriminator { state: State },
    /// The Auth Len field does not fit the packet's Length field.
    #[error("auth len {auth_len} does not fit a packet of length {length}")]
    AuthLength { auth_len: u8, length: u8 },
}

/// The mandatory section (RFC 5880 §4.1) as read: nothing checked yet.
struct Mandatory {
    version: u8,
    diag: Diagnostic,
    state: State,
    flags: Flags,
    detect_mult: u8,
    length: u8,
    my_discriminator: u32,
    your_discriminator: u32,
    desired_min_tx_us: u32,
    required_min_rx_us: u32,
    required_min_echo_rx_us: u32,
}

/// Vers (3 bits), Diag (5), Sta (2) and the six flag bits P F C A D M, read
/// as two octets and split with shifts (nom's bit parser cost ~80 ns per
/// packet; this is a few).
fn first_two_octets(i: &[u8]) -> IResult<&[u8], (u8, Diagnostic, State, Flags)> {
    map((be_u8, be_u8), |(a, b)| {
        (
            a >> 5,
            Diagnostic::from_code(a & 0x1f),
            State::from_bits(b >> 6),
            Flags::from_bits_truncate(b & 0x3f),
        )
    })
    .parse_complete(i)
}

/// The 24-octet mandatory section.
fn mandatory_section(i: &[u8]) -> IResult<&[u8], Mandatory> {
    let (i, (version, diag, state, flags)) = first_two_octets(i)?;
    let (i, (detect_mult, length)) = (be_u8, be_u8).parse_complete(i)?;
    let (i, (my_discriminator, your_discriminator)) = (be_u32, be_u32).parse_complete(i)?;
    let (i, (desired_min_tx_us, required_min_rx_us, required_min_echo_rx_us)) =
        (be_u32, be_u32, be_u32).parse_complete(i)?;
    Ok((
        i,
        Mandatory {
            version,
            diag,
            state,
            flags,
            detect_mult,
            length,
            my_discriminator,
            your_discriminator,
            desired_min_tx_us,
            required_min_rx_us,
            required_min_echo_rx_us,
        },
    ))
}

/// The authentication section (§4.2) up to the Length field: Auth Type,
/// Auth Len, and the octets after them.
fn auth_section(i: &[u8]) -> IResult<&[u8], (u8, u8, &[u8])> {
    (be_u8, be_u8, rest).parse_complete(i)
}

impl ControlPacket {
    /// Decodes one datagram, applying every RFC 5880 §6.8.6 check that needs
    /// only the packet, in the order of [`PacketError`]'s variants. Octets
    /// past the Length field are ignored.
    pub fn decode(buf: &[u8]) -> Result<ControlPacket, PacketError> {
        let (after, m) = mandatory_section(buf).map_err(|_| PacketError::TooShort {
            received: buf.len(),
        })?;
        if m.version != VERSION {
            return Err(PacketError::BadVersion(m.version));
        }
        let length = m.length;
        let min = if m.flags.contains(Flags::AUTH) {
            MIN_AUTH_LEN
        } else {
            MANDATORY_LEN
        };
        if usize::from(length) < min {
            return Err(PacketError::LengthTooSmall {
                length,
                min: min as u8,
            });
        }
        // The rest of the packet as the Length field counts it.
        let section: IResult<&[u8], &[u8]> =
            take(usize::from(length) - MANDATORY_LEN).parse_complete(after);
        let (_, section) = section.map_err(|_| PacketError::LengthExceedsPayload {
            length,
            received: buf.len(),
        })?;
        if m.detect_mult == 0 {
            return Err(PacketError::ZeroDetectMult);
        }
        if m.flags.contains(Flags::MULTIPOINT) {
            return Err(PacketError::Multipoint);
        }
        if m.my_discriminator == 0 {
            return Err(PacketError::ZeroMyDiscriminator);
        }
        if m.your_discriminator == 0 && !matches!(m.state, State::Down | State::AdminDown) {
            return Err(PacketError::ZeroYourDiscriminator { state: m.state });
        }
        let auth = if m.flags.contains(Flags::AUTH) {
            let bad_auth_len = |auth_len| PacketError::AuthLength { auth_len, length };
            let (_, (auth_type, auth_len, data)) =
                auth_section(section).map_err(|_| bad_auth_len(0))?;
            // §4.2: Auth Len counts Auth Type and Auth Len themselves.
            if auth_len < 2 || usize::from(auth_len) != section.len() {
                return Err(bad_auth_len(auth_len));
            }
            Some(AuthSection {
                auth_type,
                data: data.to_vec(),
            })
        } else {
            None
        };
        Ok(ControlPacket {
            diag: m.diag,
            state: m.state,
            flags: m.flags,
            detect_mult: m.detect_mult,
            my_discriminator: m.my_discriminator,
            your_discriminator: m.your_discriminator,
            desired_min_tx_us: m.desired_min_tx_us,
            required_min_rx_us: m.required_min_rx_us,
            required_min_echo_rx_us: m.required_min_echo_rx_us,
            auth,
        })
    }

    /// Encodes the packet, appending to `out`. The A bit and the Length field
    /// follow `auth`; an auth section longer than the one-octet Length allows
    /// is truncated.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let auth_data = self
            .auth
            .as_ref()
            .map(|a| &a.data[..a.data.len().min(255 - MIN_AUTH_LEN)]);
        let length = MANDATORY_LEN + auth_data.map_or(0, |d| d.len() + 2);
        let mut flags = self.flags - Flags::AUTH;
        if self.auth.is_some() {
            flags |= Flags::AUTH;
        }
        out.reserve(length);
        out.push((VERSION << 5) | self.diag.code());
        out.push(((self.state as u8) << 6) | flags.bits());
        out.push(self.detect_mult);
        out.push(length as u8);
        out.extend_from_slice(&self.my_discriminator.to_be_bytes());
        out.extend_from_slice(&self.your_discriminator.to_be_bytes());
        out.extend_from_slice(&self.desired_min_tx_us.to_be_bytes());
        out.extend_from_slice(&self.required_min_rx_us.to_be_bytes());
        out.extend_from_slice(&self.required_min_echo_rx_us.to_be_bytes());
        if let (Some(auth), Some(data)) = (&self.auth, auth_data) {
            out.push(auth.auth_type);
            out.push((data.len() + 2) as u8);
            out.extend_from_slice(data);
        }
    }

    /// Encodes into a fresh vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MANDATORY_LEN);
        self.encode(&mut out);
        out
    }

    /// Desired Min TX Interval as a duration.
    pub fn desired_min_tx(&self) -> Duration {
        Duration::from_micros(u64::from(self.desired_min_tx_us))
    }

    /// Required Min RX Interval as a duration.
    pub fn required_min_rx(&self) -> Duration {
        Duration::from_micros(u64::from(self.required_min_rx_us))
    }
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
