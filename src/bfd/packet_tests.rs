//! Codec tests: (bytes, value) pairs checked both ways, then malformed
//! vectors with the exact error they must be discarded with.

use super::*;

fn up_packet() -> ControlPacket {
    ControlPacket {
        diag: Diagnostic::None,
        state: State::Up,
        flags: Flags::POLL,
        detect_mult: 3,
        my_discriminator: 0x0102_0304,
        your_discriminator: 0x0a0b_0c0d,
        desired_min_tx_us: 100_000,
        required_min_rx_us: 300_000,
        required_min_echo_rx_us: 0,
        auth: None,
    }
}

const UP_BYTES: [u8; 24] = [
    0x20, // version 1, diag 0
    0xe0, // state Up (3 << 6) | P
    3, 24, // detect mult, length
    0x01, 0x02, 0x03, 0x04, // my discriminator
    0x0a, 0x0b, 0x0c, 0x0d, // your discriminator
    0x00, 0x01, 0x86, 0xa0, // desired min tx 100 ms
    0x00, 0x04, 0x93, 0xe0, // required min rx 300 ms
    0x00, 0x00, 0x00, 0x00, // required min echo rx
];

fn down_packet() -> ControlPacket {
    ControlPacket {
        diag: Diagnostic::ControlDetectionTimeExpired,
        state: State::Down,
        flags: Flags::FINAL | Flags::CPI,
        detect_mult: 5,
        my_discriminator: 7,
        your_discriminator: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 1_000_000,
        required_min_echo_rx_us: 50_000,
        auth: None,
    }
}

const DOWN_BYTES: [u8; 24] = [
    0x21, // version 1, diag 1
    0x58, // state Down (1 << 6) | F | C
    5, 24, 0, 0, 0, 7, 0, 0, 0, 0, // mult, len, my disc 7, your disc 0
    0x00, 0x0f, 0x42, 0x40, // 1 s
    0x00, 0x0f, 0x42, 0x40, // 1 s
    0x00, 0x00, 0xc3, 0x50, // 50 ms
];

fn auth_packet() -> ControlPacket {
    ControlPacket {
        diag: Diagnostic::AdministrativelyDown,
        state: State::AdminDown,
        flags: Flags::AUTH,
        detect_mult: 3,
        my_discriminator: 9,
        your_discriminator: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 0,
        required_min_echo_rx_us: 0,
        auth: Some(AuthSection {
            auth_type: 1,
            data: vec![1, b'a', b'b', b'c'],
        }),
    }
}

const AUTH_BYTES: [u8; 30] = [
    0x27, 0x04, 3, 30, 0, 0, 0, 9, 0, 0, 0, 0, 0x00, 0x0f, 0x42, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    6, 1, b'a', b'b', b'c', // simple password, len 6, key id 1, "abc"
];

#[test]
fn packets_decode_and_encode_to_the_same_bytes() {
    let cases: [(&[u8], ControlPacket); 3] = [
        (&UP_BYTES, up_packet()),
        (&DOWN_BYTES, down_packet()),
        (&AUTH_BYTES, auth_packet()),
    ];
    for (bytes, packet) in cases {
        assert_eq!(ControlPacket::decode(bytes), Ok(packet.clone()));
        assert_eq!(packet.to_bytes(), bytes);
    }
}

#[test]
fn octets_after_the_length_field_are_ignored() {
    let mut bytes = UP_BYTES.to_vec();
    bytes.extend_from_slice(&[0xde, 0xad]);
    assert_eq!(ControlPacket::decode(&bytes), Ok(up_packet()));
}

#[test]
fn reserved_diagnostic_codes_round_trip() {
    let mut bytes = UP_BYTES;
    bytes[0] = 0x20 | 0x1f;
    let packet = ControlPacket::decode(&bytes);
    assert_eq!(
        packet.as_ref().map(|p| p.diag),
        Ok(Diagnostic::Reserved(31))
    );
    assert_eq!(packet.map(|p| p.to_bytes()), Ok(bytes.to_vec()));
}

#[test]
fn intervals_convert_to_durations() {
    let p = up_packet();
    assert_eq!(p.desired_min_tx(), Duration::from_millis(100));
    assert_eq!(p.required_min_rx(), Duration::from_millis(300));
}

fn with(mut bytes: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
    bytes[at] = value;
    bytes
}

#[test]
fn malformed_packets_are_discarded_with_their_exact_error() {
    let up = UP_BYTES.to_vec();
    let cases: Vec<(&str, Vec<u8>, PacketError)> = vec![
        (
            "empty datagram",
            vec![],
            PacketError::TooShort { received: 0 },
        ),
        (
            "23 octets",
            up[..23].to_vec(),
            PacketError::TooShort { received: 23 },
        ),
        (
            "version 0",
            with(up.clone(), 0, 0x00),
            PacketError::BadVersion(0),
        ),
        (
            "version 2",
            with(up.clone(), 0, 0x40),
            PacketError::BadVersion(2),
        ),
        (
            "length below 24",
            with(up.clone(), 3, 23),
            PacketError::LengthTooSmall {
                length: 23,
                min: 24,
            },
        ),
        (
            "length beyond the datagram",
            with(up.clone(), 3, 28),
            PacketError::LengthExceedsPayload {
                length: 28,
                received: 24,
            },
        ),
        (
            "A bit set with length 24",
            with(up.clone(), 1, 0xe4),
            PacketError::LengthTooSmall {
                length: 24,
                min: 26,
            },
        ),
        (
            "detect mult zero",
            with(up.clone(), 2, 0),
            PacketError::ZeroDetectMult,
        ),
        (
            "multipoint bit",
            with(up.clone(), 1, 0xc1),
            PacketError::Multipoint,
        ),
        (
            "my discriminator zero",
            {
                let mut b = up.clone();
                b[4..8].copy_from_slice(&[0, 0, 0, 0]);
                b
            },
            PacketError::ZeroMyDiscriminator,
        ),
        (
            "your discriminator zero in Up",
            {
                let mut b = up.clone();
                b[8..12].copy_from_slice(&[0, 0, 0, 0]);
                b
            },
            PacketError::ZeroYourDiscriminator { state: State::Up },
        ),
        (
            "your discriminator zero in Init",
            {
                let mut b = with(up.clone(), 1, 0x80);
                b[8..12].copy_from_slice(&[0, 0, 0, 0]);
                b
            },
            PacketError::ZeroYourDiscriminator { state: State::Init },
        ),
        (
            "auth len longer than the packet",
            with(AUTH_BYTES.to_vec(), 25, 7),
            PacketError::AuthLength {
                auth_len: 7,
                length: 30,
            },
        ),
        (
            "auth len below 2",
            with(AUTH_BYTES.to_vec(), 25, 1),
            PacketError::AuthLength {
                auth_len: 1,
                length: 30,
            },
        ),
    ];
    for (name, bytes, error) in cases {
        assert_eq!(ControlPacket::decode(&bytes), Err(error), "{name}");
    }
}

#[test]
fn your_discriminator_zero_is_accepted_in_down_and_admin_down() {
    for state_bits in [0x00u8, 0x40] {
        let mut b = with(UP_BYTES.to_vec(), 1, state_bits);
        b[8..12].copy_from_slice(&[0, 0, 0, 0]);
        let packet = ControlPacket::decode(&b);
        assert_eq!(packet.map(|p| p.your_discriminator), Ok(0));
    }
}

#[test]
fn encode_sets_the_auth_bit_from_the_auth_section() {
    let mut p = up_packet();
    p.flags |= Flags::AUTH;
    assert_eq!(p.to_bytes()[1] & 0x04, 0, "no auth section: A clear");
    let mut p = auth_packet();
    p.flags = Flags::empty();
    assert_eq!(p.to_bytes(), AUTH_BYTES.to_vec());
}

proptest::proptest! {
    #[test]
    fn decode_never_panics_and_accepted_packets_round_trip(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        if let Ok(p) = ControlPacket::decode(&bytes) {
            let again = ControlPacket::decode(&p.to_bytes());
            proptest::prop_assert_eq!(again, Ok(p));
        }
    }
}
