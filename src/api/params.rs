//! Query-string parsing for the API endpoints: pure functions, no I/O.
//!
//! Run inside the axum handlers (`super::handlers`) on the raw query string.
//! Every malformed input becomes a [`ParamError`] that names the parameter
//! and the offending value, so an operator's typo gets a precise 400 instead
//! of a silently wrong answer.

use crate::messages::paging::{CursorError, RouteKey, MAX_PAGE_SIZE};
use ipnet::IpNet;
use std::net::IpAddr;
use thiserror::Error;

/// Why a query string was refused (rendered as the `error` of a 400 reply).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamError {
    /// A parameter this endpoint does not know.
    #[error("unknown query parameter \"{name}\" (this endpoint accepts: {accepted})")]
    Unknown { name: String, accepted: String },
    /// The same parameter given twice.
    #[error("query parameter \"{name}\" given more than once")]
    Repeated { name: String },
    /// A value that does not parse.
    #[error("query parameter \"{name}\": invalid value \"{value}\": {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: &'static str,
    },
    /// A request header whose value does not parse.
    #[error("header {name}: invalid value \"{value}\": {why}")]
    InvalidHeader {
        name: &'static str,
        value: String,
        why: &'static str,
    },
    /// A `%` escape that is not two hex digits, or bytes that are not UTF-8.
    #[error("query string is not valid percent-encoded UTF-8 near \"{0}\"")]
    Encoding(String),
}

pub use crate::messages::paging::StatusFilter;

/// Parsed parameters of `GET /api/v1/routes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutesParams {
    /// Only routes for this prefix (host bits cleared).
    pub prefix: Option<IpNet>,
    pub status: StatusFilter,
    /// `match=longest`: the most specific route covering `prefix`
    /// (default `match=exact`).
    pub longest: bool,
    /// `neighbor=NAME`: only the paths received from this neighbor.
    pub neighbor: Option<String>,
    /// `after=CURSOR`: the page after this cursor (`X-Next-Cursor`).
    pub after: Option<RouteKey>,
    /// `limit=N`: at most N routes (1..=[`MAX_PAGE_SIZE`]).
    pub limit: Option<usize>,
}

/// Parsed paging parameters (`limit`, `after`) of a paged endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageParams {
    pub after: Option<RouteKey>,
    pub limit: Option<usize>,
}

/// `limit=N`: a page size from 1 to [`MAX_PAGE_SIZE`].
fn parse_limit(value: String) -> Result<usize, ParamError> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(ParamError::Invalid {
            name: "limit",
            value,
            why: "expected a page size from 1 to 10000",
        }),
    }
}

/// `after=CURSOR`: a cursor a previous page gave in `X-Next-Cursor`.
fn parse_after(value: String) -> Result<RouteKey, ParamError> {
    RouteKey::decode(value.trim()).map_err(|e| ParamError::Invalid {
        name: "after",
        value,
        why: match e {
            CursorError::Empty => "empty cursor",
            CursorError::NotHex | CursorError::Garbled => {
                "not a cursor this daemon issued (use the X-Next-Cursor of the previous page)"
            }
            CursorError::Version => {
                "a cursor of another version of the API (start again without after=)"
            }
        },
    })
}

/// Parses the parameters of a paged endpoint without filters:
/// `limit=N`, `after=CURSOR`.
pub fn page(query: Option<&str>) -> Result<PageParams, ParamError> {
    let mut out = PageParams::default();
    for (name, value) in pairs(query, &["limit", "after"])? {
        match name.as_str() {
            "limit" => out.limit = Some(parse_limit(value)?),
            _ => out.after = Some(parse_after(value)?),
        }
    }
    Ok(out)
}

/// Parsed parameters of `GET /api/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventsParams {
    /// Only events with a sequence number above this.
    pub since: u64,
}

/// Parsed parameters of `GET /api/v1/audit`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditParams {
    /// Only this partner (peer ASN); every partner when absent.
    pub peer_asn: Option<u32>,
}

/// Parses `/api/v1/audit` parameters: `peer_asn=N` (`AS` prefix allowed).
pub fn audit(query: Option<&str>) -> Result<AuditParams, ParamError> {
    let mut out = AuditParams::default();
    for (_, value) in pairs(query, &["peer_asn"])? {
        let v = value.trim();
        let digits = v
            .strip_prefix("AS")
            .or_else(|| v.strip_prefix("as"))
            .unwrap_or(v);
        out.peer_asn = Some(digits.parse().map_err(|_| ParamError::Invalid {
            name: "peer_asn",
            value,
            why: "expected an AS number (0..=4294967295, e.g. 64500 or AS64500)",
        })?);
    }
    Ok(out)
}

/// Parses `/api/v1/routes` parameters: `prefix=P`, `status=accepted|rejected|stale|all`,
/// `match=exact|longest`, `neighbor=NAME`, `limit=N`, `after=CURSOR`.
pub fn routes(query: Option<&str>) -> Result<RoutesParams, ParamError> {
    let mut out = RoutesParams::default();
    let accepted = ["prefix", "status", "match", "neighbor", "limit", "after"];
    for (name, value) in pairs(query, &accepted)? {
        match name.as_str() {
            "prefix" => out.prefix = Some(parse_prefix(&value)?),
            "neighbor" if value.is_empty() => {
                return Err(ParamError::Invalid {
                    name: "neighbor",
                    value,
                    why: "expected a neighbor name",
                })
            }
            "neighbor" => out.neighbor = Some(value),
            "limit" => out.limit = Some(parse_limit(value)?),
            "after" => out.after = Some(parse_after(value)?),
            "match" => {
                out.longest = match value.as_str() {
                    "exact" => false,
                    "longest" => true,
                    _ => {
                        return Err(ParamError::Invalid {
                            name: "match",
                            value,
                            why: "expected exact or longest",
                        })
                    }
                }
            }
            _ => {
                out.status = StatusFilter::parse(&value).ok_or(ParamError::Invalid {
                    name: "status",
                    value,
                    why: "expected one of accepted, rejected, stale, all",
                })?
            }
        }
    }
    Ok(out)
}

/// Parses `/api/v1/events` parameters: `since=SEQ`.
pub fn events(query: Option<&str>) -> Result<EventsParams, ParamError> {
    let mut out = EventsParams::default();
    for (_, value) in pairs(query, &["since"])? {
        out.since = value.parse().map_err(|_| ParamError::Invalid {
            name: "since",
            value,
            why: "expected an event sequence number (unsigned integer)",
        })?;
    }
    Ok(out)
}

/// Parsed parameters of `GET /api/v1/events/stream`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamParams {
    /// Start with the kept events after this sequence number (absent: only
    /// new events).
    pub since: Option<u64>,
}

/// Parses `/api/v1/events/stream` parameters: `since=SEQ`.
pub fn stream(query: Option<&str>) -> Result<StreamParams, ParamError> {
    let since = match query.filter(|q| !q.is_empty()) {
        Some(_) => Some(events(query)?.since),
        None => None,
    };
    Ok(StreamParams { since })
}

/// The `Last-Event-ID` header of a reconnecting event stream: one of our
/// sequence numbers.
pub fn last_event_id(value: &[u8]) -> Result<u64, ParamError> {
    let text = String::from_utf8_lossy(value).trim().to_string();
    text.parse().map_err(|_| ParamError::InvalidHeader {
        name: "Last-Event-ID",
        value: text,
        why: "expected an event sequence number (unsigned integer)",
    })
}

/// Refuses any parameter: for endpoints that take none.
pub fn none(query: Option<&str>) -> Result<(), ParamError> {
    pairs(query, &[]).map(|_| ())
}

/// Decodes `a=b&c=d` into pairs, refusing unknown and repeated names.
fn pairs(query: Option<&str>, accepted: &[&str]) -> Result<Vec<(String, String)>, ParamError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = part.split_once('=').unwrap_or((part, ""));
        let name = percent_decode(raw_name)?;
        let value = percent_decode(raw_value)?;
        if !accepted.contains(&name.as_str()) {
            let accepted = if accepted.is_empty() {
                "none".to_string()
            } else {
                accepted.join(", ")
            };
            return Err(ParamError::Unknown { name, accepted });
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(ParamError::Repeated { name });
        }
        out.push((name, value));
    }
    Ok(out)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn percent_decode(s: &str) -> Result<String, ParamError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ParamError::Encoding(s.to_string()))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ParamError::Encoding(s.to_string()))
}

/// An IP prefix such as `203.0.113.0/24`; a bare address means its host
/// route. Host bits are cleared (`203.0.113.7/24` → `203.0.113.0/24`).
fn parse_prefix(value: &str) -> Result<IpNet, ParamError> {
    let v = value.trim();
    if let Ok(net) = v.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    if let Ok(addr) = v.parse::<IpAddr>() {
        return Ok(IpNet::from(addr));
    }
    Err(ParamError::Invalid {
        name: "prefix",
        value: value.to_string(),
        why: "expected an IP prefix such as 203.0.113.0/24 or 2001:db8::/32",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_without_parameters_mean_accepted_routes_of_every_prefix() {
        assert_eq!(routes(None), Ok(RoutesParams::default()));
        assert_eq!(routes(Some("")), Ok(RoutesParams::default()));
    }

    #[test]
    fn routes_prefix_is_parsed_and_host_bits_are_cleared() {
        let p = routes(Some("prefix=203.0.113.7%2F24&status=all")).map(|p| (p.prefix, p.status));
        let want: IpNet = "203.0.113.0/24".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(p, Ok((Some(want), StatusFilter::All)));
    }

    #[test]
    fn a_bare_address_means_its_host_route() {
        let p = routes(Some("prefix=2001:db8::1")).map(|p| p.prefix.map(|n| n.to_string()));
        assert_eq!(p, Ok(Some("2001:db8::1/128".to_string())));
    }

    #[test]
    fn bad_prefix_error_names_parameter_and_value() {
        let e = routes(Some("prefix=10.0.0.0/33")).map(|_| ()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("\"prefix\"") && msg.contains("\"10.0.0.0/33\""),
            "{msg}"
        );
    }

    #[test]
    fn unknown_status_value_is_refused_with_the_allowed_values() {
        let msg = routes(Some("status=best"))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("\"status\"") && msg.contains("\"best\""),
            "{msg}"
        );
        assert!(msg.contains("accepted, rejected, stale, all"), "{msg}");
    }

    #[test]
    fn match_selects_exact_or_longest() {
        assert_eq!(
            routes(Some("prefix=10.0.0.0/8")).map(|p| p.longest),
            Ok(false)
        );
        assert_eq!(
            routes(Some("prefix=10.0.0.0/8&match=longest")).map(|p| p.longest),
            Ok(true)
        );
        assert!(routes(Some("match=nearest")).is_err());
    }

    #[test]
    fn unknown_parameter_is_refused_by_name() {
        let e = routes(Some("prefx=10.0.0.0/8")).map(|_| ()).unwrap_err();
        assert_eq!(
            e,
            ParamError::Unknown {
                name: "prefx".into(),
                accepted: "prefix, status, match, neighbor, limit, after".into()
            }
        );
    }

    #[test]
    fn repeated_parameter_is_refused() {
        let e = events(Some("since=1&since=2")).unwrap_err();
        assert_eq!(
            e,
            ParamError::Repeated {
                name: "since".into()
            }
        );
    }

    #[test]
    fn non_numeric_since_is_refused() {
        let msg = events(Some("since=abc")).unwrap_err().to_string();
        assert!(
            msg.contains("\"since\"") && msg.contains("\"abc\""),
            "{msg}"
        );
        assert!(events(Some("since=-1")).is_err());
        assert_eq!(events(Some("since=42")), Ok(EventsParams { since: 42 }));
    }

    #[test]
    fn broken_percent_escape_is_an_encoding_error() {
        assert!(matches!(
            routes(Some("prefix=%G1")),
            Err(ParamError::Encoding(_))
        ));
        assert!(matches!(
            routes(Some("prefix=%ff")),
            Err(ParamError::Encoding(_))
        ));
        assert!(matches!(
            routes(Some("prefix=%2")),
            Err(ParamError::Encoding(_))
        ));
    }

    #[test]
    fn endpoints_without_parameters_refuse_any() {
        assert_eq!(none(None), Ok(()));
        let msg = none(Some("x=1")).unwrap_err().to_string();
        assert!(
            msg.contains("\"x\"") && msg.contains("accepts: none"),
            "{msg}"
        );
    }

    #[test]
    fn audit_peer_asn_is_a_number_with_an_optional_as_prefix() {
        assert_eq!(audit(None), Ok(AuditParams::default()));
        assert_eq!(
            audit(Some("peer_asn=64500")).map(|p| p.peer_asn),
            Ok(Some(64500))
        );
        assert_eq!(
            audit(Some("peer_asn=AS8075")).map(|p| p.peer_asn),
            Ok(Some(8075))
        );
        let msg = audit(Some("peer_asn=4294967296")).unwrap_err().to_string();
        assert!(
            msg.contains("\"peer_asn\"") && msg.contains("\"4294967296\""),
            "{msg}"
        );
        assert!(audit(Some("asn=1")).is_err());
    }

    #[test]
    fn limit_is_a_page_size_within_the_maximum() {
        assert_eq!(routes(Some("limit=1")).map(|p| p.limit), Ok(Some(1)));
        assert_eq!(
            routes(Some("limit=10000")).map(|p| p.limit),
            Ok(Some(MAX_PAGE_SIZE))
        );
        for bad in ["0", "10001", "-1", "ten", ""] {
            let msg = routes(Some(&format!("limit={bad}")))
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains("\"limit\"") && msg.contains("from 1 to 10000"),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn after_takes_only_a_cursor_the_daemon_issued() {
        let k = RouteKey::new(
            "10.0.0.0/8".parse().unwrap_or_else(|_| unreachable!()),
            "n1",
        );
        let q = format!("after={}&neighbor=n1", k.encode());
        let p = routes(Some(&q));
        assert_eq!(p.clone().map(|p| p.after), Ok(Some(k)));
        assert_eq!(p.map(|p| p.neighbor), Ok(Some("n1".to_string())));
        let msg = routes(Some("after=xyz")).unwrap_err().to_string();
        assert!(
            msg.contains("\"after\"") && msg.contains("\"xyz\"") && msg.contains("X-Next-Cursor"),
            "{msg}"
        );
        assert!(routes(Some("neighbor=")).is_err());
        assert!(page(Some("limit=5&after=00")).is_err());
        assert_eq!(page(Some("limit=5")).map(|p| p.limit), Ok(Some(5)));
        assert!(page(Some("prefix=10.0.0.0/8")).is_err());
    }

    #[test]
    fn status_filter_keeps_matching_routes() {
        assert!(StatusFilter::Accepted.keeps_status("accepted"));
        assert!(!StatusFilter::Accepted.keeps_status("rejected"));
        assert!(StatusFilter::Rejected.keeps_status("rejected"));
        assert!(StatusFilter::Stale.keeps_status("stale"));
        assert!(StatusFilter::All.keeps_status("rejected"));
        assert!(!StatusFilter::Accepted.needs_all());
        assert!(StatusFilter::Rejected.needs_all());
    }
}
