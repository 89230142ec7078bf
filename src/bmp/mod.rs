//! BMP, the BGP Monitoring Protocol (RFC 7854; Loc-RIB RFC 9069,
//! Adj-RIB-Out RFC 8671): what we export to the collectors operators
//! already run (pmacct, OpenBMP). [`msg`] encodes the messages, [`hub`] is
//! the table owner's side (bounded per-collector queues, dumps on
//! connect), [`client`] the exporter task per collector, [`fleet`] the
//! set of exporters that follows `[[bmp]]` (held by the engine task; the
//! engine's side of the feed is `engine::bmp`).

pub mod client;
pub mod feed;
pub mod fleet;
pub mod hub;
pub mod msg;
