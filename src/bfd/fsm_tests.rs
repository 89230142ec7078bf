//! FSM tests: a table of (state, input) → (actions, next state), one row per
//! RFC 5880 §6.8.6 / §6.8.4 / §6.8.16 transition, then timer behaviour.

use super::*;
use crate::bfd::packet::AuthSection;

const LOCAL: u32 = 0xAA;
const REMOTE: u32 = 0xBB;

fn config() -> SessionConfig {
    SessionConfig {
        desired_min_tx: Duration::from_millis(100),
        required_min_rx: Duration::from_millis(100),
        detect_mult: 3,
    }
}

/// A packet from the remote: 300 ms both ways, multiplier 3.
fn remote(state: State, flags: Flags, your: u32) -> ControlPacket {
    ControlPacket {
        diag: Diagnostic::None,
        state,
        flags,
        detect_mult: 3,
        my_discriminator: REMOTE,
        your_discriminator: your,
        desired_min_tx_us: 300_000,
        required_min_rx_us: 300_000,
        required_min_echo_rx_us: 0,
        auth: None,
    }
}

/// A session driven into `state` at `t0`, with any Poll Sequence finished.
fn session_in(state: State, t0: Instant) -> Session {
    let mut s = Session::new(LOCAL, config(), 1);
    s.set_jitter(Jitter::Fixed(100));
    let _ = s.start(t0);
    let steps: &[ControlPacket] = match state {
        State::Down => &[],
        State::AdminDown => &[],
        State::Init => &[remote(State::Down, Flags::empty(), 0)],
        State::Up => &[
            remote(State::Init, Flags::empty(), LOCAL),
            remote(State::Up, Flags::FINAL, LOCAL),
        ],
    };
    for p in steps {
        assert!(s.on_packet(t0, p).is_ok());
    }
    if state == State::AdminDown {
        let _ = s.admin_down(t0);
        let _ = s.on_packet(t0, &remote(State::Down, Flags::FINAL, LOCAL));
    }
    assert_eq!(s.state(), state);
    assert!(!s.polling());
    s
}

/// Actions with timer deadlines as milliseconds after the input.
#[derive(Debug, PartialEq, Eq)]
enum Did {
    Changed(State, State, Diagnostic),
    Sent(State, Flags),
    Arm(Timer, u128),
    Cancel(Timer),
}

fn summarize(now: Instant, actions: Vec<Action>) -> Vec<Did> {
    actions
        .into_iter()
        .map(|a| match a {
            Action::StateChanged { from, to, diag } => Did::Changed(from, to, diag),
            Action::Send(p) => Did::Sent(p.state, p.flags),
            Action::Arm(t, at) => Did::Arm(t, at.duration_since(now).as_millis()),
            Action::Cancel(t) => Did::Cancel(t),
        })
        .collect()
}

use Did::{Arm, Cancel, Changed, Sent};
use State::{AdminDown, Down, Init, Up};
use Timer::{Detect, Tx};

/// (name, state before, input, expected actions, state after).
type Row = (&'static str, State, Input, Result<Vec<Did>, Discard>, State);

#[test]
fn state_transitions_follow_the_rfc_5880_table() {
    let none = Flags::empty();
    let rows: Vec<Row> = vec![
        (
            "down hearing down goes to init",
            Down,
            Input::Packet(remote(Down, none, 0)),
            Ok(vec![
                Changed(Down, Init, Diagnostic::None),
                Arm(Detect, 900),
                Sent(Init, none),
                Arm(Tx, 1000),
            ]),
            Init,
        ),
        (
            "down hearing init goes up and polls the fast timers",
            Down,
            Input::Packet(remote(Init, none, LOCAL)),
            Ok(vec![
                Changed(Down, Up, Diagnostic::None),
                Arm(Detect, 900),
                Sent(Up, Flags::POLL),
                Arm(Tx, 300),
            ]),
            Up,
        ),
        (
            "init hearing up goes up",
            Init,
            Input::Packet(remote(Up, none, LOCAL)),
            Ok(vec![
                Changed(Init, Up, Diagnostic::None),
                Arm(Detect, 900),
                Sent(Up, Flags::POLL),
                Arm(Tx, 300),
            ]),
            Up,
        ),
        (
            "init hearing init goes up",
            Init,
            Input::Packet(remote(Init, none, LOCAL)),
            Ok(vec![
                Changed(Init, Up, Diagnostic::None),
                Arm(Detect, 900),
                Sent(Up, Flags::POLL),
                Arm(Tx, 300),
            ]),
            Up,
        ),
        (
            "init hearing down stays init",
            Init,
            Input::Packet(remote(Down, none, 0)),
            Ok(vec![Arm(Detect, 900)]),
            Init,
        ),
        (
            "up hearing up only restarts detection",
            Up,
            Input::Packet(remote(Up, none, LOCAL)),
            Ok(vec![Arm(Detect, 900)]),
            Up,
        ),
        (
            "up hearing down goes down with neighbor signaled down",
            Up,
            Input::Packet(remote(Down, none, LOCAL)),
            Ok(vec![
                Changed(Up, Down, Diagnostic::NeighborSignaledDown),
                Arm(Detect, 900),
                Sent(Down, Flags::POLL),
                Arm(Tx, 1000),
            ]),
            Down,
        ),
        (
            "up hearing admin down goes down with neighbor signaled down",
            Up,
            Input::Packet(remote(AdminDown, none, LOCAL)),
            Ok(vec![
                Changed(Up, Down, Diagnostic::NeighborSignaledDown),
                Arm(Detect, 900),
                Sent(Down, Flags::POLL),
                Arm(Tx, 1000),
            ]),
            Down,
        ),
        (
            "down hearing admin down stays down",
            Down,
            Input::Packet(remote(AdminDown, none, 0)),
            Ok(vec![Arm(Detect, 900)]),
            Down,
        ),
        (
            "a poll is answered at once with final",
            Up,
            Input::Packet(remote(Up, Flags::POLL, LOCAL)),
            Ok(vec![Arm(Detect, 900), Sent(Up, Flags::FINAL)]),
            Up,
        ),
        (
            "up whose detection time expires goes down with diag 1",
            Up,
            Input::DetectTimer,
            Ok(vec![
                Changed(Up, Down, Diagnostic::ControlDetectionTimeExpired),
                Sent(Down, Flags::POLL),
                Arm(Tx, 1000),
            ]),
            Down,
        ),
        (
            "init whose detection time expires goes down with diag 1",
            Init,
            Input::DetectTimer,
            Ok(vec![
                Changed(Init, Down, Diagnostic::ControlDetectionTimeExpired),
                Sent(Down, none),
                Arm(Tx, 1000),
            ]),
            Down,
        ),
        (
            "down whose detection time expires stays down silently",
            Down,
            Input::DetectTimer,
            Ok(vec![]),
            Down,
        ),
        (
            "the transmit timer sends the periodic packet",
            Up,
            Input::TxTimer,
            Ok(vec![Sent(Up, none), Arm(Tx, 300)]),
            Up,
        ),
        (
            "admin down tells the remote and stops detection",
            Up,
            Input::AdminDown,
            Ok(vec![
                Changed(Up, AdminDown, Diagnostic::AdministrativelyDown),
                Cancel(Detect),
                Sent(AdminDown, Flags::POLL),
                Arm(Tx, 1000),
            ]),
            AdminDown,
        ),
        (
            "admin up returns to down",
            AdminDown,
            Input::AdminUp,
            Ok(vec![
                Changed(AdminDown, Down, Diagnostic::None),
                Sent(Down, none),
                Arm(Tx, 1000),
            ]),
            Down,
        ),
        (
            "admin down discards received packets",
            AdminDown,
            Input::Packet(remote(Up, none, LOCAL)),
            Err(Discard::AdminDown),
            AdminDown,
        ),
        (
            "an authenticated packet is discarded without authentication in use",
            Up,
            Input::Packet(ControlPacket {
                flags: Flags::AUTH,
                auth: Some(AuthSection {
                    auth_type: 1,
                    data: vec![1, b'x'],
                }),
                ..remote(Up, none, LOCAL)
            }),
            Err(Discard::AuthNotInUse),
            Up,
        ),
        (
            "a packet for another discriminator is discarded",
            Up,
            Input::Packet(remote(Up, none, LOCAL + 1)),
            Err(Discard::WrongDiscriminator(LOCAL + 1)),
            Up,
        ),
    ];
    let t0 = Instant::now();
    let now = t0 + Duration::from_secs(10);
    for (name, from, input, expected, next) in rows {
        let mut s = session_in(from, t0);
        let got = s.handle(now, input).map(|a| summarize(now, a));
        assert_eq!(got, expected, "{name}");
        assert_eq!(s.state(), next, "{name}: next state");
    }
}

#[test]
fn packets_carry_the_session_variables() {
    let t0 = Instant::now();
    let s = session_in(Up, t0);
    let p = s.packet();
    assert_eq!(p.my_discriminator, LOCAL);
    assert_eq!(p.your_discriminator, REMOTE);
    assert_eq!(p.detect_mult, 3);
    assert_eq!(p.desired_min_tx_us, 100_000);
    assert_eq!(p.required_min_rx_us, 100_000);
    assert_eq!(p.required_min_echo_rx_us, 0);
}

#[test]
fn transmit_interval_is_at_least_one_second_until_up() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, config(), 1);
    let first = s.start(t0);
    assert!(matches!(&first[0], Action::Send(p) if p.desired_min_tx_us == 1_000_000));
    assert_eq!(s.tx_interval(), Duration::from_secs(1));
    let s = session_in(Up, t0);
    assert_eq!(
        s.tx_interval(),
        Duration::from_millis(300),
        "remote min rx wins"
    );
}

#[test]
fn detection_time_is_remote_multiplier_times_the_slower_interval() {
    let t0 = Instant::now();
    let mut s = session_in(Up, t0);
    assert_eq!(s.detection_time(), Some(Duration::from_millis(900)));
    let fast = ControlPacket {
        detect_mult: 5,
        desired_min_tx_us: 50_000,
        ..remote(Up, Flags::empty(), LOCAL)
    };
    assert!(s.on_packet(t0, &fast).is_ok());
    // Our required 100 ms is slower than the remote's 50 ms.
    assert_eq!(s.detection_time(), Some(Duration::from_millis(500)));
}

#[test]
fn poll_sequence_ends_when_final_arrives() {
    let t0 = Instant::now();
    let mut s = session_in(Init, t0);
    assert!(s.on_packet(t0, &remote(Up, Flags::empty(), LOCAL)).is_ok());
    assert!(s.polling());
    assert_eq!(s.packet().flags, Flags::POLL);
    assert!(s.on_packet(t0, &remote(Up, Flags::FINAL, LOCAL)).is_ok());
    assert!(!s.polling());
    assert_eq!(s.packet().flags, Flags::empty());
}

#[test]
fn raising_desired_tx_while_up_keeps_the_old_rate_until_final() {
    let t0 = Instant::now();
    let mut s = session_in(Up, t0);
    let slow = SessionConfig {
        desired_min_tx: Duration::from_millis(500),
        ..config()
    };
    let remote_fast = ControlPacket {
        required_min_rx_us: 10_000,
        ..remote(Up, Flags::empty(), LOCAL)
    };
    assert!(s.on_packet(t0, &remote_fast).is_ok());
    assert_eq!(s.tx_interval(), Duration::from_millis(100));
    let _ = s.set_config(t0, slow);
    assert!(s.polling());
    assert_eq!(s.packet().desired_min_tx_us, 500_000, "advertised at once");
    assert_eq!(
        s.tx_interval(),
        Duration::from_millis(100),
        "used after Final"
    );
    let final_ = ControlPacket {
        flags: Flags::FINAL,
        ..remote_fast
    };
    assert!(s.on_packet(t0, &final_).is_ok());
    assert_eq!(s.tx_interval(), Duration::from_millis(500));
}

#[test]
fn lowering_required_rx_while_up_keeps_the_old_detection_time_until_final() {
    let t0 = Instant::now();
    let mut s = session_in(Up, t0);
    let remote_fast = ControlPacket {
        desired_min_tx_us: 10_000,
        ..remote(Up, Flags::empty(), LOCAL)
    };
    assert!(s.on_packet(t0, &remote_fast).is_ok());
    assert_eq!(s.detection_time(), Some(Duration::from_millis(300)));
    let _ = s.set_config(
        t0,
        SessionConfig {
            required_min_rx: Duration::from_millis(20),
            ..config()
        },
    );
    assert_eq!(s.detection_time(), Some(Duration::from_millis(300)));
    let final_ = ControlPacket {
        flags: Flags::FINAL,
        ..remote_fast
    };
    assert!(s.on_packet(t0, &final_).is_ok());
    assert_eq!(s.detection_time(), Some(Duration::from_millis(60)));
}

#[test]
fn no_periodic_packets_while_demand_mode_is_active_on_the_remote() {
    let t0 = Instant::now();
    let mut s = session_in(Up, t0);
    assert!(s.on_packet(t0, &remote(Up, Flags::DEMAND, LOCAL)).is_ok());
    let actions = s.on_tx_timer(t0);
    assert!(actions.iter().all(|a| !matches!(a, Action::Send(_))));
    assert!(s.on_packet(t0, &remote(Up, Flags::empty(), LOCAL)).is_ok());
    let actions = s.on_tx_timer(t0);
    assert!(actions.iter().any(|a| matches!(a, Action::Send(_))));
}

#[test]
fn no_periodic_packets_while_the_remote_requires_none() {
    let t0 = Instant::now();
    let mut s = session_in(Up, t0);
    let silent = ControlPacket {
        required_min_rx_us: 0,
        ..remote(Up, Flags::empty(), LOCAL)
    };
    assert!(s.on_packet(t0, &silent).is_ok());
    let actions = s.on_tx_timer(t0);
    assert!(actions.iter().all(|a| !matches!(a, Action::Send(_))));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Arm(Timer::Tx, _))));
}

fn jitter_range(detect_mult: u8) -> (u128, u128) {
    let t0 = Instant::now();
    let cfg = SessionConfig {
        desired_min_tx: Duration::from_millis(1000),
        required_min_rx: Duration::from_millis(1000),
        detect_mult,
    };
    let mut s = Session::new(LOCAL, cfg, 42);
    let (mut lo, mut hi) = (u128::MAX, 0);
    for _ in 0..2000 {
        for a in s.on_tx_timer(t0) {
            if let Action::Arm(Timer::Tx, at) = a {
                let ms = at.duration_since(t0).as_millis();
                lo = lo.min(ms);
                hi = hi.max(ms);
            }
        }
    }
    (lo, hi)
}

#[test]
fn jitter_keeps_intervals_between_75_and_100_percent() {
    let (lo, hi) = jitter_range(3);
    assert!((750..760).contains(&lo), "lowest {lo}");
    assert!((991..=1000).contains(&hi), "highest {hi}");
}

#[test]
fn jitter_stays_below_90_percent_with_a_multiplier_of_one() {
    let (lo, hi) = jitter_range(1);
    assert!(lo >= 750, "lowest {lo}");
    assert!((891..=900).contains(&hi), "highest {hi}");
}
