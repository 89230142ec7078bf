//! The read-only HTTP API and `/metrics`.
//!
//! `model` holds the JSON shapes (a contract: `../shared/DESIGN.md`
//! "Interfaces"); the server answers from snapshots the route engine returns
//! over a query channel, so it never touches routing state directly.

pub mod model;
