//! [`Encoded`]: UPDATE messages for one session's negotiated [`Codec`], as
//! the route engine hands them to the session tasks (`ToPeer::Wire`).
//!
//! A piece is either bytes already encoded (a ROUTE-REFRESH marker, a test's
//! message) or a [`Job`]: the export's attribute sets with their prefixes,
//! encoded by whichever session task sends it first, once, and shared by
//! every member of the update group (they hold the same `Arc`). Encoding is
//! thus done off the engine's task, on the other cores, while the engine
//! goes on with the next UPDATEs; the bytes are the ones the engine would
//! have made (same builder, same order).

use crate::wire::update::UpdateBuilder;
use crate::wire::{
    AddPathPrefix, Afi, Codec, DecodeError, EncodeError, Message, PathAttributes, Safi, Update,
};
use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Mutex, OnceLock};

/// UPDATE messages for one session's codec: bytes, or a job to encode.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The codec they are (or will be) encoded with.
    pub codec: Codec,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Ready { bytes: Bytes, messages: u64 },
    Lazy(Arc<Lazy>),
}

#[derive(Debug)]
struct Lazy {
    /// Taken (and freed) by the encoding.
    job: Mutex<Option<Job>>,
    /// About how many bytes of memory the job holds (the engine's backlog
    /// is bounded by what its pieces hold).
    held: usize,
    done: OnceLock<(Bytes, u64)>,
}

/// An attribute set in a [`Job`]: the export's own copy, or one shared
/// with the engine's interner.
#[derive(Debug)]
pub enum SetRef {
    Owned(PathAttributes),
    Shared(Arc<PathAttributes>),
}

impl std::ops::Deref for SetRef {
    type Target = PathAttributes;
    fn deref(&self) -> &PathAttributes {
        match self {
            SetRef::Owned(a) => a,
            SetRef::Shared(a) => a,
        }
    }
}

/// One step of a [`Job`], encoded in order.
#[derive(Debug)]
pub enum Step {
    /// Withdraw these prefixes.
    Withdraw(Vec<AddPathPrefix>),
    /// Announce set `sets[i]` with `prefixes[starts[i]..starts[i + 1]]`.
    Announce {
        sets: Vec<SetRef>,
        prefixes: Vec<AddPathPrefix>,
        starts: Vec<usize>,
    },
    /// End-of-RIB for these families (RFC 4724 §2; the `Outbox` puts only
    /// IPv4 and IPv6 unicast here).
    EndOfRib(Vec<(Afi, Safi)>),
}

/// What to encode: steps in order.
#[derive(Debug, Default)]
pub struct Job {
    pub steps: Vec<Step>,
}

impl Job {
    /// The UPDATEs of the job for `codec`, and how many messages they are.
    /// A route whose attributes do not fit the session's largest message
    /// is withdrawn instead (RFC 8654 §4): the neighbor must not keep an
    /// older version of it. A set the codec cannot carry at all (e.g. an
    /// IPv6 prefix without an IPv6 next hop) is skipped, loudly.
    pub fn encode(&self, codec: Codec) -> (Bytes, u64) {
        let builder = UpdateBuilder::new(codec);
        let mut out = BytesMut::new();
        let mut messages = 0u64;
        let mut count = |r: Result<usize, EncodeError>| match r {
            Ok(n) => messages += n as u64,
            Err(e) => tracing::warn!(error = %e, "cannot encode UPDATE; skipped"),
        };
        for step in &self.steps {
            match step {
                Step::Withdraw(ps) if !ps.is_empty() => count(builder.withdraw(ps, &mut out)),
                Step::Withdraw(_) => {}
                Step::Announce {
                    sets,
                    prefixes,
                    starts,
                } => {
                    for (set, run) in sets.iter().zip(starts.windows(2)) {
                        let Some(ps) = prefixes.get(run[0]..run[1]).filter(|p| !p.is_empty())
                        else {
                            continue;
                        };
                        match builder.announce(set, None, ps, &mut out) {
                            Err(EncodeError::TooLong(len, max)) => {
                                tracing::warn!(
                                    len,
                                    max,
                                    prefixes = ps.len(),
                                    "route too big for this neighbor's messages: withdrawn instead (RFC 8654 §4)"
                                );
                                count(builder.withdraw(ps, &mut out));
                            }
                            r => count(r),
                        }
                    }
                }
                Step::EndOfRib(families) => {
                    for &(afi, safi) in families {
                        let eor = Update::end_of_rib(afi, safi);
                        count(eor.encode(&codec, &mut out).map(|()| 1));
                    }
                }
            }
        }
        (out.freeze(), messages)
    }
}

impl Encoded {
    /// Messages already encoded: `messages` of them in `bytes`.
    pub fn ready(bytes: Bytes, messages: u64, codec: Codec) -> Self {
        Encoded {
            codec,
            body: Body::Ready { bytes, messages },
        }
    }

    /// A job to encode when first sent; `held` is about the memory it
    /// holds, in bytes.
    pub fn lazy(job: Job, held: usize, codec: Codec) -> Self {
        Encoded {
            codec,
            body: Body::Lazy(Arc::new(Lazy {
                job: Mutex::new(Some(job)),
                held,
                done: OnceLock::new(),
            })),
        }
    }

    fn get(&self) -> (&Bytes, u64) {
        match &self.body {
            Body::Ready { bytes, messages } => (bytes, *messages),
            Body::Lazy(l) => {
                let (b, n) = l.done.get_or_init(|| {
                    // The first caller encodes (the others wait on the
                    // OnceLock), and the job goes with it.
                    let job = l.job.lock().ok().and_then(|mut j| j.take());
                    job.map_or_else(|| (Bytes::new(), 0), |j| j.encode(self.codec))
                });
                (b, *n)
            }
        }
    }

    /// The encoded messages (encoding them now if nobody has yet).
    pub fn bytes(&self) -> &Bytes {
        self.get().0
    }

    /// How many messages [`Encoded::bytes`] holds.
    pub fn messages(&self) -> u64 {
        self.get().1
    }

    /// The memory it holds, in bytes: its encoded size, or about what
    /// the job holds while not yet encoded (never encodes).
    pub fn len_hint(&self) -> usize {
        match &self.body {
            Body::Ready { bytes, .. } => bytes.len(),
            Body::Lazy(l) => l.done.get().map_or(l.held, |(b, _)| b.len()),
        }
    }

    /// The messages decoded back (tests and diagnostics).
    pub fn updates(&self) -> Result<Vec<Update>, DecodeError> {
        let mut rest = &self.bytes()[..];
        let mut out = Vec::new();
        while let Some(len) = crate::wire::frame_len(rest, &self.codec)? {
            if let Message::Update(u) = Message::decode(&rest[..len], &self.codec)? {
                out.push(*u);
            }
            rest = &rest[len..];
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::nlri::p;
    use crate::wire::{AsPath, Origin};

    fn attrs(hop: &str) -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![64500])),
            next_hop: hop.parse().ok(),
            ..Default::default()
        }
    }

    #[test]
    fn a_job_encodes_once_in_order_and_shares_its_bytes() {
        let ap = |s: &str| AddPathPrefix::new(p(s));
        let job = Job {
            steps: vec![
                Step::Withdraw(vec![ap("10.9.0.0/16")]),
                Step::Announce {
                    sets: vec![
                        SetRef::Owned(attrs("192.0.2.1")),
                        SetRef::Shared(Arc::new(attrs("192.0.2.2"))),
                    ],
                    prefixes: vec![ap("10.1.0.0/16"), ap("10.2.0.0/16"), ap("10.3.0.0/16")],
                    starts: vec![0, 2, 3],
                },
                Step::EndOfRib(vec![(Afi::IPV4, Safi::UNICAST)]),
            ],
        };
        let codec = Codec::default();
        let e = Encoded::lazy(job, 100, codec);
        let other = e.clone();
        assert_eq!(e.len_hint(), 100, "not encoded yet");
        let ups = e.updates().unwrap_or_default();
        assert_eq!(ups.len(), 4);
        assert_eq!(e.messages(), 4);
        assert_eq!(ups[0].withdrawn, vec![ap("10.9.0.0/16")]);
        assert_eq!(ups[1].nlri, vec![ap("10.1.0.0/16"), ap("10.2.0.0/16")]);
        assert_eq!(ups[1].attrs.next_hop, "192.0.2.1".parse().ok());
        assert_eq!(ups[2].nlri, vec![ap("10.3.0.0/16")]);
        assert_eq!(ups[3], Update::default(), "End-of-RIB last");
        assert_eq!(other.bytes().as_ptr(), e.bytes().as_ptr(), "encoded once");
        assert_eq!(other.len_hint(), e.bytes().len());
        let ready = Encoded::ready(e.bytes().clone(), 4, codec);
        assert_eq!(ready.updates().unwrap_or_default(), ups);
    }
}
