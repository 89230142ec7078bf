//! Service tests on loopback (no root needed): two services talking to each
//! other on private ports, and a hand-driven peer that checks detection,
//! the TTL rule and demultiplexing. Each test uses its own ports.

use super::*;
use crate::bfd::packet::{ControlPacket, Flags};
use std::net::{Ipv4Addr, UdpSocket};

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn request(peer: IpAddr, local: IpAddr, ms: u32) -> BfdRequest {
    BfdRequest {
        peer,
        local: Some(local),
        min_tx_ms: ms,
        min_rx_ms: ms,
        multiplier: 3,
        interface: None,
    }
}

fn service(listen_port: u16, peer_port: u16) -> BfdHandle {
    let started = BfdService::start_with(ServiceOptions {
        listen_port,
        peer_port,
        ipv6: false,
    });
    match started {
        Ok(h) => h,
        Err(e) => panic!("service on port {listen_port}: {e}"),
    }
}

async fn wait_state(
    rx: &mut watch::Receiver<BfdEvent>,
    state: State,
    within: Duration,
) -> BfdEvent {
    let waited = tokio::time::timeout(within, rx.wait_for(|e| e.state == state))
        .await
        .map(|r| r.map(|event| *event));
    match waited {
        Ok(Ok(event)) => event,
        Ok(Err(_)) => panic!("service stopped before {state}"),
        Err(_) => panic!("no {state} within {within:?}: last {:?}", *rx.borrow()),
    }
}

#[tokio::test]
async fn two_services_come_up_and_release_tells_the_peer() {
    let a = service(47_901, 47_902);
    let b = service(47_902, 47_901);
    let mut at_a = a
        .request(request(v4(2), v4(1), 50))
        .map_err(|e| e.to_string());
    let mut at_b = b
        .request(request(v4(1), v4(2), 50))
        .map_err(|e| e.to_string());
    let (Ok(at_a), Ok(at_b)) = (at_a.as_mut(), at_b.as_mut()) else {
        panic!("requests failed: {at_a:?} {at_b:?}");
    };
    wait_state(at_a, State::Up, Duration::from_secs(5)).await;
    wait_state(at_b, State::Up, Duration::from_secs(5)).await;
    // The peer's Poll Sequence from its 1 s idle rate to 50 ms brings the
    // detection time to 3 × 50 ms.
    let fast = Some(Duration::from_millis(150));
    let settled = tokio::time::timeout(
        Duration::from_secs(2),
        at_a.wait_for(|e| e.detection_time == fast),
    )
    .await
    .map(|r| r.is_ok());
    assert_eq!(settled, Ok(true), "detection time never reached 150 ms");
    // A few 50 ms intervals later the receive figures are there (read, not
    // notified): the peer sends at 75–100 % of 50 ms.
    let measured = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Some(i) = at_a.borrow().rx_interval {
                return i;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let interval = measured.unwrap_or_default();
    assert!(
        interval > Duration::from_millis(20) && interval < Duration::from_millis(500),
        "receive interval {interval:?}"
    );
    assert!(at_a.borrow().rx_jitter.is_some());
    b.release(&request(v4(1), v4(2), 50).key());
    let down = wait_state(at_a, State::Down, Duration::from_secs(2)).await;
    assert_eq!(down.diag, Diagnostic::NeighborSignaledDown);
    assert_eq!(b.session_count(), 0);
    a.shutdown();
    b.shutdown();
}

#[tokio::test]
async fn requests_for_the_same_peer_share_one_session_and_end_with_their_receivers() {
    let a = service(47_911, 47_912);
    let first = a.request(request(v4(2), v4(1), 100));
    let second = a.request(request(v4(2), v4(1), 300));
    assert!(first.is_ok() && second.is_ok());
    assert_eq!(a.session_count(), 1);
    drop(first);
    drop(second);
    tokio::time::sleep(SWEEP_INTERVAL_FOR_TESTS).await;
    assert_eq!(a.session_count(), 0);
    a.shutdown();
}

const SWEEP_INTERVAL_FOR_TESTS: Duration = Duration::from_millis(2500);

#[tokio::test]
async fn invalid_requests_are_refused_with_a_typed_error() {
    let a = service(47_921, 47_922);
    let zero_mult = BfdRequest {
        multiplier: 0,
        ..request(v4(2), v4(1), 100)
    };
    assert!(matches!(
        a.request(zero_mult),
        Err(BfdError::InvalidRequest { .. })
    ));
    let zero_tx = BfdRequest {
        min_tx_ms: 0,
        ..request(v4(2), v4(1), 100)
    };
    assert!(matches!(
        a.request(zero_tx),
        Err(BfdError::InvalidRequest { .. })
    ));
    let mixed = request("::1".parse().unwrap_or(v4(2)), v4(1), 100);
    assert!(matches!(
        a.request(mixed),
        Err(BfdError::FamilyMismatch { .. })
    ));
    a.shutdown();
    assert!(matches!(
        a.request(request(v4(2), v4(1), 100)),
        Err(BfdError::Stopped)
    ));
}

/// A hand-driven remote system on 127.0.0.3.
struct FakePeer {
    socket: UdpSocket,
    to: SocketAddr,
}

impl FakePeer {
    fn new(listen_port: u16, service_port: u16, ttl: u32) -> FakePeer {
        let socket = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 3), listen_port));
        let Ok(socket) = socket else {
            panic!("fake peer bind: {socket:?}");
        };
        assert!(socket.set_ttl(ttl).is_ok());
        assert!(socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .is_ok());
        FakePeer {
            socket,
            to: SocketAddr::new(v4(1), service_port),
        }
    }

    fn receive(&self) -> ControlPacket {
        let mut buf = [0u8; 64];
        let n = self.socket.recv(&mut buf);
        let Ok(n) = n else {
            panic!("fake peer heard nothing: {n:?}");
        };
        match ControlPacket::decode(&buf[..n]) {
            Ok(p) => p,
            Err(e) => panic!("service sent a bad packet: {e}"),
        }
    }

    fn send(&self, state: State, your: u32) {
        let p = ControlPacket {
            diag: Diagnostic::None,
            state,
            flags: Flags::empty(),
            detect_mult: 3,
            my_discriminator: 0x77,
            your_discriminator: your,
            desired_min_tx_us: 50_000,
            required_min_rx_us: 50_000,
            required_min_echo_rx_us: 0,
            auth: None,
        };
        assert!(self.socket.send_to(&p.to_bytes(), self.to).is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn silence_after_up_is_detected_within_the_detection_time() {
    let a = service(47_931, 47_932);
    let peer = FakePeer::new(47_932, 47_931, 255);
    let Ok(mut rx) = a.request(request(v4(3), v4(1), 50)) else {
        panic!("request failed");
    };
    let first = tokio::task::block_in_place(|| peer.receive());
    assert_eq!(first.state, State::Down);
    assert_eq!(first.your_discriminator, 0);
    assert_eq!(first.desired_min_tx_us, 1_000_000, "slow rate until Up");
    peer.send(State::Init, first.my_discriminator);
    let sent = Instant::now();
    let up = wait_state(&mut rx, State::Up, Duration::from_secs(2)).await;
    assert_eq!(up.detection_time, Some(Duration::from_millis(150)));
    let down = wait_state(&mut rx, State::Down, Duration::from_secs(2)).await;
    let took = down.since.duration_since(sent);
    assert_eq!(down.diag, Diagnostic::ControlDetectionTimeExpired);
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_millis(400),
        "detected after {took:?}"
    );
    a.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn packets_with_a_ttl_below_255_are_discarded() {
    let a = service(47_941, 47_942);
    let peer = FakePeer::new(47_942, 47_941, 254);
    let Ok(rx) = a.request(request(v4(3), v4(1), 50)) else {
        panic!("request failed");
    };
    let first = tokio::task::block_in_place(|| peer.receive());
    peer.send(State::Init, first.my_discriminator);
    peer.send(State::Down, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.borrow().state, State::Down);
    assert_eq!(rx.borrow().detection_time, None, "nothing was heard");
    a.shutdown();
}

#[tokio::test]
async fn two_services_share_one_port_when_their_local_addresses_differ() {
    // Like two daemons on one host, both on "3784": each local address gets
    // its own receive socket, so neither steals the other's packets.
    let a = service(47_951, 47_951);
    let b = service(47_951, 47_951);
    let at_a = a.request(request(v4(5), v4(4), 50));
    let at_b = b.request(request(v4(4), v4(5), 50));
    let (Ok(mut at_a), Ok(mut at_b)) = (at_a, at_b) else {
        panic!("requests failed");
    };
    wait_state(&mut at_a, State::Up, Duration::from_secs(5)).await;
    wait_state(&mut at_b, State::Up, Duration::from_secs(5)).await;
    a.shutdown();
    let down = wait_state(&mut at_b, State::Down, Duration::from_secs(2)).await;
    assert_eq!(down.diag, Diagnostic::NeighborSignaledDown);
    b.shutdown();
}

#[tokio::test]
async fn sessions_to_one_peer_from_two_local_addresses_are_told_apart() {
    let a = service(47_961, 47_962);
    let b = service(47_962, 47_961);
    let requests = [
        (&a, request(v4(9), v4(7), 50)),
        (&a, request(v4(9), v4(8), 50)),
        (&b, request(v4(7), v4(9), 50)),
        (&b, request(v4(8), v4(9), 50)),
    ];
    let mut receivers = Vec::new();
    for (service, request) in requests {
        match service.request(request) {
            Ok(rx) => receivers.push(rx),
            Err(e) => panic!("request failed: {e}"),
        }
    }
    assert_eq!(a.session_count(), 2);
    for rx in &mut receivers {
        wait_state(rx, State::Up, Duration::from_secs(5)).await;
    }
    a.shutdown();
    b.shutdown();
}

fn at(base: Instant, ms: u64) -> Instant {
    base + Duration::from_millis(ms)
}

#[test]
fn rx_stats_follow_the_interval_and_its_jitter() {
    let t0 = Instant::now();
    let tx = Duration::from_millis(100);
    let mut rx = RxStats::default();
    // Steady 100 ms: mean 100, jitter 0; published after 4 intervals.
    for i in 0..4 {
        rx.on_packet(at(t0, 100 * i), tx);
    }
    assert_eq!(rx.figures(), None);
    rx.on_packet(at(t0, 400), tx);
    assert_eq!(
        rx.figures(),
        Some((Duration::from_millis(100), Duration::ZERO))
    );
    // Alternating 80 / 120 ms: the mean stays near 100, the jitter grows
    // toward 20.
    let mut t = 400;
    for i in 0..40 {
        t += if i % 2 == 0 { 80 } else { 120 };
        rx.on_packet(at(t0, t), tx);
    }
    let (mean, jitter) = rx.figures().unwrap_or_default();
    assert!(
        mean.abs_diff(Duration::from_millis(100)) < Duration::from_millis(5),
        "{mean:?}"
    );
    assert!(
        jitter > Duration::from_millis(15) && jitter < Duration::from_millis(25),
        "{jitter:?}"
    );
}

#[test]
fn rx_stats_start_again_when_the_remote_changes_its_rate_or_on_reset() {
    let t0 = Instant::now();
    let mut rx = RxStats::default();
    for i in 0..6 {
        rx.on_packet(at(t0, 1000 * i), Duration::from_secs(1));
    }
    assert_eq!(rx.figures().map(|f| f.0), Some(Duration::from_secs(1)));
    // The Poll Sequence to 50 ms: the slow intervals are forgotten.
    rx.on_packet(at(t0, 5050), Duration::from_millis(50));
    assert_eq!(rx.figures(), None);
    for i in 1..=4 {
        rx.on_packet(at(t0, 5050 + 50 * i), Duration::from_millis(50));
    }
    assert_eq!(rx.figures().map(|f| f.0), Some(Duration::from_millis(50)));
    rx.reset();
    assert_eq!(rx.figures(), None);
}
