//! The RTR client: one tokio task per configured cache. Connects over TCP
//! (bounded connect time, exponential back-off up to the retry interval),
//! runs a [`Session`] (Reset Query, then Serial Query on Serial Notify and
//! on the refresh interval), publishes each applied transfer to the
//! [`Hub`], and drops the cache's VRPs when they outlive the expire
//! interval. Aborting the task (reload, shutdown) is safe at any await.

use super::pdu::{self, Pdu};
use super::session::{Action, Session, Timers};
use super::Hub;
use crate::metrics::METRICS;
use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};

/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write may take before the cache counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// First reconnect delay; doubled up to the retry interval.
const BACKOFF_START: Duration = Duration::from_secs(1);

/// What one client task needs.
#[derive(Debug, Clone)]
pub struct ClientParams {
    /// `host:port` of the cache.
    pub server: String,
    /// Configured intervals (the cache's own replace them, RFC 8210 §6).
    pub timers: Timers,
    /// Where applied sets go.
    pub hub: Arc<Hub>,
}

/// Starts the client task for one cache.
pub fn spawn(p: ClientParams) -> JoinHandle<()> {
    tokio::spawn(run(p))
}

/// Runs forever (until aborted): connect, serve, reconnect.
pub async fn run(p: ClientParams) {
    let mut session = Session::new(p.timers);
    let mut backoff = BACKOFF_START;
    let up = METRICS
        .rpki_session_up
        .with_label_values(&[p.server.as_str()]);
    loop {
        up.set(0);
        let wait = match timeout(CONNECT_TIMEOUT, TcpStream::connect(&p.server)).await {
            Ok(Ok(stream)) => {
                tracing::info!(server = %p.server, version = session.version as u8, "RTR connected");
                backoff = BACKOFF_START;
                up.set(1);
                let wait = serve(&p, &mut session, stream).await;
                up.set(0);
                wait
            }
            Ok(Err(e)) => {
                tracing::warn!(server = %p.server, "RTR connect failed: {e}");
                next_backoff(&mut backoff, session.timers.retry)
            }
            Err(_) => {
                tracing::warn!(server = %p.server, "RTR connect timed out");
                next_backoff(&mut backoff, session.timers.retry)
            }
        };
        let until = Instant::now() + wait;
        // Sleep, but drop the data the moment it expires.
        loop {
            let expiry = session
                .last_update
                .map(|t| Instant::from_std(t) + session.timers.expire);
            match expiry {
                Some(e) if e < until => {
                    sleep_until(e).await;
                    if session.expire(std::time::Instant::now()) {
                        tracing::warn!(server = %p.server, "RTR data expired; VRPs dropped");
                        p.hub.publish(&p.server, None);
                    }
                }
                _ => {
                    sleep_until(until).await;
                    break;
                }
            }
        }
    }
}

fn next_backoff(backoff: &mut Duration, retry: Duration) -> Duration {
    let now = (*backoff).min(retry.max(BACKOFF_START));
    *backoff = (*backoff * 2).min(retry.max(BACKOFF_START));
    now
}

/// Serves one connection; returns how long to wait before reconnecting.
async fn serve(p: &ClientParams, session: &mut Session, stream: TcpStream) -> Duration {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut refresh_at = Instant::now() + session.timers.refresh;
    let mut actions = session.connected();
    loop {
        for a in actions.drain(..) {
            match a {
                Action::Send(pdu) => {
                    if let Err(e) = send(&mut wr, session, &pdu).await {
                        tracing::warn!(server = %p.server, "RTR write failed: {e}");
                        return BACKOFF_START;
                    }
                }
                Action::Publish => {
                    refresh_at = Instant::now() + session.timers.refresh;
                    tracing::debug!(server = %p.server, vrps = session.vrps().len(), sync = ?session.sync, "RTR End of Data");
                    // Copying and indexing ~500k VRPs is CPU work: not on
                    // a runtime worker.
                    let set = Arc::new(session.vrps().clone());
                    let (hub, server) = (p.hub.clone(), p.server.clone());
                    let _ =
                        tokio::task::spawn_blocking(move || hub.publish(&server, Some(set))).await;
                }
                Action::Close {
                    report,
                    reconnect_after,
                    why,
                } => {
                    tracing::warn!(server = %p.server, "RTR session closed: {why}");
                    if let Some(r) = report {
                        let _ = send(&mut wr, session, &r).await;
                    }
                    return reconnect_after;
                }
            }
        }
        let expiry = session
            .last_update
            .map(|t| Instant::from_std(t) + session.timers.expire);
        tokio::select! {
            n = rd.read_buf(&mut buf) => {
                match n {
                    Ok(0) => {
                        tracing::warn!(server = %p.server, "RTR cache closed the connection");
                        return BACKOFF_START;
                    }
                    Err(e) => {
                        tracing::warn!(server = %p.server, "RTR read failed: {e}");
                        return BACKOFF_START;
                    }
                    Ok(_) => {}
                }
                loop {
                    match pdu::decode(&buf) {
                        Ok(Some((version, pdu, used))) => {
                            let _ = buf.split_to(used);
                            actions.extend(session.on_pdu(version, pdu, std::time::Instant::now()));
                            if actions.iter().any(|a| matches!(a, Action::Close { .. })) {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(server = %p.server, "RTR malformed PDU: {e}");
                            let end = pdu::frame_len(&buf).ok().flatten().unwrap_or(pdu::HEADER_LEN);
                            let report = Pdu::error_report(&e, &buf[..end.min(buf.len())]);
                            let _ = send(&mut wr, session, &report).await;
                            return session.timers.retry.min(Duration::from_secs(30));
                        }
                    }
                }
            }
            _ = sleep_until(refresh_at) => {
                refresh_at = Instant::now() + session.timers.refresh;
                actions.extend(session.refresh());
            }
            _ = sleep_until(expiry.unwrap_or(refresh_at)), if expiry.is_some() => {
                if session.expire(std::time::Instant::now()) {
                    tracing::warn!(server = %p.server, "RTR data expired; VRPs dropped");
                    p.hub.publish(&p.server, None);
                }
            }
        }
    }
}

async fn send(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    session: &Session,
    pdu: &Pdu,
) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    pdu.encode(session.version, &mut out);
    match timeout(WRITE_TIMEOUT, wr.write_all(&out)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::other("write timed out")),
    }
}
