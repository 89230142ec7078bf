//! The operator's read views that page or name one neighbor:
//! `GET /api/v1/routes` (paged), `GET /api/v1/neighbors/{name}`,
//! `GET /api/v1/neighbors/{name}/adj-rib-out` (paged) and
//! `GET /api/v1/config`. Handlers of `super::server`'s router; each asks
//! the engine one `ToEngine::Query`.
//!
//! Paging keeps the body a JSON array (existing consumers read it as
//! before) and says where the next page starts in two headers: the opaque
//! cursor in `X-Next-Cursor` and the whole next URL in `Link: <…>;
//! rel="next"` (RFC 8288). Neither is present on the last page. A request
//! without `limit` gets at most [`MAX_PAGE_SIZE`] routes, with the same
//! headers when more follow.

use super::error::HttpError;
use super::params;
use super::server::AppState;
use crate::messages::paging::{RouteKey, RoutesQuery, MAX_PAGE_SIZE};
use crate::messages::{Query, QueryReply};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// The header that carries the cursor of the next page.
pub const NEXT_CURSOR: &str = "x-next-cursor";

/// `GET /api/v1/routes[?prefix=P][&match=longest][&status=S][&neighbor=NAME][&limit=N][&after=CURSOR]`.
pub(super) async fn routes(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, HttpError> {
    let p = params::routes(q.as_deref())?;
    let query = RoutesQuery {
        prefix: p.prefix,
        longest: p.longest,
        status: p.status,
        neighbor: p.neighbor,
        after: p.after,
        limit: p.limit.unwrap_or(MAX_PAGE_SIZE),
    };
    match s.ask_data(Query::RoutesPage(query)).await? {
        QueryReply::RoutesPage(page) => {
            let r = super::server::json(page.routes).await?;
            Ok(with_next(r, "/api/v1/routes", q.as_deref(), page.next))
        }
        QueryReply::UnknownNeighbor(n) => Err(HttpError::UnknownNeighbor(n)),
        _ => Err(HttpError::WrongReply("routes")),
    }
}

/// `GET /api/v1/neighbors/{name}`.
pub(super) async fn neighbor(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, HttpError> {
    params::none(q.as_deref())?;
    match s.ask_data(Query::Neighbor { name }).await? {
        QueryReply::Neighbor(d) => super::server::json(d).await,
        QueryReply::UnknownNeighbor(n) => Err(HttpError::UnknownNeighbor(n)),
        _ => Err(HttpError::WrongReply("neighbor")),
    }
}

/// `GET /api/v1/neighbors/{name}/adj-rib-out[?limit=N][&after=CURSOR]`.
pub(super) async fn adj_rib_out(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, HttpError> {
    let p = params::page(q.as_deref())?;
    let path = format!("/api/v1/neighbors/{}/adj-rib-out", percent_encode(&name));
    let query = Query::AdjRibOut {
        name,
        after: p.after,
        limit: p.limit.unwrap_or(MAX_PAGE_SIZE),
    };
    match s.ask_data(query).await? {
        QueryReply::AdjRibOut { routes, next } => {
            let r = super::server::json(routes).await?;
            Ok(with_next(r, &path, q.as_deref(), next))
        }
        QueryReply::UnknownNeighbor(n) => Err(HttpError::UnknownNeighbor(n)),
        _ => Err(HttpError::WrongReply("adj-rib-out")),
    }
}

/// `GET /api/v1/config`.
pub(super) async fn config(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, HttpError> {
    params::none(q.as_deref())?;
    match s.ask_data(Query::Config).await? {
        QueryReply::Config(v) => super::server::json(v).await,
        _ => Err(HttpError::WrongReply("config")),
    }
}

/// Adds `X-Next-Cursor` and `Link: <path?…&after=C>; rel="next"` when a
/// next page exists.
fn with_next(mut r: Response, path: &str, query: Option<&str>, next: Option<RouteKey>) -> Response {
    let Some(next) = next else { return r };
    let cursor = next.encode();
    let link = format!("<{}>; rel=\"next\"", next_url(path, query, &cursor));
    if let Ok(v) = HeaderValue::from_str(&cursor) {
        r.headers_mut()
            .insert(HeaderName::from_static(NEXT_CURSOR), v);
    }
    if let Ok(v) = HeaderValue::from_str(&link) {
        r.headers_mut().insert(axum::http::header::LINK, v);
    }
    r
}

/// The request's URL with `after=` replaced by `cursor`.
pub fn next_url(path: &str, query: Option<&str>, cursor: &str) -> String {
    let mut parts: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some("after"))
        .collect();
    let after = format!("after={cursor}");
    parts.push(&after);
    format!("{path}?{}", parts.join("&"))
}

/// Percent-encodes a path segment (a neighbor name).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_url_keeps_the_filters_and_replaces_the_cursor() {
        assert_eq!(
            next_url("/api/v1/routes", Some("limit=2&after=aa&status=all"), "bb"),
            "/api/v1/routes?limit=2&status=all&after=bb"
        );
        assert_eq!(
            next_url("/api/v1/routes", None, "cc"),
            "/api/v1/routes?after=cc"
        );
    }

    #[test]
    fn neighbor_names_are_percent_encoded_in_links() {
        assert_eq!(percent_encode("ams er1/é"), "ams%20er1%2F%C3%A9");
        assert_eq!(percent_encode("contoso-ams-er1"), "contoso-ams-er1");
    }
}
