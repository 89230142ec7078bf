//! Encoding RTR PDUs (RFC 8210 §5; RFC 6810 §5 for version 0) into
//! `BytesMut`, and the Error Report a decode failure calls for.

use super::*;

impl Pdu {
    /// Appends the PDU in `version` to `out`. A version-1 End of Data without
    /// intervals is sent with the RFC 8210 §6 defaults; in version 0 the
    /// intervals are left out and a Router Key is not encodable (skipped).
    pub fn encode(&self, version: Version, out: &mut BytesMut) {
        let header = |out: &mut BytesMut, t: PduType, field: u16, len: u32| {
            out.put_u8(version as u8);
            out.put_u8(t as u8);
            out.put_u16(field);
            out.put_u32(len);
        };
        match self {
            Pdu::SerialNotify { session_id, serial } => {
                header(out, PduType::SerialNotify, *session_id, 12);
                out.put_u32(*serial);
            }
            Pdu::SerialQuery { session_id, serial } => {
                header(out, PduType::SerialQuery, *session_id, 12);
                out.put_u32(*serial);
            }
            Pdu::ResetQuery => header(out, PduType::ResetQuery, 0, 8),
            Pdu::CacheResponse { session_id } => {
                header(out, PduType::CacheResponse, *session_id, 8)
            }
            Pdu::Prefix(p) => {
                let flags = if p.announce { FLAG_ANNOUNCE } else { 0 };
                match p.prefix {
                    ipnet::IpNet::V4(n) => {
                        header(out, PduType::Ipv4Prefix, 0, 20);
                        out.put_slice(&[flags, n.prefix_len(), p.max_len, 0]);
                        out.put_slice(&n.addr().octets());
                    }
                    ipnet::IpNet::V6(n) => {
                        header(out, PduType::Ipv6Prefix, 0, 32);
                        out.put_slice(&[flags, n.prefix_len(), p.max_len, 0]);
                        out.put_slice(&n.addr().octets());
                    }
                }
                out.put_u32(p.asn);
            }
            Pdu::EndOfData {
                session_id,
                serial,
                intervals,
            } => match version {
                Version::V0 => {
                    header(out, PduType::EndOfData, *session_id, 12);
                    out.put_u32(*serial);
                }
                Version::V1 => {
                    let i = intervals.unwrap_or(Intervals::DEFAULT);
                    header(out, PduType::EndOfData, *session_id, 24);
                    out.put_u32(*serial);
                    out.put_u32(i.refresh);
                    out.put_u32(i.retry);
                    out.put_u32(i.expire);
                }
            },
            Pdu::CacheReset => header(out, PduType::CacheReset, 0, 8),
            Pdu::RouterKey { announce, asn } => {
                if version == Version::V0 {
                    return;
                }
                // A placeholder SKI (zeros) and a one-octet SPKI: enough for
                // tests of the skip path; we never originate router keys.
                let flags = if *announce { FLAG_ANNOUNCE } else { 0 };
                header(out, PduType::RouterKey, u16::from(flags) << 8, 33);
                out.put_slice(&[0u8; 20]);
                out.put_u32(*asn);
                out.put_u8(0);
            }
            Pdu::ErrorReport { code, pdu, text } => {
                let len = 16 + pdu.len() + text.len();
                header(out, PduType::ErrorReport, code.to_u16(), len as u32);
                out.put_u32(pdu.len() as u32);
                out.put_slice(pdu);
                out.put_u32(text.len() as u32);
                out.put_slice(text.as_bytes());
            }
        }
    }

    /// An Error Report for a decode failure, encapsulating the offending
    /// bytes (at most [`MAX_PDU_LEN`] / 2 of them).
    pub fn error_report(err: &PduError, offending: &[u8]) -> Pdu {
        let keep = offending.len().min(MAX_PDU_LEN / 2);
        Pdu::ErrorReport {
            code: err.error_code(),
            pdu: offending[..keep].to_vec(),
            text: err.to_string(),
        }
    }
}
