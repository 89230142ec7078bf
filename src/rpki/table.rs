//! The VRP set and RFC 6811 route origin validation. A [`VrpTable`] is an
//! immutable snapshot (built by the RTR client tasks, handed to the route
//! engine as an `Arc` over a `watch` channel); [`VrpSet`] is one cache's
//! mutable set with announce/withdraw as RFC 8210 §5.6 defines them.
//!
//! Lookup: one hash map per family keyed by (covering prefix, length), plus a
//! bitmap of the lengths present, so validating a route is one probe per VRP
//! length present at or above it (≤ 25 for IPv4, typically 17), never a scan.

use crate::wire::Prefix;
use hashbrown::{HashMap, HashSet};
use smallvec::SmallVec;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One Validated ROA Payload (RFC 6811 §2): a prefix, the longest length it
/// authorizes, and the origin AS it authorizes (AS0 authorizes nobody, RFC
/// 6483 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vrp {
    /// The ROA prefix (host bits cleared).
    pub prefix: Prefix,
    /// Max Length (≥ the prefix length).
    pub max_len: u8,
    /// Authorized origin AS.
    pub asn: u32,
}

impl Vrp {
    /// A VRP with the prefix's host bits cleared.
    pub fn new(prefix: Prefix, max_len: u8, asn: u32) -> Self {
        Vrp {
            prefix: prefix.trunc(),
            max_len,
            asn,
        }
    }
}

impl fmt::Display for Vrp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} AS{}", self.prefix, self.max_len, self.asn)
    }
}

/// The validation state of a route (RFC 6811 §2). In config (policy
/// `match.rpki`) and the API: `valid`, `invalid`, `not-found`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum RpkiState {
    /// A covering VRP matches the origin AS and length.
    Valid,
    /// Covering VRPs exist, none matches.
    Invalid,
    /// No VRP covers the prefix.
    NotFound,
}

impl RpkiState {
    /// The name used in config, the API and metrics (`valid|invalid|not-found`).
    pub fn as_str(self) -> &'static str {
        match self {
            RpkiState::Valid => "valid",
            RpkiState::Invalid => "invalid",
            RpkiState::NotFound => "not-found",
        }
    }

    /// Parses the config/API name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "valid" => Some(RpkiState::Valid),
            "invalid" => Some(RpkiState::Invalid),
            "not-found" => Some(RpkiState::NotFound),
            _ => None,
        }
    }
}

impl fmt::Display for RpkiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// (Max Length, ASN) of the VRPs on one prefix.
type Entries = SmallVec<[(u8, u32); 2]>;

/// An immutable, indexed VRP snapshot: the union of every cache's set.
#[derive(Debug, Default, Clone)]
pub struct VrpTable {
    v4: HashMap<(u32, u8), Entries>,
    v6: HashMap<(u128, u8), Entries>,
    /// Bit `l` set when some IPv4 VRP has prefix length `l`.
    v4_lens: u64,
    /// Bit `l` set when some IPv6 VRP has prefix length `l` (lengths 0..=127;
    /// a /128 VRP sets `v6_has_128`).
    v6_lens: u128,
    v6_has_128: bool,
    count: usize,
}

fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

impl VrpTable {
    /// Builds the index from VRPs (duplicates collapse).
    pub fn from_vrps<'a>(vrps: impl IntoIterator<Item = &'a Vrp>) -> Self {
        let mut t = VrpTable::default();
        for v in vrps {
            let e = (v.max_len, v.asn);
            let slot = match v.prefix {
                Prefix::V4(n) => {
                    let len = n.prefix_len();
                    t.v4_lens |= 1u64 << len;
                    t.v4.entry((u32::from(n.addr()) & mask4(len), len))
                        .or_default()
                }
                Prefix::V6(n) => {
                    let len = n.prefix_len();
                    if len == 128 {
                        t.v6_has_128 = true;
                    } else {
                        t.v6_lens |= 1u128 << len;
                    }
                    t.v6.entry((u128::from(n.addr()) & mask6(len), len))
                        .or_default()
                }
            };
            if !slot.contains(&e) {
                slot.push(e);
                t.count += 1;
            }
        }
        t
    }

    /// Number of distinct VRPs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table holds no VRP.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Calls `f` with each VRP covering `prefix`, longest first; stops when
    /// `f` returns `true` and reports whether it did.
    fn for_covering(&self, prefix: &Prefix, mut f: impl FnMut(Vrp) -> bool) -> bool {
        match prefix {
            Prefix::V4(n) => {
                let addr = u32::from(n.addr());
                let plen = n.prefix_len();
                let mut lens = self.v4_lens & (u64::MAX >> (63 - u32::from(plen)));
                while lens != 0 {
                    let l = (63 - lens.leading_zeros()) as u8;
                    lens &= !(1u64 << l);
                    if let Some(es) = self.v4.get(&(addr & mask4(l), l)) {
                        let net = Ipv4Addr::from(addr & mask4(l));
                        for &(max_len, asn) in es {
                            let p = Prefix::V4(ipnet::Ipv4Net::new(net, l).unwrap_or_default());
                            if f(Vrp {
                                prefix: p,
                                max_len,
                                asn,
                            }) {
                                return true;
                            }
                        }
                    }
                }
                false
            }
            Prefix::V6(n) => {
                let addr = u128::from(n.addr());
                let plen = n.prefix_len();
                let mut check = |l: u8| -> bool {
                    if let Some(es) = self.v6.get(&(addr & mask6(l), l)) {
                        let net = Ipv6Addr::from(addr & mask6(l));
                        for &(max_len, asn) in es {
                            let p = Prefix::V6(ipnet::Ipv6Net::new(net, l).unwrap_or_default());
                            if f(Vrp {
                                prefix: p,
                                max_len,
                                asn,
                            }) {
                                return true;
                            }
                        }
                    }
                    false
                };
                if plen == 128 && self.v6_has_128 && check(128) {
                    return true;
                }
                let mut lens = if plen >= 127 {
                    self.v6_lens
                } else {
                    self.v6_lens & (u128::MAX >> (127 - u32::from(plen)))
                };
                while lens != 0 {
                    let l = (127 - lens.leading_zeros()) as u8;
                    lens &= !(1u128 << l);
                    if check(l) {
                        return true;
                    }
                }
                false
            }
        }
    }

    /// RFC 6811 §2 validation of a route for `prefix` whose origin AS is
    /// `origin` (`None`: the AS_PATH ends in an AS_SET or is empty, which
    /// matches no VRP). An AS0 VRP covers but never matches (RFC 6483 §4).
    pub fn validate(&self, prefix: &Prefix, origin: Option<u32>) -> RpkiState {
        let plen = prefix.prefix_len();
        let mut covered = false;
        let matched = self.for_covering(prefix, |v| {
            covered = true;
            origin.is_some_and(|o| o == v.asn && v.asn != 0 && plen <= v.max_len)
        });
        if matched {
            RpkiState::Valid
        } else if covered {
            RpkiState::Invalid
        } else {
            RpkiState::NotFound
        }
    }

    /// Whether some VRP covers `prefix`.
    pub fn covers(&self, prefix: &Prefix) -> bool {
        self.for_covering(prefix, |_| true)
    }

    /// The VRPs in one table and not the other (both ways): the routes
    /// whose state can differ between two snapshots are those they cover.
    pub fn changes(&self, other: &VrpTable) -> VrpTable {
        let a: HashSet<Vrp> = self.iter().collect();
        let b: HashSet<Vrp> = other.iter().collect();
        VrpTable::from_vrps(a.symmetric_difference(&b))
    }

    /// Every VRP covering `prefix` (for explaining a rejection), longest first.
    pub fn covering(&self, prefix: &Prefix) -> Vec<Vrp> {
        let mut out = Vec::new();
        self.for_covering(prefix, |v| {
            out.push(v);
            false
        });
        out
    }

    /// Every VRP in the table (unordered).
    pub fn iter(&self) -> impl Iterator<Item = Vrp> + '_ {
        let v4 = self.v4.iter().flat_map(|(&(a, l), es)| {
            es.iter().map(move |&(max_len, asn)| Vrp {
                prefix: Prefix::V4(ipnet::Ipv4Net::new(Ipv4Addr::from(a), l).unwrap_or_default()),
                max_len,
                asn,
            })
        });
        let v6 = self.v6.iter().flat_map(|(&(a, l), es)| {
            es.iter().map(move |&(max_len, asn)| Vrp {
                prefix: Prefix::V6(ipnet::Ipv6Net::new(Ipv6Addr::from(a), l).unwrap_or_default()),
                max_len,
                asn,
            })
        });
        v4.chain(v6)
    }
}

/// Why an announce/withdraw cannot be applied (RFC 8210 §5.6; Error Report
/// codes 6 and 7 of §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VrpSetError {
    /// Withdrawal of a VRP the set does not hold.
    #[error("withdrawal of unknown record {0}")]
    UnknownWithdrawal(Vrp),
    /// Announcement of a VRP the set already holds.
    #[error("duplicate announcement {0}")]
    DuplicateAnnouncement(Vrp),
}

/// One cache's VRPs: the set as of its last End of Data.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VrpSet {
    vrps: HashSet<Vrp>,
}

impl VrpSet {
    /// Applies one data transfer (Cache Response … End of Data) atomically:
    /// either every change applies or none (`reset` starts from empty).
    pub fn apply(&mut self, reset: bool, changes: &[(bool, Vrp)]) -> Result<(), VrpSetError> {
        if reset {
            let mut next = HashSet::with_capacity(changes.len());
            for &(announce, v) in changes {
                if !announce {
                    return Err(VrpSetError::UnknownWithdrawal(v));
                }
                if !next.insert(v) {
                    return Err(VrpSetError::DuplicateAnnouncement(v));
                }
            }
            self.vrps = next;
            return Ok(());
        }
        // In place, undoing the applied prefix of `changes` on error: an
        // incremental update must not copy a 500k-entry set.
        for (i, &(announce, v)) in changes.iter().enumerate() {
            let err = if announce {
                (!self.vrps.insert(v)).then_some(VrpSetError::DuplicateAnnouncement(v))
            } else {
                (!self.vrps.remove(&v)).then_some(VrpSetError::UnknownWithdrawal(v))
            };
            if let Some(err) = err {
                for &(a, u) in changes[..i].iter().rev() {
                    if a {
                        self.vrps.remove(&u);
                    } else {
                        self.vrps.insert(u);
                    }
                }
                return Err(err);
            }
        }
        Ok(())
    }

    /// Number of VRPs.
    pub fn len(&self) -> usize {
        self.vrps.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.vrps.is_empty()
    }

    /// The VRPs.
    pub fn iter(&self) -> impl Iterator<Item = &Vrp> + '_ {
        self.vrps.iter()
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
