//! The engine's side of BMP: one bounded queue per collector, fed by the
//! task that owns the tables (the route engine) with what changed, and a
//! full dump whenever a collector (re)connects. A slow collector never
//! slows a BGP session: [`Hub::publish`] never waits; a collector whose
//! queue is full is cut off (its exporter closes the BMP session, counts it
//! and reconnects, which asks for a new dump).
//!
//! Owned by the route engine task; the exporters ([`super::client`]) hold
//! the receiving ends.

use super::msg::{DownReason, Peer, Stat, View};
use crate::wire::{Codec, Update};
use bytes::Bytes;
use std::net::SocketAddr;
use std::time::SystemTime;
use tokio::sync::mpsc;

/// What an exporter turns into BMP messages.
#[derive(Debug, Clone)]
pub enum Feed {
    /// A session reached Established (both OPENs as sent on the wire).
    PeerUp {
        peer: Peer,
        at: SystemTime,
        local: SocketAddr,
        remote_port: u16,
        sent_open: Bytes,
        received_open: Bytes,
    },
    /// The Loc-RIB instance (RFC 9069 §5.3), announced once per BMP
    /// session before its routes: `open` is our OPEN, sent as both.
    LocRibUp {
        us: Peer,
        at: SystemTime,
        open: Bytes,
    },
    /// A session went down.
    PeerDown {
        peer: Peer,
        at: SystemTime,
        reason: DownReason,
    },
    /// Routes of one view; withdrawals are UPDATEs too. `rejection` is the
    /// (rule, reason) of a pre-policy route import policy rejected.
    Route {
        view: View,
        peer: Peer,
        at: SystemTime,
        update: Box<Update>,
        codec: Codec,
        rejection: Option<(String, String)>,
    },
    /// A Statistics Report.
    Stats {
        view: View,
        peer: Peer,
        at: SystemTime,
        stats: Vec<Stat>,
    },
}

impl Feed {
    /// The view the message belongs to (Peer Up/Down: pre-policy, always sent).
    pub fn view(&self) -> Option<View> {
        match self {
            Feed::Route { view, .. } | Feed::Stats { view, .. } => Some(*view),
            Feed::LocRibUp { .. } => Some(View::LocRib),
            _ => None,
        }
    }
}

/// Which views a collector asked for (`[[bmp]]` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Views {
    pub pre_policy: bool,
    pub post_policy: bool,
    pub loc_rib: bool,
    pub adj_rib_out: bool,
}

impl Views {
    /// Whether `view` is wanted.
    pub fn wants(&self, view: View) -> bool {
        match view {
            View::PrePolicy => self.pre_policy,
            View::PostPolicy => self.post_policy,
            View::LocRib => self.loc_rib,
            View::AdjRibOut => self.adj_rib_out,
        }
    }
}

/// What an exporter asks of the hub.
#[derive(Debug)]
pub enum Request {
    /// Connected: send a full dump into this new queue, then increments.
    Dump {
        collector: usize,
        queue: mpsc::Sender<Feed>,
    },
}

#[derive(Debug)]
struct Slot {
    views: Views,
    queue: Option<mpsc::Sender<Feed>>,
}

/// The collectors' queues, owned by the engine.
#[derive(Debug)]
pub struct Hub {
    slots: Vec<Slot>,
    requests: mpsc::UnboundedReceiver<Request>,
    /// Exporters take a clone to ask for dumps.
    pub request_tx: mpsc::UnboundedSender<Request>,
}

impl Hub {
    /// A hub for these collectors (index = collector id).
    pub fn new(views: Vec<Views>) -> Hub {
        let (request_tx, requests) = mpsc::unbounded_channel();
        Hub {
            slots: views
                .into_iter()
                .map(|views| Slot { views, queue: None })
                .collect(),
            requests,
            request_tx,
        }
    }

    /// True when some connected collector wants `view` (so the engine
    /// builds messages only for views someone reads).
    pub fn wants(&self, view: View) -> bool {
        self.slots
            .iter()
            .any(|s| s.queue.is_some() && s.views.wants(view))
    }

    /// Queues `feed` for every connected collector that wants it; never
    /// waits. A full queue cuts that collector off (it re-syncs).
    pub fn publish(&mut self, feed: &Feed) {
        for s in &mut self.slots {
            let Some(q) = &s.queue else { continue };
            if feed.view().is_some_and(|v| !s.views.wants(v)) {
                continue;
            }
            if q.try_send(feed.clone()).is_err() {
                s.queue = None;
            }
        }
    }

    /// The collectors that asked for a dump since the last call: their new
    /// queues are installed, and the caller must now [`Hub::dump_to`] each
    /// with the full state before publishing anything else.
    pub fn take_dump_requests(&mut self) -> Vec<usize> {
        let mut out = Vec::new();
        while let Ok(Request::Dump { collector, queue }) = self.requests.try_recv() {
            if let Some(s) = self.slots.get_mut(collector) {
                s.queue = Some(queue);
                out.push(collector);
            }
        }
        out
    }

    /// Queues one message of a dump for collector `c` only.
    pub fn dump_to(&mut self, c: usize, feed: Feed) {
        let Some(s) = self.slots.get_mut(c) else {
            return;
        };
        let Some(q) = &s.queue else { return };
        if feed.view().is_some_and(|v| !s.views.wants(v)) {
            return;
        }
        if q.try_send(feed).is_err() {
            s.queue = None;
        }
    }

    /// The views collector `c` wants.
    pub fn views(&self, c: usize) -> Option<Views> {
        self.slots.get(c).map(|s| s.views)
    }

    /// How many collectors the hub serves.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when it serves none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// True while collector `c` has a queue (connected, not cut off).
    pub fn connected(&self, c: usize) -> bool {
        self.slots.get(c).is_some_and(|s| s.queue.is_some())
    }

    /// True when some collector is connected.
    pub fn any_connected(&self) -> bool {
        self.slots.iter().any(|s| s.queue.is_some())
    }

    /// The size of collector `c`'s queue (0 when it has none).
    pub fn capacity(&self, c: usize) -> usize {
        self.slots
            .get(c)
            .and_then(|s| s.queue.as_ref())
            .map_or(0, |q| q.max_capacity())
    }

    /// Free places in collector `c`'s queue (0 when it has none): a dump
    /// is paced by it, so that it never overflows a collector that keeps up.
    pub fn room(&self, c: usize) -> usize {
        self.slots
            .get(c)
            .and_then(|s| s.queue.as_ref())
            .map_or(0, |q| q.capacity())
    }
}
