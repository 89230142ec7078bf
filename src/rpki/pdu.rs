//! RTR PDU codec (RFC 8210 §5, version 1; RFC 6810 §5, version 0): framing
//! that tells "incomplete" from "invalid", decode into [`Pdu`] (nom parsers,
//! one per fixed body layout, after the header checks), encode into
//! `BytesMut`, and the Error Report code each malformation maps to (RFC 8210
//! §12). Pure functions: no task, no channel; the RTR client task
//! ([`super::client`]) calls [`decode`] on its read buffer and
//! [`Pdu::encode`] for every PDU it sends. Also the fuzz target `rtr_pdu`.

use bytes::{BufMut, BytesMut};
use ipnet::IpNet;
use nom::bytes::complete::take;
use nom::combinator::{all_consuming, eof, map, peek, rest, verify};
use nom::multi::length_data;
use nom::number::complete::{be_u128, be_u16, be_u32, be_u8};
use nom::sequence::{delimited, terminated};
use nom::{IResult, Parser};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// Encoding, and the Error Report a decode failure calls for.
mod encode;

/// Length of the common header: version, type, session/error field, length
/// (RFC 8210 §5.1).
pub const HEADER_LEN: usize = 8;
/// Largest PDU we accept. RFC 8210 sets no bound; Router Key and Error
/// Report are the only variable PDUs and real ones are far below this.
pub const MAX_PDU_LEN: usize = 64 * 1024;

/// Protocol versions (RFC 6810 is version 0, RFC 8210 is version 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Version {
    /// RFC 6810.
    V0 = 0,
    /// RFC 8210.
    V1 = 1,
}

impl Version {
    /// The version for a header octet, if we speak it.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Version::V0),
            1 => Some(Version::V1),
            _ => None,
        }
    }
}

/// PDU type code points (RFC 8210 §5; IANA "rpki-rtr-pdu").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PduType {
    /// RFC 8210 §5.2.
    SerialNotify = 0,
    /// RFC 8210 §5.3.
    SerialQuery = 1,
    /// RFC 8210 §5.4.
    ResetQuery = 2,
    /// RFC 8210 §5.5.
    CacheResponse = 3,
    /// RFC 8210 §5.6.
    Ipv4Prefix = 4,
    /// RFC 8210 §5.7.
    Ipv6Prefix = 6,
    /// RFC 8210 §5.8.
    EndOfData = 7,
    /// RFC 8210 §5.9.
    CacheReset = 8,
    /// RFC 8210 §5.10 (version 1 only).
    RouterKey = 9,
    /// RFC 8210 §5.11.
    ErrorReport = 10,
}

impl PduType {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => PduType::SerialNotify,
            1 => PduType::SerialQuery,
            2 => PduType::ResetQuery,
            3 => PduType::CacheResponse,
            4 => PduType::Ipv4Prefix,
            6 => PduType::Ipv6Prefix,
            7 => PduType::EndOfData,
            8 => PduType::CacheReset,
            9 => PduType::RouterKey,
            10 => PduType::ErrorReport,
            _ => return None,
        })
    }
}

/// Error Report codes (RFC 8210 §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: Corrupt Data (fatal).
    CorruptData,
    /// 1: Internal Error (fatal).
    InternalError,
    /// 2: No Data Available (not fatal: the cache has nothing yet).
    NoDataAvailable,
    /// 3: Invalid Request (fatal).
    InvalidRequest,
    /// 4: Unsupported Protocol Version (fatal; drives version negotiation, §7).
    UnsupportedVersion,
    /// 5: Unsupported PDU Type (fatal).
    UnsupportedPduType,
    /// 6: Withdrawal of Unknown Record (fatal).
    WithdrawalOfUnknownRecord,
    /// 7: Duplicate Announcement Received (fatal).
    DuplicateAnnouncement,
    /// 8: Unexpected Protocol Version (fatal, RFC 8210 only).
    UnexpectedVersion,
    /// A code this implementation does not know.
    Other(u16),
}

impl ErrorCode {
    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            ErrorCode::CorruptData => 0,
            ErrorCode::InternalError => 1,
            ErrorCode::NoDataAvailable => 2,
            ErrorCode::InvalidRequest => 3,
            ErrorCode::UnsupportedVersion => 4,
            ErrorCode::UnsupportedPduType => 5,
            ErrorCode::WithdrawalOfUnknownRecord => 6,
            ErrorCode::DuplicateAnnouncement => 7,
            ErrorCode::UnexpectedVersion => 8,
            ErrorCode::Other(v) => v,
        }
    }

    /// The code for a wire value.
    pub fn from_u16(v: u16) -> Self {
        match v {
            0 => ErrorCode::CorruptData,
            1 => ErrorCode::InternalError,
            2 => ErrorCode::NoDataAvailable,
            3 => ErrorCode::InvalidRequest,
            4 => ErrorCode::UnsupportedVersion,
            5 => ErrorCode::UnsupportedPduType,
            6 => ErrorCode::WithdrawalOfUnknownRecord,
            7 => ErrorCode::DuplicateAnnouncement,
            8 => ErrorCode::UnexpectedVersion,
            other => ErrorCode::Other(other),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorCode::CorruptData => "Corrupt Data",
            ErrorCode::InternalError => "Internal Error",
            ErrorCode::NoDataAvailable => "No Data Available",
            ErrorCode::InvalidRequest => "Invalid Request",
            ErrorCode::UnsupportedVersion => "Unsupported Protocol Version",
            ErrorCode::UnsupportedPduType => "Unsupported PDU Type",
            ErrorCode::WithdrawalOfUnknownRecord => "Withdrawal of Unknown Record",
            ErrorCode::DuplicateAnnouncement => "Duplicate Announcement Received",
            ErrorCode::UnexpectedVersion => "Unexpected Protocol Version",
            ErrorCode::Other(v) => return write!(f, "error code {v}"),
        };
        f.write_str(s)
    }
}

/// Announce/withdraw flag of prefix and router key PDUs (RFC 8210 §5.6).
pub const FLAG_ANNOUNCE: u8 = 1;

/// One IPv4 or IPv6 Prefix PDU body (RFC 8210 §5.6, §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixPdu {
    /// True for an announcement, false for a withdrawal.
    pub announce: bool,
    /// The prefix (host bits may be set on the wire; kept as sent).
    pub prefix: ipnet::IpNet,
    /// Max Length: the longest prefix this VRP authorizes.
    pub max_len: u8,
    /// The authorized origin AS (0 = AS0, RFC 6483 §4).
    pub asn: u32,
}

/// The three timers of a version-1 End of Data (RFC 8210 §5.8, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Intervals {
    /// Refresh Interval, seconds (1..=86400).
    pub refresh: u32,
    /// Retry Interval, seconds (1..=7200).
    pub retry: u32,
    /// Expire Interval, seconds (600..=172800, larger than refresh and retry).
    pub expire: u32,
}

impl Intervals {
    /// The defaults of RFC 8210 §6.
    pub const DEFAULT: Intervals = Intervals {
        refresh: 3600,
        retry: 600,
        expire: 7200,
    };

    /// Whether the values are within the ranges of RFC 8210 §6.
    pub fn is_valid(&self) -> bool {
        (1..=86_400).contains(&self.refresh)
            && (1..=7_200).contains(&self.retry)
            && (600..=172_800).contains(&self.expire)
            && self.expire > self.refresh
            && self.expire > self.retry
    }
}

/// One RTR PDU (RFC 8210 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu {
    /// The cache has new data (§5.2).
    SerialNotify { session_id: u16, serial: u32 },
    /// The router asks for changes since `serial` (§5.3).
    SerialQuery { session_id: u16, serial: u32 },
    /// The router asks for the whole set (§5.4).
    ResetQuery,
    /// Start of a data transfer (§5.5).
    CacheResponse { session_id: u16 },
    /// One VRP announced or withdrawn (§5.6, §5.7).
    Prefix(PrefixPdu),
    /// End of a data transfer; `intervals` only in version 1 (§5.8).
    EndOfData {
        session_id: u16,
        serial: u32,
        intervals: Option<Intervals>,
    },
    /// The cache cannot answer a Serial Query incrementally (§5.9).
    CacheReset,
    /// A BGPsec router key (§5.10). We do not do BGPsec: decoded and skipped.
    RouterKey { announce: bool, asn: u32 },
    /// An error from either side (§5.11).
    ErrorReport {
        code: ErrorCode,
        /// The offending PDU, possibly empty.
        pdu: Vec<u8>,
        /// Diagnostic text (UTF-8 per RFC; decoded lossily).
        text: String,
    },
}

/// A malformed PDU, with the Error Report it calls for (RFC 8210 §12).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PduError {
    /// The header carries a version we do not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// The PDU type is not assigned, or not valid in this version.
    #[error("unsupported PDU type {0}")]
    UnsupportedType(u8),
    /// The length field does not fit the PDU type, or exceeds [`MAX_PDU_LEN`].
    #[error("PDU type {pdu_type}: bad length {len}")]
    BadLength { pdu_type: u8, len: u32 },
    /// A field holds an impossible value (prefix length, max length, inner length).
    #[error("PDU type {pdu_type}: corrupt: {what}")]
    Corrupt { pdu_type: u8, what: &'static str },
}

impl PduError {
    /// The Error Report code to send back (RFC 8210 §12).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            PduError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            PduError::UnsupportedType(_) => ErrorCode::UnsupportedPduType,
            PduError::BadLength { .. } | PduError::Corrupt { .. } => ErrorCode::CorruptData,
        }
    }
}

/// The common header (RFC 8210 §5.1), as read: nothing checked yet.
struct Header {
    version: u8,
    pdu_type: u8,
    /// Session ID, Error Code, or (Router Key) the flags octet and a zero.
    field: u16,
    len: u32,
}

fn header(i: &[u8]) -> IResult<&[u8], Header> {
    map(
        (be_u8, be_u8, be_u16, be_u32),
        |(version, pdu_type, field, len)| Header {
            version,
            pdu_type,
            field,
            len,
        },
    )
    .parse_complete(i)
}

/// The length of the next PDU in `buf` once its header is there: `Ok(None)`
/// when fewer than [`HEADER_LEN`] octets are buffered, an error when the
/// length field is below the header or above [`MAX_PDU_LEN`].
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, PduError> {
    let Ok((_, h)) = header(buf) else {
        return Ok(None);
    };
    if (h.len as usize) < HEADER_LEN || h.len as usize > MAX_PDU_LEN {
        return Err(PduError::BadLength {
            pdu_type: h.pdu_type,
            len: h.len,
        });
    }
    Ok(Some(h.len as usize))
}

/// Decodes the PDU at the start of `buf`: `Ok(None)` when it is not complete
/// yet, else the version, the PDU and how many octets it took.
pub fn decode(buf: &[u8]) -> Result<Option<(Version, Pdu, usize)>, PduError> {
    let Some(len) = frame_len(buf)? else {
        return Ok(None);
    };
    let Some(pdu) = buf.get(..len) else {
        return Ok(None);
    };
    let (version, pdu) = decode_one(pdu)?;
    Ok(Some((version, pdu, len)))
}

/// Decodes exactly one whole PDU (`b` is header plus body, as framed).
///
/// The header is checked first (version, type, length field against the
/// framed length); then the body must match its type's layout exactly, or
/// the PDU has a bad length.
pub fn decode_one(b: &[u8]) -> Result<(Version, Pdu), PduError> {
    let (body, h) = header(b).map_err(|_| PduError::BadLength {
        pdu_type: b.get(1).copied().unwrap_or(0),
        len: b.len() as u32,
    })?;
    let version = Version::from_u8(h.version).ok_or(PduError::UnsupportedVersion(h.version))?;
    let t = h.pdu_type;
    let pdu_type = PduType::from_u8(t).ok_or(PduError::UnsupportedType(t))?;
    let len = h.len;
    if len as usize != b.len() {
        return Err(PduError::BadLength { pdu_type: t, len });
    }
    let bad_length = |_| PduError::BadLength { pdu_type: t, len };
    let session_id = h.field;
    let pdu = match pdu_type {
        PduType::SerialNotify => Pdu::SerialNotify {
            session_id,
            serial: exactly(be_u32, body).map_err(bad_length)?,
        },
        PduType::SerialQuery => Pdu::SerialQuery {
            session_id,
            serial: exactly(be_u32, body).map_err(bad_length)?,
        },
        PduType::ResetQuery => {
            exactly(eof, body).map_err(bad_length)?;
            Pdu::ResetQuery
        }
        PduType::CacheResponse => {
            exactly(eof, body).map_err(bad_length)?;
            Pdu::CacheResponse { session_id }
        }
        PduType::Ipv4Prefix => {
            let fields = exactly(prefix_body(ipv4_address), body).map_err(bad_length)?;
            Pdu::Prefix(fields.check(t)?)
        }
        PduType::Ipv6Prefix => {
            let fields = exactly(prefix_body(ipv6_address), body).map_err(bad_length)?;
            Pdu::Prefix(fields.check(t)?)
        }
        PduType::EndOfData => match version {
            Version::V0 => Pdu::EndOfData {
                session_id,
                serial: exactly(be_u32, body).map_err(bad_length)?,
                intervals: None,
            },
            Version::V1 => {
                let (serial, intervals) = exactly((be_u32, intervals), body).map_err(bad_length)?;
                Pdu::EndOfData {
                    session_id,
                    serial,
                    intervals: Some(intervals),
                }
            }
        },
        PduType::CacheReset => {
            exactly(eof, body).map_err(bad_length)?;
            Pdu::CacheReset
        }
        PduType::RouterKey => {
            if version == Version::V0 {
                return Err(PduError::UnsupportedType(t));
            }
            let asn = exactly(router_key, body).map_err(bad_length)?;
            // The flags are the first octet of the header's 16-bit field.
            let flags = h.field.to_be_bytes()[0];
            Pdu::RouterKey {
                announce: flags & FLAG_ANNOUNCE != 0,
                asn,
            }
        }
        PduType::ErrorReport => error_report(body, h.field, t, len)?,
    };
    Ok((version, pdu))
}

/// Runs `parser` on the whole of `body`: an error unless it takes every octet.
fn exactly<'a, O>(
    parser: impl Parser<&'a [u8], Output = O, Error = nom::error::Error<&'a [u8]>>,
    body: &'a [u8],
) -> Result<O, nom::Err<nom::error::Error<&'a [u8]>>> {
    all_consuming(parser)
        .parse_complete(body)
        .map(|(_, out)| out)
}

/// The body of an IPv4 or IPv6 Prefix PDU as read (RFC 8210 §5.6, §5.7).
struct PrefixFields {
    flags: u8,
    prefix_len: u8,
    max_len: u8,
    addr: IpAddr,
    asn: u32,
}

/// A Prefix PDU body (RFC 8210 §5.6, §5.7): Flags, Prefix Length, Max
/// Length, a zero octet, the address, the origin ASN.
fn prefix_body<'a>(
    address: fn(&'a [u8]) -> IResult<&'a [u8], IpAddr>,
) -> impl Parser<&'a [u8], Output = PrefixFields, Error = nom::error::Error<&'a [u8]>> {
    map(
        (be_u8, be_u8, be_u8, be_u8, address, be_u32),
        |(flags, prefix_len, max_len, _zero, addr, asn)| PrefixFields {
            flags,
            prefix_len,
            max_len,
            addr,
            asn,
        },
    )
}

/// The 4-octet address of an IPv4 Prefix PDU.
fn ipv4_address(i: &[u8]) -> IResult<&[u8], IpAddr> {
    map(be_u32, |a| IpAddr::V4(Ipv4Addr::from(a))).parse_complete(i)
}

/// The 16-octet address of an IPv6 Prefix PDU.
fn ipv6_address(i: &[u8]) -> IResult<&[u8], IpAddr> {
    map(be_u128, |a| IpAddr::V6(Ipv6Addr::from(a))).parse_complete(i)
}

impl PrefixFields {
    /// The prefix and max lengths checked against the address size (RFC 8210
    /// §5.6: Max Length ≥ Prefix Length, both ≤ size).
    fn check(self, t: u8) -> Result<PrefixPdu, PduError> {
        let corrupt = |what| PduError::Corrupt { pdu_type: t, what };
        let bits = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > bits {
            return Err(corrupt("prefix length beyond the address size"));
        }
        if self.max_len > bits || self.max_len < self.prefix_len {
            return Err(corrupt("max length outside prefix length..=address size"));
        }
        let prefix =
            IpNet::new(self.addr, self.prefix_len).map_err(|_| corrupt("prefix length"))?;
        Ok(PrefixPdu {
            announce: self.flags & FLAG_ANNOUNCE != 0,
            prefix,
            max_len: self.max_len,
            asn: self.asn,
        })
    }
}

/// Refresh, Retry and Expire Intervals of a version-1 End of Data (§5.8).
fn intervals(i: &[u8]) -> IResult<&[u8], Intervals> {
    map((be_u32, be_u32, be_u32), |(refresh, retry, expire)| {
        Intervals {
            refresh,
            retry,
            expire,
        }
    })
    .parse_complete(i)
}

/// The Router Key body (§5.10): SKI (20 octets), ASN, then a non-empty
/// SPKI. Only the ASN is kept.
fn router_key(i: &[u8]) -> IResult<&[u8], u32> {
    let spki = verify(rest, |s: &[u8]| !s.is_empty());
    delimited(take(20usize), be_u32, spki).parse_complete(i)
}

/// The Error Report body (§5.11): the encapsulated PDU and the error text,
/// each behind a 32-bit length; the text must end the PDU.
fn error_report(body: &[u8], code: u16, t: u8, len: u32) -> Result<Pdu, PduError> {
    let corrupt = |what| PduError::Corrupt { pdu_type: t, what };
    if body.len() < 8 {
        return Err(PduError::BadLength { pdu_type: t, len });
    }
    let (after, pdu) = encapsulated_pdu(body).map_err(|_| corrupt("encapsulated PDU length"))?;
    let text = exactly(length_prefixed, after).map_err(|_| corrupt("error text length"))?;
    Ok(Pdu::ErrorReport {
        code: ErrorCode::from_u16(code),
        pdu: pdu.to_vec(),
        text: String::from_utf8_lossy(text).into_owned(),
    })
}

/// A 32-bit length and that many octets.
fn length_prefixed(i: &[u8]) -> IResult<&[u8], &[u8]> {
    length_data(be_u32).parse_complete(i)
}

/// The encapsulated PDU of an Error Report, which must leave room for the
/// error text's length field.
fn encapsulated_pdu(i: &[u8]) -> IResult<&[u8], &[u8]> {
    terminated(length_prefixed, peek(be_u32)).parse_complete(i)
}

#[cfg(test)]
#[path = "pdu_tests.rs"]
mod tests;
