//! Table tests for the FSM: one row per (state, event) → (actions, next
//! state) of RFC 4271 §8.2.2, then behaviours named as sentences.

use super::*;
use crate::wire::{Afi, Capability, GracefulRestart, RouteRefresh, Safi};
use std::net::Ipv4Addr;

const MAIN: ConnId = ConnId(1);
const OTHER: ConnId = ConnId(7);

/// What an action is, without connection ids and payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Connect,
    SendOpen,
    SendKeepalive,
    Notif(u8, u8),
    Close,
    Up,
    Down,
    Deliver,
    DeliverRefresh,
}

fn kinds(actions: &[Action]) -> Vec<K> {
    actions
        .iter()
        .map(|a| match a {
            Action::Connect(_) => K::Connect,
            Action::Send(_, Message::Open(_)) => K::SendOpen,
            Action::Send(_, Message::Keepalive) => K::SendKeepalive,
            Action::Send(_, Message::Notification(n)) => K::Notif(n.code, n.subcode),
            Action::Send(_, _) => K::Deliver,
            Action::Close(_) => K::Close,
            Action::SessionUp(..) => K::Up,
            Action::SessionDown { .. } => K::Down,
            Action::DeliverUpdate(_) => K::Deliver,
            Action::DeliverRouteRefresh(_) => K::DeliverRefresh,
        })
        .collect()
}

fn cfg() -> FsmConfig {
    FsmConfig::new(65000, Ipv4Addr::new(10, 0, 0, 1), 64500)
}

fn peer_open() -> Open {
    Open {
        version: 4,
        my_as: 64500,
        hold_time: 9,
        bgp_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities: vec![
            Capability::FourOctetAs(64500),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: vec![],
            }),
        ],
    }
}

/// Where a row starts.
#[derive(Debug, Clone, Copy)]
enum Start {
    Idle,
    Connect,
    /// Passive start.
    Active,
    /// Active after a failed OpenSent, not passive.
    ActiveAfterFailure,
    /// Active after our connect was refused.
    ActiveAfterConnectFailure,
    /// Idle after an error, the IdleHoldTimer (back-off) running.
    IdleBackingOff,
    /// Idle after ManualStop.
    IdleStopped,
    /// Idle serving a max-prefix hold-down.
    IdlePenalized,
    /// Idle because BFD went Down.
    IdleBfd,
    OpenSent,
    OpenConfirm,
    Established,
}

fn setup(from: Start, now: Instant) -> Fsm {
    let mut f = Fsm::new(cfg());
    let feed = |f: &mut Fsm, e: Event| {
        f.handle(now, e);
    };
    match from {
        Start::Idle => {}
        Start::Active => feed(&mut f, Event::ManualStartPassive),
        _ => feed(&mut f, Event::ManualStart),
    }
    if matches!(
        from,
        Start::OpenSent
            | Start::OpenConfirm
            | Start::Established
            | Start::ActiveAfterFailure
            | Start::IdlePenalized
            | Start::IdleBfd
    ) {
        feed(&mut f, Event::TcpCrAcked(MAIN));
    }
    if matches!(from, Start::ActiveAfterFailure) {
        feed(&mut f, Event::TcpConnectionFails(MAIN));
    }
    match from {
        Start::ActiveAfterConnectFailure => feed(&mut f, Event::TcpConnectionFails(MAIN)),
        Start::IdleBackingOff => feed(&mut f, Event::HoldTimerExpires),
        Start::IdleStopped => feed(&mut f, stop()),
        _ => {}
    }
    if matches!(
        from,
        Start::OpenConfirm | Start::Established | Start::IdlePenalized | Start::IdleBfd
    ) {
        feed(&mut f, Event::Open(MAIN, peer_open()));
    }
    if matches!(
        from,
        Start::Established | Start::IdlePenalized | Start::IdleBfd
    ) {
        feed(&mut f, Event::Keepalive(MAIN));
    }
    match from {
        Start::IdlePenalized => feed(
            &mut f,
            Event::AutomaticStop {
                notification: notif(6, 1),
                hold_down: Some(Duration::from_secs(300)),
            },
        ),
        Start::IdleBfd => feed(&mut f, Event::BfdDown),
        _ => {}
    }
    f
}

fn open_with(change: impl Fn(&mut Open)) -> Open {
    let mut o = peer_open();
    change(&mut o);
    o
}

fn notif(code: u8, sub: u8) -> Notification {
    Notification::new(code, sub, bytes::Bytes::new())
}

fn rr() -> RouteRefresh {
    RouteRefresh {
        afi: Afi::IPV4,
        safi: Safi::UNICAST,
        subtype: 0,
    }
}

fn stop() -> Event {
    Event::ManualStop {
        communication: "maintenance".into(),
    }
}

fn auto_stop() -> Event {
    Event::AutomaticStop {
        notification: notif(6, 1),
        hold_down: None,
    }
}

fn upd() -> Event {
    Event::Update(MAIN, Box::default())
}

#[test]
fn every_rfc4271_transition_matches_the_table() {
    use Start as F;
    use State as S;
    #[rustfmt::skip]
    let rows: Vec<(&str, Start, Event, Vec<K>, State)> = vec![
        // Idle
        ("idle: ManualStart connects", F::Idle, Event::ManualStart, vec![K::Connect], S::Connect),
        ("idle: passive start listens", F::Idle, Event::ManualStartPassive, vec![], S::Active),
        ("idle: AutomaticStart before any start is ignored", F::Idle, Event::AutomaticStart, vec![], S::Idle),
        ("idle: ManualStop is ignored", F::Idle, stop(), vec![], S::Idle),
        ("idle: incoming connection to a neighbor never started is refused", F::Idle, Event::TcpConnectionConfirmed(OTHER), vec![K::Close], S::Idle),
        ("idle after an error: incoming connection is accepted and gets our OPEN", F::IdleBackingOff, Event::TcpConnectionConfirmed(OTHER), vec![K::SendOpen], S::OpenSent),
        ("idle after ManualStop: incoming connection is refused", F::IdleStopped, Event::TcpConnectionConfirmed(OTHER), vec![K::Close], S::Idle),
        ("idle in a max-prefix hold-down: incoming connection is refused", F::IdlePenalized, Event::TcpConnectionConfirmed(OTHER), vec![K::Close], S::Idle),
        ("idle after BFD down: incoming connection is refused", F::IdleBfd, Event::TcpConnectionConfirmed(OTHER), vec![K::Close], S::Idle),
        ("idle: hold timer is ignored", F::Idle, Event::HoldTimerExpires, vec![], S::Idle),
        ("idle: send hold timer is ignored", F::Idle, Event::SendHoldTimerExpires(MAIN), vec![], S::Idle),
        ("idle: connect retry is ignored", F::Idle, Event::ConnectRetryTimerExpires, vec![], S::Idle),
        ("idle: keepalive timer is ignored", F::Idle, Event::KeepaliveTimerExpires, vec![], S::Idle),
        ("idle: messages are ignored", F::Idle, Event::Keepalive(MAIN), vec![], S::Idle),
        ("idle: BFD down is ignored", F::Idle, Event::BfdDown, vec![], S::Idle),
        // Connect
        ("connect: ManualStart is ignored", F::Connect, Event::ManualStart, vec![], S::Connect),
        ("connect: ManualStop drops the attempt", F::Connect, stop(), vec![K::Close], S::Idle),
        ("connect: AutomaticStop drops the attempt", F::Connect, auto_stop(), vec![K::Close], S::Idle),
        ("connect: retry timer retries", F::Connect, Event::ConnectRetryTimerExpires, vec![K::Close, K::Connect], S::Connect),
        ("connect: connected sends OPEN", F::Connect, Event::TcpCrAcked(MAIN), vec![K::SendOpen], S::OpenSent),
        ("connect: incoming connection sends OPEN", F::Connect, Event::TcpConnectionConfirmed(OTHER), vec![K::SendOpen], S::OpenSent),
        ("connect: a refused connect waits in active", F::Connect, Event::TcpConnectionFails(MAIN), vec![], S::Active),
        ("connect: hold timer goes idle", F::Connect, Event::HoldTimerExpires, vec![K::Close], S::Idle),
        ("connect: keepalive timer goes idle", F::Connect, Event::KeepaliveTimerExpires, vec![K::Close], S::Idle),
        ("connect: stale connection success is closed", F::Connect, Event::TcpCrAcked(OTHER), vec![K::Close], S::Connect),
        // Active
        ("active: ManualStop goes idle", F::Active, stop(), vec![], S::Idle),
        ("active: passive retry timer never connects", F::Active, Event::ConnectRetryTimerExpires, vec![], S::Active),
        ("active: retry timer connects when not passive", F::ActiveAfterFailure, Event::ConnectRetryTimerExpires, vec![K::Connect], S::Connect),
        ("active: incoming connection sends OPEN", F::Active, Event::TcpConnectionConfirmed(OTHER), vec![K::SendOpen], S::OpenSent),
        ("active after a refused connect: incoming connection sends OPEN", F::ActiveAfterConnectFailure, Event::TcpConnectionConfirmed(OTHER), vec![K::SendOpen], S::OpenSent),
        ("active after a refused connect: retry timer connects again", F::ActiveAfterConnectFailure, Event::ConnectRetryTimerExpires, vec![K::Connect], S::Connect),
        ("active: hold timer goes idle", F::Active, Event::HoldTimerExpires, vec![], S::Idle),
        ("active: keepalive timer goes idle", F::Active, Event::KeepaliveTimerExpires, vec![], S::Idle),
        // OpenSent
        ("opensent: ManualStop sends administrative shutdown", F::OpenSent, stop(), vec![K::Notif(6, 2), K::Close], S::Idle),
        ("opensent: AutomaticStop sends its notification", F::OpenSent, auto_stop(), vec![K::Notif(6, 1), K::Close], S::Idle),
        ("opensent: hold timer sends hold timer expired", F::OpenSent, Event::HoldTimerExpires, vec![K::Notif(4, 0), K::Close], S::Idle),
        ("opensent: valid OPEN sends KEEPALIVE", F::OpenSent, Event::Open(MAIN, peer_open()), vec![K::SendKeepalive], S::OpenConfirm),
        ("opensent: OPEN version 3 is unsupported version", F::OpenSent, Event::Open(MAIN, open_with(|o| o.version = 3)), vec![K::Notif(2, 1), K::Close], S::Idle),
        ("opensent: OPEN from the wrong AS is bad peer AS", F::OpenSent, Event::Open(MAIN, open_with(|o| o.capabilities = vec![Capability::FourOctetAs(64999)])), vec![K::Notif(2, 2), K::Close], S::Idle),
        ("opensent: OPEN with id 0 is bad BGP identifier", F::OpenSent, Event::Open(MAIN, open_with(|o| o.bgp_id = Ipv4Addr::UNSPECIFIED)), vec![K::Notif(2, 3), K::Close], S::Idle),
        ("opensent: OPEN with hold 2 is unacceptable hold time", F::OpenSent, Event::Open(MAIN, open_with(|o| o.hold_time = 2)), vec![K::Notif(2, 6), K::Close], S::Idle),
        ("opensent: connection loss goes active", F::OpenSent, Event::TcpConnectionFails(MAIN), vec![K::Close], S::Active),
        ("opensent: NOTIFICATION goes idle", F::OpenSent, Event::Notification(MAIN, notif(6, 2)), vec![K::Close], S::Idle),
        ("opensent: header error sends its notification", F::OpenSent, Event::MessageError(MAIN, notif(1, 2)), vec![K::Notif(1, 2), K::Close], S::Idle),
        ("opensent: KEEPALIVE is an FSM error", F::OpenSent, Event::Keepalive(MAIN), vec![K::Notif(5, 1), K::Close], S::Idle),
        ("opensent: UPDATE is an FSM error", F::OpenSent, upd(), vec![K::Notif(5, 1), K::Close], S::Idle),
        ("opensent: ROUTE-REFRESH is an FSM error", F::OpenSent, Event::RouteRefresh(MAIN, rr()), vec![K::Notif(5, 1), K::Close], S::Idle),
        ("opensent: connect retry is an FSM error", F::OpenSent, Event::ConnectRetryTimerExpires, vec![K::Notif(5, 1), K::Close], S::Idle),
        ("opensent: keepalive timer is an FSM error", F::OpenSent, Event::KeepaliveTimerExpires, vec![K::Notif(5, 1), K::Close], S::Idle),
        ("opensent: second connection gets our OPEN", F::OpenSent, Event::TcpConnectionConfirmed(OTHER), vec![K::SendOpen], S::OpenSent),
        ("opensent: message on an unknown connection is ignored", F::OpenSent, Event::Keepalive(ConnId(99)), vec![], S::OpenSent),
        // OpenConfirm
        ("openconfirm: ManualStop sends administrative shutdown", F::OpenConfirm, stop(), vec![K::Notif(6, 2), K::Close], S::Idle),
        ("openconfirm: hold timer sends hold timer expired", F::OpenConfirm, Event::HoldTimerExpires, vec![K::Notif(4, 0), K::Close], S::Idle),
        ("openconfirm: send hold timer sends send hold timer expired", F::OpenConfirm, Event::SendHoldTimerExpires(MAIN), vec![K::Notif(8, 0), K::Close], S::Idle),
        ("openconfirm: keepalive timer sends KEEPALIVE", F::OpenConfirm, Event::KeepaliveTimerExpires, vec![K::SendKeepalive], S::OpenConfirm),
        ("openconfirm: KEEPALIVE establishes", F::OpenConfirm, Event::Keepalive(MAIN), vec![K::Up], S::Established),
        ("openconfirm: NOTIFICATION goes idle", F::OpenConfirm, Event::Notification(MAIN, notif(6, 3)), vec![K::Close], S::Idle),
        ("openconfirm: connection loss goes idle", F::OpenConfirm, Event::TcpConnectionFails(MAIN), vec![K::Close], S::Idle),
        ("openconfirm: second OPEN is an FSM error", F::OpenConfirm, Event::Open(MAIN, peer_open()), vec![K::Notif(5, 2), K::Close], S::Idle),
        ("openconfirm: UPDATE is an FSM error", F::OpenConfirm, upd(), vec![K::Notif(5, 2), K::Close], S::Idle),
        ("openconfirm: header error sends its notification", F::OpenConfirm, Event::MessageError(MAIN, notif(1, 1)), vec![K::Notif(1, 1), K::Close], S::Idle),
        ("openconfirm: connect retry is an FSM error", F::OpenConfirm, Event::ConnectRetryTimerExpires, vec![K::Notif(5, 2), K::Close], S::Idle),
        ("openconfirm: colliding connection from a higher id wins", F::OpenConfirm, Event::TcpConnectionConfirmed(OTHER), vec![K::Notif(6, 7), K::Close, K::SendOpen], S::OpenSent),
        // Established
        ("established: ManualStop sends administrative shutdown", F::Established, stop(), vec![K::Notif(6, 2), K::Close, K::Down], S::Idle),
        ("established: AutomaticStop sends its notification", F::Established, auto_stop(), vec![K::Notif(6, 1), K::Close, K::Down], S::Idle),
        ("established: hold timer sends hold timer expired", F::Established, Event::HoldTimerExpires, vec![K::Notif(4, 0), K::Close, K::Down], S::Idle),
        ("established: send hold timer (RFC 9687) sends send hold timer expired", F::Established, Event::SendHoldTimerExpires(MAIN), vec![K::Notif(8, 0), K::Close, K::Down], S::Idle),
        ("established: send hold timer of a connection not in use is ignored", F::Established, Event::SendHoldTimerExpires(OTHER), vec![], S::Established),
        ("established: keepalive timer sends KEEPALIVE", F::Established, Event::KeepaliveTimerExpires, vec![K::SendKeepalive], S::Established),
        ("established: KEEPALIVE keeps the session", F::Established, Event::Keepalive(MAIN), vec![], S::Established),
        ("established: UPDATE is delivered", F::Established, upd(), vec![K::Deliver], S::Established),
        ("established: ROUTE-REFRESH is delivered", F::Established, Event::RouteRefresh(MAIN, rr()), vec![K::DeliverRefresh], S::Established),
        ("established: NOTIFICATION goes idle", F::Established, Event::Notification(MAIN, notif(6, 2)), vec![K::Close, K::Down], S::Idle),
        ("established: connection loss goes idle", F::Established, Event::TcpConnectionFails(MAIN), vec![K::Close, K::Down], S::Idle),
        ("established: OPEN is an FSM error", F::Established, Event::Open(MAIN, peer_open()), vec![K::Notif(5, 3), K::Close, K::Down], S::Idle),
        ("established: UPDATE error sends its notification", F::Established, Event::MessageError(MAIN, notif(3, 1)), vec![K::Notif(3, 1), K::Close, K::Down], S::Idle),
        ("established: connect retry is an FSM error", F::Established, Event::ConnectRetryTimerExpires, vec![K::Notif(5, 3), K::Close, K::Down], S::Idle),
        ("established: new connection is closed by collision", F::Established, Event::TcpConnectionConfirmed(OTHER), vec![K::Notif(6, 7), K::Close], S::Established),
        ("established: BFD down sends Cease/BFD Down", F::Established, Event::BfdDown, vec![K::Notif(6, 10), K::Close, K::Down], S::Idle),
        ("established: BFD up changes nothing", F::Established, Event::BfdUp, vec![], S::Established),
        // Operator control (`coldpotato neighbor NAME …`)
        ("idle in a max-prefix hold-down: ClearHoldDown connects at once", F::IdlePenalized, Event::ClearHoldDown, vec![K::Connect], S::Connect),
        ("idle after ManualStop: ClearHoldDown does not start the session", F::IdleStopped, Event::ClearHoldDown, vec![], S::Idle),
        ("idle after an error: ClearHoldDown without a hold-down changes nothing", F::IdleBackingOff, Event::ClearHoldDown, vec![], S::Idle),
        ("idle after BFD down: ClearHoldDown does not override BFD", F::IdleBfd, Event::ClearHoldDown, vec![], S::Idle),
        ("established: ClearHoldDown changes nothing", F::Established, Event::ClearHoldDown, vec![], S::Established),
        ("established: AutomaticStop with Administrative Reset sends Cease 6/4", F::Established, Event::AutomaticStop { notification: Notification::admin_reset("reset by noc"), hold_down: None }, vec![K::Notif(6, 4), K::Close, K::Down], S::Idle),
        ("connect: ManualStop drops the attempt", F::Connect, stop(), vec![K::Close], S::Idle),
    ];
    let now = Instant::now();
    let mut failures = Vec::new();
    for (name, from, ev, want, want_state) in rows {
        let mut f = setup(from, now);
        let got = f.handle(now, ev);
        if kinds(&got) != want || f.state() != want_state {
            failures.push(format!(
                "{name}: got {:?} → {:?}, want {want:?} → {want_state:?}",
                kinds(&got),
                f.state()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn negotiated_hold_timer_expiry_sends_hold_timer_expired() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    assert_eq!(f.timer(Timer::Hold), Some(t0 + Duration::from_secs(9)));
    assert_eq!(
        kinds(&f.poll_timers(t0 + Duration::from_secs(8))),
        vec![K::SendKeepalive]
    );
    let got = f.poll_timers(t0 + Duration::from_secs(9));
    assert_eq!(kinds(&got), vec![K::Notif(4, 0), K::Close, K::Down]);
    assert_eq!(f.last_error(), Some("sent NOTIFICATION Hold Timer Expired"));
}

#[test]
fn keepalive_timer_runs_at_a_third_of_the_hold_time() {
    let t0 = Instant::now();
    let f = setup(Start::OpenConfirm, t0);
    assert_eq!(f.timer(Timer::Keepalive), Some(t0 + Duration::from_secs(3)));
}

#[test]
fn keepalive_restarts_the_hold_timer() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let t1 = t0 + Duration::from_secs(5);
    f.handle(t1, Event::Keepalive(MAIN));
    assert_eq!(f.timer(Timer::Hold), Some(t1 + Duration::from_secs(9)));
}

#[test]
fn zero_hold_time_runs_no_hold_or_keepalive_timer() {
    let t0 = Instant::now();
    let mut f = setup(Start::OpenSent, t0);
    f.handle(t0, Event::Open(MAIN, open_with(|o| o.hold_time = 0)));
    f.handle(t0, Event::Keepalive(MAIN));
    assert_eq!(f.state(), State::Established);
    assert_eq!(f.timer(Timer::Hold), None);
    assert_eq!(f.timer(Timer::Keepalive), None);
}

/// The behaviours named as sentences: back-off, hold-downs, stops,
/// graceful restart, collisions.
#[path = "fsm_tests_behaviours.rs"]
mod behaviours;
