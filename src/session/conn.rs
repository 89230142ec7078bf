//! Connection I/O for the peer task: outgoing connects (socket2: bind to
//! `local_address`, TCP MD5, GTSM), and per connection one reader task
//! (framing with [`Framer`] and decode; every [`RTT_SAMPLE`] it also reads
//! the kernel's RTT estimate, `TCP_INFO`) and one writer task.
//!
//! Spawned by `peer`; every task reports to the peer task over its bounded
//! `mpsc::Sender<(ConnId, IoEvent)>`, so a slow peer task slows the reader
//! and TCP flow control slows the peer. The writer takes encoded bytes from
//! a bounded `mpsc::Receiver<Bytes>`; dropping its sender flushes and closes.

use super::fsm::ConnId;
use super::sockopt;
use crate::config::NeighborConfig;
use crate::wire::{frame_len, Codec, DecodeError, Message};
use bytes::{Bytes, BytesMut};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, Instrument, Span};

/// Encoded chunks queued for one connection's writer.
const WRITE_QUEUE: usize = 64;
/// A write that makes no progress for this long ends the connection,
/// until the session's send hold time replaces it
/// ([`ConnIo::set_stall_limit`]).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Read buffer growth step.
const READ_CHUNK: usize = 16 * 1024;
/// After our last bytes and FIN, how long a closing connection keeps
/// reading (and discarding) until the peer closes too: closing a socket
/// with unread data sends RST, and a peer may then lose the NOTIFICATION we
/// just sent (RFC 4271 §6: the NOTIFICATION must reach it).
const LINGER: Duration = Duration::from_secs(2);

/// How often a connection's reader reads the kernel's RTT estimate.
pub const RTT_SAMPLE: Duration = Duration::from_secs(5);

/// What the connection tasks report. Moved once through a channel, so the
/// UPDATE inside `Message` is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum IoEvent {
    /// An outgoing connect succeeded.
    Connected(TcpStream),
    /// An outgoing connect failed.
    ConnectFailed(io::Error),
    /// A whole, decoded message.
    Message(Message),
    /// A message that cannot be decoded; the reader has stopped.
    Invalid(DecodeError),
    /// The peer closed the connection, or it broke.
    Closed(Option<io::Error>),
    /// The kernel's RTT estimate of the connection (`TCP_INFO`), every
    /// [`RTT_SAMPLE`] (dropped, not queued, when the peer task is behind).
    Rtt(sockopt::TcpRtt),
    /// A write made no progress for the stall limit (the send hold time
    /// once the session is negotiated, RFC 9687): the peer stopped
    /// reading. The writer has stopped and set the socket to reset on
    /// close, so the kernel frees what is queued for the peer.
    WriteStalled,
}

/// Reassembles BGP messages from a byte stream: tells "need more bytes"
/// (`Ok(None)`) from "this can never be a message" (`Err`).
#[derive(Debug, Default)]
pub struct Framer {
    buf: BytesMut,
}

impl Framer {
    /// Appends received bytes.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole message, `Ok(None)` when incomplete.
    pub fn next_message(&mut self, codec: &Codec) -> Result<Option<Message>, DecodeError> {
        match frame_len(&self.buf, codec)? {
            None => Ok(None),
            Some(n) => {
                let frame = self.buf.split_to(n);
                Message::decode(&frame, codec).map(Some)
            }
        }
    }

    /// The buffer to read into.
    fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

/// The peer task's side of one connection.
#[derive(Debug)]
pub struct ConnIo {
    /// Our end of the connection.
    pub local: SocketAddr,
    /// The peer's end.
    pub remote: SocketAddr,
    writer: Option<mpsc::Sender<Bytes>>,
    codec: watch::Sender<Codec>,
    /// Write stall limit in milliseconds, shared with the writer.
    stall: Arc<AtomicU64>,
    /// Returns the read half when told to stop (or at EOF / a bad message),
    /// so a closing connection can drain it.
    reader: JoinHandle<Option<OwnedReadHalf>>,
    stop_reader: Option<oneshot::Sender<()>>,
    writer_task: JoinHandle<()>,
}

impl ConnIo {
    /// Starts the reader and writer tasks of a connected stream.
    pub fn start(
        id: ConnId,
        stream: TcpStream,
        events: mpsc::Sender<(ConnId, IoEvent)>,
    ) -> io::Result<ConnIo> {
        let local = stream.local_addr()?;
        let remote = stream.peer_addr()?;
        let (rd, wr) = stream.into_split();
        let (codec_tx, codec_rx) = watch::channel(Codec::default());
        let (wtx, wrx) = mpsc::channel(WRITE_QUEUE);
        let span = Span::current();
        let (stop_tx, stop_rx) = oneshot::channel();
        let reader = tokio::spawn(
            read_loop(id, rd, codec_rx, events.clone(), stop_rx).instrument(span.clone()),
        );
        let stall = Arc::new(AtomicU64::new(WRITE_TIMEOUT.as_millis() as u64));
        let writer_task =
            tokio::spawn(write_loop(id, wr, wrx, events, stall.clone()).instrument(span));
        Ok(ConnIo {
            local,
            remote,
            writer: Some(wtx),
            codec: codec_tx,
            stall,
            reader,
            stop_reader: Some(stop_tx),
            writer_task,
        })
    }

    /// Sets the negotiated codec for decoding what follows.
    pub fn set_codec(&self, codec: Codec) {
        self.codec.send_if_modified(|c| {
            let changed = *c != codec;
            *c = codec;
            changed
        });
    }

    /// A peer that takes none of our bytes for this long is gone (the
    /// RFC 9687 send hold time once the session is negotiated): the
    /// writer reports [`IoEvent::WriteStalled`].
    pub fn set_stall_limit(&self, limit: Duration) {
        self.stall
            .store(limit.as_millis() as u64, Ordering::Relaxed);
    }

    /// Queues bytes; waits while the writer's queue is full. False when the
    /// connection is gone.
    pub async fn write(&self, bytes: Bytes) -> bool {
        match &self.writer {
            Some(w) => w.send(bytes).await.is_ok(),
            None => false,
        }
    }

    /// Stops reading; the writer flushes what is queued and sends FIN; then
    /// the connection reads (and discards) until the peer closes too, at
    /// most [`LINGER`], so it ends without RST and the peer gets our last
    /// NOTIFICATION. Returns the task doing it, so shutdown can wait.
    pub fn close(mut self) -> JoinHandle<()> {
        if let Some(stop) = self.stop_reader.take() {
            let _ = stop.send(());
        }
        self.writer = None;
        let (reader, writer) = (self.reader, self.writer_task);
        tokio::spawn(
            async move {
                let _ = writer.await;
                if let Ok(Some(mut rd)) = reader.await {
                    let mut buf = vec![0u8; READ_CHUNK];
                    let end = tokio::time::Instant::now() + LINGER;
                    while let Ok(Ok(n)) = tokio::time::timeout_at(end, rd.read(&mut buf)).await {
                        if n == 0 {
                            break;
                        }
                    }
                }
            }
            .in_current_span(),
        )
    }
}

/// Reads and frames until EOF, an error, a bad message or `stop`; returns
/// the read half unless the socket broke, for [`ConnIo::close`] to drain.
async fn read_loop(
    id: ConnId,
    mut rd: OwnedReadHalf,
    codec: watch::Receiver<Codec>,
    events: mpsc::Sender<(ConnId, IoEvent)>,
    mut stop: oneshot::Receiver<()>,
) -> Option<OwnedReadHalf> {
    let mut framer = Framer::default();
    let mut rtt = tokio::time::interval(RTT_SAMPLE);
    rtt.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        loop {
            let c = *codec.borrow();
            match framer.next_message(&c) {
                Ok(None) => break,
                Ok(Some(m)) => {
                    tokio::select! {
                        biased;
                        _ = &mut stop => return Some(rd),
                        r = events.send((id, IoEvent::Message(m))) => {
                            if r.is_err() {
                                return Some(rd);
                            }
                        }
                    }
                }
                Err(e) => {
                    let _ = events.send((id, IoEvent::Invalid(e))).await;
                    return Some(rd);
                }
            }
        }
        let buf = framer.buf_mut();
        buf.reserve(READ_CHUNK);
        let r = tokio::select! {
            biased;
            _ = &mut stop => return Some(rd),
            _ = rtt.tick() => {
                if let Ok(sample) = sockopt::tcp_rtt(rd.as_ref()) {
                    // Telemetry: a full channel drops the sample.
                    let _ = events.try_send((id, IoEvent::Rtt(sample)));
                }
                continue;
            }
            r = rd.read_buf(buf) => r,
        };
        match r {
            Ok(0) => {
                let _ = events.send((id, IoEvent::Closed(None))).await;
                return Some(rd);
            }
            Ok(_) => {}
            Err(e) => {
                let _ = events.send((id, IoEvent::Closed(Some(e)))).await;
                return None;
            }
        }
    }
}

async fn write_loop(
    id: ConnId,
    mut wr: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<(ConnId, IoEvent)>,
    stall: Arc<AtomicU64>,
) {
    while let Some(bytes) = queue.recv().await {
        let limit = Duration::from_millis(stall.load(Ordering::Relaxed));
        match tokio::time::timeout(limit, wr.write_all(&bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                debug!(error = %e, "write failed");
                let _ = events.try_send((id, IoEvent::Closed(Some(e))));
                return;
            }
            Err(_) => {
                give_up(&wr);
                let _ = events.send((id, IoEvent::WriteStalled)).await;
                return;
            }
        }
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, wr.shutdown()).await;
}

/// A peer that stopped reading: makes the close a reset (`SO_LINGER` 0)
/// so the kernel drops the bytes the peer never read. No NOTIFICATION can
/// follow them: the socket buffer is full, and the last write may have
/// stopped in the middle of a message (RFC 9687 §4 accepts that the Send
/// Hold Timer Expired NOTIFICATION is usually lost).
fn give_up(wr: &OwnedWriteHalf) {
    let _ = socket2::SockRef::from(wr.as_ref()).set_linger(Some(Duration::ZERO));
}

/// Starts an outgoing connection to the neighbor (its `port`, from its
/// `local_address`, with its MD5 key and GTSM), reporting
/// [`IoEvent::Connected`] or [`IoEvent::ConnectFailed`].
pub fn connect(
    id: ConnId,
    neighbor: &NeighborConfig,
    timeout: Duration,
    events: mpsc::Sender<(ConnId, IoEvent)>,
) -> JoinHandle<()> {
    let n = neighbor.clone();
    let fut = async move {
        let res = match tokio::time::timeout(timeout, connect_once(&n)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
        };
        let ev = match res {
            Ok(s) => IoEvent::Connected(s),
            Err(e) => IoEvent::ConnectFailed(e),
        };
        let _ = events.send((id, ev)).await;
    };
    tokio::spawn(fut.instrument(Span::current()))
}

async fn connect_once(n: &NeighborConfig) -> io::Result<TcpStream> {
    let peer = SocketAddr::new(n.address, n.port);
    let s = Socket::new(Domain::for_address(peer), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(key) = &n.password {
        sockopt::set_md5(&s, n.address, Some(key))?;
    }
    if n.ttl_security {
        sockopt::set_gtsm(&s, peer.is_ipv6())?;
    }
    if let Some(local) = n.local_address {
        s.bind(&SocketAddr::new(local, 0).into())?;
    }
    s.set_nonblocking(true)?;
    let sock = TcpSocket::from_std_stream(s.into());
    let stream = sock.connect(peer).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keepalive() -> Vec<u8> {
        let mut v = vec![0xff; 16];
        v.extend_from_slice(&[0, 19, 4]);
        v
    }

    #[test]
    fn framer_waits_for_the_rest_of_a_message() {
        let mut f = Framer::default();
        let ka = keepalive();
        f.extend(&ka[..10]);
        assert_eq!(f.next_message(&Codec::default()), Ok(None));
        f.extend(&ka[10..]);
        f.extend(&ka);
        assert_eq!(
            f.next_message(&Codec::default()),
            Ok(Some(Message::Keepalive))
        );
        assert_eq!(
            f.next_message(&Codec::default()),
            Ok(Some(Message::Keepalive))
        );
        assert_eq!(f.next_message(&Codec::default()), Ok(None));
    }

    #[test]
    fn framer_rejects_a_bad_marker_before_the_message_is_complete() {
        let mut f = Framer::default();
        f.extend(&[0xff, 0xff, 0x00]);
        let e = f.next_message(&Codec::default());
        let n = e.err().and_then(|e| e.notification());
        assert_eq!(n.map(|n| (n.code, n.subcode)), Some((1, 1)));
    }

    #[test]
    fn framer_rejects_a_length_beyond_4096_without_extended_message() {
        let mut f = Framer::default();
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&[0x10, 0x01, 2]);
        f.extend(&m);
        let n = f
            .next_message(&Codec::default())
            .err()
            .and_then(|e| e.notification());
        assert_eq!(n.map(|n| (n.code, n.subcode)), Some((1, 2)));
    }
}
