//! The engine's side of the BMP feed, as data: what a pass noted for the
//! collectors ([`BmpState`]: the hub, the changed (neighbor, prefix) pairs,
//! the dumps in progress), how Route Monitoring items are grouped (`Key`)
//! and the feed items built from session facts (Peer Up, UPDATEs of a
//! group). The hooks that fill it run in the route engine (`engine::bmp`).

use crate::bmp::hub::{Feed, Hub, Views};
use crate::bmp::msg::{Peer, View};
use crate::config::BmpConfig;
use crate::messages::{DownCause, SessionInfo};
use crate::rib::{AttrId, NeighborIdx};
use crate::wire::{
    AddPathPrefix, Afi, Codec, Message, MpReach, MpUnreach, Notification, PathAttributes, Prefix,
    Safi, Update,
};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant, SystemTime};

/// Changed in the pre-policy view.
pub(crate) const PRE: u8 = 1;
/// Changed (or may have) in the post-policy view.
pub(crate) const POST: u8 = 2;
/// Prefixes per Route Monitoring feed item (the exporter splits it into
/// as many UPDATEs as the 4,096-octet limit needs).
pub(crate) const PER_FEED: usize = 1024;
/// Queue places a dump leaves free for the changes that happen meanwhile
/// (at most; an eighth of a smaller queue).
pub(crate) const RESERVE: usize = 1024;
/// Most prefixes a dump step reads before the engine does something else.
pub(crate) const STEP: usize = 65_536;
/// The neighbor index the Loc-RIB speaks as.
pub(crate) const US: NeighborIdx = NeighborIdx::MAX;

/// The BMP side of the engine: the hub and what a pass changed.
#[derive(Debug)]
pub struct BmpState {
    pub(crate) hub: Hub,
    /// Per collector: Statistics interval and when next due.
    pub(crate) stats: Vec<(Option<Duration>, Option<Instant>)>,
    /// True while some collector is connected: only then are changes noted.
    pub(crate) active: bool,
    /// (neighbor, prefix) → PRE | POST, this pass.
    pub(crate) paths: hashbrown::HashMap<(NeighborIdx, Prefix), u8>,
    /// Adj-RIB-Out entries that changed this pass.
    pub(crate) out: hashbrown::HashSet<(NeighborIdx, Prefix)>,
    /// Prefixes whose Loc-RIB best path was replaced or removed this pass
    /// (the settle no longer sees it).
    pub(crate) loc_gone: hashbrown::HashSet<Prefix>,
    /// Dumps in progress.
    pub(crate) dumps: Vec<Dump>,
    /// The cause of each session's coming Peer Down.
    pub(crate) causes: HashMap<NeighborIdx, DownCause>,
}

/// A full dump in progress for one collector.
#[derive(Debug)]
pub(crate) struct Dump {
    pub(crate) collector: usize,
    pub(crate) views: Views,
    pub(crate) prefixes: Vec<Prefix>,
    pub(crate) pos: usize,
}

/// Route Monitoring items under construction: prefixes grouped by what
/// they share.
#[derive(Default)]
pub(crate) struct Groups {
    pub(crate) map: HashMap<Key, Vec<Prefix>>,
}

/// What the prefixes of one Route Monitoring item share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) view: ViewKey,
    /// The neighbor ([`US`] for the Loc-RIB).
    pub(crate) idx: NeighborIdx,
    /// The attribute set; `None`: withdrawn.
    pub(crate) attr: Option<AttrId>,
    /// A Loc-RIB prefix whose decision changes its attributes (alone).
    pub(crate) decided: Option<Prefix>,
    /// Our rejection (rule, reason) of a pre-policy route.
    pub(crate) rejection: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ViewKey {
    Pre,
    Post,
    Loc,
    Out,
}

impl ViewKey {
    pub(crate) fn view(self) -> View {
        match self {
            ViewKey::Pre => View::PrePolicy,
            ViewKey::Post => View::PostPolicy,
            ViewKey::Loc => View::LocRib,
            ViewKey::Out => View::AdjRibOut,
        }
    }
}

impl Groups {
    pub(crate) fn add(&mut self, key: Key, p: Prefix) {
        self.map.entry(key).or_default().push(p);
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// The peer of an established session, as a per-peer header names it (we
/// encode every UPDATE with 4-octet ASNs, so A is never set).
pub(crate) fn peer_of(s: &SessionInfo) -> Peer {
    Peer {
        address: s.remote_address,
        asn: s.remote_as,
        bgp_id: s.remote_id,
        two_octet_as: false,
    }
}

/// The whole BGP message of a NOTIFICATION.
pub(crate) fn notification_bytes(n: &Notification) -> Vec<u8> {
    let mut b = bytes::BytesMut::new();
    // A NOTIFICATION always encodes (its data is bounded by the decoder).
    let _ = Message::Notification(n.clone()).encode(&Codec::default(), &mut b);
    b.to_vec()
}

pub(crate) fn afi_of(p: &Prefix) -> usize {
    usize::from(!matches!(p, Prefix::V4(_)))
}

/// UPDATEs announcing `prefixes` (one family) with `attrs`, or withdrawing
/// them when `attrs` is `None`, at most [`PER_FEED`] prefixes each.
pub(crate) fn updates(
    attrs: Option<&PathAttributes>,
    prefixes: &[Prefix],
    v4: bool,
) -> Vec<Update> {
    prefixes
        .chunks(PER_FEED)
        .map(|chunk| {
            let nlri: Vec<AddPathPrefix> = chunk.iter().map(|p| AddPathPrefix::new(*p)).collect();
            match (attrs, v4) {
                (None, true) => Update {
                    withdrawn: nlri,
                    ..Update::default()
                },
                (None, false) => Update {
                    mp_unreach: Some(MpUnreach {
                        afi: Afi::IPV6,
                        safi: Safi::UNICAST,
                        withdrawn: nlri,
                    }),
                    ..Update::default()
                },
                (Some(a), true) => Update {
                    attrs: a.clone(),
                    nlri,
                    ..Update::default()
                },
                (Some(a), false) => {
                    let mut attrs = a.clone();
                    let next_hop = attrs
                        .next_hop
                        .take()
                        .filter(IpAddr::is_ipv6)
                        .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
                    Update {
                        attrs,
                        mp_reach: Some(MpReach {
                            afi: Afi::IPV6,
                            safi: Safi::UNICAST,
                            next_hop,
                            link_local_next_hop: None,
                            nlri,
                        }),
                        ..Update::default()
                    }
                }
            }
        })
        .collect()
}

impl BmpState {
    /// The state for a new hub serving `collectors` (same order).
    pub fn new(hub: Hub, collectors: &[BmpConfig]) -> BmpState {
        BmpState {
            hub,
            stats: collectors
                .iter()
                .map(|b| {
                    let every = (b.stats_interval_s > 0)
                        .then(|| Duration::from_secs(u64::from(b.stats_interval_s)));
                    (every, None)
                })
                .collect(),
            active: false,
            paths: Default::default(),
            out: Default::default(),
            loc_gone: Default::default(),
            dumps: Vec::new(),
            causes: HashMap::new(),
        }
    }
}

impl Key {
    pub(crate) fn announce(view: ViewKey, idx: NeighborIdx, attr: AttrId) -> Key {
        Key {
            view,
            idx,
            attr: Some(attr),
            decided: None,
            rejection: None,
        }
    }

    pub(crate) fn withdraw(view: ViewKey, idx: NeighborIdx) -> Key {
        Key {
            view,
            idx,
            attr: None,
            decided: None,
            rejection: None,
        }
    }
}

/// Peer Up for an established session.
pub(crate) fn bmp_peer_up(s: &SessionInfo, at: SystemTime) -> Feed {
    Feed::PeerUp {
        peer: peer_of(s),
        at,
        local: std::net::SocketAddr::new(s.local_address, s.wire.local_port),
        remote_port: s.wire.remote_port,
        sent_open: s.wire.sent_open.clone(),
        received_open: s.wire.received_open.clone(),
    }
}
