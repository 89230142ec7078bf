//! Criterion benches for BFD: Control packet decode and encode, and one
//! FSM step for a received Up packet (the per-packet work of the BFD thread).
//! Register with `[[bench]] name = "bfd" harness = false`.

use coldpotato::bfd::fsm::Jitter;
use coldpotato::bfd::{ControlPacket, Diagnostic, Flags, Session, SessionConfig, State};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

fn packet(state: State, your: u32) -> ControlPacket {
    ControlPacket {
        diag: Diagnostic::None,
        state,
        flags: Flags::empty(),
        detect_mult: 3,
        my_discriminator: 0xBB,
        your_discriminator: your,
        desired_min_tx_us: 100_000,
        required_min_rx_us: 100_000,
        required_min_echo_rx_us: 0,
        auth: None,
    }
}

fn codec(c: &mut Criterion) {
    let bytes = packet(State::Up, 0xAA).to_bytes();
    c.bench_function("bfd_decode", |b| {
        b.iter(|| ControlPacket::decode(black_box(&bytes)))
    });
    let p = packet(State::Up, 0xAA);
    let mut out = Vec::with_capacity(64);
    c.bench_function("bfd_encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&p).encode(&mut out);
            out.len()
        })
    });
}

fn fsm(c: &mut Criterion) {
    let config = SessionConfig {
        desired_min_tx: Duration::from_millis(100),
        required_min_rx: Duration::from_millis(100),
        detect_mult: 3,
    };
    let now = Instant::now();
    let mut s = Session::new(0xAA, config, 7);
    s.set_jitter(Jitter::Fixed(90));
    let _ = s.start(now);
    let _ = s.on_packet(now, &packet(State::Init, 0xAA));
    let up = packet(State::Up, 0xAA);
    c.bench_function("bfd_fsm_receive_up", |b| {
        b.iter(|| s.on_packet(now, black_box(&up)).map(|a| a.len()))
    });
}

criterion_group!(benches, codec, fsm);
criterion_main!(benches);
