//! Fuzz target for the BFD Control packet decoder (RFC 5880 §4.1): any
//! input must decode or fail with a typed error, never panic, and every
//! accepted packet must re-encode to bytes that decode to the same packet.
#![no_main]

use coldpotato::bfd::ControlPacket;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = ControlPacket::decode(data) {
        let bytes = packet.to_bytes();
        assert_eq!(ControlPacket::decode(&bytes), Ok(packet));
    }
});
