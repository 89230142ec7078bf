//! The checks a received route meets before policy, run by the import
//! pipeline (`super::import`): the max-prefix limit (RFC 4486 actions
//! `teardown`, `warn`, `refuse`; it counts received prefixes, not those it
//! refused) and the origin checks against `[[registered_prefixes]]`
//! (`origin-mismatch`, `unexpected-more-specific`).

use super::core::EngineCore;
use super::pass::Pass;
use super::rpki::origin_text;
use crate::analytics::EventKind;
use crate::config::MaxPrefixAction;
use crate::policy::{Rejection, Rule};
use crate::rib::NeighborIdx;
use crate::wire::iana::{CeaseSubcode, ErrorCode};
use crate::wire::{Notification, PathAttributes, Prefix};
use std::time::{Duration, Instant};

/// Rule name of routes refused beyond the limit.
pub const RULE_MAX_PREFIX: Rule = Rule::MaxPrefix;
/// Rule name of a registered prefix announced from the wrong origin.
pub const RULE_ORIGIN_MISMATCH: Rule = Rule::OriginMismatch;
/// Rule name of a more-specific of a registered prefix from another origin.
pub const RULE_MORE_SPECIFIC: Rule = Rule::UnexpectedMoreSpecific;
/// Cease data for Maximum Number of Prefixes Reached: AFI (2), SAFI (1) and
/// the limit (4) (RFC 4486 §4).
pub fn max_prefix_notification(prefix: &Prefix, limit: u32) -> Notification {
    let afi: u16 = if matches!(prefix, Prefix::V4(_)) {
        1
    } else {
        2
    };
    let mut data = Vec::with_capacity(7);
    data.extend_from_slice(&afi.to_be_bytes());
    data.push(1);
    data.extend_from_slice(&limit.to_be_bytes());
    Notification::new(
        ErrorCode::Cease as u8,
        CeaseSubcode::MaxPrefixesReached as u8,
        data,
    )
}

/// What max-prefix says about one more prefix.
pub(crate) enum LimitOutcome {
    Ok,
    Refuse,
    Teardown,
}

impl EngineCore {
    /// Origin check against `[[registered_prefixes]]`: the exact prefix must
    /// come from its peer ASN; a more-specific of it from anyone else is a
    /// sub-prefix hijack.
    pub(crate) fn check_registered(
        &mut self,
        prefix: &Prefix,
        origin: Option<u32>,
        idx: NeighborIdx,
        attrs: &PathAttributes,
        fresh: bool,
        now: Instant,
    ) -> Option<Rejection> {
        let lens = match prefix {
            Prefix::V4(_) => &self.registered_lens.0,
            Prefix::V6(_) => &self.registered_lens.1,
        };
        let mut hit: Option<(Prefix, u32)> = None;
        for &len in lens.iter().rev() {
            if len > prefix.prefix_len() {
                continue;
            }
            let Ok(cover) = Prefix::new(prefix.addr(), len).map(|p| p.trunc()) else {
                continue;
            };
            if let Some(&asn) = self.registered.get(&cover) {
                hit = Some((cover, asn));
                break;
            }
        }
        let (reg, asn) = hit?;
        if origin == Some(asn) {
            return None;
        }
        let origin_txt = origin_text(origin);
        let exact = reg == *prefix;
        let (rule, kind, reason) = if exact {
            (
                RULE_ORIGIN_MISMATCH,
                EventKind::OriginMismatch,
                format!("origin {origin_txt} but {reg} is registered to AS{asn}"),
            )
        } else {
            (
                RULE_MORE_SPECIFIC,
                EventKind::UnexpectedMoreSpecific,
                format!("more-specific of {reg} (registered to AS{asn}) from origin {origin_txt}"),
            )
        };
        if fresh {
            let path = as_path_text(attrs);
            let neighbor = self.nb(idx).map(|n| n.name.clone()).unwrap_or_default();
            self.event(
                now,
                kind,
                Some(&neighbor),
                Some(prefix),
                format!("possible hijack from {neighbor}: {reason}"),
                serde_json::json!({
                    "registered_prefix": reg.to_string(),
                    "expected_origin": asn,
                    "origin": origin,
                    "as_path": path,
                }),
            );
        }
        Some(Rejection { rule, reason })
    }

    /// Max-prefix before one more counted prefix.
    pub(crate) fn check_limit(
        &mut self,
        idx: NeighborIdx,
        prefix: &Prefix,
        now: Instant,
        pass: &mut Pass,
    ) -> LimitOutcome {
        let Some(nb) = self.nb(idx) else {
            return LimitOutcome::Ok;
        };
        let Some(mp) = nb.cfg.max_prefixes else {
            return LimitOutcome::Ok;
        };
        let count = nb.limit_count;
        let limit = mp.limit as u64;
        let warn_at = (limit * mp.warn_percent.min(100) as u64).div_ceil(100);
        let warn = count + 1 >= warn_at && count < limit && !nb.warned;
        if !warn && count < limit {
            // The common case: no event, no copy of the name.
            return LimitOutcome::Ok;
        }
        let name = nb.name.clone();
        if warn {
            if let Some(nb) = self.nb_mut(idx) {
                nb.warned = true;
            }
            self.event(
                now,
                EventKind::MaxPrefixWarning,
                Some(&name),
                None,
                format!("{name} at {} of {limit} prefixes ({}%)", count + 1, mp.warn_percent),
                serde_json::json!({ "count": count + 1, "limit": limit, "warn_percent": mp.warn_percent }),
            );
        }
        if count < limit {
            return LimitOutcome::Ok;
        }
        let first = !self.nb(idx).is_some_and(|n| n.exceeded);
        if let Some(nb) = self.nb_mut(idx) {
            nb.exceeded = true;
        }
        let action = match mp.action {
            MaxPrefixAction::Teardown => "teardown",
            MaxPrefixAction::Warn => "warn",
            MaxPrefixAction::Refuse => "refuse",
        };
        if first || mp.action == MaxPrefixAction::Teardown {
            self.event(
                now,
                EventKind::MaxPrefixExceeded,
                Some(&name),
                Some(prefix),
                format!("{name} exceeded its limit of {limit} prefixes (action {action})"),
                serde_json::json!({ "count": count + 1, "limit": limit, "action": action }),
            );
        }
        match mp.action {
            MaxPrefixAction::Warn => LimitOutcome::Ok,
            MaxPrefixAction::Refuse => LimitOutcome::Refuse,
            MaxPrefixAction::Teardown => {
                pass.outputs.push((
                    name,
                    crate::messages::ToPeer::Teardown {
                        notification: max_prefix_notification(prefix, mp.limit),
                        hold_down: Some(Duration::from_secs(mp.restart_after_s as u64)),
                    },
                ));
                self.remove_paths(idx, |_, _| true, pass);
                if let Some(nb) = self.nb_mut(idx) {
                    nb.tripped = true;
                    nb.reset_counters();
                }
                pass.all_decisions = true;
                LimitOutcome::Teardown
            }
        }
    }
}

/// The AS path as text for an event (empty when there is none).
pub(crate) fn as_path_text(attrs: &PathAttributes) -> String {
    attrs
        .as_path
        .as_ref()
        .map(|p| p.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cease_data_carries_afi_safi_and_limit() {
        let n = max_prefix_notification(&"2001:db8::/32".parse().unwrap(), 1000);
        assert_eq!((n.code, n.subcode), (6, 1));
        assert_eq!(&n.data[..], &[0, 2, 1, 0, 0, 0x03, 0xe8]);
    }
}
