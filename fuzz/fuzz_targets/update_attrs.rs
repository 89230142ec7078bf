//! Fuzz target `update_attrs`: the Path Attributes field alone, under both
//! AS sizes and ADD-PATH settings. Never panics, never over-allocates.
#![no_main]

use coldpotato::wire::attr::decode_attributes;
use coldpotato::wire::Codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, buf)) = data.split_first() else {
        return;
    };
    let codec = Codec {
        four_octet_as: sel & 1 != 0,
        extended_message: true,
        add_path_ipv4: sel & 2 != 0,
        add_path_ipv6: sel & 4 != 0,
    };
    let _ = decode_attributes(buf, &codec);
});
