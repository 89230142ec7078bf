//! Fuzz target `session_stream`: a BGP session as a whole, as the peer task
//! drives it. The input is the byte stream a peer sends after our OPEN
//! (an incoming connection to a passive neighbor), cut into reads of sizes
//! the first bytes choose; each read goes through the session's framer, the
//! messages through the decoder with the codec negotiated so far, and the
//! results into the Sans-IO FSM as the task feeds them (messages, decode
//! errors as their NOTIFICATION), with timers polled as time passes.
//!
//! Invariants: no panic; Established only after the peer's OPEN was
//! accepted and a KEEPALIVE followed it; a message that cannot be decoded
//! while a session is being set up or is up makes the FSM send that
//! NOTIFICATION and close.
#![no_main]

use coldpotato::session::conn::Framer;
use coldpotato::session::fsm::{Action, Event, Fsm, State};
use coldpotato::session::negotiate::FsmConfig;
use coldpotato::wire::{Codec, Message};
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, stream)) = data.split_first() else {
        return;
    };
    let mut cfg = FsmConfig::new(65000, Ipv4Addr::new(192, 0, 2, 1), 64500);
    cfg.passive = true;
    let mut fsm = Fsm::new(cfg);
    let mut now = Instant::now();
    fsm.handle(now, Event::ManualStartPassive);
    let id = fsm.alloc_conn();
    fsm.handle(now, Event::TcpConnectionConfirmed(id));
    assert_eq!(fsm.state(), State::OpenSent);

    let mut framer = Framer::default();
    let mut codec = Codec::default();
    // What the peer has done so far.
    let mut open_accepted = false;
    let mut confirmed = false;
    let mut rest = stream;
    let mut step = 0usize;
    while !rest.is_empty() && fsm.state() != State::Idle {
        // Read sizes 1..=256 cycling through a pattern set by `cuts`.
        let n = (usize::from(cuts.rotate_left(step as u32 % 8)) % 256 + 1).min(rest.len());
        let (read, tail) = rest.split_at(n);
        rest = tail;
        step += 1;
        framer.extend(read);
        loop {
            let before = fsm.state();
            let ev = match framer.next_message(&codec) {
                Ok(None) => break,
                Ok(Some(m)) => match m {
                    Message::Open(o) => Event::Open(id, o),
                    Message::Keepalive => Event::Keepalive(id),
                    Message::Update(u) => Event::Update(id, Box::new(u)),
                    Message::RouteRefresh(r) => Event::RouteRefresh(id, r),
                    Message::Notification(n) => Event::Notification(id, n),
                },
                Err(e) => match e.notification() {
                    Some(n) => {
                        let actions = fsm.handle(now, Event::MessageError(id, n.clone()));
                        if before != State::Idle {
                            let sent = actions.iter().any(
                                |a| matches!(a, Action::Send(_, Message::Notification(m)) if *m == n),
                            );
                            assert!(sent, "decode error {e:?} in {before:?}: {actions:?}");
                            assert!(actions.iter().any(|a| matches!(a, Action::Close(_))));
                        }
                        return;
                    }
                    None => {
                        fsm.handle(now, Event::TcpConnectionFails(id));
                        return;
                    }
                },
            };
            let is_open = matches!(ev, Event::Open(..));
            let is_keepalive = matches!(ev, Event::Keepalive(_));
            fsm.handle(now, ev);
            let after = fsm.state();
            if is_open && before == State::OpenSent && after == State::OpenConfirm {
                open_accepted = true;
            }
            if is_keepalive && before == State::OpenConfirm && open_accepted {
                confirmed = true;
            }
            if after == State::Established {
                assert!(open_accepted && confirmed, "Established without OPEN + KEEPALIVE");
            }
            if let Some(n) = fsm.negotiated() {
                codec = n.codec;
            }
            if after == State::Idle {
                return;
            }
        }
        // Time passes between reads: timers may fire.
        now += Duration::from_millis(u64::from(cuts) * 37 % 5_000);
        fsm.poll_timers(now);
    }
});
