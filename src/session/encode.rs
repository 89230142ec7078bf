//! Outgoing UPDATE encoding for the peer task: an UPDATE from the engine
//! is sent as it is when it fits the negotiated maximum length (RFC 4271 §4,
//! RFC 8654), else its prefixes are spread over as many messages as needed
//! with the wire codec's [`UpdateBuilder`].
//!
//! Pure function; called from `peer` for `ToPeer::Send`.

use crate::wire::update::UpdateBuilder;
use crate::wire::{Codec, EncodeError, Update};
use bytes::BytesMut;
use std::net::IpAddr;

/// Encodes one UPDATE as it is when it fits, else splits its prefixes over
/// as many messages as needed with [`UpdateBuilder`]. Returns the number
/// of messages written.
pub fn encode_update(u: &Update, codec: &Codec, out: &mut BytesMut) -> Result<usize, EncodeError> {
    match u.encode(codec, out) {
        Ok(()) => return Ok(1),
        Err(EncodeError::TooLong(..)) => {}
        Err(e) => return Err(e),
    }
    let b = UpdateBuilder::new(*codec);
    let mut count = 0;
    let mut withdrawn = u.withdrawn.clone();
    if let Some(mu) = &u.mp_unreach {
        withdrawn.extend(mu.withdrawn.iter().copied());
    }
    if !withdrawn.is_empty() {
        count += b.withdraw(&withdrawn, out)?;
    }
    if !u.nlri.is_empty() {
        count += b.announce(&u.attrs, None, &u.nlri, out)?;
    }
    if let Some(mr) = &u.mp_reach {
        if !mr.nlri.is_empty() {
            let mut attrs = u.attrs.clone();
            attrs.next_hop = Some(mr.next_hop);
            let ll = match mr.link_local_next_hop {
                Some(IpAddr::V6(a)) => Some(a),
                _ => None,
            };
            count += b.announce(&attrs, ll, &mr.nlri, out)?;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::conn;
    use crate::wire::{AddPathPrefix, Message, Origin, PathAttributes};

    #[test]
    fn an_update_too_big_for_one_message_is_split() -> Result<(), Box<dyn std::error::Error>> {
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(crate::wire::AsPath::from_sequence(vec![64500])),
            next_hop: Some("192.0.2.1".parse()?),
            ..PathAttributes::default()
        };
        let nlri: Vec<AddPathPrefix> = (0..2000u32)
            .map(|i| {
                let a = std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8));
                Ok(AddPathPrefix {
                    path_id: None,
                    prefix: ipnet::Ipv4Net::new(a, 24)?.into(),
                })
            })
            .collect::<Result<_, ipnet::PrefixLenError>>()?;
        let u = Update {
            attrs,
            nlri: nlri.clone(),
            ..Update::default()
        };
        let codec = Codec::default();
        let mut out = BytesMut::new();
        let n = encode_update(&u, &codec, &mut out)?;
        assert!(n >= 2, "2000 /24s need more than one 4096-octet message");
        let mut f = conn::Framer::default();
        f.extend(&out);
        let mut got = Vec::new();
        let mut msgs = 0;
        while let Some(m) = f.next_message(&codec)? {
            msgs += 1;
            if let Message::Update(u) = m {
                got.extend(u.nlri);
            }
        }
        assert_eq!((msgs, got), (n, nlri));
        Ok(())
    }
}
