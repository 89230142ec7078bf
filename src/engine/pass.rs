//! What one call into the engine changed (`Pass`), collected as the
//! import, session and reload steps run and settled once at the call's end,
//! and the messages it produced for the session tasks ([`Output`]).

use crate::messages::{NeighborName, ToPeer};
use crate::rib::NeighborIdx;
use crate::wire::Prefix;

/// The prefixes a pass changed: a set, plus at most one list of distinct
/// prefixes added without hashing them (a neighbor's whole table when its
/// session goes down: inserting a million prefixes into the set was a
/// third of the time until the internal neighbors had the withdrawals).
/// IPv4 prefixes are kept in the set as one `u64` each ([`v4_key`]): an
/// 8-byte entry hashed in one step, where the `IpNet` took 20 bytes and
/// three hashing steps for every prefix of a full table.
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    v4: hashbrown::HashSet<u64>,
    v6: hashbrown::HashSet<Prefix>,
    bulk: Vec<Prefix>,
}

/// An IPv4 prefix as the set keeps it: its address (host bits and all,
/// as it was added) above its length.
fn v4_key(net: &ipnet::Ipv4Net) -> u64 {
    (u64::from(u32::from(net.addr())) << 8) | u64::from(net.prefix_len())
}

/// The prefix [`v4_key`] made `k` from.
fn from_v4_key(k: u64) -> Prefix {
    let addr = std::net::Ipv4Addr::from((k >> 8) as u32);
    // The length came from a valid prefix: never over 32.
    Prefix::V4(ipnet::Ipv4Net::new(addr, (k & 0xff) as u8).unwrap_or_default())
}

impl Dirty {
    /// Adds one prefix.
    pub fn insert(&mut self, p: Prefix) {
        match p {
            Prefix::V4(net) => {
                self.v4.insert(v4_key(&net));
            }
            Prefix::V6(_) => {
                self.v6.insert(p);
            }
        }
    }

    /// Adds `prefixes`, which the caller knows to be distinct from each
    /// other (they may repeat ones added before).
    pub fn extend_distinct(&mut self, prefixes: Vec<Prefix>) {
        if self.bulk.is_empty() {
            self.bulk = prefixes;
        } else {
            for p in prefixes {
                self.insert(p);
            }
        }
    }

    /// True when the set (not the list) holds `p`.
    fn in_set(&self, p: &Prefix) -> bool {
        match p {
            Prefix::V4(net) => self.v4.contains(&v4_key(net)),
            Prefix::V6(_) => self.v6.contains(p),
        }
    }

    /// Every prefix added (one may be seen twice).
    pub fn iter(&self) -> impl Iterator<Item = Prefix> + '_ {
        self.v4
            .iter()
            .map(|&k| from_v4_key(k))
            .chain(self.v6.iter().copied())
            .chain(self.bulk.iter().copied())
    }

    /// Every prefix added, once each; leaves the set empty (keeping its
    /// room for the next pass: see [`Dirty::recycle`]).
    pub fn take(&mut self) -> Vec<Prefix> {
        let mut all = std::mem::take(&mut self.bulk);
        if !self.v4.is_empty() || !self.v6.is_empty() {
            all.retain(|p| !self.in_set(p));
            all.extend(self.v4.drain().map(from_v4_key));
            all.extend(self.v6.drain());
        }
        all
    }

    /// A set for a new pass with the room of this emptied one: passes of
    /// UPDATEs grow it to about the same size every time, and growing it
    /// from nothing (rehashing at each doubling) was half its cost. A set
    /// a rare big pass made large is not kept.
    pub fn recycle(mut self) -> Self {
        self.v4.clear();
        self.v6.clear();
        self.bulk = Vec::new();
        if self.v4.capacity() > KEEP_ROOM {
            self.v4 = Default::default();
        }
        if self.v6.capacity() > KEEP_ROOM {
            self.v6 = Default::default();
        }
        self
    }
}

/// The most prefixes of room [`Dirty::recycle`] keeps.
const KEEP_ROOM: usize = 1 << 16;

/// One output: a message for the session task of a neighbor.
pub type Output = (NeighborName, ToPeer);

/// What one call changed, settled at its end.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    /// Prefixes whose paths changed.
    pub dirty: Dirty,
    /// Re-export everything to every established neighbor.
    pub full: bool,
    /// Sessions that came up and get the initial dump plus End-of-RIB.
    pub dumps: Vec<NeighborIdx>,
    /// Neighbors whose counters changed (metrics).
    pub touched: hashbrown::HashSet<NeighborIdx>,
    /// Every decision must be recomputed (sessions, BFD, reload).
    pub all_decisions: bool,
    pub outputs: Vec<Output>,
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::wire::nlri::p;

    #[test]
    fn dirty_prefixes_come_out_once_each_however_they_were_added() {
        let mut d = Dirty::default();
        d.insert(p("10.0.0.0/8"));
        d.extend_distinct(vec![p("10.0.0.0/8"), p("10.1.0.0/16"), p("10.2.0.0/16")]);
        // A second list may repeat the first: it goes through the set.
        d.extend_distinct(vec![p("10.2.0.0/16"), p("10.3.0.0/16")]);
        d.insert(p("10.1.0.0/16"));
        assert_eq!(d.iter().count(), 7, "iter may repeat");
        let mut all = d.take();
        all.sort();
        let want: Vec<Prefix> = ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]
            .into_iter()
            .map(p)
            .collect();
        assert_eq!(all, want);
        assert!(d.take().is_empty(), "take empties it");
        let d = d.recycle();
        assert_eq!(d.iter().count(), 0, "a recycled set is empty");
    }

    #[test]
    fn both_families_come_out_exactly_as_added() {
        let mut d = Dirty::default();
        // Host bits, /0, /32 and IPv6 beside IPv4: each comes back as it went in.
        let added = [
            "10.0.0.1/8",
            "0.0.0.0/0",
            "255.255.255.255/32",
            "2001:db8::/32",
            "::/0",
        ]
        .map(p);
        for x in added {
            d.insert(x);
            d.insert(x);
        }
        d.extend_distinct(vec![p("2001:db8::/32"), p("192.0.2.0/24")]);
        let mut want = added.to_vec();
        want.push(p("192.0.2.0/24"));
        want.sort();
        let mut seen: Vec<Prefix> = d.iter().collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, want);
        let mut all = d.take();
        all.sort();
        assert_eq!(all, want, "once each");
    }

    #[test]
    fn recycling_keeps_a_pass_sized_room_and_drops_an_outsized_one() {
        let fill = |d: &mut Dirty, n: u32| {
            for i in 0..n {
                d.insert(Prefix::V4(
                    ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(i << 8), 24).unwrap_or_default(),
                ));
            }
        };
        let mut d = Dirty::default();
        fill(&mut d, 5_000);
        assert_eq!(d.take().len(), 5_000);
        let room = d.v4.capacity();
        let d = d.recycle();
        assert!(d.v4.is_empty() && d.bulk.is_empty());
        assert_eq!(d.v4.capacity(), room, "the room stays for the next pass");
        let mut d = d;
        fill(&mut d, KEEP_ROOM as u32 + 1);
        assert_eq!(d.take().len(), KEEP_ROOM + 1);
        assert!(d.v4.capacity() > KEEP_ROOM);
        let d = d.recycle();
        assert_eq!(d.v4.capacity(), 0, "a set over KEEP_ROOM is dropped");
    }
}
