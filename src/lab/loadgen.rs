//! `coldpotato loadgen`: one simulated provider router that opens a session
//! to a BGP speaker (ours, or BIRD/FRR/GoBGP for a baseline in the same run)
//! and announces a synthetic full table ([`super::table`]) or one peer's
//! real table from an MRT or `bgpdump -m` dump (`--table`, [`super::dump`]),
//! then reports how long the transfer took and stays up for `--hold-for`
//! seconds (0: until Ctrl-C). Used by the benches; shipped so operators can
//! load-test too.

use super::sim::{self, SimEvent, SimMode, SimPeer};
use super::table;
use crate::wire::{AddPathPrefix, Update};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Command-line arguments of `coldpotato loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadgenArgs {
    /// The speaker's BGP address.
    #[arg(long, default_value = "127.0.0.1:179")]
    pub target: SocketAddr,
    /// Our source address (the neighbor address the speaker has configured).
    #[arg(long, default_value = "127.0.0.2")]
    pub local: IpAddr,
    /// Our ASN.
    #[arg(long, default_value_t = 64500)]
    pub asn: u32,
    /// How many IPv4 prefixes to announce.
    #[arg(long, default_value_t = 1_000_000)]
    pub prefixes: usize,
    /// How many distinct attribute sets they share.
    #[arg(long, default_value_t = 100_000)]
    pub sets: usize,
    /// Table seed (the same seed gives the same table).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds to stay connected after the table is sent (0: until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    pub hold_for: u64,
    /// Announce a real table instead: an MRT RIB dump (RFC 6396) or
    /// `bgpdump -m` text, plain or gzip. `--asn`, `--prefixes`, `--sets`
    /// and `--seed` are then ignored: the peer's own ASN is used, as its
    /// paths begin with it.
    #[arg(long)]
    pub table: Option<std::path::PathBuf>,
    /// With `--table`: whose table to announce (a peer address in the
    /// dump); default: the peer with the most routes.
    #[arg(long)]
    pub table_peer: Option<IpAddr>,
}

/// Errors of the load generator.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    #[error("session closed before the table was sent: {0}")]
    Closed(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Dump(#[from] super::dump::DumpError),
    #[error("the dump has no table from peer {0}")]
    NoSuchPeer(String),
}

/// The UPDATEs and the ASN to announce them from: one peer's table from
/// `--table`, or the synthetic table.
fn what_to_send(args: &LoadgenArgs) -> Result<(Vec<Update>, u32), LoadgenError> {
    let Some(path) = &args.table else {
        return Ok((table_updates(args), args.asn));
    };
    let dump = super::dump::read(path)?;
    let peer = dump.peer(args.table_peer).ok_or_else(|| {
        LoadgenError::NoSuchPeer(args.table_peer.map_or("(any)".into(), |a| a.to_string()))
    })?;
    println!(
        "loadgen: {}: peer {} AS{}: {} IPv4 routes in {} attribute sets ({} IPv6 entries skipped)",
        path.display(),
        peer.address.map_or("-".into(), |a| a.to_string()),
        peer.asn,
        peer.routes,
        peer.groups.len(),
        dump.skipped_ipv6
    );
    Ok((super::dump::updates(peer, args.local), peer.asn))
}

/// The table as UPDATEs: one per attribute set, with all its prefixes (the
/// session splits them into messages that fit).
pub fn table_updates(args: &LoadgenArgs) -> Vec<Update> {
    let prefixes = table::ipv4_prefixes(args.prefixes, args.seed);
    let sets = table::attribute_sets(args.sets.max(1), args.asn, args.local, args.seed);
    let assign = table::assign(prefixes.len(), sets.len(), args.seed);
    let mut groups: HashMap<u32, Vec<AddPathPrefix>> = HashMap::new();
    for (p, set) in prefixes.iter().zip(assign) {
        groups.entry(set).or_default().push(AddPathPrefix {
            path_id: None,
            prefix: *p,
        });
    }
    let mut keys: Vec<u32> = groups.keys().copied().collect();
    keys.sort_unstable();
    keys.into_iter()
        .filter_map(|k| {
            let nlri = groups.remove(&k)?;
            Some(Update {
                attrs: sets[k as usize].clone(),
                nlri,
                ..Default::default()
            })
        })
        .collect()
}

/// Runs the load generator.
pub async fn run(args: LoadgenArgs) -> Result<(), LoadgenError> {
    let (updates, asn) = what_to_send(&args)?;
    let router_id = match args.local {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 1),
    };
    let peer = SimPeer {
        name: "loadgen".into(),
        local: args.local,
        asn,
        router_id,
        target: args.target,
        hold_time: 90,
        updates,
    };
    // The table is built: from here on the time is the speaker's (a bench
    // starts its clock at this line, not at the spawn, and counts only the
    // CPU this process uses after it as the load generator's).
    println!(
        "loadgen: table ready, connecting to {} cpu={:.3} unix={:.3}",
        args.target,
        process_cpu_seconds(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    );
    let (_mode_tx, mode_rx) = watch::channel(SimMode::Up);
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    tokio::spawn(sim::run(peer, mode_rx, ev_tx));
    match ev_rx.recv().await {
        Some(SimEvent::Established {
            sent_prefixes,
            took,
            ..
        }) => {
            println!(
                "loadgen: sent {sent_prefixes} prefixes to {} in {:.3} s ({:.0} prefixes/s)",
                args.target,
                took.as_secs_f64(),
                sent_prefixes as f64 / took.as_secs_f64().max(1e-9)
            );
        }
        Some(SimEvent::Closed { reason, .. }) => return Err(LoadgenError::Closed(reason)),
        None => return Err(LoadgenError::Closed("simulator stopped".into())),
    }
    if args.hold_for == 0 {
        tokio::signal::ctrl_c().await?;
    } else {
        tokio::time::sleep(Duration::from_secs(args.hold_for)).await;
    }
    Ok(())
}

/// CPU seconds (user and system) this process has used so far.
fn process_cpu_seconds() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` fills the `rusage` it is given; RUSAGE_SELF is
    // always valid, and on failure we read the zeroed value.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}
