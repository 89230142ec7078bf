//! Fuzz target for the RTR PDU decoder (RFC 8210 §5) and the router-side
//! session: any byte stream must decode PDU by PDU or fail with a typed
//! error (never panic); every accepted PDU must re-encode to bytes that
//! decode to the same PDU; and the decoded sequence fed to a session must
//! never panic.
#![no_main]

use bytes::BytesMut;
use coldpotato::rpki::pdu::{decode, Pdu};
use coldpotato::rpki::session::{Session, Timers};
use std::time::Instant;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut session = Session::new(Timers::default());
    let _ = session.connected();
    let now = Instant::now();
    let mut at = 0;
    while at < data.len() {
        match decode(&data[at..]) {
            Ok(Some((version, pdu, used))) => {
                assert!(used >= 8 && at + used <= data.len());
                let mut out = BytesMut::new();
                pdu.encode(version, &mut out);
                if !out.is_empty() {
                    let again = decode(&out).ok().flatten().map(|(v, p, _)| (v, p));
                    let same = match (&pdu, &again) {
                        // Router Keys are decoded and skipped: SKI/SPKI are not kept.
                        (Pdu::RouterKey { .. }, Some((_, Pdu::RouterKey { .. }))) => true,
                        _ => again.as_ref() == Some(&(version, pdu.clone())),
                    };
                    assert!(same, "{pdu:?} -> {out:?} -> {again:?}");
                }
                let _ = session.on_pdu(version, pdu, now);
                at += used;
            }
            Ok(None) => break,
            Err(e) => {
                let _ = e.error_code();
                break;
            }
        }
    }
    let _ = session.refresh();
    let _ = session.expire(now);
});
