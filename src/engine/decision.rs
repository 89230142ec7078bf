//! The nearest-edge decision of one activated prefix as the engine keeps
//! it ([`Decision`], [`DecisionState`]) and the LOCAL_PREF each state is
//! sent with toward internal neighbors. Computed by `super::decide`.

use crate::config::LocationId;
use crate::rib::NeighborIdx;
use crate::wire::Prefix;

/// LOCAL_PREF toward internal neighbors for a primary-location decision.
pub const LP_PRIMARY: u32 = 300;
/// LOCAL_PREF for a backup-location decision.
pub const LP_BACKUP: u32 = 200;
/// LOCAL_PREF for an internet (transit) decision and for plain best paths.
pub const LP_INTERNET: u32 = 100;
/// Base of the location community value: `asn:(1000 + index)`.
pub const LOCATION_COMMUNITY_BASE: u32 = 1000;
/// Local data part 1 of the location large community `asn:1:index`.
pub const LOCATION_LARGE_FUNCTION: u32 = 1;

/// Where traffic to an activated prefix leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionState {
    Primary,
    Backup,
    Internet,
    Unreachable,
}

impl DecisionState {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionState::Primary => "primary",
            DecisionState::Backup => "backup",
            DecisionState::Internet => "internet",
            DecisionState::Unreachable => "unreachable",
        }
    }

    /// LOCAL_PREF toward internal neighbors (0 when unreachable: nothing is sent).
    pub fn local_pref(self) -> u32 {
        match self {
            DecisionState::Primary => LP_PRIMARY,
            DecisionState::Backup => LP_BACKUP,
            DecisionState::Internet => LP_INTERNET,
            DecisionState::Unreachable => 0,
        }
    }
}

/// The current decision for one activated prefix.
#[derive(Debug, Clone)]
pub struct Decision {
    pub prefix: Prefix,
    pub peer_asn: u32,
    pub primary: LocationId,
    /// `None` when `backup` is absent or "none".
    pub backup: Option<LocationId>,
    pub state: DecisionState,
    pub location: Option<LocationId>,
    /// Neighbors carrying the traffic, best first.
    pub neighbors: Vec<NeighborIdx>,
    pub reason: String,
    /// Unix ms of the last change.
    pub changed_at: u64,
    /// A suboptimal-routing event was logged for the current excursion.
    pub suboptimal: bool,
}

impl Decision {
    /// A fresh decision, unreachable until computed.
    pub fn new(
        prefix: Prefix,
        peer_asn: u32,
        primary: LocationId,
        backup: Option<LocationId>,
        now_ms: u64,
    ) -> Self {
        Decision {
            prefix,
            peer_asn,
            primary,
            backup,
            state: DecisionState::Unreachable,
            location: None,
            neighbors: Vec::new(),
            reason: "not computed yet".into(),
            changed_at: now_ms,
            suboptimal: false,
        }
    }
}
