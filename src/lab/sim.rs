//! A simulated provider router: a minimal BGP speaker that connects to the
//! daemon from its own loopback address, opens a session, announces a fixed
//! set of routes and keeps the session alive until told to stop. The lab uses
//! several of them; `coldpotato loadgen` uses one with a full table.
//!
//! One tokio task per simulated peer; commands arrive on a `watch` channel.
//! It speaks through the crate's own wire codec, so it is also a test of it.

use crate::wire::update::UpdateBuilder;
use crate::wire::{self, AddPathPrefix, Capability, Codec, Message, Notification, Open, Update};
use bytes::{Buf, BytesMut};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

/// What the simulated router should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimMode {
    /// Keep a session up (reconnecting after a failure) and announce.
    Up,
    /// Close the session with Cease/Administrative Shutdown and stay down.
    Down,
}

/// A simulated peer's identity and routes.
#[derive(Debug, Clone)]
pub struct SimPeer {
    pub name: String,
    /// Source address (the neighbor address the daemon has configured).
    pub local: IpAddr,
    pub asn: u32,
    pub router_id: Ipv4Addr,
    /// The daemon's BGP listener.
    pub target: SocketAddr,
    pub hold_time: u16,
    /// UPDATEs to send once Established, then End-of-RIB.
    pub updates: Vec<Update>,
}

/// What happened to a simulated session, for the lab's narration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimEvent {
    Established {
        name: String,
        sent_prefixes: usize,
        took: Duration,
    },
    Closed {
        name: String,
        reason: String,
    },
}

/// Runs the simulated peer until `mode` is dropped. Reconnects after a
/// failure while the mode is `Up` (1 s back-off).
pub async fn run(
    peer: SimPeer,
    mut mode: watch::Receiver<SimMode>,
    events: tokio::sync::mpsc::UnboundedSender<SimEvent>,
) {
    loop {
        while *mode.borrow() != SimMode::Up {
            if mode.changed().await.is_err() {
                return;
            }
        }
        let reason = match session(&peer, &mut mode, &events).await {
            Ok(r) => r,
            Err(e) => e.to_string(),
        };
        let _ = events.send(SimEvent::Closed {
            name: peer.name.clone(),
            reason,
        });
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            r = mode.changed() => if r.is_err() { return },
        }
    }
}

async fn connect(peer: &SimPeer) -> std::io::Result<TcpStream> {
    let sock = match peer.local {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    sock.set_reuseaddr(true)?;
    sock.bind(SocketAddr::new(peer.local, 0))?;
    sock.set_nodelay(true)?;
    tokio::time::timeout(Duration::from_secs(3), sock.connect(peer.target))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))?
}

fn open_for(peer: &SimPeer) -> Open {
    Open {
        version: 4,
        my_as: u16::try_from(peer.asn).unwrap_or(23456),
        hold_time: peer.hold_time,
        bgp_id: peer.router_id,
        capabilities: vec![
            Capability::Multiprotocol {
                afi: wire::Afi::IPV4,
                safi: wire::Safi::UNICAST,
            },
            Capability::Multiprotocol {
                afi: wire::Afi::IPV6,
                safi: wire::Safi::UNICAST,
            },
            Capability::RouteRefresh,
            Capability::FourOctetAs(peer.asn),
        ],
    }
}

/// Errors that end one simulated session.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("decode: {0}")]
    Decode(#[from] wire::DecodeError),
    #[error("encode: {0}")]
    Encode(#[from] wire::EncodeError),
    #[error("received NOTIFICATION {0:?}")]
    Notified(Notification),
    #[error("connection closed by the daemon")]
    Eof,
    #[error("hold timer expired")]
    HoldExpired,
}

async fn send(stream: &mut TcpStream, codec: &Codec, msg: &Message) -> Result<(), SimError> {
    let mut out = BytesMut::with_capacity(64);
    msg.encode(codec, &mut out)?;
    stream.write_all(&out).await?;
    Ok(())
}

/// Sends every update, split into messages that fit, then End-of-RIB for
/// IPv4 unicast (RFC 4724 §2); returns the number of prefixes sent.
async fn send_table(
    stream: &mut TcpStream,
    codec: &Codec,
    updates: &[Update],
) -> Result<usize, SimError> {
    let builder = UpdateBuilder::new(*codec);
    let mut out = BytesMut::with_capacity(1 << 20);
    let mut n = 0;
    for u in updates {
        n += u.nlri.len();
        builder.announce(&u.attrs, None, &u.nlri, &mut out)?;
        if out.len() >= 1 << 20 {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
    stream.write_all(&out).await?;
    send(stream, codec, &Message::from(Update::default())).await?;
    Ok(n)
}

/// Reads the next whole message, waiting at most until `deadline`.
async fn recv(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    codec: &Codec,
    deadline: Instant,
) -> Result<Option<Message>, SimError> {
    loop {
        if let Some(len) = wire::frame_len(buf, codec)? {
            let msg = Message::decode(&buf[..len], codec)?;
            buf.advance(len);
            return Ok(Some(msg));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read_buf(buf)).await {
            Err(_) => return Ok(None),
            Ok(Ok(0)) => return Err(SimError::Eof),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

async fn session(
    peer: &SimPeer,
    mode: &mut watch::Receiver<SimMode>,
    events: &tokio::sync::mpsc::UnboundedSender<SimEvent>,
) -> Result<String, SimError> {
    let started = Instant::now();
    let mut stream = connect(peer).await?;
    let mut codec = Codec::default();
    send(&mut stream, &codec, &Message::Open(open_for(peer))).await?;
    let mut buf = BytesMut::with_capacity(8192);
    let mut hold = Duration::from_secs(u64::from(peer.hold_time.max(3)));
    let mut established = false;
    let mut last_rx = Instant::now();
    let mut next_keepalive = Instant::now();
    loop {
        let wait_until = next_keepalive.min(last_rx + hold);
        tokio::select! {
            r = recv(&mut stream, &mut buf, &codec, wait_until) => {
                match r? {
                    Some(Message::Open(o)) => {
                        let theirs = o.hold_time.min(peer.hold_time);
                        if theirs > 0 {
                            hold = Duration::from_secs(u64::from(theirs));
                        }
                        codec.four_octet_as = o
                            .capabilities
                            .iter()
                            .any(|c| matches!(c, Capability::FourOctetAs(_)));
                        last_rx = Instant::now();
                        send(&mut stream, &codec, &Message::Keepalive).await?;
                    }
                    Some(Message::Keepalive) => {
                        last_rx = Instant::now();
                        if !established {
                            established = true;
                            let n = send_table(&mut stream, &codec, &peer.updates).await?;
                            let _ = events.send(SimEvent::Established {
                                name: peer.name.clone(),
                                sent_prefixes: n,
                                took: started.elapsed(),
                            });
                        }
                    }
                    Some(Message::Notification(n)) => return Err(SimError::Notified(n)),
                    Some(_) => last_rx = Instant::now(),
                    None => {}
                }
            }
            r = mode.changed() => {
                if r.is_err() || *mode.borrow() == SimMode::Down {
                    let n = Notification::new(6, 2, bytes::Bytes::new());
                    let _ = send(&mut stream, &codec, &Message::Notification(n)).await;
                    return Ok("administratively shut down".to_string());
                }
            }
        }
        let now = Instant::now();
        if now >= last_rx + hold {
            let n = Notification::new(4, 0, bytes::Bytes::new());
            let _ = send(&mut stream, &codec, &Message::Notification(n)).await;
            return Err(SimError::HoldExpired);
        }
        if now >= next_keepalive {
            send(&mut stream, &codec, &Message::Keepalive).await?;
            next_keepalive = now + hold / 3;
        }
    }
}

/// One IPv4 route to announce: prefix, AS path (first = the sim's own AS),
/// communities.
pub fn ipv4_update(
    prefixes: &[ipnet::IpNet],
    as_path: &[u32],
    communities: &[wire::Community],
    next_hop: IpAddr,
) -> Update {
    Update {
        attrs: wire::PathAttributes {
            origin: Some(wire::Origin::Igp),
            as_path: Some(wire::AsPath::from_sequence(as_path.to_vec())),
            next_hop: Some(next_hop),
            communities: communities.to_vec(),
            ..Default::default()
        },
        nlri: prefixes
            .iter()
            .map(|p| AddPathPrefix {
                path_id: None,
                prefix: *p,
            })
            .collect(),
        ..Default::default()
    }
}
