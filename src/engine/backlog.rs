//! The engine task's per-session backlogs: what the route engine produced
//! for a session that the session's channel has not taken yet (the session
//! writes at the pace its peer reads).
//!
//! Bounded: when the encoded UPDATEs waiting for one session pass
//! [`BACKLOG_LIMIT`] bytes, they are dropped, and only the prefixes they
//! (and whatever follows while the session is behind) touched are kept.
//! Once the session's channel is empty again, those prefixes are resent as
//! its Adj-RIB-Out holds them then ([`Input::Resend`]): the peer ends with
//! the same routes as if nothing had been dropped, and memory stays bounded
//! by the table (one entry per prefix) rather than by the churn. Each drop
//! is counted in `coldpotato_export_resyncs_total`. A peer that stops
//! reading altogether is torn down by the session's send hold timer
//! (RFC 9687), which drops the backlog with the session.

use super::pass::Output;
use crate::messages::Input;
use crate::messages::{Encoded, NeighborName, ToPeer};
use crate::metrics::METRICS;
use crate::wire::Prefix;
use std::collections::{HashMap, HashSet, VecDeque};
use tokio::sync::mpsc;

/// UPDATE bytes one session may have waiting in the engine before they are
/// dropped for a resync: above a full table's worth (about 25 MB for 1M
/// IPv4 prefixes in 200k attribute sets), so an initial dump to a slow but
/// reading peer never triggers one.
pub(crate) const BACKLOG_LIMIT: usize = 64 << 20;

/// What was dropped from a session's backlog: resent later.
#[derive(Debug, Default)]
struct Resync {
    prefixes: HashSet<Prefix>,
    end_of_rib: bool,
}

impl Resync {
    /// Remembers the prefixes (and End-of-RIB markers) of dropped UPDATEs.
    fn absorb(&mut self, e: &Encoded) {
        let updates = match e.updates() {
            Ok(u) => u,
            // We encoded them ourselves: cannot happen.
            Err(err) => {
                tracing::error!(error = %err, "cannot decode a dropped backlog piece");
                return;
            }
        };
        for u in updates {
            let mut seen = false;
            let reach = u.mp_reach.iter().flat_map(|m| &m.nlri);
            let unreach = u.mp_unreach.iter().flat_map(|m| &m.withdrawn);
            for p in u
                .withdrawn
                .iter()
                .chain(&u.nlri)
                .chain(reach)
                .chain(unreach)
            {
                self.prefixes.insert(p.prefix);
                seen = true;
            }
            if !seen {
                self.end_of_rib = true;
            }
        }
    }
}

#[derive(Debug, Default)]
struct Backlog {
    /// Each message with the bytes it was counted for in `bytes`.
    queue: VecDeque<(ToPeer, usize)>,
    /// Bytes held in `queue`.
    bytes: usize,
    /// How many messages at the front of `queue` are encoded (see
    /// [`encode_waiting`]).
    encoded: usize,
    /// Set once the backlog was dropped: what to resend.
    resync: Option<Resync>,
}

fn wire_len(m: &ToPeer) -> usize {
    match m {
        ToPeer::Wire(e) => e.len_hint(),
        _ => 0,
    }
}

/// Every session's backlog.
#[derive(Debug)]
pub(crate) struct Backlogs {
    map: HashMap<NeighborName, Backlog>,
    limit: usize,
}

impl Backlogs {
    pub(crate) fn new(limit: usize) -> Self {
        Backlogs {
            map: HashMap::new(),
            limit,
        }
    }

    /// True when nothing waits (no retry needed).
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Forgets a session's backlog (its session went down or restarted).
    pub(crate) fn remove(&mut self, name: &NeighborName) {
        if self.map.remove(name).is_some() {
            set_gauge(name, 0);
        }
    }

    /// Queues the engine's outputs behind what already waits, hands each
    /// session's channel what it takes, and drops the backlog of any
    /// session left over the limit.
    pub(crate) fn deliver(
        &mut self,
        peers: &HashMap<NeighborName, mpsc::Sender<ToPeer>>,
        outputs: Vec<Output>,
    ) {
        let mut touched: HashSet<NeighborName> = HashSet::new();
        for (name, msg) in outputs {
            let b = self.map.entry(name.clone()).or_default();
            match (&mut b.resync, msg) {
                (Some(r), ToPeer::Wire(e)) => r.absorb(&e),
                (_, msg) => {
                    let n = wire_len(&msg);
                    b.bytes += n;
                    b.queue.push_back((msg, n));
                }
            }
            touched.insert(name);
        }
        let limit = self.limit;
        self.map.retain(|name, b| {
            let Some(tx) = peers.get(name) else {
                set_gauge(name, 0);
                return false;
            };
            while let Some((msg, n)) = b.queue.pop_front() {
                match tx.try_send(msg) {
                    Ok(()) => {
                        b.bytes -= n;
                        b.encoded = b.encoded.saturating_sub(1);
                    }
                    Err(mpsc::error::TrySendError::Full(msg)) => {
                        b.queue.push_front((msg, n));
                        break;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        set_gauge(name, 0);
                        return false;
                    }
                }
            }
            encode_waiting(b);
            if b.bytes > limit {
                drop_backlog(name, b);
            }
            if touched.contains(name) || b.queue.is_empty() {
                set_gauge(name, b.bytes);
            }
            !(b.queue.is_empty() && b.resync.is_none())
        });
    }

    /// The resends of sessions whose backlog was dropped and whose channel
    /// has been emptied since: the session is keeping up again.
    pub(crate) fn ready_resyncs(
        &mut self,
        peers: &HashMap<NeighborName, mpsc::Sender<ToPeer>>,
    ) -> Vec<Input> {
        let mut out = Vec::new();
        for (name, b) in &mut self.map {
            let drained = peers
                .get(name)
                .is_some_and(|tx| tx.capacity() == tx.max_capacity());
            if !(drained && b.queue.is_empty()) {
                continue;
            }
            if let Some(r) = b.resync.take() {
                let mut prefixes: Vec<Prefix> = r.prefixes.into_iter().collect();
                prefixes.sort_unstable();
                tracing::info!(
                    neighbor = %name,
                    prefixes = prefixes.len(),
                    "session caught up: resending the prefixes dropped from its backlog"
                );
                out.push(Input::Resend {
                    neighbor: name.clone(),
                    prefixes,
                    end_of_rib: r.end_of_rib,
                });
            }
        }
        self.map
            .retain(|_, b| !(b.queue.is_empty() && b.resync.is_none()));
        out
    }
}

/// Encodes the UPDATE pieces that stay in the backlog (the session's
/// channel is full): a piece waiting as its sets and prefixes holds about
/// five times its encoded size. The session is behind, so the engine does
/// the encoding it would have done; the bytes are shared with the other
/// members of its update group as they would have been.
fn encode_waiting(b: &mut Backlog) {
    for (m, n) in b.queue.iter_mut().skip(b.encoded) {
        if let ToPeer::Wire(e) = m {
            let encoded = e.bytes().len();
            b.bytes = b.bytes - *n + encoded;
            *n = encoded;
        }
    }
    b.encoded = b.queue.len();
}

/// Drops a backlog over the limit: its UPDATEs become prefixes to resend;
/// teardowns and refresh requests stay queued.
fn drop_backlog(name: &NeighborName, b: &mut Backlog) {
    let r = b.resync.get_or_insert_with(Resync::default);
    let bytes = b.bytes;
    b.queue.retain(|(m, _)| match m {
        ToPeer::Wire(e) => {
            r.absorb(e);
            false
        }
        _ => true,
    });
    b.bytes = 0;
    b.encoded = b.queue.len();
    METRICS
        .export_resyncs_total
        .with_label_values(&[name])
        .inc();
    tracing::warn!(
        neighbor = %name,
        bytes,
        prefixes = r.prefixes.len(),
        "session too far behind: its queued UPDATEs are dropped and will be resent from its Adj-RIB-Out"
    );
}

fn set_gauge(name: &str, bytes: usize) {
    METRICS
        .export_backlog_bytes
        .with_label_values(&[name])
        .set(bytes as i64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Codec, Update};
    use bytes::BytesMut;

    fn piece(prefixes: &[&str], announce: bool) -> ToPeer {
        let ps: Vec<crate::wire::AddPathPrefix> = prefixes
            .iter()
            .map(|p| crate::wire::AddPathPrefix {
                path_id: None,
                prefix: p.parse().expect("prefix"),
            })
            .collect();
        let mut u = Update::default();
        if announce {
            u.attrs.origin = Some(crate::wire::Origin::Igp);
            u.attrs.as_path = Some(crate::wire::AsPath::from_sequence(vec![64500]));
            u.attrs.next_hop = Some("192.0.2.1".parse().expect("ip"));
            u.nlri = ps;
        } else {
            u.withdrawn = ps;
        }
        let codec = Codec::default();
        let mut buf = BytesMut::new();
        u.encode(&codec, &mut buf).expect("encodes");
        ToPeer::Wire(Encoded::ready(buf.freeze(), 1, codec))
    }

    fn eor() -> ToPeer {
        let codec = Codec::default();
        let mut buf = BytesMut::new();
        Update::default().encode(&codec, &mut buf).expect("encodes");
        ToPeer::Wire(Encoded::ready(buf.freeze(), 1, codec))
    }

    fn name(s: &str) -> NeighborName {
        NeighborName::from(s)
    }

    #[test]
    fn a_session_that_keeps_up_gets_everything_in_order() {
        let (tx, mut rx) = mpsc::channel(8);
        let peers = HashMap::from([(name("a"), tx)]);
        let mut b = Backlogs::new(1 << 20);
        b.deliver(&peers, vec![(name("a"), piece(&["10.0.0.0/24"], true))]);
        b.deliver(&peers, vec![(name("a"), piece(&["10.0.0.0/24"], false))]);
        assert!(b.is_empty());
        assert!(matches!(rx.try_recv(), Ok(ToPeer::Wire(_))));
        assert!(matches!(rx.try_recv(), Ok(ToPeer::Wire(_))));
    }

    #[test]
    fn a_backlog_over_the_limit_is_dropped_and_resent_as_prefixes_once_drained() {
        let (tx, mut rx) = mpsc::channel(1);
        let peers = HashMap::from([(name("a"), tx)]);
        // The first piece fills the channel; the rest wait, over a tiny limit.
        let mut b = Backlogs::new(100);
        let outputs = vec![
            (name("a"), piece(&["10.0.0.0/24"], true)),
            (name("a"), piece(&["10.0.1.0/24", "10.0.2.0/24"], true)),
            (name("a"), piece(&["10.0.3.0/24"], false)),
            (name("a"), eor()),
            (
                name("a"),
                ToPeer::RequestRefresh {
                    afi: crate::wire::Afi::IPV4,
                    safi: crate::wire::Safi::UNICAST,
                },
            ),
        ];
        b.deliver(&peers, outputs);
        assert!(!b.is_empty());
        // While behind, further UPDATEs only add prefixes.
        b.deliver(&peers, vec![(name("a"), piece(&["10.0.4.0/24"], true))]);
        // Not drained yet: no resend.
        assert!(b.ready_resyncs(&peers).is_empty());
        assert!(matches!(rx.try_recv(), Ok(ToPeer::Wire(_))));
        // The refresh request was kept, and goes out next.
        b.deliver(&peers, Vec::new());
        assert!(matches!(rx.try_recv(), Ok(ToPeer::RequestRefresh { .. })));
        let resend = b.ready_resyncs(&peers);
        let [Input::Resend {
            neighbor,
            prefixes,
            end_of_rib,
        }] = &resend[..]
        else {
            panic!("one resend expected, got {resend:?}");
        };
        assert_eq!(neighbor.as_ref(), "a");
        let got: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            got,
            ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24", "10.0.4.0/24"]
        );
        assert!(*end_of_rib);
        assert!(b.is_empty());
    }

    /// A piece as the export makes it: a job, encoded when first sent.
    fn job(prefixes: &[&str]) -> (ToPeer, Encoded) {
        let ps: Vec<crate::wire::AddPathPrefix> = prefixes
            .iter()
            .map(|p| crate::wire::AddPathPrefix::new(p.parse().expect("prefix")))
            .collect();
        let a = crate::wire::PathAttributes {
            origin: Some(crate::wire::Origin::Igp),
            as_path: Some(crate::wire::AsPath::from_sequence(vec![64500])),
            next_hop: "192.0.2.1".parse().ok(),
            ..Default::default()
        };
        let n = ps.len();
        let job = crate::messages::Job {
            steps: vec![crate::messages::Step::Announce {
                sets: vec![crate::messages::SetRef::Owned(a)],
                prefixes: ps,
                starts: vec![0, n],
            }],
        };
        let e = Encoded::lazy(job, 10_000, Codec::default());
        (ToPeer::Wire(e.clone()), e)
    }

    #[test]
    fn a_piece_left_waiting_is_encoded_and_counted_as_its_bytes() {
        let (tx, mut rx) = mpsc::channel(1);
        let peers = HashMap::from([(name("a"), tx)]);
        let mut b = Backlogs::new(1 << 20);
        let (first, _) = job(&["10.0.0.0/24"]);
        let (second, shared) = job(&["10.0.1.0/24", "10.0.2.0/24"]);
        assert_eq!(shared.len_hint(), 10_000, "a job counts what it holds");
        b.deliver(&peers, vec![(name("a"), first), (name("a"), second)]);
        // The second waits, encoded: the bytes a member of its group sends.
        let waiting = b.map.get(&name("a")).map_or(0, |b| b.bytes);
        assert_eq!(waiting, shared.len_hint());
        assert!(waiting < 100, "{waiting}");
        assert_eq!(shared.updates().map(|u| u[0].nlri.len()).ok(), Some(2));
        assert!(matches!(rx.try_recv(), Ok(ToPeer::Wire(_))));
        b.deliver(&peers, Vec::new());
        assert!(b.is_empty(), "delivered: nothing counted is left");
        assert!(matches!(rx.try_recv(), Ok(ToPeer::Wire(e)) if e.messages() == 1));
    }

    #[test]
    fn a_session_gone_takes_its_backlog_with_it() {
        let (tx, _rx) = mpsc::channel(1);
        let mut peers = HashMap::from([(name("a"), tx)]);
        let mut b = Backlogs::new(1 << 20);
        b.deliver(
            &peers,
            vec![
                (name("a"), piece(&["10.0.0.0/24"], true)),
                (name("a"), piece(&["10.0.1.0/24"], true)),
            ],
        );
        assert!(!b.is_empty());
        peers.clear();
        b.deliver(&peers, Vec::new());
        assert!(b.is_empty());
    }
}
