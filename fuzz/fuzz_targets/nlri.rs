//! Fuzz target `nlri`: NLRI fields of both families with and without
//! ADD-PATH. Never panics; decoded prefixes re-encode to a field that decodes
//! to the same prefixes.
#![no_main]

use bytes::BytesMut;
use coldpotato::wire::nlri::{decode_prefixes, encode_prefix, Family};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, buf)) = data.split_first() else {
        return;
    };
    let family = if sel & 1 != 0 { Family::Ipv6 } else { Family::Ipv4 };
    let add_path = sel & 2 != 0;
    let mut out = Vec::new();
    if decode_prefixes(buf, family, add_path, &mut out).is_err() {
        return;
    }
    let mut enc = BytesMut::new();
    for p in &out {
        encode_prefix(p, add_path, &mut enc);
    }
    let mut again = Vec::new();
    decode_prefixes(&enc, family, add_path, &mut again).expect("re-encoded NLRI decodes");
    assert_eq!(again, out);
});
