//! RIBs: Adj-RIB-In (pre-policy, with each path's status), the Loc-RIB (a
//! `BEST` flag on the winning path of each prefix), Adj-RIB-Out (per
//! neighbor, for export diffs) and the attribute interner they share.
//!
//! Owned and run by the route engine task only (`crate::engine`); no
//! channels, no I/O. Layout chosen for memory (goal ≤ 75 bytes per path):
//! - one hash map per family and prefix length, keyed by the bare address
//!   ([`table::V4Key`]: `u32`; [`table::V6Key`]: two `u64`), so an IPv4
//!   bucket is 16 bytes and a resize only touches one length;
//! - each prefix holds its path inline as an 8-byte [`table::PathEntry`]
//!   (attribute index `u32`, neighbor index `u16`, status flags), two paths
//!   in a pair arena, longer lists in a spill arena; the post-policy set of
//!   the few paths import policy changed sits in a side table
//!   ([`store::Posts`]);
//! - the Adj-RIB-Out of one update group (the internal neighbors' usual
//!   one) is folded into the same buckets ([`folded`]): its entry is read
//!   and written in the bucket the decision just touched; other groups
//!   keep an [`out::AdjRibOut`] of their own;
//! - path attributes live once in the [`interner::Interner`], an index table
//!   with reference counts that frees a set when its last path goes;
//! - rejection reasons sit in a side table keyed by neighbor and prefix,
//!   each distinct text stored once ([`rejections`]).

mod derived;
pub mod folded;
pub mod interner;
mod map;
pub mod out;
pub mod packed;
pub mod rejections;
pub mod store;
pub mod table;

pub use interner::{AttrId, Interner};
pub use out::AdjRibOut;
pub use store::{Posts, Rib, PREFETCH_AHEAD};
pub use table::{NeighborIdx, PathEntry, PathFlags, PrefixKey, Table, V4Key, V6Key};
