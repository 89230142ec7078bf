//! A raw BGP speaker for integration tests: a blocking TCP connection from a
//! chosen loopback source address to the daemon, our wire codec for the
//! OPEN/KEEPALIVE exchange, and a reader thread that collects every message
//! the daemon sends. UPDATEs can be written as raw bytes, so a test can send
//! what our own encoder refuses to build (AS 0, malformed attributes).

use coldpotato::session::conn::Framer;
use coldpotato::wire::{Afi, Capability, Codec, Message, Open, Prefix, Safi, Update};
use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One connected speaker. Dropping it closes the connection.
pub struct Speaker {
    stream: TcpStream,
    /// Every message received from the daemon, in order.
    pub received: Arc<Mutex<Vec<Message>>>,
    codec: Codec,
}

impl Speaker {
    /// Connects from `source` to the daemon at `daemon` as AS `asn` (4-octet
    /// AS and IPv4 unicast capabilities, hold time 90 s), sends OPEN and
    /// KEEPALIVE, and starts collecting what the daemon sends.
    pub fn connect(source: Ipv4Addr, daemon: SocketAddr, asn: u32) -> std::io::Result<Speaker> {
        let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        sock.bind(&SocketAddr::from((source, 0)).into())?;
        sock.connect_timeout(&daemon.into(), Duration::from_secs(5))?;
        let stream: TcpStream = sock.into();
        let codec = Codec::default();
        let open = Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(23456),
            hold_time: 90,
            bgp_id: source,
            capabilities: vec![
                Capability::FourOctetAs(asn),
                Capability::Multiprotocol {
                    afi: Afi::IPV4,
                    safi: Safi::UNICAST,
                },
            ],
        };
        let mut out = bytes::BytesMut::new();
        for m in [Message::Open(open), Message::Keepalive] {
            m.encode(&codec, &mut out)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        let mut s = stream.try_clone()?;
        s.write_all(&out)?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        let mut reader = stream.try_clone()?;
        std::thread::spawn(move || {
            let mut f = Framer::default();
            let mut buf = [0u8; 65536];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => f.extend(&buf[..n]),
                }
                // Our KEEPALIVE already answers the daemon's OPEN.
                while let Ok(Some(m)) = f.next_message(&codec) {
                    if let Ok(mut v) = sink.lock() {
                        v.push(m);
                    }
                }
            }
        });
        Ok(Speaker {
            stream,
            received,
            codec,
        })
    }

    /// Sends one message with our encoder.
    pub fn send(&mut self, m: Message) -> std::io::Result<()> {
        let mut out = bytes::BytesMut::new();
        m.encode(&self.codec, &mut out)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.stream.write_all(&out)
    }

    /// Sends an UPDATE with these raw path attributes (hex, spaces allowed)
    /// and IPv4 NLRI.
    pub fn send_raw_update(&mut self, attrs_hex: &str, nlri: &[&str]) -> std::io::Result<()> {
        let attrs = hex(attrs_hex);
        let mut body = vec![0, 0];
        body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        body.extend_from_slice(&attrs);
        for p in nlri {
            let net: ipnet::Ipv4Net = p.parse().map_err(std::io::Error::other)?;
            let len = net.prefix_len();
            body.push(len);
            body.extend_from_slice(&net.network().octets()[..usize::from(len).div_ceil(8)]);
        }
        let mut m = vec![0xFF; 16];
        m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        m.push(2);
        m.extend_from_slice(&body);
        self.stream.write_all(&m)
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<Message> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The UPDATEs received so far.
    pub fn updates(&self) -> Vec<Update> {
        self.messages()
            .into_iter()
            .filter_map(|m| match m {
                Message::Update(u) => Some(*u),
                _ => None,
            })
            .collect()
    }

    /// Every IPv4 prefix announced to us so far, with the UPDATE carrying it.
    pub fn announced(&self) -> Vec<(Prefix, Update)> {
        self.updates()
            .into_iter()
            .flat_map(|u| {
                u.nlri
                    .iter()
                    .map(|p| (p.prefix, u.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every IPv4 prefix withdrawn from us so far.
    pub fn withdrawn(&self) -> Vec<Prefix> {
        self.updates()
            .into_iter()
            .flat_map(|u| u.withdrawn.into_iter().map(|p| p.prefix))
            .collect()
    }

    /// True once a NOTIFICATION arrived.
    pub fn notified(&self) -> bool {
        self.messages()
            .iter()
            .any(|m| matches!(m, Message::Notification(_)))
    }
}

/// Hex with optional spaces.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}
