//! What one call into the engine changed (`Pass`), collected as the
//! import, session and reload steps run and settled once at the call's end,
//! and the messages it produced for the session tasks ([`Output`]).

use crate::messages::{NeighborName, ToPeer};
use crate::rib::NeighborIdx;
use crate::wire::Prefix;

/// One output: a message for the session task of a neighbor.
pub type Output = (NeighborName, ToPeer);

/// What one call changed, settled at its end.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    /// Prefixes whose paths changed.
    pub dirty: hashbrown::HashSet<Prefix>,
    /// Re-export everything to every established neighbor.
    pub full: bool,
    /// Sessions that came up and get the initial dump plus End-of-RIB.
    pub dumps: Vec<NeighborIdx>,
    /// Neighbors whose counters changed (metrics).
    pub touched: hashbrown::HashSet<NeighborIdx>,
    /// Every decision must be recomputed (sessions, BFD, reload).
    pub all_decisions: bool,
    pub outputs: Vec<Output>,
}
