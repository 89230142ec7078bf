//! `coldpotato sink`: an internal (iBGP) neighbor that only receives. It
//! listens on one address, accepts the speaker under test (ours, or BIRD for
//! a baseline), and counts the IPv4 and IPv6 unicast prefixes it holds,
//! checking what an internal neighbor must see: LOCAL_PREF present and the
//! AS path starting with the feeder's ASN (`--first-as`), unchanged over
//! iBGP. It prints a progress line when its table changes (at most every
//! `--every-ms`), `sink: complete ...` once it holds `--expect` prefixes
//! and `sink: end-of-rib ...` when the speaker sends End-of-RIB; each line
//! carries the Unix time, so a bench can time a transfer without parsing
//! BGP itself. Used by `benches/full_table.rs`; shipped with `loadgen` so
//! operators can load-test the export side too.

use crate::wire::{self, Capability, Codec, Message, Open, Prefix, Update};
use bytes::{Buf, BytesMut};
// hashbrown's default hasher (foldhash): the std one (SipHash) was ~60 %
// of the sink's CPU on a full table, CPU taken from the speaker under test.
use hashbrown::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Command-line arguments of `coldpotato sink`.
#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    /// Where to listen for the speaker's connection.
    #[arg(long, default_value = "127.0.0.9:179")]
    pub listen: SocketAddr,
    /// Our ASN: the speaker's own, for an internal session.
    #[arg(long)]
    pub asn: u32,
    /// Our BGP identifier.
    #[arg(long, default_value = "192.0.2.9")]
    pub router_id: Ipv4Addr,
    /// Print `sink: complete` once this many prefixes are held (0: never).
    #[arg(long, default_value_t = 0)]
    pub expect: usize,
    /// Check that every AS path starts with this ASN.
    #[arg(long)]
    pub first_as: Option<u32>,
    /// Shortest interval between progress lines, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub every_ms: u64,
}

/// Errors that end the sink's session.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("decode: {0}")]
    Decode(#[from] wire::DecodeError),
    #[error("encode: {0}")]
    Encode(#[from] wire::EncodeError),
    #[error("the speaker sent NOTIFICATION {0:?}")]
    Notified(wire::Notification),
    #[error("the speaker closed the connection")]
    Eof,
}

/// What the sink holds and has seen wrong.
#[derive(Debug, Default)]
pub struct Tally {
    pub held: HashSet<Prefix>,
    pub updates: u64,
    pub withdrawals: u64,
    /// Prefixes announced without LOCAL_PREF.
    pub no_local_pref: u64,
    /// Held prefixes whose AS path, as last announced, does not start with
    /// `--first-as` (a transitional best from another feed, replaced since,
    /// does not count).
    pub wrong_first_as: HashSet<Prefix>,
}

impl Tally {
    /// Applies one UPDATE; `first_as` is the expected leftmost ASN.
    pub fn apply(&mut self, u: &Update, first_as: Option<u32>) {
        self.updates += 1;
        let gone = u
            .withdrawn
            .iter()
            .chain(u.mp_unreach.iter().flat_map(|m| m.withdrawn.iter()));
        for p in gone {
            self.withdrawals += 1;
            self.held.remove(&p.prefix);
            self.wrong_first_as.remove(&p.prefix);
        }
        let new = u
            .nlri
            .iter()
            .chain(u.mp_reach.iter().flat_map(|m| m.nlri.iter()));
        let wrong = first_as
            .is_some_and(|want| u.attrs.as_path.as_ref().and_then(|p| p.first_as()) != Some(want));
        let mut n = 0u64;
        for p in new {
            n += 1;
            self.held.insert(p.prefix);
            if wrong {
                self.wrong_first_as.insert(p.prefix);
            } else if !self.wrong_first_as.is_empty() {
                self.wrong_first_as.remove(&p.prefix);
            }
        }
        if n > 0 && u.attrs.local_pref.is_none() {
            self.no_local_pref += n;
        }
    }

    fn line(&self, what: &str, since: Instant) -> String {
        format!(
            "sink: {what} held={} updates={} withdrawals={} no_local_pref={} \
             wrong_first_as={} t={:.3} unix={:.3}",
            self.held.len(),
            self.updates,
            self.withdrawals,
            self.no_local_pref,
            self.wrong_first_as.len(),
            since.elapsed().as_secs_f64(),
            unix_now()
        )
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn open_for(args: &SinkArgs) -> Open {
    Open {
        version: 4,
        my_as: u16::try_from(args.asn).unwrap_or(23456),
        hold_time: 90,
        bgp_id: args.router_id,
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
            Capability::FourOctetAs(args.asn),
        ],
    }
}

async fn send(stream: &mut TcpStream, codec: &Codec, msg: &Message) -> Result<(), SinkError> {
    let mut out = BytesMut::with_capacity(64);
    msg.encode(codec, &mut out)?;
    stream.write_all(&out).await?;
    Ok(())
}

/// Runs the sink: one session at a time, for ever (each new session starts
/// an empty table, as the speaker resends everything).
pub async fn run(args: SinkArgs) -> Result<(), SinkError> {
    let listener = TcpListener::bind(args.listen).await?;
    println!("sink: listening on {} unix={:.3}", args.listen, unix_now());
    loop {
        let (stream, from) = listener.accept().await?;
        println!("sink: connection from {from} unix={:.3}", unix_now());
        match session(&args, stream).await {
            Ok(()) => {}
            Err(e) => println!("sink: session ended: {e} unix={:.3}", unix_now()),
        }
    }
}

async fn session(args: &SinkArgs, mut stream: TcpStream) -> Result<(), SinkError> {
    stream.set_nodelay(true)?;
    let mut codec = Codec::default();
    send(&mut stream, &codec, &Message::Open(open_for(args))).await?;
    let mut buf = BytesMut::with_capacity(1 << 20);
    let mut tally = Tally::default();
    // Sized for the table it expects: no rehashing while it arrives.
    tally.held.reserve(args.expect);
    let since = Instant::now();
    let every = Duration::from_millis(args.every_ms.max(1));
    let mut last_print = Instant::now();
    let mut dirty = false;
    let mut complete = false;
    let mut keepalive = tokio::time::interval(Duration::from_secs(20));
    loop {
        while let Some(len) = wire::frame_len(&buf, &codec)? {
            let msg = Message::decode(&buf[..len], &codec)?;
            buf.advance(len);
            match msg {
                Message::Open(o) => {
                    codec.four_octet_as = o
                        .capabilities
                        .iter()
                        .any(|c| matches!(c, Capability::FourOctetAs(_)));
                    send(&mut stream, &codec, &Message::Keepalive).await?;
                    println!("sink: established unix={:.3}", unix_now());
                }
                Message::Update(u) => {
                    if u.end_of_rib_family().is_some() {
                        println!("{}", tally.line("end-of-rib", since));
                        continue;
                    }
                    tally.apply(&u, args.first_as);
                    dirty = true;
                    if !complete && args.expect > 0 && tally.held.len() >= args.expect {
                        complete = true;
                        println!("{}", tally.line("complete", since));
                    }
                }
                Message::Notification(n) => return Err(SinkError::Notified(n)),
                _ => {}
            }
        }
        if dirty && last_print.elapsed() >= every {
            println!("{}", tally.line("progress", since));
            last_print = Instant::now();
            dirty = false;
        }
        buf.reserve(64 * 1024);
        tokio::select! {
            r = stream.read_buf(&mut buf) => {
                if r? == 0 {
                    println!("{}", tally.line("closed", since));
                    return Err(SinkError::Eof);
                }
            }
            _ = keepalive.tick() => send(&mut stream, &codec, &Message::Keepalive).await?,
            _ = tokio::time::sleep(every), if dirty => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AddPathPrefix, AsPath, PathAttributes};

    fn update(prefixes: &[&str], withdrawn: &[&str], lp: Option<u32>, path: &[u32]) -> Update {
        let p = |s: &&str| AddPathPrefix {
            path_id: None,
            prefix: s.parse().expect("prefix"),
        };
        Update {
            withdrawn: withdrawn.iter().map(p).collect(),
            nlri: prefixes.iter().map(p).collect(),
            attrs: PathAttributes {
                local_pref: lp,
                as_path: Some(AsPath::from_sequence(path.to_vec())),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn tally_counts_held_prefixes_and_what_an_internal_neighbor_must_see() {
        let mut t = Tally::default();
        t.apply(
            &update(&["45.0.0.0/24", "45.0.1.0/24"], &[], Some(100), &[64500, 1]),
            Some(64500),
        );
        t.apply(&update(&["45.0.2.0/24"], &[], None, &[64501]), Some(64500));
        t.apply(&update(&[], &["45.0.1.0/24"], None, &[]), Some(64500));
        assert_eq!(t.held.len(), 2);
        assert_eq!((t.updates, t.withdrawals), (3, 1));
        assert_eq!((t.no_local_pref, t.wrong_first_as.len()), (1, 1));
        // The wrong path replaced by the right one: nothing wrong is held.
        t.apply(
            &update(&["45.0.2.0/24"], &[], Some(100), &[64500]),
            Some(64500),
        );
        assert_eq!((t.held.len(), t.wrong_first_as.len()), (2, 0));
    }
}
