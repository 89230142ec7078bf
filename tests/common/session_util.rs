//! Helpers shared by the tests that drive peer tasks directly
//! (`session_*`, `interop_bgp`; `use common::session_util as util;`).

use coldpotato::config::NeighborConfig;
use coldpotato::messages::{BfdStatus, Input, SessionInfo, SessionState, ToEngine};
use coldpotato::session::peer::{self, PeerHandle, PeerParams, Timing};
use coldpotato::wire::{Prefix, Update};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Short timers so tests finish quickly.
pub fn fast_timing() -> Timing {
    Timing {
        connect_retry: Duration::from_secs(2),
        idle_hold_initial: Duration::from_millis(200),
        idle_hold_max: Duration::from_secs(1),
    }
}

/// A neighbor from TOML lines added to the required fields.
pub fn neighbor(name: &str, address: &str, remote_as: u32, extra: &str) -> NeighborConfig {
    let text = format!(
        "name = \"{name}\"\naddress = \"{address}\"\nremote_as = {remote_as}\n\
         location = \"lab\"\nrole = \"internal\"\n{extra}\n"
    );
    match toml::from_str(&text) {
        Ok(n) => n,
        Err(e) => panic!("test neighbor config: {e}"),
    }
}

/// A running peer task with its engine channel.
pub struct TestPeer {
    pub handle: PeerHandle,
    pub engine: mpsc::Receiver<ToEngine>,
    pub shutdown: watch::Sender<Option<Arc<str>>>,
}

impl TestPeer {
    /// Sends the daemon-wide shutdown ("test over") and waits for the task.
    pub async fn stop(self) {
        let _ = self.shutdown.send(Some("test over".into()));
        self.handle.join().await;
    }
}

/// Spawns a peer task for `n` as `local_as` / `router_id`.
pub fn spawn_peer(
    n: NeighborConfig,
    local_as: u32,
    router_id: Ipv4Addr,
    bfd: Option<watch::Receiver<BfdStatus>>,
) -> TestPeer {
    let (etx, erx) = mpsc::channel(64);
    let (stx, srx) = watch::channel(None);
    let handle = peer::spawn(PeerParams {
        neighbor: Arc::new(n),
        local_as,
        router_id,
        hold_time: 90,
        engine: etx,
        bfd,
        shutdown: srx,
        timing: fast_timing(),
    });
    TestPeer {
        handle,
        engine: erx,
        shutdown: stx,
    }
}

/// Waits up to `within` for an engine message `pick` accepts; other
/// messages are skipped.
pub async fn wait_for<T>(
    rx: &mut mpsc::Receiver<ToEngine>,
    within: Duration,
    mut pick: impl FnMut(ToEngine) -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => {
                if let Some(t) = pick(m) {
                    return Some(t);
                }
            }
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Drains messages for `d`, returning the PeerState states seen.
pub async fn states_during(rx: &mut mpsc::Receiver<ToEngine>, d: Duration) -> Vec<SessionState> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + d;
    while let Ok(Some(m)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if let ToEngine::Input(Input::PeerState { state, .. }) = m {
            seen.push(state);
        }
    }
    seen
}

/// Two of our peer tasks on loopback: A (AS 65001, id 10.0.0.1) listens on
/// 127.0.0.1 and, if `both_listen`, B (AS 65002, id 10.0.0.2) on 127.0.0.2.
/// `a_extra` / `b_extra` are TOML lines for A's neighbor (B) and B's
/// neighbor (A); the ports and addresses are filled in here.
pub struct Pair {
    pub a: TestPeer,
    pub b: TestPeer,
    pub listeners: Vec<tokio::task::JoinHandle<()>>,
}

pub const AS_A: u32 = 65001;
pub const AS_B: u32 = 65002;

pub async fn pair_with(
    bfd_a: Option<watch::Receiver<BfdStatus>>,
    a_extra: &str,
    b_extra: &str,
    both_listen: bool,
) -> Result<Pair, Box<dyn std::error::Error>> {
    use coldpotato::session::listen::Listener;
    let la = Listener::bind(&["127.0.0.1:0".parse()?])?;
    let port_a = la.local_addrs()[0].port();
    let lb = if both_listen {
        Some(Listener::bind(&["127.0.0.2:0".parse()?])?)
    } else {
        None
    };
    let b_port = lb
        .as_ref()
        .map(|l| format!("port = {}\n", l.local_addrs()[0].port()))
        .unwrap_or_default();
    let a = spawn_peer(
        neighbor(
            "b",
            "127.0.0.2",
            AS_B,
            &format!("{b_port}local_address = \"127.0.0.1\"\n{a_extra}"),
        ),
        AS_A,
        Ipv4Addr::new(10, 0, 0, 1),
        bfd_a,
    );
    la.neighbors()
        .register("127.0.0.2".parse()?, a.handle.registration())?;
    let b = spawn_peer(
        neighbor(
            "a",
            "127.0.0.1",
            AS_A,
            &format!("port = {port_a}\nlocal_address = \"127.0.0.2\"\n{b_extra}"),
        ),
        AS_B,
        Ipv4Addr::new(10, 0, 0, 2),
        None,
    );
    let mut listeners = la.spawn();
    if let Some(lb) = lb {
        lb.neighbors()
            .register("127.0.0.1".parse()?, b.handle.registration())?;
        listeners.extend(lb.spawn());
    }
    Ok(Pair { a, b, listeners })
}

impl Pair {
    /// Sends the daemon-wide shutdown to both and waits for the tasks.
    pub async fn stop(self) {
        let _ = self.a.shutdown.send(Some("test over".into()));
        let _ = self.b.shutdown.send(Some("test over".into()));
        self.a.handle.join().await;
        self.b.handle.join().await;
        for l in self.listeners {
            l.abort();
        }
    }
}

/// Waits for `ToEngine::SessionUp`, returning the engine side of the session.
pub async fn session_up(
    rx: &mut mpsc::Receiver<ToEngine>,
    within: Duration,
) -> Option<mpsc::Sender<coldpotato::messages::ToPeer>> {
    wait_for(rx, within, |m| match m {
        ToEngine::Attach { tx, .. } => Some(tx),
        _ => None,
    })
    .await
}

/// Waits for `ToEngine::SessionDown`, returning its reason.
pub async fn session_down(rx: &mut mpsc::Receiver<ToEngine>, within: Duration) -> Option<String> {
    wait_for(rx, within, |m| match m {
        ToEngine::Input(Input::SessionDown { reason, .. }) => Some(reason),
        _ => None,
    })
    .await
}

/// Waits for `ToEngine::SessionUp` and returns what was negotiated; on a
/// timeout the error carries `who`'s log file.
pub async fn established(
    rx: &mut mpsc::Receiver<ToEngine>,
    within: Duration,
    who: &str,
    log: &Path,
) -> Result<SessionInfo, String> {
    let info = wait_for(rx, within, |m| match m {
        ToEngine::Input(Input::SessionUp { info, .. }) => Some(info),
        _ => None,
    })
    .await;
    info.ok_or_else(|| {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        format!("no session with {who}; its log:\n{text}")
    })
}

/// Waits for the first `ToEngine::Update` announcing `prefix`.
pub async fn update_announcing(
    rx: &mut mpsc::Receiver<ToEngine>,
    within: Duration,
    prefix: Prefix,
) -> Option<Update> {
    wait_for(rx, within, |m| match m {
        ToEngine::Input(Input::Update { update, .. })
            if update.nlri.iter().any(|p| p.prefix == prefix) =>
        {
            Some(*update)
        }
        _ => None,
    })
    .await
}
