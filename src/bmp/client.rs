//! One BMP exporter task per `[[bmp]]` collector: connects out (RFC 7854
//! §3.2: the monitored router initiates), sends Initiation, asks the hub
//! for a full dump on a fresh bounded queue, then turns every [`Feed`] into
//! BMP messages and writes them in batches. When the hub cuts the queue off
//! (a slow collector) or the connection fails, the session is closed,
//! counted, and re-established with back-off (1 s doubling to 60 s), which
//! brings a new dump. On shutdown it sends Termination.
//!
//! Runs on the daemon's runtime; talks to the engine only through the hub's
//! channels, so BGP sessions never wait for a collector.

use super::hub::{Feed, Request};
use super::msg;
use crate::session::encode::encode_update;
use crate::wire::Message;
use bytes::BytesMut;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// One collector as the exporter needs it.
#[derive(Debug, Clone)]
pub struct Exporter {
    /// `[[bmp]] name`, the metric label.
    pub name: String,
    /// `HOST:PORT`.
    pub address: String,
    /// Our sysName (Initiation).
    pub sys_name: String,
    /// Messages the hub may queue before it cuts a slow collector off.
    pub queue: usize,
    /// Append our rejection TLV to pre-policy Route Monitoring messages
    /// (`[[bmp]] rejection_tlv`; see `msg`).
    pub rejection_tlv: bool,
}

/// Why a BMP session ended (the `reason` label of the resync counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Overflow,
    WriteFailed,
    Shutdown,
}

/// Runs until `shutdown` turns true.
pub async fn run(
    ex: Exporter,
    collector: usize,
    requests: mpsc::UnboundedSender<Request>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    let m = &crate::metrics::METRICS;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let conn = tokio::select! {
            c = TcpStream::connect(ex.address.as_str()) => c,
            _ = shutdown.changed() => return,
        };
        let mut stream = match conn {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(collector = %ex.name, address = %ex.address, retry_s = backoff.as_secs(), "BMP collector unreachable: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tracing::info!(collector = %ex.name, address = %ex.address, "BMP session up");
        m.bmp_session_up.with_label_values(&[&ex.name]).set(1);
        let ended = session(&ex, collector, &requests, &mut stream, &mut shutdown).await;
        m.bmp_session_up.with_label_values(&[&ex.name]).set(0);
        let reason = match ended {
            Ended::Overflow => "overflow",
            Ended::WriteFailed => "write-failed",
            Ended::Shutdown => return,
        };
        m.bmp_resyncs_total
            .with_label_values(&[&ex.name, reason])
            .inc();
        tracing::warn!(collector = %ex.name, reason, "BMP session closed; will reconnect and re-sync");
        if ended == Ended::WriteFailed {
            backoff = (backoff * 2).min(Duration::from_secs(60));
        } else {
            backoff = Duration::from_secs(1);
        }
    }
}

async fn session(
    ex: &Exporter,
    collector: usize,
    requests: &mpsc::UnboundedSender<Request>,
    stream: &mut TcpStream,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let mut out = BytesMut::with_capacity(1 << 16);
    msg::initiation(&mut out, &ex.sys_name, &sys_descr());
    let (tx, mut rx) = mpsc::channel(ex.queue.max(1));
    if requests
        .send(Request::Dump {
            collector,
            queue: tx,
        })
        .is_err()
    {
        return Ended::Shutdown;
    }
    let sent = crate::metrics::METRICS
        .bmp_messages_sent_total
        .with_label_values(&[&ex.name]);
    loop {
        if !out.is_empty() && stream.write_all(&out).await.is_err() {
            return Ended::WriteFailed;
        }
        out.clear();
        // Shutdown first: a reload that removes the collector also drops
        // its queue, which must not read as an overflow.
        let feed = tokio::select! {
            biased;
            _ = shutdown.changed() => None,
            f = rx.recv() => f,
        };
        let Some(feed) = feed else {
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                msg::termination(&mut out, "coldpotato shutting down");
                let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(&out)).await;
                return Ended::Shutdown;
            }
            return Ended::Overflow;
        };
        sent.inc_by(encode(&feed, ex.rejection_tlv, &mut out));
        // Batch what is already queued, up to ~64 KiB per write.
        while out.len() < 1 << 16 {
            match rx.try_recv() {
                Ok(f) => sent.inc_by(encode(&f, ex.rejection_tlv, &mut out)),
                Err(_) => break,
            }
        }
    }
}

/// Appends the BMP messages for one feed item; returns how many.
fn encode(feed: &Feed, rejection_tlv: bool, out: &mut BytesMut) -> u64 {
    match feed {
        Feed::PeerUp {
            peer,
            at,
            local,
            remote_port,
            sent_open,
            received_open,
        } => {
            msg::peer_up(
                out,
                msg::View::PrePolicy,
                peer,
                *at,
                Some(*local),
                *remote_port,
                sent_open,
                received_open,
                None,
            );
            1
        }
        Feed::LocRibUp { us, at, open } => {
            msg::peer_up(
                out,
                msg::View::LocRib,
                us,
                *at,
                None,
                0,
                open,
                open,
                Some("global"),
            );
            1
        }
        Feed::PeerDown { peer, at, reason } => {
            msg::peer_down(out, msg::View::PrePolicy, peer, *at, reason);
            1
        }
        Feed::Stats {
            view,
            peer,
            at,
            stats,
        } => {
            msg::statistics(out, *view, peer, *at, stats);
            1
        }
        Feed::Route {
            view,
            peer,
            at,
            update,
            codec,
            rejection,
        } => {
            let mut pdus = BytesMut::new();
            if let Err(e) = encode_update(update, codec, &mut pdus) {
                tracing::debug!("BMP: UPDATE not encodable: {e}");
                return 0;
            }
            let mut n = 0;
            let mut rest = &pdus[..];
            while rest.len() >= 19 {
                let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
                let Some(pdu) = rest.get(..len) else { break };
                let rej = rejection
                    .as_ref()
                    .filter(|_| rejection_tlv)
                    .map(|(a, b)| (a.as_str(), b.as_str()));
                msg::route_monitoring(out, *view, peer, *at, pdu, rej);
                rest = &rest[len..];
                n += 1;
            }
            n
        }
    }
}

/// sysDescr: name and version.
fn sys_descr() -> String {
    format!("coldpotato {}", env!("CARGO_PKG_VERSION"))
}

/// The BGP OPEN as it goes on the wire, for a Peer Up message.
pub fn open_bytes(open: &crate::wire::Open) -> bytes::Bytes {
    let mut b = BytesMut::new();
    let _ = Message::Open(open.clone()).encode(&crate::wire::Codec::default(), &mut b);
    b.freeze()
}
