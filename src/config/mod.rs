//! Configuration: TOML → validated, immutable [`Config`]; policy compilation;
//! diff for reload.
//!
//! Owned by whoever loads it (the `run`/`check` commands and the SIGHUP
//! handler); handed to the tasks as `Arc<Config>`. Errors are
//! `file:line:col: message` lines.

pub mod model;

pub use model::*;
