//! BGP-4 wire codec: message framing, decode (hand-written slice patterns,
//! no per-prefix allocation) and encode (`BytesMut`).
//!
//! Owns the on-the-wire representation of every BGP message and nothing else:
//! no I/O, no state beyond what a [`Codec`] context (negotiated 4-octet AS,
//! ADD-PATH, extended message) says. Called from the session task (framing,
//! decode, encode), from fuzz targets and from benches.
//!
//! Layout: `iana` (code points with their RFC), `open` (OPEN and
//! capabilities), `update` (UPDATE and the packing builder), `attr` (path
//! attributes, `attr::codec` their bytes), `nlri` (prefixes, the hot loop),
//! `notification`, `error` (each malformation → one NOTIFICATION or one
//! RFC 7606 action). Entry points: [`frame_len`], [`Message::decode`],
//! [`Message::encode`], [`UpdateBuilder`].

pub mod attr;
pub mod error;
pub mod iana;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod update;

pub use attr::{
    Aggregator, AsPath, AsPathSegment, Community, ExtCommunity, LargeCommunity, Origin, PackedSet,
    PathAttributes, RawAttribute, SegmentType,
};
pub use error::{AttrAction, AttrCause, AttrError, DecodeError};
pub use iana::{Afi, CeaseSubcode, Safi};
pub use nlri::{AddPathPrefix, Prefix};
pub use notification::Notification;
pub use open::{AddPathMode, BgpRole, Capability, GracefulRestart, Open};
pub use update::{MpReach, MpUnreach, Update, UpdateBuilder};

use bytes::{BufMut, BytesMut};
use iana::MessageType;

/// Length of the fixed BGP header (marker 16 + length 2 + type 1), RFC 4271 §4.1.
pub const HEADER_LEN: usize = 19;
/// Maximum message size without the Extended Message capability (RFC 4271 §4).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Maximum message size with the Extended Message capability (RFC 8654).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// One BGP message. UPDATE dominates traffic and is boxed where it is
/// decoded: the reader, the session task and the route engine then hand on
/// a pointer, not its ~360 bytes (each move was a copy: on a full table,
/// memmove was a tenth of the daemon's samples, a third of it in the
/// session side's task polls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Update(Box<Update>),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

/// ROUTE-REFRESH (RFC 2918) with the RFC 7313 message subtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefresh {
    pub afi: Afi,
    pub safi: Safi,
    /// 0 = normal request, 1 = BoRR, 2 = EoRR (RFC 7313 §3.2).
    pub subtype: u8,
}

/// What was negotiated on a session and changes how bytes are read/written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    /// Both sides advertised the 4-octet AS capability (RFC 6793).
    pub four_octet_as: bool,
    /// Both sides agreed to the Extended Message capability (RFC 8654).
    pub extended_message: bool,
    /// ADD-PATH receive is in force for IPv4 unicast (RFC 7911).
    pub add_path_ipv4: bool,
    /// ADD-PATH receive is in force for IPv6 unicast (RFC 7911).
    pub add_path_ipv6: bool,
}

impl Default for Codec {
    fn default() -> Self {
        Codec {
            four_octet_as: true,
            extended_message: false,
            add_path_ipv4: false,
            add_path_ipv6: false,
        }
    }
}

impl Codec {
    /// The largest message this session may send or receive.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            MAX_EXTENDED_MESSAGE_LEN
        } else {
            MAX_MESSAGE_LEN
        }
    }
}

/// An error while encoding (a message that cannot fit, a value out of range).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("message of {0} bytes exceeds the maximum {1}")]
    TooLong(usize, usize),
    #[error("{0}")]
    Invalid(&'static str),
}

/// Framing: `Ok(Some(len))` when `buf` starts with a whole message of `len`
/// bytes, `Ok(None)` when more bytes are needed, `Err` when the header is
/// invalid (bad marker, length or type: RFC 4271 §6.1). OPEN and KEEPALIVE
/// stay limited to 4096 octets even with Extended Message (RFC 8654 §3).
pub fn frame_len(buf: &[u8], codec: &Codec) -> Result<Option<usize>, DecodeError> {
    let marker = &buf[..buf.len().min(16)];
    if marker.iter().any(|&b| b != 0xFF) {
        return Err(DecodeError::BadMarker);
    }
    let [_, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, l0, l1, t, ..] = buf else {
        return Ok(None);
    };
    let len = u16::from_be_bytes([*l0, *l1]);
    let n = len as usize;
    if n < HEADER_LEN || n > codec.max_message_len() {
        return Err(DecodeError::BadLength(len));
    }
    let Some(kind) = MessageType::from_u8(*t) else {
        return Err(DecodeError::BadType(*t));
    };
    let too_long_for_type = match kind {
        MessageType::Keepalive => n != HEADER_LEN,
        MessageType::Open => n > MAX_MESSAGE_LEN,
        _ => false,
    };
    if n < kind.min_len() || too_long_for_type {
        return Err(DecodeError::BadLength(len));
    }
    Ok((buf.len() >= n).then_some(n))
}

impl From<Update> for Message {
    fn from(u: Update) -> Message {
        Message::Update(Box::new(u))
    }
}

impl Message {
    /// Decodes one whole message (header included) from the start of `buf`;
    /// bytes after the message's Length are left alone.
    pub fn decode(buf: &[u8], codec: &Codec) -> Result<Message, DecodeError> {
        let n = frame_len(buf, codec)?.ok_or(DecodeError::Incomplete)?;
        let body = &buf[HEADER_LEN..n];
        // frame_len has validated the type.
        match MessageType::from_u8(buf[18]) {
            Some(MessageType::Open) => Open::decode_body(body).map(Message::Open),
            Some(MessageType::Update) => Update::decode_body(body, codec).map(Message::from),
            Some(MessageType::Notification) => Notification::decode_body(body)
                .map(Message::Notification)
                .ok_or(DecodeError::BadNotification),
            Some(MessageType::Keepalive) => Ok(Message::Keepalive),
            Some(MessageType::RouteRefresh) => match body {
                [a0, a1, subtype, safi] => Ok(Message::RouteRefresh(RouteRefresh {
                    afi: Afi(u16::from_be_bytes([*a0, *a1])),
                    safi: Safi(*safi),
                    subtype: *subtype,
                })),
                // RFC 7313 §5: BoRR/EoRR of the wrong length carry the whole message back.
                [_, _, 1 | 2, ..] => Err(DecodeError::RouteRefreshLength(
                    bytes::Bytes::copy_from_slice(&buf[..n]),
                )),
                _ => Err(DecodeError::BadLength(n as u16)),
            },
            None => Err(DecodeError::BadType(buf[18])),
        }
    }

    /// The message type code.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Appends this message, header included, to `out`. On error `out` is
    /// left as it was.
    pub fn encode(&self, codec: &Codec, out: &mut bytes::BytesMut) -> Result<(), EncodeError> {
        let max = match self {
            Message::Open(_) | Message::Keepalive => MAX_MESSAGE_LEN,
            _ => codec.max_message_len(),
        };
        framed(out, self.message_type(), max, |out| match self {
            Message::Open(o) => o.encode_body(out),
            Message::Update(u) => u.encode_body(codec, out),
            Message::Notification(n) => {
                // Data that would not fit (a whole received message sent
                // back, RFC 7313 §5) is cut to the largest message: the
                // NOTIFICATION itself must go out (RFC 8654 §5).
                let room = max.saturating_sub(HEADER_LEN + 2);
                if n.data.len() > room {
                    let mut cut = n.clone();
                    cut.data.truncate(room);
                    cut.encode_body(out);
                } else {
                    n.encode_body(out);
                }
                Ok(())
            }
            Message::Keepalive => Ok(()),
            Message::RouteRefresh(r) => {
                out.put_u16(r.afi.0);
                out.put_u8(r.subtype);
                out.put_u8(r.safi.0);
                Ok(())
            }
        })
    }
}

impl Update {
    /// Appends this UPDATE as a message, header included, to `out` (what
    /// [`Message::encode`] does for it, without boxing a copy). On error
    /// `out` is left as it was.
    pub fn encode(&self, codec: &Codec, out: &mut BytesMut) -> Result<(), EncodeError> {
        framed(out, MessageType::Update, codec.max_message_len(), |out| {
            self.encode_body(codec, out)
        })
    }
}

/// Appends one message of `kind` whose body `body` writes, at most `max`
/// bytes long with its header; on error `out` is left as it was.
fn framed(
    out: &mut BytesMut,
    kind: MessageType,
    max: usize,
    body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = begin_message(out, kind);
    let res = body(out).and_then(|()| finish_message(out, start, max));
    if res.is_err() {
        out.truncate(start);
    }
    res
}

/// Writes a header with a placeholder length; returns where the message starts.
pub(crate) fn begin_message(out: &mut BytesMut, kind: MessageType) -> usize {
    let start = out.len();
    out.reserve(HEADER_LEN);
    out.put_slice(&[0xFF; 16]);
    out.put_u16(0);
    out.put_u8(kind as u8);
    start
}

/// Fills in the Length of the message begun at `start`, checking `max`.
pub(crate) fn finish_message(
    out: &mut BytesMut,
    start: usize,
    max: usize,
) -> Result<(), EncodeError> {
    let len = out.len() - start;
    if len > max {
        out.truncate(start);
        return Err(EncodeError::TooLong(len, max));
    }
    out[start + 16..start + 18].copy_from_slice(&(len as u16).to_be_bytes());
    Ok(())
}
