//! Fuzz target `message`: whole BGP messages under every codec setting.
//! Decoding must never panic; with a 4-octet AS session a clean decode must
//! survive encode → decode unchanged.
#![no_main]

use bytes::BytesMut;
use coldpotato::wire::{frame_len, Codec, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, buf)) = data.split_first() else {
        return;
    };
    let codec = Codec {
        four_octet_as: sel & 1 != 0,
        extended_message: sel & 2 != 0,
        add_path_ipv4: sel & 4 != 0,
        add_path_ipv6: sel & 8 != 0,
    };
    let _ = frame_len(buf, &codec);
    let Ok(msg) = Message::decode(buf, &codec) else {
        return;
    };
    let clean = !matches!(&msg, Message::Update(u) if u.attr_error.is_some());
    let mut out = BytesMut::new();
    if codec.four_octet_as && clean && msg.encode(&codec, &mut out).is_ok() {
        let again = Message::decode(&out, &codec).expect("re-encoded message decodes");
        assert_eq!(again, msg);
    }
});
