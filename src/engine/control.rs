//! Route refresh both ways and the record of operator actions, inside the
//! engine core (Sans-IO, like the rest of `EngineCore`).
//!
//! - Outbound: a peer's ROUTE-REFRESH (RFC 2918) or an operator's
//!   `refresh out` re-sends one family of the Adj-RIB-Out; when the session
//!   negotiated Enhanced Route Refresh (RFC 7313 §4) the routes go between
//!   a BoRR and an EoRR message, so the peer can drop what we no longer send.
//! - Inbound (RFC 7313 §4): the peer's BoRR marks its routes of that family
//!   stale; every route it re-advertises replaces its stale copy; its EoRR
//!   removes those still stale. Decisions are not recomputed at BoRR (the
//!   paths are unchanged until the peer says otherwise), only for what the
//!   refresh changed.
//! - Operator actions (`messages::control`) become `control` events naming
//!   the action, the neighbor and who asked.

use super::core::EngineCore;
use super::pass::Pass;
use crate::analytics::EventKind;
use crate::messages::{Encoded, ToPeer};
use crate::rib::{NeighborIdx, PathFlags};
use crate::wire::iana::RouteRefreshSubtype;
use crate::wire::{Afi, Codec, Message, Prefix, RouteRefresh, Safi};
use std::time::Instant;

impl EngineCore {
    /// Re-sends one family of the neighbor's Adj-RIB-Out, within BoRR/EoRR
    /// when Enhanced Route Refresh was negotiated.
    pub(crate) fn refresh_family(
        &mut self,
        idx: NeighborIdx,
        afi: Afi,
        safi: Safi,
        pass: &mut Pass,
    ) {
        let Some((name, codec, enhanced)) = self.nb(idx).and_then(|nb| {
            let s = nb.session.as_ref()?;
            Some((nb.name.clone(), s.codec, s.enhanced_route_refresh))
        }) else {
            return;
        };
        if enhanced {
            if let Some(m) = marker(afi, safi, RouteRefreshSubtype::BoRR, codec) {
                pass.outputs.push((name.clone(), ToPeer::Wire(m)));
            }
        }
        self.route_refresh(idx, afi, safi, pass);
        if enhanced {
            if let Some(m) = marker(afi, safi, RouteRefreshSubtype::EoRR, codec) {
                pass.outputs.push((name, ToPeer::Wire(m)));
            }
        }
    }

    /// An operator's `refresh out`: every given family again.
    pub(crate) fn refresh_out(&mut self, name: &str, families: &[(Afi, Safi)], pass: &mut Pass) {
        let Some(&idx) = self.by_name.get(name) else {
            return;
        };
        for &(afi, safi) in families {
            self.refresh_family(idx, afi, safi, pass);
        }
    }

    /// The peer's BoRR (`end == false`) or EoRR (RFC 7313 §4).
    pub(crate) fn refresh_demarcation(
        &mut self,
        name: &str,
        afi: Afi,
        safi: Safi,
        end: bool,
        pass: &mut Pass,
    ) {
        let Some(&idx) = self.by_name.get(name) else {
            return;
        };
        if safi != Safi::UNICAST {
            return;
        }
        let v4 = afi == Afi::IPV4;
        let in_family = move |p: &Prefix| matches!(p, Prefix::V4(_)) == v4;
        if !end {
            let mut marked = 0u64;
            for (p, _) in self.rib.neighbor_paths(idx) {
                if !in_family(&p) {
                    continue;
                }
                if let Some(ps) = self.rib.paths_mut(&p) {
                    for e in ps.iter_mut().filter(|e| e.neighbor == idx) {
                        e.flags.insert(PathFlags::STALE);
                        marked += 1;
                    }
                }
            }
            tracing::debug!(neighbor = %name, routes = marked, "BoRR: routes marked stale");
        } else {
            let removed = self.remove_paths(
                idx,
                |p, e| e.flags.contains(PathFlags::STALE) && in_family(p),
                pass,
            );
            pass.touched.insert(idx);
            tracing::info!(neighbor = %name, removed, "EoRR: routes not re-advertised removed");
        }
    }

    /// Records an operator's action as a `control` event.
    pub(crate) fn control_event(
        &mut self,
        now: Instant,
        action: &str,
        neighbor: Option<&str>,
        who: &str,
        message: String,
    ) {
        self.event(
            now,
            EventKind::Control,
            neighbor,
            None,
            message,
            serde_json::json!({ "action": action, "by": who }),
        );
    }
}

/// A ROUTE-REFRESH demarcation message, encoded for the session.
fn marker(afi: Afi, safi: Safi, subtype: RouteRefreshSubtype, codec: Codec) -> Option<Encoded> {
    let m = Message::RouteRefresh(RouteRefresh {
        afi,
        safi,
        subtype: subtype as u8,
    });
    let mut out = bytes::BytesMut::new();
    m.encode(&codec, &mut out).ok()?;
    Some(Encoded::ready(out.freeze(), 1, codec))
}
