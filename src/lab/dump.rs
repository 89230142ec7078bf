//! Real routing tables for the load generator and the benches: RIB dumps
//! in MRT format (RFC 6396: TABLE_DUMP, and TABLE_DUMP_V2 with its
//! PEER_INDEX_TABLE, RIB_IPV4_UNICAST and the RFC 8050 ADD-PATH variant),
//! or the one-line text `bgpdump -m` prints, plain or gzip-compressed, as the
//! public route collectors publish them.
//!
//! A dump holds the tables of many peers; [`read`] returns each peer's IPv4
//! unicast routes grouped by attribute set, so that `coldpotato loadgen
//! --table FILE --table-peer ADDR` replays one peer's real table (real AS
//! paths, AS_SETs, aggregators, communities) as that peer would announce
//! it. Pure functions, run once at load-generator start; IPv6 entries are
//! counted and skipped.

use crate::wire::attr::decode_attributes;
use crate::wire::{
    Aggregator, AsPath, AsPathSegment, Codec, Community, Origin, PathAttributes, Prefix,
    SegmentType,
};
use ipnet::{IpNet, Ipv4Net};
use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// A table dump that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("line {line}: {msg}")]
    Text { line: usize, msg: String },
    #[error("MRT record at offset {offset}: {msg}")]
    Mrt { offset: usize, msg: String },
}

/// One peer's table from a dump.
#[derive(Debug, Clone, Default)]
pub struct PeerTable {
    pub address: Option<IpAddr>,
    pub asn: u32,
    /// IPv4 unicast routes, grouped by attribute set, in first-seen order.
    pub groups: Vec<(PathAttributes, Vec<Ipv4Net>)>,
    pub routes: usize,
}

/// Every peer's table in a dump, largest first, with the IPv6 entries
/// that were skipped.
#[derive(Debug, Default)]
pub struct Dump {
    pub peers: Vec<PeerTable>,
    pub skipped_ipv6: usize,
}

impl Dump {
    /// The table of the peer with this address, or the largest one.
    pub fn peer(&self, address: Option<IpAddr>) -> Option<&PeerTable> {
        match address {
            Some(a) => self.peers.iter().find(|p| p.address == Some(a)),
            None => self.peers.first(),
        }
    }
}

/// Collects routes per peer, grouping equal attribute sets.
#[derive(Default)]
struct Builder {
    peers: Vec<PeerTable>,
    by_peer: HashMap<(Option<IpAddr>, u32), usize>,
    by_attrs: Vec<HashMap<PathAttributes, usize>>,
    skipped_ipv6: usize,
}

impl Builder {
    fn add(&mut self, peer: Option<IpAddr>, asn: u32, prefix: IpNet, attrs: PathAttributes) {
        let IpNet::V4(net) = prefix else {
            self.skipped_ipv6 += 1;
            return;
        };
        let i = *self.by_peer.entry((peer, asn)).or_insert_with(|| {
            self.peers.push(PeerTable {
                address: peer,
                asn,
                ..Default::default()
            });
            self.by_attrs.push(HashMap::new());
            self.peers.len() - 1
        });
        let table = &mut self.peers[i];
        let g = *self.by_attrs[i].entry(attrs).or_insert_with_key(|a| {
            table.groups.push((a.clone(), Vec::new()));
            table.groups.len() - 1
        });
        table.groups[g].1.push(net.trunc());
        table.routes += 1;
    }

    fn finish(mut self) -> Dump {
        self.peers.sort_by_key(|p| std::cmp::Reverse(p.routes));
        Dump {
            peers: self.peers,
            skipped_ipv6: self.skipped_ipv6,
        }
    }
}

/// Reads a dump file: gzip or plain; MRT or `bgpdump -m` text.
pub fn read(path: &Path) -> Result<Dump, DumpError> {
    let io = |source| DumpError::Io {
        path: path.display().to_string(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    let data = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        out
    } else {
        raw
    };
    parse(&data)
}

/// Parses a dump already in memory (see [`read`]).
pub fn parse(data: &[u8]) -> Result<Dump, DumpError> {
    if data.starts_with(b"TABLE_DUMP") {
        parse_text(data)
    } else {
        parse_mrt(data)
    }
}

/// `bgpdump -m` lines: `TABLE_DUMP2|time|B|peer|peer_as|prefix|path|origin|
/// next_hop|local_pref|med|communities|AG/NAG|aggregator|`.
fn parse_text(data: &[u8]) -> Result<Dump, DumpError> {
    let mut b = Builder::default();
    for (n, line) in String::from_utf8_lossy(data).lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |msg: &str| DumpError::Text {
            line: n + 1,
            msg: format!("{msg}: {line:?}"),
        };
        let f: Vec<&str> = line.split('|').collect();
        if f.len() < 14 || !f[0].starts_with("TABLE_DUMP") {
            return Err(err("not a bgpdump -m table line"));
        }
        let peer: IpAddr = f[3].parse().map_err(|_| err("bad peer address"))?;
        let asn: u32 = f[4].parse().map_err(|_| err("bad peer AS"))?;
        let prefix: IpNet = f[5].parse().map_err(|_| err("bad prefix"))?;
        let attrs = PathAttributes {
            origin: Some(match f[7] {
                "IGP" => Origin::Igp,
                "EGP" => Origin::Egp,
                _ => Origin::Incomplete,
            }),
            as_path: Some(text_path(f[6]).ok_or_else(|| err("bad AS path"))?),
            next_hop: f[8].parse().ok(),
            med: f[10].parse().ok().filter(|m| *m != 0),
            communities: f[11]
                .split_whitespace()
                .filter_map(|c| {
                    let (a, v) = c.split_once(':')?;
                    Some(Community::new(a.parse().ok()?, v.parse().ok()?))
                })
                .collect(),
            atomic_aggregate: f[12] == "AG",
            aggregator: f[13].split_once(' ').and_then(|(a, ip)| {
                Some(Aggregator {
                    asn: a.parse().ok()?,
                    address: ip.parse().ok()?,
                })
            }),
            ..Default::default()
        };
        b.add(Some(peer), asn, prefix, attrs);
    }
    Ok(b.finish())
}

/// An AS path in bgpdump's text: ASNs, `{a,b}` for an AS_SET.
fn text_path(s: &str) -> Option<AsPath> {
    let mut segments: Vec<AsPathSegment> = Vec::new();
    for tok in s.split_whitespace() {
        if let Some(set) = tok.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            let asns = set
                .split(',')
                .map(|a| a.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            segments.push(AsPathSegment {
                kind: SegmentType::Set,
                asns,
            });
            continue;
        }
        let asn: u32 = tok.parse().ok()?;
        match segments.last_mut() {
            Some(seg) if seg.kind == SegmentType::Sequence && seg.asns.len() < 255 => {
                seg.asns.push(asn)
            }
            _ => segments.push(AsPathSegment {
                kind: SegmentType::Sequence,
                asns: vec![asn],
            }),
        }
    }
    Some(AsPath { segments })
}

/// MRT record types and subtypes (RFC 6396 §4, RFC 8050 §3).
mod mrt {
    pub const TABLE_DUMP: u16 = 12;
    pub const TABLE_DUMP_V2: u16 = 13;
    pub const PEER_INDEX_TABLE: u16 = 1;
    pub const RIB_IPV4_UNICAST: u16 = 2;
    pub const RIB_IPV6_UNICAST: u16 = 4;
    pub const RIB_IPV4_UNICAST_ADDPATH: u16 = 8;
    pub const RIB_IPV6_UNICAST_ADDPATH: u16 = 10;
}

/// A cursor over one MRT record body.
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn ip(&mut self, v6: bool) -> Option<IpAddr> {
        Some(if v6 {
            let b: [u8; 16] = self.take(16)?.try_into().ok()?;
            IpAddr::V6(Ipv6Addr::from(b))
        } else {
            let b: [u8; 4] = self.take(4)?.try_into().ok()?;
            IpAddr::V4(Ipv4Addr::from(b))
        })
    }
    /// A prefix as length + the octets that length needs (RFC 6396 §4.3.2).
    fn prefix(&mut self, v6: bool) -> Option<IpNet> {
        let len = self.u8()?;
        let bytes = self.take(usize::from(len).div_ceil(8))?;
        let net = if v6 {
            let mut a = [0u8; 16];
            a.get_mut(..bytes.len())?.copy_from_slice(bytes);
            IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), len).ok()?
        } else {
            let mut a = [0u8; 4];
            a.get_mut(..bytes.len())?.copy_from_slice(bytes);
            IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), len).ok()?
        };
        Some(net)
    }
}

/// MRT records: TABLE_DUMP (2-octet AS attributes) and TABLE_DUMP_V2
/// (4-octet AS); other record types are skipped.
fn parse_mrt(data: &[u8]) -> Result<Dump, DumpError> {
    let mut b = Builder::default();
    let mut peers: Vec<(IpAddr, u32)> = Vec::new();
    let mut off = 0;
    while off < data.len() {
        let err = |msg: &str| DumpError::Mrt {
            offset: off,
            msg: msg.into(),
        };
        let mut hdr = Cur(data
            .get(off..off + 12)
            .ok_or_else(|| err("truncated header"))?);
        let (_ts, kind, sub, len) = (hdr.u32(), hdr.u16(), hdr.u16(), hdr.u32());
        let (Some(kind), Some(sub), Some(len)) = (kind, sub, len) else {
            return Err(err("truncated header"));
        };
        let body = data
            .get(off + 12..off + 12 + len as usize)
            .ok_or_else(|| err("record runs past the end of the file"))?;
        off += 12 + len as usize;
        let mut c = Cur(body);
        let ok = match (kind, sub) {
            (mrt::TABLE_DUMP, afi @ (1 | 2)) => table_dump_v1(&mut c, afi == 2, &mut b),
            (mrt::TABLE_DUMP_V2, mrt::PEER_INDEX_TABLE) => peer_index(&mut c, &mut peers),
            (mrt::TABLE_DUMP_V2, mrt::RIB_IPV4_UNICAST | mrt::RIB_IPV4_UNICAST_ADDPATH) => {
                rib_entries(&mut c, sub == mrt::RIB_IPV4_UNICAST_ADDPATH, &peers, &mut b)
            }
            (mrt::TABLE_DUMP_V2, mrt::RIB_IPV6_UNICAST | mrt::RIB_IPV6_UNICAST_ADDPATH) => {
                // Counted, not decoded: the load generator speaks IPv4.
                c.u32();
                c.prefix(true);
                b.skipped_ipv6 += usize::from(c.u16().unwrap_or(0));
                Some(())
            }
            _ => Some(()),
        };
        if ok.is_none() {
            return Err(DumpError::Mrt {
                offset: off - 12 - len as usize,
                msg: format!("malformed type {kind} subtype {sub}"),
            });
        }
    }
    Ok(b.finish())
}

/// TABLE_DUMP (RFC 6396 §4.2): one route per record.
fn table_dump_v1(c: &mut Cur, v6: bool, b: &mut Builder) -> Option<()> {
    c.u16()?; // view
    c.u16()?; // sequence
    let addr = c.ip(v6)?;
    let len = c.u8()?;
    c.u8()?; // status
    c.u32()?; // originated time
    let peer = c.ip(v6)?;
    let asn = u32::from(c.u16()?);
    let alen = c.u16()?;
    let attrs = attributes(c.take(usize::from(alen))?, false)?;
    b.add(Some(peer), asn, IpNet::new(addr, len).ok()?, attrs);
    Some(())
}

/// PEER_INDEX_TABLE (RFC 6396 §4.3.1).
fn peer_index(c: &mut Cur, peers: &mut Vec<(IpAddr, u32)>) -> Option<()> {
    c.u32()?; // collector BGP ID
    let name = c.u16()?;
    c.take(usize::from(name))?;
    let count = c.u16()?;
    peers.clear();
    for _ in 0..count {
        let t = c.u8()?;
        c.u32()?; // peer BGP ID
        let ip = c.ip(t & 1 != 0)?;
        let asn = if t & 2 != 0 {
            c.u32()?
        } else {
            u32::from(c.u16()?)
        };
        peers.push((ip, asn));
    }
    Some(())
}

/// RIB_IPV4_UNICAST (RFC 6396 §4.3.2), with path identifiers for the
/// ADD-PATH subtype (RFC 8050 §4.1).
fn rib_entries(
    c: &mut Cur,
    add_path: bool,
    peers: &[(IpAddr, u32)],
    b: &mut Builder,
) -> Option<()> {
    c.u32()?; // sequence
    let prefix = c.prefix(false)?;
    let count = c.u16()?;
    for _ in 0..count {
        let idx = c.u16()?;
        c.u32()?; // originated time
        if add_path {
            c.u32()?;
        }
        let alen = c.u16()?;
        let attrs = attributes(c.take(usize::from(alen))?, true)?;
        let (ip, asn) = peers.get(usize::from(idx)).copied()?;
        b.add(Some(ip), asn, prefix, attrs);
    }
    Some(())
}

/// The path attributes of one entry, with our UPDATE decoder.
fn attributes(buf: &[u8], four_octet_as: bool) -> Option<PathAttributes> {
    let codec = Codec {
        four_octet_as,
        ..Codec::default()
    };
    decode_attributes(buf, &codec).ok().map(|d| d.attrs)
}

/// The table of `peer` as UPDATEs from `local` (next hop rewritten to it),
/// and the peer's ASN.
pub fn updates(table: &PeerTable, local: IpAddr) -> Vec<crate::wire::Update> {
    table
        .groups
        .iter()
        .map(|(a, nets)| {
            let mut attrs = a.clone();
            attrs.next_hop = Some(local);
            attrs.local_pref = None;
            crate::wire::Update {
                attrs,
                nlri: nets
                    .iter()
                    .map(|n| crate::wire::AddPathPrefix {
                        path_id: None,
                        prefix: Prefix::V4(*n),
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "dump_tests.rs"]
mod tests;
