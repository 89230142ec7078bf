//! NLRI: prefixes as they appear in UPDATE withdrawn/NLRI fields and in
//! MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4271 §4.3, RFC 4760 §5), with the
//! optional ADD-PATH path identifier (RFC 7911 §3).
//!
//! The hot path of a full-table load: decode is a hand loop with no
//! per-prefix allocation (the output `Vec` is pre-sized from the remaining
//! bytes). Called from UPDATE decode/encode in the session task.

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr};

pub use ipnet::IpNet as Prefix;

/// The unit tests' prefix literal: `"192.0.2.0/24"` parsed, or a panic
/// naming it.
#[cfg(test)]
pub fn p(s: &str) -> Prefix {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// One NLRI entry: a prefix and, when ADD-PATH is in force, its path identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddPathPrefix {
    /// Path identifier (RFC 7911); `None` when ADD-PATH is not negotiated.
    pub path_id: Option<u32>,
    pub prefix: Prefix,
}

impl AddPathPrefix {
    /// A prefix without a path identifier.
    pub fn new(prefix: Prefix) -> Self {
        AddPathPrefix {
            path_id: None,
            prefix,
        }
    }

    /// Octets this entry takes on the wire (RFC 4271 §4.3, RFC 7911 §3).
    #[inline]
    pub fn wire_len(&self, add_path: bool) -> usize {
        1 + (self.prefix.prefix_len() as usize).div_ceil(8) + if add_path { 4 } else { 0 }
    }
}

impl From<Prefix> for AddPathPrefix {
    fn from(prefix: Prefix) -> Self {
        AddPathPrefix::new(prefix)
    }
}

/// A syntactically invalid NLRI field: a prefix length beyond the address
/// size, or an entry running past the end of the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed NLRI at offset {0}")]
pub struct NlriError(pub usize);

/// The address family of an NLRI field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// 32-bit prefixes.
    Ipv4,
    /// 128-bit prefixes.
    Ipv6,
}

/// Decodes a whole NLRI field of `family` into `out` (host bits beyond the
/// prefix length are cleared). `add_path`: each entry starts with a 4-octet
/// path identifier (RFC 7911 §3).
pub fn decode_prefixes(
    buf: &[u8],
    family: Family,
    add_path: bool,
    out: &mut Vec<AddPathPrefix>,
) -> Result<(), NlriError> {
    // Typical entries are 4 octets (/24) or more: never reserve more than the
    // bytes could hold.
    out.reserve(buf.len() / 4 + 1);
    let max_len: u8 = match family {
        Family::Ipv4 => 32,
        Family::Ipv6 => 128,
    };
    let mut i = 0usize;
    while i < buf.len() {
        let start = i;
        let path_id = if add_path {
            let b = buf.get(i..i + 4).ok_or(NlriError(start))?;
            i += 4;
            Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        } else {
            None
        };
        let plen = *buf.get(i).ok_or(NlriError(start))?;
        i += 1;
        if plen > max_len {
            return Err(NlriError(start));
        }
        let n = (plen as usize).div_ceil(8);
        let bytes = buf.get(i..i + n).ok_or(NlriError(start))?;
        i += n;
        let prefix = match family {
            Family::Ipv4 => {
                let mut a = [0u8; 4];
                a[..n].copy_from_slice(bytes);
                let v = u32::from_be_bytes(a) & mask32(plen);
                IpNet::V4(Ipv4Net::new(Ipv4Addr::from(v), plen).map_err(|_| NlriError(start))?)
            }
            Family::Ipv6 => {
                let mut a = [0u8; 16];
                a[..n].copy_from_slice(bytes);
                let v = u128::from_be_bytes(a) & mask128(plen);
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(v), plen).map_err(|_| NlriError(start))?)
            }
        };
        out.push(AddPathPrefix { path_id, prefix });
    }
    Ok(())
}

#[inline]
fn mask32(plen: u8) -> u32 {
    if plen == 0 {
        0
    } else {
        u32::MAX << (32 - plen as u32)
    }
}

#[inline]
fn mask128(plen: u8) -> u128 {
    if plen == 0 {
        0
    } else {
        u128::MAX << (128 - plen as u32)
    }
}

/// Octets [`write_v4`] may write past an entry's wire length.
pub(crate) const V4_WRITE_SLACK: usize = 4;

/// Writes one IPv4 entry at the start of `dst` with fixed-size stores and
/// returns its wire length; `dst` must hold the wire length plus
/// [`V4_WRITE_SLACK`] octets (the octets past the wire length are scratch).
/// The hot loop of [`super::UpdateBuilder`]: no per-prefix memmove call.
#[inline]
pub(crate) fn write_v4(
    dst: &mut [u8],
    net: &Ipv4Net,
    path_id: Option<u32>,
    add_path: bool,
) -> usize {
    let plen = net.prefix_len();
    let n = (plen as usize).div_ceil(8);
    let v = (u32::from(net.addr()) & mask32(plen)).to_be_bytes();
    let entry = [plen, v[0], v[1], v[2], v[3]];
    if add_path {
        dst[..4].copy_from_slice(&path_id.unwrap_or(0).to_be_bytes());
        dst[4..9].copy_from_slice(&entry);
        5 + n
    } else {
        dst[..5].copy_from_slice(&entry);
        1 + n
    }
}

/// Appends one NLRI entry; with `add_path` a missing path identifier is sent as 0.
#[inline]
pub fn encode_prefix(p: &AddPathPrefix, add_path: bool, out: &mut BytesMut) {
    if add_path {
        out.put_u32(p.path_id.unwrap_or(0));
    }
    let plen = p.prefix.prefix_len();
    let n = (plen as usize).div_ceil(8);
    match p.prefix {
        IpNet::V4(net) => {
            // A fixed 5-octet copy (no memmove call for a variable length),
            // then drop the octets the prefix length does not use.
            let v = (u32::from(net.addr()) & mask32(plen)).to_be_bytes();
            out.put_slice(&[plen, v[0], v[1], v[2], v[3]]);
            out.truncate(out.len() - (4 - n));
        }
        IpNet::V6(net) => {
            let v = u128::from(net.addr()) & mask128(plen);
            out.put_u8(plen);
            out.put_slice(&v.to_be_bytes()[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(buf: &[u8], family: Family, add_path: bool) -> Result<Vec<AddPathPrefix>, NlriError> {
        let mut out = Vec::new();
        decode_prefixes(buf, family, add_path, &mut out).map(|()| out)
    }

    #[test]
    fn prefix_lengths_beyond_the_family_are_rejected_at_their_offset() {
        assert_eq!(
            decode(&[8, 10, 33, 1, 2, 3, 4, 5], Family::Ipv4, false),
            Err(NlriError(2))
        );
        assert_eq!(decode(&[129], Family::Ipv6, false), Err(NlriError(0)));
        assert!(decode(&[128; 17], Family::Ipv6, false).is_ok());
    }

    #[test]
    fn truncated_entries_are_rejected() {
        assert_eq!(decode(&[24, 10, 0], Family::Ipv4, false), Err(NlriError(0)));
        assert_eq!(decode(&[0, 0, 0], Family::Ipv4, true), Err(NlriError(0)));
    }

    #[test]
    fn wire_len_counts_length_octet_address_octets_and_path_id() {
        let p = AddPathPrefix::new("10.1.2.0/23".parse().unwrap_or_default());
        assert_eq!(p.wire_len(false), 4);
        assert_eq!(p.wire_len(true), 8);
        let mut out = BytesMut::new();
        encode_prefix(&p, true, &mut out);
        assert_eq!(&out[..], &[0, 0, 0, 0, 23, 10, 1, 2]);
    }
}
