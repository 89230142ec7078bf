//! FSM behaviours named as sentences (the transition table is the parent
//! module): back-off, hold-downs, manual and automatic stops, graceful
//! restart, connection collisions, shutdown communication.

use super::*;

#[test]
fn refused_connects_back_off_in_active_doubling_up_to_the_maximum() {
    let mut t = Instant::now();
    let mut f = setup(Start::Connect, t);
    let mut delays = Vec::new();
    for _ in 0..10 {
        let id = match f.handle(t, Event::ConnectRetryTimerExpires).last() {
            Some(Action::Connect(id)) => *id,
            other => panic!("expected a connect, got {other:?}"),
        };
        f.handle(t, Event::TcpConnectionFails(id));
        assert_eq!(
            f.state(),
            State::Active,
            "waits in Active, inbound accepted"
        );
        let Some(due) = f.timer(Timer::ConnectRetry) else {
            panic!("connect retry timer not armed");
        };
        delays.push((due - t).as_secs());
        t = due;
        assert_eq!(kinds(&f.poll_timers(t)), vec![K::Connect]);
    }
    assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
    assert_eq!(f.last_error(), Some("connect failed"));
}

#[test]
fn an_active_only_peer_comes_up_while_our_connects_are_refused() {
    let t0 = Instant::now();
    let mut f = setup(Start::Connect, t0);
    f.handle(t0, Event::TcpConnectionFails(MAIN));
    assert_eq!(f.state(), State::Active);
    f.handle(t0, Event::TcpConnectionConfirmed(OTHER));
    f.handle(t0, Event::Open(OTHER, peer_open()));
    let got = f.handle(t0, Event::Keepalive(OTHER));
    assert_eq!(kinds(&got), vec![K::Up]);
    assert_eq!(f.state(), State::Established);
}

#[test]
fn a_max_prefix_hold_down_refuses_inbound_until_it_ends() {
    let t0 = Instant::now();
    let mut f = setup(Start::IdlePenalized, t0);
    assert!(f.penalized(t0));
    let t1 = t0 + Duration::from_secs(299);
    assert_eq!(
        kinds(&f.handle(t1, Event::TcpConnectionConfirmed(ConnId(50)))),
        vec![K::Close]
    );
    let t2 = t0 + Duration::from_secs(300);
    f.poll_timers(t2);
    assert!(!f.penalized(t2));
    assert_eq!(
        f.state(),
        State::Connect,
        "restarts when the hold-down ends"
    );
    assert_eq!(
        kinds(&f.handle(t2, Event::TcpConnectionConfirmed(ConnId(51)))),
        vec![K::SendOpen]
    );
}

#[test]
fn idle_hold_back_off_resets_after_a_stable_session() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    f.handle(t0, Event::TcpConnectionFails(MAIN)); // 1 s
    let t1 = t0 + Duration::from_secs(1);
    f.poll_timers(t1);
    f.handle(t1, Event::TcpCrAcked(ConnId(2)));
    assert_eq!(f.state(), State::OpenSent);
    f.handle(t1, Event::TcpConnectionFails(ConnId(2)));
    // Failing again quickly doubles the hold...
    f.handle(t1, Event::HoldTimerExpires);
    assert_eq!(f.timer(Timer::IdleHold), Some(t1 + Duration::from_secs(2)));
    // ...but a session that stayed up for a minute starts over at 1 s.
    let mut g = setup(Start::Established, t0);
    g.handle(t0, Event::TcpConnectionFails(MAIN));
    let t2 = t0 + Duration::from_secs(1);
    g.poll_timers(t2);
    g.handle(t2, Event::TcpCrAcked(ConnId(2)));
    g.handle(t2, Event::Open(ConnId(2), peer_open()));
    g.handle(t2, Event::Keepalive(ConnId(2)));
    assert_eq!(g.state(), State::Established);
    let t3 = t2 + Duration::from_secs(61);
    g.handle(t3, Event::Keepalive(ConnId(2)));
    g.handle(t3, Event::TcpConnectionFails(ConnId(2)));
    assert_eq!(g.timer(Timer::IdleHold), Some(t3 + Duration::from_secs(1)));
}

#[test]
fn bfd_down_keeps_the_session_idle_until_bfd_is_up() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    f.handle(t0, Event::BfdDown);
    assert!(f.bfd_blocked());
    assert_eq!(f.timer(Timer::IdleHold), None, "no automatic restart");
    assert_eq!(f.handle(t0, Event::AutomaticStart), vec![]);
    assert_eq!(
        kinds(&f.handle(t0, Event::TcpConnectionConfirmed(OTHER))),
        vec![K::Close]
    );
    assert_eq!(kinds(&f.handle(t0, Event::BfdUp)), vec![K::Connect]);
    assert_eq!(f.state(), State::Connect);
}

#[test]
fn teardown_hold_down_refuses_connections_until_it_expires() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    f.handle(
        t0,
        Event::AutomaticStop {
            notification: notif(6, 1),
            hold_down: Some(Duration::from_secs(300)),
        },
    );
    assert_eq!(
        f.timer(Timer::IdleHold),
        Some(t0 + Duration::from_secs(300))
    );
    let t1 = t0 + Duration::from_secs(299);
    assert_eq!(f.poll_timers(t1), vec![]);
    assert_eq!(
        kinds(&f.handle(t1, Event::TcpConnectionConfirmed(OTHER))),
        vec![K::Close]
    );
    assert_eq!(
        kinds(&f.poll_timers(t0 + Duration::from_secs(300))),
        vec![K::Connect]
    );
}

#[test]
fn manual_stop_disables_automatic_restart() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    f.handle(t0, stop());
    assert_eq!(f.next_deadline(), None);
    assert_eq!(f.handle(t0, Event::AutomaticStart), vec![]);
    assert_eq!(f.state(), State::Idle);
}

#[test]
fn administrative_shutdown_carries_the_communication() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let got = f.handle(t0, stop());
    let Some(Action::Send(id, Message::Notification(n))) = got.first() else {
        panic!("expected a NOTIFICATION first, got {got:?}");
    };
    assert_eq!(*id, MAIN);
    assert_eq!(&n.data[1..], b"maintenance");
}

#[test]
fn received_cease_is_the_last_error_and_disables_graceful_restart() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let got = f.handle(
        t0,
        Event::Notification(MAIN, codes::administrative_shutdown("")),
    );
    assert!(got.contains(&Action::SessionDown {
        reason: "received NOTIFICATION Cease/Administrative Shutdown".into(),
        graceful_restart: None,
    }));
    assert_eq!(
        f.last_error(),
        Some("received NOTIFICATION Cease/Administrative Shutdown")
    );
}

#[test]
fn connection_loss_keeps_routes_for_the_peers_restart_time() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let got = f.handle(t0, Event::TcpConnectionFails(MAIN));
    assert!(got.contains(&Action::SessionDown {
        reason: "connection closed".into(),
        graceful_restart: Some(Duration::from_secs(120)),
    }));
}

#[test]
fn our_notification_ends_the_session_without_graceful_restart() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let got = f.handle(t0, Event::HoldTimerExpires);
    assert!(got.iter().any(|a| matches!(
        a,
        Action::SessionDown {
            graceful_restart: None,
            ..
        }
    )));
}

#[test]
fn collision_keeps_our_connection_when_our_identifier_is_higher() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.router_id = Ipv4Addr::new(10, 0, 0, 9);
    let mut f = Fsm::new(c);
    f.handle(t0, Event::ManualStart);
    f.handle(t0, Event::TcpCrAcked(MAIN));
    f.handle(t0, Event::TcpConnectionConfirmed(OTHER));
    // The peer's OPEN arrives on its own connection first.
    let got = f.handle(t0, Event::Open(OTHER, peer_open()));
    assert_eq!(
        got,
        vec![
            Action::Send(
                OTHER,
                Message::Notification(codes::cease(CeaseSubcode::ConnectionCollisionResolution))
            ),
            Action::Close(OTHER),
        ]
    );
    assert_eq!((f.state(), f.main_conn()), (State::OpenSent, Some(MAIN)));
    f.handle(t0, Event::Open(MAIN, peer_open()));
    assert_eq!(f.state(), State::OpenConfirm);
}

#[test]
fn collision_keeps_the_peers_connection_when_its_identifier_is_higher() {
    let t0 = Instant::now();
    let mut f = setup(Start::OpenSent, t0);
    f.handle(t0, Event::TcpConnectionConfirmed(OTHER));
    let got = f.handle(t0, Event::Open(MAIN, peer_open()));
    assert_eq!(kinds(&got), vec![K::Notif(6, 7), K::Close]);
    assert_eq!(got[1], Action::Close(MAIN));
    assert_eq!((f.state(), f.main_conn()), (State::OpenSent, Some(OTHER)));
    assert_eq!(
        kinds(&f.handle(t0, Event::Open(OTHER, peer_open()))),
        vec![K::SendKeepalive]
    );
    assert_eq!(kinds(&f.handle(t0, Event::Keepalive(OTHER))), vec![K::Up]);
}

#[test]
fn collision_winner_on_the_second_connection_moves_to_openconfirm() {
    let t0 = Instant::now();
    let mut f = setup(Start::OpenSent, t0);
    f.handle(t0, Event::TcpConnectionConfirmed(OTHER));
    let got = f.handle(t0, Event::Open(OTHER, peer_open()));
    assert_eq!(
        kinds(&got),
        vec![K::Notif(6, 7), K::Close, K::SendKeepalive]
    );
    assert_eq!(
        (f.state(), f.main_conn()),
        (State::OpenConfirm, Some(OTHER))
    );
}

#[test]
fn passive_neighbor_never_connects() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.passive = true;
    let mut f = Fsm::new(c);
    let mut all = f.handle(t0, Event::ManualStart);
    all.extend(f.handle(t0, Event::ConnectRetryTimerExpires));
    f.handle(t0, Event::TcpConnectionConfirmed(OTHER));
    f.handle(t0, Event::TcpConnectionFails(OTHER));
    all.extend(f.poll_timers(t0 + Duration::from_secs(1000)));
    assert!(
        !all.iter().any(|a| matches!(a, Action::Connect(_))),
        "{all:?}"
    );
}

#[test]
fn events_from_a_dropped_connection_are_ignored() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    assert_eq!(f.handle(t0, Event::TcpConnectionFails(ConnId(42))), vec![]);
    assert_eq!(
        f.handle(t0, Event::Notification(ConnId(42), notif(6, 2))),
        vec![]
    );
    assert_eq!(f.state(), State::Established);
}

#[test]
fn session_up_carries_the_negotiated_parameters() {
    let t0 = Instant::now();
    let mut f = setup(Start::OpenConfirm, t0);
    let got = f.handle(t0, Event::Keepalive(MAIN));
    let [Action::SessionUp(id, n)] = got.as_slice() else {
        panic!("expected SessionUp, got {got:?}");
    };
    assert_eq!(*id, MAIN);
    assert_eq!((n.remote_as, n.hold_time), (64500, 9));
    assert!(n.codec.four_octet_as);
}

#[test]
fn keepalive_polling_alone_never_fires_the_hold_timer() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let late = t0 + Duration::from_secs(20);
    assert_eq!(kinds(&f.poll_keepalive(late)), vec![K::SendKeepalive]);
    assert_eq!(f.state(), State::Established);
    assert_eq!(
        kinds(&f.poll_keepalive(late)),
        vec![],
        "re-armed, not due again"
    );
}

#[test]
fn bfd_up_does_not_cut_a_teardown_hold_down_short() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    f.handle(t0, Event::BfdDown);
    f.handle(
        t0,
        Event::AutomaticStop {
            notification: notif(6, 1),
            hold_down: Some(Duration::from_secs(60)),
        },
    );
    assert_eq!(f.handle(t0, Event::BfdUp), vec![]);
    assert_eq!(f.state(), State::Idle);
    let due = t0 + Duration::from_secs(60);
    assert_eq!(kinds(&f.poll_timers(due)), vec![K::Connect]);
}

#[test]
fn collision_with_equal_identifiers_keeps_the_connection_of_the_larger_as() {
    let t0 = Instant::now();
    // eBGP with the same identifier on both sides (RFC 6286 §2.3): our AS
    // 65000 is larger than the peer's 64500, so our connection stays.
    let mut c = cfg();
    c.router_id = peer_open().bgp_id;
    let mut f = Fsm::new(c);
    f.handle(t0, Event::ManualStart);
    f.handle(t0, Event::TcpCrAcked(MAIN));
    f.handle(t0, Event::TcpConnectionConfirmed(OTHER));
    let got = f.handle(t0, Event::Open(OTHER, peer_open()));
    assert_eq!(got.last(), Some(&Action::Close(OTHER)));
    assert_eq!(f.main_conn(), Some(MAIN));
}

#[test]
fn manual_stop_resets_the_connect_retry_counter() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    f.handle(t0, Event::HoldTimerExpires);
    assert_eq!(f.connect_retry_counter(), 1);
    f.handle(t0, stop());
    assert_eq!(f.connect_retry_counter(), 0);
}

#[test]
fn a_manual_stop_is_never_undone_by_timers_only_by_a_manual_start() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let got = f.handle(t0, stop());
    assert_eq!(kinds(&got), vec![K::Notif(6, 2), K::Close, K::Down]);
    assert!(!f.enabled());
    assert_eq!(f.next_deadline(), None, "no timer left to restart it");
    let later = t0 + Duration::from_secs(3600);
    assert!(f.poll_timers(later).is_empty());
    for ev in [
        Event::AutomaticStart,
        Event::IdleHoldTimerExpires,
        Event::BfdUp,
        Event::ClearHoldDown,
    ] {
        assert!(f.handle(later, ev).is_empty());
    }
    assert_eq!(
        kinds(&f.handle(later, Event::TcpConnectionConfirmed(OTHER))),
        vec![K::Close]
    );
    assert_eq!(
        kinds(&f.handle(later, Event::ManualStart)),
        vec![K::Connect]
    );
    assert_eq!(f.state(), State::Connect);
}

#[test]
fn shutdown_communication_travels_in_the_cease() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let got = f.handle(
        t0,
        Event::ManualStop {
            communication: "maintenance window, back 12:00".into(),
        },
    );
    let sent = got.iter().find_map(|a| match a {
        Action::Send(_, Message::Notification(n)) => Some(n.clone()),
        _ => None,
    });
    assert_eq!(
        sent.and_then(|n| n.shutdown_communication()),
        Some("maintenance window, back 12:00".to_string())
    );
}

#[test]
fn an_administrative_reset_reconnects_after_the_idle_hold_time() {
    let t0 = Instant::now();
    let mut f = setup(Start::Established, t0);
    let got = f.handle(
        t0,
        Event::AutomaticStop {
            notification: Notification::admin_reset(""),
            hold_down: None,
        },
    );
    assert_eq!(kinds(&got), vec![K::Notif(6, 4), K::Close, K::Down]);
    assert!(f.enabled());
    let at = f.timer(Timer::IdleHold).expect("IdleHoldTimer armed");
    assert_eq!(kinds(&f.poll_timers(at)), vec![K::Connect]);
}

#[test]
fn clearing_a_hold_down_accepts_inbound_connections_again() {
    let t0 = Instant::now();
    let mut f = setup(Start::IdlePenalized, t0);
    assert!(f.hold_down_until().is_some());
    f.handle(t0, Event::ClearHoldDown);
    assert_eq!(f.hold_down_until(), None);
    assert_eq!(
        f.timer(Timer::IdleHold),
        None,
        "the hold-down timer is gone"
    );
    // Our connect is under way; the peer's own connection is accepted too.
    assert_eq!(
        kinds(&f.handle(t0, Event::TcpConnectionConfirmed(OTHER))),
        vec![K::SendOpen]
    );
}
