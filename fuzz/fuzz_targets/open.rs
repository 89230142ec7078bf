//! Fuzz target `open`: OPEN bodies (optional parameters, RFC 9072 extended
//! lengths, capabilities). Never panics; a decoded OPEN re-encodes and decodes
//! to the same value.
#![no_main]

use bytes::BytesMut;
use coldpotato::wire::{Codec, Message, Open};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(open) = Open::decode_body(data) else {
        return;
    };
    let msg = Message::Open(open);
    let mut out = BytesMut::new();
    if msg.encode(&Codec::default(), &mut out).is_ok() {
        let again = Message::decode(&out, &Codec::default()).expect("re-encoded OPEN decodes");
        assert_eq!(again, msg);
    }
});
