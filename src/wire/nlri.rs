//! NLRI: prefixes as they appear in UPDATE withdrawn/NLRI fields and in
//! MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4271 §4.3, RFC 4760 §5), with the
//! optional ADD-PATH path identifier (RFC 7911 §3).

pub use ipnet::IpNet as Prefix;

/// One NLRI entry: a prefix and, when ADD-PATH is in force, its path identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddPathPrefix {
    /// Path identifier (RFC 7911); `None` when ADD-PATH is not negotiated.
    pub path_id: Option<u32>,
    pub prefix: Prefix,
}
