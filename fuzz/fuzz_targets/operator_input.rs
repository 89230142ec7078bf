//! Fuzz target for what an operator's client sends the API beyond JSON
//! bodies: the paging cursor (`after=`, `messages::paging::RouteKey`), the
//! tokens file (`[api] tokens_file`) and the `Authorization` header. None
//! may panic; a cursor that decodes re-encodes to one that decodes to the
//! same key; a header is only ever accepted with a token from the file.
#![no_main]

use coldpotato::api::auth::{TokenStore, Tokens};
use coldpotato::messages::paging::RouteKey;
use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(key) = RouteKey::decode(&text) {
        let again = RouteKey::decode(&key.encode());
        assert_eq!(again.as_ref(), Ok(&key), "{text:?}");
    }
    // The first line as a header, the rest as a tokens file.
    let (header, file) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], String::from_utf8_lossy(&data[i + 1..])),
        None => (data, String::from_utf8_lossy(&[][..])),
    };
    let tokens = Tokens::parse(&file, Path::new("fuzz.tokens")).ok();
    let had = tokens.is_some();
    let store = TokenStore::new(tokens);
    if let Ok(who) = store.authorize(Some(header)) {
        assert!(had && !who.is_empty(), "accepted {header:?} as {who:?}");
        assert!(file.contains(who.as_str()));
    }
});
