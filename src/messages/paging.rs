//! Paging of the large read views (`GET /api/v1/routes`,
//! `GET /api/v1/neighbors/{name}/adj-rib-out`): the total order over
//! routes, the opaque cursor that names a position in it, the page-size
//! limits, and the query and answer types that cross from the API to the
//! route engine (`Query::RoutesPage`, `Query::AdjRibOut`). Pure; no I/O.
//!
//! A cursor is the key of the last route a page returned, never an offset:
//! the next page holds the routes whose keys are greater. Routes added or
//! withdrawn between two pages therefore never shift the others, so every
//! route present for the whole walk is returned exactly once (README,
//! "Ask it what it sees").

use super::views::RouteView;
use crate::wire::Prefix;
use std::cmp::Ordering;
use thiserror::Error;

/// The most routes one answer holds: a 1M-route table is never one
/// response. Also the page size when a request gives no `limit`.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// The version tag at the start of every cursor (so a later format can
/// refuse an old cursor precisely instead of misreading it).
const CURSOR_VERSION: &str = "c1";

/// The position of one route in the total order the pages follow: prefix
/// (IPv4 before IPv6, then by address, then by length), then neighbor
/// name. The Adj-RIB-In holds at most one path per (prefix, neighbor), so
/// the key is unique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteKey {
    pub prefix: Prefix,
    pub neighbor: String,
}

impl RouteKey {
    pub fn new(prefix: Prefix, neighbor: impl Into<String>) -> Self {
        RouteKey {
            prefix: prefix.trunc(),
            neighbor: neighbor.into(),
        }
    }

    /// Compares with a key given as parts, without building one.
    pub fn cmp_parts(&self, prefix: &Prefix, neighbor: &str) -> Ordering {
        self.prefix
            .cmp(prefix)
            .then_with(|| self.neighbor.as_str().cmp(neighbor))
    }

    /// The opaque text form used in `after=` and `X-Next-Cursor`: URL-safe
    /// (lowercase hex of a versioned record), never to be built by hand.
    pub fn encode(&self) -> String {
        let plain = format!("{CURSOR_VERSION}\n{}\n{}", self.prefix, self.neighbor);
        let mut out = String::with_capacity(plain.len() * 2);
        for b in plain.bytes() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out
    }

    /// Parses a cursor given by a client.
    pub fn decode(text: &str) -> Result<RouteKey, CursorError> {
        if text.is_empty() {
            return Err(CursorError::Empty);
        }
        if !text.len().is_multiple_of(2) {
            return Err(CursorError::NotHex);
        }
        let mut bytes = Vec::with_capacity(text.len() / 2);
        for pair in text.as_bytes().chunks(2) {
            let hi = hex_value(pair[0]).ok_or(CursorError::NotHex)?;
            let lo = hex_value(pair[1]).ok_or(CursorError::NotHex)?;
            bytes.push(hi << 4 | lo);
        }
        let plain = String::from_utf8(bytes).map_err(|_| CursorError::Garbled)?;
        let mut parts = plain.splitn(3, '\n');
        let (Some(version), Some(prefix), Some(neighbor)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(CursorError::Garbled);
        };
        if version != CURSOR_VERSION {
            return Err(CursorError::Version);
        }
        let prefix: Prefix = prefix.parse().map_err(|_| CursorError::Garbled)?;
        Ok(RouteKey::new(prefix, neighbor))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Why an `after=` cursor was refused (a 400 naming the parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CursorError {
    #[error("empty cursor")]
    Empty,
    #[error("not a cursor (expected the X-Next-Cursor of a previous page)")]
    NotHex,
    #[error("not a cursor this daemon issued (expected the X-Next-Cursor of a previous page)")]
    Garbled,
    #[error("a cursor of another version of the API; start again without after=")]
    Version,
}

/// Which routes `/api/v1/routes` and a page list by status (`status=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Accepted and not stale (the default).
    #[default]
    Accepted,
    /// Only routes import policy rejected.
    Rejected,
    /// Only stale routes (graceful restart, RFC 4724).
    Stale,
    /// Everything in the Adj-RIB-In.
    All,
}

impl StatusFilter {
    /// The values `status=` accepts, for error messages.
    pub const VALUES: &'static str = "accepted, rejected, stale, all";

    /// `status=VALUE`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "accepted" => Some(Self::Accepted),
            "rejected" => Some(Self::Rejected),
            "stale" => Some(Self::Stale),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// Whether the engine must be asked for rejected and stale routes too.
    pub fn needs_all(self) -> bool {
        self != Self::Accepted
    }

    /// Whether a path with these properties is listed.
    pub fn keeps(self, accepted: bool, stale: bool) -> bool {
        match self {
            StatusFilter::Accepted => accepted && !stale,
            StatusFilter::Rejected => !accepted,
            StatusFilter::Stale => accepted && stale,
            StatusFilter::All => true,
        }
    }

    /// The same test on a route view's `status` field.
    pub fn keeps_status(self, status: &str) -> bool {
        match self {
            StatusFilter::Accepted => status == "accepted",
            StatusFilter::Rejected => status == "rejected",
            StatusFilter::Stale => status == "stale",
            StatusFilter::All => true,
        }
    }
}

/// One page of `GET /api/v1/routes` (`Query::RoutesPage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutesQuery {
    /// Only this prefix (exact), or with `longest` the most specific prefix
    /// that covers it and has paths.
    pub prefix: Option<Prefix>,
    pub longest: bool,
    pub status: StatusFilter,
    /// Only the paths received from this neighbor (by name).
    pub neighbor: Option<String>,
    /// Only routes after this key.
    pub after: Option<RouteKey>,
    /// At most this many routes (1..=[`MAX_PAGE_SIZE`]).
    pub limit: usize,
}

impl Default for RoutesQuery {
    fn default() -> Self {
        RoutesQuery {
            prefix: None,
            longest: false,
            status: StatusFilter::Accepted,
            neighbor: None,
            after: None,
            limit: MAX_PAGE_SIZE,
        }
    }
}

/// One page of routes and where the next starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutePage {
    pub routes: Vec<RouteView>,
    /// The key of the last route listed when more routes follow it
    /// (`None`: this was the last page).
    pub next: Option<RouteKey>,
}

/// Selects one page from routes in any order: those after `after`, the
/// `limit` smallest keys, sorted, with the cursor of the next page. What
/// the engine does over its hash-table RIB, for callers that hold a list
/// (test fixtures, the Adj-RIB-Out).
pub fn page_of<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> RouteKey,
    after: Option<&RouteKey>,
    limit: usize,
) -> (Vec<T>, Option<RouteKey>) {
    let mut keyed: Vec<(RouteKey, T)> = items
        .into_iter()
        .map(|t| (key(&t), t))
        .filter(|(k, _)| after.is_none_or(|a| k > a))
        .collect();
    let limit = limit.max(1);
    let more = keyed.len() > limit;
    if more {
        keyed.select_nth_unstable_by(limit - 1, |a, b| a.0.cmp(&b.0));
        keyed.truncate(limit);
    }
    // Stable: items with equal keys (only in hand-made lists) keep their order.
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let next = if more {
        keyed.last().map(|(k, _)| k.clone())
    } else {
        None
    };
    (keyed.into_iter().map(|(_, t)| t).collect(), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::wire::nlri::p;

    #[test]
    fn the_order_is_prefix_then_neighbor_ipv4_first_shorter_first() {
        let mut keys = [
            RouteKey::new(p("2001:db8::/32"), "a"),
            RouteKey::new(p("10.0.0.0/16"), "b"),
            RouteKey::new(p("10.0.0.0/8"), "z"),
            RouteKey::new(p("10.0.0.0/16"), "a"),
            RouteKey::new(p("9.255.0.0/16"), "a"),
        ];
        keys.sort();
        let shown: Vec<String> = keys
            .iter()
            .map(|k| format!("{} {}", k.prefix, k.neighbor))
            .collect();
        assert_eq!(
            shown,
            [
                "9.255.0.0/16 a",
                "10.0.0.0/8 z",
                "10.0.0.0/16 a",
                "10.0.0.0/16 b",
                "2001:db8::/32 a"
            ]
        );
        assert_eq!(
            keys[2].cmp_parts(&p("10.0.0.0/16"), "b"),
            Ordering::Less,
            "cmp_parts agrees with Ord"
        );
    }

    #[test]
    fn a_cursor_round_trips_and_is_url_safe() {
        let k = RouteKey::new(p("203.0.113.7/24"), "contoso ams/er1 é");
        let c = k.encode();
        assert!(c.bytes().all(|b| b.is_ascii_hexdigit()), "{c}");
        assert_eq!(RouteKey::decode(&c), Ok(k.clone()));
        assert_eq!(k.prefix, p("203.0.113.0/24"), "host bits cleared");
        assert_eq!(RouteKey::decode(&c.to_uppercase()), Ok(k));
    }

    #[test]
    fn bad_cursors_are_refused_with_a_precise_error() {
        assert_eq!(RouteKey::decode(""), Err(CursorError::Empty));
        assert_eq!(RouteKey::decode("abc"), Err(CursorError::NotHex));
        assert_eq!(RouteKey::decode("zz"), Err(CursorError::NotHex));
        assert_eq!(RouteKey::decode("ffff"), Err(CursorError::Garbled));
        let no_prefix = RouteKey::new(p("10.0.0.0/8"), "x")
            .encode()
            .replace("31302e302e302e302f38", "31302e302e302e302f3939");
        assert_eq!(RouteKey::decode(&no_prefix), Err(CursorError::Garbled));
        let v9 = RouteKey::new(p("10.0.0.0/8"), "x")
            .encode()
            .replacen("6331", "6339", 1);
        assert_eq!(RouteKey::decode(&v9), Err(CursorError::Version));
        // "1" then a newline only: too few parts.
        assert_eq!(RouteKey::decode("630a"), Err(CursorError::Garbled));
    }

    #[test]
    fn pages_cover_every_key_once_in_order() {
        let items: Vec<RouteKey> = (0..50u32)
            .rev()
            .flat_map(|i| {
                let net = p(&format!("10.{}.0.0/16", i));
                [RouteKey::new(net, "b"), RouteKey::new(net, "a")]
            })
            .collect();
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let (page, next) = page_of(items.clone(), |k| k.clone(), after.as_ref(), 7);
            pages += 1;
            assert!(page.len() <= 7);
            seen.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let mut want = items.clone();
        want.sort();
        assert_eq!(seen, want);
        assert_eq!(pages, 15, "100 routes by 7: 14 full pages and one of 2");
    }

    #[test]
    fn a_page_that_ends_exactly_at_the_end_says_there_is_no_next() {
        let items: Vec<RouteKey> = (0..4u32)
            .map(|i| RouteKey::new(p(&format!("10.{i}.0.0/16")), "a"))
            .collect();
        let (page, next) = page_of(items, |k| k.clone(), None, 4);
        assert_eq!(page.len(), 4);
        assert_eq!(next, None);
    }

    #[test]
    fn routes_added_and_withdrawn_between_pages_do_not_move_the_others() {
        // Keys 0..100 present throughout; between pages, keys before and
        // after the cursor come and go.
        let stable: Vec<RouteKey> = (0..100u32)
            .map(|i| RouteKey::new(p(&format!("10.{i}.0.0/16")), "stable"))
            .collect();
        let mut seen = Vec::new();
        let mut after: Option<RouteKey> = None;
        let mut round = 0u32;
        loop {
            let churn: Vec<RouteKey> = (0..100u32)
                .filter(|i| (i + round).is_multiple_of(3))
                .map(|i| RouteKey::new(p(&format!("10.{i}.0.0/16")), "churn"))
                .collect();
            let all: Vec<RouteKey> = stable.iter().cloned().chain(churn).collect();
            let (page, next) = page_of(all, |k| k.clone(), after.as_ref(), 9);
            seen.extend(page);
            round += 1;
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let stable_seen: Vec<&RouteKey> = seen.iter().filter(|k| k.neighbor == "stable").collect();
        assert_eq!(stable_seen.len(), 100, "every stable route exactly once");
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "no duplicates");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
    }

    #[test]
    fn status_filter_matches_flags_and_view_status() {
        assert!(StatusFilter::Accepted.keeps(true, false));
        assert!(!StatusFilter::Accepted.keeps(true, true));
        assert!(StatusFilter::Stale.keeps(true, true));
        assert!(StatusFilter::Rejected.keeps(false, false));
        assert!(StatusFilter::All.keeps(false, true));
        assert!(StatusFilter::Rejected.keeps_status("rejected"));
        assert!(!StatusFilter::Accepted.keeps_status("stale"));
    }
}
