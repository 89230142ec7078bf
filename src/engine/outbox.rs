//! [`Outbox`]: the UPDATEs for one session (or one update group, whose
//! members share the bytes), encoded as the export produces them and
//! handed over as [`ToPeer::Wire`](crate::messages::ToPeer) pieces; and
//! [`by_set`], which lays an export's (set, prefix) pairs out as one run of
//! prefixes per attribute set for [`Outbox::announce`].

use crate::messages::Encoded;
use crate::wire::update::UpdateBuilder;
use crate::wire::{
    AddPathPrefix, Afi, Codec, EncodeError, Message, PathAttributes, Prefix, Safi, Update,
};
use bytes::BytesMut;

/// An [`Outbox`] hands its bytes over in pieces of about this size, so a
/// full-table dump is many bounded [`ToPeer::Wire`] messages (paced by the
/// session's channel) rather than one buffer of tens of megabytes.
const WIRE_PIECE: usize = 256 * 1024;

/// UPDATEs for one session, encoded as they are produced (no `Update`
/// values, no attribute copies), handed over as [`ToPeer::Wire`] pieces
/// of whole messages, about [`WIRE_PIECE`] bytes each.
#[derive(Debug)]
pub struct Outbox {
    builder: UpdateBuilder,
    codec: Codec,
    out: BytesMut,
    messages: u64,
    done: Vec<Encoded>,
}

impl Outbox {
    pub fn new(codec: Codec) -> Self {
        Outbox {
            builder: UpdateBuilder::new(codec),
            codec,
            out: BytesMut::new(),
            messages: 0,
            done: Vec::new(),
        }
    }

    fn count(&mut self, r: Result<usize, EncodeError>) {
        match r {
            Ok(n) => self.messages += n as u64,
            // Only a set the codec cannot carry gets here (e.g. an IPv6
            // prefix without an IPv6 next hop): skip it, loudly.
            Err(e) => tracing::warn!(error = %e, "cannot encode UPDATE; skipped"),
        }
        if self.out.len() >= WIRE_PIECE {
            self.cut();
        }
    }

    /// Ends the current piece (it holds whole messages only).
    fn cut(&mut self) {
        if self.messages > 0 {
            self.done.push(Encoded {
                bytes: self.out.split().freeze(),
                messages: self.messages,
                codec: self.codec,
            });
            self.messages = 0;
        }
    }

    /// Announces `prefixes` with `attrs` (IPv4 in NLRI, IPv6 in MP_REACH).
    /// A route whose attributes do not fit this session's largest message
    /// is withdrawn instead (RFC 8654 §4): the neighbor must not keep an
    /// older version of it.
    pub fn announce(&mut self, attrs: &PathAttributes, prefixes: &[AddPathPrefix]) {
        if prefixes.is_empty() {
            return;
        }
        match self.builder.announce(attrs, None, prefixes, &mut self.out) {
            Err(EncodeError::TooLong(len, max)) => {
                tracing::warn!(
                    len,
                    max,
                    prefixes = prefixes.len(),
                    "route too big for this neighbor's messages: withdrawn instead (RFC 8654 §4)"
                );
                let r = self.builder.withdraw(prefixes, &mut self.out);
                self.count(r);
            }
            r => self.count(r),
        }
    }

    /// Withdraws `prefixes`.
    pub fn withdraw(&mut self, prefixes: &[AddPathPrefix]) {
        if !prefixes.is_empty() {
            let r = self.builder.withdraw(prefixes, &mut self.out);
            self.count(r);
        }
    }

    /// End-of-RIB for the unicast families of a session (RFC 4724 §2).
    pub fn end_of_rib(&mut self, families: &[(Afi, Safi)]) {
        for (afi, safi) in families {
            if *safi == Safi::UNICAST && (*afi == Afi::IPV4 || *afi == Afi::IPV6) {
                let m = Message::Update(Update::end_of_rib(*afi, *safi));
                let r = m.encode(&self.codec, &mut self.out).map(|()| 1);
                self.count(r);
            }
        }
    }

    /// The encoded messages in pieces, none when nothing was encoded.
    pub fn finish(mut self) -> Vec<Encoded> {
        self.cut();
        self.done
    }
}

/// `announce`'s prefixes grouped by set, each set's in the order given (a
/// counting sort: two passes, no comparisons), and where each set's run
/// starts (`sets + 1` offsets; set `i` is `starts[i]..starts[i + 1]`).
pub fn by_set(announce: &[(u32, Prefix)], sets: usize) -> (Vec<AddPathPrefix>, Vec<usize>) {
    let mut starts = vec![0usize; sets + 1];
    for (set, _) in announce {
        starts[*set as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let Some(&(_, any)) = announce.first() else {
        return (Vec::new(), starts);
    };
    let mut flat = vec![AddPathPrefix::new(any); announce.len()];
    let mut next = starts.clone();
    for &(set, prefix) in announce {
        let at = &mut next[set as usize];
        flat[*at] = AddPathPrefix::new(prefix);
        *at += 1;
    }
    (flat, starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::wire::nlri::p;

    #[test]
    fn by_set_groups_the_prefixes_of_each_set_in_their_order() {
        let announce = [
            (1, p("10.0.1.0/24")),
            (0, p("10.0.0.0/24")),
            (1, p("10.0.2.0/24")),
            (3, p("10.0.3.0/24")),
            (0, p("10.0.4.0/24")),
        ];
        let (flat, starts) = by_set(&announce, 4);
        let got: Vec<Prefix> = flat.iter().map(|a| a.prefix).collect();
        let want: Vec<Prefix> = [
            "10.0.0.0/24",
            "10.0.4.0/24",
            "10.0.1.0/24",
            "10.0.2.0/24",
            "10.0.3.0/24",
        ]
        .into_iter()
        .map(p)
        .collect();
        assert_eq!(got, want);
        assert_eq!(starts, vec![0, 2, 4, 4, 5], "set 2 has an empty run");
        assert!(flat.iter().all(|a| a.path_id.is_none()));
        let (flat, starts) = by_set(&[], 2);
        assert!(flat.is_empty());
        assert_eq!(starts, vec![0, 0, 0]);
    }
}
