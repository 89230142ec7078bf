//! The `[events]` and `[analytics]` tables (the event log's file, the
//! route-leak detector's lists) and the AS-SET file a neighbor's
//! `customer_as_set_file` names. Plain data, read by `config::parse`;
//! the route engine and `crate::analytics` use the values.

use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::PathBuf;

/// The transit-free ("tier-1") networks: a peering-service provider's path
/// that carries one of them behind its first hop is a route leak (a
/// provider announces its own and its customers' routes, never its
/// upstreams'). The default of `[analytics] transit_free_asns`.
pub const DEFAULT_TRANSIT_FREE_ASNS: &[u32] = &[
    174, 701, 1239, 1299, 2914, 3257, 3320, 3356, 3491, 5511, 6453, 6461, 6762, 6830, 7018, 12956,
];

/// Default `[events] max_bytes`: the event file is rotated at 10 MiB.
pub const DEFAULT_EVENTS_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Smallest `[events] max_bytes` accepted (a few events per file).
pub const MIN_EVENTS_MAX_BYTES: u64 = 4096;
/// Default `[events] keep`: rotated files kept beside the current one.
pub const DEFAULT_EVENTS_KEEP: u32 = 5;
/// Largest `[events] keep` accepted.
pub const MAX_EVENTS_KEEP: u32 = 1000;

/// `[events]`: where the event log is kept beyond the daemon's memory.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Append-only JSON-lines file (one `/api/v1/events` item a line),
    /// relative to the config file; read back at start. None: the log
    /// lives in memory only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Size at which the file is rotated (`file` → `file.1` → …).
    #[serde(default = "default_events_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept (`file.1` … `file.KEEP`); 0 keeps none.
    #[serde(default = "default_events_keep")]
    pub keep: u32,
    /// `file` resolved against the config file's directory, filled in by
    /// `config::parse`; not a key of the file.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            file: None,
            max_bytes: DEFAULT_EVENTS_MAX_BYTES,
            keep: DEFAULT_EVENTS_KEEP,
            path: None,
        }
    }
}

fn default_events_max_bytes() -> u64 {
    DEFAULT_EVENTS_MAX_BYTES
}
fn default_events_keep() -> u32 {
    DEFAULT_EVENTS_KEEP
}

/// `[analytics]`: the route-leak detector's lists.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// Networks that buy no transit: seen behind a peering-service
    /// provider's own AS, a route leak. `[]` switches this check off.
    #[serde(default = "default_transit_free_asns")]
    pub transit_free_asns: Vec<u32>,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            transit_free_asns: default_transit_free_asns(),
        }
    }
}

fn default_transit_free_asns() -> Vec<u32> {
    DEFAULT_TRANSIT_FREE_ASNS.to_vec()
}

/// The ASNs of an AS-SET file (`customer_as_set_file`): either the JSON
/// `bgpq4 -j -t` writes (`{"NAME": [64500, 64501]}`), or text: ASNs as
/// `64500` or `AS64500`, separated by spaces, commas or newlines, `#`
/// starting a comment. Sorted, without duplicates. An error gives the byte
/// range of the offending token and what is wrong with it.
pub fn parse_as_set(text: &str) -> Result<Vec<u32>, (Option<Range<usize>>, String)> {
    let mut out = Vec::new();
    if text.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let offset = line_offset(text, e.line()) + e.column().saturating_sub(1);
            (Some(offset..offset + 1), format!("invalid JSON: {e}"))
        })?;
        let lists = v.as_object().map(|o| o.values().collect::<Vec<_>>());
        for list in lists.unwrap_or_default() {
            let Some(items) = list.as_array() else {
                return Err((None, "expected {\"NAME\": [ASN, ...]} (bgpq4 -j -t)".into()));
            };
            for item in items {
                match item.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => out.push(n),
                    None => return Err((None, format!("{item} is not an ASN (0..=4294967295)"))),
                }
            }
        }
    } else {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let body = line.split('#').next().unwrap_or("");
            let mut start = None;
            for (i, c) in body
                .char_indices()
                .chain(std::iter::once((body.len(), ' ')))
            {
                let sep = c.is_whitespace() || c == ',';
                match (sep, start) {
                    (false, None) => start = Some(i),
                    (true, Some(s)) => {
                        let token = &body[s..i];
                        let digits = token
                            .strip_prefix("AS")
                            .or_else(|| token.strip_prefix("as"))
                            .unwrap_or(token);
                        match digits.parse::<u32>() {
                            Ok(n) if digits.bytes().all(|b| b.is_ascii_digit()) => out.push(n),
                            _ => {
                                let set = token.to_ascii_uppercase().starts_with("AS-")
                                    || token.contains(':');
                                let why = match set {
                                    true => {
                                        "is an AS-SET, not an ASN: list its members \
                                             (bgpq4 -j -t expands it)"
                                    }
                                    false => "is not an ASN (write 64500 or AS64500)",
                                };
                                return Err((
                                    Some(offset + s..offset + i),
                                    format!("\"{token}\" {why}"),
                                ));
                            }
                        }
                        start = None;
                    }
                    _ => {}
                }
            }
            offset += line.len();
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Byte offset of the start of 1-based `line` in `text`.
fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_set_text_takes_plain_and_as_prefixed_numbers_with_comments() {
        let text = "# AS-CONTOSO, expanded\nAS64501 64502,as64503\n\n64501 # again\n";
        assert_eq!(parse_as_set(text), Ok(vec![64501, 64502, 64503]));
        assert_eq!(parse_as_set(""), Ok(vec![]));
    }

    #[test]
    fn as_set_json_is_what_bgpq4_writes() {
        let text = "{\"NN\": [64502, 64501, 64502]}";
        assert_eq!(parse_as_set(text), Ok(vec![64501, 64502]));
        assert!(parse_as_set("{\"NN\": [\"x\"]}").is_err());
        assert!(parse_as_set("{\"NN\": 7}").is_err());
    }

    #[test]
    fn a_bad_token_is_reported_at_its_bytes() {
        let text = "64501\n64502 AS6450x\n";
        let (span, msg) = parse_as_set(text).unwrap_err();
        assert_eq!(span, Some(12..19));
        assert_eq!(msg, "\"AS6450x\" is not an ASN (write 64500 or AS64500)");
        let (_, msg) = parse_as_set("AS-FOO").unwrap_err();
        assert_eq!(
            msg,
            "\"AS-FOO\" is an AS-SET, not an ASN: list its members (bgpq4 -j -t expands it)"
        );
        assert!(parse_as_set("4294967296").is_err(), "beyond 32 bits");
        assert!(parse_as_set("+5").is_err());
    }
}
