//! UPDATEs with attribute errors (RFC 7606, RFC 7607): each outcome is
//! counted per neighbor and logged (the first, then at most one line a
//! minute per neighbor with the count held back), and the rejection kept
//! for a route treated as withdrawn for AS 0 in its path.

use super::core::EngineCore;
use crate::policy::{Rejection, Rule};
use crate::rib::NeighborIdx;
use crate::wire::iana::AttrType;
use crate::wire::{AttrCause, AttrError, Update};
use std::time::Instant;

/// The rejection kept for a route treated as withdrawn under RFC 7607.
pub(crate) fn as_zero_rejection(e: AttrError) -> Rejection {
    Rejection {
        rule: Rule::AsZero,
        reason: format!(
            "AS 0 in {} (RFC 7607): treated as withdrawn",
            attr_name(e.type_code)
        ),
    }
}

/// The RFC name of a path attribute type code, for logs and reasons.
fn attr_name(code: u8) -> String {
    match AttrType::from_u8(code) {
        Some(AttrType::AsPath) => "AS_PATH".into(),
        Some(AttrType::As4Path) => "AS4_PATH".into(),
        Some(AttrType::Aggregator) => "AGGREGATOR".into(),
        Some(AttrType::As4Aggregator) => "AS4_AGGREGATOR".into(),
        Some(t) => format!("{t:?}"),
        None => format!("type {code}"),
    }
}

impl EngineCore {
    /// Counts an RFC 7606 outcome and logs it (the first, then at most one
    /// line a minute per neighbor with the count held back).
    pub(crate) fn attr_error(
        &mut self,
        idx: NeighborIdx,
        e: AttrError,
        update: &Update,
        now: Instant,
    ) {
        let Some(nb) = self.nb_mut(idx) else { return };
        crate::metrics::METRICS
            .update_attribute_errors_total
            .with_label_values(&[
                &*nb.name,
                nb.cfg.location.as_str(),
                e.action.as_str(),
                e.cause.as_str(),
            ])
            .inc();
        let Some(held_back) = nb.attr_error_log.due(now) else {
            return;
        };
        let prefixes = update.nlri.len() + update.mp_reach.as_ref().map_or(0, |m| m.nlri.len());
        let rfc = match e.cause {
            AttrCause::AsZero => "RFC 7607",
            AttrCause::Malformed => "RFC 7606",
        };
        tracing::warn!(
            neighbor = &*nb.name,
            attribute = attr_name(e.type_code),
            action = e.action.as_str(),
            cause = e.cause.as_str(),
            prefixes,
            held_back,
            "UPDATE with a malformed attribute: {} ({rfc})",
            e.action.as_str()
        );
    }
}
